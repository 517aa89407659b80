import { Activity, CardFactory, CloudAdapter, ConversationParameters, ConversationReference } from 'botbuilder';
import type { Referral } from '../../domain/referral/referral';
import type { ReferrerRepository } from '../../storage/referrerRepository';
import type { ReferralUpdate } from '../../domain/notifications/referralUpdate';
import { referralUpdateCard, referralUpdateEmail } from '../../cards/referralUpdateCard';
import type { OutboxEntry, ReferralRepository } from '../../storage/referralRepository';
import type { Mailer } from './mailer';
import type { Logger } from '../app/log';
import { PollingLoop } from '../app/pollingLoop';
import { inConversation, inNewConversation, plainReference } from '../teams/proactive';
import { isStaffPayload, StaffPayload } from '../supervision/supervision';
import { staffMessageCard, staffMessageEmail } from '../../cards/staffMessageCard';
import type { ContactRepository } from '../../storage/contactRepository';
import type { ServiceChannelRepository } from '../../storage/serviceChannelRepository';

/**
 * Sends what the outbox holds. Each message is claimed with its eTag and a lease, sent, then
 * marked sent; transient failures (Teams 429/5xx, network, SMTP) are retried with exponential
 * backoff; Teams saying the person cannot be reached (403/404: the bot was removed) falls back
 * to email; after the last attempt a message is marked failed and counted on the health
 * endpoint, never dropped.
 *
 * Delivery is at least once: a message sent just before a crash, but not yet marked, is sent
 * again when its lease ends. The idempotency key travels with it (the email Message-ID), so
 * receivers can recognise a repeat.
 */
export interface DispatcherOptions {
  appId: string;
  adapter: CloudAdapter;
  referrals: ReferralRepository;
  referrers: ReferrerRepository;
  mailer: Mailer;
  /** Staff messages (reminders, alerts, digests): how to reach people and service channels. */
  contacts: ContactRepository;
  channelLinks: ServiceChannelRepository;
  originator: string;
  logger: Logger;
  now?: () => Date;
  baseDelayMs?: number;
  maxAttempts?: number;
  leaseMs?: number;
}

export interface DispatchCounts {
  sent: number;
  retried: number;
  failed: number;
}

