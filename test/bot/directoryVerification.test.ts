import { expect } from 'chai';
import sinon from 'sinon';
import { SupervisionScheduler } from '../../bot/supervision/supervisionScheduler';
import type { Supervision, StaffPayload } from '../../bot/supervision/supervision';
import { DirectoryUpkeep } from '../../bot/directory/directoryUpkeep';
import { createLogger } from '../../bot/app/log';
import type { OutboxEntry } from '../../storage/outboxRepository';
import type { RunningAzurite } from '../../storage/azurite';
import type { TableConnection } from '../../storage/tables';
import { southwarkDirectory } from '../../domain/directory/southwark';
import { testTables } from '../support/azurite';
import { createWorld, pendingTimers, ReferralWorld, supervisionFor } from '../support/referralHarness';
import { cardText, expectValidTeamsCard } from '../support/adaptiveCards';
import { staffMessageCard } from '../../cards/staffMessageCard';
import { FIRST_WORKING_MOMENT, LAST_CHECKED, RECENTLY_CHECKED, UPKEEP_TEST_START } from '../support/verificationCalendar';

/**
 * Requests to confirm directory entries, end to end on Azurite under sinon's clock (Date only):
 * due 60 days after the last check, in working hours, never on a weekend or bank holiday;
 * repeated after 5 working days; then to the admins; silent once the entry is confirmed.
 */

const HELEN = 'helen.price@ageuk-ls.example';
const ADMIN = 'signpost-admin@southwark.example';
const FAR_FUTURE = new Date('2030-01-01T00:00:00Z');

