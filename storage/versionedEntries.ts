import { odata, RestError, TableClient, TransactionAction } from '@azure/data-tables';
import type { TableConnection } from './tables';

/**
 * A directory (services, or activities) in Table storage, one entry per row in one partition.
 * The checked-in file seeds it on first start; an import replaces it, removing entries no longer
 * in the file. Reads are cached briefly: the directory changes rarely and every referral step asks.
 *
 * Every change to an entry (an import, a maintainer's edit or confirmation, a link worker's
 * `wait`) is a new version: the entry's row carries its version number, and a history row
 * keeps the whole entry as it became, with who changed it, when and by which route. The two
 * are written in one transaction (same partition), so there is never a change without its
 * history; a change made against an older version is refused.
 */
type EntryEntity = { partitionKey: string; rowKey: string; body: string; version?: number };
type HistoryEntity = {
  partitionKey: string;
  rowKey: string;
  /** Named `serviceId` in the rows written before activities were versioned too. */
  entryId?: string;
  serviceId?: string;
  version: number;
  at: string;
  route: ChangeRoute;
  byName: string;
  byEmail?: string;
  changed: string;
  note?: string;
  body: string;
};

/** How a change reached the directory. */
export const CHANGE_ROUTES = ['teams', 'email', 'cli', 'import'] as const;
export type ChangeRoute = (typeof CHANGE_ROUTES)[number];

/** Who made a change: a member of staff (never a patient), by name and, where known, work email. */
export interface ChangeAuthor {
  name: string;
  email?: string;
}

export interface EntryVersion<T> {
  id: string;
  version: number;
  at: string;
  route: ChangeRoute;
  by: ChangeAuthor;
  /** The top-level fields that differ from the version before (every field for the first). */
  changed: string[];
  note?: string;
  entry: T;
}

export type EntryChange<T> =
  | { ok: true; entry: T; version: number; changed: string[] }
  | { ok: false; reason: 'unknown-entry' }
  | { ok: false; reason: 'stale'; version: number }
  | { ok: false; reason: 'invalid'; problems: string[] };

/** What differs between the directories: their partition, and the schema every entry must pass (the import's). */
export interface EntrySchema<T> {
  partition: string;
  /** "service" or "activity", for the problems' words. */
  noun: string;
  /** Validates entries as the import does; throws an error with every problem named. */
  parse(entries: unknown[]): T[];
  problemsOf(error: unknown): string[] | undefined;
}

const CACHE_MS = 30_000;
/** History rows share the entries' partition (for one transaction) under keys that sort after every entry id. */
const HISTORY_PREFIX = '~history~';

export class VersionedEntries<T extends { id: string }> {
  private readonly client: Promise<TableClient>;
  private cache: { at: number; entries: T[] } | undefined;
  /** The rows last parsed, as stored: an unchanged directory keeps its list, so what is worked out per list (the matcher's rules, the search index) survives a re-read. */
  private parsed: { rows: string; entries: T[] } | undefined;

  constructor(
    tables: TableConnection,
    tableName: string,
    private readonly schema: EntrySchema<T>,
    private readonly clock: () => number = Date.now,
  ) {
    this.client = tables.table(tableName);
  }

  /** Loads the entries if there are none; returns whether it did. */
  async seedIfEmpty(entries: T[]): Promise<boolean> {
    const client = await this.client;
    const filter = odata`PartitionKey eq ${this.schema.partition}`;
    const first = await client.listEntities({ queryOptions: { filter, select: ['RowKey'] } }).byPage({ maxPageSize: 1 }).next();
    if (!first.done && first.value.length > 0) return false;
    await this.importAll(entries);
    return true;
  }

  /**
   * Replaces the directory with these entries. Returns the ids removed. An entry that differs
   * from what is stored becomes a new version (route `import`); an unchanged one keeps its version.
   */
  async importAll(entries: T[], by: ChangeAuthor = { name: 'directory import' }, at = new Date(this.clock()).toISOString()): Promise<{ imported: number; removed: string[] }> {
    const valid = this.schema.parse(entries);
    const client = await this.client;
    const existing = new Map((await this.readRows()).map((row) => [row.rowKey, row]));
    const keep = new Set(valid.map((entry) => entry.id));
    const removed = [...existing.keys()].filter((id) => !keep.has(id));
    // One partition, so the whole import is a few atomic batches (100 operations each).
    const actions: TransactionAction[] = [];
    for (const entry of valid) {
      const before = existing.get(entry.id);
      if (before && before.body === JSON.stringify(entry)) continue;
      const version = before ? (before.version ?? 1) + 1 : 1;
      const previous = before ? (JSON.parse(before.body) as T) : undefined;
      actions.push(['upsert', this.entity(entry, version), 'Replace']);
      actions.push(['upsert', this.historyEntity(entry, version, { at, route: 'import', by, changed: changedFields(previous, entry) }), 'Replace']);
    }
    for (const id of removed) actions.push(['delete', { partitionKey: this.schema.partition, rowKey: id }]);
    for (let index = 0; index < actions.length; index += 100) {
      await client.submitTransaction(actions.slice(index, index + 100));
    }
    this.cache = undefined;
    return { imported: valid.length, removed };
  }

  /** An entry as stored now, with its version: read afresh, never from the cache (a change is checked against it). */
  async current(id: string): Promise<{ entry: T; version: number } | undefined> {
    const row = await this.readRow(id);
    return row && { entry: this.schema.parse([JSON.parse(row.body)])[0], version: row.version ?? 1 };
  }

