import { odata, TableClient } from '@azure/data-tables';
import { statusOf, TableConnection } from './tables';
import { movedTo } from './conversationReference';

/**
 * People who refer: what they told us last time (to prefill the next referral) and how to
 * reach them with updates. Keyed by their Teams user id, which is stable per tenant.
 */
export interface ReferrerProfile {
  teamsUserId: string;
  aadObjectId?: string;
  name: string;
  email: string;
  practice: string;
  role?: string;
  /** How they want updates: Teams (default), email or both. */
  notify?: 'teams' | 'email' | 'both';
  /** A plain-JSON conversation reference to the chat they last referred from. */
  conversation?: Record<string, unknown>;
  /** Their 1:1 chat with Signpost, where updates go (created when first needed). */
  personalConversation?: Record<string, unknown>;
  updatedAt: string;
}

interface ReferrerEntity {
  partitionKey: string;
  rowKey: string;
  profile: string;
}

/** How long a profile read is reused: a change made on another instance shows within this. */
const PROFILE_CACHE_MS = 30_000;
const PROFILE_CACHE_SIZE = 5_000;

export class ReferrerRepository {
  private readonly client: Promise<TableClient>;
  /**
   * Profiles read or written lately. Every change to a referral reads its referrer's profile
   * (how they want updates), so without this each Accept or Update pays a storage round trip
   * for an answer that changes once in a blue moon. This instance's own writes update it.
   */
  private readonly recent = new Map<string, { profile: ReferrerProfile | undefined; until: number }>();

  constructor(tables: TableConnection, tableName = 'referrers') {
    this.client = tables.table(tableName);
  }

  async get(teamsUserId: string): Promise<ReferrerProfile | undefined> {
    const hit = this.recent.get(teamsUserId);
    if (hit && hit.until > Date.now()) return hit.profile;
    const profile = (await this.read(teamsUserId))?.profile;
    this.remember(teamsUserId, profile);
    return profile;
  }

  private remember(teamsUserId: string, profile: ReferrerProfile | undefined): void {
    this.recent.delete(teamsUserId);
    // Oldest first out, so the cache stays small however many referrers there are.
    if (this.recent.size >= PROFILE_CACHE_SIZE) this.recent.delete(this.recent.keys().next().value!);
    this.recent.set(teamsUserId, { profile, until: Date.now() + PROFILE_CACHE_MS });
  }

  /**
   * Teams moved one of the referrer's conversations to another serviceUrl: updates follow it.
   * True when something was written.
   */
  async refreshServiceUrl(teamsUserId: string, conversationId: string, serviceUrl: string): Promise<boolean> {
    const stored = await this.read(teamsUserId);
    if (!stored) return false;
    const { profile, etag } = stored;
    const conversation = movedTo(profile.conversation, conversationId, serviceUrl);
    const personalConversation = movedTo(profile.personalConversation, conversationId, serviceUrl);
    if (!conversation && !personalConversation) return false;
    const moved: ReferrerProfile = {
      ...profile,
      conversation: conversation ?? profile.conversation,
      personalConversation: personalConversation ?? profile.personalConversation,
    };
    try {
      // With the eTag: a profile saved meanwhile came from a later turn and already has it.
      await (await this.client).updateEntity<ReferrerEntity>(
        { partitionKey: 'referrer', rowKey: rowKey(teamsUserId), profile: JSON.stringify(moved) },
        'Replace',
        { etag },
      );
    } catch (error) {
      this.recent.delete(teamsUserId);
      if (statusOf(error) === 412 || statusOf(error) === 404) return false;
      throw error;
    }
    this.remember(teamsUserId, moved);
    return true;
  }

  private async read(teamsUserId: string): Promise<{ profile: ReferrerProfile; etag: string } | undefined> {
    try {
      const entity = await (await this.client).getEntity<ReferrerEntity>('referrer', rowKey(teamsUserId));
      return { profile: JSON.parse(entity.profile) as ReferrerProfile, etag: entity.etag };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /**
   * The Teams id of the referrer who signs in with this email (the tab knows people by sign-in).
   * Reads the referrers' partition: a borough's referring staff, not its referrals.
   */
  async teamsIdByEmail(email: string): Promise<string | undefined> {
    const wanted = email.toLowerCase();
    for await (const entity of (await this.client).listEntities<ReferrerEntity>({ queryOptions: { filter: odata`PartitionKey eq 'referrer'` } })) {
      const profile = JSON.parse(entity.profile) as ReferrerProfile;
      if (profile.email.toLowerCase() === wanted) return profile.teamsUserId;
    }
    return undefined;
  }

  /** Last write wins: a profile is the referrer's own latest answer, not shared state. */
  async save(profile: ReferrerProfile): Promise<void> {
    this.recent.delete(profile.teamsUserId);
    await (await this.client).upsertEntity<ReferrerEntity>(
      { partitionKey: 'referrer', rowKey: rowKey(profile.teamsUserId), profile: JSON.stringify(profile) },
      'Replace',
    );
    this.remember(profile.teamsUserId, profile);
  }
}

/** Teams ids may contain ':' and other characters; '/', '\\', '#' and '?' are not allowed in keys. */
function rowKey(teamsUserId: string): string {
  return encodeURIComponent(teamsUserId);
}
