import type { DirectoryService } from '../directory/schema';
import { isOpen } from '../referral/lifecycle';
import { Referral, routedAt } from '../referral/referral';
import { Escalation, EscalationReason, isAwaitingAnswer } from './escalation';
import { escalationAlert, realertWords, reminderWords, StaffMessage } from './messages';
import type { WorkingCalendar } from './workingCalendar';

/**
 * Supervision policy: the clocks that keep a referral moving and what each says when it runs
 * out. Pure: it decides which timers a referral needs and, when one comes due, whether it still
 * applies and who hears what. Storing timers, claiming them and sending are the bot's job.
 *
 * A timer is a question to ask at a time ("is SP-2026-000123 still not accepted?"), never an
 * instruction: it carries the moment its clock started (its anchor), and when it comes due the
 * policy checks the referral as it is now. So a timer left over from a change that later
 * failed, or overtaken by events (accepted meanwhile, redirected, closed), sends nothing.
 */

export interface SupervisionSettings {
  acceptReminderWorkingDays: number;
  acceptEscalationWorkingDays: number;
  firstContactWorkingDays: number;
  escalationAcknowledgeWorkingHours: number;
  digestEveryDays: number;
  /** The service's typical engagement; a case open longer is due a review. */
  engagementWeeks: number;
}

/** From the review: referrals acknowledged within 2 working days; a fortnightly caseload and risk review; 12 weeks' support. */
export const DEFAULT_SUPERVISION: SupervisionSettings = {
  acceptReminderWorkingDays: 2,
  acceptEscalationWorkingDays: 5,
  firstContactWorkingDays: 5,
  escalationAcknowledgeWorkingHours: 4,
  digestEveryDays: 14,
  engagementWeeks: 12,
};

export function supervisionSettings(service: Pick<DirectoryService, 'supervision' | 'engagementWeeks'> | undefined): SupervisionSettings {
  return {
    ...DEFAULT_SUPERVISION,
    ...service?.supervision,
    engagementWeeks: service?.engagementWeeks.value ?? DEFAULT_SUPERVISION.engagementWeeks,
  };
}

export const TIMER_KINDS = [
  'not-accepted-reminder',
  'not-accepted-escalation',
  'first-contact',
  'engagement-review',
  'escalation-realert',
  'caseload-digest',
  /** An ended referral's retention period runs out: its person's identifiers go (referral/retention.ts). */
  'retention',
  /** Ended referrals without a retention clock get one (stored at each start). */
  'retention-catch-up',
  /** Referral forms left half-way are removed from conversation state after a while (daily). */
  'unfinished-forms',
  /** A service's maintainers are asked to confirm its directory entry (domain/directory/verification.ts). */
  'directory-verification',
] as const;
export type TimerKind = (typeof TIMER_KINDS)[number];

export interface Timer {
  /** Deterministic, so scheduling the same clock twice stores it once. */
  id: string;
  kind: TimerKind;
  dueAt: string;
  serviceId: string;
  referralId?: string;
  /** When this clock started: routed, accepted, escalation raised, or the digest's date. */
  anchor: string;
  escalationId?: string;
  /** Re-alerts: 1 = every supervisor of the service, 2 = Signpost's admins. */
  level?: 1 | 2;
  /** Directory verification requests: 1 = the first, 2 = repeated, 3 = to Signpost's admins. */
  attempt?: 1 | 2 | 3;
  /** Directory verification requests about an activity (its id is then in `serviceId`); absent: about a service. */
  entryKind?: 'activity';
}

export type Audience =
  | { to: 'channel' }
  | { to: 'person'; person: { id: string; name: string; email?: string } }
  /** With a reason: the supervisors whose role fits it first; without: every supervisor. */
  | { to: 'supervisors'; reason?: EscalationReason }
  | { to: 'admins' };

export interface Notice {
  audience: Audience;
  message: StaffMessage;
}

export interface TimerDecision {
  notices: Notice[];
  /** Timers that follow this one (the next re-alert level, the next digest). */
  next: Timer[];
  /** For the referral's audit trail, when something was sent. */
  audit?: { action: 'reminder.sent' | 'escalation.re-alerted' | 'digest.sent'; summary: string };
}

const NOTHING: TimerDecision = { notices: [], next: [] };
const DAY_MS = 24 * 60 * 60 * 1000;

/** The clocks a referral in its current state needs. Scheduling them again is harmless. */
export function referralTimers(referral: Referral, settings: SupervisionSettings, calendar: WorkingCalendar): Timer[] {
  const timers: Timer[] = [];
  const base = { serviceId: referral.serviceId, referralId: referral.id };
  if (referral.status === 'submitted') {
    const from = routedAt(referral);
    timers.push(
      timer('not-accepted-reminder', { ...base, anchor: from }, calendar.addWorkingDays(new Date(from), settings.acceptReminderWorkingDays)),
      timer('not-accepted-escalation', { ...base, anchor: from }, calendar.addWorkingDays(new Date(from), settings.acceptEscalationWorkingDays)),
    );
  } else if (isOpen(referral) && referral.acceptedAt) {
    const from = referral.acceptedAt;
    if (referral.status === 'accepted') {
      timers.push(timer('first-contact', { ...base, anchor: from }, calendar.addWorkingDays(new Date(from), settings.firstContactWorkingDays)));
    }
    const engagementEnds = new Date(Date.parse(from) + settings.engagementWeeks * 7 * DAY_MS);
    timers.push(timer('engagement-review', { ...base, anchor: from }, calendar.nextWorkingTime(engagementEnds)));
  }
  return timers;
}

