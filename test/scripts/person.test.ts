import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import type { Referral } from '../../domain/referral/referral';
import { startAzurite } from '../../storage/azurite';
import { TableConnection } from '../../storage/tables';
import { sampleReferral, FIXTURE_TIME } from '../support/fixtures';
import { channelActivity, FakeConnector, postActivity } from '../support/connector';

/**
 * `npm run person` on a store that has been through a referral's whole life on the real server
 * with the embedded default (Azurite in the data folder, mail written as .eml files): posted to
 * the channel, accepted, escalated to supervisors (Teams and email), advice given, connected to
 * an activity, closed with a note, the referrer told by Teams and email; plus a second person's
 * referral still open, and a conversation still holding a draft for the first. Then Signpost
 * is stopped and the command line runs on the same data folder, as an admin would.
 */

const dist = path.resolve(__dirname, '..', '..');
const CHANNEL = '19:sail-referrals@thread.tacv2';
const TEAM = '19:sail-team@thread.tacv2';
const GRACE = { id: '29:grace', name: 'Grace Okoro', email: 'grace.okoro@ageuk-ls.example' };
const KWAME = { id: '29:kwame', name: 'Kwame Mensah', email: 'kwame.mensah@ageuk-ls.example' };
const HELEN = { id: '29:helen', name: 'Helen Price', email: 'helen.price@ageuk-ls.example', userRole: 'owner' };
const JANE = ['Jane', 'Example', '1950-03-14', '9434765919', 'SE5 8AU', '020 7946 0000', 'Grove Lane', 'J.E.'];
const JOHN = ['Johnny', 'Sampleton', '1961-07-02', '4010232137', 'SE15 4QL', '07700 900456', 'chess club'];

