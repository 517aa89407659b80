import { expect } from 'chai';
import sinon from 'sinon';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SupervisionScheduler } from '../../bot/supervision/supervisionScheduler';
import type { Supervision } from '../../bot/supervision/supervision';
import { PersonData } from '../../bot/privacy/personData';
import { mailFileName } from '../../bot/notifications/mailer';
import { serviceReferralCard } from '../../cards/serviceReferralCard';
import { channelPostMessage } from '../../bot/channels/serviceChannels';
import { createLogger } from '../../bot/app/log';
import type { Referral } from '../../domain/referral/referral';
import { REMOVED_TEXT, retentionCatchUpTimer, unfinishedFormsTimer } from '../../domain/referral/retention';
import type { RunningAzurite } from '../../storage/azurite';
import type { TableConnection } from '../../storage/tables';
import { PersonDataRepository } from '../../storage/personDataRepository';
import { TableStateStore } from '../../storage/tableStateStore';
import { testTables } from '../support/azurite';
import { createWorld, pendingTimers, ReferralWorld, supervisionFor } from '../support/referralHarness';
import { sampleReferral } from '../support/fixtures';

/**
 * Retention on Azurite under sinon's clock (Date only, so Azurite's I/O runs normally): an
 * ended referral gets its retention timer with the change that ends it, the supervision sweep
 * removes the person's identifiers everywhere when the period runs out (record, notifications,
 * audit notes, conversation state, mail copies), keeps the facts, and says so in the audit trail.
 */

const KWAME = { id: '29:kwame', name: 'Kwame Mensah' };
const MONDAY_10 = '2026-11-23T10:00:00.000Z';
const CLOSED_AT = '2026-11-24T10:00:00.000Z';
/** 96 months after the close: Friday 24 November 2034, 10:00 in London, a working time. */
const RETENTION_ENDS = '2034-11-24T10:00:00.000Z';
/** The wall clock when this file loaded, before sinon's: storage stamps rows with real time. */
const REAL_START = Date.now();
const IDENTIFIERS = ['Jane', 'Example', '1950-03-14', '9434765919', 'SE5 8AU', '020 7946 0000', 'Grove Lane'];

