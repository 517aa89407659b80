import type { TableClient } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import { formatReference } from '../domain/referral/reference';
import { isAlreadyExists } from './referralEntities';

/**
 * Referral references (SP-YYYY-NNNNNN), unique and readable, without one row every Send fights
 * over.
 *
 * Numbers: one counter row per year in `counters`, from which each instance reserves a block of
 * numbers with one eTag-checked write, then hands them out from memory. Two instances never
 * reserve the same block; a crash wastes at most the rest of a block (a gap, never a repeat).
 *
 * Uniqueness is not left to the counter: a referral's reference is recorded as two rows in one
 * transaction, in a partition per year: `issued|<reference>` (so a number can be issued once)
 * and `referral|<id>` (so a referral gets one reference, however often Send is pressed). If the
 * counter ever went back (storage lost an update), numbers already issued are skipped.
 */

const COUNTER_ATTEMPTS = 60;
const ISSUE_ATTEMPTS = 60;
const DEFAULT_BLOCK = 10;

export class ReferenceCounter {
  private readonly counters: Promise<TableClient>;
  private readonly blockSize: number;
  /** This instance's reserved numbers, per year: the next to hand out and the last of the block. */
  private readonly blocks = new Map<number, { next: number; last: number }>();
  /** Reservations under way, per year, shared by callers who find the block empty at once. */
  private readonly reserving = new Map<number, Promise<void>>();

  constructor(tables: TableConnection, options: { tablePrefix?: string; blockSize?: number } = {}) {
    this.counters = tables.table(`${options.tablePrefix ?? ''}counters`);
    this.blockSize = options.blockSize ?? DEFAULT_BLOCK;
  }

  /** The next number of the year from this instance's block, reserving a new block when it runs out. */
  async next(now: Date): Promise<string> {
    const year = now.getUTCFullYear();
    for (;;) {
      const block = this.blocks.get(year);
      if (block && block.next <= block.last) return formatReference(year, block.next++);
      if (!this.reserving.has(year)) this.reserving.set(year, this.reserve(year).finally(() => this.reserving.delete(year)));
      await this.reserving.get(year);
    }
  }

  /**
   * The reference of a referral: one per referral id, however often (or however concurrently)
   * it is asked for. In the rare race of two Sends at once, the loser's number is left unused.
   */
  async forReferral(referralId: string, now: Date): Promise<string> {
    const counters = await this.counters;
    const partition = `references-${now.getUTCFullYear()}`;
    for (let attempt = 0; attempt < ISSUE_ATTEMPTS; attempt += 1) {
      const reference = await this.next(now);
      try {
        await counters.submitTransaction([
          ['create', { partitionKey: partition, rowKey: `referral|${referralId}`, reference }],
          ['create', { partitionKey: partition, rowKey: `issued|${reference}`, referralId }],
        ]);
        return reference;
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
        const mine = await readRow<{ reference: string }>(counters, partition, `referral|${referralId}`);
        if (mine) return mine.reference; // Send pressed again: the referral has its reference
        // Otherwise the number was issued before (the counter went back): take the next one.
      }
    }
    throw new Error('Could not allocate a referral reference: the counter is far behind the references issued. Try again.');
  }

  /** Reserves the next block of the year's numbers for this instance (eTag-checked, retried under contention). */
  private async reserve(year: number): Promise<void> {
    const counters = await this.counters;
    for (let attempt = 0; attempt < COUNTER_ATTEMPTS; attempt += 1) {
      try {
        const current = await readRow<{ last: number }>(counters, 'reference', String(year));
        const first = (current?.last ?? 0) + 1;
        const last = first + this.blockSize - 1;
        if (current) await counters.updateEntity({ partitionKey: 'reference', rowKey: String(year), last }, 'Replace', { etag: current.etag });
        else await counters.createEntity({ partitionKey: 'reference', rowKey: String(year), last });
        this.blocks.set(year, { next: first, last });
        return;
      } catch (error) {
        if (statusOf(error) !== 412 && statusOf(error) !== 409) throw error;
      }
      // Contended: back off (jittered, growing, capped) before reading again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** Math.min(attempt, 6))));
    }
    throw new Error('Could not allocate a referral reference: too much contention. Try again.');
  }
}

async function readRow<T extends object>(client: TableClient, partitionKey: string, rowKey: string): Promise<(T & { etag: string }) | undefined> {
  try {
    return await client.getEntity<T>(partitionKey, rowKey);
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}
