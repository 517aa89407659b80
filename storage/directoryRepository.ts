import { odata, TableClient } from '@azure/data-tables';
import type { TableConnection } from './tables';
import { DirectoryService, parseDirectory } from '../domain/directory/schema';

/**
 * The service directory in Table storage. The checked-in file seeds it on first start; an
 * explicit import (`npm run directory -- import`) replaces it, removing services no longer in
 * the file. Reads are cached briefly: the directory changes rarely and every referral step asks.
 */
type ServiceEntity = { partitionKey: string; rowKey: string; body: string };

const PARTITION = 'service';
const CACHE_MS = 30_000;

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

  /** Replaces the directory with these services. Returns the ids removed. */
  async importAll(services: DirectoryService[]): Promise<{ imported: number; removed: string[] }> {
    const valid = parseDirectory({ version: 1, services });
    const client = await this.client;
    const existing = await this.readAll();
    const keep = new Set(valid.map((service) => service.id));
    const removed = existing.filter((service) => !keep.has(service.id)).map((service) => service.id);
    // One partition, so the whole import is a few atomic batches (100 operations each).
    const actions = [
      ...valid.map((service) => ['upsert', entity(service), 'Replace'] as const),
      ...removed.map((id) => ['delete', { partitionKey: PARTITION, rowKey: id }] as const),
    ];
    for (let index = 0; index < actions.length; index += 100) {
      await client.submitTransaction(actions.slice(index, index + 100) as never);
    }
    this.cache = undefined;
    return { imported: valid.length, removed };
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

  private async readAll(): Promise<DirectoryService[]> {
    const client = await this.client;
    const rows: string[] = [];
    for await (const row of client.listEntities<ServiceEntity>({ queryOptions: { filter: odata`PartitionKey eq ${PARTITION}` } })) {
      rows.push(row.body);
    }
    const joined = rows.join('\n');
    if (this.parsed?.rows === joined) return this.parsed.services;
    const services = rows.length ? parseDirectory({ version: 1, services: rows.map((body) => JSON.parse(body) as unknown) }) : [];
    this.parsed = { rows: joined, services };
    return services;
  }
}

function entity(service: DirectoryService): ServiceEntity {
  return { partitionKey: PARTITION, rowKey: service.id, body: JSON.stringify(service) };
}
