import { TableClient } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import { movedTo } from './conversationReference';

/**
 * Staff Signpost may need to reach on its own initiative (link workers, supervisors, admins):
 * their Teams id, sign-in email, and their 1:1 chat with Signpost once there is one. Found by
 * email (how supervisors and admins are configured) or by Teams id (how link workers appear
 * on cards). Each contact is two rows, one per key, both with the whole record.
 */
export interface Contact {
  teamsUserId?: string;
  aadObjectId?: string;
  name?: string;
  email?: string;
  /** Plain-JSON conversation reference to their 1:1 chat with Signpost. */
  personalConversation?: Record<string, unknown>;
  updatedAt: string;
}

type ContactEntity = { partitionKey: 'email' | 'teams'; rowKey: string; body: string };

export class ContactRepository {
  private readonly client: Promise<TableClient>;

  constructor(tables: TableConnection, tableName = 'contacts') {
    this.client = tables.table(tableName);
  }

  byEmail(email: string): Promise<Contact | undefined> {
    return this.read('email', email.toLowerCase());
  }

  byTeamsId(teamsUserId: string): Promise<Contact | undefined> {
    return this.read('teams', teamsUserId);
  }

  /** Merges what is known now into what was known before, under both keys. */
  async remember(update: Contact): Promise<Contact> {
    const before = {
      ...(update.email ? await this.byEmail(update.email) : undefined),
      ...(update.teamsUserId ? await this.byTeamsId(update.teamsUserId) : undefined),
    };
    const merged: Contact = { ...before, ...stripUndefined(update), updatedAt: update.updatedAt, email: (update.email ?? before.email)?.toLowerCase() };
    const client = await this.client;
    const body = JSON.stringify(merged);
    if (merged.email) await client.upsertEntity<ContactEntity>({ partitionKey: 'email', rowKey: encodeURIComponent(merged.email), body }, 'Replace');
    if (merged.teamsUserId) await client.upsertEntity<ContactEntity>({ partitionKey: 'teams', rowKey: encodeURIComponent(merged.teamsUserId), body }, 'Replace');
    return merged;
  }

  /** Teams moved the person's 1:1 chat to another serviceUrl: alerts follow it. True when written. */
  async refreshServiceUrl(teamsUserId: string, conversationId: string, serviceUrl: string, at: string): Promise<boolean> {
    const contact = await this.byTeamsId(teamsUserId);
    const personalConversation = movedTo(contact?.personalConversation, conversationId, serviceUrl);
    if (!personalConversation) return false;
    await this.remember({ teamsUserId, personalConversation, updatedAt: at });
    return true;
  }

  private async read(partitionKey: 'email' | 'teams', key: string): Promise<Contact | undefined> {
    try {
      const entity = await (await this.client).getEntity<ContactEntity>(partitionKey, encodeURIComponent(key));
      return JSON.parse(entity.body) as Contact;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}
