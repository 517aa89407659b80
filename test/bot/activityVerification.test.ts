import { expect } from 'chai';
import sinon from 'sinon';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { SupervisionScheduler } from '../../bot/supervision/supervisionScheduler';
import type { Supervision, StaffPayload } from '../../bot/supervision/supervision';
import { DirectoryUpkeep, upkeepRequestFrom, type UpkeepRequest } from '../../bot/directory/directoryUpkeep';
import { createLogger } from '../../bot/app/log';
import type { OutboxEntry } from '../../storage/outboxRepository';
import type { RunningAzurite } from '../../storage/azurite';
import type { TableConnection } from '../../storage/tables';
import { sampleActivities } from '../../domain/directory/sampleActivities';
import { sessionWords } from '../../domain/directory/activities';
import { parseSessionWords } from '../../domain/directory/activityVerification';
import { parseSearchQuery } from '../../domain/directory/search';
import { activitiesNear, searchActivities } from '../../domain/directory/activitySearch';
import { ActivityRepository } from '../../storage/activityRepository';
import { testTables } from '../support/azurite';
import { createWorld, pendingTimers, ReferralWorld, supervisionFor } from '../support/referralHarness';
import { FIRST_WORKING_MOMENT, LAST_CHECKED, RECENTLY_CHECKED, UPKEEP_TEST_START } from '../support/verificationCalendar';

/**
 * Community activities are kept current the way services are: their maintainers (listed as
 * `{ name, email }`) are asked to confirm the entry 60 days after its last check, in working
 * hours; the request is repeated, then goes to the admins. Answers go through the same
 * application layer (DirectoryUpkeep) as services', with the same refusals; every change is a
 * new version with its history, and an activity marked as stopped is no longer offered.
 */

const SAM = { name: 'Sam Shed', email: 'sam.shed@sheds.example' };
const OTHER = { name: 'Olu Other', email: 'olu@elsewhere.example' };
const ADMIN = 'signpost-admin@southwark.example';
const FAR_FUTURE = new Date('2030-01-01T00:00:00Z');
const SHEDS = 'men-in-sheds';