export class NotificationDispatcher extends PollingLoop<DispatchCounts> {
  constructor(private readonly options: DispatcherOptions) {
    super(options.logger, 'dispatch-failed');
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  protected async pass(): Promise<DispatchCounts> {
    const counts: DispatchCounts = { sent: 0, retried: 0, failed: 0 };
    const { referrals } = this.options;
    for (const due of await referrals.dueOutbox(this.now())) {
      const claimed = await referrals.claimOutbox(due, new Date(this.now().getTime() + (this.options.leaseMs ?? 60_000)));
      if (!claimed) continue; // another sender has it
      try {
        await this.deliver(claimed);
        await referrals.settleOutbox(claimed, { state: 'sent' });
        counts.sent += 1;
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode;
        const reason = `${(error as Error).name}${status ? ` ${status}` : ''}`;
        if (claimed.channel === 'teams' && (status === 401 || status === 403 || status === 404)) {
          const fellBack = await this.fallBackToEmail(claimed);
          await referrals.settleOutbox(claimed, { state: 'failed' }, `${reason}: Teams cannot reach them; ${fellBack ? 'sent by email instead' : 'no email address to use instead'}`);
          counts.failed += 1;
        } else if (claimed.attempts >= (this.options.maxAttempts ?? 8)) {
          await referrals.settleOutbox(claimed, { state: 'failed' }, reason);
          this.options.logger.error('notification-failed', { key: claimed.key, channel: claimed.channel, reason });
          counts.failed += 1;
        } else {
          const delay = (this.options.baseDelayMs ?? 2_000) * 2 ** (claimed.attempts - 1);
          await referrals.settleOutbox(claimed, { state: 'pending', retryAt: new Date(this.now().getTime() + delay) }, reason);
          counts.retried += 1;
        }
      }
    }
    return counts;
  }

  private async deliver(entry: OutboxEntry): Promise<void> {
    if (isStaffPayload(entry.payload)) return this.deliverToStaff(entry, entry.payload);
    const update = entry.payload as unknown as ReferralUpdate;
    const stored = await this.options.referrals.get(entry.referralId);
    if (!stored) throw Object.assign(new Error('referral not found'), { name: 'ReferralGone' });
    if (entry.channel === 'teams') {
      await this.sendToReferrer(stored.referral, { attachments: [CardFactory.adaptiveCard(referralUpdateCard(update))] });
      return;
    }
    const email = referralUpdateEmail(update, this.options.originator);
    await this.options.mailer.send({ to: stored.referral.referrer.email, ...email, messageId: entry.key });
  }

  /**
   * Updates go to the referrer's 1:1 chat with Signpost. A referral made in a group chat has
   * no 1:1 reference yet: Signpost creates that chat once and remembers it.
   */
  private async sendToReferrer(referral: Referral, activity: Partial<Activity>): Promise<void> {
    const reference = referral.referrerConversation as unknown as Partial<ConversationReference>;
    const type = reference.conversation?.conversationType;
    if (!type || type === 'personal') {
      await inConversation(this.options.adapter, this.options.appId, reference, (context) => context.sendActivity(activity));
      return;
    }
    const profile = await this.options.referrers.get(referral.referrer.teamsUserId);
    const member = { id: referral.referrer.teamsUserId, name: referral.referrer.name };
    const created = await this.sendInPersonalChat(activity, member, profile?.personalConversation, reference);
    if (created && profile) await this.options.referrers.save({ ...profile, personalConversation: created });
  }

  /** A reminder, alert or digest: to a service's channel, or to a person's 1:1 chat or inbox. */
  private async deliverToStaff(entry: OutboxEntry, payload: StaffPayload): Promise<void> {
    const { recipient, message } = payload;
    if (entry.channel === 'email') {
      if (recipient.channel || !recipient.email) throw Object.assign(new Error('no email address'), { name: 'NoEmailAddress' });
      await this.options.mailer.send({ to: recipient.email, ...staffMessageEmail(message), messageId: entry.key });
      return;
    }
    const activity = { attachments: [CardFactory.adaptiveCard(staffMessageCard(message))] };
    const link = await this.options.channelLinks.forService(payload.serviceId);
    if (recipient.channel) {
      if (!link) throw Object.assign(new Error('the service has no linked channel'), { name: 'ChannelNotLinked' });
      await inConversation(this.options.adapter, this.options.appId, link.conversation as Partial<ConversationReference>, (context) => context.sendActivity(activity));
      return;
    }
    const contact =
      (recipient.teamsUserId ? await this.options.contacts.byTeamsId(recipient.teamsUserId) : undefined) ??
      (recipient.email ? await this.options.contacts.byEmail(recipient.email) : undefined);
    const teamsUserId = recipient.teamsUserId ?? contact?.teamsUserId;
    // Treated like Teams saying the person cannot be reached: the email copy carries the message.
    if (!contact?.personalConversation && (!teamsUserId || !link)) {
      throw Object.assign(new Error('no Teams chat with this person yet'), { name: 'NotReachableInTeams', statusCode: 404 });
    }
    const member = { id: teamsUserId ?? '', name: recipient.name ?? '' };
    const created = await this.sendInPersonalChat(activity, member, contact?.personalConversation, link?.conversation as Partial<ConversationReference>);
    if (created) await this.options.contacts.remember({ teamsUserId, name: recipient.name, email: recipient.email, personalConversation: created, updatedAt: this.now().toISOString() });
  }

  /**
   * Sends in someone's 1:1 chat with Signpost: the one already known, or a new one created
   * through `via` (any conversation in their tenant: a group chat, the service's channel).
   * Returns the new chat's reference for the caller to remember, or undefined if it existed.
   */
  private async sendInPersonalChat(
    activity: Partial<Activity>,
    member: { id: string; name: string },
    known: Record<string, unknown> | undefined,
    via: Partial<ConversationReference>,
  ): Promise<Record<string, unknown> | undefined> {
    if (known) {
      await inConversation(this.options.adapter, this.options.appId, known as Partial<ConversationReference>, (context) => context.sendActivity(activity));
      return undefined;
    }
    if (!via.serviceUrl || !via.bot) throw Object.assign(new Error('no conversation to start a chat from'), { name: 'NotReachableInTeams', statusCode: 404 });
    const tenantId = via.conversation?.tenantId;
    return inNewConversation(
      this.options.adapter,
      this.options.appId,
      via.serviceUrl,
      { isGroup: false, bot: via.bot, members: [member], tenantId, channelData: { tenant: { id: tenantId } } } as ConversationParameters,
      async (context) => {
        await context.sendActivity(activity);
        return plainReference(context.activity);
      },
    );
  }

  /** Queues the email copy of a Teams message; false when there is no address to send it to. */
  private async fallBackToEmail(entry: OutboxEntry): Promise<boolean> {
    if (isStaffPayload(entry.payload) && (entry.payload.recipient.channel || !entry.payload.recipient.email)) return false;
    const key = entry.key.replace(/:teams$/, ':email');
    await this.options.referrals.enqueueNotification(entry.referralId, { key, channel: 'email', payload: entry.payload }, this.now().toISOString());
    return true;
  }
}
