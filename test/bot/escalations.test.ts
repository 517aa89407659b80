import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { ReferralRepository } from '../../storage/referralRepository';
import { pendingTimers } from '../support/referralHarness';
import type { Referral } from '../../domain/referral/referral';
import { sampleReferral } from '../support/fixtures';
import { channelActivity, FakeConnector, postActivity, sayInChannel, teamsActivity } from '../support/connector';
import { cardText, expectValidTeamsCard } from '../support/adaptiveCards';
import { TestSmtpServer } from '../support/smtp';

/**
 * Supervisors and escalations through the real server: `supervisors add` in the channel, the
 * Escalate button on a referral card, the alert in the supervisor's 1:1 chat and inbox, and
 * the supervisor's answer reaching the card and the link worker.
 */

const CHANNEL = '19:sail-referrals@thread.tacv2';
const TEAM = '19:sail-team@thread.tacv2';
const GRACE = { id: '29:grace', name: 'Grace Okoro', email: 'grace.okoro@ageuk-ls.example' };
const KWAME = { id: '29:kwame', name: 'Kwame Mensah', email: 'kwame.mensah@ageuk-ls.example' };
const HELEN = { id: '29:helen', name: 'Helen Price', email: 'helen.price@ageuk-ls.example', userRole: 'owner' };
const SAM_EMAIL = 'sam.okafor@practice.example';
const STRANGER = { id: '29:stranger', name: 'Not A Supervisor' };
const at = '2026-11-24T12:00:00.000Z';

