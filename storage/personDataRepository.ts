import { odata, TableClient } from '@azure/data-tables';
import type { TableConnection } from './tables';
import { auditEventSchema, AuditEvent } from '../domain/referral/referral';
import type { AuditEntity } from './referralEntities';
import type { OutboxEntity, OutboxEntry } from './outboxRepository';
import { scrubAuditDetail } from '../domain/referral/retention';

/**
 * The rows of a referral's partition read and rewritten as a whole, for the person's rights
 * (export, erasure) and for retention: every outbox row whatever its state (the outbox
 * repository reads only what is due), and the audit trail's free text. The record itself is
 * changed through ReferralRepository, with its eTag.
 */

/** An outbox row as stored: its delivery facts and what it said. */
export type OutboxRecord = Omit<OutboxEntry, 'etag' | 'referralId'>;

/** What an outbox row holds once its message was removed: enough to count it and to name the referral. */
export function removedPayload(reference: string, rule: string, at: string): Record<string, unknown> {
  return { removed: rule, at, reference };
}

export class PersonDataRepository {
  private readonly referrals: Promise<TableClient>;

  constructor(tables: TableConnection, options: { tablePrefix?: string } = {}) {
    this.referrals = tables.table(`${options.tablePrefix ?? ''}referrals`);
  }

  /** Every notification written about the referral, oldest row key first. */
  async outbox(referralId: string): Promise<OutboxRecord[]> {
    return (await this.outboxRows(referralId)).map((row) => ({
      key: row.key,
      channel: row.channel as OutboxRecord['channel'],
      state: row.state,
      attempts: row.attempts,
      nextAttemptAt: row.nextAttemptAt,
      ...(row.lastError ? { lastError: row.lastError } : {}),
      payload: JSON.parse(row.body) as Record<string, unknown>,
    }));
  }

  /**
   * Replaces what each of the referral's notifications said with `replacement`, but for those
   * that `carriesNothingOfThePerson` (work orders such as "post the card", which read the record
   * when they run). One not yet delivered is withdrawn (failed, saying why), so no sender
   * delivers an emptied message. Returns how many rows changed; a second run changes none.
   */
  async removeOutboxContent(referralId: string, replacement: Record<string, unknown>, carriesNothingOfThePerson: (payload: Record<string, unknown>) => boolean): Promise<number> {
    const client = await this.referrals;
    let changed = 0;
    for (const row of await this.outboxRows(referralId)) {
      const payload = JSON.parse(row.body) as Record<string, unknown>;
      if (payload.removed || carriesNothingOfThePerson(payload)) continue;
      const undelivered = row.state === 'pending' || row.state === 'sending';
      await client.updateEntity(
        {
          partitionKey: row.partitionKey,
          rowKey: row.rowKey,
          body: JSON.stringify(replacement),
          ...(undelivered ? { state: 'failed', lastError: "Withdrawn: the person's details were removed before it was sent" } : {}),
        },
        'Merge',
      );
      changed += 1;
    }
    return changed;
  }

  /** Overwrites free text a link worker typed into the referral's audit trail; returns how many events changed. */
  async removeAuditFreeText(referralId: string): Promise<number> {
    const client = await this.referrals;
    let changed = 0;
    for await (const row of client.listEntities<AuditEntity>({ queryOptions: { filter: odata`PartitionKey eq ${referralId} and kind eq 'audit'` } })) {
      const event: AuditEvent = auditEventSchema.parse(JSON.parse(row.body));
      const detail = scrubAuditDetail(event.detail);
      if (!detail) continue;
      await client.updateEntity({ partitionKey: row.partitionKey, rowKey: row.rowKey, body: JSON.stringify({ ...event, detail }) }, 'Merge');
      changed += 1;
    }
    return changed;
  }

  /** Ids of referrals that have ended (closed or declined): where retention clocks may be missing. */
  async concludedReferralIds(): Promise<string[]> {
    const client = await this.referrals;
    const ids: string[] = [];
    for await (const row of client.listEntities<{ partitionKey: string }>({
      queryOptions: { filter: odata`RowKey eq 'referral' and (status eq 'closed' or status eq 'declined')`, select: ['PartitionKey'] },
    })) {
      ids.push(row.partitionKey);
    }
    return ids;
  }

  private async outboxRows(referralId: string): Promise<OutboxEntity[]> {
    const client = await this.referrals;
    const rows: OutboxEntity[] = [];
    for await (const row of client.listEntities<OutboxEntity>({ queryOptions: { filter: odata`PartitionKey eq ${referralId} and kind eq 'outbox'` } })) rows.push(row);
    return rows;
  }
}
