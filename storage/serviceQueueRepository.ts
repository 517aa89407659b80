import { odata, TableClient } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import type { Referral } from '../domain/referral/referral';

/**
 * Each service's queue (`servicequeue`: partition = service id, row = reference, so a partition
 * read lists a service's referrals in reference order). Written after the referral it reflects:
 * a crash between the two is repaired by the next write of that referral, since the referral id
 * makes every write idempotent.
 */
export interface QueueEntry {
  serviceId: string;
  reference: string;
  referralId: string;
  status: string;
  queuedAt: string;
}

export class ServiceQueueRepository {
  private readonly queue: Promise<TableClient>;

  constructor(tables: TableConnection, options: { tablePrefix?: string } = {}) {
    this.queue = tables.table(`${options.tablePrefix ?? ''}servicequeue`);
  }

  /** The referral's entry in its current service's queue, with its status now. */
  async put(referral: Referral): Promise<void> {
    await (await this.queue).upsertEntity(
      { partitionKey: referral.serviceId, rowKey: referral.reference, referralId: referral.id, status: referral.status, queuedAt: referral.createdAt },
      'Replace',
    );
  }

  /** Marks a referral's entry in a service's queue, e.g. "redirected" when it moved on. */
  async mark(serviceId: string, reference: string, status: string): Promise<void> {
    try {
      await (await this.queue).updateEntity({ partitionKey: serviceId, rowKey: reference, status }, 'Merge');
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  /** The service's queue, oldest reference first. */
  async list(serviceId: string): Promise<QueueEntry[]> {
    const queue = await this.queue;
    const entries: QueueEntry[] = [];
    for await (const entity of queue.listEntities<QueueEntry & { partitionKey: string; rowKey: string }>({
      queryOptions: { filter: odata`PartitionKey eq ${serviceId}` },
    })) {
      entries.push({ serviceId: entity.partitionKey, reference: entity.rowKey, referralId: entity.referralId, status: entity.status, queuedAt: entity.queuedAt });
    }
    return entries;
  }
}
