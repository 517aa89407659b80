import { odata, TableClient } from '@azure/data-tables';
import type { TableConnection } from './tables';
import { Activity, parseActivities } from '../domain/directory/activities';

/**
 * The activities directory in Table storage, kept like the service directory: the checked-in
 * sample seeds it on first start, and an import replaces it whole (activities no longer in the
 * file are removed). One partition, so an import is a few atomic batches; every entry is
 * validated before anything is written, so a bad file changes nothing.
 */
type ActivityEntity = { partitionKey: string; rowKey: string; body: string };

const PARTITION = 'activity';
const CACHE_MS = 30_000;

export class ActivityRepository {
  private readonly client: Promise<TableClient>;
  /** The same list is handed out until the rows change, so the search index built per list is reused. */
  private cache: { at: number; rows: string; activities: Activity[] } | undefined;

  constructor(tables: TableConnection, tableName = 'activities', private readonly clock: () => number = Date.now) {
    this.client = tables.table(tableName);
  }

  async seedIfEmpty(activities: Activity[]): Promise<boolean> {
    if ((await this.readRows()).length > 0) return false;
    await this.importAll(activities);
    return true;
  }

  async importAll(activities: Activity[]): Promise<{ imported: number; removed: string[] }> {
    const valid = parseActivities({ version: 1, activities });
    const client = await this.client;
    const keep = new Set(valid.map((activity) => activity.id));
    const removed = (await this.list(true)).map((activity) => activity.id).filter((id) => !keep.has(id));
    const actions = [
      ...valid.map((activity) => ['upsert', { partitionKey: PARTITION, rowKey: activity.id, body: JSON.stringify(activity) }, 'Replace'] as const),
      ...removed.map((id) => ['delete', { partitionKey: PARTITION, rowKey: id }] as const),
    ];
    for (let start = 0; start < actions.length; start += 100) await client.submitTransaction(actions.slice(start, start + 100) as never);
    this.cache = undefined;
    return { imported: valid.length, removed };
  }

  /** Every activity, read at most every 30 seconds unless `fresh`. */
  async list(fresh = false): Promise<Activity[]> {
    const now = this.clock();
    if (!fresh && this.cache && now - this.cache.at < CACHE_MS) return this.cache.activities;
    const rows = (await this.readRows()).join('\n');
    const activities = this.cache?.rows === rows ? this.cache.activities : rows ? parseActivities({ version: 1, activities: rows.split('\n').map((row) => JSON.parse(row) as unknown) }) : [];
    this.cache = { at: now, rows, activities };
    return activities;
  }

  async get(id: string): Promise<Activity | undefined> {
    return (await this.list()).find((activity) => activity.id === id);
  }

  private async readRows(): Promise<string[]> {
    const client = await this.client;
    const rows: string[] = [];
    for await (const row of client.listEntities<ActivityEntity>({ queryOptions: { filter: odata`PartitionKey eq ${PARTITION}` } })) rows.push(row.body);
    return rows;
  }
}
