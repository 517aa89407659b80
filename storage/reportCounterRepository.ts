import { odata, TableClient, TransactionAction } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import type { CaseHistory } from '../domain/reports/caseHistory';
import type { ReportCounters, RowKey } from '../domain/reports/boroughReport';
import { asciiJson, Chunked, fromChunks, toChunks } from './chunkedJson';
import { isAlreadyExists } from './referralEntities';

/**
 * The borough report's running totals (`reportcounters`). One partition per year in which
 * referrals were made, holding per month:
 *   - the month's totals row (`t|YYYY-MM`): the counters of every service and practice that
 *     month, the sums the report shows (chunked JSON, as a referral record is);
 *   - a contribution row per referral (`r|YYYY-MM|<referral id>`): what that referral has added,
 *     at which version, with its history so the next change is folded in without rereading it.
 * A referral's contribution and its month's totals change in one entity-group transaction, with
 * eTags: applying the same version twice adds nothing, and two changes at once cannot both count.
 * A year's report is one range query for 12 totals rows, however many referrals there are. A
 * month's totals row holds up to about 2,000 service and practice pairs (1 MiB per row).
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

const partitionOf = (month: string) => month.slice(0, 4);
const totalsRow = (month: string) => `t|${month}`;
const contributionRow = (month: string, referralId: string) => `r|${month}|${referralId}`;

export class ReportCounterRepository {
  private readonly client: Promise<TableClient>;

  constructor(tables: TableConnection, options: { tablePrefix?: string } = {}) {
    this.client = tables.table(`${options.tablePrefix ?? ''}reportcounters`);
  }

  async contribution(month: string, referralId: string): Promise<{ contribution: Contribution; etag: string } | undefined> {
    try {
      const entity = await (await this.client).getEntity<BodyEntity>(partitionOf(month), contributionRow(month, referralId));
      return { contribution: JSON.parse(entity.body) as Contribution, etag: entity.etag };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** A month's totals as stored now, with the eTag to write them back; none yet is empty. */
  async totals(month: string): Promise<MonthTotals> {
    try {
      const entity = await (await this.client).getEntity<TotalsEntity>(partitionOf(month), totalsRow(month));
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
    const contributionEntity: BodyEntity = { partitionKey: partitionOf(month), rowKey: contributionRow(month, contribution.referralId), body: JSON.stringify(contribution) };
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

  /** The totals of these months: what a report reads, one range query per year for its months' totals rows. */
  async rows(months: string[]): Promise<MonthTotals['rows']> {
    const client = await this.client;
    const wanted = new Set(months.map(totalsRow));
    const years = [...new Set(months.map(partitionOf))];
    const perYear = await Promise.all(
      years.map(async (year) => {
        const found: MonthTotals['rows'] = [];
        for await (const entity of client.listEntities<TotalsEntity>({ queryOptions: { filter: odata`PartitionKey eq ${year} and RowKey ge ${'t|'} and RowKey lt ${'t}'}` } })) {
          if (wanted.has(entity.rowKey)) found.push(...(JSON.parse(fromChunks(entity)) as MonthTotals['rows']));
        }
        return found;
      }),
    );
    return perYear.flat();
  }

  /** Removes a month's rows (a rebuild writes them again). */
  async clearMonth(month: string): Promise<void> {
    const client = await this.client;
    const keys: string[] = [];
    const partitionKey = partitionOf(month);
    const contributions = `r|${month}|`;
    for await (const entity of client.listEntities<BodyEntity>({
      queryOptions: { filter: odata`PartitionKey eq ${partitionKey} and RowKey ge ${contributions} and RowKey lt ${`r|${month}}`}`, select: ['RowKey'] },
    })) {
      keys.push(entity.rowKey!);
    }
    if ((await this.totals(month)).etag) keys.push(totalsRow(month));
    for (let start = 0; start < keys.length; start += 100) {
      await client.submitTransaction(keys.slice(start, start + 100).map((rowKey): TransactionAction => ['delete', { partitionKey, rowKey }]));
    }
  }

  /** Writes a month's contributions and totals as they are, in batches (a rebuild, or a benchmark's seed). */
  async writeMonth(month: string, contributions: Contribution[], totals: MonthTotals['rows']): Promise<void> {
    const client = await this.client;
    const entities: Array<BodyEntity | TotalsEntity> = [
      ...contributions.map((contribution) => ({ partitionKey: partitionOf(month), rowKey: contributionRow(month, contribution.referralId), body: JSON.stringify(contribution) })),
      this.totalsEntity(month, totals),
    ];
    for (let start = 0; start < entities.length; start += 100) {
      await client.submitTransaction(entities.slice(start, start + 100).map((entity): TransactionAction => ['upsert', entity, 'Replace']));
    }
  }

  private totalsEntity(month: string, rows: MonthTotals['rows']): TotalsEntity {
    return { partitionKey: partitionOf(month), rowKey: totalsRow(month), ...toChunks(asciiJson(rows)) };
  }
}
