import type { Referral } from '../referral/referral';
import { isOpenStatus, STATUS_LABELS } from '../referral/lifecycle';
import { isAwaitingAnswer } from '../supervision/escalation';
import type { SupervisionSettings } from '../supervision/policy';
import type { WorkingCalendar } from '../supervision/workingCalendar';
import { brokenRules, CaseHistory, median, REMINDER_RULES, ReminderRule, roundedDays } from './caseHistory';

/**
 * A supervisor's view of one service: what is open, what is late, what is waiting for them, and
 * how quickly the service responds. Computed from the referrals that were ever with the service
 * (its queue) and their histories; identifies nobody.
 */

export interface ServiceDashboard {
  serviceId: string;
  openByStatus: Array<{ status: string; label: string; count: number }>;
  /** Episodes with this service that broke each reminder rule (to date). */
  breaches: Array<{ rule: ReminderRule; count: number }>;
  escalations: { open: number; answered: number };
  /** Median working days from arriving to being taken on, and from that to first contact. */
  medianDaysToAccept?: number;
  medianDaysToFirstContact?: number;
  /** Referrals waiting to be taken on now, and the longest of those waits in working days. */
  waiting: { count: number; longestDays?: number };
  /** Closed referrals with both a baseline and a closing wellbeing score. */
  outcomeCompletion: { closed: number; withBothScores: number; share?: number };
}

export function serviceDashboard(
  serviceId: string,
  cases: Array<{ referral: Referral; history: CaseHistory }>,
  settings: SupervisionSettings,
  calendar: WorkingCalendar,
  now: Date,
): ServiceDashboard {
  const open = new Map<string, number>();
  const breaches = new Map<ReminderRule, number>(REMINDER_RULES.map((rule) => [rule, 0]));
  const escalations = { open: 0, answered: 0 };
  const toAccept: number[] = [];
  const toContact: number[] = [];
  const waits: number[] = [];
  const outcomes = { closed: 0, withBothScores: 0 };

  for (const { referral, history } of cases) {
    const here = referral.serviceId === serviceId;
    if (here && isOpenStatus(referral.status)) open.set(referral.status, (open.get(referral.status) ?? 0) + 1);
    if (here) {
      for (const escalation of referral.escalations ?? []) escalations[isAwaitingAnswer(escalation) ? 'open' : 'answered'] += 1;
    }
    for (const episode of history.episodes.filter((candidate) => candidate.serviceId === serviceId)) {
      for (const rule of brokenRules(episode, settings, calendar, now)) breaches.set(rule, breaches.get(rule)! + 1);
      if (episode.acceptedAt) toAccept.push(calendar.workingDaysBetween(new Date(episode.routedAt), new Date(episode.acceptedAt)));
      if (episode.acceptedAt && episode.firstContactAt) toContact.push(calendar.workingDaysBetween(new Date(episode.acceptedAt), new Date(episode.firstContactAt)));
      if (!episode.acceptedAt && !episode.ended) waits.push(calendar.workingDaysBetween(new Date(episode.routedAt), now));
    }
    if (here && referral.status === 'closed') {
      outcomes.closed += 1;
      if (referral.wellbeing?.baseline && referral.wellbeing.closing) outcomes.withBothScores += 1;
    }
  }

  const days = (values: number[]) => {
    const middle = median(values);
    return middle === undefined ? undefined : roundedDays(middle);
  };
  return {
    serviceId,
    openByStatus: (Object.keys(STATUS_LABELS) as Array<keyof typeof STATUS_LABELS>)
      .filter((status) => open.has(status))
      .map((status) => ({ status, label: STATUS_LABELS[status], count: open.get(status)! })),
    breaches: REMINDER_RULES.map((rule) => ({ rule, count: breaches.get(rule)! })),
    escalations,
    medianDaysToAccept: days(toAccept),
    medianDaysToFirstContact: days(toContact),
    waiting: { count: waits.length, longestDays: waits.length ? roundedDays(Math.max(...waits)) : undefined },
    outcomeCompletion: { ...outcomes, share: outcomes.closed ? outcomes.withBothScores / outcomes.closed : undefined },
  };
}
