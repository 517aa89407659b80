import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { matchPerson } from '../../domain/eligibility/matcher';
import { sampleReferral } from '../support/fixtures';
import { FakeConnector, postActivity, sayInChannel, teamsActivity } from '../support/connector';
import { mailFolder } from '../../bot/notifications/mailer';
import sinon from 'sinon';
import { simpleParser } from 'mailparser';

const at = '2026-11-24T12:00:00.000Z';
const CHANNEL = '19:sail-upkeep@thread.tacv2';
const TEAM = '19:sail-upkeep-team@thread.tacv2';
const KWAME = { id: '29:kwame', name: 'Kwame Mensah' };
const GRACE = { id: '29:grace', name: 'Grace Okoro' };
const STRANGER = { id: '29:stranger', name: 'Not In The Team' };
const ADMIN = { id: '29:upkeep-admin', name: 'Signpost Admin' };
const AMIRA = { id: '29:amira-patel', name: 'Amira Patel' }; // a playground person (.m365agentsplayground.yml)
const isolatedSouthwark70 = { age: 70, borough: 'southwark' as const, sociallyIsolated: true, referralRoute: 'gp' as const };

/** Whom the requests to confirm an entry were emailed to (the embedded default writes each email to its data folder's mail folder). */
async function requestEmailsTo(dataDir: string): Promise<string[]> {
  const mail = mailFolder(dataDir);
  if (!existsSync(mail)) return [];
  const parsed = await Promise.all(readdirSync(mail).map((file) => simpleParser(readFileSync(path.join(mail, file)))));
  return parsed.filter((message) => message.subject?.includes('still correct')).map((message) => (message.to && !Array.isArray(message.to) ? message.to.text : ''));
}