describe('The person\'s rights: npm run person (export and erase) after a full referral life', () => {
  let folder: string;
  let connector: FakeConnector;
  let bot: RunningSignpost | undefined;
  let jane: Referral;
  let john: Referral;

  const person = (args: string[]) => {
    const result = spawnSync(process.execPath, [path.join(dist, 'scripts', 'person.js'), ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, SIGNPOST_DATA_DIR: folder, SIGNPOST_LOG_LEVEL: 'info' },
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  async function act(verb: string, data: Record<string, unknown>, from: { id: string; name: string }, conversation?: Record<string, unknown>): Promise<void> {
    const activity = channelActivity(connector, { team: TEAM, channel: CHANNEL }, {
      type: 'invoke',
      name: 'adaptiveCard/action',
      from,
      value: { action: { type: 'Action.Execute', verb, data } },
      ...(conversation ? { conversation, channelData: {} } : {}),
    });
    const { status, body } = await postActivity(bot!.url, activity);
    expect(status, body).to.equal(200);
    expect(JSON.stringify(JSON.parse(body).value)).not.to.contain('Nothing changed');
  }

  async function say(text: string, from: { id: string; name: string }): Promise<void> {
    await postActivity(bot!.url, channelActivity(connector, { team: TEAM, channel: CHANNEL }, { type: 'message', text, from }));
  }

  const current = async (referral: Referral) => (await bot!.signpost.store.referrals.get(referral.id))!.referral;

  /** Everything in the embedded store (every row of every table but the directory) and every email copy, as text. */
  async function everythingHeld(): Promise<{ rows: string[]; mail: string[] }> {
    const azurite = await startAzurite({ location: path.join(folder, 'azurite') });
    try {
      const tables = new TableConnection(azurite.connectionString);
      const rows: string[] = [];
      for await (const table of tables.service().listTables()) {
        if (table.name === 'directory') continue;
        for await (const entity of tables.client(table.name!).listEntities()) rows.push(`${table.name}: ${JSON.stringify(entity)}`);
      }
      const mailFolder = path.join(folder, 'mail');
      const mail = await Promise.all(
        readdirSync(mailFolder).map(async (file) => {
          const raw = readFileSync(path.join(mailFolder, file), 'utf8');
          const parsed = await simpleParser(raw);
          return `${file}: ${raw}\n${parsed.subject}\n${parsed.text}\n${parsed.html || ''}`;
        }),
      );
      return { rows, mail };
    } finally {
      await azurite.stop();
    }
  }

  /** The embedded store's files on disk, as text. */
  const storeFiles = () =>
    readdirSync(path.join(folder, 'azurite'), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((file) => readFileSync(path.join(file.parentPath ?? file.path, file.name), 'utf8'))
      .join('\n');

  const holding = (held: { rows: string[]; mail: string[] }, identifiers: string[]) =>
    [...held.rows, ...held.mail].filter((text) => identifiers.some((identifier) => text.includes(identifier)));

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-person-'));
    connector = await FakeConnector.start();
    connector.members = [GRACE, KWAME, HELEN];
    bot = await startSignpost({
      env: { PATH: process.env.PATH, SIGNPOST_NOTIFY_POLL_MS: '100' },
      port: 0,
      host: '127.0.0.1',
      dataDir: folder,
      logger: createLogger('error', () => undefined),
    });
    const { referrals, referrers } = bot.signpost.store;
    await say('link sail', GRACE);
    await say(`supervisors add ${HELEN.email} manager`, HELEN);
    await say('supervisors add sam.okafor@practice.example clinical', GRACE);
    const referrer = { teamsUserId: '29:amira', name: 'Amira Patel', email: 'amira.patel@practice.example', practice: 'Lordship Lane Surgery' };
    await referrers.save({ ...referrer, notify: 'both', updatedAt: FIXTURE_TIME });
    const referrerConversation = { serviceUrl: connector.url, channelId: 'msteams', conversation: { id: 'a:amira-chat' } };
    jane = sampleReferral({ reference: 'SP-2026-000801', referrer, referrerConversation, whatMatters: 'Getting back to the allotment on Grove Lane' });
    john = sampleReferral({
      reference: 'SP-2026-000802',
      referrer,
      referrerConversation,
      whatMatters: 'Wants to join a chess club',
      person: { ...sampleReferral().person, givenName: 'Johnny', familyName: 'Sampleton', dateOfBirth: '1961-07-02', nhsNumber: '4010232137', postcode: 'SE15 4QL', phone: '07700 900456' },
    });
    for (const referral of [jane, john]) {
      await referrals.submit(referral, { referralId: referral.id, at: FIXTURE_TIME, actor: { id: referrer.teamsUserId }, action: 'referral.submitted', detail: {} });
    }
    await say('link sail', GRACE); // posts the referrals waiting for the channel

    await act('accept', { referralId: jane.id, version: 1 }, KWAME);
    await act('escalate', { referralId: jane.id, version: 2, escalationReason: 'clinical-advice', escalationNote: 'Jane Example on 020 7946 0000 sounds breathless' }, KWAME);
    const escalationId = (await current(jane)).escalations![0].id;
    await act('escalation-advice', { referralId: jane.id, escalationId, adviceNote: 'Ask Jane Example to see her GP this week' }, HELEN, { id: 'a:helen-chat', conversationType: 'personal' });
    await act('update', { referralId: jane.id, version: (await current(jane)).version, status: 'connected-to-activity', activity: 'Grove Lane allotment group' }, KWAME);
    await act('close', { referralId: jane.id, version: (await current(jane)).version, closeReason: 'completed', closeNote: 'Jane Example is settled at Grove Lane' }, KWAME);
    await act('accept', { referralId: john.id, version: 1 }, GRACE);
    // A colleague started referring Jane again and left the form half-way.
    await bot.signpost.stateStore.write({ 'msteams/a:amira-chat/users/29:amira': { dialogState: { draft: { person: { ...jane.person } } } } });

    for (const deadline = Date.now() + 20_000; (await bot.signpost.store.outbox.counts()).pending > 0; ) {
      if (Date.now() > deadline) throw new Error('notifications were not all sent');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await bot.stop();
    bot = undefined;
  });
  after(async () => {
    await bot?.stop();
    await connector?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('starts from a store that holds both people in records, notifications, emails and conversation state', async () => {
    const held = await everythingHeld();
    expect(held.mail.filter((text) => text.includes('SP-2026-000801')).length).to.be.greaterThan(2);
    for (const identifier of JANE) expect(holding(held, [identifier]), identifier).not.to.deep.equal([]);
    expect(holding(held, ['Getting back to the allotment']).some((text) => text.startsWith('botstate') || text.startsWith('referrals'))).to.equal(true);
    for (const identifier of JOHN) expect(holding(held, [identifier]), identifier).not.to.deep.equal([]);
    expect(storeFiles()).to.contain('9434765919').and.contain('Grove Lane');
  });

  it('exports everything held about the person as JSON: record, audit trail, notifications, email copies, conversation state @safety', () => {
    const { code, stdout, stderr } = person(['export', 'SP-2026-000801']);
    expect(code, stderr).to.equal(0);
    const exported = JSON.parse(stdout);
    expect(exported.reference).to.equal('SP-2026-000801');
    expect(exported.referral.person).to.deep.equal(jane.person);
    expect(exported.referral.status).to.equal('closed');
    expect(exported.retentionEndsAt).to.match(/^2034-/);
    expect(exported.auditEvents.map((event: { action: string }) => event.action)).to.include.members([
      'referral.submitted',
      'referral.posted-to-channel',
      'referral.accept',
      'referral.escalate',
      'escalation.advice',
      'referral.update',
      'referral.close',
    ]);
    const channels = new Set(exported.notifications.map((entry: { channel: string }) => entry.channel));
    expect([...channels]).to.include.members(['email', 'teams']);
    expect(exported.emailCopies.length).to.be.greaterThan(2);
    expect(exported.emailCopies.every((copy: { content: string }) => copy.content.includes('SP-2026-000801'))).to.equal(true);
    expect(exported.conversationState.map((item: { key: string }) => item.key)).to.deep.equal(['msteams/a:amira-chat/users/29:amira']);
    expect(exported.notHeldHere.join(' ')).to.contain('Teams retention');
    // The log line says what was exported, never about whom.
    expect(stderr).to.contain('person-exported');
    for (const identifier of JANE) expect(stderr, identifier).not.to.contain(identifier);
  });

  it('refuses to erase a referral that is still open without --force, and says why @safety', () => {
    const { code, stdout, stderr } = person(['erase', 'SP-2026-000802', '--reason', 'Subject asked for erasure']);
    expect(code).to.equal(2);
    expect(stdout).to.equal('');
    expect(stderr).to.contain('Nothing was erased').and.contain('still open (accepted)').and.contain('--force');
  });

  it('refuses a reason that names the person, and arguments it cannot use', () => {
    const named = person(['erase', 'SP-2026-000801', '--reason', 'Jane Example asked us to']);
    expect(named.code).to.equal(2);
    expect(named.stderr).to.contain("contains one of the person's details");
    expect(person(['erase', 'SP-2026-000801']).stderr).to.contain('--reason');
    expect(person(['export', 'not-a-reference']).code).to.equal(2);
    expect(person(['export', 'SP-2026-999999']).stderr).to.contain('No referral SP-2026-999999');
    expect(person(['shred', 'SP-2026-000801']).stderr).to.contain('usage');
  });

  it('erases the person everywhere Signpost holds them, keeping the audit fact of who, when and why @safety', async () => {
    const { code, stdout, stderr } = person(['erase', 'SP-2026-000801', '--reason', 'Erasure request under UK GDPR Article 17, ticket 4411', '--by', 'IG Officer']);
    expect(code, stderr).to.equal(0);
    expect(stdout).to.contain("Erased the person's details from SP-2026-000801").and.contain('email copies deleted');
    expect(stderr).to.contain('person-erased');
    for (const identifier of JANE) expect(stderr, identifier).not.to.contain(identifier);

    const held = await everythingHeld();
    expect(holding(held, JANE)).to.deep.equal([]);
    // Nor in the store's own files on disk (but the postcode, which a service in the directory shares).
    expect(JANE.filter((identifier) => identifier !== 'SE5 8AU' && storeFiles().includes(identifier))).to.deep.equal([]);
    // The other person's data is untouched.
    for (const identifier of JOHN) expect(holding(held, [identifier]), identifier).not.to.deep.equal([]);

    const exported = JSON.parse(person(['export', 'SP-2026-000801']).stdout);
    expect(exported.referral.person).to.equal(undefined);
    expect(exported.referral).to.deep.include({ reference: 'SP-2026-000801', status: 'closed', serviceId: 'sail' });
    expect(exported.referral.deidentified).to.deep.include({ rule: 'erasure-on-request' });
    const erased = exported.auditEvents.find((event: { action: string }) => event.action === 'person.erased');
    expect(erased.actor).to.deep.equal({ id: 'cli:IG Officer', name: 'IG Officer' });
    expect(erased.detail).to.deep.include({ rule: 'erasure-on-request', reason: 'Erasure request under UK GDPR Article 17, ticket 4411', by: 'IG Officer' });
    expect(exported.emailCopies).to.deep.equal([]);
    expect(exported.conversationState).to.deep.equal([]);
  });

  it('erases an open referral when forced, and says it was open', async () => {
    const { code, stdout } = person(['erase', 'SP-2026-000802', '--reason', 'Urgent erasure agreed by the DPO', '--force']);
    expect(code).to.equal(0);
    expect(stdout).to.contain('(it was still open)');
    expect(holding(await everythingHeld(), [...JANE, ...JOHN])).to.deep.equal([]);
  });

  it('replaces each erased referral\'s card in the channel once Signpost runs again, showing nothing that was removed', async () => {
    connector.clear();
    bot = await startSignpost({ env: { PATH: process.env.PATH, SIGNPOST_NOTIFY_POLL_MS: '100' }, port: 0, host: '127.0.0.1', dataDir: folder, logger: createLogger('error', () => undefined) });
    for (const reference of ['SP-2026-000801', 'SP-2026-000802']) {
      const update = await connector.waitFor((a) => a.method === 'PUT' && JSON.stringify(a.activity).includes(reference));
      const card = JSON.stringify(update.activity);
      expect(holding({ rows: [card], mail: [] }, [...JANE, ...JOHN]), reference).to.deep.equal([]);
      expect(card).to.contain('(removed)');
    }
    // The embedded store has one user at a time: with Signpost running, the command line says what to do.
    const busy = person(['export', 'SP-2026-000801']);
    expect(busy.code).to.equal(1);
    expect(busy.stderr).to.contain('stop Signpost first');
  });
});
