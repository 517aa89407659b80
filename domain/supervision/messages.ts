import { STATUS_LABELS, isOpen } from '../referral/lifecycle';
import { Referral, ReferralStatus, routedAt } from '../referral/referral';
import { formatDate, formatTime, plural } from '../format';
import { ESCALATION_REASON_LABELS, Escalation, isAwaitingAnswer } from './escalation';
import type { EvaluationContext, SupervisionSettings } from './policy';
import type { WorkingCalendar } from './workingCalendar';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * What supervision says, in English: the reminders, alerts, answers and digests staff read.
 * The policy (policy.ts) decides when and to whom; this file only words it, so wording can
 * change (or be translated) without touching a rule.
 */

/** A message for staff (not the referrer): reminders, escalation alerts and answers, digests. */
export interface StaffMessage {
  kind: 'reminder' | 'escalation-alert' | 'escalation-answer' | 'caseload-digest' | 'verification-request' | 'unmaintained-entry' | 'referrer-question';
  title: string;
  lines: string[];
  serviceName: string;
  referralId?: string;
  reference?: string;
  /** Free text a link worker wrote (it may name the person): shown in Teams, never put in an email. */
  privateNote?: string;
  /** A referrer's question: which one, so an email's link can show it. */
  questionId?: string;
  /** Alerts carry the escalation they answer, for their buttons. */
  escalation?: { referralId: string; escalationId: string };
  sections?: Array<{ title: string; lines: string[] }>;
  /** A request to confirm a directory entry: the version asked about and its current values, for the card's buttons and form. */
  verification?: VerificationRequest;
  at: string;
}

export interface VerificationRequest {
  serviceId: string;
  version: number;
  current: { status: string; reopensOn?: string; waitWeeks: number | null; contactRoute?: string; openingHours?: string; note?: string };
}

/** The words of each reminder: its title, its lines, and the audit trail's summary. */
export function reminderWords(
  kind: 'not-accepted-reminder' | 'not-accepted-escalation' | 'first-contact' | 'engagement-review',
  referral: Referral,
  anchor: string,
  words: { serviceName: string; settings: SupervisionSettings; timeZone: string },
): { title: string; lines: string[]; summary: string } {
  const { serviceName, settings } = words;
  const when = formatTime(anchor, words.timeZone);
  switch (kind) {
    case 'not-accepted-reminder': {
      const days = plural(settings.acceptReminderWorkingDays, 'working day');
      return {
        title: `Waiting to be accepted: ${referral.reference}`,
        lines: [
          `This referral reached ${serviceName} ${when}, ${days} ago, and nobody has accepted it yet.`,
          'Accept, assign or decline it on its card in this channel, so the referrer hears back.',
        ],
        summary: `Reminder: not accepted after ${days}`,
      };
    }
    case 'not-accepted-escalation': {
      const days = plural(settings.acceptEscalationWorkingDays, 'working day');
      return {
        title: `Not accepted after ${days}: ${referral.reference}`,
        lines: [
          `This referral reached ${serviceName} ${when} and nobody in the team has accepted it.`,
          'Please check the team has capacity; if it cannot take the case, decline or redirect it so the referrer knows.',
        ],
        summary: `Supervisors alerted: not accepted after ${days}`,
      };
    }
    case 'first-contact': {
      const days = plural(settings.firstContactWorkingDays, 'working day');
      return {
        title: `No first contact recorded: ${referral.reference}`,
        lines: [
          `You have had this case since ${when}; after ${days} no contact with the person is recorded.`,
          'Record the contact on its card in the channel, or assign the case to a colleague if you cannot reach them.',
        ],
        summary: `Reminder to ${referral.owner?.name ?? 'the owner'}: no first contact after ${days}`,
      };
    }
    case 'engagement-review': {
      const weeks = plural(settings.engagementWeeks, 'week');
      return {
        title: `Review due: ${referral.reference} has been open ${weeks}`,
        lines: [
          `Accepted ${when}${referral.owner ? `; ${referral.owner.name} has the case` : ''}. ${serviceName}'s typical engagement is ${weeks}.`,
          `Status: ${STATUS_LABELS[referral.status]}. Review the support plan: close the case, or agree why support continues.`,
        ],
        summary: `Review reminder: open longer than ${weeks}`,
      };
    }
  }
}

/** An escalation alert sent again, to everyone (level 1) or to the admins (level 2). */
export function realertWords(alert: StaffMessage, level: 1 | 2, settings: SupervisionSettings, serviceName: string): { message: StaffMessage; summary: string } {
  const hours = plural(settings.escalationAcknowledgeWorkingHours * level, 'working hour');
  return {
    message: {
      ...alert,
      title: `Not yet acknowledged: ${alert.title}`,
      lines: [
        ...alert.lines,
        level === 1
          ? `Nobody has acknowledged it in ${hours}, so it now goes to every supervisor of ${serviceName}.`
          : `No supervisor of ${serviceName} has acknowledged it in ${hours}, so Signpost's admins are alerted.`,
      ],
    },
    summary: level === 1 ? `Escalation re-sent to every supervisor after ${hours}` : `Escalation raised to Signpost admins after ${hours}`,
  };
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

/**
 * A referrer's question, for the case's owner (or the service, while nobody owns it). The
 * question is free text that may name the person: it is the private note, shown in Teams only.
 */
export function referrerQuestion(referral: Referral, questionId: string, question: string, serviceName: string, at: string): StaffMessage {
  const { referrer } = referral;
  return {
    kind: 'referrer-question',
    title: `A question from the referrer: ${referral.reference}`,
    lines: [
      `${referrer.name} (${referrer.practice}), who made this referral, asked ${referral.owner ? `${referral.owner.name}, its link worker` : `${serviceName}'s link workers`} a question.`,
      `Status: ${STATUS_LABELS[referral.status]}.`,
      `Answer with an update on the referral, or reply to ${referrer.name} at ${referrer.email}.`,
    ],
    privateNote: question,
    questionId,
    serviceName,
    referralId: referral.id,
    reference: referral.reference,
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

