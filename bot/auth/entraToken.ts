import { createRemoteJWKSet, errors, JWTPayload, jwtVerify } from 'jose';

/**
 * Checks a Microsoft Entra ID bearer token (an Outlook Actionable Message's action, the tab's
 * Teams single sign-on) with `jose`: the signature against the published keys, then issuer,
 * tenant, audience, the client it was issued to and expiry. Token code is security code, so
 * none of it is written by hand here: this file only says which claims Signpost requires.
 */

/** Entra's keys for every tenant; tests and sovereign clouds point elsewhere. */
export const ENTRA_COMMON_JWKS_URL = 'https://login.microsoftonline.com/common/discovery/v2.0/keys';

export interface EntraTokenPolicy {
  jwksUrl: string;
  /** Accepted `aud` values (an App ID URI such as api://host/app-id, or the app id). */
  audiences: string[];
  /** Lower-case tenant ids whose tokens are accepted; empty accepts any tenant. */
  tenants: string[];
  /** Client apps (`azp` or v1 `appid`) the token must have been issued to; empty accepts any. */
  authorizedParties: string[];
  /** v1.0 tokens (`https://sts.windows.net/<tenant>/`) as well as v2.0; Teams SSO issues either. */
  acceptV1Tokens?: boolean;
  /** Allowed clock difference with Entra, in seconds. */
  clockToleranceSeconds?: number;
}

export type TokenRefusal =
  | 'missing'
  | 'malformed'
  | 'bad-signature'
  | 'expired'
  | 'wrong-issuer'
  | 'wrong-tenant'
  | 'wrong-audience'
  | 'wrong-client'
  | 'no-identity'
  | 'keys-unavailable';

/** Why a token was refused, as a code: refusals are logged by code, never with the token's claims. */
export class TokenRefusedError extends Error {
  constructor(
    readonly code: TokenRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'TokenRefusedError';
  }

  /** Keys that cannot be fetched are Signpost's problem, not the caller's: 503, not 401. */
  get httpStatus(): 401 | 503 {
    return this.code === 'keys-unavailable' ? 503 : 401;
  }
}

export interface VerifiedEntraToken {
  tenantId: string;
  /** The person's sign-in name, lower case (`preferred_username`, `upn` or `email`). */
  signInName: string;
  objectId?: string;
  name?: string;
  /** The client the token was issued to. */
  clientId?: string;
  /** Unique per token (`jti` or `uti`): lets a caller refuse a replay. */
  tokenId?: string;
  expiresAt: Date;
}

const V2_ISSUER = /^https:\/\/login\.microsoftonline\.com\/([0-9a-f-]{36})\/v2\.0$/;
const V1_ISSUER = /^https:\/\/sts\.windows\.net\/([0-9a-f-]{36})\/$/;

export class EntraTokenVerifier {
  private readonly keys: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly policy: EntraTokenPolicy) {
    if (policy.audiences.length === 0) throw new Error('An Entra token policy needs at least one audience.');
    // jose caches the key set, refetches on an unknown key id at most every 30 s, and times out.
    this.keys = createRemoteJWKSet(new URL(policy.jwksUrl), { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 24 * 60 * 60 * 1000 });
  }

  /** Verifies an `Authorization` header value (`Bearer <token>`) or a bare token. */
  async verify(authorization: string | undefined): Promise<VerifiedEntraToken> {
    const token = bearerToken(authorization);
    const payload = await this.verifySignatureAndTimes(token);

    const issuer = typeof payload.iss === 'string' ? payload.iss : '';
    const issuerTenant = V2_ISSUER.exec(issuer)?.[1] ?? (this.policy.acceptV1Tokens ? V1_ISSUER.exec(issuer)?.[1] : undefined);
    if (!issuerTenant) throw new TokenRefusedError('wrong-issuer', 'The token was not issued by Microsoft Entra ID.');
    const tenantId = claim(payload, 'tid')?.toLowerCase();
    if (tenantId !== issuerTenant.toLowerCase()) throw new TokenRefusedError('wrong-issuer', "The token's issuer does not match its tenant.");
    if (this.policy.tenants.length > 0 && !this.policy.tenants.includes(tenantId)) {
      throw new TokenRefusedError('wrong-tenant', 'The token comes from an organisation Signpost does not serve.');
    }

    const audiences = Array.isArray(payload.aud) ? payload.aud : payload.aud ? [payload.aud] : [];
    if (!audiences.some((audience) => this.policy.audiences.includes(audience))) {
      throw new TokenRefusedError('wrong-audience', 'The token was issued for another application.');
    }
    const clientId = (claim(payload, 'azp') ?? claim(payload, 'appid'))?.toLowerCase();
    if (this.policy.authorizedParties.length > 0 && (!clientId || !this.policy.authorizedParties.includes(clientId))) {
      throw new TokenRefusedError('wrong-client', 'The token was issued to a client Signpost does not accept.');
    }

    const signInName = (claim(payload, 'preferred_username') ?? claim(payload, 'upn') ?? claim(payload, 'email'))?.trim().toLowerCase();
    if (!signInName) throw new TokenRefusedError('no-identity', 'The token does not say who is acting.');
    return {
      tenantId,
      signInName,
      objectId: claim(payload, 'oid'),
      name: claim(payload, 'name'),
      clientId,
      tokenId: claim(payload, 'jti') ?? claim(payload, 'uti'),
      expiresAt: new Date((payload.exp ?? 0) * 1000),
    };
  }

  private async verifySignatureAndTimes(token: string): Promise<JWTPayload> {
    try {
      // RS256 is what Entra signs with; naming it stops algorithm confusion ("none", HS256 with a public key).
      const { payload } = await jwtVerify(token, this.keys, {
        algorithms: ['RS256'],
        requiredClaims: ['exp', 'iss', 'aud'],
        clockTolerance: this.policy.clockToleranceSeconds ?? 60,
      });
      return payload;
    } catch (error) {
      throw refusalFor(error);
    }
  }
}

function bearerToken(authorization: string | undefined): string {
  const value = authorization?.trim() ?? '';
  if (!value) throw new TokenRefusedError('missing', 'Sign-in is needed: the request carried no token.');
  const match = /^Bearer\s+(\S+)$/i.exec(value) ?? (/^\S+$/.test(value) ? [value, value] : null);
  if (!match || match[1].split('.').length !== 3) throw new TokenRefusedError('malformed', 'The sign-in token is not a token.');
  return match[1];
}

function claim(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function refusalFor(error: unknown): TokenRefusedError {
  if (error instanceof TokenRefusedError) return error;
  if (error instanceof errors.JWTExpired) return new TokenRefusedError('expired', 'The sign-in token has expired.');
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) {
    return new TokenRefusedError('bad-signature', 'The sign-in token is not signed by Microsoft Entra ID.');
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || (error instanceof Error && /fetch|ECONNREFUSED|ENOTFOUND/i.test(error.message))) {
    return new TokenRefusedError('keys-unavailable', "Signpost could not fetch Microsoft Entra ID's signing keys; try again shortly.");
  }
  if (error instanceof errors.JWTClaimValidationFailed) return new TokenRefusedError('malformed', `The sign-in token is missing a required claim (${error.claim}).`);
  return new TokenRefusedError('malformed', 'The sign-in token could not be read.');
}
