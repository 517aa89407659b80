import { odata, TableClient, TableEntity, TransactionAction } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import { auditEventSchema, AuditEvent, parseReferral, Referral, referralSchema } from '../domain/referral/referral';
import { AuditEntity, auditEntity, isAlreadyExists } from './referralEntities';
import { asciiJson, Chunked, CHUNK_CHARS, fromChunks, toChunks } from './chunkedJson';
import { OutboxMessage, OutboxRepository, outboxEntity } from './outboxRepository';
import type { ServiceQueueRepository } from './serviceQueueRepository';

/**
 * Referral records and their audit trail on Table storage.
 *
 * Layout (one table, `referrals`): each referral is a partition of its own, keyed by its id,
 * holding the record (row `referral`), its audit trail (rows `audit-<time>-<id>`) and its
 * outbox (see outboxRepository.ts). Sharing a partition lets a change, its audit event and its
 * notifications commit in one entity-group transaction: there is never a change without its
 * audit event, nor an event or a notification for a change that failed. Events that belong to
 * no referral (a referral stopped for safety, consent not given) go in partitions per month,
 * `events-YYYY-MM`.
 *
 * After each write the referral's entry in its service's queue is brought up to date.
 */

const RECORD_ROW = 'referral';
// A record is split over several properties (chunkedJson.ts), so escalation notes and outcome
// notes can grow it well past one property's 32K characters; this keeps it far inside 1 MiB.
const MAX_RECORD_CHARS = CHUNK_CHARS * 12;

export class ReferralConflictError extends Error {
  readonly code = 'ReferralConflict';
  constructor(reference: string) {
    super(`Referral ${reference} was changed by someone else; reload it and try again.`);
  }
}

/** A record that fails the referral schema: names every bad field, never its value (it may be the person's). */
export class InvalidReferralError extends Error {
  readonly code = 'InvalidReferral';
  constructor(readonly fields: Array<{ field: string; message: string }>) {
    super(`Referral record refused: ${fields.map((issue) => `${issue.field}: ${issue.message}`).join('; ')}`);
  }
}

function validRecord(referral: Referral): Referral {
  const parsed = parseReferral(referral);
  if (!parsed.ok) throw new InvalidReferralError(parsed.errors);
  return parsed.referral;
}

/** An email link tried to make a second change (its used-link row was already there). */
export class LinkAlreadyUsedError extends Error {
  readonly code = 'LinkAlreadyUsed';
  constructor() {
    super('This link has already been used to change the referral.');
  }
}

const usedLinkRow = (linkId: string) => `used-link-${linkId}`;

export interface StoredReferral {
  referral: Referral;
  etag: string;
}

type RecordEntity = Chunked & {
  partitionKey: string;
  rowKey: string;
  kind: 'referral';
  reference: string;
  serviceId: string;
  status: string;
  referrerId: string;
  /** Records written before they were chunked hold their JSON here. */
  body?: string;
};

/** Messages every stored change carries in its own transaction (e.g. counting it for reports). */
export type EveryChangeMessages = (referral: Referral, event: AuditEvent) => OutboxMessage[];

export class ReferralRepository {
  private readonly referrals: Promise<TableClient>;
  private everyChange: EveryChangeMessages = () => [];

  constructor(
    tables: TableConnection,
    private readonly queue: ServiceQueueRepository,
    private readonly outbox: OutboxRepository,
    options: { tablePrefix?: string } = {},
  ) {
    this.referrals = tables.table(`${options.tablePrefix ?? ''}referrals`);
  }

  /**
   * Stores a new referral with its audit event and the messages it causes (its post to the
   * service's channel), and queues it for its service. Submitting the same referral id again
   * stores nothing new and returns the referral already stored.
   */
  async submit(referral: Referral, event: AuditEvent, messages: OutboxMessage[] = []): Promise<Referral> {
    const valid = validRecord(referral);
    const outbox = [...messages, ...this.everyChange(valid, { ...event, referralId: valid.id })];
    const client = await this.referrals;
    let stored = valid;
    try {
      // Created only if new: a second submit of the same id fails here and keeps what is stored.
      await this.outbox.index(valid.id, outbox, event.at);
      await client.submitTransaction([
        ['create', recordEntity(valid)],
        ['create', auditEntity(valid.id, { ...event, referralId: valid.id })],
        ...outbox.map((message): TransactionAction => ['create', outboxEntity(valid.id, message, event.at)]),
      ]);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      stored = (await this.get(valid.id))!.referral;
    }
    await this.queue.put(stored);
    return stored;
  }

