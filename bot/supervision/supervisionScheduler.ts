import type { AuditEvent, Referral } from '../../domain/referral/referral';
import { digestTimer, evaluateReferralTimer, Notice, Timer, TimerDecision } from '../../domain/supervision/policy';
import { caseloadDigests } from '../../domain/supervision/messages';
import type { ReferralRepository } from '../../storage/referralRepository';
import type { OutboxRepository } from '../../storage/outboxRepository';
import type { ServiceQueueRepository } from '../../storage/serviceQueueRepository';
import { isOpenStatus } from '../../domain/referral/lifecycle';
import { unfinishedFormsTimer } from '../../domain/referral/retention';
import type { StoredTimer, TimerRepository } from '../../storage/timerRepository';
import { describeError, Logger } from '../app/log';
import { PollingLoop } from '../app/pollingLoop';
import type { Supervision } from './supervision';

/**
 * Runs the supervision clocks: reads the timers that are due (never the referrals that are
 * not), claims each with a lease so one instance acts on it, asks the policy what it says
 * now, and queues the messages in the outbox with an audit event, in one transaction. The
 * dispatcher sends them, with its retries and email fallback.
 *
 * Reminders go out in working hours only: outside them a sweep does nothing, and what came due
 * overnight (or while Signpost was down) goes out once at the next opening.
 */
export interface SchedulerOptions {
  timers: TimerRepository;
  referrals: ReferralRepository;
  queue: ServiceQueueRepository;
  outbox: OutboxRepository;
  supervision: Supervision;
  logger: Logger;
  now?: () => Date;
  /** Called when messages were queued, so they go out now rather than at the next poll. */
  notificationsQueued?: () => void;
  leaseMs?: number;
  /** How many due timers one sweep takes on. */
  batchSize?: number;
  /** Removes an ended referral's person data when its retention timer comes due (bot/privacy/personData.ts). */
  retention?: { retire(timer: Timer): Promise<Timer[]>; catchUp(): Promise<number>; removeUnfinishedForms(): Promise<number> };
  /** Sends the requests to confirm directory entries when they come due (bot/directory/directoryUpkeep.ts). */
  directoryUpkeep?: { requestDue(timer: Timer, now: Date): Promise<{ queued: number; next: Timer[] }> };
}

export interface SweepResult {
  /** Timers this instance claimed and completed. */
  fired: number;
  /** Messages queued (per recipient and channel). */
  queued: number;
  /** Timer rows the due query returned: the sweep's storage cost. */
  rowsRead: number;
  /** Due timers another instance had claimed first. */
  lostClaims: number;
  outsideWorkingHours: boolean;
}

const SYSTEM = { id: 'signpost', name: 'Signpost' };
const SWEEP_CONCURRENCY = 8;

