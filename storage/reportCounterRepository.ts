import { odata, TableClient, TransactionAction } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import type { CaseHistory } from '../domain/reports/caseHistory';
import type { ReportCounters, RowKey } from '../domain/reports/boroughReport';
import { asciiJson, Chunked, fromChunks, toChunks } from './chunkedJson';
import { isAlreadyExists } from './referralEntities';

/**
 * The borough report's running totals (`reportcounters`). One partition per month in which
 * referrals were made, holding:
 *   - the month's totals row (`t`): the counters of every service and practice that month, the
 *     sums the report shows (chunked JSON, as a referral record is);
 *   - a contribution row per referral (`r|<referral id>`): what that referral has added, at which
 *     version, with its history so the next change is folded in without rereading its trail.
 * A referral's contribution and its month's totals change in one entity-group transaction, with
 * eTags: applying the same version twice adds nothing, and two changes at once cannot both count.
 * A report reads one row per month (12 point reads for a year), however many referrals there are.
 * A month's totals row holds up to about 2,000 service and practice pairs (1 MiB per row).
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

const TOTALS_ROW = 't';
const contributionRow = (referralId: string) => `r|${referralId}`;

export class ReportCounterRepository {
  private readonly client: Promise<TableClient>;

  constructor(tables: TableConnection, options: { tablePrefix?: string } = {}) {
    this.client = tables.table(`${options.tablePrefix ?? ''}reportcounters`);
  }

  async contribution(month: string, referralId: string): Promise<{ contribution: Contribution; etag: string } | undefined> {
    try {
      const entity = await (await this.client).getEntity<BodyEntity>(month, contributionRow(referralId));
      return { contribution: JSON.parse(entity.body) as Contribution, etag: entity.etag };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** A month's totals as stored now, with the eTag to write them back; none yet is empty. */
  async totals(month: string): Promise<MonthTotals> {
    try {
      const entity = await (await this.client).getEntity<TotalsEntity>(month, TOTALS_ROW);
      return { rows: JSON.parse(fromChunks(entity)) as MonthTotals['rows'], etag: entity.etag };
    } catch (error) {
      if (statusOf(error) === 404) return { rows: [] };
      throw error;
    }
  }

  /**
   * Writes a referral's new contribution and its month's new totals, both or neither. `before` is
   * the eTag of its contribution row as read (none: the row must not exist yet), `totals.etag` that
   * of the totals row; either changed meanwhile throws ReportCounterConflict.
   */
  async apply(month: string, contribution: Contribution, before: string | undefined, totals: MonthTotals): Promise<void> {
    const client = await this.client;
    const contributionEntity: BodyEntity = { partitionKey: month, rowKey: contributionRow(contribution.referralId), body: JSON.stringify(contribution) };
    const totalsEntity = this.totalsEntity(month, totals.rows);
    const actions: TransactionAction[] = [
      before ? ['update', contributionEntity, 'Replace', { etag: before }] : ['create', contributionEntity],
      totals.etag ? ['update', totalsEntity, 'Replace', { etag: totals.etag }] : ['create', totalsEntity],
    ];
    try {
      await client.submitTransaction(actions);
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404 || isAlreadyExists(error)) throw new ReportCounterConflict();
      throw error;
    }
  }

  /** The totals of these months: what a report reads, one row per month. */
  async rows(months: string[]): Promise<MonthTotals['rows']> {
    return (await Promise.all(months.map((month) => this.totals(month)))).flatMap((totals) => totals.rows);
  }

  /** Removes a month's rows (a rebuild writes them again). */
  async clearMonth(month: string): Promise<void> {
    const client = await this.client;
    const keys: string[] = [];
    for await (const entity of client.listEntities<BodyEntity>({ queryOptions: { filter: odata`PartitionKey eq ${month}`, select: ['RowKey'] } })) keys.push(entity.rowKey!);
    for (let start = 0; start < keys.length; start += 100) {
      await client.submitTransaction(keys.slice(start, start + 100).map((rowKey): TransactionAction => ['delete', { partitionKey: month, rowKey }]));
    }
  }

  /** Writes a month's contributions and totals as they are, in batches (a rebuild, or a benchmark's seed). */
  async writeMonth(month: string, contributions: Contribution[], totals: MonthTotals['rows']): Promise<void> {
    const client = await this.client;
    const entities: Array<BodyEntity | TotalsEntity> = [
      ...contributions.map((contribution) => ({ partitionKey: month, rowKey: contributionRow(contribution.referralId), body: JSON.stringify(contribution) })),
      this.totalsEntity(month, totals),
    ];
    for (let start = 0; start < entities.length; start += 100) {
      await client.submitTransaction(entities.slice(start, start + 100).map((entity): TransactionAction => ['upsert', entity, 'Replace']));
    }
  }

  private totalsEntity(month: string, rows: MonthTotals['rows']): TotalsEntity {
    return { partitionKey: month, rowKey: TOTALS_ROW, ...toChunks(asciiJson(rows)) };
  }
}
