import { odata, TableClient, TransactionAction } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import type { Timer } from '../domain/supervision/policy';

/**
 * Timers on Table storage, indexed by due time: partition `due-<UTC date>`, row key
 * `<dueAt ISO>|<id>`. Keys sort as strings, and ISO times in UTC sort as times, so "what is
 * due" is one range query (partitions up to today, rows up to now) that returns only due rows,
 * however many referrals and future timers there are. A partition per day keeps each one small
 * (no hot partition, quick lookups in Azurite as well as Azure).
 *
 * Claiming: a sweeper sets a lease on a due row with its eTag. Of several instances, one wins;
 * if the winner dies mid-way, the lease runs out and another picks the timer up. Completing
 * stores the timers that follow (their ids and due times are deterministic, so a second
 * writer writes the same rows), then marks the row done with the claim's eTag, then deletes it.
 * A done row left by a crash is deleted by the next sweep that reads it.
 */

const PREFIX = 'due-';
/** Above every character a timer id uses, so `<now>|~` bounds every row due at or before now. */
const AFTER_IDS = '~';

export interface StoredTimer extends Timer {
  partitionKey: string;
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
    const filter = odata`PartitionKey ge ${PREFIX} and PartitionKey le ${partitionOf(iso)} and RowKey lt ${`${iso}|${AFTER_IDS}`}`;
    const pages = client.listEntities<TimerEntity>({ queryOptions: { filter } }).byPage({ maxPageSize: Math.min(1000, limit * 2) });
    for await (const page of pages) {
      for (const row of page) {
        rowsRead += 1;
        if (row.done) {
          await this.remove(row.partitionKey, row.rowKey);
          continue;
        }
        if (row.leaseUntil && row.leaseUntil > iso) continue;
        timers.push(stored(row as TimerEntity & { etag: string }));
        if (timers.length >= limit) return { timers, rowsRead };
      }
    }
    return { timers, rowsRead };
  }

  /** Takes a due timer until `leaseUntil`; undefined when another sweeper got it first. */
  async claim(timer: StoredTimer, leaseUntil: Date): Promise<StoredTimer | undefined> {
    try {
      const response = await (await this.client).updateEntity(
        { partitionKey: timer.partitionKey, rowKey: timer.rowKey, leaseUntil: leaseUntil.toISOString(), attempts: timer.attempts + 1 },
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
   * Stores what follows a claimed timer, then marks it done. Returns false when the claim was
   * lost meanwhile (the lease ran out and another sweeper took it over).
   */
  async complete(timer: StoredTimer, next: Timer[] = []): Promise<boolean> {
    const client = await this.client;
    await Promise.all(next.filter((following) => rowKeyOf(following) !== timer.rowKey).map((following) => client.upsertEntity(entity(following), 'Replace')));
    try {
      await client.updateEntity({ partitionKey: timer.partitionKey, rowKey: timer.rowKey, done: true }, 'Merge', { etag: timer.etag });
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) return false;
      throw error;
    }
    await this.remove(timer.partitionKey, timer.rowKey);
    return true;
  }

  /** Writes many timers, in transactions of up to 100 per day (the benchmark's set-up). */
  async scheduleMany(timers: Timer[]): Promise<void> {
    const client = await this.client;
    const byPartition = new Map<string, TimerEntity[]>();
    for (const timer of timers) {
      const row = entity(timer);
      byPartition.set(row.partitionKey, [...(byPartition.get(row.partitionKey) ?? []), row]);
    }
    for (const rows of byPartition.values()) {
      for (let start = 0; start < rows.length; start += 100) {
        await client.submitTransaction(rows.slice(start, start + 100).map((row): TransactionAction => ['upsert', row, 'Replace']));
      }
    }
  }

  private async remove(partitionKey: string, rowKey: string): Promise<void> {
    try {
      await (await this.client).deleteEntity(partitionKey, rowKey);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }
}

function partitionOf(dueIso: string): string {
  return `${PREFIX}${dueIso.slice(0, 10)}`;
}

function rowKeyOf(timer: Timer): string {
  return `${new Date(timer.dueAt).toISOString()}|${timer.id.replace(/[^A-Za-z0-9:._-]/g, '_')}`;
}

function entity(timer: Timer): TimerEntity {
  const dueAt = new Date(timer.dueAt).toISOString();
  return { partitionKey: partitionOf(dueAt), rowKey: rowKeyOf(timer), body: JSON.stringify(timer), leaseUntil: '', attempts: 0 };
}

function stored(row: TimerEntity & { etag: string }): StoredTimer {
  return {
    ...(JSON.parse(row.body) as Timer),
    partitionKey: row.partitionKey,
    rowKey: row.rowKey,
    etag: row.etag,
    leaseUntil: row.leaseUntil || undefined,
    attempts: row.attempts ?? 0,
  };
}

