import { expect } from 'chai';
import sinon from 'sinon';
import { testTables, uniqueTableName } from '../support/azurite';
import type { RunningAzurite } from '../../storage/azurite';
import { TableConnection } from '../../storage/tables';
import { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import { ReferralConflictError, ReferralRepository } from '../../storage/referralRepository';
import { referralStorage, ReferralStorage } from '../../storage/referralStorage';
import { DirectoryRepository } from '../../storage/directoryRepository';
import { ReferrerRepository } from '../../storage/referrerRepository';
import { EmailIntakeRepository } from '../../storage/emailIntakeRepository';
import { southwarkDirectory } from '../../domain/directory/southwark';
import type { AuditEvent, Referral } from '../../domain/referral/referral';
import { sampleReferral } from '../support/fixtures';

const at = '2026-11-24T12:00:00.000Z';


const submitted = (referral: Referral): AuditEvent => ({
  referralId: referral.id, at, actor: { id: '29:r', name: 'Amira Patel' }, action: 'referral.submitted', detail: { serviceId: 'sail' },
});

describe('Repositories on Azurite', () => {
  let azurite: RunningAzurite;
  let tables: TableConnection;
  before(async () => ({ azurite, tables } = await testTables()));
  after(async () => azurite?.stop());

  describe('ReferralRepository', () => {
    let repository: ReferralRepository;
    let storage: ReferralStorage;
    beforeEach(() => {
      storage = referralStorage(tables, { tablePrefix: uniqueTableName('r') });
      repository = storage.referrals;
    });

    it('hands out distinct consecutive references to 20 concurrent callers', async () => {
      const now = new Date(at);
      const references = await Promise.all(Array.from({ length: 20 }, () => storage.references.next(now)));
      expect(new Set(references).size).to.equal(20);
      expect([...references].sort()).to.deep.equal(Array.from({ length: 20 }, (_, i) => `SP-2026-${String(i + 1).padStart(6, '0')}`));
      expect(await storage.references.next(new Date('2027-01-01T00:00:00Z'))).to.equal('SP-2027-000001');
    });

    it('stores a referral with its audit event and queues it for its service', async () => {
      const referral = sampleReferral();
      await repository.submit(referral, submitted(referral));
      const stored = await repository.get(referral.id);
      expect(stored?.referral).to.deep.equal(referral);
      expect(stored?.etag).to.be.a('string');
      expect((await repository.getByReference('SP-2026-000001'))?.referral.id).to.equal(referral.id);
      expect(await repository.audit(referral.id)).to.have.length(1);
      expect(await storage.queue.list('sail')).to.deep.equal([
        { serviceId: 'sail', reference: 'SP-2026-000001', referralId: referral.id, status: 'submitted', queuedAt: at },
      ]);
    });

    it('makes submitting the same referral again a no-op', async () => {
      const referral = sampleReferral();
      await repository.submit(referral, submitted(referral));
      await Promise.all([repository.submit(referral, submitted(referral)), repository.submit(referral, submitted(referral))]);
      expect(await repository.audit(referral.id)).to.have.length(1);
      expect(await storage.queue.list('sail')).to.have.length(1);
    });

    it('refuses a stale update and keeps the audit trail consistent', async () => {
      const referral = sampleReferral();
      await repository.submit(referral, submitted(referral));
      const { etag } = (await repository.get(referral.id))!;
      const event: AuditEvent = { ...submitted(referral), at: '2026-11-24T12:05:00.000Z' };
      await repository.update({ ...referral, status: 'accepted' }, etag, event);
      let error: unknown;
      try {
        await repository.update({ ...referral, status: 'declined' }, etag, event);
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(ReferralConflictError);
      expect((await repository.get(referral.id))?.referral.status).to.equal('accepted');
      expect(await repository.audit(referral.id)).to.have.length(2);
    });

    it('queues the messages of every change with each change, but not with a write that keeps the version', async () => {
      repository.queueWithEveryChange((changed, event) => [{ key: `${changed.id}:${changed.version}:count:${event.action}`, channel: 'signpost', payload: { kind: 'count' } }]);
      const referral = sampleReferral();
      await repository.submit(referral, submitted(referral));
      const stored = (await repository.get(referral.id))!;
      const accepted = await repository.update({ ...stored.referral, version: 2, status: 'accepted' }, stored.etag, { ...submitted(referral), action: 'referral.accept' });
      await repository.update({ ...accepted.referral, updatedAt: at }, accepted.etag, { ...submitted(referral), action: 'referral.posted-to-channel' }, [], { keepsVersion: true });
      const queued = (await storage.outbox.due(new Date('2030-01-01T00:00:00Z'))).map((entry) => entry.key);
      expect(queued).to.deep.equal([`${referral.id}:1:count:referral.submitted`, `${referral.id}:2:count:referral.accept`]);
    });

    it('rejects an invalid record without storing anything', async () => {
      const referral = sampleReferral({ reference: 'not-a-reference' });
      let error: unknown;
      try {
        await repository.submit(referral, submitted(referral));
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(Error);
      expect(await repository.get(referral.id)).to.equal(undefined);
    });

    it('records events without a referral, and nothing about a person', async () => {
      await repository.recordEvent({ referralId: null, at, actor: { id: '29:r' }, action: 'referral.stopped-for-safety', detail: {} });
      const events = await repository.eventsWithoutReferral(new Date(at));
      expect(events).to.deep.equal([{ referralId: null, at, actor: { id: '29:r' }, action: 'referral.stopped-for-safety', detail: {} }]);
      let error: unknown;
      try {
        await repository.recordEvent({ referralId: null, at, actor: { id: '29:r' }, action: 'referral.stopped-for-safety', detail: { note: 'x'.repeat(500) } });
      } catch (caught) {
        error = caught;
      }
      expect(error, 'free text longer than a short detail is refused').to.be.instanceOf(Error);
    });
  });

  describe('DirectoryRepository', () => {
    it('seeds once, then re-imports, removing services no longer in the file', async () => {
      let clock = 0;
      const repository = new DirectoryRepository(tables, uniqueTableName('dir'), () => clock);
      const services = southwarkDirectory();
      expect(await repository.seedIfEmpty(services)).to.equal(true);
      expect(await repository.seedIfEmpty(services)).to.equal(false);
      expect((await repository.list()).map((s) => s.id)).to.have.members(services.map((s) => s.id));

      const changed = services.filter((s) => s.id !== 'champs').map((s) => (s.id === 'sail' ? { ...s, waitingTimeWeeks: { value: 2 } } : s));
      const result = await repository.importAll(changed);
      expect(result).to.deep.equal({ imported: 12, removed: ['champs'] });
      clock += 60_000;
      expect(await repository.get('champs')).to.equal(undefined);
      expect((await repository.get('sail'))?.waitingTimeWeeks.value).to.equal(2);
    });

    it('keeps the same list when a re-read finds the directory unchanged, and a new one when it changed', async () => {
      let clock = 0;
      const table = uniqueTableName('dir');
      const repository = new DirectoryRepository(tables, table, () => clock);
      await repository.seedIfEmpty(southwarkDirectory());
      const first = await repository.list();
      clock += 60_000; // past the cache: read again
      expect(await repository.list()).to.equal(first);
      // Another process imports a change.
      const changed = southwarkDirectory().map((s) => (s.id === 'sail' ? { ...s, waitingTimeWeeks: { value: 3 } } : s));
      await new DirectoryRepository(tables, table).importAll(changed);
      clock += 60_000;
      const second = await repository.list();
      expect(second).not.to.equal(first);
      expect(second.find((s) => s.id === 'sail')?.waitingTimeWeeks.value).to.equal(3);
    });
  });

  describe('ReferrerRepository', () => {
    it('remembers a referrer by Teams id', async () => {
      const repository = new ReferrerRepository(tables, uniqueTableName('referrers'));
      expect(await repository.get('29:nobody')).to.equal(undefined);
      await repository.save({ teamsUserId: '29:a/b#c', name: 'Amira', email: 'a@p.example', practice: 'Lordship Lane', updatedAt: at });
      expect((await repository.get('29:a/b#c'))?.practice).to.equal('Lordship Lane');
    });

    it("reuses a profile for 30 seconds: its own writes at once, another instance's within that time", async () => {
      const clock = sinon.useFakeTimers({ now: Date.parse(at), toFake: ['Date'] });
      try {
        const table = uniqueTableName('referrers');
        const [here, elsewhere] = [new ReferrerRepository(tables, table), new ReferrerRepository(tables, table)];
        const profile = { teamsUserId: '29:amira', name: 'Amira', email: 'a@p.example', practice: 'Lordship Lane', updatedAt: at };
        await here.save(profile);
        expect((await here.get('29:amira'))?.notify).to.equal(undefined);
        await elsewhere.save({ ...profile, notify: 'email' });
        expect((await elsewhere.get('29:amira'))?.notify).to.equal('email');
        expect((await here.get('29:amira'))?.notify).to.equal(undefined); // read a moment ago
        clock.tick(30_001);
        expect((await here.get('29:amira'))?.notify).to.equal('email');
      } finally {
        clock.restore();
      }
    });
  });

  describe('EmailIntakeRepository', () => {
    it("answers a burst of reads of a service's inboxes with one read, keeps nothing after it, and sees an inbox added meanwhile", async () => {
      const reads: string[] = [];
      const observed = new TableConnection(tables.connectionString, { observe: (request) => request.method === 'GET' && reads.push(request.url) });
      const intake = new EmailIntakeRepository(observed, uniqueTableName('intake'));
      const address = (email: string) => ({ serviceId: 'sail', email, addedBy: { id: '29:admin', name: 'Admin' }, addedAt: at });
      await intake.add(address('team@sail.example'));
      reads.length = 0;
      const burst = await Promise.all(Array.from({ length: 10 }, () => intake.list('sail')));
      expect(burst.map((found) => found.map((entry) => entry.email))).to.deep.equal(Array.from({ length: 10 }, () => ['team@sail.example']));
      expect(reads).to.have.length(1);
      // Each caller has its own list: one changing it changes nobody else's.
      burst[0].pop();
      expect(burst[1]).to.have.length(1);
      // Nothing kept once answered: the next read asks storage again.
      await intake.list('sail');
      expect(reads).to.have.length(2);
      // A read under way when an inbox is added does not answer those who ask after the add.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const read = sinon.stub(intake as unknown as { read(serviceId: string): Promise<unknown> }, 'read');
      read.onFirstCall().callsFake(async (serviceId: string) => {
        const found = await read.wrappedMethod.call(intake, serviceId);
        await held;
        return found;
      });
      read.callThrough();
      const before = intake.list('sail');
      await intake.add(address('duty@sail.example'));
      const after = await intake.list('sail');
      expect(after.map((entry) => entry.email)).to.deep.equal(['duty@sail.example', 'team@sail.example']);
      release();
      expect((await before).map((entry) => entry.email)).to.deep.equal(['team@sail.example']);
      read.restore();
      expect(await intake.remove('sail', 'duty@sail.example')).to.equal(true);
      expect((await intake.list('sail')).map((entry) => entry.email)).to.deep.equal(['team@sail.example']);
    });
  });

  describe('ServiceChannelRepository', () => {
    it('answers a burst of clicks with one read of a link, kept five seconds, and reads again after a failed read', async () => {
      const table = uniqueTableName('links');
      const reads: string[] = [];
      const observed = new TableConnection(tables.connectionString, { observe: (request) => request.method === 'GET' && reads.push(request.url) });
      const links = new ServiceChannelRepository(observed, table);
      const conversation = { conversation: { id: '19:sail@thread.tacv2' } };
      expect(await links.link({ serviceId: 'sail', channelId: '19:sail@thread.tacv2', teamId: '19:team', conversation, linkedBy: { id: '29:lw' }, linkedAt: at })).to.deep.include({ ok: true });
      const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
      try {
        reads.length = 0;
        const found = await Promise.all(Array.from({ length: 20 }, () => links.forService('sail')));
        expect(found.every((link) => link?.channelId === '19:sail@thread.tacv2')).to.equal(true);
        expect(reads).to.have.length(1);
        expect((await links.forService('sail'))?.teamId).to.equal('19:team');
        expect(reads).to.have.length(1);
        clock.tick(5_001);
        await Promise.all([links.forService('sail'), links.forService('sail')]);
        expect(reads).to.have.length(2);

        // A read that fails is not kept: the next asks again.
        clock.tick(5_001);
        const read = sinon.stub(links as unknown as { read(rowKey: string): Promise<unknown> }, 'read');
        read.onFirstCall().rejects(new Error('storage busy'));
        read.callThrough();
        expect((await Promise.allSettled([links.forService('sail')]))[0].status).to.equal('rejected');
        expect((await links.forService('sail'))?.teamId).to.equal('19:team');
        expect(read.callCount).to.equal(2);
      } finally {
        clock.restore();
      }
    });
  });
});
