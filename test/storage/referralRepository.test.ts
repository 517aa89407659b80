import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { testTables, uniqueTableName } from '../support/azurite';
import type { RunningAzurite } from '../../storage/azurite';
import { TableConnection } from '../../storage/tables';
import { InvalidReferralError, ReferralConflictError, ReferralRepository } from '../../storage/referralRepository';
import { referralStorage } from '../../storage/referralStorage';
import type { ServiceQueueRepository } from '../../storage/serviceQueueRepository';
import type { ReferenceCounter } from '../../storage/referenceCounter';
import type { AuditEvent, Referral } from '../../domain/referral/referral';
import { FIXTURE_TIME, sampleReferral } from '../support/fixtures';

const actor = { id: '29:r', name: 'Amira Patel' };
const submitted = (referral: Referral, at = FIXTURE_TIME): AuditEvent => ({
  referralId: referral.id, at, actor, action: 'referral.submitted', detail: { serviceId: referral.serviceId },
});

/** Every string the sample person is identified by; none may be stored outside their record. */
function personStrings(referral: Referral): string[] {
  const person = referral.person!;
  return [person.givenName, person.familyName, person.dateOfBirth, person.nhsNumber!, person.postcode, person.phone, referral.whatMatters];
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('ReferralRepository (referral records on Azurite)', () => {
  let azurite: RunningAzurite;
  let tables: TableConnection;
  let prefix: string;
  let repository: ReferralRepository;
  let serviceQueue: ServiceQueueRepository;
  let counter: ReferenceCounter;

  /** Every entity of one of the repository's tables, as stored. */
  async function rawEntities(table: string): Promise<Array<Record<string, unknown>>> {
    const client = await tables.table(`${prefix}${table}`);
    const found: Array<Record<string, unknown>> = [];
    for await (const entity of client.listEntities()) found.push(entity);
    return found;
  }

  before(async () => ({ azurite, tables } = await testTables()));
  after(async () => azurite?.stop());
  beforeEach(() => {
    prefix = uniqueTableName('rr');
    ({ referrals: repository, queue: serviceQueue, references: counter } = referralStorage(tables, { tablePrefix: prefix }));
  });

  describe('references', () => {
    it('allocates consecutive references per year, starting at 000001', async () => {
      const now = new Date('2026-06-01T09:00:00Z');
      expect(await counter.next(now)).to.equal('SP-2026-000001');
      expect(await counter.next(now)).to.equal('SP-2026-000002');
      expect(await counter.next(new Date('2027-01-01T00:00:00Z'))).to.equal('SP-2027-000001');
      expect(await counter.next(new Date('2026-12-31T23:59:59Z'))).to.equal('SP-2026-000003');
    });

    it('never gives two of 20 concurrent callers on two bot instances the same number', async () => {
      // Two repositories over two connections: as two bot instances sharing one storage account.
      const other = referralStorage(new TableConnection(tables.connectionString), { tablePrefix: prefix }).references;
      const now = new Date(FIXTURE_TIME);
      const references = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? other : counter).next(now)));
      expect(new Set(references).size).to.equal(20);
      expect([...references].sort()).to.deep.equal(Array.from({ length: 20 }, (_, i) => `SP-2026-${String(i + 1).padStart(6, '0')}`));
    });
  });

  describe('a referral\'s reference', () => {
    /** The rows that say which referral each issued reference belongs to. */
    async function issuedTo(referralId: string): Promise<string[]> {
      const found: string[] = [];
      const counters = await tables.table(`${prefix}counters`);
      for await (const row of counters.listEntities<{ referralId?: string }>()) {
        if (row.rowKey?.startsWith('issued|') && row.referralId === referralId) found.push(row.rowKey.slice('issued|'.length));
      }
      return found;
    }

    it('is allocated once per referral, however often and however concurrently Send asks', async () => {
      const now = new Date(FIXTURE_TIME);
      const id = randomUUID();
      const other = referralStorage(new TableConnection(tables.connectionString), { tablePrefix: prefix }).references;
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? other : counter).forReferral(id, now)));
      expect(new Set(answers).size).to.equal(1);
      expect(await counter.forReferral(id, now)).to.equal(answers[0]);
      // One reference is recorded for the referral; the next referral gets another.
      expect(await issuedTo(id)).to.deep.equal([answers[0]]);
      expect(await counter.forReferral(randomUUID(), now)).not.to.equal(answers[0]);
    });

    it('is never issued twice, even when storage loses the counter\'s last update @safety', async () => {
      const now = new Date(FIXTURE_TIME);
      const first = await counter.forReferral(randomUUID(), now);
      const second = await counter.forReferral(randomUUID(), now);
      // A crash of the embedded store loses the counter's updates but not the issued rows; the
      // restarted bot (a new counter) starts from the counter as storage has it.
      const counters = await tables.table(`${prefix}counters`);
      await counters.upsertEntity({ partitionKey: 'reference', rowKey: '2026', last: 0 }, 'Replace');
      const restarted = referralStorage(new TableConnection(tables.connectionString), { tablePrefix: prefix }).references;
      const third = await restarted.forReferral(randomUUID(), now);
      expect([first, second]).to.deep.equal(['SP-2026-000001', 'SP-2026-000002']);
      expect(third).to.equal('SP-2026-000003');
    });

    it('stays unique for 2 instances x 50 concurrent senders, reserving numbers in blocks rather than one row per Send @safety', async () => {
      const now = new Date(FIXTURE_TIME);
      const instances = [0, 1].map(() => referralStorage(new TableConnection(tables.connectionString), { tablePrefix: prefix }).references);
      const references = await Promise.all(Array.from({ length: 100 }, (_, i) => instances[i % 2].forReferral(randomUUID(), now)));
      expect(new Set(references).size).to.equal(100);
      for (const reference of references) expect(reference).to.match(/^SP-2026-\d{6}$/);
      // Ten numbers a block: the counter moved about ten times, not a hundred.
      const counters = await tables.table(`${prefix}counters`);
      expect((await counters.getEntity<{ last: number }>('reference', '2026')).last).to.be.within(100, 120);
    });
  });

  describe('submit', () => {
    it('stores the record, its audit event and its place in the service queue', async () => {
      const referral = sampleReferral({ reference: 'SP-2026-000042' });
      const returned = await repository.submit(referral, submitted(referral));
      expect(returned).to.deep.equal(referral);

      const stored = await repository.get(referral.id);
      expect(stored?.referral).to.deep.equal(referral);
      expect(stored?.etag).to.be.a('string').and.not.equal('*');
      expect((await repository.getByReference('SP-2026-000042'))?.referral.id).to.equal(referral.id);
      expect(await repository.audit(referral.id)).to.deep.equal([submitted(referral)]);
      expect(await serviceQueue.list('sail')).to.deep.equal([
        { serviceId: 'sail', reference: 'SP-2026-000042', referralId: referral.id, status: 'submitted', queuedAt: FIXTURE_TIME },
      ]);
      expect(await serviceQueue.list('another-service')).to.deep.equal([]);
    });

    it('finds nothing for ids and references never stored', async () => {
      await repository.submit(sampleReferral(), submitted(sampleReferral()));
      expect(await repository.get(randomUUID())).to.equal(undefined);
      expect(await repository.getByReference('SP-2026-999999')).to.equal(undefined);
      expect(await repository.audit(randomUUID())).to.deep.equal([]);
    });

    it('is idempotent by referral id: concurrent and repeated submits store one of each @safety', async () => {
      const referral = sampleReferral();
      await Promise.all(Array.from({ length: 4 }, () => repository.submit(referral, submitted(referral))));
      // A retry carrying a changed body does not overwrite what was stored first.
      const retried = await repository.submit({ ...referral, whatMatters: 'Something else' }, submitted(referral, '2026-11-24T12:30:00.000Z'));
      expect(retried.whatMatters).to.equal(referral.whatMatters);
      expect(await repository.audit(referral.id)).to.have.length(1);
      expect(await serviceQueue.list('sail')).to.have.length(1);
      expect((await rawEntities('referrals')).filter((entity) => entity.kind === 'referral')).to.have.length(1);
    });

    it('recovers from a crash between the record and the queue when the submit is retried', async () => {
      const referral = sampleReferral();
      await repository.submit(referral, submitted(referral));
      const queue = await tables.table(`${prefix}servicequeue`);
      await queue.deleteEntity('sail', referral.reference); // as if the process died before the queue write
      expect(await serviceQueue.list('sail')).to.deep.equal([]);

      await repository.submit(referral, submitted(referral));
      expect((await serviceQueue.list('sail')).map((entry) => entry.referralId)).to.deep.equal([referral.id]);
      expect(await repository.audit(referral.id)).to.have.length(1);
    });

    it('keeps a record with twenty escalations and their longest notes and advice (well past one property)', async () => {
      const referral = sampleReferral();
      await repository.submit(referral, submitted(referral));
      const by = { id: '29:kwame', name: 'Kwame Mensah' };
      const escalations = Array.from({ length: 20 }, (_, index) => ({
        id: randomUUID(),
        reason: 'clinical-advice' as const,
        note: `${index} ${'é'.repeat(999 - String(index).length)}`,
        raisedBy: by,
        raisedAt: FIXTURE_TIME,
        resolution: { kind: 'advice-given' as const, by, at: FIXTURE_TIME, note: 'n'.repeat(1000) },
      }));
      const stored = (await repository.get(referral.id))!;
      await repository.update({ ...stored.referral, escalations, version: 2 }, stored.etag, { referralId: referral.id, at: FIXTURE_TIME, actor: by, action: 'referral.escalate', detail: {} });
      const read = (await repository.get(referral.id))!.referral;
      expect(read.escalations).to.deep.equal(escalations);
    });

    it('refuses a record too large for one entity with a clear error, and stores nothing', async () => {
      const referral = sampleReferral({ facts: { notes: 'x'.repeat(400_000) } });
      const error = await caught(repository.submit(referral, submitted(referral)));
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).message).to.match(/too large/).and.contain(referral.reference);
      expect((error as Error).message).not.to.contain(referral.person.familyName);
      expect(await repository.get(referral.id)).to.equal(undefined);
      expect(await serviceQueue.list('sail')).to.deep.equal([]);
    });

    it('refuses an invalid record, naming the bad field, and stores nothing', async () => {
      const referral = sampleReferral({ person: { ...sampleReferral().person, nhsNumber: '9434765918' } });
      const error = await caught(repository.submit(referral, submitted(referral)));
      expect(String(error)).to.contain('nhsNumber');
      expect(error).to.be.instanceOf(InvalidReferralError);
      expect(String(error)).not.to.contain('9434765918'); // the field is named, its value (the person's) never
      expect(await repository.get(referral.id)).to.equal(undefined);
      expect(await serviceQueue.list('sail')).to.deep.equal([]);
    });
  });

  describe('lists', () => {
    it("lists a referrer's referrals newest first, and only theirs", async () => {
      const older = sampleReferral({ reference: 'SP-2026-000001', createdAt: '2026-11-20T09:00:00.000Z' });
      const newer = sampleReferral({ reference: 'SP-2026-000002', createdAt: '2026-11-23T09:00:00.000Z' });
      const someoneElses = sampleReferral({
        reference: 'SP-2026-000003',
        referrer: { ...sampleReferral().referrer, teamsUserId: '29:other', name: 'Tom Okafor' },
      });
      for (const referral of [older, someoneElses, newer]) await repository.submit(referral, submitted(referral));
      expect((await repository.listForReferrer('29:r')).map((r) => r.reference)).to.deep.equal(['SP-2026-000002', 'SP-2026-000001']);
      expect((await repository.listForReferrer('29:other')).map((r) => r.id)).to.deep.equal([someoneElses.id]);
      expect(await repository.listForReferrer('29:nobody')).to.deep.equal([]);
    });

    it("queues each referral on its own service's queue in reference order", async () => {
      const a = sampleReferral({ reference: 'SP-2026-000007', serviceId: 'sail' });
      const b = sampleReferral({ reference: 'SP-2026-000005', serviceId: 'sail' });
      const c = sampleReferral({ reference: 'SP-2026-000006', serviceId: 'champs' });
      for (const referral of [a, b, c]) await repository.submit(referral, submitted(referral));
      expect((await serviceQueue.list('sail')).map((entry) => entry.reference)).to.deep.equal(['SP-2026-000005', 'SP-2026-000007']);
      expect((await serviceQueue.list('champs')).map((entry) => entry.referralId)).to.deep.equal([c.id]);
    });
  });

  describe('update', () => {
    it('replaces the record with the current eTag, audits it, and refuses the stale eTag with a typed error @safety', async () => {
      const referral = sampleReferral();
      await repository.submit(referral, submitted(referral));
      const { etag } = (await repository.get(referral.id))!;
      const accept: AuditEvent = { referralId: referral.id, at: '2026-11-24T12:05:00.000Z', actor, action: 'referral.accept', detail: {} };
      const saved = await repository.update({ ...referral, status: 'accepted', version: 2 }, etag, accept);
      expect(saved.referral.status).to.equal('accepted');
      expect(saved.etag).not.to.equal(etag);
      expect(saved.etag).to.equal((await repository.get(referral.id))!.etag); // the eTag returned is the stored one

      const error = await caught(repository.update({ ...referral, status: 'declined', version: 2 }, etag, { ...accept, action: 'referral.decline' }));
      expect(error).to.be.instanceOf(ReferralConflictError);
      expect((error as Error).message).to.contain(referral.reference);
      expect((await repository.get(referral.id))?.referral.status).to.equal('accepted');
      expect((await repository.audit(referral.id)).map((event) => event.action)).to.deep.equal(['referral.submitted', 'referral.accept']);
    });

    it('lets exactly one of two concurrent updates on the same eTag win @safety', async () => {
      const referral = sampleReferral();
      await repository.submit(referral, submitted(referral));
      const { etag } = (await repository.get(referral.id))!;
      const event = (action: AuditEvent['action']): AuditEvent => ({ referralId: referral.id, at: '2026-11-24T12:05:00.000Z', actor, action, detail: {} });
      const results = await Promise.allSettled([
        repository.update({ ...referral, status: 'accepted', version: 2 }, etag, event('referral.accept')),
        repository.update({ ...referral, status: 'declined', version: 2 }, etag, event('referral.decline')),
      ]);
      const rejected = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
      expect(rejected).to.have.length(1);
      expect(rejected[0].reason).to.be.instanceOf(ReferralConflictError);
      const winner = results[0].status === 'fulfilled' ? 'accepted' : 'declined';
      expect((await repository.get(referral.id))?.referral.status).to.equal(winner);
      expect(await repository.audit(referral.id)).to.have.length(2);
    });

    it('refuses to update a referral that was never stored', async () => {
      const referral = sampleReferral();
      const event: AuditEvent = { referralId: referral.id, at: FIXTURE_TIME, actor, action: 'referral.accept', detail: {} };
      expect(await caught(repository.update(referral, '*', event))).to.be.instanceOf(ReferralConflictError);
      expect(await repository.get(referral.id)).to.equal(undefined);
    });
  });

  describe('audit trail', () => {
    it('returns events in time order, whatever order they were written in', async () => {
      const referral = sampleReferral();
      await repository.submit(referral, submitted(referral, '2026-11-24T12:00:00.000Z'));
      const view = (at: string): AuditEvent & { referralId: string } => ({
        referralId: referral.id, at, actor, action: 'referral.contact-details-shown', detail: {},
      });
      await repository.appendEvent(view('2026-11-24T15:00:00.000Z'));
      await repository.appendEvent(view('2026-11-24T13:00:00.000Z'));
      await repository.appendEvent(view('2026-11-24T13:00:00.000Z')); // same instant: both kept
      expect((await repository.audit(referral.id)).map((event) => event.at)).to.deep.equal([
        '2026-11-24T12:00:00.000Z', '2026-11-24T13:00:00.000Z', '2026-11-24T13:00:00.000Z', '2026-11-24T15:00:00.000Z',
      ]);
    });

    it('records a safety stop or refused consent with only the referrer, the time and the fact @safety', async () => {
      const person = sampleReferral();
      const at = '2026-11-24T12:00:00.000Z';
      await repository.recordEvent({ referralId: null, at, actor, action: 'referral.stopped-for-safety', detail: {} });
      const later = '2026-11-24T12:01:00.000Z';
      await repository.recordEvent({ referralId: null, at: later, actor, action: 'referral.consent-not-given', detail: { declined: 'sharing' } });
      expect(await repository.eventsWithoutReferral(new Date(at))).to.deep.equal([
        { referralId: null, at, actor, action: 'referral.stopped-for-safety', detail: {} },
        { referralId: null, at: later, actor, action: 'referral.consent-not-given', detail: { declined: 'sharing' } },
      ]);
      expect(await repository.eventsWithoutReferral(new Date('2026-10-15T00:00:00Z'))).to.deep.equal([]);

      // Person details slipped into an event are refused, and nothing of them is stored.
      const leaks: Array<Record<string, string>> = [{ nhsNumber: person.person.nhsNumber! }, { note: person.person.postcode }, { givenName: 'Jane' }];
      for (const detail of leaks) {
        expect(await caught(repository.recordEvent({ referralId: null, at, actor, action: 'referral.stopped-for-safety', detail })), JSON.stringify(detail)).to.be.instanceOf(Error);
      }
      const everything = JSON.stringify([...(await rawEntities('referrals')), ...(await rawEntities('servicequeue'))]);
      for (const value of personStrings(person)) expect(everything).not.to.contain(value);
      expect((await rawEntities('referrals')).every((entity) => entity.kind === 'audit')).to.equal(true);
      expect(await rawEntities('referrals')).to.have.length(2);
    });

    it('keeps the person out of the queue entry and out of every audit event of a submitted referral @safety', async () => {
      const referral = sampleReferral();
      await repository.submit(referral, submitted(referral));
      const outside = JSON.stringify([
        ...(await rawEntities('servicequeue')),
        ...(await rawEntities('referrals')).filter((entity) => entity.kind !== 'referral'),
      ]);
      for (const value of personStrings(referral)) expect(outside).not.to.contain(value);
      // ...while the record itself holds them (so this check would see them if they leaked).
      const record = JSON.stringify((await rawEntities('referrals')).filter((entity) => entity.kind === 'referral'));
      for (const value of personStrings(referral)) expect(record).to.contain(value);
    });
  });
});
