import type { TableConnection } from './tables';
import { DirectoryService, DirectoryValidationError, parseDirectory } from '../domain/directory/schema';
import { ChangeAuthor, ChangeRoute, EntryChange, EntryVersion, VersionedEntries } from './versionedEntries';

export { CHANGE_ROUTES, type ChangeAuthor, type ChangeRoute } from './versionedEntries';

/**
 * The service directory in Table storage: versioned entries (storage/versionedEntries.ts) under
 * the services' schema. The checked-in file seeds it on first start; an explicit import
 * (`npm run directory -- import`) replaces it. Every change is a new version with its history.
 */

export const SERVICE_ENTRIES = {
  partition: 'service',
  noun: 'service',
  parse: (services: unknown[]) => parseDirectory({ version: 1, services }),
  problemsOf: (error: unknown) => (error instanceof DirectoryValidationError ? error.problems : undefined),
};

export class DirectoryRepository {
  private readonly entries: VersionedEntries<DirectoryService>;

  constructor(tables: TableConnection, tableName = 'directory', clock: () => number = Date.now) {
    this.entries = new VersionedEntries(tables, tableName, SERVICE_ENTRIES, clock);
  }

  /** Loads the services if the table is empty; returns whether it did. */
  seedIfEmpty(services: DirectoryService[]): Promise<boolean> {
    return this.entries.seedIfEmpty(services);
  }

  /** Replaces the directory with these services (changed ones become new versions, route `import`). Returns the ids removed. */
  importAll(services: DirectoryService[], by?: ChangeAuthor, at?: string): Promise<{ imported: number; removed: string[] }> {
    return this.entries.importAll(services, by, at);
  }

  /** A service as stored now, with its version: read afresh, never from the cache (a change is checked against it). */
  async current(id: string): Promise<{ service: DirectoryService; version: number } | undefined> {
    const stored = await this.entries.current(id);
    return stored && { service: stored.entry, version: stored.version };
  }

  /** Changes one service against the version the person saw; the result must pass the import's schema (see VersionedEntries.change). */
  change(
    id: string,
    expectedVersion: number | undefined,
    edit: (service: DirectoryService) => unknown,
    how: { route: ChangeRoute; by: ChangeAuthor; at: string; note?: string },
  ): Promise<EntryChange<DirectoryService>> {
    return this.entries.change(id, expectedVersion, edit, how);
  }

  /** Every version of a service, oldest first (the services imported before versions were kept start at their first change). */
  history(id: string): Promise<Array<EntryVersion<DirectoryService>>> {
    return this.entries.history(id);
  }

  list(): Promise<DirectoryService[]> {
    return this.entries.list();
  }

  get(id: string): Promise<DirectoryService | undefined> {
    return this.entries.get(id);
  }
}
