import { EntraTokenVerifier, TokenRefusedError } from '../auth/entraToken';
import { SignpostConfig, tabAudience } from '../app/config';
import { playgroundPeople, TabUser } from './tabPeople';

/**
 * Who is calling the tab's API. In Teams: the bearer token from Teams single sign-on, checked
 * with jose (signature against SIGNPOST_ENTRA_JWKS_URL, issuer and tenant, the tab's audience,
 * the Teams client it was issued to, expiry). In local mode only: the playground person chosen
 * on the tab's picker, named in a header. Nothing else is ever believed.
 */

/** The Teams clients that ask Entra for a tab's SSO token: desktop and mobile, and web. */
export const TEAMS_CLIENT_IDS = ['1fec8e78-bce4-4aaf-ab1b-5451cc387264', '5e3ce6c0-2b1f-4285-8d4b-75ee78787346'];
export const LOCAL_PERSON_HEADER = 'x-signpost-local-person';

export class TabUnauthenticated extends Error {
  constructor(
    readonly status: 401 | 503,
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export class TabAccess {
  private verifier?: EntraTokenVerifier;
  private readonly people: TabUser[];

  constructor(
    private readonly config: SignpostConfig,
    /** The public address, known once the server listens: the default audience is built from it. */
    private readonly publicUrl: () => string,
  ) {
    this.people = config.localMode ? playgroundPeople() : [];
  }

  get localMode(): boolean {
    return this.config.localMode;
  }

  /** Local mode's people, for the picker; none when authenticated. */
  localPeople(): Array<Pick<TabUser, 'id' | 'name'>> {
    return this.people.map(({ id, name }) => ({ id, name }));
  }

  async identify(headers: { authorization?: string; localPerson?: string }): Promise<TabUser> {
    if (this.config.localMode) {
      const chosen = this.people.find((person) => person.id === headers.localPerson);
      if (!chosen) throw new TabUnauthenticated(401, 'Choose who you are from the list of playground people.', 'no-local-person');
      return chosen;
    }
    try {
      const verified = await this.tokenVerifier().verify(headers.authorization);
      return {
        id: verified.objectId?.toLowerCase() ?? verified.signInName,
        name: verified.name ?? verified.signInName,
        email: verified.signInName,
        ...(verified.objectId ? { aadObjectId: verified.objectId.toLowerCase() } : {}),
      };
    } catch (error) {
      if (error instanceof TokenRefusedError) throw new TabUnauthenticated(error.httpStatus, error.message, error.code);
      throw error;
    }
  }

  private tokenVerifier(): EntraTokenVerifier {
    this.verifier ??= new EntraTokenVerifier({
      jwksUrl: this.config.entraJwksUrl,
      audiences: [tabAudience(this.config, this.publicUrl())],
      tenants: this.config.allowedTenants,
      authorizedParties: TEAMS_CLIENT_IDS,
      acceptV1Tokens: true,
    });
    return this.verifier;
  }
}
