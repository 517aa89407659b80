import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { TEAMS_CLIENT_IDS } from '../../bot/tab/tabAccess';
import { sampleReferral } from '../support/fixtures';
import { SIGNED_IN_APP_ID, SIGNED_IN_TENANT, signedInSettings, TestEntra } from '../support/entra';

/**
 * The tab signed in with Teams SSO, through the real server: tokens minted in the test with keys
 * served from a loopback JWKS. Only a token for the tab's audience, from the tenant Signpost
 * serves, issued to a Teams client and not expired, names anyone.
 */

const TENANT = SIGNED_IN_TENANT;
const OTHER_TENANT = '0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d';
const APP_ID = SIGNED_IN_APP_ID;
const AUDIENCE = `api://signpost.example.nhs.uk/${APP_ID}`;
const COMMISSIONER = 'commissioner@southwark-icb.example';
const REFERRER = { email: 'amira.patel@lordship-lane-surgery.example', teamsUserId: '29:amira', oid: randomUUID() };

describe('The tab with Teams single sign-on', () => {
  let entra: TestEntra;
  let folder: string;
  let bot: RunningSignpost;

  before(async () => {
    entra = await TestEntra.start();
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-tab-sso-'));
    bot = await startSignpost({
      env: signedInSettings(entra, { SIGNPOST_PUBLIC_URL: 'https://signpost.example.nhs.uk', SIGNPOST_COMMISSIONERS: COMMISSIONER }),
      port: 0,
      host: '127.0.0.1',
      dataDir: folder,
      logger: createLogger('error', () => undefined),
    });
  });
  after(async () => {
    await bot?.stop();
    await entra?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  const claims = (who: string, extra: Record<string, unknown> = {}) => ({ aud: AUDIENCE, azp: TEAMS_CLIENT_IDS[1], preferred_username: who, name: 'Someone', oid: randomUUID(), ...extra });

  async function get(route: string, token?: string): Promise<{ status: number; json: any }> {
    const response = await fetch(`${bot.url}${route}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: response.status, json: await response.json().catch(() => undefined) };
  }

  it('answers a good token with the person’s views', async () => {
    const me = await get('/api/tab/me', await entra.token(TENANT, claims(COMMISSIONER)));
    expect(me.status).to.equal(200);
    expect(me.json).to.deep.include({ boroughReport: true, linkWorkerOf: [], supervisorOf: [] });
    expect((await get('/api/tab/report?year=2026', await entra.token(TENANT, claims(COMMISSIONER)))).status).to.equal(200);
  });

  it('refuses with 401: no token, a forged one, an expired one, the wrong audience, another tenant, a client other than Teams', async () => {
    const refusals = [
      await get('/api/tab/me'),
      await get('/api/tab/me', 'not-a-token'),
      await get('/api/tab/me', await entra.token(TENANT, claims(COMMISSIONER), { signWith: await TestEntra.foreignKey() })),
      await get('/api/tab/me', await entra.token(TENANT, claims(COMMISSIONER), { expiresIn: Math.floor(Date.now() / 1000) - 600 })),
      await get('/api/tab/me', await entra.token(TENANT, claims(COMMISSIONER, { aud: `api://elsewhere.example/${APP_ID}` }))),
      await get('/api/tab/me', await entra.token(OTHER_TENANT, claims(COMMISSIONER))),
      await get('/api/tab/me', await entra.token(TENANT, claims(COMMISSIONER, { azp: randomUUID() }))),
    ];
    expect(refusals.map((answer) => answer.status)).to.deep.equal([401, 401, 401, 401, 401, 401, 401]);
    for (const refusal of refusals) expect(refusal.json.error).to.be.a('string').and.not.match(/commissioner@/i);
  });

  it('does not offer the local-mode picker, nor believe its header', async () => {
    expect((await get('/api/tab/people')).status).to.equal(404);
    const response = await fetch(`${bot.url}/api/tab/me`, { headers: { 'x-signpost-local-person': '29:amira-patel' } });
    expect(response.status).to.equal(401);
  });

  it('finds a signed-in referrer’s referrals by their sign-in email, and nobody else’s', async () => {
    const referral = sampleReferral({ reference: 'SP-2026-000801', referrer: { teamsUserId: REFERRER.teamsUserId, name: 'Amira Patel', email: REFERRER.email, practice: 'Lordship Lane Surgery' } });
    await bot.signpost.store.referrals.submit(referral, { referralId: referral.id, at: referral.createdAt, actor: { id: REFERRER.teamsUserId }, action: 'referral.submitted', detail: { serviceId: 'sail', summary: 'Referred by Amira Patel' } });
    await bot.signpost.store.referrers.save({ teamsUserId: REFERRER.teamsUserId, name: 'Amira Patel', email: REFERRER.email, practice: 'Lordship Lane Surgery', updatedAt: referral.createdAt });

    const mine = await get('/api/tab/my-referrals', await entra.token(TENANT, claims(REFERRER.email.toUpperCase())));
    expect(mine.json.referrals.map((entry: { reference: string }) => entry.reference)).to.deep.equal(['SP-2026-000801']);
    expect((await get(`/api/tab/referrals/${referral.id}`, await entra.token(TENANT, claims(REFERRER.email)))).json.view).to.equal('referrer');
    const stranger = await entra.token(TENANT, claims('someone.else@lordship-lane-surgery.example'));
    expect((await get('/api/tab/my-referrals', stranger)).json.referrals).to.deep.equal([]);
    expect((await get(`/api/tab/referrals/${referral.id}`, stranger)).status).to.equal(404);
    // A commissioner sees aggregates, never a referral.
    expect((await get(`/api/tab/referrals/${referral.id}`, await entra.token(TENANT, claims(COMMISSIONER)))).status).to.equal(404);
  });
});
