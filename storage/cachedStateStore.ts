import { TableStateStore, type StoreItem, type StoreItems } from './tableStateStore';

/** How long, and how many, items a CachedStateStore keeps. */
export interface StateCacheOptions {
  /** How long an item is kept after it was last read or written. */
  timeToLiveMs?: number;
  /** At most this many items (the oldest are dropped first). */
  maxEntries?: number;
  /** Milliseconds since some fixed point, for the time to live. */
  clock?: () => number;
}

const DEFAULT_STATE_CACHE_TTL_MS = 5 * 60_000;
const DEFAULT_STATE_CACHE_ENTRIES = 2_000;

/** A remembered item, as JSON so that no turn can change it through the object it was given. */
interface Entry {
  /** Absent for a key deleted lately: a read that began before the delete must not bring it back. */
  json?: string;
  eTag?: string;
  storedAt: number;
  /** When (in this store's own count of events) the entry was set. */
  tick: number;
}

/** On a state object filled from a copy: the eTag storage had when the copy was taken (or last written). */
const COPY_OF = Symbol('cachedCopyOf');
interface CopyMark {
  eTag: string;
}

/** A copy of one item from this process's memory, to be confirmed by storage before it counts. */
export interface CachedCopy {
  readonly key: string;
  readonly eTag: string;
  /** Fills `state` (an empty object) with a fresh copy, and marks it so that writing it is checked against this copy's eTag. */
  fill(state: Record<string, unknown>): void;
  /** True when `state`, filled from this copy, still holds exactly what the copy held. */
  unchanged(state: Record<string, unknown>): boolean;
}

/**
 * Bot state (see TableStateStore) with a small memory of the items this process last read or
 * wrote, so that a click on the referral form can be answered without first reading the form's
 * state from storage (every storage request costs the bot a large share of a form step's CPU).
 *
 * Every ordinary `read` goes to storage, as before, and refreshes the memory. Only a caller that
 * asks for a `cachedCopy` gets the remembered item, and a copy may be out of date: another
 * instance answered the last click, or the person's data was erased. So a copy counts only once
 * storage confirms it:
 * - writing the state a copy was filled into is checked against the copy's eTag, and never
 *   recreates an item deleted meanwhile (both are a StateConflictError);
 * - `confirm` asks storage whether the copy is still current, for a caller about to change
 *   something beyond the state (a referral stored, an audit event) on the strength of it.
 *
 * What is held is what people typed into the form: process memory only, never logged, and
 * dropped when an item holds nothing any more (a form ended or was cancelled), when it is
 * deleted, when its time to live runs out, and oldest first beyond the size bound.
 */
