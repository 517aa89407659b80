import type { DirectoryService } from '../directory/schema';
import { isOpen, STATUS_LABELS } from '../referral/lifecycle';
import { Referral, ReferralStatus, routedAt } from '../referral/referral';
import { ESCALATION_REASON_LABELS, Escalation, EscalationReason, isAwaitingAnswer } from './escalation';
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
}

/** A message for staff (not the referrer): reminders, escalation alerts and answers, digests. */
export interface StaffMessage {
  kind: 'reminder' | 'escalation-alert' | 'escalation-answer' | 'caseload-digest';
  title: string;
  lines: string[];
  serviceName: string;
  referralId?: string;
  reference?: string;
  /** Free text a link worker wrote (it may name the person): shown in Teams, never put in an email. */
  privateNote?: string;
  /** Alerts carry the escalation they answer, for their buttons. */
  escalation?: { referralId: string; escalationId: string };
  sections?: Array<{ title: string; lines: string[] }>;
  at: string;
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
  const when = (iso: string) => formatTime(iso, context.calendar.hours.timeZone);
  const about = { serviceName, referralId: referral.id, reference: referral.reference, at };

  /** A reminder: the same message to each audience, recorded once in the audit trail. */
  const remind = (audiences: Audience[], title: string, lines: string[], summary: string): TimerDecision => ({
    notices: audiences.map((audience) => ({ audience, message: { ...about, kind: 'reminder', title, lines } })),
    next: [],
    audit: { action: 'reminder.sent', summary },
  });

  switch (due.kind) {
    case 'not-accepted-reminder': {
      if (referral.status !== 'submitted' || routedAt(referral) !== due.anchor) return NOTHING;
      const days = plural(settings.acceptReminderWorkingDays, 'working day');
      return remind(
        [{ to: 'channel' }],
        `Waiting to be accepted: ${referral.reference}`,
        [
          `This referral reached ${serviceName} ${when(due.anchor)}, ${days} ago, and nobody has accepted it yet.`,
          'Accept, assign or decline it on its card in this channel, so the referrer hears back.',
        ],
        `Reminder: not accepted after ${days}`,
      );
    }

    case 'not-accepted-escalation': {
      if (referral.status !== 'submitted' || routedAt(referral) !== due.anchor) return NOTHING;
      const days = plural(settings.acceptEscalationWorkingDays, 'working day');
      return remind(
        [{ to: 'supervisors' }],
        `Not accepted after ${days}: ${referral.reference}`,
        [
          `This referral reached ${serviceName} ${when(due.anchor)} and nobody in the team has accepted it.`,
          'Please check the team has capacity; if it cannot take the case, decline or redirect it so the referrer knows.',
        ],
        `Supervisors alerted: not accepted after ${days}`,
      );
    }

    case 'first-contact': {
      if (referral.status !== 'accepted' || referral.acceptedAt !== due.anchor || !referral.owner) return NOTHING;
      const days = plural(settings.firstContactWorkingDays, 'working day');
      return remind(
        [{ to: 'person', person: referral.owner }],
        `No first contact recorded: ${referral.reference}`,
        [
          `You have had this case since ${when(due.anchor)}; after ${days} no contact with the person is recorded.`,
          'Record the contact on its card in the channel, or assign the case to a colleague if you cannot reach them.',
        ],
        `Reminder to ${referral.owner.name}: no first contact after ${days}`,
      );
    }

    case 'engagement-review': {
      if (!isOpen(referral) || referral.acceptedAt !== due.anchor) return NOTHING;
      const weeks = plural(settings.engagementWeeks, 'week');
      return remind(
        [...(referral.owner ? [{ to: 'person' as const, person: referral.owner }] : []), { to: 'supervisors' }],
        `Review due: ${referral.reference} has been open ${weeks}`,
        [
          `Accepted ${when(due.anchor)}${referral.owner ? `; ${referral.owner.name} has the case` : ''}. ${serviceName}'s typical engagement is ${weeks}.`,
          `Status: ${STATUS_LABELS[referral.status]}. Review the support plan: close the case, or agree why support continues.`,
        ],
        `Review reminder: open longer than ${weeks}`,
      );
    }

    case 'escalation-realert': {
      const escalation = referral.escalations?.find((candidate) => candidate.id === due.escalationId);
      if (!escalation || !isAwaitingAnswer(escalation) || !isOpen(referral)) return NOTHING;
      const level = due.level ?? 1;
      const hours = plural(settings.escalationAcknowledgeWorkingHours * level, 'working hour');
      const alert = escalationAlert(referral, escalation, serviceName, at, context.calendar.hours.timeZone);
      const message: StaffMessage = {
        ...alert,
        title: `Not yet acknowledged: ${alert.title}`,
        lines: [
          ...alert.lines,
          level === 1
            ? `Nobody has acknowledged it in ${hours}, so it now goes to every supervisor of ${serviceName}.`
            : `No supervisor of ${serviceName} has acknowledged it in ${hours}, so Signpost's admins are alerted.`,
        ],
      };
      return {
        notices: [{ audience: level === 1 ? { to: 'supervisors' } : { to: 'admins' }, message }],
        // Counted from when this re-alert was due, not when it ran, so every instance computes the same next timer.
        next: level === 1 ? [escalationTimer(referral, escalation, 2, new Date(due.dueAt), settings, context.calendar)] : [],
        audit: {
          action: 'escalation.re-alerted',
          summary: level === 1 ? `Escalation re-sent to every supervisor after ${hours}` : `Escalation raised to Signpost admins after ${hours}`,
        },
      };
    }

    case 'caseload-digest':
      return NOTHING; // a service's digest: see caseloadDigest
  }
}

