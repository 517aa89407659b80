import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { startAzurite } from '../storage/azurite';
import { TableConnection } from '../storage/tables';
import { ReportCounterRepository, Contribution } from '../storage/reportCounterRepository';
import { southwarkDirectory } from '../domain/directory/southwark';
import { scoreSwemwbs } from '../domain/referral/outcomes';
import type { CaseHistory } from '../domain/reports/caseHistory';
import { contributions, monthsOf, sumRows } from '../domain/reports/boroughReport';
import { createLogger } from '../bot/app/log';
import { loadConfig } from '../bot/app/config';
import { createSignpost } from '../bot/app/signpost';

/**
 * The commissioners' borough report for a year over a store of BENCH_REPORT_REFERRALS referrals
 * (100,000 by default) spread over 12 months, the directory's services and 40 practices: their
 * running totals are seeded as Signpost keeps them (a contribution row per referral and a totals
 * row of service x practice counters, in a partition per month; batches of 100, several months at
 * once), then the report is asked for 50 times as the tab asks for it. Goal: p99 under 500 ms,
 * reading the 12 totals rows only (12 point reads), whatever the number of referrals: the
 * storage requests and the entities read per report must not grow with it. Storage is an
 * in-memory Azurite on loopback.
 */
export interface ReportBenchResult {
  name: string;
  referrals: number;
  counterRows: number;
  setupSeconds: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The same for reading the year's totals alone (storage's part of a report). */
  readP50Ms: number;
  readP99Ms: number;
  storageRequestsPerReport: number;
  entitiesReadPerReport: number;
  rowsInReport: number;
  goalMet: boolean;
}

const YEAR = 2026;
const PRACTICES = 40;
const RUNS = 50;
/** Months seeded at once: each month's batches go one after another (one partition each). */
const MONTHS_AT_ONCE = 4;

/**
 * A connection that also counts the entities storage answers with while `counting`: one per
 * point read, the length of `value` per query page.
 */
class EntityCountingTables extends TableConnection {
  counting = false;
  entitiesRead = 0;

  override client(tableName: string): TableClient {
    const client = super.client(tableName);
    client.pipeline.addPolicy({
      name: 'benchEntityCounter',
      sendRequest: async (request, next) => {
        const response = await next(request);
        if (this.counting && request.method === 'GET' && response.status === 200 && response.bodyAsText) {
          const body = JSON.parse(response.bodyAsText) as { value?: unknown[] };
          this.entitiesRead += Array.isArray(body.value) ? body.value.length : 1;
        }
        return response;
      },
    });
    return client;
  }
}

export async function run(): Promise<ReportBenchResult> {
  const total = Number(process.env.BENCH_REPORT_REFERRALS ?? 100_000);
  const azurite = await startAzurite();
  let requests = 0;
  const tables: EntityCountingTables = new EntityCountingTables(azurite.connectionString, { timeoutMs: 60_000, observe: () => void (tables.counting && (requests += 1)) });
  try {
    const setupStarted = performance.now();
    const signpost = createSignpost({ config: loadConfig({ SIGNPOST_COMMISSIONERS: 'commissioner@icb.example' }), tables, logger: createLogger('error', () => undefined) });
    await signpost.store.directory.seedIfEmpty(southwarkDirectory());
    const services = (await signpost.store.directory.list()).map((service) => service.id);
    const calendar = signpost.supervision.calendar;
    const counters = new ReportCounterRepository(tables);

    // Each referral as the running totals hold it: its history and what it added.
    const byMonth = new Map<string, Contribution[]>();
    const yearMonths = monthsOf(YEAR);
    for (let index = 0; index < total; index += 1) {
      // Computing 100,000 contributions takes a while: let storage's answers in meanwhile.
      if (index % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
      const month = yearMonths[index % 12];
      const day = String((index % 27) + 1).padStart(2, '0');
      const routedAt = `${month}-${day}T10:00:00.000Z`;
      const plus = (hours: number) => new Date(Date.parse(routedAt) + hours * 3_600_000).toISOString();
      const outcome = index % 5;
      const history: CaseHistory = {
        referralId: randomUUID(),
        month,
        practice: `Practice ${index % PRACTICES}`,
        episodes: [
          {
            serviceId: services[index % services.length],
            routedAt,
            ...(outcome !== 4 ? { acceptedAt: plus(4 + (index % 70)), firstContactAt: plus(30 + (index % 90)) } : {}),
            ...(outcome === 4 ? { ended: { kind: 'declined' as const, reason: 'no-capacity', at: plus(20) } } : outcome < 2 ? { ended: { kind: 'closed' as const, reason: 'completed', at: plus(24 * 80) } } : {}),
          },
        ],
      };
      const wellbeing = outcome < 2 ? { baseline: scoreSwemwbs([2, 3, 2, 3, 2, 3, 2], routedAt), closing: scoreSwemwbs([3, 3, 4, 3, 3, 4, 3 + (index % 3)], plus(24 * 80)) } : undefined;
      const contribution: Contribution = { referralId: history.referralId, version: 6, history, rows: contributions({ wellbeing }, history, calendar) };
      if (!byMonth.has(month)) byMonth.set(month, []);
      byMonth.get(month)!.push(contribution);
    }
    let counterRows = 0;
    const months = [...byMonth.entries()];
    await Promise.all(
      Array.from({ length: MONTHS_AT_ONCE }, async () => {
        for (let next = months.shift(); next; next = months.shift()) {
          const [month, monthContributions] = next;
          const rows = [...sumRows(monthContributions.flatMap((contribution) => contribution.rows)).values()];
          counterRows += rows.length;
          await counters.writeMonth(month, monthContributions, rows);
        }
      }),
    );
    byMonth.clear(); // the contributions are in storage now: do not keep 100,000 of them in this heap too
    const setupSeconds = (performance.now() - setupStarted) / 1000;

    const commissioner = { id: 'commissioner', name: 'Commissioner', email: 'commissioner@icb.example' };
    await signpost.tabViews.boroughReport(commissioner, YEAR); // warm the directory cache, as a running server has it
    const times: number[] = [];
    let rowsInReport = 0;
    tables.counting = true;
    for (let runIndex = 0; runIndex < RUNS; runIndex += 1) {
      const started = performance.now();
      rowsInReport = (await signpost.tabViews.boroughReport(commissioner, YEAR)).rows.length;
      times.push(performance.now() - started);
    }
    tables.counting = false;
    const readTimes: number[] = [];
    for (let runIndex = 0; runIndex < RUNS; runIndex += 1) {
      const started = performance.now();
      await signpost.reportTotals.year(YEAR);
      readTimes.push(performance.now() - started);
    }
    const percentile = (p: number, of = times) => [...of].sort((a, b) => a - b)[Math.min(of.length - 1, Math.ceil((p / 100) * of.length) - 1)];
    return {
      name: 'borough-report',
      referrals: total,
      counterRows,
      setupSeconds: round(setupSeconds),
      p50Ms: round(percentile(50)),
      p99Ms: round(percentile(99)),
      maxMs: round(Math.max(...times)),
      readP50Ms: round(percentile(50, readTimes)),
      readP99Ms: round(percentile(99, readTimes)),
      storageRequestsPerReport: requests / RUNS,
      entitiesReadPerReport: tables.entitiesRead / RUNS,
      rowsInReport,
      goalMet: percentile(99) < 500,
    };
  } finally {
    await azurite.stop();
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
