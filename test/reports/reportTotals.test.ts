import { expect } from 'chai';
import sinon from 'sinon';
import { randomUUID } from 'node:crypto';
import type { RunningAzurite } from '../../storage/azurite';
import type { TableConnection } from '../../storage/tables';
import { ReferralRepository } from '../../storage/referralRepository';
import { ReportCounterRepository, ReportCountersNeedRebuild } from '../../storage/reportCounterRepository';
import { asciiJson, toChunks } from '../../storage/chunkedJson';
import { isReportCountPayload, ReportCountPayload, reportCountMessage, ReportTotals } from '../../bot/reports/reportTotals';
import { applyTransition, ReferralAction } from '../../domain/referral/actions';
import type { Actor } from '../../domain/referral/lifecycle';
import type { AuditEvent, Referral } from '../../domain/referral/referral';
import { WorkingCalendar } from '../../domain/supervision/workingCalendar';
import { sumRows } from '../../domain/reports/boroughReport';
import { testTables } from '../support/azurite';
import { createWorld, ReferralWorld } from '../support/referralHarness';
import { sampleReferral } from '../support/fixtures';

/**
 * The borough report's running totals against the truth: after many referrals changing at
 * once, changes counted twice, and a change whose counting was lost, the totals equal a
 * rebuild from the referrals themselves.
 */

const WORKER: Actor = { id: '29:kwame', name: 'Kwame Mensah', isLinkWorker: true };
const PRACTICES = ['Lordship Lane Surgery', 'Sternhall Lane Surgery / Peckham'];
const calendar = new WorkingCalendar();

