import { randomUUID } from 'node:crypto';
import { odata, TableClient, TransactionAction } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import { formatReference } from '../domain/referral/reference';
import { auditEventSchema, AuditEvent, Referral, referralSchema } from '../domain/referral/referral';

/**
 * Referrals on Table storage.
 *
 * Layout (one table, `referrals`): each referral is a partition of its own, keyed by its id,
 * holding the record (row `referral`) and its audit trail (rows `audit-<time>-<id>`). Sharing
 * a partition lets a change and its audit event commit in one entity-group transaction: there
 * is never a change without its audit event, nor an event for a change that failed. Events
 * that belong to no referral (a referral stopped for safety, consent not given) go in
 * partitions per month, `events-YYYY-MM`.
 *
 * Each service's queue (`servicequeue`: partition = service id, row = reference) is written
 * after the referral. A crash between the two is repaired by submitting again: the referral
 * id makes every write idempotent.
 *
 * Notifications (the outbox) are rows in the partition they report on, written in the same
 * transaction as the change. So that senders never scan every referral to find them, each is
 * also listed in `outboxindex` (partition `pending`, then `failed` if it fails for good),
 * written just before the transaction: an index row whose transaction then failed points at
 * nothing, and the sender drops it once it is old enough that the transaction cannot still be
 * under way.
 */

const RECORD_ROW = 'referral';
const MAX_RECORD_CHARS = 30_000; // one string property holds 32K UTF-16 units
const COUNTER_ATTEMPTS = 60;
/** An index row older than this whose outbox row does not exist belongs to a change that failed. */
const DANGLING_INDEX_MS = 10 * 60 * 1000;

export class ReferralConflictError extends Error {
  readonly code = 'ReferralConflict';
  constructor(reference: string) {
    super(`Referral ${reference} was changed by someone else; reload it and try again.`);
  }
}

/** A notification written with the change it reports, sent later by the dispatcher. */
export interface OutboxMessage {
  /** Idempotency key: one per notification and channel (e.g. referral:version:teams). */
  key: string;
  channel: 'teams' | 'email';
  /** What to send; no patient identifiers beyond reference and initials. */
  payload: Record<string, unknown>;
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

type OutboxEntity = {
  partitionKey: string;
  rowKey: string;
  kind: 'outbox';
  key: string;
  channel: string;
  state: OutboxState;
  attempts: number;
  nextAttemptAt: string;
  lastError?: string;
  body: string;
};

export interface StoredReferral {
  referral: Referral;
  etag: string;
}

export interface QueueEntry {
  serviceId: string;
  reference: string;
  referralId: string;
  status: string;
  queuedAt: string;
}

type RecordEntity = {
  partitionKey: string;
  rowKey: string;
  kind: 'referral';
  reference: string;
  serviceId: string;
  status: string;
  referrerId: string;
  body: string;
};

type OutboxIndexEntity = {
  partitionKey: 'pending' | 'failed';
  rowKey: string;
  /** The outbox row's partition: a referral id, or e.g. `digest-<service>` for messages about no one referral. */
  referralId: string;
  key: string;
  createdAt: string;
};

type AuditEntity = {
  partitionKey: string;
  rowKey: string;
  kind: 'audit';
  body: string;
};

export class ReferralRepository {
  private readonly referrals: Promise<TableClient>;
  private readonly queue: Promise<TableClient>;
  private readonly counters: Promise<TableClient>;
  private readonly outboxIndex: Promise<TableClient>;

  constructor(tables: TableConnection, options: { tablePrefix?: string } = {}) {
    const prefix = options.tablePrefix ?? '';
    this.referrals = tables.table(`${prefix}referrals`);
    this.queue = tables.table(`${prefix}servicequeue`);
    this.counters = tables.table(`${prefix}counters`);
    this.outboxIndex = tables.table(`${prefix}outboxindex`);
  }