/** The alert a supervisor gets when a link worker escalates. */
export function escalationAlert(referral: Referral, escalation: Escalation, serviceName: string, at: string, timeZone: string): StaffMessage {
  return {
    kind: 'escalation-alert',
    title: `${ESCALATION_REASON_LABELS[escalation.reason]}: ${referral.reference}`,
    lines: [
      `${escalation.raisedBy.name} (${serviceName}) escalated this case ${formatTime(escalation.raisedAt, timeZone)}.`,
      `Status: ${STATUS_LABELS[referral.status]}${referral.owner ? `, with ${referral.owner.name}` : ''}.`,
    ],
    privateNote: escalation.note,
    serviceName,
    referralId: referral.id,
    reference: referral.reference,
    escalation: { referralId: referral.id, escalationId: escalation.id },
    at,
  };
}

/** What the link worker who escalated hears when a supervisor answers. */
export function escalationAnswer(referral: Referral, escalation: Escalation, summary: string, serviceName: string, at: string, takeOver?: { name: string }): StaffMessage {
  return {
    kind: 'escalation-answer',
    title: `${summary}: ${referral.reference}`,
    lines: [
      `Your escalation (${ESCALATION_REASON_LABELS[escalation.reason].toLowerCase()}) was answered.`,
      ...(takeOver ? [`${takeOver.name} now has the case.`] : []),
      'The referral card in the channel shows the answer.',
    ],
    privateNote: escalation.resolution?.note,
    serviceName,
    referralId: referral.id,
    reference: referral.reference,
    at,
  };
}

/** What needs attention on an open case now, in short phrases. */
export function caseFlags(referral: Referral, now: Date, settings: SupervisionSettings, calendar: WorkingCalendar): string[] {
  const flags: string[] = [];
  const overdue = (from: string, workingDays: number) => calendar.addWorkingDays(new Date(from), workingDays).getTime() <= now.getTime();
  if (referral.status === 'submitted' && overdue(routedAt(referral), settings.acceptReminderWorkingDays)) {
    flags.push(`not accepted since ${formatDate(routedAt(referral), calendar.hours.timeZone)}`);
  }
  if (referral.status === 'accepted' && referral.acceptedAt && overdue(referral.acceptedAt, settings.firstContactWorkingDays)) {
    flags.push('no first contact recorded');
  }
  if (referral.acceptedAt && Date.parse(referral.acceptedAt) + settings.engagementWeeks * 7 * DAY_MS <= now.getTime()) {
    flags.push(`open longer than ${plural(settings.engagementWeeks, 'week')}`);
  }
  const waiting = (referral.escalations ?? []).filter(isAwaitingAnswer);
  if (waiting.length) flags.push(`escalation waiting for a supervisor (${waiting.map((e) => ESCALATION_REASON_LABELS[e.reason].toLowerCase()).join(', ')})`);
  return flags;
}

