import type { TableConnection } from './tables';
import { ActivitiesValidationError, Activity, parseActivities } from '../domain/directory/activities';
import { ChangeAuthor, ChangeRoute, EntryChange, EntryVersion, VersionedEntries } from './versionedEntries';

/**
 * The activities directory in Table storage, kept like the service directory: the checked-in
 * sample seeds it on first start, an import replaces it whole (activities no longer in the file
 * are removed), and every change (an import, a maintainer's answer) is a new version with who
 * made it, when and by which route (storage/versionedEntries.ts). Every entry is validated
 * against the import's schema before anything is written, so a bad file or edit changes nothing.
 */

export type ActivityVersion = EntryVersion<Activity>;
export type ActivityChange = EntryChange<Activity>;

export const ACTIVITY_ENTRIES = {
  partition: 'activity',
  noun: 'activity',
  parse: (activities: unknown[]) => parseActivities({ version: 1, activities }),
  problemsOf: (error: unknown) => (error instanceof ActivitiesValidationError ? error.problems : undefined),
};

export class ActivityRepository {
  private readonly entries: VersionedEntries<Activity>;

  constructor(tables: TableConnection, tableName = 'activities', clock: () => number = Date.now) {
    this.entries = new VersionedEntries(tables, tableName, ACTIVITY_ENTRIES, clock);
  }

  seedIfEmpty(activities: Activity[]): Promise<boolean> {
    return this.entries.seedIfEmpty(activities);
  }

  importAll(activities: Activity[], by?: ChangeAuthor, at?: string): Promise<{ imported: number; removed: string[] }> {
    return this.entries.importAll(activities, by, at);
  }

  /** Every activity (stopped ones included: searches leave those out), read at most every 30 seconds unless `fresh`. */
  list(fresh = false): Promise<Activity[]> {
    return this.entries.list(fresh);
  }

  get(id: string): Promise<Activity | undefined> {
    return this.entries.get(id);
  }

  /** An activity as stored now, with its version (never from the cache). */
  async current(id: string): Promise<{ activity: Activity; version: number } | undefined> {
    const stored = await this.entries.current(id);
    return stored && { activity: stored.entry, version: stored.version };
  }

  /** Changes one activity against the version the person saw; the result must pass the import's schema. */
  change(id: string, expectedVersion: number | undefined, edit: (activity: Activity) => unknown, how: { route: ChangeRoute; by: ChangeAuthor; at: string; note?: string }): Promise<ActivityChange> {
    return this.entries.change(id, expectedVersion, edit, how);
  }

  /** Every version of an activity, oldest first. */
  history(id: string): Promise<ActivityVersion[]> {
    return this.entries.history(id);
  }
}