  /**
   * Adds messages to every change this repository stores, in the change's transaction: work that
   * must follow every change (the report's running totals) is then as durable as the change.
   */
  queueWithEveryChange(messages: EveryChangeMessages): void {
    this.everyChange = messages;
  }

  /**
   * Replaces a referral if nobody changed it since it was read, with its audit event and the
   * notifications it causes: all in one transaction, so a change is never without its audit
   * event or its notifications, and a notification never reports a change that failed.
   * `usedLinkId` (a change made through an email link) adds a row for the link in the same
   * transaction, created only if absent: a link can make one change, even when two arrive at once.
   * `keepsVersion`: a write that records something about the referral without changing the case
   * (where its card was posted) queues nothing with every change: that work (the report's
   * counts) goes by version, and would find this version done already.
   */
  async update(
    referral: Referral,
    expectedEtag: string,
    event: AuditEvent,
    messages: OutboxMessage[] = [],
    options: { usedLinkId?: string; keepsVersion?: boolean } = {},
  ): Promise<StoredReferral> {
    const valid = validRecord(referral);
    const outbox = [...messages, ...(options.keepsVersion ? [] : this.everyChange(valid, { ...event, referralId: valid.id }))];
    const client = await this.referrals;
    const actions: TransactionAction[] = [
      ['update', recordEntity(valid), 'Replace', { etag: expectedEtag }],
      ['create', auditEntity(valid.id, { ...event, referralId: valid.id })],
      ...outbox.map((message): TransactionAction => ['create', outboxEntity(valid.id, message, event.at)]),
      ...(options.usedLinkId ? [['create', { partitionKey: valid.id, rowKey: usedLinkRow(options.usedLinkId), kind: 'used-link', at: event.at }] as TransactionAction] : []),
    ];
    await this.outbox.index(valid.id, outbox, event.at);
    let etag: string | undefined;
    try {
      // The record's new eTag comes back with the transaction (answers are in the order of the
      // actions, and the record's update is the first): no second read.
      etag = (await client.submitTransaction(actions)).subResponses[0]?.etag;
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) throw new ReferralConflictError(valid.reference);
      if (options.usedLinkId && isAlreadyExists(error)) throw new LinkAlreadyUsedError();
      throw error;
    }
    await this.queue.put(valid);
    return etag ? { referral: valid, etag } : (await this.get(valid.id))!;
  }

  /** Whether an email link has already made its one change to this referral. */
  async linkUsed(referralId: string, linkId: string): Promise<boolean> {
    try {
      await (await this.referrals).getEntity(referralId, usedLinkRow(linkId), { queryOptions: { select: ['PartitionKey'] } });
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  async get(id: string): Promise<StoredReferral | undefined> {
    try {
      const entity = await (await this.referrals).getEntity<RecordEntity>(id, RECORD_ROW);
      return { referral: recordOf(entity), etag: entity.etag };
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
      found.push(recordOf(entity));
    }
    return found.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  }

  /**
   * Referrals made in [from, to) (ISO times), read from every record: what a report is rebuilt
   * from. Not for requests that must answer quickly on a large store.
   */
  async listCreatedIn(from: string, to: string): Promise<Referral[]> {
    const client = await this.referrals;
    const found: Referral[] = [];
    for await (const entity of client.listEntities<RecordEntity>({ queryOptions: { filter: odata`RowKey eq ${RECORD_ROW}` } })) {
      const referral = recordOf(entity);
      if (referral.createdAt >= from && referral.createdAt < to) found.push(referral);
    }
    return found;
  }

  /** The audit trail of a referral, oldest first. */
  async audit(referralId: string): Promise<AuditEvent[]> {
    return this.readEvents(referralId);
  }

  /** Events that belong to no referral, for the month of `at`. */
  async eventsWithoutReferral(at: Date): Promise<AuditEvent[]> {
    return this.readEvents(eventsPartition(at));
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
}

function recordEntity(referral: Referral): TableEntity<Omit<RecordEntity, 'partitionKey' | 'rowKey'> & Record<string, unknown>> {
  const json = asciiJson(referral);
  if (json.length > MAX_RECORD_CHARS) {
    throw new Error(`Referral ${referral.reference} is too large to store (${json.length} characters); shorten its free text.`);
  }
  return {
    partitionKey: referral.id,
    rowKey: RECORD_ROW,
    kind: 'referral',
    reference: referral.reference,
    serviceId: referral.serviceId,
    status: referral.status,
    referrerId: referral.referrer.teamsUserId,
    ...toChunks(json),
  };
}

function recordOf(entity: RecordEntity): Referral {
  return referralSchema.parse(JSON.parse(entity.body ?? fromChunks(entity)));
}

function eventsPartition(at: Date): string {
  return `events-${at.toISOString().slice(0, 7)}`;
}
