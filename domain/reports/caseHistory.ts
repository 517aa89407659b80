import type { AuditEvent, Referral } from '../referral/referral';
import { isOpenStatus } from '../referral/lifecycle';
import type { SupervisionSettings } from '../supervision/policy';
import type { WorkingCalendar } from '../supervision/workingCalendar';

/**
 * A referral's time with each service it was sent to, read from its audit trail: when it arrived,
 * was taken on, first had progress recorded (contact), and how it ended there. Reports and the
 * tab's dashboards are computed from these, so they count exactly what Signpost recorded.
 */

export interface Episode {
  serviceId: string;
  routedAt: string;
  acceptedAt?: string;
  /** The first progress update after acceptance: the person was contacted. */
  firstContactAt?: string;
  ended?: { kind: 'declined' | 'closed' | 'redirected'; reason?: string; at: string };
}

export interface CaseHistory {
  referralId: string;
  /** YYYY-MM of when the referral was made: the report's month. */
  month: string;
  practice: string;
  /** Oldest first; the last is the referral's current service. */
  episodes: Episode[];
  /** The events already folded in (time and action), so folding one twice changes nothing. */
  folded?: string[];
}

const stringDetail = (event: AuditEvent, key: string): string | undefined => {
  const value = event.detail[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/** The episodes of a referral from its record and its audit trail (oldest event first). */
export function caseHistory(referral: Referral, audit: AuditEvent[]): CaseHistory {
  // A trail is in time order; a change in the very millisecond of the submission still comes after it.
  const ordered = [...audit].sort((a, b) => a.at.localeCompare(b.at) || Number(b.action === 'referral.submitted') - Number(a.action === 'referral.submitted'));
  return withRecord(ordered.reduce(nextHistory, { referralId: referral.id, month: referral.createdAt.slice(0, 7), practice: referral.referrer.practice, episodes: [] }), referral);
}

/**
 * A history one change later: the event of the change (any audit event; those that change no
 * episode leave it as it was), then the record as it now stands. Counters kept up to date
 * with each change use this instead of reading the whole trail again.
 */
export function historyAfter(history: CaseHistory, event: AuditEvent, referral: Referral): CaseHistory {
  return withRecord(nextHistory(history, event), referral);
}

const EPISODE_ACTIONS: ReadonlySet<string> = new Set([
  'referral.submitted',
  'referral.accept',
  'referral.assign',
  'escalation.take-over',
  'referral.update',
  'referral.decline',
  'referral.close',
  'referral.redirect',
]);

function nextHistory(history: CaseHistory, event: AuditEvent): CaseHistory {
  if (!EPISODE_ACTIONS.has(event.action)) return history;
  const key = `${event.at}|${event.action}`;
  if (history.folded?.includes(key)) return history;
  const folded = [...(history.folded ?? []), key];
  const episodes = history.episodes.map((episode) => ({ ...episode }));
  const episode = episodes[episodes.length - 1];
  switch (event.action) {
    case 'referral.submitted':
      if (episodes.length === 0) episodes.push({ serviceId: stringDetail(event, 'serviceId') ?? '', routedAt: event.at });
      break;
    case 'referral.accept':
    case 'referral.assign':
    case 'escalation.take-over':
      // An assignment of a new referral takes it on, as accepting does; later ones change the owner only.
      if (episode && !episode.acceptedAt && !episode.ended && (event.action !== 'escalation.take-over' || stringDetail(event, 'status'))) episode.acceptedAt = event.at;
      break;
    case 'referral.update':
      if (episode?.acceptedAt && !episode.firstContactAt) episode.firstContactAt = event.at;
      break;
    case 'referral.decline':
      if (episode) episode.ended = { kind: 'declined', reason: stringDetail(event, 'reason'), at: event.at };
      break;
    case 'referral.close':
      if (episode) episode.ended = { kind: 'closed', reason: stringDetail(event, 'reason'), at: event.at };
      break;
    case 'referral.redirect':
      if (episode) episode.ended = { kind: 'redirected', at: event.at };
      episodes.push({ serviceId: stringDetail(event, 'serviceId') ?? '', routedAt: event.at });
      break;
    default:
      break;
  }
  return { ...history, episodes, folded };
}

/** Fills in from the record what a short or old trail leaves out. */
function withRecord(history: CaseHistory, referral: Referral): CaseHistory {
  const episodes = history.episodes.length ? history.episodes.map((episode) => ({ ...episode })) : [{ serviceId: referral.serviceId, routedAt: referral.createdAt }];
  const last = episodes[episodes.length - 1];
  if (!last.serviceId) last.serviceId = referral.serviceId;
  if (last.serviceId === referral.serviceId) {
    if (referral.routedAt) last.routedAt = referral.routedAt;
    last.acceptedAt ??= referral.acceptedAt;
  }
  return { ...history, episodes };
}

/** The reminder rules of domain/supervision/policy.ts, as deadlines a report can check. */
export const REMINDER_RULES = ['accept-reminder', 'accept-escalation', 'first-contact', 'engagement-review'] as const;
export type ReminderRule = (typeof REMINDER_RULES)[number];

export const REMINDER_RULE_LABELS: Record<ReminderRule, string> = {
  'accept-reminder': 'Not accepted within the reminder time',
  'accept-escalation': 'Not accepted within the escalation time',
  'first-contact': 'No first contact within the time allowed',
  'engagement-review': 'Open past the service’s engagement period',
};

/**
 * The rules an episode broke, by `now`: a deadline passed before the thing it waits for
 * happened (or the episode ended). An episode still waiting at `now` and past its deadline
 * counts: that is what makes a case overdue.
 */
export function brokenRules(episode: Episode, settings: SupervisionSettings, calendar: WorkingCalendar, now: Date): ReminderRule[] {
  const broken: ReminderRule[] = [];
  const endedAt = episode.ended ? new Date(episode.ended.at) : undefined;
  const answeredAt = episode.acceptedAt ? new Date(episode.acceptedAt) : (endedAt ?? now);
  const routed = new Date(episode.routedAt);
  if (answeredAt > calendar.addWorkingDays(routed, settings.acceptReminderWorkingDays)) broken.push('accept-reminder');
  if (answeredAt > calendar.addWorkingDays(routed, settings.acceptEscalationWorkingDays)) broken.push('accept-escalation');
  if (episode.acceptedAt) {
    const accepted = new Date(episode.acceptedAt);
    const contactedAt = episode.firstContactAt ? new Date(episode.firstContactAt) : (endedAt ?? now);
    if (contactedAt > calendar.addWorkingDays(accepted, settings.firstContactWorkingDays)) broken.push('first-contact');
    const stillOpenAt = endedAt ?? now;
    if (stillOpenAt.getTime() > accepted.getTime() + settings.engagementWeeks * 7 * 24 * 60 * 60 * 1000) broken.push('engagement-review');
  }
  return broken;
}

/** Is the case, as its current episode stands, overdue now (a rule broken and still waiting)? */
export function isOverdue(status: string, episode: Episode, settings: SupervisionSettings, calendar: WorkingCalendar, now: Date): boolean {
  if (!isOpenStatus(status)) return false;
  const broken = brokenRules(episode, settings, calendar, now);
  if (status === 'submitted') return broken.includes('accept-reminder');
  if (status === 'accepted') return broken.includes('first-contact') || broken.includes('engagement-review');
  return broken.includes('engagement-review');
}

/** The median of some numbers; undefined for none. */
export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Working days, to one decimal place: how reports show and bucket durations. */
export function roundedDays(days: number): number {
  return Math.round(days * 10) / 10;
}
