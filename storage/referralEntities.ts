import { randomUUID } from 'node:crypto';
import { statusOf } from './tables';
import { auditEventSchema, AuditEvent } from '../domain/referral/referral';

/** Rows shared by the referral records and the outbox, which live in one table's partitions. */

export type AuditEntity = {
  partitionKey: string;
  rowKey: string;
  kind: 'audit';
  body: string;
};

export function auditEntity(partitionKey: string, event: AuditEvent): AuditEntity {
  const valid = auditEventSchema.parse(event);
  return { partitionKey, rowKey: `audit-${valid.at}-${randomUUID()}`, kind: 'audit', body: JSON.stringify(valid) };
}


export /** A transaction whose create hits an existing row fails with 409 (EntityAlreadyExists). */
function isAlreadyExists(error: unknown): boolean {
  return statusOf(error) === 409 || /EntityAlreadyExists/.test(String((error as Error)?.message));
}
