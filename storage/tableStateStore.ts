import { createHash } from 'node:crypto';
import { TableClient, TableEntityResult } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import { asciiJson, Chunked, CHUNK_CHARS, fromChunks, toChunks } from './chunkedJson';

/**
 * Bot state (conversation, user and dialog state) on Azure Table storage.
 *
 * This class satisfies botbuilder's `Storage` interface structurally (read/write/delete of
 * `StoreItems`), so the storage layer does not import the Bot Framework SDK and survives a
 * move to the M365 Agents SDK, whose storage interface has the same shape.
 *
 * eTags follow botbuilder's contract: an item written with the eTag it was read with
 * succeeds only if nobody wrote in between; `*` or no eTag overwrites.
 */

// Values are split across numbered properties to use the whole entity (see chunkedJson.ts).
const MAX_CHUNKS = 15;
export const MAX_STATE_CHARS = CHUNK_CHARS * MAX_CHUNKS;

export type StoreItem = { eTag?: string; [key: string]: unknown };
export type StoreItems = Record<string, any>;

export class StateConflictError extends Error {
  readonly code = 'StateConflict';
  constructor(key: string) {
    super(`State for "${describeKey(key)}" was changed by another turn (eTag mismatch); nothing was written.`);
  }
}

export class StateTooLargeError extends Error {
  readonly code = 'StateTooLarge';
  constructor(key: string, size: number) {
    super(
      `State for "${describeKey(key)}" is ${size} characters; Table storage allows at most ` +
        `${MAX_STATE_CHARS} per item. Keep less in conversation or dialog state.`,
    );
  }
}

interface StateEntity extends Chunked {
  partitionKey: string;
  rowKey: string;
  key: string;
}

export class TableStateStore {
  private readonly client: Promise<TableClient>;

  constructor(tables: TableConnection, tableName = 'botstate') {
    this.client = tables.table(tableName);
  }

  async read(keys: string[]): Promise<StoreItems> {
    const client = await this.client;
    const items: StoreItems = {};
    await Promise.all(
      keys.map(async (key) => {
        const { partitionKey, rowKey } = entityAddress(key);
        try {
          const entity = await client.getEntity<StateEntity>(partitionKey, rowKey);
          items[key] = { ...decode(entity), eTag: entity.etag };
        } catch (error) {
          if (!isStatus(error, 404)) throw error;
        }
      }),
    );
    return items;
  }

  async write(changes: StoreItems): Promise<void> {
    await this.writeItems(changes);
  }

  /**
   * Writes each item; answers the eTag storage now has for each key, so a cache of what was
   * written can hold the version storage holds. `recreateDeleted: false` makes an eTag write to
   * an item deleted since it was read a conflict rather than writing it anew: for a copy that
   * was not read from storage on this turn, "deleted" may mean erased, which must stay so.
   */
  async writeItems(changes: StoreItems, options: { recreateDeleted?: boolean } = {}): Promise<Record<string, string | undefined>> {
    const client = await this.client;
    const written: Record<string, string | undefined> = {};
    await Promise.all(
      Object.entries(changes).map(async ([key, item]) => {
        const { eTag, ...value } = (item ?? {}) as StoreItem;
        const entity = encode(key, value);
        if (!eTag || eTag === '*') {
          written[key] = (await client.upsertEntity(entity, 'Replace')).etag;
          return;
        }
        try {
          written[key] = (await client.updateEntity(entity, 'Replace', { etag: eTag })).etag;
        } catch (error) {
          if (isStatus(error, 412)) throw new StateConflictError(key);
          if (!isStatus(error, 404)) throw error;
          if (options.recreateDeleted === false) throw new StateConflictError(key);
          // The item is gone (deleted since it was read): writing it anew is what botbuilder's
          // own storages do, but only if nobody created it meanwhile.
          try {
            written[key] = (await client.createEntity(entity)).etag;
          } catch (createError) {
            if (isStatus(createError, 409)) throw new StateConflictError(key);
            throw createError;
          }
        }
      }),
    );
    return written;
  }

  /**
   * Every item with its key, for the person's-rights tools that must find a referral in progress
   * wherever a conversation holds it. Reads the whole table: never on a turn's path.
   */
  async *entries(): AsyncIterable<{ key: string; value: Record<string, unknown>; writtenAt?: string }> {
    const client = await this.client;
    for await (const entity of client.listEntities<StateEntity>()) {
      yield { key: entity.key, value: decode(entity), writtenAt: entity.timestamp };
    }
  }

  async delete(keys: string[]): Promise<void> {
    const client = await this.client;
    await Promise.all(
      keys.map(async (key) => {
        const { partitionKey, rowKey } = entityAddress(key);
        try {
          await client.deleteEntity(partitionKey, rowKey);
        } catch (error) {
          if (!isStatus(error, 404)) throw error;
        }
      }),
    );
  }
}

/**
 * Keys from botbuilder contain '/', which Table keys forbid (as they do '\', '#', '?').
 * Short keys are kept readable; long ones are hashed so they fit the 1 KiB key limit.
 */
function entityAddress(key: string): { partitionKey: string; rowKey: string } {
  const encoded = encodeURIComponent(key).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
  const partitionKey = encoded.length <= 400 ? encoded : `sha256-${createHash('sha256').update(key).digest('hex')}`;
  return { partitionKey, rowKey: 'state' };
}

function encode(key: string, value: Record<string, unknown>): StateEntity {
  const json = asciiJson(value);
  if (json.length > MAX_STATE_CHARS) throw new StateTooLargeError(key, json.length);
  return { ...entityAddress(key), key, ...toChunks(json) };
}

function decode(entity: TableEntityResult<StateEntity>): Record<string, unknown> {
  return JSON.parse(fromChunks(entity)) as Record<string, unknown>;
}

function isStatus(error: unknown, status: number): boolean {
  return statusOf(error) === status;
}

/** Keys can carry Teams conversation ids; show only their kind in errors and logs. */
function describeKey(key: string): string {
  const parts = key.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}/…` : key.slice(0, 40);
}
