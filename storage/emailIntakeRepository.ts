import { odata, TableClient } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';

/**
 * Email addresses that take a service's referrals, added by an admin (`intake <service> email
 * <address>`); the directory file may list more (`intakeEmails`). Partition = `intake|<service>`,
 * row = the address, lower case.
 *
 * It also holds the confirmation codes waiting for a link's recipient (partition `code`, row =
 * the link's id; one at a time per link), and remembers the Entra tokens already used on Signpost's Actionable Message
 * endpoint (partition `token`, row = the token's id), inserted only if absent, so a replayed
 * token is refused even when two copies arrive at once.
 */
export interface IntakeAddress {
  serviceId: string;
  email: string;
  addedBy: { id: string; name?: string };
  addedAt: string;
}

type Row = { partitionKey: string; rowKey: string; body?: string; expiresAt?: string };

/** An action asked for on a link page, waiting for the code mailed to the link's recipient. */
export interface PendingConfirmation {
  /** The code's digest (never the code). */
  digest: string;
  /** The action, as parsed when it was asked for: confirming acts on exactly this. */
  action: Record<string, unknown>;
  expiresAt: string;
  attempts: number;
}

const CODE_PARTITION = 'code';

const intakePartition = (serviceId: string) => `intake|${serviceId}`;
const TOKEN_PARTITION = 'token';

export class EmailIntakeRepository {
  private readonly client: Promise<TableClient>;

  /**
   * Reads of a service's inboxes under way: a burst of new referrals for one service shares one
   * read. Only while it is under way (nothing is kept after), and never across an add or remove
   * made meanwhile, so a referral never misses an inbox added before it was posted.
   */
  private readonly listing = new Map<string, Promise<IntakeAddress[]>>();

  constructor(tables: TableConnection, tableName = 'emailintake') {
    this.client = tables.table(tableName);
  }

  async list(serviceId: string): Promise<IntakeAddress[]> {
    let reading = this.listing.get(serviceId);
    if (!reading) {
      const started = this.read(serviceId);
      const forget = () => void (this.listing.get(serviceId) === started && this.listing.delete(serviceId));
      started.then(forget, forget);
      this.listing.set(serviceId, started);
      reading = started;
    }
    return [...(await reading)];
  }

  private async read(serviceId: string): Promise<IntakeAddress[]> {
    const found: IntakeAddress[] = [];
    for await (const row of (await this.client).listEntities<Row>({ queryOptions: { filter: odata`PartitionKey eq ${intakePartition(serviceId)}` } })) {
      found.push(JSON.parse(row.body!) as IntakeAddress);
    }
    return found.sort((a, b) => a.email.localeCompare(b.email));
  }

  async add(address: IntakeAddress): Promise<void> {
    const email = address.email.toLowerCase();
    await (await this.client).upsertEntity<Row>(
      { partitionKey: intakePartition(address.serviceId), rowKey: encodeURIComponent(email), body: JSON.stringify({ ...address, email }) },
      'Replace',
    );
    this.listing.delete(address.serviceId);
  }

  /** False when the address was not one of the service's. */
  async remove(serviceId: string, email: string): Promise<boolean> {
    try {
      await (await this.client).deleteEntity(intakePartition(serviceId), encodeURIComponent(email.toLowerCase()));
      this.listing.delete(serviceId);
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  async savePending(linkId: string, pending: PendingConfirmation): Promise<void> {
    await (await this.client).upsertEntity<Row>({ partitionKey: CODE_PARTITION, rowKey: linkId, body: JSON.stringify(pending) }, 'Replace');
  }

  /** The pending confirmation with its eTag, so a wrong guess and a confirmation cannot both count. */
  async pending(linkId: string): Promise<{ pending: PendingConfirmation; etag: string } | undefined> {
    try {
      const row = await (await this.client).getEntity<Row>(CODE_PARTITION, linkId);
      return { pending: JSON.parse(row.body!) as PendingConfirmation, etag: row.etag };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** Counts a wrong code; false when someone else changed it first. */
  async countAttempt(linkId: string, pending: PendingConfirmation, etag: string): Promise<boolean> {
    try {
      await (await this.client).updateEntity<Row>({ partitionKey: CODE_PARTITION, rowKey: linkId, body: JSON.stringify({ ...pending, attempts: pending.attempts + 1 }) }, 'Replace', { etag });
      return true;
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) return false;
      throw error;
    }
  }

  /** Spends a pending confirmation; false when it was already spent or replaced (two confirmations at once: one wins). */
  async spend(linkId: string, etag: string): Promise<boolean> {
    try {
      await (await this.client).deleteEntity(CODE_PARTITION, linkId, { etag });
      return true;
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) return false;
      throw error;
    }
  }

  /** Records a token id; false when it was recorded before (a replay). */
  async firstUseOfToken(tokenId: string, expiresAt: Date): Promise<boolean> {
    try {
      await (await this.client).createEntity<Row>({ partitionKey: TOKEN_PARTITION, rowKey: encodeURIComponent(tokenId).slice(0, 512), expiresAt: expiresAt.toISOString() });
      return true;
    } catch (error) {
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }
}