describe('Directory verification requests (timers on Azurite, sinon clock)', () => {
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
    await world.directory.importAll(
      southwarkDirectory().map((service) => (service.id === 'sail' ? { ...service, lastVerified: LAST_CHECKED, maintainers: [HELEN] } : { ...service, lastVerified: RECENTLY_CHECKED })),
    );
    supervision = supervisionFor(world, { admins: [ADMIN], now: () => new Date() });
    const logger = createLogger('error', () => undefined);
    upkeep = new DirectoryUpkeep({ directory: world.directory, timers: world.timers, outbox: world.outbox, supervision, logger, now: () => new Date() });
    await upkeep.scheduleAll();
  });
  afterEach(() => clock.restore());

  const scheduler = () =>
    new SupervisionScheduler({ timers: world.timers, referrals: world.referrals, queue: world.queue, outbox: world.outbox, supervision, logger: createLogger('error', () => undefined), directoryUpkeep: upkeep });
  const sweepAt = async (iso: string) => {
    clock.setSystemTime(new Date(iso));
    return scheduler().runOnce();
  };
  const requests = async () =>
    ((await world.outbox.due(FAR_FUTURE, 500)) as Array<OutboxEntry & { payload: StaffPayload }>).filter((entry) => entry.payload.message?.kind === 'verification-request');
  const emailOf = (entry: OutboxEntry & { payload: StaffPayload }) => ('email' in entry.payload.recipient ? entry.payload.recipient.email : undefined);
  const sailTimers = () => pendingTimers(world.tables, world.names.timers, (timer) => timer.kind === 'directory-verification' && timer.serviceId === 'sail');

  it('asks the maintainer 60 days after the last check, at the first working moment after a bank holiday @safety', async () => {
    expect((await sailTimers()).map((timer) => timer.dueAt)).to.deep.equal([FIRST_WORKING_MOMENT]);
    await sweepAt('2026-12-24T16:00:00.000Z');
    await sweepAt('2026-12-25T12:00:00.000Z'); // Christmas Day: a holiday
    await sweepAt('2026-12-28T12:00:00.000Z'); // the Boxing Day holiday
    expect(await requests()).to.deep.equal([]);

    await sweepAt(FIRST_WORKING_MOMENT);
    const sent = await requests();
    // Not reachable in Teams (no chat with Signpost yet): by email.
    expect(sent.map((entry) => [entry.channel, emailOf(entry)])).to.deep.equal([['email', HELEN]]);
    const message = sent[0].payload.message;
    expect(message.title).to.equal('Is the entry for Safe and Independent Living (SAIL) signposting programme still correct?');
    expect(message.verification).to.deep.include({ serviceId: 'sail', version: 2 });
    expect(message.lines.join(' ')).to.contain('last checked on 26 October 2026');
    // Other services were checked recently: nothing for them yet.
    expect(new Set(sent.map((entry) => entry.payload.serviceId))).to.deep.equal(new Set(['sail']));
  });

  it('repeats after 5 working days, then goes to the admins; an answer stops the requests @safety', async () => {
    await sweepAt(FIRST_WORKING_MOMENT);
    const [repeat] = await sailTimers();
    expect(repeat.attempt).to.equal(2);
    // 5 working days on from Tuesday 29 December, skipping New Year's Day and the weekend.
    expect(repeat.dueAt).to.equal(supervision.calendar.addWorkingDays(new Date(FIRST_WORKING_MOMENT), 5).toISOString());
    expect(repeat.dueAt > '2027-01-05').to.equal(true);

    await sweepAt(new Date(Date.parse(repeat.dueAt) - 60_000).toISOString());
    expect(await requests()).to.have.length(1);
    await sweepAt(repeat.dueAt);
    const second = (await requests()).filter((entry) => entry.key.includes(':2:'));
    expect(second.map((entry) => emailOf(entry))).to.deep.equal([HELEN]);
    expect(second[0].payload.message.lines[0]).to.equal('We asked 5 working days ago and have not heard back.');

    const [toAdmins] = await sailTimers();
    expect(toAdmins.attempt).to.equal(3);
    await sweepAt(toAdmins.dueAt);
    const third = (await requests()).filter((entry) => entry.key.includes(':3:'));
    expect(third.map((entry) => emailOf(entry))).to.deep.equal([ADMIN]);
    expect(third[0].payload.message.lines[0]).to.contain(`Its maintainers (${HELEN}) have not answered two requests.`);
    expect(await sailTimers()).to.deep.equal([]);
  });

  it('sends nothing more once the maintainer confirms, and asks again 60 days after that check @safety', async () => {
    await sweepAt(FIRST_WORKING_MOMENT);
    const version = (await world.directory.current('sail'))!.version;
    const outcome = await upkeep.act({ name: 'Helen Price', email: HELEN }, 'sail', version, { verb: 'confirm' }, 'email');
    expect(outcome.kind).to.equal('changed');
    expect((await world.directory.current('sail'))!.service.lastVerified).to.equal('2026-12-29');

    const repeat = (await sailTimers()).find((timer) => timer.attempt === 2)!;
    await sweepAt(repeat.dueAt);
    expect(await requests()).to.have.length(1); // only the first one
    const next = (await sailTimers()).find((timer) => timer.anchor === '2026-12-29')!;
    // 60 days on is Saturday 27 February 2027: the request waits for Monday morning.
    expect(next).to.deep.include({ attempt: 1, dueAt: '2027-03-01T09:00:00.000Z' });
  });

  it('an import that changes the last check moves the next request to 60 days after it', async () => {
    await world.directory.importAll(
      southwarkDirectory().map((service) => (service.id === 'sail' ? { ...service, lastVerified: '2026-12-01', maintainers: [HELEN] } : { ...service, lastVerified: RECENTLY_CHECKED })),
    );
    await sweepAt(FIRST_WORKING_MOMENT);
    expect(await requests()).to.deep.equal([]);
    // 60 days after 1 December 2026 is Saturday 30 January 2027: Monday morning.
    expect((await sailTimers()).map((timer) => [timer.anchor, timer.attempt, timer.dueAt])).to.deep.equal([['2026-12-01', 1, '2027-02-01T09:00:00.000Z']]);
  });

  it('tells the admins about a service with no maintainers, again every 5 working days, until one is added, who is then asked @safety', async () => {
    const unmaintained = async () =>
      ((await world.outbox.due(FAR_FUTURE, 500)) as Array<OutboxEntry & { payload: StaffPayload }>).filter((entry) => entry.payload.message?.kind === 'unmaintained-entry');
    await world.directory.change('sail', undefined, ({ maintainers: _none, ...sail }) => sail, { route: 'cli', by: { name: 'test' }, at: new Date().toISOString() });
    await sweepAt(FIRST_WORKING_MOMENT);
    await sweepAt(FIRST_WORKING_MOMENT); // a second sweep at the same moment tells nobody twice
    expect(await requests()).to.deep.equal([]);
    const told = await unmaintained();
    expect(told.map((entry) => [entry.channel, emailOf(entry)])).to.deep.equal([['email', ADMIN]]);
    expect(told[0].payload.message.lines[0]).to.equal('Safe and Independent Living (SAIL) signposting programme has no maintainers; its entry was last checked on 26 October 2026.');
    // In Teams, a valid card that says how to add a maintainer.
    const card = staffMessageCard(told[0].payload.message);
    expectValidTeamsCard(card);
    expect(cardText(card)).to.contain('A directory entry nobody maintains').and.contain('maintainers add');
    const [later] = await sailTimers();
    expect(later).to.deep.include({ attempt: 1, dueAt: supervision.calendar.addWorkingDays(new Date(FIRST_WORKING_MOMENT), 5).toISOString() });

    // Not before the 5 working days are up; then once more.
    await sweepAt(new Date(Date.parse(later.dueAt) - 60_000).toISOString());
    expect(await unmaintained()).to.have.length(1);
    await sweepAt(later.dueAt);
    expect((await unmaintained()).map(emailOf)).to.deep.equal([ADMIN, ADMIN]);

    const [third] = await sailTimers();
    await world.directory.change('sail', undefined, (sail) => ({ ...sail, maintainers: [HELEN] }), { route: 'teams', by: { name: 'test' }, at: new Date().toISOString() });
    await sweepAt(third.dueAt);
    expect((await requests()).map(emailOf)).to.deep.equal([HELEN]);
    expect(await unmaintained()).to.have.length(2);
  });
});