describe('Borough report totals', () => {
  let azurite: RunningAzurite;
  let tables: TableConnection;
  let world: ReferralWorld;
  let totals: ReportTotals;

  before(async () => {
    ({ azurite, tables } = await testTables());
    world = await createWorld(tables);
    totals = new ReportTotals({
      counters: new ReportCounterRepository(tables, { tablePrefix: world.names.referralPrefix }),
      referrals: world.referrals,
      calendar,
    });
    // As createSignpost wires it: every change carries its count, which the dispatcher carries out.
    world.referrals.queueWithEveryChange((referral, event) => [reportCountMessage(referral, event)]);
  });
  after(() => azurite.stop());

  /**
   * What the dispatcher does with the counts the changes queued, concurrently and in any order,
   * in two processes at once (which meet on the totals rows' eTags).
   */
  async function countQueued(): Promise<void> {
    const due = (await world.outbox.due(new Date(Date.now() + 60_000), 10_000)).filter((entry) => isReportCountPayload(entry.payload));
    const otherProcess = new ReportTotals({ counters: new ReportCounterRepository(tables, { tablePrefix: world.names.referralPrefix }), referrals: world.referrals, calendar });
    await Promise.all(due.map(async (entry, index) => [totals, otherProcess][index % 2].countQueued(entry.referralId, entry.payload as unknown as ReportCountPayload)));
  }

  /** A change as the application layer makes it: the domain's next record and its audit event, stored with the eTag. */
  async function change(repository: ReferralRepository, referralId: string, action: ReferralAction, at: string): Promise<{ referral: Referral; event: AuditEvent }> {
    for (;;) {
      const stored = (await repository.get(referralId))!;
      const applied = applyTransition(stored.referral, action, WORKER, at);
      if (!applied.ok || !applied.changed) throw new Error(`the change did not apply: ${JSON.stringify(applied)}`);
      const event: AuditEvent = { referralId, at, actor: { id: WORKER.id, name: WORKER.name }, action: applied.audit.action, detail: { ...applied.audit.detail, via: 'teams' } };
      try {
        return { referral: (await repository.update(applied.next, stored.etag, event)).referral, event };
      } catch (error) {
        if ((error as { code?: string }).code !== 'ReferralConflict') throw error;
      }
    }
  }

  it('equal a rebuild after concurrent changes, repeated counting and a lost count', async () => {
    const made = await Promise.all(
      Array.from({ length: 24 }, async (_, index) => {
        const referral = sampleReferral({
          id: randomUUID(),
          reference: `SP-2026-${String(100 + index).padStart(6, '0')}`,
          createdAt: `2026-0${3 + (index % 3)}-0${2 + (index % 5)}T10:00:00.000Z`,
          updatedAt: '2026-03-02T10:00:00.000Z',
          referrer: { teamsUserId: '29:r', name: 'Amira Patel', email: 'a@practice.example', practice: PRACTICES[index % 2] },
        });
        await world.referrals.submit(referral, { referralId: referral.id, at: referral.createdAt, actor: { id: '29:r' }, action: 'referral.submitted', detail: { serviceId: 'sail', summary: 'Referred' } });
        return referral;
      }),
    );
    const later = (referral: Referral, days: number) => new Date(Date.parse(referral.createdAt) + days * 86_400_000).toISOString();

    // Every referral moves on at the same time as the others: some accepted and worked to a close
    // with scores, some declined, some redirected.
    await Promise.all(
      made.map(async (referral, index) => {
        if (index % 4 === 3) return change(world.referrals, referral.id, { verb: 'decline', reason: index % 8 === 3 ? 'no-capacity' : 'not-eligible' }, later(referral, 1));
        if (index % 4 === 2) return change(world.referrals, referral.id, { verb: 'redirect', toServiceId: 'sail-care-navigation' }, later(referral, 1));
        await change(world.referrals, referral.id, { verb: 'accept' }, later(referral, index % 3));
        await change(world.referrals, referral.id, { verb: 'record-swemwbs', stage: 'baseline', items: [2, 2, 3, 3, 2, 3, 2] }, later(referral, 3));
        await change(world.referrals, referral.id, { verb: 'update', status: 'contacted' }, later(referral, 4));
        await change(world.referrals, referral.id, { verb: 'record-swemwbs', stage: 'closing', items: [4, 3, 4, 4, 3, 4, index % 5] .map((item) => Math.max(1, item)) }, later(referral, 30));
        return change(world.referrals, referral.id, { verb: 'close', reason: 'completed' }, later(referral, 31));
      }),
    );
    // Counting a change again (a retried delivery) adds nothing; nor do two countings at once.
    const first = made[0];
    const current = (await world.referrals.get(first.id))!.referral;
    await Promise.all([totals.record(current), totals.record(current), totals.record(current)]);

    // A change stored by a process that died before counting it: the next change notices the gap.
    const uncounted = new ReferralRepository(tables, world.queue, world.outbox, { tablePrefix: world.names.referralPrefix });
    const redirected = made[2];
    await change(uncounted, redirected.id, { verb: 'accept' }, later(redirected, 2));
    await change(world.referrals, redirected.id, { verb: 'update', status: 'contacted' }, later(redirected, 3));

    await countQueued();
    // The running totals, before any rebuild, already count every referral made.
    const running = [...sumRows(await totals.year(2026)).values()].reduce((sum, row) => sum + row.counters.made, 0);
    expect(running).to.equal(24);
    const { referrals, differing } = await totals.rebuild(2026);
    expect(referrals).to.equal(24);
    // Rows are compared by value; a row the running totals never wrote counts as all zeros.
    expect(differing).to.deep.equal([]);
    const rebuilt = sumRows(await totals.year(2026));
    const made2026 = [...rebuilt.values()].reduce((sum, row) => sum + row.counters.made, 0);
    expect(made2026).to.equal(24);
    const redirects = [...rebuilt.values()].reduce((sum, row) => sum + row.counters.redirected, 0);
    expect(redirects).to.equal(6);
    const accepted = [...rebuilt.values()].filter((row) => row.key.serviceId === 'sail-care-navigation').reduce((sum, row) => sum + row.counters.accepted, 0);
    expect(accepted).to.equal(1); // the one accepted while nobody was counting
  });

  it('counts many changes of one month at once in one process without them conflicting on its totals', async () => {
    const world2 = await createWorld(tables);
    const counters = new ReportCounterRepository(tables, { tablePrefix: world2.names.referralPrefix });
    const counting = new ReportTotals({ counters, referrals: world2.referrals, calendar });
    const made = await Promise.all(
      Array.from({ length: 12 }, async (_, index) => {
        const referral = sampleReferral({ id: randomUUID(), reference: `SP-2026-${String(300 + index).padStart(6, '0')}`, createdAt: '2026-06-02T10:00:00.000Z', updatedAt: '2026-06-02T10:00:00.000Z' });
        const event: AuditEvent = { referralId: referral.id, at: referral.createdAt, actor: { id: '29:r' }, action: 'referral.submitted', detail: { serviceId: 'sail', summary: 'Referred' } };
        return { referral: await world2.referrals.submit(referral, event), event };
      }),
    );
    const applied = sinon.spy(counters, 'apply');
    const totalsRead = sinon.spy(counters, 'totals');
    await Promise.all(made.map(({ referral, event }) => counting.record(referral, event)));
    // One write of the month's totals per change: none tried again after a conflict; and the
    // totals read once, each count starting from what the one before it wrote.
    expect(applied.callCount).to.equal(12);
    expect(totalsRead.callCount).to.equal(1);
    totalsRead.restore();
    expect([...sumRows(await counting.year(2026)).values()].reduce((sum, row) => sum + row.counters.made, 0)).to.equal(12);
    // A count that fails does not hold up the next.
    applied.restore();
    const failing = sinon.stub(counters, 'contribution').onFirstCall().rejects(new Error('storage busy'));
    failing.callThrough();
    const [again, next] = made;
    const results = await Promise.allSettled([counting.record(again.referral, again.event), counting.record(next.referral, next.event)]);
    expect(results.map((result) => result.status)).to.deep.equal(['rejected', 'fulfilled']);
  });

  it("counts a new referral from its submission alone, reading neither the referral nor its trail, and a rebuild agrees", async () => {
    const world3 = await createWorld(tables);
    const counters = new ReportCounterRepository(tables, { tablePrefix: world3.names.referralPrefix });
    const counting = new ReportTotals({ counters, referrals: world3.referrals, calendar });
    world3.referrals.queueWithEveryChange((referral, event) => [reportCountMessage(referral, event)]);
    const submitted = await Promise.all(
      Array.from({ length: 6 }, async (_, index) => {
        const referral = sampleReferral({
          id: randomUUID(),
          reference: `SP-2026-${String(500 + index).padStart(6, '0')}`,
          createdAt: `2026-07-0${2 + index}T10:00:00.000Z`,
          updatedAt: `2026-07-0${2 + index}T10:00:00.000Z`,
          referrer: { teamsUserId: '29:r', name: 'Amira Patel', email: 'a@practice.example', practice: PRACTICES[index % 2] },
        });
        return world3.referrals.submit(referral, { referralId: referral.id, at: referral.createdAt, actor: { id: '29:r' }, action: 'referral.submitted', detail: { serviceId: 'sail', summary: 'Referred' } });
      }),
    );
    const read = sinon.spy(world3.referrals, 'get');
    const trail = sinon.spy(world3.referrals, 'audit');
    // As the dispatcher does it: the queued count, with the referral it has just read.
    const due = (await world3.outbox.due(new Date(Date.now() + 60_000), 100)).filter((entry) => isReportCountPayload(entry.payload));
    expect(due).to.have.length(6);
    await Promise.all(due.map((entry) => counting.countQueued(entry.referralId, entry.payload as unknown as ReportCountPayload, submitted.find((referral) => referral.id === entry.referralId))));
    expect(read.callCount).to.equal(0);
    expect(trail.callCount).to.equal(0);
    read.restore();
    trail.restore();
    // Then one of them is accepted and counted as usual (from the history the first count stored).
    const accepted = await change(world3.referrals, submitted[0].id, { verb: 'accept' }, '2026-07-03T10:00:00.000Z');
    await counting.record(accepted.referral, accepted.event);
    const { referrals, differing } = await counting.rebuild(2026);
    expect(referrals).to.equal(6);
    expect(differing).to.deep.equal([]);
  });

  it('a rebuild finds totals that have drifted from the referrals', async () => {
    const counters = new ReportCounterRepository(tables, { tablePrefix: world.names.referralPrefix });
    const stored = await counters.totals('2026-03');
    const [first, ...rest] = stored.rows;
    const drifted = { rows: [{ key: first.key, counters: { ...first.counters, made: first.counters.made + 1 } }, ...rest], etag: stored.etag };
    await counters.apply('2026-03', { referralId: randomUUID(), version: 1, history: { referralId: 'x', month: '2026-03', practice: first.key.practice, episodes: [] }, rows: [] }, undefined, drifted);
    const { differing } = await totals.rebuild(2026);
    expect(differing).to.have.length(1);
    expect((await totals.rebuild(2026)).differing).to.deep.equal([]);
  });

  it('refuses a year still in the first layout (a partition per year) until a rebuild rewrites it and removes those rows', async () => {
    const counters = new ReportCounterRepository(tables, { tablePrefix: world.names.referralPrefix });
    const upgraded = new ReportTotals({ counters, referrals: world.referrals, calendar });
    const truth = await totals.year(2026);
    const april = truth.filter((row) => row.key.month === '2026-04');
    expect(april).to.not.deep.equal([]);
    // As the first layout left them: the year's partition, a totals row and contribution rows per month.
    const client = await tables.table(`${world.names.referralPrefix}reportcounters`);
    await client.upsertEntity({ partitionKey: '2026', rowKey: 't|2026-04', ...toChunks(asciiJson(april)) }, 'Replace');
    await client.upsertEntity({ partitionKey: '2026', rowKey: `r|2026-04|${randomUUID()}`, body: '{}' }, 'Replace');

    const refusal = await upgraded.year(2026).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).to.be.instanceOf(ReportCountersNeedRebuild);
    expect((refusal as Error).message).to.equal('The 2026 report counters are stored in an earlier layout: run npm run --silent report -- rebuild 2026.');

    // The rebuild compares with what the first layout held, which was right, and removes it.
    expect((await upgraded.rebuild(2026)).differing).to.deep.equal([]);
    const left: string[] = [];
    for await (const entity of client.listEntities({ queryOptions: { filter: "PartitionKey eq '2026'" } })) left.push(entity.rowKey!);
    expect(left).to.deep.equal([]);
    expect(sumRows(await upgraded.year(2026))).to.deep.equal(sumRows(truth));
  });
});