describe('Supervisors and escalations (through the real server)', () => {
  let folder: string;
  let connector: FakeConnector;
  let smtp: TestSmtpServer;
  let bot: RunningSignpost;
  let referrals: ReferralRepository;

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-escalations-'));
    connector = await FakeConnector.start();
    connector.members = [GRACE, KWAME, HELEN];
    smtp = await TestSmtpServer.start();
    bot = await startSignpost({
      // No directory entry falls due here (the admins would be told of each unmaintained one): upkeep has its own tests.
      env: { PATH: process.env.PATH, SIGNPOST_SMTP_URL: smtp.url, SIGNPOST_NOTIFY_POLL_MS: '100', SIGNPOST_ADMINS: 'admin@southwark.example', SIGNPOST_DIRECTORY_VERIFY_AFTER_DAYS: '3650' },
      port: 0,
      host: '127.0.0.1',
      dataDir: folder,
      logger: createLogger('error', () => undefined),
    });
    referrals = bot.signpost.store.referrals;
    await say('link sail', GRACE);
  });
  after(async () => {
    await bot?.stop();
    await connector?.stop();
    await smtp?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  const inChannel = (fields: Record<string, any>) => channelActivity(connector, { team: TEAM, channel: CHANNEL }, fields);

  const say = (text: string, from: { id: string; name: string }) => sayInChannel(bot.url, connector, { team: TEAM, channel: CHANNEL }, text, from);

  async function click(verb: string, data: Record<string, unknown>, from: { id: string; name: string }, where: 'channel' | 'chat'): Promise<Record<string, any>> {
    const value = { action: { type: 'Action.Execute', verb, data } };
    const invoke =
      where === 'channel'
        ? inChannel({ type: 'invoke', name: 'adaptiveCard/action', from, value })
        : teamsActivity(connector, { type: 'invoke', name: 'adaptiveCard/action', from, value, conversation: { id: `a:chat-${from.id}`, conversationType: 'personal', tenantId: 'tenant-1' } });
    const { status, body } = await postActivity(bot.url, invoke);
    expect(status).to.equal(200);
    return JSON.parse(body).value;
  }

  const chatCreatedWith = (teamsUserId: string) => connector.chatCreatedWith(teamsUserId);

  async function postedReferral(reference: string): Promise<Referral> {
    const value = { ...sampleReferral({ reference }), referrerConversation: { serviceUrl: connector.url, channelId: 'msteams', conversation: { id: 'a:referrer-chat' } } };
    await referrals.submit(value, { referralId: value.id, at, actor: { id: '29:r' }, action: 'referral.submitted', detail: {} });
    await say('link sail', GRACE); // posts referrals waiting for the channel
    await connector.waitFor((a) => a.method === 'POST' && JSON.stringify(a.activity).includes(reference));
    return (await referrals.get(value.id))!.referral;
  }

  it('lets team owners and whoever linked the channel manage supervisors, and nobody else', async () => {
    expect(await say(`supervisors add ${HELEN.email} manager`, KWAME)).to.contain('Only the team');
    expect(await say('supervisors', KWAME)).to.contain('no supervisors yet').and.contain('Signpost admins');
    expect(await say(`supervisors add ${HELEN.email} manager`, HELEN)).to.contain('Helen Price is now a host-organisation manager');
    expect(await say(`supervisors add ${SAM_EMAIL} clinical`, GRACE)).to.contain('by email (they are not in this team');
    expect(await say('supervisors add not-an-address', GRACE)).to.contain("Say the supervisor's email address");
    expect(await say(`supervisors add ${SAM_EMAIL} boss`, GRACE)).to.contain('is not a supervisor role');
    const list = await say('supervisors', KWAME);
    expect(list).to.contain(`Helen Price (${HELEN.email}): host-organisation manager`).and.contain(`${SAM_EMAIL}: clinical supervisor`);
    expect(list).not.to.contain('No ');
  });

  it('schedules a caseload digest for the linked service', async () => {
    const digests = await pendingTimers(bot.tables, 'timers', (timer) => timer.kind === 'caseload-digest');
    expect(digests.map((timer) => timer.serviceId)).to.deep.equal(['sail']);
  });

  it('escalates from the card to the right supervisor in Teams and by email, and carries the answer back @safety', async () => {
    const referral = await postedReferral('SP-2026-000701');
    const refused = await click('escalate', { referralId: referral.id, version: referral.version, escalationReason: 'safeguarding', escalationNote: '  ' }, KWAME, 'channel');
    expect(cardText(refused)).to.contain('Nothing changed: Say what the supervisor needs to know');

    const note = 'Jane mentioned her son takes her pension; she seemed frightened.';
    const card = await click('escalate', { referralId: referral.id, version: referral.version, escalationReason: 'safeguarding', escalationNote: note }, KWAME, 'channel');
    expectValidTeamsCard(card);
    expect(cardText(card)).to.contain('Escalated (safeguarding concern) by Kwame Mensah').and.contain('waiting for a supervisor');

    // Safeguarding goes first to the host-organisation manager: a new 1:1 chat, and an email.
    const chat = await chatCreatedWith(HELEN.id);
    const alert = await connector.waitFor((a) => a.conversationId === chat.id && JSON.stringify(a.activity).includes('SP-2026-000701'));
    const alertCard = alert.activity.attachments[0].content;
    expectValidTeamsCard(alertCard);
    expect(cardText(alertCard)).to.contain('Safeguarding concern: SP-2026-000701').and.contain(note).and.contain('Acknowledge').and.contain('Take over');
    const [mail] = await smtp.waitForMessages(1);
    expect(mail.to && JSON.stringify(mail.to)).to.contain(HELEN.email);
    expect(mail.subject).to.equal('Signpost: Safeguarding concern: SP-2026-000701');
    expect(mail.text).to.contain("note is in Signpost in Teams").and.not.contain('pension').and.not.contain('Jane').and.not.contain('Example');
    // Its actions act for Helen alone: every link is signed for her address (a link page then mails her a code, see test/email).
    const tokens = [...String(mail.html).matchAll(/\/email\/link\/([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+/g)].map((found) => JSON.parse(Buffer.from(found[1], 'base64url').toString()));
    expect(tokens).to.not.be.empty;
    for (const token of tokens) expect(token.to).to.equal(HELEN.email);
    expect(connector.created.some((created) => created.parameters.members?.[0]?.id === '29:sam')).to.equal(false);

    const data = { referralId: referral.id, escalationId: (await referrals.get(referral.id))!.referral.escalations![0].id };
    expect(cardText(await click('escalation-acknowledge', data, STRANGER, 'chat'))).to.contain("Only the service's supervisors");
    expect(cardText(await click('escalation-advice', { ...data, adviceNote: '' }, HELEN, 'chat'))).to.contain('Write the advice you gave');
    const answered = await click('escalation-advice', { ...data, adviceNote: 'Call the safeguarding hub today; I will join.' }, HELEN, 'chat');
    expectValidTeamsCard(answered);
    expect(cardText(answered)).to.contain('Advice given by Helen Price: Call the safeguarding hub today').and.not.contain('Acknowledge');
    expect(cardText(await click('escalation-take-over', data, HELEN, 'chat'))).to.contain('Already answered with advice by Helen Price');

    const stored = (await referrals.get(referral.id))!.referral;
    expect(stored.escalations![0]).to.deep.include({ resolution: { kind: 'advice-given', by: { id: HELEN.id, name: HELEN.name }, at: stored.escalations![0].resolution!.at, note: 'Call the safeguarding hub today; I will join.' } });
    const refreshed = await connector.waitFor((a) => a.method === 'PUT' && JSON.stringify(a.activity).includes('advice from Helen Price'));
    expect(refreshed.activity.id).to.equal(referral.channelPost!.activityId);
    const told = await chatCreatedWith(KWAME.id);
    const toldMessage = await connector.waitFor((a) => a.conversationId === told.id && JSON.stringify(a.activity).includes('Advice given by Helen Price'));
    expect(cardText(toldMessage.activity.attachments[0].content)).to.contain('Your escalation (safeguarding concern) was answered');
    expect((await referrals.audit(referral.id)).map((event) => event.action)).to.include.members(['referral.escalate', 'escalation.advice']);
  });

  it('delivers a reminder queued for the channel to the linked channel, as a card without the person', async () => {
    const referral = await postedReferral('SP-2026-000703');
    const message = {
      kind: 'reminder' as const,
      title: 'Waiting to be accepted: SP-2026-000703',
      lines: ['This referral reached SAIL 2 working days ago, and nobody has accepted it yet.'],
      serviceName: 'SAIL',
      referralId: referral.id,
      reference: referral.reference,
      at,
    };
    await bot.signpost.store.outbox.record(referral.id, [{ key: `test-reminder:${referral.id}:channel:teams`, channel: 'teams', payload: { kind: 'staff', serviceId: 'sail', recipient: { channel: true, serviceId: 'sail' }, message } }], undefined, new Date().toISOString());
    const posted = await connector.waitFor((a) => a.method === 'POST' && a.conversationId.startsWith(CHANNEL) && JSON.stringify(a.activity).includes('Waiting to be accepted: SP-2026-000703'));
    const card = posted.activity.attachments[0].content;
    expectValidTeamsCard(card);
    expect(cardText(card)).to.contain('Signpost reminder').and.not.contain('Jane');
  });

  it('take over makes the supervisor the owner and tells the referrer @safety', async () => {
    const referral = await postedReferral('SP-2026-000702');
    await click('escalate', { referralId: referral.id, version: referral.version, escalationReason: 'clinical-advice', escalationNote: 'New medication side effects' }, KWAME, 'channel');
    const data = { referralId: referral.id, escalationId: (await referrals.get(referral.id))!.referral.escalations![0].id };
    // Clinical advice goes to the clinical supervisor first; Helen may answer too, as a supervisor of the service.
    const taken = await click('escalation-take-over', data, HELEN, 'chat');
    expect(cardText(taken)).to.contain('Taken over by Helen Price');
    const stored = (await referrals.get(referral.id))!.referral;
    expect(stored).to.deep.include({ status: 'accepted', owner: { id: HELEN.id, name: HELEN.name, email: HELEN.email } });
    await connector.waitFor((a) => a.conversationId === 'a:referrer-chat' && JSON.stringify(a.activity).includes('SP-2026-000702') && JSON.stringify(a.activity).includes('new link worker'));
  });
});