export class CachedStateStore {
  private readonly remembered = new Map<string, Entry>();
  private readonly timeToLiveMs: number;
  private readonly maxEntries: number;
  private readonly clock: () => number;
  private tick = 0;
  private sweep: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: TableStateStore,
    options: StateCacheOptions = {},
  ) {
    this.timeToLiveMs = options.timeToLiveMs ?? DEFAULT_STATE_CACHE_TTL_MS;
    this.maxEntries = options.maxEntries ?? DEFAULT_STATE_CACHE_ENTRIES;
    this.clock = options.clock ?? (() => performance.now());
  }

  /** From storage, always; what is read is remembered. */
  async read(keys: string[]): Promise<StoreItems> {
    const began = ++this.tick;
    const items = await this.store.read(keys);
    for (const key of keys) {
      const current = this.remembered.get(key);
      // Something written or deleted since this read began knows better than the read.
      if (current && current.tick > began) continue;
      const { eTag, ...value } = (items[key] ?? {}) as StoreItem;
      this.remember(key, items[key] ? value : undefined, eTag);
    }
    return items;
  }

  /**
   * Writes as TableStateStore does, except that an item filled from a cached copy is written
   * with that copy's eTag, whatever eTag it carries now (botbuilder sets "*"), and is never
   * written anew if deleted meanwhile.
   */
  async write(changes: StoreItems): Promise<void> {
    await Promise.all(
      Object.entries(changes).map(async ([key, item]) => {
        const mark = copyMark(item);
        const { eTag, ...value } = (item ?? {}) as StoreItem;
        let stored: string | undefined;
        try {
          stored = mark
            ? (await this.store.writeItems({ [key]: { ...value, eTag: mark.eTag } }, { recreateDeleted: false }))[key]
            : (await this.store.writeItems({ [key]: { ...value, eTag } }))[key];
        } catch (error) {
          this.forget(key);
          throw error;
        }
        // A later write of the same state object in this turn is checked against what is stored now.
        if (mark && stored) mark.eTag = stored;
        this.remember(key, value, stored);
      }),
    );
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) this.forgetDeleted(key);
    await this.store.delete(keys);
    for (const key of keys) this.forgetDeleted(key);
  }

  /** Every stored item, from storage (for the person's-rights tools, never on a turn's path). */
  entries(): AsyncIterable<{ key: string; value: Record<string, unknown>; writtenAt?: string }> {
    return this.store.entries();
  }

  /** The remembered item under `key`, if there is a fresh one. Never reads storage. */
  cachedCopy(key: string): CachedCopy | undefined {
    const entry = this.fresh(key);
    if (!entry?.json || !entry.eTag) return undefined;
    const { json, eTag } = entry;
    return {
      key,
      eTag,
      fill(state) {
        Object.assign(state, JSON.parse(json));
        Object.defineProperty(state, COPY_OF, { value: { eTag } satisfies CopyMark, enumerable: false, configurable: true, writable: true });
      },
      unchanged(state) {
        const { eTag: _ignored, ...value } = state;
        return JSON.stringify(value) === json;
      },
    };
  }

  /** True when storage still holds the version the copy was taken from (one read, which refreshes the memory). */
  async confirm(copy: CachedCopy): Promise<boolean> {
    const current = (await this.read([copy.key]))[copy.key] as StoreItem | undefined;
    return current?.eTag === copy.eTag;
  }

  /** Drops what is remembered under `key`, e.g. a copy storage refused. */
  forget(key: string): void {
    this.remembered.delete(key);
  }

  /** How many items are remembered now (for tests and measurements). */
  get size(): number {
    this.dropExpired();
    return [...this.remembered.values()].filter((entry) => entry.json !== undefined).length;
  }

  private fresh(key: string): Entry | undefined {
    const entry = this.remembered.get(key);
    if (!entry) return undefined;
    if (this.clock() - entry.storedAt >= this.timeToLiveMs) {
      this.remembered.delete(key);
      return undefined;
    }
    return entry;
  }

  private remember(key: string, value: Record<string, unknown> | undefined, eTag: string | undefined): void {
    this.remembered.delete(key);
    if (value === undefined || !eTag || holdsNothing(value)) return;
    this.set(key, { json: JSON.stringify(value), eTag, storedAt: this.clock(), tick: ++this.tick });
  }

  private forgetDeleted(key: string): void {
    this.remembered.delete(key);
    this.set(key, { storedAt: this.clock(), tick: ++this.tick });
  }

  /** Newest last, so the oldest are at the front for the size bound and the time to live. */
  private set(key: string, entry: Entry): void {
    this.remembered.set(key, entry);
    while (this.remembered.size > this.maxEntries) this.remembered.delete(this.remembered.keys().next().value!);
    this.dropExpired();
    this.sweepLater();
  }

  private dropExpired(): void {
    const now = this.clock();
    for (const [key, entry] of this.remembered) {
      if (now - entry.storedAt < this.timeToLiveMs) break;
      this.remembered.delete(key);
    }
  }

  /** So that an idle process does not keep what people typed past its time to live: wakes when the oldest expires. */
  private sweepLater(): void {
    const oldest = this.remembered.values().next().value;
    if (this.sweep || !oldest) return;
    this.sweep = setTimeout(() => {
      this.sweep = undefined;
      this.dropExpired();
      this.sweepLater();
    }, Math.max(0, oldest.storedAt + this.timeToLiveMs - this.clock()) + 1);
    this.sweep.unref();
  }
}

function copyMark(item: unknown): CopyMark | undefined {
  return typeof item === 'object' && item !== null ? ((item as { [COPY_OF]?: CopyMark })[COPY_OF]) : undefined;
}

/**
 * True for a value with nothing in it but empty objects and lists, such as the state a form
 * leaves when it ends (`{ dialogState: { dialogStack: [] } }`): nothing worth remembering.
 */
export function holdsNothing(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.every(holdsNothing);
  if (typeof value === 'object') return Object.values(value).every(holdsNothing);
  return false;
}
