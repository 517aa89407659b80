import { expect } from 'chai';
import sinon from 'sinon';
import { randomUUID } from 'node:crypto';
import { SupervisionScheduler } from '../../bot/supervision/supervisionScheduler';
import { Supervision, StaffPayload } from '../../bot/supervision/supervision';
import { createLogger } from '../../bot/app/log';
import type { Referral } from '../../domain/referral/referral';
import { escalationTimer, DEFAULT_SUPERVISION } from '../../domain/supervision/policy';
import type { Escalation } from '../../domain/supervision/escalation';
import type { OutboxEntry } from '../../storage/outboxRepository';
import type { RunningAzurite } from '../../storage/azurite';
import type { TableConnection } from '../../storage/tables';
import { testTables } from '../support/azurite';
import { createWorld, pendingTimers, ReferralWorld, supervisionFor } from '../support/referralHarness';
import { sampleReferral } from '../support/fixtures';

/**
 * The supervision clocks end to end on Azurite: timers stored by due time, swept by
 * schedulers (several, as with several bot instances), queued in the outbox. The clock is
 * sinon's (Date only, so Azurite's I/O runs normally), moved to each moment that matters.
 */

const KWAME = { id: '29:kwame', name: 'Kwame Mensah', email: 'kwame.mensah@ageuk-ls.example' };
const HELEN = { email: 'helen.price@ageuk-ls.example', name: 'Helen Price', teamsUserId: '29:helen' };
const SAM = { email: 'sam.okafor@practice.example', name: 'Dr Sam Okafor' };
const ADMIN = 'signpost-admin@southwark.example';
const MONDAY_10 = '2026-11-23T10:00:00.000Z';
const FAR_FUTURE = new Date('2030-01-01T00:00:00Z');