  /**
   * The next reference of the year. The counter is one entity updated with its eTag, so two
   * bot instances allocating at once never get the same number: the loser re-reads and retries.
   */
  async nextReference(now: Date): Promise<string> {
    const counters = await this.counters;
    const year = now.getUTCFullYear();
    for (let attempt = 0; attempt < COUNTER_ATTEMPTS; attempt += 1) {
      try {
        const current = await counters.getEntity<{ last: number }>('reference', String(year));
        const next = current.last + 1;
        await counters.updateEntity({ partitionKey: 'reference', rowKey: String(year), last: next }, 'Replace', {
          etag: current.etag,
        });
        return formatReference(year, next);
      } catch (error) {
        if (statusOf(error) === 404) {
          try {
            await counters.createEntity({ partitionKey: 'reference', rowKey: String(year), last: 1 });
            return formatReference(year, 1);
          } catch (createError) {
            if (statusOf(createError) !== 409) throw createError;
          }
        } else if (statusOf(error) !== 412) {
          throw error;
        }
      }
      // Contended: back off (jittered, growing, capped) before reading again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** Math.min(attempt, 6))));
    }
    throw new Error('Could not allocate a referral reference: too much contention. Try again.');
  }

  /**
   * Stores a new referral with its audit event and queues it for its service. Submitting the
   * same referral id again stores nothing new and returns the referral already stored.
   */
  async submit(referral: Referral, event: AuditEvent): Promise<Referral> {
    const valid = referralSchema.parse(referral);
    const client = await this.referrals;
    const existing = await this.get(valid.id);
    let stored = existing?.referral ?? valid;
    if (!existing) {
      try {
        await client.submitTransaction([
          ['create', recordEntity(valid)],
          ['create', auditEntity(valid.id, { ...event, referralId: valid.id })],
        ]);
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
        stored = (await this.get(valid.id))!.referral;
      }
    }
    await this.enqueue(stored);
    return stored;
  }

  /**
   * Replaces a referral if nobody changed it since it was read, with its audit event and the
   * notifications it causes: all in one transaction, so a change is never without its audit
   * event or its notifications, and a notification never reports a change that failed.
   */
  async update(referral: Referral, expectedEtag: string, event: AuditEvent, outbox: OutboxMessage[] = []): Promise<StoredReferral> {
    const valid = referralSchema.parse(referral);
    const client = await this.referrals;
    const actions: TransactionAction[] = [
      ['update', recordEntity(valid), 'Replace', { etag: expectedEtag }],
      ['create', auditEntity(valid.id, { ...event, referralId: valid.id })],
      ...outbox.map((message): TransactionAction => ['create', outboxEntity(valid.id, message, event.at)]),
    ];
    await this.indexOutbox(valid.id, outbox, event.at);
    try {
      await client.submitTransaction(actions);
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) throw new ReferralConflictError(valid.reference);
      throw error;
    }
    await this.enqueue(valid);
    return (await this.get(valid.id))!;
  }