async function emailsArrived(dataDir: string, count: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await requestEmailsTo(dataDir)).length < count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} request email(s) in ${mailFolder(dataDir)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("Link workers keep their service's entry true from its channel (real server)", () => {
  let folder: string;
  let connector: FakeConnector;
  let bot: RunningSignpost;

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-upkeep-'));
    connector = await FakeConnector.start();
    connector.members = [KWAME, GRACE];
    // No entry falls due by the clock here (the admins would be told of each unmaintained one): only verify asks.
    bot = await startSignpost({ env: { PATH: process.env.PATH, SIGNPOST_ADMINS: ADMIN.id, SIGNPOST_DIRECTORY_VERIFY_AFTER_DAYS: '3650' }, port: 0, host: '127.0.0.1', dataDir: folder, logger: createLogger('error', () => undefined) });
    expect(await say('link sail', KWAME)).to.contain('now receives referrals');
  });
  after(async () => {
    await bot?.stop();
    await connector?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  const say = (text: string, from: { id: string; name: string }) => sayInChannel(bot.url, connector, { team: TEAM, channel: CHANNEL }, text, from);
  const sail = async () => (await bot.signpost.store.directory.current('sail'))!;
  const sayInChat = async (text: string, from: { id: string; name: string }) => {
    const activity = teamsActivity(connector, { text, from, conversation: { id: `a:chat-${from.id}`, conversationType: 'personal' } });
    await postActivity(bot.url, activity);
    return (await connector.waitFor((a) => a.method === 'POST' && a.activity.replyToId === activity.id)).activity.text as string;
  };
  const eligibleIds = async () => matchPerson(isolatedSouthwark70, await bot.signpost.store.directory.list(), { now: new Date(at) }).eligible.map((m) => m.serviceId);

  it('wait, pause and reopen each make a new version, and matching follows at once @safety', async () => {
    const before = (await sail()).version;
    expect(await say('wait 3 weeks', GRACE)).to.contain('now about 3 weeks');
    expect((await sail()).service.waitingTimeWeeks.value).to.equal(3);

    expect(await say('pause until 2027-02-01', GRACE)).to.contain('paused until 1 February 2027');
    expect(await eligibleIds()).not.to.include('sail');
    const result = matchPerson(isolatedSouthwark70, await bot.signpost.store.directory.list(), { now: new Date(at) });
    expect(result.ineligible.find((m) => m.serviceId === 'sail')?.reasons).to.deep.equal(['Paused until 1 February 2027: not taking new referrals.']);

    expect(await say('reopen', KWAME)).to.contain('open to referrals again');
    expect(await eligibleIds()).to.include('sail');
    expect(await say('reopen', KWAME)).to.contain('already open');

    const history = (await bot.signpost.store.directory.history('sail')).filter((v) => v.version > before);
    expect(history.map((v) => [v.route, v.by.name, v.changed])).to.deep.equal([
      ['teams', 'Grace Okoro', ['waitingTimeWeeks']],
      ['teams', 'Grace Okoro', ['status', 'reopensOn']],
      ['teams', 'Kwame Mensah', ['status', 'reopensOn']],
    ]);
  });

  it('refuses outsiders and bad values, naming what is wrong, and changes nothing @safety', async () => {
    const before = await sail();
    expect(await say('wait 2 weeks', STRANGER)).to.contain("Only the service's link workers").and.contain('Nothing changed');
    expect(await say('pause until 2027-02-01', STRANGER)).to.contain('Nothing changed');
    expect(await say('wait lots', GRACE)).to.contain('for example **wait 6 weeks**').and.contain('Nothing changed');
    expect(await say('wait 2.5 weeks', GRACE)).to.contain('whole weeks');
    expect(await say('wait 600', GRACE)).to.contain('at most 104 weeks');
    expect(await say('pause until 2027-02-30', GRACE)).to.contain('pause until 2027-02-01').and.contain('Nothing changed');
    expect(await say('pause until 2020-01-01', GRACE)).to.contain('not in the future');
    expect(await say('pause', GRACE)).to.contain('Say when the service reopens');
    expect(await sail()).to.deep.equal(before);
    // Outside a linked channel the commands do nothing.
    const elsewhere = await sayInChannel(bot.url, connector, { team: TEAM, channel: '19:unlinked@thread.tacv2' }, 'wait 1', GRACE);
    expect(elsewhere).to.contain('not linked');
  });

  it('maintainers: listed, added and removed by whoever may manage supervisors, not by other members', async () => {
    expect(await say('maintainers', GRACE)).to.contain('has no maintainers yet');
    expect(await say('maintainers add helen.price@example.org', GRACE)).to.contain("Only the team's owners").and.contain('Nothing changed');
    expect(await say('maintainers add not-an-address', KWAME)).to.contain("Say the maintainer's email address");
    expect(await say('maintainers add Helen.Price@example.org', KWAME)).to.contain('helen.price@example.org now maintains the entry');
    expect(await say('maintainers add helen.price@example.org', KWAME)).to.contain('already a maintainer');
    expect((await sail()).service.maintainers).to.deep.equal(['helen.price@example.org']);
    expect(await say('maintainers', GRACE)).to.contain('- helen.price@example.org');
    expect(await say('maintainers remove helen.price@example.org', KWAME)).to.contain('no longer maintains');
    expect((await sail()).service.maintainers).to.equal(undefined);
  });

  it("the referrer's \"waiting for an activity\" update quotes the wait the link workers set @safety", async () => {
    const referral = { ...sampleReferral({ reference: 'SP-2026-000771' }), referrerConversation: { serviceUrl: connector.url, channelId: 'msteams', conversation: { id: 'a:referrer-upkeep' } } };
    await bot.signpost.store.referrals.submit(referral, { referralId: referral.id, at, actor: { id: '29:r' }, action: 'referral.submitted', detail: {} });
    const kwame = { id: KWAME.id, name: KWAME.name, identifiedBy: 'teams' as const, teamsChannel: { teamId: TEAM, channelId: CHANNEL } };
    expect((await bot.signpost.actions.act(kwame, referral.id, undefined, { verb: 'accept' })).kind).to.equal('changed');
    expect(await say('wait 7 weeks', KWAME)).to.contain('now about 7 weeks');
    expect((await bot.signpost.actions.act(kwame, referral.id, undefined, { verb: 'update', status: 'waiting-for-activity' })).kind).to.equal('changed');
    const update = await connector.waitFor((a) => a.conversationId.startsWith('a:referrer-upkeep') && JSON.stringify(a.activity).includes('waiting for an activity'));
    expect(JSON.stringify(update.activity)).to.contain("The service's current wait is about 7 weeks.");
  });

  it('verify: says who has to be asked when nobody maintains the entry, and refuses those who may not manage maintainers', async () => {
    const asked = sinon.spy(bot.signpost.directoryUpkeep, 'requestNow');
    const recorded = sinon.spy(bot.signpost.store.outbox, 'record');
    try {
      expect((await sail()).service.maintainers).to.equal(undefined);
      expect(await say('verify', KWAME)).to.contain('has no maintainers, so there is nobody to ask').and.contain('**maintainers add**').and.contain('Nothing was sent');
      expect(asked.callCount).to.equal(1);

      expect(await say('maintainers add helen.price@example.org', KWAME)).to.contain('now maintains');
      expect(await say('verify', GRACE)).to.contain("Only the team's owners").and.contain('Nothing was sent');
      expect(await say('verify', STRANGER)).to.contain('Nothing was sent');
      expect(await say('verify wellbeing-hub', KWAME)).to.contain('say **verify** in the channel of wellbeing-hub').and.contain('Nothing was sent');
      expect(await sayInChat('verify sail', KWAME)).to.contain('is for Signpost admins');
      const elsewhere = await sayInChannel(bot.url, connector, { team: TEAM, channel: '19:unlinked@thread.tacv2' }, 'verify', KWAME);
      expect(elsewhere).to.contain('not linked');
      expect(asked.callCount).to.equal(1);
      expect(await requestEmailsTo(folder)).to.deep.equal([]);
      // Nothing was queued for anyone (the admins hear of unmaintained entries from the standing clock).
      expect(recorded.getCalls().map((call) => call.args[0]).filter((partition) => partition.startsWith('verify-'))).to.deep.equal([]);
    } finally {
      asked.restore();
      recorded.restore();
    }
  });

  it('verify: asks every maintainer now, in Teams where Signpost can reach them and by email otherwise, and says so in the channel', async () => {
    // Helen has a chat with Signpost; Sam has only his address.
    await bot.signpost.store.contacts.remember({
      teamsUserId: '29:helen',
      name: 'Helen Price',
      email: 'helen.price@example.org',
      personalConversation: { serviceUrl: connector.url, channelId: 'msteams', conversation: { id: 'a:helen-chat' } },
      updatedAt: at,
    });
    expect(await say('maintainers add sam.okafor@example.org', KWAME)).to.contain('now maintains');
    connector.clear();

    const answer = await say('verify', KWAME);
    expect(answer).to.contain('Asked the maintainers of Safe and Independent Living (SAIL) signposting programme to confirm its entry now');
    expect(answer).to.contain('- helen.price@example.org, in Teams').and.contain('- sam.okafor@example.org, by email');

    const card = await connector.waitFor((a) => a.conversationId.startsWith('a:helen-chat') && JSON.stringify(a.activity).includes('still correct'));
    const { version } = await sail();
    expect(JSON.stringify(card.activity)).to.contain('Still correct').and.contain(`"version":${version}`);
    await emailsArrived(folder, 1);
    expect(await requestEmailsTo(folder)).to.deep.equal(['sam.okafor@example.org']);

    // An admin asks from a chat with Signpost, naming the service.
    expect(await sayInChat('verify', ADMIN)).to.contain('Say which service, for example **verify sail**');
    expect(await sayInChat('verify nonsense', ADMIN)).to.contain('There is no service "nonsense"');
    expect(await sayInChat('verify sail', ADMIN)).to.contain('Asked the maintainers of Safe and Independent Living');
    await emailsArrived(folder, 2);
    expect(await requestEmailsTo(folder)).to.deep.equal(['sam.okafor@example.org', 'sam.okafor@example.org']);
  });

  it("in local mode, a playground person who links a service's channel maintains its entry too, so verify reaches them", async () => {
    const where = { team: '19:wellbeing-team@thread.tacv2', channel: '19:wellbeing@thread.tacv2' };
    const linked = await sayInChannel(bot.url, connector, where, 'link wellbeing-hub', AMIRA);
    expect(linked).to.contain('now receives referrals').and.contain('Local mode: you (Amira Patel) maintain its directory entry too');
    const hub = (await bot.signpost.store.directory.current('wellbeing-hub'))!;
    expect(hub.service.maintainers).to.deep.equal(['amira.patel@lordship-lane-surgery.example']);
    expect((await bot.signpost.store.directory.history('wellbeing-hub')).at(-1)).to.include({ route: 'teams' });
    expect(await sayInChannel(bot.url, connector, where, 'verify', AMIRA)).to.contain('- amira.patel@lordship-lane-surgery.example, by email');
    // Anyone else linking (here Kwame, who is no playground person) is not made a maintainer.
    expect((await sail()).service.maintainers).not.to.include('kwame.mensah@ageuk-ls.example');
  });
});

describe('verify out of working hours (real server, on a Saturday night)', () => {
  // In the past: the outbox sends what is due by the machine's own clock.
  const SATURDAY_NIGHT = new Date('2025-11-22T22:30:00.000Z');
  let folder: string;
  let connector: FakeConnector;
  let bot: RunningSignpost;

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-verify-night-'));
    connector = await FakeConnector.start();
    connector.members = [KWAME];
    bot = await startSignpost({ env: { PATH: process.env.PATH }, port: 0, host: '127.0.0.1', dataDir: folder, now: () => SATURDAY_NIGHT, logger: createLogger('error', () => undefined) });
  });
  after(async () => {
    await bot?.stop();
    await connector?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('sends the request at once: a person asked for it, so it does not wait for Monday morning', async () => {
    expect(bot.signpost.supervision.calendar.isWorkingTime(SATURDAY_NIGHT)).to.equal(false);
    const say = (text: string) => sayInChannel(bot.url, connector, { team: TEAM, channel: CHANNEL }, text, KWAME);
    await say('link sail');
    await say('maintainers add helen.price@example.org');
    expect(await say('verify')).to.contain('- helen.price@example.org, by email');
    await emailsArrived(folder, 1);
    expect(await requestEmailsTo(folder)).to.deep.equal(['helen.price@example.org']);
  });
});
