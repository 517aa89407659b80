import type { TableClient } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import { formatReference } from '../domain/referral/reference';

/**
 * Referral references (SP-YYYY-NNNNNN): one counter row per year in `counters`, updated with
 * its eTag, so two instances allocating at once never get the same number.
 */

const COUNTER_ATTEMPTS = 60;

export class ReferenceCounter {
  private readonly counters: Promise<TableClient>;

  constructor(tables: TableConnection, options: { tablePrefix?: string } = {}) {
    this.counters = tables.table(`${options.tablePrefix ?? ''}counters`);
  }

  /**
   * The next reference of the year. The counter is one entity updated with its eTag, so two
   * bot instances allocating at once never get the same number: the loser re-reads and retries.
   */
  async next(now: Date): Promise<string> {
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

}
