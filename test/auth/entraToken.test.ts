import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { EntraTokenVerifier, TokenRefusal, TokenRefusedError } from '../../bot/auth/entraToken';
import { TestEntra } from '../support/entra';

const TENANT = '7e1c0f52-4f0a-4a8c-9d6e-2b1f3c4d5e6f';
const OTHER_TENANT = '0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d';
const AUDIENCE = 'https://signpost.example.nhs.uk';
const ACTIONS_APP = '48af08dc-f6d2-435f-b2a7-069abd99c086';

describe('Entra ID tokens', () => {
  let entra: TestEntra;
  let verifier: EntraTokenVerifier;

  before(async () => {
    entra = await TestEntra.start();
    verifier = new EntraTokenVerifier({ jwksUrl: entra.jwksUrl, audiences: [AUDIENCE], tenants: [TENANT], authorizedParties: [ACTIONS_APP] });
  });
  after(() => entra.stop());

  const good = { aud: AUDIENCE, azp: ACTIONS_APP, preferred_username: 'Link.Worker@AgeUK.example', oid: randomUUID(), jti: 'token-1' };

  async function refusal(token: string | undefined, using = verifier): Promise<TokenRefusal> {
    try {
      await using.verify(token === undefined ? undefined : `Bearer ${token}`);
    } catch (error) {
      expect(error).to.be.instanceOf(TokenRefusedError);
      return (error as TokenRefusedError).code;
    }
    throw new Error('the token was accepted');
  }

  it('accepts a token signed with a published key for the right audience, tenant and client, and says who is acting', async () => {
    const verified = await verifier.verify(`Bearer ${await entra.token(TENANT, good)}`);
    expect(verified).to.include({ tenantId: TENANT, signInName: 'link.worker@ageuk.example', clientId: ACTIONS_APP, tokenId: 'token-1' });
    expect(verified.expiresAt.getTime()).to.be.greaterThan(Date.now());
  });

  it('refuses missing, malformed and unsigned tokens', async () => {
    expect(await refusal(undefined)).to.equal('missing');
    expect(await refusal('not-a-token')).to.equal('malformed');
    const [header, payload] = (await entra.token(TENANT, good)).split('.');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    expect(await refusal(unsigned)).to.be.oneOf(['malformed', 'bad-signature']);
    expect(await refusal(`${header}.${payload}.${'A'.repeat(20)}`)).to.equal('bad-signature');
  });

  it('refuses a token signed with a key Entra did not publish, even under a published key id', async () => {
    expect(await refusal(await entra.token(TENANT, good, { signWith: await TestEntra.foreignKey() }))).to.equal('bad-signature');
    expect(await refusal(await entra.token(TENANT, good, { signWith: await TestEntra.foreignKey(), keyId: 'unknown-key' }))).to.equal('bad-signature');
  });

  it('refuses an expired token', async () => {
    expect(await refusal(await entra.token(TENANT, good, { expiresIn: Math.floor(Date.now() / 1000) - 600 }))).to.equal('expired');
  });

  it('refuses the wrong audience, the wrong client and a token that names nobody', async () => {
    expect(await refusal(await entra.token(TENANT, { ...good, aud: 'https://other.example' }))).to.equal('wrong-audience');
    expect(await refusal(await entra.token(TENANT, { ...good, azp: randomUUID() }))).to.equal('wrong-client');
    const { preferred_username: _dropped, ...nameless } = good;
    expect(await refusal(await entra.token(TENANT, nameless))).to.equal('no-identity');
  });

  it('refuses another tenant, an issuer that is not Entra, and an issuer that disagrees with the tenant claim', async () => {
    expect(await refusal(await entra.token(OTHER_TENANT, good))).to.equal('wrong-tenant');
    expect(await refusal(await entra.token(TENANT, { ...good, iss: 'https://evil.example/v2.0' }))).to.equal('wrong-issuer');
    expect(await refusal(await entra.token(TENANT, { ...good, iss: `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0` }))).to.equal('wrong-issuer');
  });

  it('takes v1.0 tokens (appid, upn) only where the policy accepts them', async () => {
    const v1 = { aud: AUDIENCE, appid: ACTIONS_APP, upn: 'supervisor@practice.example', iss: `https://sts.windows.net/${TENANT}/` };
    expect(await refusal(await entra.token(TENANT, v1))).to.equal('wrong-issuer');
    const lenient = new EntraTokenVerifier({ jwksUrl: entra.jwksUrl, audiences: [AUDIENCE], tenants: [TENANT], authorizedParties: [ACTIONS_APP], acceptV1Tokens: true });
    expect((await lenient.verify(await entra.token(TENANT, v1))).signInName).to.equal('supervisor@practice.example');
  });

  it('says the keys are unavailable (503, not 401) when they cannot be fetched', async () => {
    const unreachable = new EntraTokenVerifier({ jwksUrl: 'http://127.0.0.1:9/keys', audiences: [AUDIENCE], tenants: [], authorizedParties: [] });
    try {
      await unreachable.verify(await entra.token(TENANT, good));
      expect.fail('accepted');
    } catch (error) {
      expect((error as TokenRefusedError).code).to.equal('keys-unavailable');
      expect((error as TokenRefusedError).httpStatus).to.equal(503);
    }
  });

  it('fetches the key set once for many tokens', async () => {
    const fresh = new EntraTokenVerifier({ jwksUrl: entra.jwksUrl, audiences: [AUDIENCE], tenants: [TENANT], authorizedParties: [ACTIONS_APP] });
    const before = entra.fetches;
    for (let i = 0; i < 5; i += 1) await fresh.verify(await entra.token(TENANT, good));
    expect(entra.fetches - before).to.equal(1);
  });
});