describe('Supervision scheduler (timers on Azurite, sinon clock)', () => {
  let azurite: RunningAzurite;
  let tables: TableConnection;
  let world: ReferralWorld;
  let supervision: Supervision;
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
    supervision = supervisionFor(world, { admins: [ADMIN], now: () => new Date() });
    await world.channels.link({
      serviceId: 'sail',
      channelId: '19:sail@thread.tacv2',
      teamId: '19:team@thread.tacv2',
      conversation: { serviceUrl: 'http://127.0.0.1:1/', channelId: 'msteams', conversation: { id: '19:sail@thread.tacv2' } },
      linkedBy: { id: KWAME.id },
      linkedAt: MONDAY_10,
    });
    const addedBy = { id: KWAME.id };
    await world.supervisors.save({ serviceId: 'sail', ...HELEN, role: 'host-organisation', addedBy, addedAt: MONDAY_10 });
    await world.supervisors.save({ serviceId: 'sail', ...SAM, role: 'clinical', addedBy, addedAt: MONDAY_10 });
  });
  afterEach(() => clock.restore());

  const scheduler = () =>
    new SupervisionScheduler({ timers: world.timers, referrals: world.referrals, queue: world.queue, outbox: world.outbox, supervision, logger: createLogger('debug', (line) => logLines.push(line)) });
  const moveTo = (iso: string) => clock.setSystemTime(new Date(iso));

  async function store(overrides: Partial<Referral> = {}): Promise<Referral> {
    const referral = sampleReferral({ id: randomUUID(), createdAt: MONDAY_10, updatedAt: MONDAY_10, routedAt: MONDAY_10, ...overrides });
    await supervision.prepare(referral);
    await world.referrals.submit(referral, { referralId: referral.id, at: MONDAY_10, actor: { id: '29:r' }, action: 'referral.submitted', detail: {} });
    return referral;
  }

  async function change(referral: Referral, fields: Partial<Referral>): Promise<Referral> {
    const stored = (await world.referrals.get(referral.id))!;
    const next = { ...stored.referral, ...fields, version: stored.referral.version + 1 };
    await supervision.prepare(next);
    await world.referrals.update(next, stored.etag, { referralId: next.id, at: new Date().toISOString(), actor: KWAME, action: 'referral.accept', detail: {} });
    return next;
  }

  async function queued(): Promise<Array<OutboxEntry & { payload: StaffPayload }>> {
    return (await world.outbox.due(FAR_FUTURE, 500)) as Array<OutboxEntry & { payload: StaffPayload }>;
  }
  const who = (entries: Array<{ payload: StaffPayload; channel: string }>) =>
    entries
      .map(({ payload, channel }) => `${payload.recipient.channel ? 'channel' : (payload.recipient.email ?? payload.recipient.teamsUserId)}:${channel}`)
      .sort();

  it('reads only the timers that are due, however many are not', async () => {
    for (let index = 0; index < 30; index += 1) await store({ reference: `SP-2026-${String(100 + index).padStart(6, '0')}` });
    const beforeDue = await world.timers.due(new Date('2026-11-25T09:59:00Z'));
    expect(beforeDue).to.deep.equal({ timers: [], rowsRead: 0 });
    const due = await world.timers.due(new Date('2026-11-25T10:00:00Z'));
    expect(due.rowsRead).to.equal(30);
    expect(due.timers.every((timer) => timer.kind === 'not-accepted-reminder')).to.equal(true);
  });

  it('reminds the channel after 2 working days, then alerts every supervisor after 5, once each @safety', async () => {
    const referral = await store();
    moveTo('2026-11-24T10:00:00Z');
    expect((await scheduler().runOnce()).fired).to.equal(0);
    moveTo('2026-11-25T10:00:00Z');
    expect(await scheduler().runOnce()).to.deep.include({ fired: 1, queued: 1 });
    expect(who(await queued())).to.deep.equal(['channel:teams']);
    const [reminder] = await queued();
    expect(reminder.payload.message.title).to.equal('Waiting to be accepted: SP-2026-000001');
    expect(JSON.stringify(reminder.payload)).not.to.contain('Jane');

    moveTo('2026-11-30T10:00:00Z');
    expect(await scheduler().runOnce()).to.deep.include({ fired: 1, queued: 3 });
    expect(who(await queued())).to.deep.equal(['channel:teams', `${HELEN.email}:email`, `${HELEN.email}:teams`, `${SAM.email}:email`]);
    expect((await world.referrals.audit(referral.id)).map((event) => event.action)).to.deep.equal(['referral.submitted', 'reminder.sent', 'reminder.sent']);
    expect((await scheduler().runOnce()).fired).to.equal(0);
  });

  it('sends nothing once the referral is accepted, and starts the first-contact clock for the owner @safety', async () => {
    const referral = await store();
    moveTo('2026-11-24T11:00:00Z');
    await change(referral, { status: 'accepted', owner: KWAME, acceptedAt: '2026-11-24T11:00:00.000Z' });
    moveTo('2026-11-30T10:00:00Z');
    expect(await scheduler().runOnce()).to.deep.include({ fired: 2, queued: 0 });
    moveTo('2026-12-01T11:00:00Z');
    expect(await scheduler().runOnce()).to.deep.include({ fired: 1, queued: 2 });
    const entries = await queued();
    expect(who(entries)).to.deep.equal([`${KWAME.email}:email`, `${KWAME.email}:teams`]);
    expect(entries[0].payload.message.title).to.equal('No first contact recorded: SP-2026-000001');
  });

  it('asks the owner and the supervisors for a review when a case outlasts its engagement @safety', async () => {
    const referral = await store();
    await change(referral, { status: 'contacted', owner: KWAME, acceptedAt: MONDAY_10 });
    moveTo('2027-02-15T10:00:00Z'); // 12 weeks on
    expect(await scheduler().runOnce()).to.deep.include({ fired: 3 });
    const reviews = (await queued()).filter((entry) => entry.payload.message.title.startsWith('Review due'));
    expect(who(reviews)).to.deep.equal([`${HELEN.email}:email`, `${HELEN.email}:teams`, `${KWAME.email}:email`, `${KWAME.email}:teams`, `${SAM.email}:email`]);
  });

  it('waits for working hours: a reminder due on Friday evening goes once, at Monday opening, after a restart @safety', async () => {
    await store({ createdAt: '2026-11-25T16:00:00.000Z', routedAt: '2026-11-25T16:00:00.000Z' }); // Wednesday 16:00: due Friday 16:00
    moveTo('2026-11-27T15:59:00Z');
    expect((await scheduler().runOnce()).fired).to.equal(0);
    // Signpost is down from Friday afternoon; it comes back on Saturday.
    moveTo('2026-11-28T10:00:00Z');
    expect(await scheduler().runOnce()).to.deep.include({ fired: 0, outsideWorkingHours: true });
    moveTo('2026-11-30T08:59:00Z');
    expect((await scheduler().runOnce()).outsideWorkingHours).to.equal(true);
    moveTo('2026-11-30T09:00:00Z');
    const restarted = scheduler();
    expect(await restarted.runOnce()).to.deep.include({ fired: 1, queued: 1 });
    expect(await restarted.runOnce()).to.deep.include({ fired: 0, queued: 0 });
    expect(who(await queued())).to.deep.equal(['channel:teams']);
  });

  it('counts around Christmas bank holidays: a referral from the Wednesday before is reminded on the Tuesday after, not before @safety', async () => {
    // Wednesday 23 December 16:00: 1 working hour that day, 8 on Christmas Eve, then Christmas
    // Day, the weekend and the substitute Boxing Day off, so the 16th hour ends Tuesday 16:00.
    await store({ createdAt: '2026-12-23T16:00:00.000Z', routedAt: '2026-12-23T16:00:00.000Z' });
    moveTo('2026-12-24T16:59:00Z');
    expect((await scheduler().runOnce()).fired).to.equal(0);
    moveTo('2026-12-28T10:00:00Z'); // the substitute bank holiday for Boxing Day
    expect(await scheduler().runOnce()).to.deep.include({ fired: 0, outsideWorkingHours: true });
    moveTo('2026-12-29T15:59:00Z');
    expect((await scheduler().runOnce()).fired).to.equal(0);
    moveTo('2026-12-29T16:00:00Z');
    expect(await scheduler().runOnce()).to.deep.include({ fired: 1, queued: 1 });
    expect(who(await queued())).to.deep.equal(['channel:teams']);
  });

  it('lets only one of two schedulers send each reminder when they sweep at the same moment @safety', async () => {
    for (let index = 0; index < 12; index += 1) await store({ reference: `SP-2026-${String(200 + index).padStart(6, '0')}` });
    moveTo('2026-11-25T10:00:00Z');
    const [first, second] = await Promise.all([scheduler().runOnce(), scheduler().runOnce()]);
    expect(first.fired + second.fired).to.equal(12);
    expect(first.queued + second.queued).to.equal(12);
    expect(await queued()).to.have.length(12);
    expect(new Set((await queued()).map((entry) => entry.referralId)).size).to.equal(12);
  });

  it('a scheduler that dies after queueing: the lease runs out, another finishes, and nothing is sent twice @safety', async () => {
    const referral = await store();
    moveTo('2026-11-25T10:00:00Z');
    const dying = scheduler();
    const complete = sinon.stub(world.timers, 'complete').rejects(new Error('process killed'));
    expect(await dying.runOnce()).to.deep.include({ fired: 0, queued: 1 });
    complete.restore();
    expect((await scheduler().runOnce()).fired).to.equal(0); // still leased to the dead one
    moveTo('2026-11-25T10:03:00Z'); // the 2-minute lease is over
    expect(await scheduler().runOnce()).to.deep.include({ fired: 1, queued: 0 });
    expect(who(await queued())).to.deep.equal(['channel:teams']);
    expect((await world.referrals.audit(referral.id)).filter((event) => event.action === 'reminder.sent')).to.have.length(1);
  });

  describe('escalation re-alerts', () => {
    async function escalated(acknowledged = false): Promise<{ referral: Referral; escalation: Escalation }> {
      const referral = await store();
      const escalation: Escalation = {
        id: randomUUID(),
        reason: 'clinical-advice',
        note: 'Struggling with new medication',
        raisedBy: KWAME,
        raisedAt: '2026-11-24T10:00:00.000Z',
        ...(acknowledged ? { acknowledged: { by: { id: '29:sam', name: SAM.name }, at: '2026-11-24T11:00:00.000Z' } } : {}),
      };
      const next = await change(referral, { status: 'accepted', owner: KWAME, acceptedAt: MONDAY_10, escalations: [escalation] });
      await world.timers.schedule([escalationTimer(next, escalation, 1, new Date(escalation.raisedAt), DEFAULT_SUPERVISION, supervision.calendar)]);
      return { referral: next, escalation };
    }
    const alerts = async () => (await queued()).filter((entry) => entry.payload.message.escalation);

    it('re-sends to every supervisor after 4 working hours, then to the admins after 4 more @safety', async () => {
      const { escalation } = await escalated();
      moveTo('2026-11-24T13:59:00Z');
      expect((await scheduler().runOnce()).fired).to.equal(0);
      moveTo('2026-11-24T14:00:00Z');
      expect(await scheduler().runOnce()).to.deep.include({ fired: 1, queued: 3 });
      expect(who(await alerts())).to.deep.equal([`${HELEN.email}:email`, `${HELEN.email}:teams`, `${SAM.email}:email`]);
      const [alert] = await alerts();
      expect(alert.payload.message.title).to.equal('Not yet acknowledged: Clinical advice needed: SP-2026-000001');
      expect(alert.payload.message.escalation!.escalationId).to.equal(escalation.id);

      moveTo('2026-11-25T10:00:00Z'); // 14:00-17:00 Tuesday and 09:00-10:00 Wednesday
      expect(await scheduler().runOnce()).to.deep.include({ queued: 1 });
      expect(who(await alerts())).to.include(`${ADMIN}:email`);
      moveTo('2026-11-26T10:00:00Z');
      expect((await pendingTimers(world.tables, world.names.timers, (timer) => timer.kind === 'escalation-realert'))).to.deep.equal([]);
    });

    it('stop as soon as a supervisor has acknowledged', async () => {
      await escalated(true);
      moveTo('2026-11-24T14:00:00Z');
      expect(await scheduler().runOnce()).to.deep.include({ fired: 1, queued: 0 });
      expect(await alerts()).to.deep.equal([]);
    });
  });

  it('sends each link worker and the supervisors a caseload digest every 14 days while the channel is linked', async () => {
    await supervision.scheduleDigest('sail');
    const first = await store({ reference: 'SP-2026-000301' });
    await change(first, { status: 'contacted', owner: KWAME, acceptedAt: MONDAY_10 });
    await store({ reference: 'SP-2026-000302' });
    moveTo('2026-11-30T09:00:00Z');
    await scheduler().runOnce();
    const digests = (await queued()).filter((entry) => entry.payload.message.kind === 'caseload-digest');
    expect(who(digests)).to.deep.equal([`${HELEN.email}:email`, `${HELEN.email}:teams`, `${KWAME.email}:email`, `${KWAME.email}:teams`, `${SAM.email}:email`]);
    const service = digests.find((entry) => (entry.payload.recipient as { email?: string }).email === HELEN.email)!.payload.message;
    expect(service.title).to.match(/\(SAIL\) .*caseload: 2 open cases$/);
    expect(service.sections!.map((section) => section.title)).to.deep.equal(['Link workers', 'Needs attention']);
    const next = await pendingTimers(world.tables, world.names.timers, (timer) => timer.kind === 'caseload-digest');
    expect(next.map((timer) => timer.dueAt)).to.deep.equal(['2026-12-14T09:00:00.000Z']);

    await world.channels.unlink('19:sail@thread.tacv2');
    moveTo('2026-12-14T09:00:00Z');
    await scheduler().runOnce();
    expect((await queued()).filter((entry) => entry.payload.message.kind === 'caseload-digest')).to.have.length(digests.length);
    expect(await pendingTimers(world.tables, world.names.timers, (timer) => timer.kind === 'caseload-digest')).to.deep.equal([]);
  });

  it('alerts the admins when a service has no supervisors, rather than nobody @safety', async () => {
    await world.supervisors.remove('sail', HELEN.email);
    await world.supervisors.remove('sail', SAM.email);
    await store();
    moveTo('2026-11-30T10:00:00Z');
    await scheduler().runOnce();
    expect(who(await queued())).to.deep.equal(['channel:teams', `${ADMIN}:email`]);
  });
});