describe('Keeping activities current (timers and answers on Azurite, sinon clock)', () => {
  let azurite: RunningAzurite;
  let tables: TableConnection;
  let world: ReferralWorld;
  let supervision: Supervision;
  let upkeep: DirectoryUpkeep;
  let clock: sinon.SinonFakeTimers;

  before(async () => ({ azurite, tables } = await testTables()));
  after(async () => azurite?.stop());
  beforeEach(async () => {
    clock = sinon.useFakeTimers({ now: UPKEEP_TEST_START, toFake: ['Date'] });
    world = await createWorld(tables);
    await world.directory.importAll((await world.directory.list()).map((service) => ({ ...service, lastVerified: RECENTLY_CHECKED })));
    await world.activities.importAll(
      sampleActivities().map((activity) => (activity.id === SHEDS ? { ...activity, lastVerified: LAST_CHECKED, maintainers: [SAM] } : { ...activity, lastVerified: RECENTLY_CHECKED })),
    );
    supervision = supervisionFor(world, { admins: [ADMIN], now: () => new Date() });
    upkeep = new DirectoryUpkeep({ directory: world.directory, activities: world.activities, timers: world.timers, outbox: world.outbox, supervision, logger: createLogger('error', () => undefined), now: () => new Date() });
    await upkeep.scheduleAll();
  });
  afterEach(() => clock.restore());

  const sweepAt = async (iso: string) => {
    clock.setSystemTime(new Date(iso));
    return new SupervisionScheduler({ timers: world.timers, referrals: world.referrals, queue: world.queue, outbox: world.outbox, supervision, logger: createLogger('error', () => undefined), directoryUpkeep: upkeep }).runOnce();
  };
  const requests = async () =>
    ((await world.outbox.due(FAR_FUTURE, 500)) as Array<OutboxEntry & { payload: StaffPayload }>).filter((entry) => entry.payload.message?.kind === 'verification-request');
  const emailOf = (entry: OutboxEntry & { payload: StaffPayload }) => ('email' in entry.payload.recipient ? entry.payload.recipient.email : undefined);
  const shedTimers = () => pendingTimers(world.tables, world.names.timers, (timer) => timer.kind === 'directory-verification' && timer.entryKind === 'activity' && timer.serviceId === SHEDS);
  const sheds = async () => (await world.activities.current(SHEDS))!;
  const act = async (person: { name: string; email?: string }, version: number, request: UpkeepRequest) => upkeep.act(person, { kind: 'activity', id: SHEDS }, version, request, 'email');
  const change = (fields: Record<string, string>): UpkeepRequest => {
    const parsed = upkeepRequestFrom('activity', 'change', fields);
    if ('problems' in parsed) throw new Error(parsed.problems.join('; '));
    return parsed.request;
  };
  const currentForm = async () => {
    const { activity } = await sheds();
    return { running: 'running', sessions: sessionWords(activity), cost: activity.cost, howToJoin: activity.howToJoin, accessNotes: activity.accessNotes };
  };

  it('asks the maintainer 60 days after the last check, after the bank holidays, then again, then the admins @safety', async () => {
    expect((await shedTimers()).map((timer) => timer.dueAt)).to.deep.equal([FIRST_WORKING_MOMENT]);
    await sweepAt('2026-12-25T12:00:00.000Z'); // Christmas Day
    await sweepAt('2026-12-28T12:00:00.000Z'); // the Boxing Day holiday
    expect(await requests()).to.deep.equal([]);

    await sweepAt(FIRST_WORKING_MOMENT);
    const first = await requests();
    expect(first.map((entry) => [entry.channel, emailOf(entry)])).to.deep.equal([['email', SAM.email]]);
    const message = first[0].payload.message;
    expect(message.title).to.equal('Is the entry for Workshop shed group still correct?');
    expect(message.verification).to.deep.include({ entry: 'activity', activityId: SHEDS, version: 2 });
    expect(message.lines.join(' ')).to.contain('last checked on 26 October 2026');

    const [repeat] = await shedTimers();
    expect(repeat).to.deep.include({ attempt: 2, dueAt: supervision.calendar.addWorkingDays(new Date(FIRST_WORKING_MOMENT), 5).toISOString() });
    await sweepAt(repeat.dueAt);
    const second = (await requests()).filter((entry) => entry.key.includes(':2:'));
    expect(second.map(emailOf)).to.deep.equal([SAM.email]);
    expect(second[0].payload.message.lines[0]).to.equal('We asked 5 working days ago and have not heard back.');

    const [toAdmins] = await shedTimers();
    await sweepAt(toAdmins.dueAt);
    const third = (await requests()).filter((entry) => entry.key.includes(':3:'));
    expect(third.map(emailOf)).to.deep.equal([ADMIN]);
    expect(third[0].payload.message.lines[0]).to.contain(`Its maintainers (${SAM.email}) have not answered two requests.`);
    expect(await shedTimers()).to.deep.equal([]);
  });

  it('tells the admins about an activity with no maintainers, once per look, and asks a maintainer added meanwhile @safety', async () => {
    const unmaintained = async () =>
      ((await world.outbox.due(FAR_FUTURE, 500)) as Array<OutboxEntry & { payload: StaffPayload }>).filter((entry) => entry.payload.message?.kind === 'unmaintained-entry');
    const by = { route: 'cli' as const, by: { name: 'test' }, at: new Date().toISOString() };
    await world.activities.change(SHEDS, undefined, (activity) => ({ ...activity, maintainers: [] }), by);
    await sweepAt(FIRST_WORKING_MOMENT);
    await sweepAt(FIRST_WORKING_MOMENT); // a second sweep at the same moment tells nobody twice
    expect(await requests()).to.deep.equal([]);
    const told = await unmaintained();
    expect(told.map((entry) => [entry.channel, emailOf(entry)])).to.deep.equal([['email', ADMIN]]);
    expect(told[0].key).to.match(/^unmaintained-activity-men-in-sheds-2026-10-26-/);
    expect(told[0].payload.message.lines.join(' ')).to.contain('Workshop shed group has no maintainers').and.contain('activities file');

    const [later] = await shedTimers();
    expect(later).to.deep.include({ attempt: 1, dueAt: supervision.calendar.addWorkingDays(new Date(FIRST_WORKING_MOMENT), 5).toISOString() });
    await world.activities.change(SHEDS, undefined, (activity) => ({ ...activity, maintainers: [SAM] }), by);
    await sweepAt(later.dueAt);
    expect((await requests()).map(emailOf)).to.deep.equal([SAM.email]);
    expect(await unmaintained()).to.have.length(1);
  });

  it('Still correct stops the requests and records a new version; the next request is 60 days after that check @safety', async () => {
    await sweepAt(FIRST_WORKING_MOMENT);
    const { version } = await sheds();
    const outcome = await act(SAM, version, { verb: 'confirm' });
    expect(outcome).to.deep.include({ kind: 'changed', version: version + 1 });
    expect(outcome.notice).to.contain('confirmed as correct today');
    expect((await sheds()).activity.lastVerified).to.equal('2026-12-29');
    const repeat = (await shedTimers()).find((timer) => timer.attempt === 2)!;
    await sweepAt(repeat.dueAt);
    expect(await requests()).to.have.length(1);
    expect((await shedTimers()).find((timer) => timer.anchor === '2026-12-29')).to.deep.include({ attempt: 1, dueAt: '2027-03-01T09:00:00.000Z' });
    expect((await world.activities.history(SHEDS)).at(-1)).to.deep.include({ route: 'email', by: { name: SAM.name, email: SAM.email }, changed: ['lastVerified'] });
  });

  it('Change: new days, times, cost and contact, kept as a new version with who, when and how; the history reads back', async () => {
    const { version } = await sheds();
    const outcome = await act(SAM, version, change({ ...(await currentForm()), sessions: 'Mon, Thu 13:00-16:00 (not bank holidays); Sat 10:00–12:00', cost: '£2 a session', email: 'sheds@sheds.example', phone: '' }));
    expect(outcome.kind, outcome.notice).to.equal('changed');
    const { activity } = await sheds();
    expect(activity.sessions).to.deep.equal([
      { days: ['monday', 'thursday'], starts: '13:00', ends: '16:00', note: 'not bank holidays' },
      { days: ['saturday'], starts: '10:00', ends: '12:00' },
    ]);
    expect(activity).to.deep.include({ cost: '£2 a session', lastVerified: '2026-11-25', contact: { phone: null, email: 'sheds@sheds.example', website: null } });
    const history = await world.activities.history(SHEDS);
    expect(history.map((entry) => entry.version)).to.deep.equal([1, 2, 3]);
    expect(history.at(-1)).to.deep.include({ id: SHEDS, at: '2026-11-25T10:00:00.000Z', route: 'email', by: { name: SAM.name, email: SAM.email } });
    expect(history.at(-1)!.changed).to.include.members(['sessions', 'cost', 'contact', 'lastVerified']);
    expect(history.at(-1)!.entry).to.deep.equal(activity);
  });

  it('an activity marked as stopped is no longer offered in the activity search, and running again it is @safety', async () => {
    const query = parseSearchQuery('woodwork sheds');
    if (query.kind !== 'words') throw new Error('expected words');
    const found = async () => searchActivities(await world.activities.list(), query).map((hit) => hit.activity.id);
    const near = async () => activitiesNear(await world.activities.list(), { boroughs: ['southwark', 'lewisham', 'lambeth'] }, 40).map((activity) => activity.id);
    expect(await found()).to.include(SHEDS);
    const place = (await sheds()).activity.place;
    expect(activitiesNear(await world.activities.list(), { postcodeDistrict: place.postcodeDistrict }, 40).map((activity) => activity.id)).to.include(SHEDS);

    const stopped = await act(SAM, (await sheds()).version, change({ ...(await currentForm()), running: 'stopped' }));
    expect(stopped.notice).to.contain('no longer offered');
    expect((await sheds()).activity.stopped).to.equal(true);
    // Seen at once: the repository's list is read afresh after a change.
    expect(await found()).not.to.include(SHEDS);
    expect(await near()).not.to.include(SHEDS);
    expect(activitiesNear(await world.activities.list(), { postcodeDistrict: place.postcodeDistrict }, 40).map((activity) => activity.id)).not.to.include(SHEDS);

    await act(SAM, (await sheds()).version, change({ ...(await currentForm()), running: 'running' }));
    expect((await sheds()).activity).not.to.have.property('stopped');
    expect(await found()).to.include(SHEDS);
  });

  it('refuses outsiders, stale versions, bad fields and a service form, changing nothing @safety', async () => {
    const before = await sheds();
    const outsider = await act(OTHER, before.version, { verb: 'confirm' });
    expect(outsider.kind).to.equal('refused');
    expect(outsider.notice).to.contain('Only the maintainers of');
    expect((await act(SAM, before.version - 1, { verb: 'confirm' })).kind).to.equal('stale');
    const wrongForm = upkeepRequestFrom('service', 'change', { status: 'closed', waitWeeks: '' });
    expect((await act(SAM, before.version, (wrongForm as { request: UpkeepRequest }).request)).kind).to.equal('invalid');
    expect((await upkeep.act(SAM, { kind: 'activity', id: 'no-such-activity' }, 1, { verb: 'confirm' }, 'teams')).kind).to.equal('not-found');

    const bad = upkeepRequestFrom('activity', 'change', { running: 'maybe', sessions: 'whenever', cost: '', howToJoin: 'x'.repeat(600), accessNotes: 'Step-free', email: 'not an address', website: 'nowhere' });
    expect(bad).to.have.property('problems');
    expect((bad as { problems: string[] }).problems).to.include.members([
      'Running: choose whether it still runs or has stopped',
      'Cost: say what it costs (or that it is free)',
      'How to join: keep it under 500 characters',
      'Contact email: an email address such as name@example.org',
      'Contact website: a web address starting https://',
    ]);
    expect((bad as { problems: string[] }).problems.join(' ')).to.contain('Days and times: write each session as days then times');
    expect((upkeepRequestFrom('activity', 'change', { ...(await currentForm()), sessions: 'Tue 12:00-10:00' }) as { problems: string[] }).problems).to.deep.equal([
      'Days and times: the end must be after the start',
    ]);
    expect(await sheds()).to.deep.equal(before);
    expect((await world.activities.history(SHEDS)).map((entry) => entry.version).at(-1)).to.equal(before.version);
  });

  it('history of an activity from the command line: each version, its route, who, and what changed to what', async () => {
    // The command line reads the default table, so this test keeps an activity there.
    const activities = new ActivityRepository(tables);
    await activities.importAll(sampleActivities());
    const { version } = (await activities.current(SHEDS))!;
    await activities.change(SHEDS, version, (activity) => ({ ...activity, cost: 'Free, donations welcome' }), { route: 'teams', by: SAM, at: '2026-11-25T10:00:00.000Z', note: 'Asked by Signpost' });
    const script = path.resolve(__dirname, '..', '..', 'scripts', 'directory.js');
    const env = { PATH: process.env.PATH, SIGNPOST_STORAGE_CONNECTION_STRING: azurite.connectionString };
    for (const command of ['history', 'history-activity']) {
      const shown = spawnSync(process.execPath, [script, command, SHEDS], { encoding: 'utf8', env });
      expect(shown.status, shown.stderr).to.equal(0);
      expect(shown.stdout).to.match(/^version 1 {2}\S+ {2}import {2}by directory import\n {2}first version\n/);
      expect(shown.stdout).to.contain(`version ${version + 1}  2026-11-25T10:00:00.000Z  teams  by Sam Shed <sam.shed@sheds.example>\n  cost: "Free, donations welcome"\n  note: Asked by Signpost`);
    }
    const missing = spawnSync(process.execPath, [script, 'history-activity', 'sail'], { encoding: 'utf8', env });
    expect(missing.status).to.equal(2);
    expect(missing.stderr).to.contain('No history for "sail": there is no such activity');
  });
});

describe('Days and times as words', () => {
  it('reads back every sample activity’s sessions as written on the request', () => {
    for (const activity of sampleActivities()) expect(parseSessionWords(sessionWords(activity)), activity.id).to.deep.equal({ sessions: activity.sessions });
  });
});