  async get(id: string): Promise<StoredReferral | undefined> {
    try {
      const entity = await (await this.referrals).getEntity<RecordEntity>(id, RECORD_ROW);
      return { referral: referralSchema.parse(JSON.parse(entity.body)), etag: entity.etag };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async getByReference(reference: string): Promise<StoredReferral | undefined> {
    const client = await this.referrals;
    for await (const entity of client.listEntities<RecordEntity>({
      queryOptions: { filter: odata`RowKey eq ${RECORD_ROW} and reference eq ${reference}`, select: ['PartitionKey'] },
    })) {
      return this.get(entity.partitionKey!);
    }
    return undefined;
  }

  /**
   * A referrer's referrals, newest first. Filters on a property across partitions: fine for a
   * practice's volumes; a per-referrer index table is the step up if it ever is not.
   */
  async listForReferrer(teamsUserId: string): Promise<Referral[]> {
    const client = await this.referrals;
    const found: Referral[] = [];
    for await (const entity of client.listEntities<RecordEntity>({
      queryOptions: { filter: odata`RowKey eq ${RECORD_ROW} and referrerId eq ${teamsUserId}` },
    })) {
      found.push(referralSchema.parse(JSON.parse(entity.body)));
    }
    return found.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  }

  /** Marks a referral's entry in a service's queue, e.g. "redirected" when it moved on. */
  async markQueueEntry(serviceId: string, reference: string, status: string): Promise<void> {
    try {
      await (await this.queue).updateEntity({ partitionKey: serviceId, rowKey: reference, status }, 'Merge');
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  /** The service's queue, oldest reference first. */
  async listQueue(serviceId: string): Promise<QueueEntry[]> {
    const queue = await this.queue;
    const entries: QueueEntry[] = [];
    for await (const entity of queue.listEntities<QueueEntry & { partitionKey: string; rowKey: string }>({
      queryOptions: { filter: odata`PartitionKey eq ${serviceId}` },
    })) {
      entries.push({
        serviceId: entity.partitionKey,
        reference: entity.rowKey,
        referralId: entity.referralId,
        status: entity.status,
        queuedAt: entity.queuedAt,
      });
    }
    return entries;
  }

  /** The audit trail of a referral, oldest first. */
  async audit(referralId: string): Promise<AuditEvent[]> {
    return this.readEvents(referralId);
  }

  /** Events that belong to no referral, for the month of `at`. */
  async eventsWithoutReferral(at: Date): Promise<AuditEvent[]> {
    return this.readEvents(eventsPartition(at));
  }

  /**
   * Notifications due now: pending, or claimed by a sender whose lease ran out. Reads the
   * index of undelivered notifications, then each one's row: never the referrals themselves.
   */
  async dueOutbox(now: Date, limit = 50): Promise<OutboxEntry[]> {
    const due: OutboxEntry[] = [];
    const iso = now.toISOString();
    for (const entry of await this.indexedOutbox('pending', now)) {
      if ((entry.state === 'pending' || entry.state === 'sending') && entry.nextAttemptAt <= iso) due.push(entry);
      if (due.length >= limit) break;
    }
    return due;
  }

  /**
   * Claims a notification for sending (eTag-checked, with a lease): of several senders, one
   * wins; if it dies mid-send, the lease runs out and another sender picks the message up.
   */
  async claimOutbox(entry: OutboxEntry, leaseUntil: Date): Promise<OutboxEntry | undefined> {
    try {
      const response = await (await this.referrals).updateEntity(
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

  /** Marks a claimed notification sent, to retry at a time, or failed for good. */
  async settleOutbox(entry: OutboxEntry, outcome: { state: 'sent' | 'failed' } | { state: 'pending'; retryAt: Date }, lastError?: string): Promise<void> {
    await (await this.referrals).updateEntity(
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
    // The row above is the truth; the index follows it (a crash here is mended by the next read).
    if (outcome.state !== 'pending') await this.moveIndex(entry.referralId, entry.key, outcome.state, entry.nextAttemptAt);
  }

  /** Adds a notification outside a referral change (e.g. email when Teams cannot reach someone). */
  async enqueueNotification(referralId: string, message: OutboxMessage, at: string): Promise<void> {
    await this.indexOutbox(referralId, [message], at);
    try {
      await (await this.referrals).createEntity(outboxEntity(referralId, message, at));
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
  async recordNotifications(partition: string, messages: OutboxMessage[], event: AuditEvent | undefined, at: string): Promise<boolean> {
    if (!messages.length && !event) return true;
    await this.indexOutbox(partition, messages, at);
    const actions: TransactionAction[] = [
      ...(event ? [['create', auditEntity(partition, event)] as TransactionAction] : []),
      ...messages.map((message): TransactionAction => ['create', outboxEntity(partition, message, at)]),
    ];
    try {
      await (await this.referrals).submitTransaction(actions);
      return true;
    } catch (error) {
      if (isAlreadyExists(error)) return false;
      throw error;
    }
  }

  /** Notifications not yet delivered (sending included in pending) and failed for good: index rows only. */
  async outboxCounts(): Promise<{ pending: number; failed: number }> {
    const index = await this.outboxIndex;
    const count = async (partition: 'pending' | 'failed') => {
      let total = 0;
      for await (const _ of index.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${partition}`, select: ['RowKey'] } })) total += 1;
      return total;
    };
    const [pending, failed] = await Promise.all([count('pending'), count('failed')]);
    return { pending, failed };
  }

  async failedOutbox(): Promise<OutboxEntry[]> {
    return (await this.indexedOutbox('failed', new Date())).filter((entry) => entry.state === 'failed');
  }

  private async outboxEntry(partition: string, key: string): Promise<OutboxEntry | undefined> {
    try {
      return outboxEntry(await (await this.referrals).getEntity<OutboxEntity>(partition, outboxRow(key)));
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** The entries an index partition lists, mending rows that no longer match their entry. */
  private async indexedOutbox(partition: 'pending' | 'failed', now: Date): Promise<OutboxEntry[]> {
    const index = await this.outboxIndex;
    const found: OutboxEntry[] = [];
    for await (const row of index.listEntities<OutboxIndexEntity>({ queryOptions: { filter: odata`PartitionKey eq ${partition}` } })) {
      const entry = await this.outboxEntry(row.referralId, row.key);
      if (!entry) {
        if (now.getTime() - Date.parse(row.createdAt) > DANGLING_INDEX_MS) await this.deleteIndexRow(partition, row.rowKey);
        continue;
      }
      if (partition === 'pending' && (entry.state === 'sent' || entry.state === 'failed')) {
        await this.moveIndex(row.referralId, row.key, entry.state, row.createdAt);
        continue;
      }
      found.push(entry);
    }
    return found;
  }

  private async indexOutbox(partition: string, messages: OutboxMessage[], at: string): Promise<void> {
    const index = await this.outboxIndex;
    await Promise.all(
      messages.map((message) =>
        index.upsertEntity<OutboxIndexEntity>(
          { partitionKey: 'pending', rowKey: indexRow(partition, message.key), referralId: partition, key: message.key, createdAt: at },
          'Replace',
        ),
      ),
    );
  }

  private async moveIndex(partition: string, key: string, state: 'sent' | 'failed', createdAt: string): Promise<void> {
    const index = await this.outboxIndex;
    if (state === 'failed') {
      await index.upsertEntity<OutboxIndexEntity>({ partitionKey: 'failed', rowKey: indexRow(partition, key), referralId: partition, key, createdAt }, 'Replace');
    }
    await this.deleteIndexRow('pending', indexRow(partition, key));
  }

  private async deleteIndexRow(partition: 'pending' | 'failed', rowKey: string): Promise<void> {
    try {
      await (await this.outboxIndex).deleteEntity(partition, rowKey);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  /** Adds an event to a referral's audit trail without changing the referral (e.g. a view). */
  async appendEvent(event: AuditEvent & { referralId: string }): Promise<void> {
    await (await this.referrals).createEntity(auditEntity(event.referralId, event));
  }

  /** Records an event that belongs to no stored referral; it must carry no person details. */
  async recordEvent(event: AuditEvent): Promise<void> {
    const valid = auditEventSchema.parse({ ...event, referralId: null });
    await (await this.referrals).createEntity(auditEntity(eventsPartition(new Date(valid.at)), valid));
  }

  private async readEvents(partitionKey: string): Promise<AuditEvent[]> {
    const client = await this.referrals;
    const events: AuditEvent[] = [];
    for await (const entity of client.listEntities<AuditEntity>({
      queryOptions: { filter: odata`PartitionKey eq ${partitionKey} and kind eq 'audit'` },
    })) {
      events.push(auditEventSchema.parse(JSON.parse(entity.body)));
    }
    return events; // row keys start with the time, so the service returns them in order
  }

  private async enqueue(referral: Referral): Promise<void> {
    await (await this.queue).upsertEntity(
      {
        partitionKey: referral.serviceId,
        rowKey: referral.reference,
        referralId: referral.id,
        status: referral.status,
        queuedAt: referral.createdAt,
      },
      'Replace',
    );
  }
}

function recordEntity(referral: Referral): RecordEntity {
  const body = JSON.stringify(referral);
  if (body.length > MAX_RECORD_CHARS) {
    throw new Error(`Referral ${referral.reference} is too large to store (${body.length} characters); shorten its free text.`);
  }
  return {
    partitionKey: referral.id,
    rowKey: RECORD_ROW,
    kind: 'referral',
    reference: referral.reference,
    serviceId: referral.serviceId,
    status: referral.status,
    referrerId: referral.referrer.teamsUserId,
    body,
  };
}

function auditEntity(partitionKey: string, event: AuditEvent): AuditEntity {
  const valid = auditEventSchema.parse(event);
  return { partitionKey, rowKey: `audit-${valid.at}-${randomUUID()}`, kind: 'audit', body: JSON.stringify(valid) };
}

const outboxRow = (key: string) => `outbox-${key.replace(/[^A-Za-z0-9:._-]/g, '_')}`;
const indexRow = (partition: string, key: string) => `${partition}|${outboxRow(key)}`;

function outboxEntity(referralId: string, message: OutboxMessage, at: string): OutboxEntity {
  return {
    partitionKey: referralId,
    rowKey: outboxRow(message.key),
    kind: 'outbox',
    key: message.key,
    channel: message.channel,
    state: 'pending',
    attempts: 0,
    nextAttemptAt: at,
    body: JSON.stringify(message.payload),
  };
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
    etag: entity.etag,
  };
}

function eventsPartition(at: Date): string {
  return `events-${at.toISOString().slice(0, 7)}`;
}


/** A transaction whose create hits an existing row fails with 409 (EntityAlreadyExists). */
function isAlreadyExists(error: unknown): boolean {
  return statusOf(error) === 409 || /EntityAlreadyExists/.test(String((error as Error)?.message));
}
