import type { Referral } from '../../domain/referral/referral';
import { caseState, referrerVerbs } from '../../domain/referral/lifecycle';
import type { ReferralUpdate } from '../../domain/notifications/referralUpdate';
import { referralUpdateCard, referralUpdateEmail } from '../../cards/referralUpdateCard';
import { staffMessageCard, staffMessageEmail } from '../../cards/staffMessageCard';
import type { ReferrerRepository } from '../../storage/referrerRepository';
import type { ReferralRepository, StoredReferral } from '../../storage/referralRepository';
import type { OutboxEntry, OutboxRepository } from '../../storage/outboxRepository';
import type { ContactRepository } from '../../storage/contactRepository';
import type { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import type { Logger } from '../app/log';
import { PollingLoop } from '../app/pollingLoop';
import type { ForegroundTurns } from '../app/foregroundTurns';
import { isClocksPayload, isStaffPayload, StaffPayload } from '../supervision/supervision';
import { ChannelPostResult, isChannelPostPayload, isChannelRefreshPayload } from '../channels/serviceChannels';
import type { Mailer } from './mailer';
import type { EmailActions } from '../email/emailActions';
import { Card, DeliveryError, Messenger } from './messenger';
import { isReportCountPayload, ReportCountPayload } from '../reports/reportTotals';
import type { StaffMessage } from '../../domain/supervision/messages';
import type { RenderedEmail } from '../../cards/email';

/**
 * Sends what the outbox holds. Each message is claimed with its eTag and a lease, sent, then
 * marked sent. What happens on failure depends on the DeliveryError's code: throttled and
 * transient failures are retried with exponential backoff; unreachable in Teams (the bot was
 * removed, no chat yet) falls back to email; rejected fails at once; after the last attempt a
 * message is marked failed and counted on the health endpoint, never dropped.
 *
 * Delivery is at least once: a message sent just before a crash, but not yet marked, is sent
 * again when its lease ends. The idempotency key travels with it (the email Message-ID), so
 * receivers can recognise a repeat.
 */
export interface DispatcherOptions {
  messenger: Messenger;
  referrals: ReferralRepository;
  outbox: OutboxRepository;
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
  /** How many referrals' messages are sent side by side in a pass (8 unless set). */
  concurrency?: number;
  /** How many due messages a pass reads at a time (50 unless set). */
  batchSize?: number;
  /** Turns being answered now: each batch waits briefly for a quiet moment, so people's turns come first. */
  foreground?: ForegroundTurns;
  /** Posts a referral's card to its service's channel (once), and says how the referral stands afterwards. */
  postReferral: (referralId: string, current: StoredReferral | undefined) => Promise<ChannelPostResult>;
  /** Writes a referral's clocks for the state it is in now (`current`, as the dispatcher just read it; undefined: none stored). */
  startClocks: (referralId: string, current: Referral | undefined) => Promise<void>;
  /** Counts a stored change in the borough report's running totals (`current`: the referral as just read). */
  countForReports: (referralId: string, payload: ReportCountPayload, current: Referral | undefined) => Promise<void>;
  /** Replaces a referral's posted card with the card as it stands now (`current`: the referral as just read). */
  refreshReferral?: (referralId: string, current: StoredReferral | undefined) => Promise<void>;
  /** A service's intake inboxes: a referral posted to its channel is also emailed to each. */
  intakeAddresses?: (serviceId: string) => Promise<string[]>;
  /** The actions emails carry (signed links, Actionable Message cards). */
  emailActions?: EmailActions;
  /** Requests to confirm a directory entry, by email (bot/directory/directoryEmail.ts). */
  directoryEmail?: { requestEmail(to: string, message: StaffMessage): RenderedEmail };
}

/** What the outbox holds to email a referral to one of its service's intake inboxes. */
interface IntakePayload {
  kind: 'intake';
  serviceId: string;
  address: string;
}

function isIntakePayload(payload: Record<string, unknown>): payload is IntakePayload & Record<string, unknown> {
  return payload.kind === 'intake';
}

/** At most this many batches in one pass (1,000 messages at the default batch size). */
const MAX_ROUNDS_PER_PASS = 20;

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

  /**
   * Sends what is due. Messages about different referrals go side by side (a few at a time), so
   * a referrer's news does not queue behind a burst of other cases' work; those about one
   * referral go one after another, in the order they were queued, so nobody hears "closed"
   * before "accepted".
   */
  protected async pass(): Promise<DispatchCounts> {
    const counts: DispatchCounts = { sent: 0, retried: 0, failed: 0 };
    const batchSize = this.options.batchSize ?? 50;
    // A full batch means more may be waiting: look again at once rather than at the next poll
    // (a burst of changes would otherwise leave all but the first batch for seconds). Bounded, so
    // a pass always ends; what is left is taken by the next one.
    for (let round = 0; round < MAX_ROUNDS_PER_PASS; round += 1) {
      await this.options.foreground?.quiet();
      const due = await this.options.outbox.due(this.now(), batchSize);
      await this.sendSideBySide(due, counts);
      if (due.length < batchSize) break;
    }
    return counts;
  }

  private async sendSideBySide(due: OutboxEntry[], counts: DispatchCounts): Promise<void> {
    const byReferral = new Map<string, OutboxEntry[]>();
    for (const entry of due) {
      const group = byReferral.get(entry.referralId) ?? [];
      group.push(entry);
      byReferral.set(entry.referralId, group);
    }
    const groups = [...byReferral.values()];
    const lanes = Array.from({ length: Math.min(groups.length, this.options.concurrency ?? 8) }, async () => {
      for (let group = groups.shift(); group; group = groups.shift()) await this.dispatchGroup(group, counts);
    });
    // Every lane finishes before the pass does (passes never overlap); then the first failure, if any, is the pass's.
    const failure = (await Promise.allSettled(lanes)).find((lane): lane is PromiseRejectedResult => lane.status === 'rejected');
    if (failure) throw failure.reason;
  }

  /**
   * One referral's due messages, in order: claimed together (one request), then each sent and
   * settled before the next. The referral is read once for all of them (a change queues several:
   * the referrer's update, its clocks, its report count); after a message that changes it, what
   * follows uses the referral as that change left it (or reads it again when that is not known).
   */
  private async dispatchGroup(group: OutboxEntry[], counts: DispatchCounts): Promise<void> {
    // Sent one after another, so each gets a whole lease of its own: a slow first send (an SMTP
    // server taking its time) must not let the later ones' leases run out, costing each an attempt.
    const leaseMs = (this.options.leaseMs ?? 60_000) * group.length;
    const claimed = await this.options.outbox.claimAll(group, new Date(this.now().getTime() + leaseMs));
    const referral = new ReferralRead(this.options.referrals, group[0].referralId);
    // What people receive is marked sent as soon as it is; work that is harmless to do twice is
    // marked sent together at the end (one request). The rows in the index of undelivered
    // messages are removed together at the end (a row left by a crash is mended by the next read).
    const done = { sent: [] as OutboxEntry[], toMarkSent: [] as OutboxEntry[] };
    // Lanes whose message is waiting for a retry, and until when: what follows it in its lane waits too.
    const heldLanes = new Map<string, Date>();
    try {
      for (const entry of claimed) {
        // Claimed with the group, but its lease ran out while those before it were sent: another
        // sender may have it now, and the next pass takes it if not.
        if (entry.nextAttemptAt <= this.now().toISOString()) continue;
        const heldUntil = entry.lane ? heldLanes.get(entry.lane) : undefined;
        if (heldUntil) {
          // Not tried, so not an attempt: due again with the message before it.
          await this.options.outbox.release(entry, heldUntil);
          continue;
        }
        const retryAt = await this.dispatchOne(entry, referral, done, counts);
        if (retryAt && entry.lane) heldLanes.set(entry.lane, retryAt);
      }
    } finally {
      if (done.toMarkSent.length) done.sent.push(...(await this.options.outbox.settleAllSent(done.toMarkSent)));
      if (done.sent.length) await this.options.outbox.unlist(done.sent);
    }
  }

  /** Delivers one claimed message and settles it; returns when it is to be tried again, if it is. */
  private async dispatchOne(claimed: OutboxEntry, referral: ReferralRead, done: { sent: OutboxEntry[]; toMarkSent: OutboxEntry[] }, counts: DispatchCounts): Promise<Date | undefined> {
    const { outbox } = this.options;
    try {
      await this.deliver(claimed, referral);
      if (harmlessToRepeat(claimed)) {
        done.toMarkSent.push(claimed);
      } else {
        await outbox.settle(claimed, { state: 'sent' }, undefined, { unlistLater: true });
        done.sent.push(claimed);
      }
      counts.sent += 1;
    } catch (thrown) {
      const error = thrown instanceof DeliveryError ? thrown : new DeliveryError('transient', (thrown as Error)?.name ?? 'failed', undefined, { cause: thrown });
      const reason = `${error.code}: ${error.message}`;
      if (claimed.channel === 'teams' && error.code === 'unreachable' && (await this.fallBackToEmail(claimed))) {
        // Not a failure: the message goes by email instead (its own entry, counted if that fails).
        await outbox.settle(claimed, { state: 'sent' }, `${reason}; Teams cannot reach them, so it goes by email instead`);
        counts.sent += 1;
      } else if (claimed.channel === 'signpost') {
        // Signpost's own work after a change (a referral's clocks, its count in the report) is
        // never given up: storage failing now will answer later, and without the clocks nobody
        // would be reminded of the case. Retried at most every 5 minutes.
        const delay = Math.min(5 * 60_000, (this.options.baseDelayMs ?? 2_000) * 2 ** Math.min(claimed.attempts - 1, 20));
        const retryAt = new Date(this.now().getTime() + delay);
        await outbox.settle(claimed, { state: 'pending', retryAt }, reason);
        if (claimed.attempts >= (this.options.maxAttempts ?? 8)) this.options.logger.error('signpost-work-not-done', { key: claimed.key, attempts: claimed.attempts });
        counts.retried += 1;
        return retryAt;
      } else if (error.code === 'rejected' || error.code === 'unreachable' || claimed.attempts >= (this.options.maxAttempts ?? 8)) {
        const why = error.code === 'unreachable' && claimed.channel === 'teams' ? `${reason}; Teams cannot reach them and there is no email address to use instead` : reason;
        await outbox.settle(claimed, { state: 'failed' }, why);
        this.options.logger.error('notification-failed', { key: claimed.key, channel: claimed.channel, code: error.code, status: error.status });
        counts.failed += 1;
      } else {
        const delay = (this.options.baseDelayMs ?? 2_000) * 2 ** (claimed.attempts - 1);
        const retryAt = new Date(this.now().getTime() + delay);
        await outbox.settle(claimed, { state: 'pending', retryAt }, reason);
        counts.retried += 1;
        return retryAt;
      }
    }
    return undefined;
  }

  private async deliver(entry: OutboxEntry, referral: ReferralRead): Promise<void> {
    if (isStaffPayload(entry.payload)) return this.deliverToStaff(entry, entry.payload, referral);
    if (isIntakePayload(entry.payload)) return this.deliverToIntake(entry, entry.payload, referral);
    if (isChannelPostPayload(entry.payload)) {
      // The service's inboxes first, queued with keys of their own: a retried post adds none twice.
      await this.queueIntakeEmails(entry, entry.payload.serviceId);
      // A service with no channel yet gets its waiting referrals when one is linked: nothing to retry.
      const { now } = await this.options.postReferral(entry.referralId, await referral.read());
      // Posting records where the card went: what comes next uses the referral as that left it.
      referral.changed(now);
      return;
    }
    if (isClocksPayload(entry.payload)) return this.options.startClocks(entry.referralId, (await referral.read())?.referral);
    if (isReportCountPayload(entry.payload)) return this.options.countForReports(entry.referralId, entry.payload, (await referral.read())?.referral);
    if (isChannelRefreshPayload(entry.payload)) return void (await this.options.refreshReferral?.(entry.referralId, await referral.read()));
    const update = entry.payload as unknown as ReferralUpdate;
    const stored = await referral.read();
    if (!stored) throw new DeliveryError('rejected', 'the referral no longer exists');
    if (entry.channel === 'teams') {
      // The card refreshes, for the referrer alone, to where the referral stands when they look again.
      const canAsk = referrerVerbs(caseState(stored.referral)).includes('ask-question');
      await this.sendToReferrer(stored.referral, referralUpdateCard(update, { refreshUserIds: [stored.referral.referrer.teamsUserId], canAsk }));
      return;
    }
    // The actions the referrer may take by email (a question to the link worker), as the permission table allows.
    const target = await this.options.emailActions?.referralTarget(stored.referral.referrer.email, stored.referral);
    const email = referralUpdateEmail(update, this.options.originator, target);
    await this.options.mailer.send({ to: stored.referral.referrer.email, ...email, messageId: entry.key });
  }

  /**
   * Updates go to the referrer's 1:1 chat with Signpost. A referral made in a group chat has
   * no 1:1 reference yet: Signpost creates that chat once and remembers it.
   */
  private async sendToReferrer(referral: Referral, card: Card): Promise<void> {
    const reference = referral.referrerConversation as Record<string, unknown> & { conversation?: { conversationType?: string } };
    const type = reference.conversation?.conversationType;
    if (!type || type === 'personal') {
      await this.options.messenger.send(reference, card);
      return;
    }
    const profile = await this.options.referrers.get(referral.referrer.teamsUserId);
    const member = { id: referral.referrer.teamsUserId, name: referral.referrer.name };
    const created = await this.options.messenger.sendPersonal(member, profile?.personalConversation, reference, card);
    if (created && profile) await this.options.referrers.save({ ...profile, personalConversation: created });
  }

  private async queueIntakeEmails(entry: OutboxEntry, serviceId: string): Promise<void> {
    const addresses = (await this.options.intakeAddresses?.(serviceId)) ?? [];
    for (const address of addresses) {
      const payload: IntakePayload = { kind: 'intake', serviceId, address };
      await this.options.outbox.enqueue(entry.referralId, { key: entry.key.replace(/:channel-post$/, `:intake:${address}`), channel: 'email', payload: { ...payload } }, this.now().toISOString());
    }
    if (addresses.length) this.kick();
  }

  /** A new referral for one of its service's inboxes, with the actions its recipient may take. */
  private async deliverToIntake(entry: OutboxEntry, payload: IntakePayload, referral: ReferralRead): Promise<void> {
    const stored = await referral.read();
    if (!stored) throw new DeliveryError('rejected', 'the referral no longer exists');
    if (!this.options.emailActions) throw new DeliveryError('rejected', 'email actions are not set up');
    await this.options.mailer.send({ to: payload.address, ...(await this.options.emailActions.referralEmail(payload.address, stored.referral)), messageId: entry.key });
  }

  /** A reminder, alert or digest: to a service's channel, or to a person's 1:1 chat or inbox. */
  private async deliverToStaff(entry: OutboxEntry, payload: StaffPayload, partitionReferral: ReferralRead): Promise<void> {
    const { recipient, message } = payload;
    if (entry.channel === 'email') {
      if (recipient.channel || !recipient.email) throw new DeliveryError('rejected', 'no email address');
      const referralId = message.escalation?.referralId ?? message.referralId;
      const referral =
        referralId && this.options.emailActions ? (await (referralId === entry.referralId ? partitionReferral.read() : this.options.referrals.get(referralId)))?.referral : undefined;
      const email =
        message.verification && this.options.directoryEmail
          ? this.options.directoryEmail.requestEmail(recipient.email, message)
          : this.options.emailActions
            ? await this.options.emailActions.staffEmail(recipient.email, message, referral)
            : staffMessageEmail(message);
      await this.options.mailer.send({ to: recipient.email, ...email, messageId: entry.key });
      return;
    }
    const link = await this.options.channelLinks.forService(payload.serviceId);
    if (recipient.channel) {
      // The channel may be linked again later: worth retrying.
      if (!link) throw new DeliveryError('transient', 'the service has no linked channel');
      await this.options.messenger.send(link.conversation, staffMessageCard(message));
      return;
    }
    const contact =
      (recipient.teamsUserId ? await this.options.contacts.byTeamsId(recipient.teamsUserId) : undefined) ??
      (recipient.email ? await this.options.contacts.byEmail(recipient.email) : undefined);
    const teamsUserId = recipient.teamsUserId ?? contact?.teamsUserId;
    // Like Teams saying the person cannot be reached: the email copy carries the message.
    if (!contact?.personalConversation && (!teamsUserId || !link)) throw new DeliveryError('unreachable', 'no Teams chat with this person yet');
    const member = { id: teamsUserId ?? '', name: recipient.name ?? '' };
    // An alert to several supervisors refreshes for each of them, so one's answer shows on every copy.
    const card = staffMessageCard(message, { refreshUserIds: teamsUserId ? [teamsUserId] : [] });
    const created = await this.options.messenger.sendPersonal(member, contact?.personalConversation, link?.conversation, card);
    if (created) await this.options.contacts.remember({ teamsUserId, name: recipient.name, email: recipient.email, personalConversation: created, updatedAt: this.now().toISOString() });
  }

  /** Queues the email copy of a Teams message; false when there is no address to send it to. */
  private async fallBackToEmail(entry: OutboxEntry): Promise<boolean> {
    if (isChannelPostPayload(entry.payload)) return false; // a channel has no inbox: the admins see it failed
    if (isStaffPayload(entry.payload) && (entry.payload.recipient.channel || !entry.payload.recipient.email)) return false;
    const key = entry.key.replace(/:teams$/, ':email');
    // In its lane by email, so the referrer's later updates by email still come after it.
    const lane = entry.lane?.replace(/:teams$/, ':email');
    await this.options.outbox.enqueue(entry.referralId, { key, channel: 'email', payload: entry.payload, ...(lane ? { lane } : {}) }, this.now().toISOString());
    return true;
  }
}

