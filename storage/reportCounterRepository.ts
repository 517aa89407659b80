import { odata, TableClient, TransactionAction } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import type { CaseHistory } from '../domain/reports/caseHistory';
import type { ReportCounters, RowKey } from '../domain/reports/boroughReport';
import { asciiJson, Chunked, fromChunks, toChunks } from './chunkedJson';
import { isAlreadyExists } from './referralEntities';

/**
 * The borough report's running totals (`reportcounters`). One partition per month in which
 * referrals were made (`YYYY-MM`), holding:
 *   - the month's totals row (`t`): the counters of every service and practice that month, the
 *     sums the report shows (chunked JSON, as a referral record is);
 *   - a contribution row per referral (`r|<referral id>`): what that referral has added, at which
 *     version, with its history so the next change is folded in without rereading it.
 * A referral's contribution and its month's totals change in one entity-group transaction, with
 * eTags: applying the same version twice adds nothing, and two changes at once cannot both count.
 * A year's report is 12 point reads of totals rows, made together, however many referrals there
 * are. A month's totals row holds up to about 2,000 service and practice pairs (1 MiB per row).
 *
 * Per month rather than per year because a partition's size is what a write pays on Azurite (it
 * scans the partition for the row), and a range query there scans the whole table.
 */

export interface Contribution {
  referralId: string;
  version: number;
  history: CaseHistory;
  rows: Array<{ key: RowKey; counters: ReportCounters }>;
}

export class ReportCounterConflict extends Error {
  override readonly name = 'ReportCounterConflict';
  constructor() {
    super('The report counters changed meanwhile.');
  }
}

export interface MonthTotals {
  rows: Array<{ key: RowKey; counters: ReportCounters }>;
  etag?: string;
}

type BodyEntity = { partitionKey: string; rowKey: string; body: string };
type TotalsEntity = Chunked & { partitionKey: string; rowKey: string } & Record<string, unknown>;

const partitionOf = (month: string) => month;
const TOTALS_ROW = 't';
const contributionRow = (referralId: string) => `r|${referralId}`;

/**
 * The first layout (until the report's storage went per month): a partition per year, rows
 * `t|YYYY-MM` and `r|YYYY-MM|<referral id>`. Nothing writes it any more; a year still holding it
 * is refused until `npm run report -- rebuild` has rewritten it, which also removes these rows.
 */
const legacy = {
  partitionOf: (month: string) => month.slice(0, 4),
  totalsRow: (month: string) => `t|${month}`,
  contributionsFrom: (month: string) => `r|${month}|`,
  contributionsTo: (month: string) => `r|${month}}`,
};

export class ReportCountersNeedRebuild extends Error {
  override readonly name = 'ReportCountersNeedRebuild';
  constructor(readonly year: string) {
    super(`The ${year} report counters are stored in an earlier layout: run npm run --silent report -- rebuild ${year}.`);
  }
}

export class ReportCounterRepository {
  private readonly client: Promise<TableClient>;
  /** Years seen free of the first layout's rows; nothing writes that layout, so they stay free. */
  private readonly currentYears = new Set<string>();

  constructor(tables: TableConnection, options: { tablePrefix?: string } = {}) {
    this.client = tables.table(`${options.tablePrefix ?? ''}reportcounters`);
  }

