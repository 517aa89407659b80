import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CloudAdapter, ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { createSignpost } from '../../bot/app/signpost';
import { createMailer } from '../../bot/notifications/mailer';
import { loadConfig } from '../../bot/app/config';
import { ReferralRepository } from '../../storage/referralRepository';
import { ReferrerRepository } from '../../storage/referrerRepository';
import { channelActivity, FakeConnector, postActivity, teamsActivity } from '../support/connector';
import { sampleReferral, FIXTURE_TIME } from '../support/fixtures';
import { TestSmtpServer } from '../support/smtp';
import { adaptiveCardProblems, cardText } from '../support/adaptiveCards';
import type { Referral } from '../../domain/referral/referral';

const CHANNEL = '19:sail-referrals@thread.tacv2';
const TEAM = '19:sail-team@thread.tacv2';
const KWAME = { id: '29:kwame', name: 'Kwame Mensah' };
const IDENTIFIERS = ['Jane', 'Example', '9434765919', '943 476', '1950', 'SE5 8AU', '8AU', '7946'];

describe('Closing the loop: updates reach the referrer (outbox, Teams and SMTP on loopback)', () => {
  let folder: string;
  let connector: FakeConnector;
  let smtp: TestSmtpServer;
  let bot: RunningSignpost;
  let referrals: ReferralRepository;
  let referrers: ReferrerRepository;
  let counter = 0;

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-notify-'));
    connector = await FakeConnector.start();
    connector.members = [KWAME];
    smtp = await TestSmtpServer.start();
    bot = await startSignpost({
      env: {
        PATH: process.env.PATH,
        SIGNPOST_SMTP_URL: smtp.url,
        SIGNPOST_ACTIONABLE_MESSAGE_ORIGINATOR: 'originator-1234',
        SIGNPOST_NOTIFY_RETRY_BASE_MS: '20',
        SIGNPOST_NOTIFY_POLL_MS: '50',
        SIGNPOST_ADMINS: '29:admin, someone@else.example',
        // No directory entry falls due here (the admins would be told of each unmaintained one): upkeep has its own tests.
        SIGNPOST_DIRECTORY_VERIFY_AFTER_DAYS: '3650',
      },
      port: 0,
      host: '127.0.0.1',
      dataDir: folder,
      logger: createLogger('error', () => undefined),
    });
    referrals = bot.signpost.store.referrals;
    referrers = new ReferrerRepository(bot.tables);
    await postActivity(bot.url, inChannel({ type: 'message', text: 'link sail', from: KWAME }));
  });
  after(async () => {
    await bot?.stop();
    await connector?.stop();
    await smtp?.stop();
    rmSync(folder, { recursive: true, force: true });
  });
  beforeEach(() => {
    connector.clear();
    connector.respond = async () => undefined;
    smtp.messages.length = 0;
    smtp.refuse = 0;
  });

  const inChannel = (fields: Record<string, any>) => channelActivity(connector, { team: TEAM, channel: CHANNEL }, fields);

  /** A referral by a referrer whose chat is on the fake connector, with their notify preference. */
  async function referralBy(notify: 'teams' | 'email' | 'both'): Promise<Referral> {
    counter += 1;
    const referrerId = `29:referrer-${counter}`;
    const value = sampleReferral({
      reference: `SP-2026-0007${String(counter).padStart(2, '0')}`,
      referrer: { teamsUserId: referrerId, name: 'Amira Patel', email: `amira${counter}@practice.example`, practice: 'Lordship Lane Surgery' },
      referrerConversation: { serviceUrl: connector.url, channelId: 'msteams', conversation: { id: `a:chat-${counter}` } },
    });
    await referrers.save({ teamsUserId: referrerId, name: 'Amira Patel', email: value.referrer.email, practice: 'Lordship Lane Surgery', notify, updatedAt: FIXTURE_TIME });
    await referrals.submit(value, { referralId: value.id, at: FIXTURE_TIME, actor: { id: referrerId }, action: 'referral.submitted', detail: {} });
    return value;
  }

  async function accept(value: Referral): Promise<void> {
    const { body } = await postActivity(
      bot.url,
      inChannel({ type: 'invoke', name: 'adaptiveCard/action', from: KWAME, value: { action: { type: 'Action.Execute', verb: 'accept', data: { referralId: value.id, version: 1 } } } }),
    );
    expect(JSON.parse(body).statusCode).to.equal(200);
  }

  const chatUpdates = (value: Referral) =>
    connector.received.filter((a) => a.conversationId === value.referrerConversation.conversation.id && a.method === 'POST');

  it('sends an accepted update to the referrer\'s Teams chat, once, naming the person only by reference and initials @safety', async () => {
    const value = await referralBy('teams');
    await accept(value);
    const update = await connector.waitFor((a) => a.conversationId === value.referrerConversation.conversation.id);
    const text = cardText(update.activity.attachments[0].content);
    expect(text).to.contain(`${value.reference} (J.E.) was accepted by Safe and Independent Living`).and.contain('Kwame Mensah is the link worker');
    for (const identifier of IDENTIFIERS) expect(text).not.to.contain(identifier);
    await waitForOutboxIdle();
    expect(chatUpdates(value)).to.have.length(1);
    expect(smtp.messages).to.have.length(0);
  });

  it('keeps a link worker\'s note out of email: the email says where to read it, the Teams card shows it @safety', async () => {
    const value = await referralBy('both');
    await accept(value);
    await waitForOutboxIdle();
    smtp.messages.length = 0;
    const note = 'Spoke to Jane Example (NHS 943 476 5919), goes to lunch club';
    const { body } = await postActivity(
      bot.url,
      inChannel({ type: 'invoke', name: 'adaptiveCard/action', from: KWAME, value: { action: { type: 'Action.Execute', verb: 'close', data: { referralId: value.id, version: 2, closeReason: 'completed', closeNote: note } } } }),
    );
    expect(JSON.parse(body).statusCode).to.equal(200);
    const [mail] = await smtp.waitForMessages(1);
    const everything = `${mail.subject}\n${mail.text}\n${mail.html}`;
    expect(everything).to.contain('was closed').and.contain('shown only in Teams');
    for (const leaked of ['Jane', '943 476 5919', 'lunch club']) expect(everything).not.to.contain(leaked);
    const inTeams = await connector.waitFor((a) => a.conversationId === value.referrerConversation.conversation.id && JSON.stringify(a.activity).includes('was closed'));
    expect(cardText(inTeams.activity.attachments[0].content)).to.contain('goes to lunch club');
  });

  it('tells a referrer who prefers email of a decline: the reason and the other services the person matched, the note in Teams only @safety', async () => {
    const value = await referralBy('email');
    const note = 'Jane Example (NHS 943 476 5919) is already with us';
    const { body } = await postActivity(
      bot.url,
      inChannel({ type: 'invoke', name: 'adaptiveCard/action', from: KWAME, value: { action: { type: 'Action.Execute', verb: 'decline', data: { referralId: value.id, version: 1, declineReason: 'no-capacity', declineNote: note } } } }),
    );
    expect(JSON.parse(body).statusCode).to.equal(200);
    const [mail] = await smtp.waitForMessages(1);
    expect(mail.subject).to.contain(value.reference).and.contain('declined');
    expect(mail.to && 'text' in mail.to ? mail.to.text : '').to.contain(value.referrer.email);
    expect(mail.text).to.contain(`${value.reference} (J.E.) was declined`).and.contain('no capacity at the moment');
    expect(mail.text).to.contain('SAIL Care Navigation').and.contain('shown only in Teams');
    for (const part of [mail.text ?? '', String(mail.html), mail.subject ?? '']) {
      for (const identifier of [...IDENTIFIERS, 'already with us']) expect(part).not.to.contain(identifier);
    }
    await waitForOutboxIdle();
    expect(smtp.messages.filter((message) => message.subject?.includes(value.reference))).to.have.length(1);
  });

  it('creates the referrer\'s 1:1 chat when the referral came from a group chat, once @safety', async () => {
    const value = await referralBy('teams');
    const fromGroup = { ...value, referrerConversation: { serviceUrl: connector.url, channelId: 'msteams', conversation: { id: '19:group@thread.v2', conversationType: 'groupChat', tenantId: 'tenant-1' }, bot: { id: '28:signpost-bot' } } };
    const stored = (await referrals.get(value.id))!;
    await referrals.update({ ...stored.referral, referrerConversation: fromGroup.referrerConversation }, stored.etag, {
      referralId: value.id, at: new Date(Date.parse(FIXTURE_TIME) + 1_000).toISOString(), actor: { id: 'test' }, action: 'referral.submitted', detail: {},
    });
    const createdBefore = connector.created.length;
    await accept({ ...value });
    const update = await connector.waitFor((a) => a.conversationId.startsWith('a:created-') && JSON.stringify(a.activity).includes(value.reference));
    expect(connector.created.length).to.equal(createdBefore + 1);
    expect(connector.created[createdBefore].parameters.members[0].id).to.equal(value.referrer.teamsUserId);
    expect(connector.received.some((a) => a.conversationId === '19:group@thread.v2')).to.equal(false);
    await waitForOutboxIdle();
    // What the bot stored (a new repository: `referrers` keeps what it read a moment ago).
    const profile = await new ReferrerRepository(bot.tables).get(value.referrer.teamsUserId);
    expect((profile?.personalConversation as { conversation: { id: string } }).conversation.id).to.equal(update.conversationId);

    // The next update goes to the same 1:1 chat: nothing new is created.
    await postActivity(
      bot.url,
      inChannel({ type: 'invoke', name: 'adaptiveCard/action', from: KWAME, value: { action: { type: 'Action.Execute', verb: 'update', data: { referralId: value.id, version: 2, status: 'contacted' } } } }),
    );
    await connector.waitFor((a) => a.conversationId === update.conversationId && JSON.stringify(a.activity).includes('contacted'));
    expect(connector.created.length).to.equal(createdBefore + 1);
  });

  it('emails a referrer who prefers email: plain text, HTML and the card for Outlook, without identifiers @safety', async () => {
    const value = await referralBy('email');
    await accept(value);
    const [mail] = await smtp.waitForMessages(1);
    expect(mail.subject).to.contain(value.reference).and.contain('accepted');
    expect(mail.to && 'text' in mail.to ? mail.to.text : '').to.contain(value.referrer.email);
    expect(mail.text).to.contain(`${value.reference} (J.E.)`).and.contain('Kwame Mensah is the link worker');
    const html = String(mail.html);
    const embedded = /<script type="application\/adaptivecard\+json">([\s\S]*?)<\/script>/.exec(html);
    expect(embedded, 'the email embeds an Adaptive Card').to.not.equal(null);
    const card = JSON.parse(embedded![1]);
    expect(card.originator).to.equal('originator-1234');
    // Action.Http is Outlook's own (Actionable Messages); Teams' validator does not know it.
    expect(adaptiveCardProblems(card).filter((problem) => !problem.includes('"Action.Http"'))).to.deep.equal([]);
    // Its one action is the referrer's question, to Signpost's own pages and endpoint: it acts only with a
    // code mailed to the referrer, or an Entra token for their address, so a forwarded email acts for nobody.
    expect(JSON.stringify(card).match(/"type":"Action\.[A-Za-z]+"/g)).to.deep.equal(['"type":"Action.ShowCard"', '"type":"Action.Http"']);
    expect(JSON.parse(httpBody(card)).verb).to.equal('ask-question');
    const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((found) => found[1]);
    expect(hrefs).to.have.length(1);
    expect(hrefs[0]).to.match(/\/email\/link\/[^?]+\?action=ask-question$/);
    for (const part of [mail.text ?? '', html, mail.subject ?? '']) {
      for (const identifier of IDENTIFIERS) expect(part).not.to.contain(identifier);
    }
    expect(mail.messageId).to.contain(`${value.id}:2:email`);
    expect(chatUpdates(value)).to.have.length(0);
  });

  it('keeps retrying while SMTP is down and delivers exactly once when it is back @safety', async () => {
    smtp.refuse = 3;
    const value = await referralBy('email');
    await accept(value);
    await smtp.waitForMessages(1);
    await waitForOutboxIdle();
    expect(smtp.messages.filter((mail) => mail.subject?.includes(value.reference))).to.have.length(1);
    expect(smtp.refuse).to.equal(0);
  });

  it('retries a Teams 429 and delivers exactly once @safety', async () => {
    const value = await referralBy('teams');
    let throttled = 0;
    connector.respond = async (request) => {
      if (request.conversationId === value.referrerConversation.conversation.id && throttled < 2) {
        throttled += 1;
        return { status: 429, headers: { 'retry-after': '1' }, body: { error: { code: 'Throttled', message: 'slow down' } } };
      }
    };
    await accept(value);
    await connector.waitFor((a) => a.conversationId === value.referrerConversation.conversation.id);
    await waitForOutboxIdle();
    expect(throttled).to.equal(2);
    expect(chatUpdates(value)).to.have.length(1);
  });

  it('falls back to email when Teams says the referrer cannot be reached (bot removed) @safety', async () => {
    const value = await referralBy('teams');
    connector.respond = async (request) => {
      if (request.conversationId === value.referrerConversation.conversation.id) return { status: 403, body: { error: { code: 'BotNotInConversationRoster' } } };
    };
    await accept(value);
    const mails = await smtp.waitForMessages(1);
    expect(mails[0].subject).to.contain(value.reference);
    await waitForOutboxIdle();
    // Delivered by email: not a failure, and not counted as one.
    const failed = await bot.signpost.store.outbox.failed();
    expect(failed.some((entry) => entry.key.startsWith(value.id))).to.equal(false);
  });

  it('fails over at once on a permanent SMTP refusal, counts it, and shows it to admins only @safety', async () => {
    const value = await referralBy('email');
    smtp.rejectRecipients.add(value.referrer.email);
    const healthBefore = await (await fetch(`${bot.url}/api/health`)).json();
    await accept(value);
    await waitForOutboxIdle();
    // One try: a 550 will not pass on the second.
    expect(smtp.attempted.filter((address) => address === value.referrer.email)).to.have.length(1);
    const failed = await bot.signpost.store.outbox.failed();
    expect(failed.find((entry) => entry.key === `${value.id}:2:email`)?.lastError).to.match(/rejected: SMTP refused the message \(550\)/);
    const health = await (await fetch(`${bot.url}/api/health`)).json();
    expect(health.notifications.failed).to.equal(healthBefore.notifications.failed + 1);

    // An admin sees failures with "status" in their chat; anyone else is told what it is for.
    const askAdmin = teamsActivity(connector, { text: 'status', from: { id: '29:admin', name: 'Admin' } });
    await postActivity(bot.url, askAdmin);
    const adminReply = await connector.waitFor((a) => a.conversationId === askAdmin.conversation.id);
    expect(adminReply.activity.text).to.contain('failed for good').and.contain(`${value.reference} by email`);
    const askOther = teamsActivity(connector, { text: 'status' });
    await postActivity(bot.url, askOther);
    const otherReply = await connector.waitFor((a) => a.conversationId === askOther.conversation.id);
    expect(otherReply.activity.text).to.contain('for Signpost admins').and.not.contain('failed');

    // One referral by its reference: where it stands, and nothing about the person.
    const askOne = teamsActivity(connector, { text: `status ${value.reference.toLowerCase()}`, from: { id: '29:admin', name: 'Admin' } });
    await postActivity(bot.url, askOne);
    const oneReply = (await connector.waitFor((a) => a.conversationId === askOne.conversation.id)).activity.text;
    expect(oneReply).to.contain(`${value.reference}: Accepted with`).and.contain('owned by Kwame Mensah').and.not.contain('Jane').and.not.contain('Example');
    const askOneAsOther = teamsActivity(connector, { text: `status ${value.reference}` });
    await postActivity(bot.url, askOneAsOther);
    expect((await connector.waitFor((a) => a.conversationId === askOneAsOther.conversation.id)).activity.text).to.contain('for Signpost admins').and.not.contain('Accepted');
  });

  it('delivers exactly once after a restart between the write and the send @safety', async () => {
    const value = await referralBy('teams');
    const stored = (await referrals.get(value.id))!;
    // The change and its notification are written, and the bot dies before sending it.
    await referrals.update({ ...stored.referral, status: 'accepted', owner: KWAME, version: 2 }, stored.etag, {
      referralId: value.id, at: FIXTURE_TIME, actor: KWAME, action: 'referral.accept', detail: { summary: 'Accepted by Kwame Mensah' },
    }, [{ key: `${value.id}:2:teams`, channel: 'teams', payload: { referralId: value.id, reference: value.reference, initials: 'J.E.', serviceName: 'SAIL', status: 'Accepted', headline: `${value.reference} (J.E.) was accepted`, lines: [], snomed: [], at: FIXTURE_TIME } }]);

    // A new process: its own adapter and dispatcher on the same storage.
    const restarted = createSignpost({
      config: loadConfig({ SIGNPOST_SMTP_URL: smtp.url, SIGNPOST_DATA_DIR: folder }),
      tables: bot.tables,
      adapter: new CloudAdapter(new ConfigurationBotFrameworkAuthentication({})),
      logger: createLogger('error', () => undefined),
    }).dispatcher;
    await restarted.runOnce();
    await restarted.runOnce();
    await waitForOutboxIdle();
    expect(chatUpdates(value)).to.have.length(1);
  });

  async function waitForOutboxIdle(): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const counts = await bot.signpost.store.outbox.counts();
      if (counts.pending === 0) return;
      if (Date.now() > deadline) throw new Error(`outbox still busy: ${JSON.stringify(counts)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
});

describe('Mail on the embedded default', () => {
  it('writes .eml files under the data folder when no SMTP server is set', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'signpost-eml-'));
    try {
      const mailer = createMailer({ smtpUrl: '', from: 'Signpost <signpost@localhost>', dataDir: folder });
      expect(mailer.description).to.contain(path.join(folder, 'mail'));
      await mailer.send({ to: 'gp@practice.example', subject: 'Signpost: test', text: 'hello', html: '<p>hello</p>', messageId: 'ref:1:email' });
      const files = readdirSync(path.join(folder, 'mail'));
      expect(files).to.deep.equal(['ref_1_email.eml']);
      expect(readFileSync(path.join(folder, 'mail', files[0]), 'utf8')).to.contain('Subject: Signpost: test');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

/** The body of a card's one Action.Http, ShowCards included. */
function httpBody(node: unknown): string {
  if (!node || typeof node !== 'object') return '';
  const record = node as Record<string, unknown>;
  if (record.type === 'Action.Http') return String(record.body);
  return Object.values(record).map(httpBody).find(Boolean) ?? '';
}
