import { CardFactory, CloudAdapter, ConversationReference, TeamsInfo, TurnContext } from 'botbuilder';
import type { Referral } from '../../domain/referral/referral';
import { serviceReferralCard } from '../../cards/serviceReferralCard';
import type { DirectoryRepository } from '../../storage/directoryRepository';
import { ReferralConflictError, ReferralRepository } from '../../storage/referralRepository';
import type { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import type { Logger } from '../app/log';
import { inConversation } from '../teams/proactive';
import { signInEmail } from '../teams/members';

export interface ServiceChannelDependencies {
  /** The bot's app id ('' in local mode), for proactive posts. */
  appId: string;
  channels: ServiceChannelRepository;
  referrals: ReferralRepository;
  directory: DirectoryRepository;
  logger: Logger;
  now: () => Date;
  /** After a channel is linked (e.g. to start the service's caseload digests). */
  linked?: (serviceId: string) => Promise<void>;
}

/**
 * A service's Teams channel: linking a channel to a directory service (`link`, `unlink`,
 * `status`, said to Signpost in the channel) and posting that service's referrals into it.
 */
export class ServiceChannels {
  private readonly memberCache = new Map<string, { members: Array<{ id: string; name: string; email?: string }>; until: number }>();

  constructor(private readonly deps: ServiceChannelDependencies) {}

  async link(context: TurnContext, serviceId: string): Promise<string> {
    const { directory, channels } = this.deps;
    const where = channelOf(context);
    if (!where) return 'Link a service from a channel of a team, by saying **link** and the service id, for example **link sail**.';
    if (!serviceId) return `Say which service this channel serves, for example **link sail**. ${await this.serviceIds()}`;
    const service = await directory.get(serviceId);
    if (!service) return `There is no service "${serviceId}" in the directory. ${await this.serviceIds()}`;
    if (!service.takesReferrals) {
      return `${service.name} takes no referrals (${service.howPeopleReachIt ?? 'it reaches people itself'}), so there is nothing to send to a channel.`;
    }
    const result = await channels.link({
      serviceId: service.id,
      channelId: where.channelId,
      teamId: where.teamId,
      conversation: channelReference(context, where.channelId),
      linkedBy: { id: context.activity.from.id, name: context.activity.from.name },
      linkedAt: this.deps.now().toISOString(),
    });
    if (!result.ok) {
      if (result.reason === 'channel-already-linked') {
        const other = await directory.get(result.existing.serviceId);
        return `This channel already serves ${other?.name ?? result.existing.serviceId}. Say **unlink** first to change it.`;
      }
      return `${service.name} is already linked to another channel (linked by ${result.existing.linkedBy.name ?? 'a colleague'}). Unlink it there first, so referrals go to one place.`;
    }
    this.deps.logger.info('channel-linked', { serviceId: service.id });
    await this.deps.linked?.(service.id);
    const posted = await this.postWaitingReferrals(context.adapter as CloudAdapter, service.id);
    return (
      `This channel now receives referrals for **${service.name}**. The members of this team are its link workers.` +
      (posted ? ` ${posted} referral${posted === 1 ? '' : 's'} waiting for the service ${posted === 1 ? 'has' : 'have'} been posted here.` : '')
    );
  }

  async unlink(context: TurnContext): Promise<string> {
    const where = channelOf(context);
    if (!where) return 'Unlink from the channel that receives the referrals.';
    const removed = await this.deps.channels.unlink(where.channelId);
    if (!removed) return 'This channel is not linked to a service.';
    const service = await this.deps.directory.get(removed.serviceId);
    this.deps.logger.info('channel-unlinked', { serviceId: removed.serviceId });
    return `This channel no longer receives referrals for ${service?.name ?? removed.serviceId}. New referrals wait in Signpost until a channel is linked again.`;
  }

  async status(context: TurnContext): Promise<string> {
    const where = channelOf(context);
    if (!where) return 'Say **status** in a team channel to see which service it serves.';
    const link = await this.deps.channels.forChannel(where.channelId);
    if (!link) return 'This channel is not linked to a service. Say **link** and a service id, for example **link sail**.';
    const service = await this.deps.directory.get(link.serviceId);
    const queue = await this.deps.referrals.listQueue(link.serviceId);
    const open = queue.filter((entry) => !['declined', 'redirected', 'closed'].includes(entry.status));
    return `This channel serves **${service?.name ?? link.serviceId}**. Open referrals: ${open.length}${
      open.length ? ` (${open.map((entry) => entry.reference).join(', ')})` : ''
    }.`;
  }

  /**
   * Posts a referral's card into its service's channel, once. Returns false when the service
   * has no channel yet (the referral then waits in the queue and is posted when one is linked).
   */
  async postReferral(adapter: CloudAdapter, referralId: string): Promise<boolean> {
    const stored = await this.deps.referrals.get(referralId);
    if (!stored) return false;
    if (stored.referral.channelPost) return true;
    const link = await this.deps.channels.forService(stored.referral.serviceId);
    if (!link) return false;
    const activityId = await inConversation(adapter, this.deps.appId, link.conversation as Partial<ConversationReference>, async (context) => {
      const card = await this.cardFor(context, stored.referral);
      return (await context.sendActivity({ attachments: [CardFactory.adaptiveCard(card)] }))?.id ?? '';
    });
    const at = this.deps.now().toISOString();
    try {
      await this.deps.referrals.update(
        { ...stored.referral, channelPost: { conversationId: link.channelId, activityId: activityId || 'unknown', postedAt: at }, updatedAt: at },
        stored.etag,
        {
          referralId,
          at,
          actor: { id: 'signpost', name: 'Signpost' },
          action: 'referral.posted-to-channel',
          detail: { serviceId: stored.referral.serviceId },
        },
      );
    } catch (error) {
      // Posted, but someone changed the referral meanwhile: the card is there; only its id is
      // not recorded. Logged, not retried, so the channel never gets the card twice.
      if (!(error instanceof ReferralConflictError)) throw error;
      this.deps.logger.warn('channel-post-not-recorded', { reference: stored.referral.reference });
    }
    this.deps.logger.info('referral-posted', { reference: stored.referral.reference, serviceId: stored.referral.serviceId });
    return true;
  }

  /**
   * Replaces the referral's card in its channel with the card as it stands now, from outside
   * the channel (e.g. after a supervisor answered an escalation in their chat).
   */
  async refreshPostedCard(adapter: CloudAdapter, referral: Referral, notice?: string): Promise<void> {
    const post = referral.channelPost;
    const link = await this.deps.channels.forService(referral.serviceId);
    if (!post || post.activityId === 'unknown' || !link || link.channelId !== post.conversationId) return;
    await inConversation(adapter, this.deps.appId, link.conversation as Partial<ConversationReference>, async (context) => {
      const card = await this.cardFor(context, referral, notice);
      await context.updateActivity({ id: post.activityId, type: 'message', attachments: [CardFactory.adaptiveCard(card)] });
    });
  }

  /** The referral's channel card as it stands, with the team's link workers for Assign. */
  async cardFor(context: TurnContext, referral: Referral, notice?: string, showContactDetails = false): Promise<Record<string, unknown>> {
    const services = await this.deps.directory.list();
    const nameOf = (id: string) => services.find((service) => service.id === id)?.name ?? id;
    const redirectServices = [...referral.match.eligibleServiceIds, ...referral.match.nearMissServiceIds]
      .filter((id) => id !== referral.serviceId)
      .map((id) => ({ id, name: nameOf(id) }));
    const history = (await this.deps.referrals.audit(referral.id))
      .filter((event) => typeof event.detail.summary === 'string')
      .slice(-6)
      .map((event) => `${formatTime(event.at)}: ${event.detail.summary}`);
    return serviceReferralCard(referral, {
      serviceName: nameOf(referral.serviceId),
      members: await this.members(context),
      redirectServices,
      history,
      notice,
      showContactDetails,
    });
  }

  /** Service names by id, for messages. */
  async serviceNames(): Promise<Map<string, string>> {
    return new Map((await this.deps.directory.list()).map((service) => [service.id, service.name]));
  }

  /**
   * The link workers: the members of the team the channel belongs to, from Teams. Cached for a
   * minute per conversation, since every card render (every click) needs the list.
   */
  async members(context: TurnContext): Promise<Array<{ id: string; name: string; email?: string }>> {
    const key = context.activity.conversation.id.split(';')[0];
    const cached = this.memberCache.get(key);
    const now = this.deps.now().getTime();
    if (cached && cached.until > now) return cached.members;
    try {
      const page = await TeamsInfo.getPagedMembers(context, 100);
      const members = page.members.map((member) => {
        const email = signInEmail(member);
        return { id: member.id, name: member.name ?? member.id, ...(email ? { email } : {}) };
      });
      this.memberCache.set(key, { members, until: now + 60_000 });
      return members;
    } catch (error) {
      this.deps.logger.warn('members-unavailable', { errorName: (error as Error).name });
      return [];
    }
  }

  private async postWaitingReferrals(adapter: CloudAdapter, serviceId: string): Promise<number> {
    let posted = 0;
    for (const entry of await this.deps.referrals.listQueue(serviceId)) {
      if (entry.status !== 'submitted') continue;
      const stored = await this.deps.referrals.get(entry.referralId);
      if (stored && !stored.referral.channelPost && (await this.postReferral(adapter, entry.referralId))) posted += 1;
    }
    return posted;
  }

  private async serviceIds(): Promise<string> {
    const ids = (await this.deps.directory.list()).filter((service) => service.takesReferrals).map((service) => service.id);
    return `Services that take referrals: ${ids.join(', ')}.`;
  }
}

function formatTime(iso: string): string {
  return new Date(iso).toLocaleString('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: 'Europe/London' });
}

/** The team and channel a message was said in; undefined outside a team channel. */
export function channelOf(context: TurnContext): { teamId: string; channelId: string } | undefined {
  const data = context.activity.channelData as { team?: { id?: string }; channel?: { id?: string } } | undefined;
  const teamId = data?.team?.id;
  const channelId = data?.channel?.id ?? context.activity.conversation.id.split(';')[0];
  if (context.activity.conversation.conversationType !== 'channel' || !teamId || !channelId) return undefined;
  return { teamId, channelId };
}

/** A reference that posts a new message in the channel (not a reply in the thread it was said in). */
function channelReference(context: TurnContext, channelId: string): Record<string, unknown> {
  const reference = TurnContext.getConversationReference(context.activity);
  return JSON.parse(
    JSON.stringify({ ...reference, activityId: undefined, conversation: { ...reference.conversation, id: channelId } }),
  ) as Record<string, unknown>;
}