  /**
   * Changes one entry: `edit` gets the entry as stored and returns the entry as it should be,
   * which must pass the same schema as an import (every bad field is named). `expectedVersion`
   * is the version the person saw; a change against any other changes nothing. The change is
   * seen by this process's reads at once (the cache is cleared).
   */
  async change(id: string, expectedVersion: number | undefined, edit: (entry: T) => unknown, how: { route: ChangeRoute; by: ChangeAuthor; at: string; note?: string }): Promise<EntryChange<T>> {
    const row = await this.readRow(id);
    if (!row) return { ok: false, reason: 'unknown-entry' };
    const version = row.version ?? 1;
    if (expectedVersion !== undefined && expectedVersion !== version) return { ok: false, reason: 'stale', version };
    const before = JSON.parse(row.body) as T;
    let after: T;
    try {
      const candidate = edit(structuredClone(before));
      if ((candidate as { id?: unknown } | null)?.id !== id) return { ok: false, reason: 'invalid', problems: [`${this.schema.noun} "${id}": id: cannot be changed`] };
      [after] = this.schema.parse([candidate]);
    } catch (error) {
      const problems = this.schema.problemsOf(error);
      if (problems) return { ok: false, reason: 'invalid', problems };
      throw error;
    }
    const changed = changedFields(before, after);
    if (!changed.length) return { ok: true, entry: after, version, changed };
    const next = version + 1;
    const client = await this.client;
    try {
      await client.submitTransaction([
        ['update', this.entity(after, next), 'Replace', { etag: row.etag }],
        ['create', this.historyEntity(after, next, { ...how, changed })],
      ]);
    } catch (error) {
      // Someone else's change landed between the read and the write.
      if (isConflict(error)) return { ok: false, reason: 'stale', version: (await this.readRow(id))?.version ?? next };
      throw error;
    }
    this.cache = undefined;
    return { ok: true, entry: after, version: next, changed };
  }

  /** Every version of an entry, oldest first (entries imported before versions were kept start at their first change). */
  async history(id: string): Promise<Array<EntryVersion<T>>> {
    const client = await this.client;
    const from = `${HISTORY_PREFIX}${id}~`;
    const versions: Array<EntryVersion<T>> = [];
    const filter = odata`PartitionKey eq ${this.schema.partition} and RowKey gt ${from} and RowKey lt ${`${from}~`}`;
    for await (const row of client.listEntities<HistoryEntity>({ queryOptions: { filter } })) {
      versions.push({
        id: row.entryId ?? row.serviceId ?? id,
        version: row.version,
        at: row.at,
        route: row.route,
        by: { name: row.byName, ...(row.byEmail ? { email: row.byEmail } : {}) },
        changed: JSON.parse(row.changed) as string[],
        ...(row.note ? { note: row.note } : {}),
        entry: JSON.parse(row.body) as T,
      });
    }
    return versions.sort((a, b) => a.version - b.version);
  }

  /** Every entry, read at most every 30 seconds unless `fresh`. */
  async list(fresh = false): Promise<T[]> {
    const now = this.clock();
    if (!fresh && this.cache && now - this.cache.at < CACHE_MS) return this.cache.entries;
    const entries = await this.readAll();
    this.cache = { at: now, entries };
    return entries;
  }

  async get(id: string): Promise<T | undefined> {
    return (await this.list()).find((entry) => entry.id === id);
  }

  private async readRows(): Promise<Array<EntryEntity & { etag: string }>> {
    const client = await this.client;
    const rows: Array<EntryEntity & { etag: string }> = [];
    const filter = odata`PartitionKey eq ${this.schema.partition} and RowKey lt ${HISTORY_PREFIX}`;
    for await (const row of client.listEntities<EntryEntity>({ queryOptions: { filter } })) rows.push(row);
    return rows;
  }

  private async readRow(id: string): Promise<(EntryEntity & { etag: string }) | undefined> {
    const client = await this.client;
    try {
      return await client.getEntity<EntryEntity>(this.schema.partition, id);
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  private async readAll(): Promise<T[]> {
    const rows = (await this.readRows()).map((row) => row.body);
    const joined = rows.join('\n');
    if (this.parsed?.rows === joined) return this.parsed.entries;
    const entries = rows.length ? this.schema.parse(rows.map((body) => JSON.parse(body) as unknown)) : [];
    this.parsed = { rows: joined, entries };
    return entries;
  }

  private entity(entry: T, version: number): EntryEntity {
    return { partitionKey: this.schema.partition, rowKey: entry.id, body: JSON.stringify(entry), version };
  }

  private historyEntity(entry: T, version: number, how: { at: string; route: ChangeRoute; by: ChangeAuthor; changed: string[]; note?: string }): HistoryEntity {
    return {
      partitionKey: this.schema.partition,
      // Zero-padded so the versions sort as numbers.
      rowKey: `${HISTORY_PREFIX}${entry.id}~${String(version).padStart(6, '0')}`,
      entryId: entry.id,
      version,
      at: how.at,
      route: how.route,
      byName: how.by.name,
      ...(how.by.email ? { byEmail: how.by.email } : {}),
      changed: JSON.stringify(how.changed),
      ...(how.note ? { note: how.note } : {}),
      body: JSON.stringify(entry),
    };
  }
}

/** The top-level fields whose values differ; every field of a new entry. */
function changedFields<T>(before: T | undefined, after: T): string[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after as object)]);
  const value = (entry: T | undefined, key: string) => JSON.stringify((entry as Record<string, unknown> | undefined)?.[key]);
  return [...keys].filter((key) => !before || value(before, key) !== value(after, key));
}

function isConflict(error: unknown): boolean {
  // A failed etag in a batch comes back as 412, or as the batch's 400/409 naming the condition.
  return error instanceof RestError && (error.statusCode === 412 || error.statusCode === 409 || /UpdateConditionNotSatisfied|ConditionNotMet/i.test(error.message));
}