/**
 * Work that comes to the same thing when done twice, so a crash before it is marked sent costs
 * only a repeat: Signpost's own (clocks are stored once per id and time, a count goes by
 * version), the channel post (made once: the referral records it) and the redraw of a posted card.
 */
function harmlessToRepeat(entry: OutboxEntry): boolean {
  return entry.channel === 'signpost' || isChannelPostPayload(entry.payload) || isChannelRefreshPayload(entry.payload);
}

/**
 * A referral as one group of its messages needs it: read when first asked for, and kept for
 * the rest of the group (moments later, in the same pass) unless a message changed it.
 */
class ReferralRead {
  private reading?: Promise<StoredReferral | undefined>;

  constructor(
    private readonly referrals: ReferralRepository,
    private readonly referralId: string,
  ) {}

  read(): Promise<StoredReferral | undefined> {
    if (!this.reading) {
      const reading = this.referrals.get(this.referralId);
      this.reading = reading;
      // A failed read is not kept: the next message asks again.
      reading.catch(() => this.reading === reading && (this.reading = undefined));
    }
    return this.reading;
  }

  /** The referral was changed: `now` is how it stands, when known; otherwise the next message reads it again. */
  changed(now?: StoredReferral): void {
    this.reading = now ? Promise.resolve(now) : undefined;
  }
}
