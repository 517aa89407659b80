import { odata, TableClient, TransactionAction } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import type { AuditEvent } from '../domain/referral/referral';
import { auditEntity, isAlreadyExists } from './referralEntities';

/**
 * The outbox: notifications written in the same transaction as the change they report (rows
 * `outbox-<key>` in the referral's partition of `referrals`), sent later by the dispatcher.
 * So that senders never scan every referral to find them, each is also listed in
 * `outboxindex` (partition `pending`, then `failed` if it fails for good), written just before
 * the transaction: an index row whose transaction then failed points at nothing, and the
 * sender drops it once it is old enough that the transaction cannot still be under way.
 */

/** An index row older than this whose outbox row does not exist belongs to a change that failed. */
const DANGLING_INDEX_MS = 10 * 60 * 1000;
/** At most this many outbox rows are read at once. */
const READ_SLICE = 50;
/** Rows named in one query of a partition: a filter may hold at most 15 comparisons, one of them the partition's. */
const KEYS_PER_QUERY = 14;
/** An entity-group transaction holds at most 100 operations. */
const MAX_TRANSACTION_ACTIONS = 100;

/** A notification written with the change it reports, sent later by the dispatcher. */
export interface OutboxMessage {
  /** Idempotency key: one per notification and channel (e.g. referral:version:teams). */
  key: string;
  /** 'signpost': Signpost's own work behind a reply (a referral's clocks), nobody is messaged. */
  channel: 'teams' | 'email' | 'signpost';
  /** What to send; no patient identifiers beyond reference and initials. */
  payload: Record<string, unknown>;
  /**
   * Messages of one partition in the same lane (e.g. a referral's updates to its referrer by
   * Teams) are delivered in the order queued: one waiting for a retry holds back those queued
   * after it, so nobody hears "closed" before "accepted".
   */
  lane?: string;
}

export type OutboxState = 'pending' | 'sending' | 'sent' | 'failed';

export interface OutboxEntry extends OutboxMessage {
  referralId: string;
  state: OutboxState;
  attempts: number;
  nextAttemptAt: string;
  lastError?: string;
  etag: string;
}

export type OutboxEntity = {
  partitionKey: string;
  rowKey: string;
  kind: 'outbox';
  key: string;
  channel: string;
  state: OutboxState;
  attempts: number;
  nextAttemptAt: string;
  lastError?: string;
  lane?: string;
  body: string;
};

type OutboxIndexEntity = {
  partitionKey: 'pending' | 'failed';
  rowKey: string;
  /** The outbox row's partition: a referral id, or e.g. `digest-<service>` for messages about no one referral. */
  referralId: string;
  key: string;
  createdAt: string;
  /** When the message is next due (its row's nextAttemptAt as of its last retry); rows written before this field are read every pass. */
  nextAttemptAt?: string;
  /** The message's channel: what people wait for (Teams, email) is sent before Signpost's own work. */
  channel?: OutboxMessage['channel'];
  lane?: string;
};

/** People's messages first, then Signpost's own work (clocks, report counts); each oldest first. */
const sendingOrder = (row: OutboxIndexEntity) => (row.channel === 'signpost' ? 1 : 0);

export class OutboxRepository {
  private readonly records: Promise<TableClient>;
  private readonly outboxIndex: Promise<TableClient>;

  constructor(tables: TableConnection, options: { tablePrefix?: string } = {}) {
    const prefix = options.tablePrefix ?? '';
    this.records = tables.table(`${prefix}referrals`);
    this.outboxIndex = tables.table(`${prefix}outboxindex`);
  }

  /**
   * Notifications due now, people's before Signpost's own work and oldest first: pending, or claimed by a sender whose lease ran out.
   * Reads the index of undelivered notifications (one query; each row says when its message is
   * next due), then only the rows of those due, side by side: never the referrals themselves,
   * and never every message waiting for a retry.
   */
  async due(now: Date, limit = 50): Promise<OutboxEntry[]> {
    const iso = now.toISOString();
    const rows = (await this.indexRows('pending')).sort((a, b) => sendingOrder(a) - sendingOrder(b) || a.createdAt.localeCompare(b.createdAt) || a.rowKey.localeCompare(b.rowKey));
    // A lane stops at its first message not due (waiting for a retry), or not free to send (another
    // sender has it). Each check keeps its own stops: the rows read go only as far as the index's stop.
    const candidates = rows.filter(inLaneOrder((row) => !row.nextAttemptAt || row.nextAttemptAt <= iso));
    const free = inLaneOrder((entry: OutboxEntry) => (entry.state === 'pending' || entry.state === 'sending') && entry.nextAttemptAt <= iso);
    return this.entriesOf('pending', candidates, free, limit);
  }

