import type { Referral } from '../../domain/referral/referral';
import { isOpenStatus } from '../../domain/referral/lifecycle';
import { formatShortTime } from '../../domain/format';
import { escapeCardText } from '../../domain/text';
import { activityChoice, ServiceCardContext, serviceReferralCard } from '../../cards/serviceReferralCard';
import { serviceWait } from '../../cards/serviceCard';
import type { Activity } from '../../domain/directory/activities';
import { activitiesNear, Nearness, runningActivitiesByName } from '../../domain/directory/activitySearch';
import type { DirectoryService } from '../../domain/directory/schema';
import type { PersonFacts } from '../../domain/eligibility/facts';
import { personFacts } from '../../domain/referral/retention';
import type { ActivityRepository } from '../../storage/activityRepository';
import { MAX_REFRESH_USERS } from '../../cards/render';
import type { DirectoryRepository } from '../../storage/directoryRepository';
import { ReferralConflictError, ReferralRepository, type StoredReferral } from '../../storage/referralRepository';
import type { ServiceQueueRepository } from '../../storage/serviceQueueRepository';
import type { OutboxMessage } from '../../storage/outboxRepository';
import type { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import type { Logger } from '../app/log';
import type { Card, ConversationRef, Messenger } from '../notifications/messenger';
import type { LinkWorkerRoster } from './roster';

export interface ServiceChannelDependencies {
  channels: ServiceChannelRepository;
  referrals: ReferralRepository;
  queue: ServiceQueueRepository;
  directory: DirectoryRepository;
  /** The activities offered on the card's Update, before a link worker searches. */
  activities: ActivityRepository;
  messenger: Messenger;
  roster: LinkWorkerRoster;
  logger: Logger;
  now: () => Date;
  /** After a channel is linked (e.g. to start the service's caseload digests); what it returns is added to the reply. */
  linked?: (serviceId: string, linkedBy: { id: string; name?: string }) => Promise<string | void>;
}

/** Where a message was said: a team's channel. */
export interface ChannelPlace {
  teamId: string;
  channelId: string;
}

/**
 * A service's channel: linking a channel to a directory service (`link`, `unlink`, `status`,
 * said to Signpost in the channel), posting that service's referrals into it, and the
 * referral card its link workers see. Knows no chat SDK: it posts through the Messenger.
 */
/** How long a card's history, read for one version of a referral, serves other cards of that version. */
const HISTORY_REUSE_MS = 2_000;

export class ServiceChannels {
  /**
   * A click's answer and the shared card refreshed behind it draw the same history a moment
   * apart: one read of the audit trail serves both. Keyed by version, kept for two seconds, so
   * an event added since (contact details shown) appears at the next card drawn after that.
   */
  private readonly recentHistory = new Map<string, { until: number; history: Promise<string[]> }>();

  constructor(private readonly deps: ServiceChannelDependencies) {}

  async link(where: ChannelPlace | undefined, conversation: ConversationRef, by: { id: string; name?: string }, serviceId: string): Promise<string> {
    const { directory, channels } = this.deps;
    if (!where) return 'Link a service from a channel of a team, by saying **link** and the service id, for example **link sail**.';
    if (!serviceId) return `Say which service this channel serves, for example **link sail**. ${await this.serviceIds()}`;
    const service = await directory.get(serviceId);
    if (!service) return `There is no service "${escapeCardText(serviceId)}" in the directory. ${await this.serviceIds()}`;
    if (!service.takesReferrals) {
      return `${service.name} takes no referrals (${service.howPeopleReachIt ?? 'it reaches people itself'}), so there is nothing to send to a channel.`;
    }
    const result = await channels.link({
      serviceId: service.id,
      channelId: where.channelId,
      teamId: where.teamId,
      conversation,
      linkedBy: by,
      linkedAt: this.deps.now().toISOString(),
    });
    if (!result.ok) {
      if (result.reason === 'channel-already-linked') {
        const other = await directory.get(result.existing.serviceId);
        return `This channel already serves ${other?.name ?? result.existing.serviceId}. Say **unlink** first to change it.`;
      }
      return `${service.name} is already linked to another channel (linked by ${escapeCardText(result.existing.linkedBy.name ?? 'a colleague')}). Unlink it there first, so referrals go to one place.`;
    }
    this.deps.logger.info('channel-linked', { serviceId: service.id });
    const added = await this.deps.linked?.(service.id, by);
    const posted = await this.postWaitingReferrals(service.id);
    return (
      `This channel now receives referrals for **${service.name}**. The members of this team are its link workers.` +
      (posted ? ` ${posted} referral${posted === 1 ? '' : 's'} waiting for the service ${posted === 1 ? 'has' : 'have'} been posted here.` : '') +
      (added ? ` ${added}` : '')
    );
  }

  async unlink(where: ChannelPlace | undefined): Promise<string> {
    if (!where) return 'Unlink from the channel that receives the referrals.';
    const removed = await this.deps.channels.unlink(where.channelId);
    if (!removed) return 'This channel is not linked to a service.';
    const service = await this.deps.directory.get(removed.serviceId);
    this.deps.logger.info('channel-unlinked', { serviceId: removed.serviceId });
    return `This channel no longer receives referrals for ${service?.name ?? removed.serviceId}. New referrals wait in Signpost until a channel is linked again.`;
  }

  async status(where: ChannelPlace | undefined): Promise<string> {
    if (!where) return 'Say **status** in a team channel to see which service it serves.';
    const link = await this.deps.channels.forChannel(where.channelId);
    if (!link) return 'This channel is not linked to a service. Say **link** and a service id, for example **link sail**.';
    const service = await this.deps.directory.get(link.serviceId);
    const open = (await this.deps.queue.list(link.serviceId)).filter((entry) => isOpenStatus(entry.status));
    return `This channel serves **${service?.name ?? link.serviceId}**. Open referrals: ${open.length}${
      open.length ? ` (${open.map((entry) => entry.reference).join(', ')})` : ''
    }.`;
  }

  /**
   * Posts a referral's card to its service's channel, once. `known`: the referral as the caller
   * just read it, not read again. `posted` is false when the service has no channel yet (the
   * referral then waits in the queue and is posted when one is linked). `now` is the referral as
   * it stands afterwards, so what comes next need not read it again; undefined when that is not
   * known (someone changed it meanwhile).
   */
  async postReferral(referralId: string, known?: StoredReferral): Promise<ChannelPostResult> {
    const stored = known ?? (await this.deps.referrals.get(referralId));
    if (!stored) return { posted: false, now: undefined };
    if (stored.referral.channelPost) return { posted: true, now: stored };
    const link = await this.deps.channels.forService(stored.referral.serviceId);
    if (!link) return { posted: false, now: stored };
    const activityId = await this.deps.messenger.send(link.conversation, await this.cardFor(stored.referral));
    const at = this.deps.now().toISOString();
    let now: StoredReferral | undefined;
    try {
      now = await this.deps.referrals.update(
        { ...stored.referral, channelPost: { conversationId: link.channelId, activityId: activityId || 'unknown', postedAt: at }, updatedAt: at },
        stored.etag,
        {
          referralId,
          at,
          actor: { id: 'signpost', name: 'Signpost' },
          action: 'referral.posted-to-channel',
          detail: { serviceId: stored.referral.serviceId },
        },
        [],
        { keepsVersion: true },
      );
    } catch (error) {
      // Posted, but someone changed the referral meanwhile: the card is there; only its id is
      // not recorded. Logged, not retried, so the channel never gets the card twice.
      if (!(error instanceof ReferralConflictError)) throw error;
      this.deps.logger.warn('channel-post-not-recorded', { reference: stored.referral.reference });
    }
    this.deps.logger.info('referral-posted', { reference: stored.referral.reference, serviceId: stored.referral.serviceId });
    return { posted: true, now };
  }

  /**
   * Replaces the card posted for a referral with the card as it stands now, for everyone in the
   * channel. `post` is where the card was posted (a redirected referral's old card is in the
   * old service's channel).
   */
  async refreshPostedCard(referral: Referral, post: Referral['channelPost'], notice?: string): Promise<void> {
    if (!post || post.activityId === 'unknown') return;
    const link = await this.deps.channels.forChannel(post.conversationId);
    if (!link) return;
    await this.deps.messenger.update(link.conversation, post.activityId, await this.cardFor(referral, { notice }));
  }

  /**
   * Replaces a referral's posted card with the card as it stands now (sent through the outbox:
   * see channelRefreshMessage). `known`: the referral as the caller just read it, not read again.
   */
  async refreshReferral(referralId: string, known?: StoredReferral): Promise<void> {
    const stored = known ?? (await this.deps.referrals.get(referralId));
    if (stored) await this.refreshPostedCard(stored.referral, stored.referral.channelPost);
  }

  /**
   * The referral's channel card as it stands, with the team's link workers for Assign. Without a
   * viewer it is the shared card everyone sees, which Teams redraws for each listed member of
   * the team as their own view (the owner first, up to Teams' limit); a larger team gets a
   * "Show my actions" button instead.
   */
  async cardFor(referral: Referral, options: { notice?: string; showContactDetails?: boolean; viewer?: ServiceCardContext['viewer'] } = {}): Promise<Card> {
    const [services, history, members, activities] = await Promise.all([
      this.deps.directory.list(),
      this.history(referral),
      this.members(referral.serviceId),
      this.deps.activities.list(),
    ]);
    const nameOf = (id: string) => services.find((service) => service.id === id)?.name ?? id;
    const redirectServices = [...referral.match.eligibleServiceIds, ...referral.match.nearMissServiceIds]
      .filter((id) => id !== referral.serviceId)
      .map((id) => ({ id, name: nameOf(id) }));
    const ownerFirst = [...members].sort((a, b) => Number(b.id === referral.owner?.id) - Number(a.id === referral.owner?.id));
    const service = services.find((candidate) => candidate.id === referral.serviceId);
    return serviceReferralCard(referral, {
      serviceName: nameOf(referral.serviceId),
      // Kept current by the service's link workers (`wait 6 weeks`) and maintainers: the card redrawn shows the new wait.
      serviceWait: service ? serviceWait(service) : undefined,
      members,
      redirectServices,
      activityChoices: offeredActivities(activities, activityNearness(referral, services.find((service) => service.id === referral.serviceId))).map(activityChoice),
      history,
      notice: options.notice,
      showContactDetails: options.showContactDetails,
      viewer: options.viewer,
      refreshUserIds: ownerFirst.slice(0, MAX_REFRESH_USERS).map((member) => member.id),
      manualRefresh: members.length > MAX_REFRESH_USERS,
    });
  }

  /** The card's last six history lines: who did what, when. */
  private history(referral: Referral): Promise<string[]> {
    const now = Date.now();
    for (const [key, kept] of this.recentHistory) if (kept.until <= now) this.recentHistory.delete(key);
    const key = `${referral.id}:${referral.version}`;
    const kept = this.recentHistory.get(key);
    if (kept) return kept.history;
    const history = this.deps.referrals.audit(referral.id).then((audit) =>
      audit
        .filter((event) => typeof event.detail.summary === 'string')
        .slice(-6)
        .map((event) => `${formatShortTime(event.at)}: ${event.detail.summary}`),
    );
    this.recentHistory.set(key, { until: now + HISTORY_REUSE_MS, history });
    // A failed read is not kept: the next card asks again.
    history.catch(() => this.recentHistory.delete(key));
    return history;
  }

  /** The team's members for the card's Assign list; a card without the list beats no card. */
  private async members(serviceId: string): Promise<Array<{ id: string; name: string; email?: string }>> {
    try {
      return (await this.deps.roster.members(serviceId)).map(({ id, name, email }) => ({ id, name, ...(email ? { email } : {}) }));
    } catch (error) {
      this.deps.logger.warn('members-unavailable', { errorName: (error as Error).name });
      return [];
    }
  }

  private async postWaitingReferrals(serviceId: string): Promise<number> {
    let posted = 0;
    for (const entry of await this.deps.queue.list(serviceId)) {
      if (entry.status !== 'submitted') continue;
      const stored = await this.deps.referrals.get(entry.referralId);
      if (stored && !stored.referral.channelPost && (await this.postReferral(entry.referralId, stored)).posted) posted += 1;
    }
    return posted;
  }

  private async serviceIds(): Promise<string> {
    const ids = (await this.deps.directory.list()).filter((service) => service.takesReferrals).map((service) => service.id);
    return `Services that take referrals: ${ids.join(', ')}.`;
  }
}

/** What posting a referral to its service's channel did (ServiceChannels.postReferral). */
export interface ChannelPostResult {
  posted: boolean;
  /** The referral as it stands afterwards; undefined when not known (changed by someone else meanwhile). */
  now: StoredReferral | undefined;
}

/** What the outbox holds to post a referral's card to its service's channel. */
export interface ChannelPostPayload {
  kind: 'channel-post';
  serviceId: string;
}

export function isChannelPostPayload(payload: Record<string, unknown>): payload is ChannelPostPayload & Record<string, unknown> {
  return payload.kind === 'channel-post';
}

/**
 * The outbox message that posts a referral to its service's channel, written with the change
 * that routes it there (submitting, redirecting): so a referral is never stored without the
 * means of reaching its service, and a failed post is retried and counted like any message.
 * Keyed by version, so a redirect back to an earlier service posts again.
 */
export function channelPostMessage(referral: Pick<Referral, 'id' | 'version' | 'serviceId'>): OutboxMessage {
  const payload: ChannelPostPayload = { kind: 'channel-post', serviceId: referral.serviceId };
  return { key: `${referral.id}:${referral.version}:channel-post`, channel: 'teams', payload: { ...payload } };
}

/** What the outbox holds to replace a referral's posted card, e.g. once the person's details were removed. */
export interface ChannelRefreshPayload {
  kind: 'channel-refresh';
  serviceId: string;
}

export function isChannelRefreshPayload(payload: Record<string, unknown>): payload is ChannelRefreshPayload & Record<string, unknown> {
  return payload.kind === 'channel-refresh';
}

/**
 * The outbox message that replaces the referral's card in its channel with the card as it
 * stands, written with a change made where no chat is at hand (retention, an erasure from the
 * command line); sent by whichever Signpost instance runs the outbox, retried like any message.
 */
export function channelRefreshMessage(referral: Pick<Referral, 'id' | 'version' | 'serviceId'>): OutboxMessage {
  const payload: ChannelRefreshPayload = { kind: 'channel-refresh', serviceId: referral.serviceId };
  return { key: `${referral.id}:${referral.version}:channel-refresh`, channel: 'teams', payload: { ...payload } };
}

/** How many activities the card lists before a link worker searches: Teams' dropdown stays usable. */
const ACTIVITIES_OFFERED = 40;

/** The nearby running activities; none near, the directory's first running ones by name (the typeahead still searches all of it). */
function offeredActivities(activities: Activity[], near: Nearness): Activity[] {
  const nearby = activitiesNear(activities, near, ACTIVITIES_OFFERED);
  return nearby.length ? nearby : runningActivitiesByName(activities).slice(0, ACTIVITIES_OFFERED);
}

/** Where the person is (their postcode district) and the service works: the card offers what is near first. */
export function activityNearness(referral: Referral, service: DirectoryService | undefined): Nearness {
  const district = personFacts(referral)?.postcodeDistrict;
  const borough = (referral.facts as PersonFacts).borough;
  const boroughs = service?.areaCovered.value ?? (borough ? [borough] : []);
  return { ...(district ? { postcodeDistrict: district } : {}), boroughs };
}
