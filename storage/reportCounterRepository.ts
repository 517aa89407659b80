import { odata, TableClient, TransactionAction } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import type { CaseHistory } from '../domain/reports/caseHistory';
import { ReportCounters, RowKey, rowKeyText } from '../domain/reports/boroughReport';
import { isAlreadyExists } from './referralEntities';

/**
 * The borough report's running totals (`reportcounters`). One partition per month in which
 * referrals were made, holding:
 *   - a counter row per service and practice (`c|<service>|<practice>`): the sums the report shows;
 *   - a contribution row per referral (`r|<referral id>`): what that referral has added, at which
 *     version, with its history so the next change is folded in without rereading its trail.
 * A referral's counters and its contribution row change in one entity-group transaction, with
 * eTags: applying the same version twice adds nothing, and two changes at once cannot both count.
 * A report reads the counter rows of its months only: months x services x practices, never referrals.
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

type BodyEntity = { partitionKey: string; rowKey: string; body: string };

const COUNTER_PREFIX = 'c|';
// base64url: a practice's name may hold any character, and '%' escapes do not survive every table client's URLs.
const keyPart = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const counterRow = (key: RowKey) => `${COUNTER_PREFIX}${keyPart(key.serviceId)}|${keyPart(key.practice)}`;
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

  /** Counter rows of these rows' keys, as stored now (with eTags), for one month; keyed by rowKeyText. */
  async counters(month: string, keys: RowKey[]): Promise<Map<string, { counters: ReportCounters; etag: string }>> {
    const client = await this.client;
    const found = new Map<string, { counters: ReportCounters; etag: string }>();
    await Promise.all(
      keys.map(async (key) => {
        try {
          const entity = await client.getEntity<BodyEntity>(month, counterRow(key));
          found.set(rowKeyText(key), { counters: (JSON.parse(entity.body) as { counters: ReportCounters }).counters, etag: entity.etag });
        } catch (error) {
          if (statusOf(error) !== 404) throw error;
        }
      }),
    );
    return found;
  }

  /**
   * Writes a referral's new contribution and the counter rows it changes, all or nothing.
   * `before` is the eTag of its contribution row as read (none: the row must not exist yet), and
   * each counter row's eTag as read; any of them changed meanwhile throws ReportCounterConflict.
   */
  async apply(
    month: string,
    contribution: Contribution,
    before: string | undefined,
    counters: Array<{ key: RowKey; counters: ReportCounters; etag?: string }>,
  ): Promise<void> {
    const client = await this.client;
    const row = (rowKey: string, body: unknown): BodyEntity => ({ partitionKey: month, rowKey, body: JSON.stringify(body) });
    const actions: TransactionAction[] = [
      before ? ['update', row(contributionRow(contribution.referralId), contribution), 'Replace', { etag: before }] : ['create', row(contributionRow(contribution.referralId), contribution)],
      ...counters.map((entry): TransactionAction => {
        const entity = { ...row(counterRow(entry.key), { key: entry.key, counters: entry.counters }) };
        return entry.etag ? ['update', entity, 'Replace', { etag: entry.etag }] : ['create', entity];
      }),
    ];
    try {
      await client.submitTransaction(actions);
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404 || isAlreadyExists(error)) throw new ReportCounterConflict();
      throw error;
    }
  }

  /** Every counter row of these months: what a report reads. */
  async rows(months: string[]): Promise<Array<{ key: RowKey; counters: ReportCounters }>> {
    const client = await this.client;
    const perMonth = await Promise.all(
      months.map(async (month) => {
        const found: Array<{ key: RowKey; counters: ReportCounters }> = [];
        for await (const entity of client.listEntities<BodyEntity>({
          queryOptions: { filter: odata`PartitionKey eq ${month} and RowKey ge ${COUNTER_PREFIX} and RowKey lt ${'c}'}` },
        })) {
          found.push(JSON.parse(entity.body) as { key: RowKey; counters: ReportCounters });
        }
        return found;
      }),
    );
    return perMonth.flat();
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

  /** Writes rows as they are, in batches of one partition (a rebuild, or a benchmark's seed). */
  async writeMonth(month: string, contributions: Contribution[], counters: Array<{ key: RowKey; counters: ReportCounters }>): Promise<void> {
    const client = await this.client;
    const entities: BodyEntity[] = [
      ...contributions.map((contribution) => ({ partitionKey: month, rowKey: contributionRow(contribution.referralId), body: JSON.stringify(contribution) })),
      ...counters.map((entry) => ({ partitionKey: month, rowKey: counterRow(entry.key), body: JSON.stringify(entry) })),
    ];
    for (let start = 0; start < entities.length; start += 100) {
      await client.submitTransaction(entities.slice(start, start + 100).map((entity): TransactionAction => ['upsert', entity, 'Replace']));
    }
  }
}