export interface Digests {
  /** One per link worker who owns open cases. */
  owners: Array<{ owner: { id: string; name: string; email?: string }; message: StaffMessage }>;
  /** The whole service, for its supervisors. */
  supervisors: StaffMessage;
}

/** The fortnightly caseload digest: open cases by status, what is overdue, escalations, long cases. */
export function caseloadDigests(serviceName: string, referrals: Referral[], context: Omit<EvaluationContext, 'serviceName'>): Digests {
  const at = context.now.toISOString();
  const open = referrals.filter(isOpen).sort((a, b) => a.reference.localeCompare(b.reference));
  const flagged = open.map((referral) => ({ referral, flags: caseFlags(referral, context.now, context.settings, context.calendar) }));
  const attention = (cases: typeof flagged) =>
    cases.filter((item) => item.flags.length).map((item) => `${item.referral.reference} (${STATUS_LABELS[item.referral.status]}): ${item.flags.join('; ')}`);

  const byOwner = new Map<string, typeof flagged>();
  for (const item of flagged) {
    const owner = item.referral.owner;
    if (owner) byOwner.set(owner.id, [...(byOwner.get(owner.id) ?? []), item]);
  }
  const owners = [...byOwner.values()].map((cases) => {
    const owner = cases[cases.length - 1].referral.owner!;
    const needs = attention(cases);
    return {
      owner,
      message: {
        kind: 'caseload-digest' as const,
        title: `Your caseload at ${serviceName}: ${plural(cases.length, 'open case')}`,
        lines: [`By status: ${countByStatus(cases.map((item) => item.referral))}.`],
        sections: [{ title: 'Needs attention', lines: needs.length ? needs : ['Nothing overdue.'] }],
        serviceName,
        at,
      },
    };
  });

  const unassigned = flagged.filter((item) => !item.referral.owner);
  const escalations = flagged.filter((item) => (item.referral.escalations ?? []).some(isAwaitingAnswer));
  const needs = attention(flagged);
  return {
    owners,
    supervisors: {
      kind: 'caseload-digest',
      title: `${serviceName} caseload: ${plural(open.length, 'open case')}`,
      lines: [
        open.length ? `By status: ${countByStatus(open.map((item) => item))}.` : 'No open cases.',
        `Waiting to be accepted: ${unassigned.length}. Escalations waiting for a supervisor: ${escalations.length}.`,
      ],
      sections: [
        {
          title: 'Link workers',
          lines: owners.length
            ? [...byOwner.values()].map((cases) => {
                const overdue = cases.filter((item) => item.flags.length).length;
                return `${cases[cases.length - 1].referral.owner!.name}: ${plural(cases.length, 'open case')}, ${overdue} needing attention`;
              })
            : ['Nobody has open cases.'],
        },
        { title: 'Needs attention', lines: needs.length ? needs : ['Nothing overdue.'] },
      ],
      serviceName,
      at,
    },
  };
}

function countByStatus(referrals: Referral[]): string {
  const counts = new Map<ReferralStatus, number>();
  for (const referral of referrals) counts.set(referral.status, (counts.get(referral.status) ?? 0) + 1);
  return [...counts].map(([status, count]) => `${STATUS_LABELS[status]} ${count}`).join(', ');
}

function timer(kind: TimerKind, fields: Omit<Timer, 'id' | 'kind' | 'dueAt'>, due: Date): Timer {
  return { id: `${kind}:${fields.referralId ?? fields.serviceId}:${fields.anchor}`, kind, dueAt: due.toISOString(), ...fields };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function formatTime(iso: string, timeZone: string): string {
  return `on ${new Date(iso).toLocaleString('en-GB', { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone })}`;
}

function formatDate(iso: string, timeZone: string): string {
  return new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone });
}
