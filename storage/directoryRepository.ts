import { odata, RestError, TableClient, TransactionAction } from '@azure/data-tables';
import type { TableConnection } from './tables';
import { DirectoryService, DirectoryValidationError, parseDirectory } from '../domain/directory/schema';

/**
 * The service directory in Table storage. The checked-in file seeds it on first start; an
 * explicit import (`npm run directory -- import`) replaces it, removing services no longer in
 * the file. Reads are cached briefly: the directory changes rarely and every referral step asks.
 *
 * Every change to a service (an import, a maintainer's edit or confirmation, a link worker's
 * `wait`) is a new version: the service's row carries its version number, and a history row
 * keeps the whole entry as it became, with who changed it, when and by which route. The two
 * are written in one transaction (same partition), so there is never a change without its
 * history; a change made against an older version is refused.
 */
type ServiceEntity = { partitionKey: string; rowKey: string; body: string; version?: number };
type HistoryEntity = {
  partitionKey: string;
  rowKey: string;
  serviceId: string;
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

export interface ServiceVersion {
  serviceId: string;
  version: number;
  at: string;
  route: ChangeRoute;
  by: ChangeAuthor;
  /** The top-level fields that differ from the version before (every field for the first). */
  changed: string[];
  note?: string;
  service: DirectoryService;
}

export type ServiceChange =
  | { ok: true; service: DirectoryService; version: number; changed: string[] }
  | { ok: false; reason: 'unknown-service' }
  | { ok: false; reason: 'stale'; version: number }
  | { ok: false; reason: 'invalid'; problems: string[] };

const PARTITION = 'service';
const CACHE_MS = 30_000;
/** History rows share the services' partition (for one transaction) under keys that sort after every service id. */
const HISTORY_PREFIX = '~history~';

export class DirectoryRepository {
  private readonly client: Promise<TableClient>;
  private cache: { at: number; services: DirectoryService[] } | undefined;
  /** The rows last parsed, as stored: an unchanged directory keeps its list, so what is worked out per list (the matcher's rules, the search index) survives a re-read. */
  private parsed: { rows: string; services: DirectoryService[] } | undefined;

  constructor(tables: TableConnection, tableName = 'directory', private readonly clock: () => number = Date.now) {
    this.client = tables.table(tableName);
  }

  /** Loads the services if the table is empty; returns whether it did. */
  async seedIfEmpty(services: DirectoryService[]): Promise<boolean> {
    const client = await this.client;
    const first = await client.listEntities({ queryOptions: { select: ['RowKey'] } }).byPage({ maxPageSize: 1 }).next();
    if (!first.done && first.value.length > 0) return false;
    await this.importAll(services);
    return true;
  }

  /**
   * Replaces the directory with these services. Returns the ids removed. A service whose entry
   * differs from what is stored becomes a new version (route `import`); an unchanged one keeps its version.
   */
  async importAll(services: DirectoryService[], by: ChangeAuthor = { name: 'directory import' }, at = new Date(this.clock()).toISOString()): Promise<{ imported: number; removed: string[] }> {
    const valid = parseDirectory({ version: 1, services });
    const client = await this.client;
    const existing = new Map((await this.readRows()).map((row) => [row.rowKey, row]));
    const keep = new Set(valid.map((service) => service.id));
    const removed = [...existing.keys()].filter((id) => !keep.has(id));
    // One partition, so the whole import is a few atomic batches (100 operations each).
    const actions: TransactionAction[] = [];
    for (const service of valid) {
      const before = existing.get(service.id);
      if (before && before.body === JSON.stringify(service)) continue;
      const version = before ? (before.version ?? 1) + 1 : 1;
      const previous = before ? (JSON.parse(before.body) as DirectoryService) : undefined;
      actions.push(['upsert', entity(service, version), 'Replace']);
      actions.push(['upsert', historyEntity(service, version, { at, route: 'import', by, changed: changedFields(previous, service) }), 'Replace']);
    }
    for (const id of removed) actions.push(['delete', { partitionKey: PARTITION, rowKey: id }]);
    for (let index = 0; index < actions.length; index += 100) {
      await client.submitTransaction(actions.slice(index, index + 100));
    }
    this.cache = undefined;
    return { imported: valid.length, removed };
  }

  /** A service as stored now, with its version: read afresh, never from the cache (a change is checked against it). */
  async current(id: string): Promise<{ service: DirectoryService; version: number } | undefined> {
    const row = await this.readRow(id);
    return row && { service: parseDirectory({ version: 1, services: [JSON.parse(row.body)] })[0], version: row.version ?? 1 };
  }

  /**
   * Changes one service: `edit` gets the entry as stored and returns the entry as it should be,
   * which must pass the same schema as an import (every bad field is named). `expectedVersion`
   * is the version the person saw; a change against any other changes nothing. The change is
   * seen by this process's matching at once (the cache is cleared).
   */
  async change(
    id: string,
    expectedVersion: number | undefined,
    edit: (service: DirectoryService) => unknown,
    how: { route: ChangeRoute; by: ChangeAuthor; at: string; note?: string },
  ): Promise<ServiceChange> {
    const row = await this.readRow(id);
    if (!row) return { ok: false, reason: 'unknown-service' };
    const version = row.version ?? 1;
    if (expectedVersion !== undefined && expectedVersion !== version) return { ok: false, reason: 'stale', version };
    const before = JSON.parse(row.body) as DirectoryService;
    let after: DirectoryService;
    try {
      const candidate = edit(structuredClone(before));
      if ((candidate as { id?: unknown } | null)?.id !== id) return { ok: false, reason: 'invalid', problems: [`service "${id}": id: cannot be changed`] };
      [after] = parseDirectory({ version: 1, services: [candidate] });
    } catch (error) {
      if (error instanceof DirectoryValidationError) return { ok: false, reason: 'invalid', problems: error.problems };
      throw error;
    }
    const changed = changedFields(before, after);
    if (!changed.length) return { ok: true, service: after, version, changed };
    const next = version + 1;
    const client = await this.client;
    try {
      await client.submitTransaction([
        ['update', entity(after, next), 'Replace', { etag: row.etag }],
        ['create', historyEntity(after, next, { ...how, changed })],
      ]);
    } catch (error) {
      // Someone else's change landed between the read and the write.
      if (isConflict(error)) return { ok: false, reason: 'stale', version: (await this.readRow(id))?.version ?? next };
      throw error;
    }
    this.cache = undefined;
    return { ok: true, service: after, version: next, changed };
  }

  /** Every version of a service, oldest first (the services imported before versions were kept start at their first change). */
  async history(id: string): Promise<ServiceVersion[]> {
    const client = await this.client;
    const from = `${HISTORY_PREFIX}${id}~`;
    const versions: ServiceVersion[] = [];
    const filter = odata`PartitionKey eq ${PARTITION} and RowKey gt ${from} and RowKey lt ${`${from}~`}`;
    for await (const row of client.listEntities<HistoryEntity>({ queryOptions: { filter } })) {
      versions.push({
        serviceId: row.serviceId,
        version: row.version,
        at: row.at,
        route: row.route,
        by: { name: row.byName, ...(row.byEmail ? { email: row.byEmail } : {}) },
        changed: JSON.parse(row.changed) as string[],
        ...(row.note ? { note: row.note } : {}),
        service: JSON.parse(row.body) as DirectoryService,
      });
    }
    return versions.sort((a, b) => a.version - b.version);
  }

  async list(): Promise<DirectoryService[]> {
    const now = this.clock();
    if (this.cache && now - this.cache.at < CACHE_MS) return this.cache.services;
    const services = await this.readAll();
    this.cache = { at: now, services };
    return services;
  }

  async get(id: string): Promise<DirectoryService | undefined> {
    return (await this.list()).find((service) => service.id === id);
  }

  private async readRows(): Promise<Array<ServiceEntity & { etag: string }>> {
    const client = await this.client;
    const rows: Array<ServiceEntity & { etag: string }> = [];
    const filter = odata`PartitionKey eq ${PARTITION} and RowKey lt ${HISTORY_PREFIX}`;
    for await (const row of client.listEntities<ServiceEntity>({ queryOptions: { filter } })) rows.push(row);
    return rows;
  }

  private async readRow(id: string): Promise<(ServiceEntity & { etag: string }) | undefined> {
    const client = await this.client;
    try {
      return await client.getEntity<ServiceEntity>(PARTITION, id);
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  private async readAll(): Promise<DirectoryService[]> {
    const rows = (await this.readRows()).map((row) => row.body);
    const joined = rows.join('\n');
    if (this.parsed?.rows === joined) return this.parsed.services;
    const services = rows.length ? parseDirectory({ version: 1, services: rows.map((body) => JSON.parse(body) as unknown) }) : [];
    this.parsed = { rows: joined, services };
    return services;
  }
}

function entity(service: DirectoryService, version: number): ServiceEntity {
  return { partitionKey: PARTITION, rowKey: service.id, body: JSON.stringify(service), version };
}

function historyEntity(service: DirectoryService, version: number, how: { at: string; route: ChangeRoute; by: ChangeAuthor; changed: string[]; note?: string }): HistoryEntity {
  return {
    partitionKey: PARTITION,
    // Zero-padded so the versions sort as numbers.
    rowKey: `${HISTORY_PREFIX}${service.id}~${String(version).padStart(6, '0')}`,
    serviceId: service.id,
    version,
    at: how.at,
    route: how.route,
    byName: how.by.name,
    ...(how.by.email ? { byEmail: how.by.email } : {}),
    changed: JSON.stringify(how.changed),
    ...(how.note ? { note: how.note } : {}),
    body: JSON.stringify(service),
  };
}

/** The top-level fields whose values differ; every field of a new entry. */
function changedFields(before: DirectoryService | undefined, after: DirectoryService): string[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]);
  const value = (service: DirectoryService | undefined, key: string) => JSON.stringify((service as Record<string, unknown> | undefined)?.[key]);
  return [...keys].filter((key) => !before || value(before, key) !== value(after, key));
}

function isConflict(error: unknown): boolean {
  // A failed etag in a batch comes back as 412, or as the batch's 400/409 naming the condition.
  return error instanceof RestError && (error.statusCode === 412 || error.statusCode === 409 || /UpdateConditionNotSatisfied|ConditionNotMet/i.test(error.message));
}
