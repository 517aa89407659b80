import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { TestEntra } from '../support/entra';
import { AUDIENCE, EmailWorld, embeddedCard, httpActions, INTAKE } from './support';
import { ACTIONABLE_MESSAGES_APP_ID } from '../../bot/email/emailActions';

const TENANT = '7e1c0f52-4f0a-4a8c-9d6e-2b1f3c4d5e6f';

describe('Outlook Actionable Messages: Action.Http with Entra tokens (keys served on loopback)', () => {
  let world: EmailWorld;

  before(async () => {
    world = await EmailWorld.start();
  });
  after(() => world?.stop());

  const claims = (overrides: Record<string, unknown> = {}) => ({ aud: AUDIENCE, azp: ACTIONABLE_MESSAGES_APP_ID, preferred_username: INTAKE, name: 'Age UK intake', jti: randomUUID(), ...overrides });

  /** A referral's Accept button as Outlook would post it. */
  async function acceptButton(): Promise<{ referralId: string; url: string; body: string }> {
    const referral = await world.refer();
    const card = embeddedCard(await world.mailAbout(referral.reference));
    const accept = httpActions(card).find((action) => JSON.parse(action.body).verb === 'accept')!;
    return { referralId: referral.id, url: accept.url, body: accept.body };
  }

  const press = (button: { url: string; body: string }, token: string | undefined, body = button.body) =>
    fetch(button.url.replace('localhost', '127.0.0.1'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });

  const status = async (referralId: string) => (await world.bot.signpost.store.referrals.get(referralId))!.referral.status;

  it('accepts with a good token and answers with the refreshed card in the body', async () => {
    const button = await acceptButton();
    const answer = await press(button, await world.entra.token(TENANT, claims()));
    expect(answer.status).to.equal(200);
    expect(answer.headers.get('card-update-in-body')).to.equal('true');
    expect(answer.headers.get('card-action-status')).to.contain('Accepted by Age UK intake');
    const card = await answer.json();
    expect(JSON.stringify(card)).to.contain('Accepted');
    expect(httpActions(card).map((action) => JSON.parse(action.body).verb)).to.include.members(['update', 'close']);
    expect(await status(button.referralId)).to.equal('accepted');
    const event = (await world.bot.signpost.store.referrals.audit(button.referralId)).find((candidate) => candidate.action === 'referral.accept')!;
    expect(event.detail).to.deep.include({ via: 'actionable-message', fromAddress: INTAKE });
  });

  it('refuses forged, wrongly addressed, wrong-client, expired, missing and replayed tokens (401), another recipient (403), and changes nothing @safety', async () => {
    const button = await acceptButton();
    const refusals: Array<[string, string | undefined, number]> = [
      ['missing', undefined, 401],
      ['malformed', 'not-a-token', 401],
      ['forged signature', await world.entra.token(TENANT, claims(), { signWith: await TestEntra.foreignKey() }), 401],
      ['wrong audience', await world.entra.token(TENANT, claims({ aud: 'api://someone-else' })), 401],
      ['wrong azp', await world.entra.token(TENANT, claims({ azp: randomUUID() })), 401],
      ['expired', await world.entra.token(TENANT, claims(), { expiresIn: Math.floor(Date.now() / 1000) - 600 }), 401],
      ['other recipient', await world.entra.token(TENANT, claims({ preferred_username: 'someone@ageuk-lambeth.example' })), 403],
    ];
    for (const [what, token, expected] of refusals) {
      const answer = await press(button, token);
      expect(answer.status, what).to.equal(expected);
      expect(answer.headers.get('card-action-status'), what).to.be.a('string');
    }
    expect(await status(button.referralId)).to.equal('submitted');

    // A token used once cannot be used again, here on another referral's button.
    const used = await world.entra.token(TENANT, claims());
    const other = await acceptButton();
    const refusedFirst = await press(button, used, JSON.stringify({ ...JSON.parse(button.body), verb: 'explode' }));
    expect(refusedFirst.status).to.equal(400);
    expect((await press(other, used)).status).to.equal(200);
    expect((await press(button, used)).status).to.equal(401);
    expect(await status(button.referralId)).to.equal('submitted');

    const logged = world.logLines.filter((line) => line.includes('email-action-refused'));
    expect(logged.some((line) => line.includes('token-replayed'))).to.equal(true);
    for (const line of logged) expect(line).not.to.contain(INTAKE).and.not.to.contain('someone@');
  });

  it('answers bad JSON, unknown verbs, invalid inputs and oversized bodies with 400, changing nothing', async () => {
    const button = await acceptButton();
    const token = () => world.entra.token(TENANT, claims());
    const link = JSON.parse(button.body).link;
    expect((await press(button, await token(), '{not json')).status).to.equal(400);
    expect(world.logLines.some((line) => line.includes('email-action-refused') && line.includes('unreadable-body'))).to.equal(true);
    expect((await press(button, await token(), JSON.stringify({ link, verb: 'redirect' }))).status).to.equal(400);
    expect((await press(button, await token(), JSON.stringify({ link, verb: 'decline', reason: 'because' }))).status).to.equal(400);
    expect((await press(button, await token(), JSON.stringify({ link, verb: 'accept', extra: 'x'.repeat(20_000) }))).status).to.equal(400);
    expect(await status(button.referralId)).to.equal('submitted');
  });

  it('shows an old email the referral as it is now after it was accepted elsewhere', async () => {
    const button = await acceptButton();
    expect((await press(button, await world.entra.token(TENANT, claims()))).status).to.equal(200);
    const again = await press(button, await world.entra.token(TENANT, claims()));
    expect(again.status).to.equal(200);
    expect(again.headers.get('card-action-status')).to.match(/already been used|changed since/);
    expect(JSON.stringify(await again.json())).to.contain('Accepted');
  });
  it('takes people only from the listed organisations when SIGNPOST_ACTIONABLE_MESSAGE_TENANTS is set @safety', async () => {
    const OTHER_TENANT = '0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d';
    const listed = await EmailWorld.start({ SIGNPOST_ACTIONABLE_MESSAGE_TENANTS: TENANT });
    try {
      const referral = await listed.refer();
      const found = httpActions(embeddedCard(await listed.mailAbout(referral.reference))).find((action) => JSON.parse(action.body).verb === 'accept')!;
      const accept = { url: String(found.url), body: String(found.body) };
      // The same sign-in name, vouched for by a tenant nobody listed: refused, nothing changes.
      const lookalike = await press(accept, await listed.entra.token(OTHER_TENANT, claims()));
      expect(lookalike.status).to.equal(401);
      expect((await listed.bot.signpost.store.referrals.get(referral.id))!.referral.status).to.equal('submitted');
      expect((await press(accept, await listed.entra.token(TENANT, claims()))).status).to.equal(200);
    } finally {
      await listed.stop();
    }
  });
});