export class SupervisionScheduler extends PollingLoop<SweepResult> {
  constructor(private readonly options: SchedulerOptions) {
    super(options.logger, 'supervision-sweep-failed');
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  protected async pass(): Promise<SweepResult> {
    const result: SweepResult = { fired: 0, queued: 0, rowsRead: 0, lostClaims: 0, outsideWorkingHours: false };
    const now = this.now();
    if (!this.options.supervision.calendar.isWorkingTime(now)) return { ...result, outsideWorkingHours: true };
    const { timers } = this.options;
    const due = await timers.due(now, this.options.batchSize ?? 100);
    result.rowsRead = due.rowsRead;
    const handle = async (candidate: StoredTimer) => {
      const claimed = await timers.claim(candidate, new Date(now.getTime() + (this.options.leaseMs ?? 120_000)));
      if (!claimed) {
        result.lostClaims += 1;
        return;
      }
      try {
        const outcome = await this.fire(claimed, now);
        result.queued += outcome.queued;
        if (await timers.complete(claimed, outcome.next)) result.fired += 1;
        else result.lostClaims += 1;
      } catch (error) {
        // Leave it claimed: when the lease ends it is tried again (by any instance). The
        // outbox keys make a second try queue nothing twice.
        this.options.logger.error('supervision-timer-failed', { kind: claimed.kind, timerId: claimed.id, ...describeError(error) });
      }
    };
    // A few at a time: each timer is a handful of round trips to storage, and they are independent.
    for (let start = 0; start < due.timers.length; start += SWEEP_CONCURRENCY) {
      await Promise.all(due.timers.slice(start, start + SWEEP_CONCURRENCY).map(handle));
    }
    if (result.queued) this.options.notificationsQueued?.();
    if (result.fired) this.options.logger.info('supervision-sweep', { fired: result.fired, queued: result.queued, rowsRead: result.rowsRead });
    return result;
  }

  /** Queues what a timer says now: how many messages, and the timers that follow it. */
  private async fire(due: StoredTimer, now: Date): Promise<{ queued: number; next: Timer[] }> {
    const { supervision, referrals } = this.options;
    if (due.kind === 'retention' || due.kind === 'retention-catch-up' || due.kind === 'unfinished-forms') {
      // Left claimed (and so tried again later) when this instance cannot remove data.
      if (!this.options.retention) throw new Error('Retention timer due, but no retention sweep is configured');
      if (due.kind === 'retention-catch-up') {
        await this.options.retention.catchUp();
        return { queued: 0, next: [] };
      }
      if (due.kind === 'unfinished-forms') {
        await this.options.retention.removeUnfinishedForms();
        // Tomorrow's, counted from now: after a long stop it runs once, not once per day missed.
        return { queued: 0, next: [unfinishedFormsTimer(new Date(Math.max(now.getTime(), Date.parse(due.dueAt)) + 24 * 60 * 60 * 1000))] };
      }
      return { queued: 0, next: await this.options.retention.retire(due) };
    }
    if (due.kind === 'directory-verification') {
      if (!this.options.directoryUpkeep) throw new Error('Directory verification timer due, but no directory upkeep is configured');
      return this.options.directoryUpkeep.requestDue(due, now);
    }
    const at = now.toISOString();
    const context = {
      now,
      settings: await supervision.settingsFor(due.serviceId),
      calendar: supervision.calendar,
      serviceName: (await supervision.deps.directory.get(due.serviceId))?.name ?? due.serviceId,
    };

    if (due.kind === 'caseload-digest') {
      if (!(await supervision.deps.channelLinks.forService(due.serviceId))) return { queued: 0, next: [] }; // unlinked: the series ends
      const open = await this.openReferrals(due.serviceId);
      const digests = caseloadDigests(context.serviceName, open, context);
      const notices: Notice[] = [
        ...digests.owners.map(({ owner, message }) => ({ audience: { to: 'person' as const, person: owner }, message })),
        { audience: { to: 'supervisors' }, message: digests.supervisors },
      ];
      const messages = await supervision.outboxFor(notices, due.serviceId, due.id);
      const event: AuditEvent = {
        referralId: null,
        at,
        actor: SYSTEM,
        action: 'digest.sent',
        detail: { summary: `Caseload digest for ${context.serviceName}: ${open.length} open`, serviceId: due.serviceId, recipients: messages.length },
      };
      const recorded = await this.options.outbox.record(`digest-${due.serviceId}-${due.anchor}`, messages, event, at);
      // The next digest counts from this one's due time, so a late sweep does not shift the cadence.
      const next = digestTimer(due.serviceId, context.settings, supervision.calendar, new Date(Math.max(now.getTime(), Date.parse(due.dueAt))));
      return { queued: recorded ? messages.length : 0, next: [next] };
    }

    if (!due.referralId) return { queued: 0, next: [] };
    const stored = await referrals.get(due.referralId);
    const decision: TimerDecision = evaluateReferralTimer(due, stored?.referral, context);
    if (!decision.notices.length || !stored) return { queued: 0, next: decision.next };
    const messages = await supervision.outboxFor(decision.notices, due.serviceId, due.id);
    const event: AuditEvent | undefined = decision.audit && {
      referralId: stored.referral.id,
      at,
      actor: SYSTEM,
      action: decision.audit.action,
      detail: { summary: decision.audit.summary, recipients: messages.length },
    };
    const recorded = await this.options.outbox.record(stored.referral.id, messages, event, at);
    if (recorded) this.options.logger.info('supervision-notice', { kind: due.kind, reference: stored.referral.reference, messages: messages.length });
    return { queued: recorded ? messages.length : 0, next: decision.next };
  }

  private async openReferrals(serviceId: string): Promise<Referral[]> {
    const { referrals, queue } = this.options;
    const open: Referral[] = [];
    for (const entry of await queue.list(serviceId)) {
      if (!isOpenStatus(entry.status)) continue;
      const stored = await referrals.get(entry.referralId);
      if (stored && stored.referral.serviceId === serviceId) open.push(stored.referral);
    }
    return open;
  }
}
