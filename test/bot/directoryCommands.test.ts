import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { matchPerson } from '../../domain/eligibility/matcher';
import { sampleReferral } from '../support/fixtures';
import { FakeConnector, sayInChannel } from '../support/connector';

const at = '2026-11-24T12:00:00.000Z';
const CHANNEL = '19:sail-upkeep@thread.tacv2';
const TEAM = '19:sail-upkeep-team@thread.tacv2';
const KWAME = { id: '29:kwame', name: 'Kwame Mensah' };
const GRACE = { id: '29:grace', name: 'Grace Okoro' };
const STRANGER = { id: '29:stranger', name: 'Not In The Team' };
const isolatedSouthwark70 = { age: 70, borough: 'southwark' as const, sociallyIsolated: true, referralRoute: 'gp' as const };

describe("Link workers keep their service's entry true from its channel (real server)", () => {
  let folder: string;
  let connector: FakeConnector;
  let bot: RunningSignpost;

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-upkeep-'));
    connector = await FakeConnector.start();
    connector.members = [KWAME, GRACE];
    bot = await startSignpost({ env: { PATH: process.env.PATH }, port: 0, host: '127.0.0.1', dataDir: folder, logger: createLogger('error', () => undefined) });
    expect(await say('link sail', KWAME)).to.contain('now receives referrals');
  });
  after(async () => {
    await bot?.stop();
    await connector?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  const say = (text: string, from: { id: string; name: string }) => sayInChannel(bot.url, connector, { team: TEAM, channel: CHANNEL }, text, from);
  const sail = async () => (await bot.signpost.store.directory.current('sail'))!;
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
});