/** Whether a change can need clocks the referral did not have: only these fields start one. */
export function clocksMayChange(before: Referral, after: Referral): boolean {
  return (
    before.status !== after.status ||
    before.serviceId !== after.serviceId ||
    routedAt(before) !== routedAt(after) ||
    before.acceptedAt !== after.acceptedAt
  );
}

/** The re-alert clock for an escalation nobody has acknowledged: level 1 after one period, level 2 after the next. */
export function escalationTimer(
  referral: Pick<Referral, 'id' | 'serviceId'>,
  escalation: Pick<Escalation, 'id' | 'raisedAt'>,
  level: 1 | 2,
  from: Date,
  settings: SupervisionSettings,
  calendar: WorkingCalendar,
): Timer {
  return {
    ...timer(
      'escalation-realert',
      { serviceId: referral.serviceId, referralId: referral.id, anchor: escalation.raisedAt },
      calendar.addWorkingHours(from, settings.escalationAcknowledgeWorkingHours),
    ),
    id: `escalation-realert:${escalation.id}:${level}`,
    escalationId: escalation.id,
    level,
  };
}

/**
 * The next caseload digest for a service after `after`. Digests fall on a fixed cadence
 * (every N days from Monday 1 January 2024, at opening time or the next working time), so any
 * instance computing "the next one" gets the same timer: a restart or a second instance never
 * starts a second series.
 */
export function digestTimer(serviceId: string, settings: SupervisionSettings, calendar: WorkingCalendar, after: Date): Timer {
  const epoch = Date.parse('2024-01-01T00:00:00Z');
  const period = settings.digestEveryDays * DAY_MS;
  let occurrence = Math.max(0, Math.floor((after.getTime() - epoch) / period));
  for (;;) {
    const date = new Date(epoch + occurrence * period).toISOString().slice(0, 10);
    const due = calendar.nextWorkingTime(calendar.startOfDay(date));
    if (due.getTime() > after.getTime()) {
      return { id: `caseload-digest:${serviceId}:${date}`, kind: 'caseload-digest', dueAt: due.toISOString(), serviceId, anchor: date };
    }
    occurrence += 1;
  }
}

export interface EvaluationContext {
  now: Date;
  settings: SupervisionSettings;
  calendar: WorkingCalendar;
  serviceName: string;
}

/** What a due referral timer sends now, if anything, and what follows it. */
export function evaluateReferralTimer(due: Timer, referral: Referral | undefined, context: EvaluationContext): TimerDecision {
  if (!referral || referral.serviceId !== due.serviceId) return NOTHING; // gone, or redirected since
  const { settings, serviceName } = context;
  const at = context.now.toISOString();
  const words = { serviceName, settings, timeZone: context.calendar.hours.timeZone };
  const about = { serviceName, referralId: referral.id, reference: referral.reference, at };

  /** A reminder: the same message to each audience, recorded once in the audit trail. */
  const remind = (audiences: Audience[], { title, lines, summary }: { title: string; lines: string[]; summary: string }): TimerDecision => ({
    notices: audiences.map((audience) => ({ audience, message: { ...about, kind: 'reminder', title, lines } })),
    next: [],
    audit: { action: 'reminder.sent', summary },
  });

  switch (due.kind) {
    case 'not-accepted-reminder':
      if (referral.status !== 'submitted' || routedAt(referral) !== due.anchor) return NOTHING;
      return remind([{ to: 'channel' }], reminderWords(due.kind, referral, due.anchor, words));

    case 'not-accepted-escalation':
      if (referral.status !== 'submitted' || routedAt(referral) !== due.anchor) return NOTHING;
      return remind([{ to: 'supervisors' }], reminderWords(due.kind, referral, due.anchor, words));

    case 'first-contact':
      if (referral.status !== 'accepted' || referral.acceptedAt !== due.anchor || !referral.owner) return NOTHING;
      return remind([{ to: 'person', person: referral.owner }], reminderWords(due.kind, referral, due.anchor, words));

    case 'engagement-review':
      if (!isOpen(referral) || referral.acceptedAt !== due.anchor) return NOTHING;
      return remind([...(referral.owner ? [{ to: 'person' as const, person: referral.owner }] : []), { to: 'supervisors' }], reminderWords(due.kind, referral, due.anchor, words));

    case 'escalation-realert': {
      const escalation = referral.escalations?.find((candidate) => candidate.id === due.escalationId);
      if (!escalation || !isAwaitingAnswer(escalation) || !isOpen(referral)) return NOTHING;
      const level = due.level ?? 1;
      const { message, summary } = realertWords(escalationAlert(referral, escalation, serviceName, at, context.calendar.hours.timeZone), level, settings, serviceName);
      return {
        notices: [{ audience: level === 1 ? { to: 'supervisors' } : { to: 'admins' }, message }],
        // Counted from when this re-alert was due, not when it ran, so every instance computes the same next timer.
        next: level === 1 ? [escalationTimer(referral, escalation, 2, new Date(due.dueAt), settings, context.calendar)] : [],
        audit: { action: 'escalation.re-alerted', summary },
      };
    }

    case 'caseload-digest':
      return NOTHING; // a service's digest: see caseloadDigest
    case 'retention':
    case 'retention-catch-up':
    case 'unfinished-forms':
      return NOTHING; // removes data and sends nothing: see referral/retention.ts
    case 'directory-verification':
      return NOTHING; // about a service, not a referral: see directory/verification.ts
  }
}

function timer(kind: TimerKind, fields: Omit<Timer, 'id' | 'kind' | 'dueAt'>, due: Date): Timer {
  return { id: `${kind}:${fields.referralId ?? fields.serviceId}:${fields.anchor}`, kind, dueAt: due.toISOString(), ...fields };
}

