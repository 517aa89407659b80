import { odata, RestError, TableClient, TransactionAction } from '@azure/data-tables';
import type { TableConnection } from './tables';
import type { Timer } from '../domain/supervision/policy';

/**
 * Timers on Table storage, indexed by due time: one partition, row key `<dueAt ISO>|<id>`.
 * ISO times in UTC sort as strings, so "what is due" is a range query on the row key that
 * reads only due rows, however many referrals and future timers there are.
 *
 * Claiming: a sweeper sets a lease on a due row with its eTag. Of several instances, one wins;
 * if the winner dies mid-way, the lease runs out and another picks the timer up. Completing
 * marks the row done (eTag-checked) and writes the timers that follow it in one transaction,
 * so a timer is never done without its successor; the done row is then deleted (a sweep that
 * finds one left by a crash deletes it).
 */

const PARTITION = 'due';
/** Above every character a timer id uses, so `<now>|~` bounds every row due at or before now. */
const AFTER_IDS = '~';

export interface StoredTimer extends Timer {
  rowKey: string;
  etag: string;
  /** While set in the future, another sweeper has it. */
  leaseUntil?: string;
  attempts: number;
}

type TimerEntity = {
  partitionKey: string;
  rowKey: string;
  body: string;
  leaseUntil: string;
  attempts: number;
  done?: boolean;
};

export interface DueRead {
  timers: StoredTimer[];
  /** Rows the query returned (leased ones included): the storage cost of a sweep. */
  rowsRead: number;
}

export class TimerRepository {
  private readonly client: Promise<TableClient>;

  constructor(tables: TableConnection, tableName = 'timers') {
    this.client = tables.table(tableName);
  }

  /** Stores timers; one already stored (same id and due time) is left as it is. */
  async schedule(timers: Timer[]): Promise<void> {
    const client = await this.client;
    await Promise.all(
      timers.map(async (timer) => {
        try {
          await client.createEntity(entity(timer));
        } catch (error) {
          if (statusOf(error) !== 409) throw error;
        }
      }),
    );
  }

  /** Timers due at `now`, oldest first, not leased by another sweeper. */
  async due(now: Date, limit = 100): Promise<DueRead> {
    const client = await this.client;
    const iso = now.toISOString();
    const timers: StoredTimer[] = [];
    let rowsRead = 0;
    const pages = client
      .listEntities<TimerEntity>({ queryOptions: { filter: odata`PartitionKey eq ${PARTITION} and RowKey lt ${`${iso}|${AFTER_IDS}`}` } })
      .byPage({ maxPageSize: Math.min(1000, limit * 2) });
    for await (const page of pages) {
      for (const row of page) {
        rowsRead += 1;
        if (row.done) {
          await this.remove(row.rowKey);
          continue;
        }
        if (row.leaseUntil && row.leaseUntil > iso) continue;
        timers.push(stored(row as TimerEntity & { etag: string }));
        if (timers.length >= limit) return { timers, rowsRead };
      }
    }
    return { timers, rowsRead };
  }

  /** Takes a due timer for `leaseMs`; undefined when another sweeper got it first. */
  async claim(timer: StoredTimer, leaseUntil: Date): Promise<StoredTimer | undefined> {
    try {
      const response = await (await this.client).updateEntity(
        { partitionKey: PARTITION, rowKey: timer.rowKey, leaseUntil: leaseUntil.toISOString(), attempts: timer.attempts + 1 },
        'Merge',
        { etag: timer.etag },
      );
      return { ...timer, leaseUntil: leaseUntil.toISOString(), attempts: timer.attempts + 1, etag: response.etag ?? timer.etag };
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /**
   * Removes a claimed timer and stores what follows it, together. Returns false when the claim
   * was lost meanwhile (the lease ran out and another sweeper took it): nothing is written.
   */
  async complete(timer: StoredTimer, next: Timer[] = []): Promise<boolean> {
    const actions: TransactionAction[] = [
      ['update', { partitionKey: PARTITION, rowKey: timer.rowKey, done: true }, 'Merge', { etag: timer.etag }],
      ...next.filter((following) => rowKeyOf(following) !== timer.rowKey).map((following): TransactionAction => ['upsert', entity(following), 'Replace']),
    ];
    try {
      await (await this.client).submitTransaction(actions);
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404 || /UpdateConditionNotSatisfied|ResourceNotFound/.test(String((error as Error).message))) {
        return false;
      }
      throw error;
    }
    await this.remove(timer.rowKey);
    return true;
  }

  private async remove(rowKey: string): Promise<void> {
    try {
      await (await this.client).deleteEntity(PARTITION, rowKey);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  /** Gives a claimed timer back to be tried again at `retryAt` (e.g. storage was briefly unavailable). */
  async release(timer: StoredTimer, retryAt: Date): Promise<void> {
    try {
      await (await this.client).updateEntity({ partitionKey: PARTITION, rowKey: timer.rowKey, leaseUntil: retryAt.toISOString() }, 'Merge', { etag: timer.etag });
    } catch (error) {
      if (statusOf(error) !== 412 && statusOf(error) !== 404) throw error;
    }
  }

  /** Pending timers of a kind for a subject, e.g. to show or test what is scheduled. */
  async list(filter: (timer: Timer) => boolean = () => true): Promise<StoredTimer[]> {
    const found: StoredTimer[] = [];
    for await (const row of (await this.client).listEntities<TimerEntity>({ queryOptions: { filter: odata`PartitionKey eq ${PARTITION}` } })) {
      const timer = stored(row as TimerEntity & { etag: string });
      if (!row.done && filter(timer)) found.push(timer);
    }
    return found;
  }

  /** Writes many timers in transactions of 100 (the benchmark's set-up). */
  async scheduleMany(timers: Timer[]): Promise<void> {
    const client = await this.client;
    for (let start = 0; start < timers.length; start += 100) {
      await client.submitTransaction(timers.slice(start, start + 100).map((timer): TransactionAction => ['upsert', entity(timer), 'Replace']));
    }
  }
}

function rowKeyOf(timer: Timer): string {
  return `${new Date(timer.dueAt).toISOString()}|${timer.id.replace(/[^A-Za-z0-9:._-]/g, '_')}`;
}

function entity(timer: Timer): TimerEntity {
  return { partitionKey: PARTITION, rowKey: rowKeyOf(timer), body: JSON.stringify(timer), leaseUntil: '', attempts: 0 };
}

function stored(row: TimerEntity & { etag: string }): StoredTimer {
  return { ...(JSON.parse(row.body) as Timer), rowKey: row.rowKey, etag: row.etag, leaseUntil: row.leaseUntil || undefined, attempts: row.attempts ?? 0 };
}

function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : (error as { statusCode?: number })?.statusCode;
}
