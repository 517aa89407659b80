import type { TableConnection } from './tables';
import { OutboxRepository } from './outboxRepository';
import { ReferenceCounter } from './referenceCounter';
import { ReferralRepository } from './referralRepository';
import { ServiceQueueRepository } from './serviceQueueRepository';

/** The referral tables, wired together: records with their audit trail, queues, outbox, references. */
export function referralStorage(tables: TableConnection, options: { tablePrefix?: string } = {}) {
  const queue = new ServiceQueueRepository(tables, options);
  const outbox = new OutboxRepository(tables, options);
  return { referrals: new ReferralRepository(tables, queue, outbox, options), queue, outbox, references: new ReferenceCounter(tables, options) };
}

export type ReferralStorage = ReturnType<typeof referralStorage>;
