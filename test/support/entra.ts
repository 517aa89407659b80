import http from 'node:http';
import { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, JWTPayload, SignJWT } from 'jose';

/**
 * A stand-in for Microsoft Entra ID's signing side, for tests: an RSA key pair made in the test,
 * its public key served as a JWKS on loopback, and tokens signed with it. Signpost's real
 * verification path runs against it; only the key URL and audience are configured.
 */
export class TestEntra {
  private constructor(
    private readonly server: http.Server,
    private readonly privateKey: CryptoKey,
    readonly keyId: string,
    readonly jwksUrl: string,
  ) {}

  /** How many times the key set was fetched. */
  fetches = 0;

  static async start(): Promise<TestEntra> {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const keyId = `test-key-${Date.now()}`;
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: keyId, alg: 'RS256', use: 'sig' }] });
    let entra: TestEntra | undefined;
    const server = http.createServer((req, res) => {
      if (entra) entra.fetches += 1;
      // Not chained: restify, once loaded, patches writeHead to return nothing.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(jwks);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    entra = new TestEntra(server, privateKey, keyId, `http://127.0.0.1:${port}/discovery/v2.0/keys`);
    return entra;
  }

  /** A v2.0 token for `tenantId`, valid for an hour unless the claims say otherwise. */
  async token(tenantId: string, claims: JWTPayload & { aud: string | string[] }, options: { signWith?: CryptoKey; keyId?: string; expiresIn?: string | number } = {}): Promise<string> {
    return new SignJWT({ tid: tenantId, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: options.keyId ?? this.keyId, typ: 'JWT' })
      .setIssuer(typeof claims.iss === 'string' ? claims.iss : `https://login.microsoftonline.com/${tenantId}/v2.0`)
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '1h')
      .sign(options.signWith ?? this.privateKey);
  }

  /** A key Entra never published, to forge signatures with. */
  static async foreignKey(): Promise<CryptoKey> {
    return (await generateKeyPair('RS256')).privateKey;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
/** The tenant and app of an authenticated Signpost in tests (made up). */
export const SIGNED_IN_TENANT = '7e1c0f52-4f0a-4a8c-9d6e-2b1f3c4d5e6f';
export const SIGNED_IN_APP_ID = '8a3d5f0e-2b1c-4d6e-9f70-1a2b3c4d5e6f';

/** Settings for a Signpost that is not in local mode and trusts only `entra`'s keys. */
export function signedInSettings(entra: TestEntra, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    MicrosoftAppId: SIGNED_IN_APP_ID,
    MicrosoftAppPassword: 'not-used-here',
    SIGNPOST_ALLOWED_TENANTS: SIGNED_IN_TENANT,
    SIGNPOST_ENTRA_JWKS_URL: entra.jwksUrl,
    ...extra,
  };
}
