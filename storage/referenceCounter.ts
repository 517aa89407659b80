import type { TableClient } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import { formatReference } from '../domain/referral/reference';

/**
 * Referral references (SP-YYYY-NNNNNN): one counter row per year in `counters`, updated with
 * its eTag, so two instances allocating at once never get the same number.
 *
 * The counter alone is not trusted with uniqueness: each reference it hands out is also created
 * as a row of its own (`issued-<year>`, keyed by the reference), and a create fails if the row
 * exists. So if storage ever loses a counter update (a crash of the embedded store), numbers
 * already told to someone are skipped, never issued again. And each referral claims its
 * reference once (`referral`, keyed by its id), so pressing Send twice at once uses one number.
 */

const COUNTER_ATTEMPTS = 60;
/** A claim on a referral's reference older than this belongs to a sender that died mid-way. */
const CLAIM_STALE_MS = 30_000;
const CLAIM_WAIT_MS = 50;
const CLAIM_ATTEMPTS = 200;

type ClaimEntity = { partitionKey: string; rowKey: string; reference: string; claimedAt: number };

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


  /**
   * The reference of a referral: allocated once per referral id, however often (or however
   * concurrently) it is asked for. The first caller claims the referral, allocates, and records
   * the number; the others wait for it. A claim whose holder died is taken over.
   */
  async forReferral(referralId: string, now: Date): Promise<string> {
    const counters = await this.counters;
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt += 1) {
      const claim = await readRow<ClaimEntity>(counters, 'referral', referralId);
      if (claim?.reference) return claim.reference;
      let mine = false;
      try {
        if (!claim) {
          await counters.createEntity<ClaimEntity>({ partitionKey: 'referral', rowKey: referralId, reference: '', claimedAt: Date.now() });
          mine = true;
        } else if (Date.now() - claim.claimedAt > CLAIM_STALE_MS) {
          await counters.updateEntity<ClaimEntity>({ partitionKey: 'referral', rowKey: referralId, reference: '', claimedAt: Date.now() }, 'Replace', { etag: claim.etag });
          mine = true;
        }
      } catch (error) {
        if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error;
      }
      if (!mine) {
        await new Promise((resolve) => setTimeout(resolve, CLAIM_WAIT_MS));
        continue;
      }
      const reference = await this.issue(referralId, now);
      await counters.updateEntity<ClaimEntity>({ partitionKey: 'referral', rowKey: referralId, reference, claimedAt: Date.now() }, 'Replace');
      return reference;
    }
    throw new Error('Could not allocate a referral reference: another Send of this referral did not finish. Try again.');
  }

  /** A number from the counter that no referral has had: the issued row is created, or skipped if it exists. */
  private async issue(referralId: string, now: Date): Promise<string> {
    const counters = await this.counters;
    for (let attempt = 0; attempt < COUNTER_ATTEMPTS; attempt += 1) {
      const reference = await this.next(now);
      try {
        await counters.createEntity({ partitionKey: `issued-${now.getUTCFullYear()}`, rowKey: reference, referralId });
        return reference;
      } catch (error) {
        if (statusOf(error) !== 409) throw error;
        const issued = await readRow<{ referralId: string }>(counters, `issued-${now.getUTCFullYear()}`, reference);
        if (issued?.referralId === referralId) return reference;
        // The counter is behind the numbers already issued (storage lost an update): skip it.
      }
    }
    throw new Error('Could not allocate a referral reference: the counter is far behind the references issued. Try again.');
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
