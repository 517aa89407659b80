import type { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import type { Messenger, RosterMember } from '../notifications/messenger';

const ROSTER_TTL_MS = 60_000;

/**
 * A service's link workers: the members of the team whose channel serves it, as Teams says.
 * One cache for every question (who may act, who can be assigned, who gets a card): a team's
 * roster is asked for at most once a minute, and someone not in the cached roster is looked
 * up on their own, so a person who has just joined is not refused.
 */
export class LinkWorkerRoster {
  private readonly cache = new Map<string, { members: RosterMember[]; until: number }>();

  constructor(
    private readonly messenger: Messenger,
    private readonly channelLinks: ServiceChannelRepository,
    private readonly now: () => Date,
  ) {}

  /** The link workers of a service; none when it has no channel. */
  async members(serviceId: string): Promise<RosterMember[]> {
    const link = await this.channelLinks.forService(serviceId);
    if (!link) return [];
    const cached = this.cache.get(link.teamId);
    if (cached && cached.until > this.now().getTime()) return cached.members;
    const members = await this.messenger.members(link.conversation);
    this.cache.set(link.teamId, { members, until: this.now().getTime() + ROSTER_TTL_MS });
    return members;
  }

  /** One link worker of the service, or undefined when the person is not one. */
  async member(serviceId: string, userId: string): Promise<RosterMember | undefined> {
    const link = await this.channelLinks.forService(serviceId);
    if (!link) return undefined;
    const cached = this.cache.get(link.teamId);
    const known = cached && cached.until > this.now().getTime() ? cached.members.find((member) => member.id === userId) : undefined;
    return known ?? this.messenger.member(link.conversation, userId);
  }

  /**
   * The link worker of the service who signed in elsewhere (the tab): found by Entra object id
   * or sign-in email, since a signed-in person has no Teams user id of their own to offer.
   */
  async signedInMember(serviceId: string, who: { aadObjectId?: string; email?: string }): Promise<RosterMember | undefined> {
    const objectId = who.aadObjectId?.toLowerCase();
    const email = who.email?.toLowerCase();
    if (!objectId && !email) return undefined;
    return (await this.members(serviceId)).find(
      (member) => (objectId !== undefined && member.aadObjectId === objectId) || (email !== undefined && member.email?.toLowerCase() === email),
    );
  }
}