  async contribution(month: string, referralId: string): Promise<{ contribution: Contribution; etag: string } | undefined> {
    try {
      const entity = await (await this.client).getEntity<BodyEntity>(partitionOf(month), contributionRow(referralId));
      return { contribution: JSON.parse(entity.body) as Contribution, etag: entity.etag };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** A month's totals as stored now, with the eTag to write them back; none yet is empty. */
  async totals(month: string): Promise<MonthTotals> {
    try {
      const entity = await (await this.client).getEntity<TotalsEntity>(partitionOf(month), TOTALS_ROW);
      return { rows: JSON.parse(fromChunks(entity)) as MonthTotals['rows'], etag: entity.etag };
    } catch (error) {
      if (statusOf(error) === 404) return { rows: [] };
      throw error;
    }
  }

  /**
   * Writes a referral's new contribution and its month's new totals, both or neither. `before` is
   * the eTag of its contribution row as read (none: the row must not exist yet), `totals.etag` that
   * of the totals row; either changed meanwhile throws ReportCounterConflict. Returns the totals
   * as now stored, with their new eTag.
   */
  async apply(month: string, contribution: Contribution, before: string | undefined, totals: MonthTotals): Promise<MonthTotals> {
    const client = await this.client;
    const contributionEntity: BodyEntity = { partitionKey: partitionOf(month), rowKey: contributionRow(contribution.referralId), body: JSON.stringify(contribution) };
    const totalsEntity = this.totalsEntity(month, totals.rows);
    const actions: TransactionAction[] = [
      before ? ['update', contributionEntity, 'Replace', { etag: before }] : ['create', contributionEntity],
      totals.etag ? ['update', totalsEntity, 'Replace', { etag: totals.etag }] : ['create', totalsEntity],
    ];
    try {
      // Answers come in the order of the actions: the totals row's is the second.
      const { subResponses } = await client.submitTransaction(actions);
      return { rows: totals.rows, etag: subResponses[1]?.etag };
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404 || isAlreadyExists(error)) throw new ReportCounterConflict();
      throw error;
    }
  }

  /**
   * The totals of these months: what a report reads, a point read per month, all at once. The
   * first time a year is asked for, it is also checked for rows of the first layout, which would
   * make its numbers wrong until rebuilt (ReportCountersNeedRebuild).
   */
  async rows(months: string[]): Promise<MonthTotals['rows']> {
    const [perMonth] = await Promise.all([Promise.all(months.map(async (month) => (await this.totals(month)).rows)), this.refuseFirstLayout(months)]);
    return perMonth.flat();
  }

  /**
   * What is stored for these months, in whichever layout holds each (a rebuild compares with
   * it): a month still in the first layout is read from there.
   */
  async storedRows(months: string[]): Promise<MonthTotals['rows']> {
    const client = await this.client;
    const perMonth = await Promise.all(
      months.map(async (month) => {
        try {
          const entity = await client.getEntity<TotalsEntity>(legacy.partitionOf(month), legacy.totalsRow(month));
          return JSON.parse(fromChunks(entity)) as MonthTotals['rows'];
        } catch (error) {
          if (statusOf(error) === 404) return (await this.totals(month)).rows;
          throw error;
        }
      }),
    );
    return perMonth.flat();
  }

  private async refuseFirstLayout(months: string[]): Promise<void> {
    const client = await this.client;
    const unchecked = months.filter((month) => !this.currentYears.has(legacy.partitionOf(month)));
    const found = await Promise.all(unchecked.map(async (month) => ((await exists(client, legacy.partitionOf(month), legacy.totalsRow(month))) ? month : undefined)));
    const stale = found.find((month) => month !== undefined);
    if (stale) throw new ReportCountersNeedRebuild(legacy.partitionOf(stale));
    for (const month of unchecked) this.currentYears.add(legacy.partitionOf(month));
  }

  /** Removes a month's rows, in this layout and the first one (a rebuild writes them again). */
  async clearMonth(month: string): Promise<void> {
    const client = await this.client;
    const inMonth = await rowKeysIn(client, partitionOf(month));
    const inFirstLayout = await rowKeysIn(client, legacy.partitionOf(month), legacy.contributionsFrom(month), legacy.contributionsTo(month));
    if (await exists(client, legacy.partitionOf(month), legacy.totalsRow(month))) inFirstLayout.push(legacy.totalsRow(month));
    await deleteRows(client, partitionOf(month), inMonth);
    await deleteRows(client, legacy.partitionOf(month), inFirstLayout);
  }

  /** Writes a month's contributions and totals as they are, in batches (a rebuild, or a benchmark's seed). */
  async writeMonth(month: string, contributions: Contribution[], totals: MonthTotals['rows']): Promise<void> {
    const client = await this.client;
    const entities: Array<BodyEntity | TotalsEntity> = [
      ...contributions.map((contribution) => ({ partitionKey: partitionOf(month), rowKey: contributionRow(contribution.referralId), body: JSON.stringify(contribution) })),
      this.totalsEntity(month, totals),
    ];
    for (let start = 0; start < entities.length; start += 100) {
      await client.submitTransaction(entities.slice(start, start + 100).map((entity): TransactionAction => ['upsert', entity, 'Replace']));
    }
  }

  private totalsEntity(month: string, rows: MonthTotals['rows']): TotalsEntity {
    return { partitionKey: partitionOf(month), rowKey: TOTALS_ROW, ...toChunks(asciiJson(rows)) };
  }
}

async function exists(client: TableClient, partitionKey: string, rowKey: string): Promise<boolean> {
  try {
    await client.getEntity(partitionKey, rowKey, { queryOptions: { select: ['RowKey'] } });
    return true;
  } catch (error) {
    if (statusOf(error) === 404) return false;
    throw error;
  }
}

/** The row keys of a partition, or of its rows from `from` (inclusive) to `to` (exclusive). */
async function rowKeysIn(client: TableClient, partitionKey: string, from?: string, to?: string): Promise<string[]> {
  const filter = from !== undefined && to !== undefined ? odata`PartitionKey eq ${partitionKey} and RowKey ge ${from} and RowKey lt ${to}` : odata`PartitionKey eq ${partitionKey}`;
  const keys: string[] = [];
  for await (const entity of client.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) keys.push(entity.rowKey!);
  return keys;
}

async function deleteRows(client: TableClient, partitionKey: string, rowKeys: string[]): Promise<void> {
  for (let start = 0; start < rowKeys.length; start += 100) {
    await client.submitTransaction(rowKeys.slice(start, start + 100).map((rowKey): TransactionAction => ['delete', { partitionKey, rowKey }]));
  }
}