describe('Retention (sweep on Azurite, sinon clock)', () => {
  let azurite: RunningAzurite;
  let tables: TableConnection;
  let world: ReferralWorld;
  let supervision: Supervision;
  let personData: PersonData;
  let stateStore: TableStateStore;
  let mail: string;
  let clock: sinon.SinonFakeTimers;
  const logLines: string[] = [];

  before(async () => {
    ({ azurite, tables } = await testTables());
  });
  after(async () => {
    await azurite?.stop();
  });
  beforeEach(async () => {
    clock = sinon.useFakeTimers({ now: new Date(MONDAY_10), toFake: ['Date'] });
    world = await createWorld(tables);
    mail = mkdtempSync(path.join(tmpdir(), 'signpost-retention-mail-'));
    supervision = supervisionFor(world, { now: () => new Date(), retentionMonths: 96 });
    stateStore = new TableStateStore(tables, world.names.botState);
    personData = personDataKeeping(96);
  });

  const personDataKeeping = (retentionMonths: number) =>
    new PersonData({
      referrals: world.referrals,
      personData: new PersonDataRepository(tables, { tablePrefix: world.names.referralPrefix }),
      stateStore,
      timers: world.timers,
      mailFolder: mail,
      retentionMonths,
      logger: createLogger('debug', (line) => logLines.push(line)),
      now: () => new Date(),
    });
  afterEach(() => {
    clock.restore();
    sinon.restore();
    rmSync(mail, { recursive: true, force: true });
  });

  const scheduler = () =>
    new SupervisionScheduler({
      timers: world.timers,
      referrals: world.referrals,
      queue: world.queue,
      outbox: world.outbox,
      supervision,
      logger: createLogger('debug', (line) => logLines.push(line)),
      retention: personData,
    });
  const moveTo = (iso: string) => clock.setSystemTime(new Date(iso));

  /**
   * A referral that lived: submitted, accepted, an update naming the activity, closed with a
   * note; its notifications (one delivered, with an email copy; one still pending); and a
   * conversation whose state still holds its draft.
   */
  async function livedAndClosed(reference = 'SP-2026-000001'): Promise<Referral> {
    const referral = sampleReferral({
      id: randomUUID(),
      reference,
      whatMatters: 'Back to the allotment on Grove Lane',
      channelPost: { conversationId: '19:sail@thread.tacv2', activityId: '1:card', postedAt: MONDAY_10 },
      createdAt: MONDAY_10,
      updatedAt: MONDAY_10,
      routedAt: MONDAY_10,
    });
    await supervision.prepare(referral);
    await world.referrals.submit(referral, { referralId: referral.id, at: MONDAY_10, actor: { id: '29:r' }, action: 'referral.submitted', detail: {} }, [channelPostMessage(referral)]);
    let stored = (await world.referrals.get(referral.id))!;
    const accepted: Referral = { ...stored.referral, status: 'connected-to-activity', owner: KWAME, acceptedAt: MONDAY_10, version: 2 };
    await world.referrals.update(accepted, stored.etag, { referralId: referral.id, at: '2026-11-23T11:00:00.000Z', actor: KWAME, action: 'referral.update', detail: { summary: 'Connected', activity: 'Lunch club, with Jane Example' } }, [
      { key: `${referral.id}:2:email`, channel: 'email', payload: { kind: 'referrer-update', reference, initials: 'J.E.', note: 'Jane Example joined the lunch club' } },
    ]);
    writeFileSync(path.join(mail, mailFileName(`${referral.id}:2:email`)), 'Subject: SP update\n\nJane Example joined the lunch club\n');
    const delivered = (await world.outbox.due(new Date('2030-01-01T00:00:00Z'))).find((entry) => entry.key === `${referral.id}:2:email`)!;
    await world.outbox.settle((await world.outbox.claim(delivered, new Date(Date.now() + 60_000)))!, { state: 'sent' });

    moveTo(CLOSED_AT);
    stored = (await world.referrals.get(referral.id))!;
    const closed: Referral = {
      ...stored.referral,
      status: 'closed',
      version: 3,
      updatedAt: CLOSED_AT,
      outcome: { kind: 'closed', reason: 'completed', note: 'Jane Example loves it there', at: CLOSED_AT },
      goals: [{ text: 'Meet Jane at Grove Lane', achieved: true }],
    };
    await supervision.prepare(closed);
    await world.referrals.update(closed, stored.etag, { referralId: referral.id, at: CLOSED_AT, actor: KWAME, action: 'referral.close', detail: { summary: 'Closed by Kwame Mensah', reason: 'completed' } }, [
      { key: `${referral.id}:3:teams`, channel: 'teams', payload: { kind: 'referrer-update', reference, initials: 'J.E.', note: 'Jane Example loves it there' } },
    ]);
    await stateStore.write({ [`msteams/chat-${reference}/users/29:r`]: { dialogState: { draft: { referralId: referral.id, person: referral.person } } } });
    return (await world.referrals.get(referral.id))!.referral;
  }

  /** Every row of every table of this world but the directory (whose services have addresses of their own), one per line. */
  async function everythingStored(): Promise<string> {
    const rows: string[] = [];
    const names = new Set(Object.values(world.names).filter((name) => name !== world.names.directory));
    for await (const table of tables.service().listTables()) {
      if (![...names].some((name) => table.name!.startsWith(name))) continue;
      for await (const entity of tables.client(table.name!).listEntities()) rows.push(JSON.stringify(entity));
    }
    return rows.join('\n');
  }

  it('schedules the retention timer with the change that ends a referral, 96 months on @safety', async () => {
    const referral = await livedAndClosed();
    const timers = await pendingTimers(tables, world.names.timers, (timer) => timer.kind === 'retention');
    expect(timers).to.deep.equal([{ id: `retention:${referral.id}:${CLOSED_AT}`, kind: 'retention', dueAt: RETENTION_ENDS, serviceId: 'sail', referralId: referral.id, anchor: CLOSED_AT }]);
  });

  it('removes the person\'s identifiers everywhere when the period runs out, keeps the facts, and audits what, when and why @safety', async () => {
    const referral = await livedAndClosed();
    const before = await everythingStored();
    for (const identifier of IDENTIFIERS) expect(before, identifier).to.contain(identifier);

    const [timer] = await pendingTimers(tables, world.names.timers, (pending) => pending.kind === 'retention');
    moveTo('2034-11-24T09:59:00.000Z');
    await scheduler().runOnce();
    expect((await world.referrals.get(referral.id))!.referral.person).to.deep.equal(referral.person);

    moveTo(RETENTION_ENDS);
    await scheduler().runOnce();
    const after = (await world.referrals.get(referral.id))!.referral;
    expect(after.person).to.equal(undefined);
    expect(after).to.deep.include({ reference: referral.reference, serviceId: 'sail', status: 'closed', createdAt: MONDAY_10, acceptedAt: MONDAY_10, facts: referral.facts, owner: KWAME, whatMatters: REMOVED_TEXT, version: 4 });
    expect(after.deidentified).to.deep.include({ at: RETENTION_ENDS, rule: 'retention-96-months' });
    expect(after.outcome).to.deep.equal({ kind: 'closed', reason: 'completed', at: CLOSED_AT });
    expect(after.goals).to.deep.equal([{ text: REMOVED_TEXT, achieved: true }]);

    const stored = await everythingStored();
    for (const identifier of IDENTIFIERS) expect(stored.split('\n').filter((row) => row.includes(identifier)), identifier).to.deep.equal([]);
    expect(stored).not.to.contain('J.E.');
    expect(existsSync(path.join(mail, mailFileName(`${referral.id}:2:email`)))).to.equal(false);

    const audit = await world.referrals.audit(referral.id);
    expect(audit.map((event) => event.action)).to.deep.equal(['referral.submitted', 'referral.update', 'referral.close', 'referral.deidentified']);
    expect(audit[1].detail).to.deep.equal({ summary: 'Connected', activity: REMOVED_TEXT });
    expect(audit[3]).to.deep.include({ at: RETENTION_ENDS, actor: { id: 'signpost', name: 'Signpost' } });
    expect(audit[3].detail).to.deep.include({ rule: 'retention-96-months', notifications: 2, emailCopies: 1, conversationStates: 1, auditNotes: 1 });
    expect(audit[3].detail.removed).to.contain('NHS number').and.contain('what matters').and.contain('outcome note').and.contain('goal texts');

    // The delivered notification keeps its delivery facts; the one never sent is withdrawn, not sent empty.
    const outbox = await new PersonDataRepository(tables, { tablePrefix: world.names.referralPrefix }).outbox(referral.id);
    // Work orders that carry nothing of the person (post the card, refresh it) are left to run.
    expect(outbox.map((entry) => [entry.state, entry.payload])).to.deep.equal([
      ['pending', { kind: 'channel-post', serviceId: 'sail' }],
      ['sent', { removed: 'retention-96-months', at: RETENTION_ENDS, reference: referral.reference }],
      ['failed', { removed: 'retention-96-months', at: RETENTION_ENDS, reference: referral.reference }],
      ['pending', { kind: 'channel-refresh', serviceId: 'sail' }],
    ]);
    expect(logLines.join('\n')).to.contain('referral-deidentified');
    // The card in the service's channel is to be replaced, through the outbox, by one that shows nothing removed.
    expect((await world.outbox.due(new Date('2040-01-01T00:00:00Z'))).map((entry) => [entry.key, entry.payload])).to.include.deep.members([
      [`${referral.id}:4:channel-refresh`, { kind: 'channel-refresh', serviceId: 'sail' }],
    ]);
    const card = JSON.stringify(serviceReferralCard(after, { serviceName: 'SAIL', members: [], redirectServices: [], history: [], showContactDetails: true }));
    for (const identifier of IDENTIFIERS) expect(card, identifier).not.to.contain(identifier);
    expect(card).to.contain('Removed on 2034-11-24 (retention-96-months)').and.contain('SE5,');
    for (const identifier of IDENTIFIERS) expect(logLines.join('\n'), identifier).not.to.contain(identifier);

    // Once: the same timer coming round again (a second instance, a restart) changes nothing.
    await world.timers.schedule([timer]);
    await scheduler().runOnce();
    expect(await pendingTimers(tables, world.names.timers, (pending) => pending.kind === 'retention')).to.deep.equal([]);
    expect((await world.referrals.audit(referral.id)).filter((event) => event.action === 'referral.deidentified')).to.have.length(1);
  });

  it('finishes after a crash mid-way: the timer stays claimed, its lease runs out, the next sweep completes it once @safety', async () => {
    const referral = await livedAndClosed();
    moveTo(RETENTION_ENDS);
    const update = sinon.stub(world.referrals, 'update').rejects(new Error('storage went away'));
    await scheduler().runOnce();
    expect((await world.referrals.get(referral.id))!.referral.person).to.deep.equal(referral.person);
    expect(await pendingTimers(tables, world.names.timers, (timer) => timer.kind === 'retention')).to.have.length(1);
    update.restore();

    await scheduler().runOnce(); // still leased
    expect((await world.referrals.get(referral.id))!.referral.person).to.not.equal(undefined);
    moveTo('2034-11-24T10:03:00.000Z'); // the lease (2 minutes) has run out
    await scheduler().runOnce();
    expect((await world.referrals.get(referral.id))!.referral.deidentified?.rule).to.equal('retention-96-months');
    expect((await world.referrals.audit(referral.id)).filter((event) => event.action === 'referral.deidentified')).to.have.length(1);
    expect(await pendingTimers(tables, world.names.timers, (timer) => timer.kind === 'retention')).to.deep.equal([]);
  });

  it('removes a referral form left half-way once it is 30 days untouched, daily, and no other conversation state @safety', async () => {
    const halfWay = 'msteams/conversations/a:chat-1/users/29:r';
    const otherState = 'msteams/conversations/a:chat-2/users/29:r';
    await stateStore.write({
      [halfWay]: { dialogState: { dialogStack: [{ id: 'referral', state: { options: { draft: { person: sampleReferral().person }, step: 'needs' } } }] } },
      [otherState]: { dialogState: { dialogStack: [] } },
    });
    const keys = async () => {
      const found: string[] = [];
      for await (const item of stateStore.entries()) found.push(item.key);
      return found.sort();
    };
    // Storage stamps each item with the real time it was written; sinon's clock moves Signpost's only.
    const workingMomentAfter = (days: number) => supervision.calendar.nextWorkingTime(new Date(REAL_START + days * 24 * 60 * 60 * 1000));
    clock.setSystemTime(workingMomentAfter(1));
    await world.timers.schedule([unfinishedFormsTimer(new Date())]);
    await scheduler().runOnce();
    expect(await keys()).to.deep.equal([halfWay, otherState]);

    const later = workingMomentAfter(31);
    clock.setSystemTime(later);
    await scheduler().runOnce();
    expect(await keys()).to.deep.equal([otherState]);
    expect(logLines.join('\n')).to.contain('"event":"unfinished-forms-removed"');
    const tomorrow = new Date(later.getTime() + 24 * 60 * 60 * 1000).toISOString().slice(0, 10);
    expect((await pendingTimers(tables, world.names.timers, (timer) => timer.kind === 'unfinished-forms')).map((timer) => timer.dueAt)).to.deep.equal([`${tomorrow}T00:00:00.000Z`]);
  });

  it('gives referrals that ended without a retention clock one when the catch-up comes due, and waits when the period was lengthened @safety', async () => {
    const ended = sampleReferral({ id: randomUUID(), status: 'declined', outcome: { kind: 'declined', reason: 'no-capacity', at: CLOSED_AT }, createdAt: MONDAY_10, updatedAt: CLOSED_AT });
    await world.referrals.submit(ended, { referralId: ended.id, at: CLOSED_AT, actor: { id: '29:r' }, action: 'referral.submitted', detail: {} });
    const open = sampleReferral({ id: randomUUID(), reference: 'SP-2026-000002' });
    await world.referrals.submit(open, { referralId: open.id, at: MONDAY_10, actor: { id: '29:r' }, action: 'referral.submitted', detail: {} });
    expect(await pendingTimers(tables, world.names.timers)).to.deep.equal([]);

    // Each start stores the catch-up, due at once; two instances starting the same day store one.
    moveTo('2026-11-30T09:30:00.000Z');
    await world.timers.schedule([retentionCatchUpTimer(new Date()), retentionCatchUpTimer(new Date(Date.now() + 60_000))]);
    await scheduler().runOnce();
    const timers = await pendingTimers(tables, world.names.timers);
    expect(timers.map((timer) => [timer.kind, timer.referralId, timer.dueAt])).to.deep.equal([['retention', ended.id, RETENTION_ENDS]]);
    expect(logLines.filter((line) => line.includes('retention-catch-up'))).to.have.length(1);

    // Lengthened to 10 years before it came due: the sweep waits for the new end.
    const longer = personDataKeeping(120);
    moveTo(RETENTION_ENDS);
    const sweep = new SupervisionScheduler({ timers: world.timers, referrals: world.referrals, queue: world.queue, outbox: world.outbox, supervision, logger: createLogger('error', () => undefined), retention: longer });
    await sweep.runOnce();
    expect((await world.referrals.get(ended.id))!.referral.person).to.not.equal(undefined);
    expect((await pendingTimers(tables, world.names.timers)).map((timer) => timer.dueAt)).to.deep.equal(['2036-11-24T10:00:00.000Z']);
  });
});