  /**
   * Claims a notification for sending (eTag-checked, with a lease): of several senders, one
   * wins; if it dies mid-send, the lease runs out and another sender picks the message up.
   */
  async claim(entry: OutboxEntry, leaseUntil: Date): Promise<OutboxEntry | undefined> {
    try {
      const response = await (await this.records).updateEntity(
        { partitionKey: entry.referralId, rowKey: outboxRow(entry.key), state: 'sending', nextAttemptAt: leaseUntil.toISOString(), attempts: entry.attempts + 1 },
        'Merge',
        { etag: entry.etag },
      );
      return { ...entry, state: 'sending', attempts: entry.attempts + 1, nextAttemptAt: leaseUntil.toISOString(), etag: response.etag ?? entry.etag };
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /**
   * Claims several notifications of one partition (one referral's, sent one after another) in
   * one transaction, each eTag-checked as claim() checks it: one request instead of one each.
   * If any of them was taken or changed meanwhile, the transaction changes nothing and each is
   * claimed on its own, so the others are still sent (not those after it in its lane). Returns
   * those claimed, in order.
   */
  async claimAll(entries: OutboxEntry[], leaseUntil: Date): Promise<OutboxEntry[]> {
    const lease = leaseUntil.toISOString();
    return this.inTransactions(
      entries,
      (entry) => ['update', { partitionKey: entry.referralId, rowKey: outboxRow(entry.key), state: 'sending', nextAttemptAt: lease, attempts: entry.attempts + 1 }, 'Merge', { etag: entry.etag }],
      (entry, etag) => ({ ...entry, state: 'sending', attempts: entry.attempts + 1, nextAttemptAt: lease, etag: etag ?? entry.etag }),
      (some) => this.claimEach(some, leaseUntil),
    );
  }

  /**
   * One partition's entries changed in transactions of up to 100 (`accepted`: each as changed,
   * with the eTag storage answered); for several partitions, or a slice storage refused because
   * one of them was taken or is gone (412, 404), `oneByOne` does what it can.
   */
  private async inTransactions(
    entries: OutboxEntry[],
    action: (entry: OutboxEntry) => TransactionAction,
    accepted: (entry: OutboxEntry, etag: string | undefined) => OutboxEntry,
    oneByOne: (some: OutboxEntry[]) => Promise<OutboxEntry[]>,
  ): Promise<OutboxEntry[]> {
    if (entries.length < 2 || new Set(entries.map((entry) => entry.referralId)).size > 1) return oneByOne(entries);
    const done: OutboxEntry[] = [];
    for (let start = 0; start < entries.length; start += MAX_TRANSACTION_ACTIONS) {
      const slice = entries.slice(start, start + MAX_TRANSACTION_ACTIONS);
      try {
        const { subResponses } = await (await this.records).submitTransaction(slice.map(action));
        // Answers come in the order of the actions.
        slice.forEach((entry, index) => done.push(accepted(entry, subResponses[index]?.etag)));
      } catch (error) {
        if (statusOf(error) !== 412 && statusOf(error) !== 404) throw error;
        done.push(...(await oneByOne(slice)));
      }
    }
    return done;
  }

  /**
   * Claims each on its own, those of different lanes side by side. In a lane, one that another
   * sender has (or just settled) stops those after it: claimed here, they could reach the
   * referrer before it, or while it waits for a retry. The next read of what is due takes them.
   */
  private async claimEach(entries: OutboxEntry[], leaseUntil: Date): Promise<OutboxEntry[]> {
    const lanes = new Map<string, OutboxEntry[]>();
    entries.forEach((entry, position) => {
      const lane = laneOf(entry.referralId, entry.lane) ?? `alone:${position}`;
      lanes.set(lane, [...(lanes.get(lane) ?? []), entry]);
    });
    const claimed = new Map<OutboxEntry, OutboxEntry>();
    await Promise.all(
      [...lanes.values()].map(async (inLane) => {
        for (const entry of inLane) {
          const mine = await this.claim(entry, leaseUntil);
          if (!mine) return;
          claimed.set(entry, mine);
        }
      }),
    );
    return entries.flatMap((entry) => claimed.get(entry) ?? []);
  }

  /**
   * Marks a claimed notification sent, to retry at a time, or failed for good. `unlistLater`: a
   * sent one's index row is left for the caller to remove with others (unlist()).
   */
  async settle(
    entry: OutboxEntry,
    outcome: { state: 'sent' | 'failed' } | { state: 'pending'; retryAt: Date },
    lastError?: string,
    options: { unlistLater?: boolean } = {},
  ): Promise<void> {
    await (await this.records).updateEntity(
      {
        partitionKey: entry.referralId,
        rowKey: outboxRow(entry.key),
        state: outcome.state,
        nextAttemptAt: outcome.state === 'pending' ? outcome.retryAt.toISOString() : entry.nextAttemptAt,
        lastError: lastError?.slice(0, 300) ?? '',
      },
      'Merge',
      { etag: entry.etag },
    );
    // The row above is the truth; the index follows it (a crash here is mended by the next read,
    // and a retry time not copied to the index only costs a read of the row until it is due).
    if (outcome.state === 'sent' && options.unlistLater) return;
    if (outcome.state !== 'pending') await this.moveIndex(entry.referralId, entry.key, outcome.state, entry.nextAttemptAt);
    else await this.retryIndexRow(entry.referralId, entry.key, outcome.retryAt.toISOString());
  }

  /**
   * Marks several claimed notifications of one partition sent in one transaction (eTag-checked,
   * as settle() is), leaving their index rows for unlist(). If any was taken meanwhile (its lease
   * ran out and another sender claimed it), each is marked on its own and that one is left to
   * the sender that has it. Returns those marked.
   */
  async settleAllSent(entries: OutboxEntry[]): Promise<OutboxEntry[]> {
    return this.inTransactions(
      entries,
      (entry) => ['update', { partitionKey: entry.referralId, rowKey: outboxRow(entry.key), state: 'sent', nextAttemptAt: entry.nextAttemptAt, lastError: '' }, 'Merge', { etag: entry.etag }],
      (entry) => entry,
      async (some) => {
        const settled: OutboxEntry[] = [];
        for (const entry of some) {
          try {
            await this.settle(entry, { state: 'sent' }, undefined, { unlistLater: true });
            settled.push(entry);
          } catch (error) {
            if (statusOf(error) !== 412 && statusOf(error) !== 404) throw error;
          }
        }
        return settled;
      },
    );
  }

  /**
   * Gives back a claimed notification unsent, without counting the attempt, to be due again at
   * `until`: one queued after a message of its lane that is waiting for a retry. One whose lease
   * ran out and that another sender took meanwhile is left to that sender.
   */
  async release(entry: OutboxEntry, until: Date): Promise<void> {
    try {
      await (await this.records).updateEntity(
        { partitionKey: entry.referralId, rowKey: outboxRow(entry.key), state: 'pending', nextAttemptAt: until.toISOString(), attempts: Math.max(0, entry.attempts - 1) },
        'Merge',
        { etag: entry.etag },
      );
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) return;
      throw error;
    }
    await this.retryIndexRow(entry.referralId, entry.key, until.toISOString());
  }

  /**
   * Removes sent notifications from the index of undelivered ones: in one transaction (they are
   * all in its `pending` partition), or one by one if that fails because one was already removed
   * (a sender that found it sent mends the index itself).
   */
  async unlist(sent: OutboxEntry[]): Promise<void> {
    const rowKeys = [...new Set(sent.map((entry) => indexRow(entry.referralId, entry.key)))];
    const index = await this.outboxIndex;
    for (let start = 0; start < rowKeys.length; start += MAX_TRANSACTION_ACTIONS) {
      const slice = rowKeys.slice(start, start + MAX_TRANSACTION_ACTIONS);
      if (slice.length === 1) {
        await this.deleteIndexRow('pending', slice[0]);
        continue;
      }
      try {
        await index.submitTransaction(slice.map((rowKey): TransactionAction => ['delete', { partitionKey: 'pending', rowKey }]));
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
        for (const rowKey of slice) await this.deleteIndexRow('pending', rowKey);
      }
    }
  }

  /** Adds a notification outside a referral change (e.g. email when Teams cannot reach someone). */
  async enqueue(referralId: string, message: OutboxMessage, at: string): Promise<void> {
    await this.index(referralId, [message], at);
    try {
      await (await this.records).createEntity(outboxEntity(referralId, message, at));
    } catch (error) {
      if (statusOf(error) !== 409) throw error; // already queued: the key makes this idempotent
    }
  }

  /**
   * Queues notifications with the audit event that records them, in one transaction in
   * `partition` (a referral id, or a partition of its own for messages about no one referral).
   * Returns false when they were queued before (the keys are idempotent): a reminder that is
   * fired twice is sent and recorded once.
   */
  async record(partition: string, messages: OutboxMessage[], event: AuditEvent | undefined, at: string): Promise<boolean> {
    if (!messages.length && !event) return true;
    await this.index(partition, messages, at);
    const actions: TransactionAction[] = [
      ...(event ? [['create', auditEntity(partition, event)] as TransactionAction] : []),
      ...messages.map((message): TransactionAction => ['create', outboxEntity(partition, message, at)]),
    ];
    try {
      await (await this.records).submitTransaction(actions);
      return true;
    } catch (error) {
      if (isAlreadyExists(error)) return false;
      throw error;
    }
  }

  /** Notifications not yet delivered (sending included in pending) and failed for good: index rows only. */
  async counts(): Promise<{ pending: number; failed: number }> {
    const index = await this.outboxIndex;
    const count = async (partition: 'pending' | 'failed') => {
      let total = 0;
      for await (const _ of index.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${partition}`, select: ['RowKey'] } })) total += 1;
      return total;
    };
    const [pending, failed] = await Promise.all([count('pending'), count('failed')]);
    return { pending, failed };
  }

  async failed(): Promise<OutboxEntry[]> {
    return (await this.indexedOutbox('failed')).filter((entry) => entry.state === 'failed');
  }

  /** One notification by its key, whatever its state (sent ones are kept). */
  async get(partition: string, key: string): Promise<OutboxEntry | undefined> {
    try {
      return outboxEntry(await (await this.records).getEntity<OutboxEntity>(partition, outboxRow(key)));
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** The entries an index partition lists, mending rows that no longer match their entry. */
  private async indexedOutbox(partition: 'pending' | 'failed'): Promise<OutboxEntry[]> {
    return this.entriesOf(partition, await this.indexRows(partition), () => true);
  }

  /**
   * The entries these index rows list that `wanted` keeps, up to `limit`: read side by side a
   * slice at a time (never hundreds of requests at once), each slice a little larger than what is
   * still wanted, since some rows turn out to be in flight or done.
   */
  private async entriesOf(partition: 'pending' | 'failed', rows: OutboxIndexEntity[], wanted: (entry: OutboxEntry) => boolean, limit = Number.POSITIVE_INFINITY): Promise<OutboxEntry[]> {
    const found: OutboxEntry[] = [];
    for (let start = 0; start < rows.length && found.length < limit; ) {
      const slice = rows.slice(start, start + Math.min(READ_SLICE, limit - found.length + 5));
      start += slice.length;
      const stored = await this.storedEntries(slice);
      for (const entry of await Promise.all(slice.map((row) => this.entryFor(partition, row, stored.get(storedKey(row.referralId, row.key)))))) {
        if (entry && wanted(entry) && found.length < limit) found.push(entry);
      }
    }
    return found;
  }

  private async indexRows(partition: 'pending' | 'failed'): Promise<Array<OutboxIndexEntity & { timestamp?: string }>> {
    const index = await this.outboxIndex;
    const rows: Array<OutboxIndexEntity & { timestamp?: string }> = [];
    for await (const row of index.listEntities<OutboxIndexEntity>({ queryOptions: { filter: odata`PartitionKey eq ${partition}` } })) rows.push(row);
    return rows;
  }

  /**
   * The outbox rows these index rows point at, by partition and key (absent: no such row). One
   * referral's messages (a change queues several: the referrer's update, its clocks, its report
   * count) are read in one query of their partition rather than one request each.
   */
  private async storedEntries(rows: OutboxIndexEntity[]): Promise<Map<string, OutboxEntry>> {
    const byPartition = new Map<string, string[]>();
    for (const row of rows) byPartition.set(row.referralId, [...(byPartition.get(row.referralId) ?? []), row.key]);
    const found = new Map<string, OutboxEntry>();
    const reads: Array<Promise<void>> = [];
    for (const [partition, keys] of byPartition) {
      const unique = [...new Set(keys)];
      if (unique.length === 1) {
        reads.push(this.get(partition, unique[0]).then((entry) => void (entry && found.set(storedKey(partition, entry.key), entry))));
        continue;
      }
      for (let start = 0; start < unique.length; start += KEYS_PER_QUERY) {
        reads.push(
          (async () => {
            const client = await this.records;
            const rowKeys = unique.slice(start, start + KEYS_PER_QUERY).map((key) => odata`RowKey eq ${outboxRow(key)}`);
            const filter = `${odata`PartitionKey eq ${partition}`} and (${rowKeys.join(' or ')})`;
            for await (const entity of client.listEntities<OutboxEntity>({ queryOptions: { filter } })) {
              const entry = outboxEntry(entity as OutboxEntity & { etag: string });
              found.set(storedKey(partition, entry.key), entry);
            }
          })(),
        );
      }
    }
    await Promise.all(reads);
    return found;
  }

  /** An index row's entry, or undefined (mending the index) when the row no longer lists an undelivered one. */
  private async entryFor(partition: 'pending' | 'failed', row: OutboxIndexEntity & { timestamp?: string }, entry: OutboxEntry | undefined): Promise<OutboxEntry | undefined> {
    if (!entry) {
      // Aged by when storage wrote the row (its own Timestamp), not by the change's time, which
      // can lie in the past: a row whose transaction is still under way must not look dangling.
      if (Date.now() - Date.parse(row.timestamp ?? row.createdAt) > DANGLING_INDEX_MS) await this.deleteIndexRow(partition, row.rowKey);
      return undefined;
    }
    if (partition === 'pending' && (entry.state === 'sent' || entry.state === 'failed')) {
      await this.moveIndex(row.referralId, row.key, entry.state, row.createdAt);
      return undefined;
    }
    return entry;
  }

  /** Lists messages as undelivered, just before the transaction that writes them. */
  async index(partition: string, messages: OutboxMessage[], at: string): Promise<void> {
    const index = await this.outboxIndex;
    const rows = messages.map(
      (message): OutboxIndexEntity => ({ partitionKey: 'pending', rowKey: indexRow(partition, message.key), referralId: partition, key: message.key, createdAt: at, nextAttemptAt: at, channel: message.channel, ...(message.lane ? { lane: message.lane } : {}) }),
    );
    if (rows.length === 1) await index.upsertEntity(rows[0], 'Replace');
    // All in the `pending` partition: one request however many messages a change causes
    // (a transaction holds at most 100 operations).
    for (let start = 0; rows.length > 1 && start < rows.length; start += 100) {
      await index.submitTransaction(rows.slice(start, start + 100).map((row): TransactionAction => ['upsert', row, 'Replace']));
    }
  }

  private async moveIndex(partition: string, key: string, state: 'sent' | 'failed', createdAt: string): Promise<void> {
    const index = await this.outboxIndex;
    if (state === 'failed') {
      await index.upsertEntity<OutboxIndexEntity>({ partitionKey: 'failed', rowKey: indexRow(partition, key), referralId: partition, key, createdAt }, 'Replace');
    }
    await this.deleteIndexRow('pending', indexRow(partition, key));
  }

  private async retryIndexRow(partition: string, key: string, nextAttemptAt: string): Promise<void> {
    try {
      await (await this.outboxIndex).updateEntity({ partitionKey: 'pending', rowKey: indexRow(partition, key), nextAttemptAt }, 'Merge');
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  private async deleteIndexRow(partition: 'pending' | 'failed', rowKey: string): Promise<void> {
    try {
      await (await this.outboxIndex).deleteEntity(partition, rowKey);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }
}

const outboxRow = (key: string) => `outbox-${key.replace(/[^A-Za-z0-9:._-]/g, '_')}`;
const storedKey = (partition: string, key: string) => `${partition}|${key}`;
const indexRow = (partition: string, key: string) => `${partition}|${outboxRow(key)}`;

export function outboxEntity(referralId: string, message: OutboxMessage, at: string): OutboxEntity {
  return {
    partitionKey: referralId,
    rowKey: outboxRow(message.key),
    kind: 'outbox',
    key: message.key,
    channel: message.channel,
    state: 'pending',
    attempts: 0,
    nextAttemptAt: at,
    ...(message.lane ? { lane: message.lane } : {}),
    body: JSON.stringify(message.payload),
  };
}

/**
 * A filter that keeps, in order, what `ready` passes, until a lane meets its first item that is
 * not ready: that one and those after it in its lane are left (lanes are per partition).
 */
function inLaneOrder<T extends { referralId: string; lane?: string }>(ready: (item: T) => boolean): (item: T) => boolean {
  const stopped = new Set<string>();
  return (item) => {
    const lane = laneOf(item.referralId, item.lane);
    if (lane && stopped.has(lane)) return false;
    const passes = ready(item);
    if (!passes && lane) stopped.add(lane);
    return passes;
  };
}

/** A lane's name across partitions (lanes are per partition: one referral's, one service's). */
function laneOf(partition: string, lane: string | undefined): string | undefined {
  return lane ? `${partition}|${lane}` : undefined;
}

function outboxEntry(entity: OutboxEntity & { etag: string }): OutboxEntry {
  return {
    referralId: entity.partitionKey,
    key: entity.key,
    channel: entity.channel as OutboxEntry['channel'],
    payload: JSON.parse(entity.body),
    state: entity.state,
    attempts: entity.attempts,
    nextAttemptAt: entity.nextAttemptAt,
    lastError: entity.lastError || undefined,
    ...(entity.lane ? { lane: entity.lane } : {}),
    etag: entity.etag,
  };
}

