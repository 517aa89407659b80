import type { Referral } from '../referral/referral';
import { initials } from '../referral/referral';
import { isOpen, reasonWords, STATUS_LABELS } from '../referral/lifecycle';
import { describeChange } from '../referral/outcomes';
import { SNOMED_SOCIAL_PRESCRIBING_DECLINED, SnomedCode } from '../referral/snomed';

/**
 * What the referrer is told when their referral changes: the one place that decides the words,
 * for Teams and email alike. The person appears only as reference and initials, never by name,
 * NHS number, date of birth or contact details.
 */

export const NOTIFY_PREFERENCES = ['teams', 'email', 'both'] as const;
export type NotifyPreference = (typeof NOTIFY_PREFERENCES)[number];
export type DeliveryChannel = 'teams' | 'email';

export function deliveryChannels(preference: NotifyPreference | undefined): DeliveryChannel[] {
  if (preference === 'email') return ['email'];
  if (preference === 'both') return ['teams', 'email'];
  return ['teams'];
}

export interface ReferralUpdate {
  referralId: string;
  reference: string;
  initials: string;
  serviceName: string;
  status: string;
  headline: string;
  lines: string[];
  /**
   * What a link worker typed (a decline or closing note, the activity's name): it may name the
   * person, so it is shown in Teams only; an email says a note is waiting there.
   */
  notes?: string[];
  snomed: SnomedCode[];
  at: string;
  /** The referral's version this update reports: its card refreshes from it (absent on updates queued before). */
  version?: number;
}

export interface ChangeEvent {
  verb: 'accept' | 'assign' | 'decline' | 'redirect' | 'update' | 'close';
  actorName: string;
  activity?: string;
}

/**
 * Where a referral stands now, for an older update's card: its status, service and link worker.
 * Undefined while nothing has changed since that update.
 */
export function standingSince(update: Pick<ReferralUpdate, 'version'>, referral: Referral, serviceName: string): string | undefined {
  if (update.version === undefined || referral.version <= update.version) return undefined;
  const owner = referral.owner && isOpen(referral) ? `, with ${referral.owner.name}` : '';
  return `Now: ${STATUS_LABELS[referral.status].toLowerCase()} at ${serviceName}${owner}.`;
}

/** The update for a change, or undefined when the change is not news for the referrer. */
export function referralUpdate(
  referral: Referral,
  change: ChangeEvent,
  serviceNames: ReadonlyMap<string, string>,
  waitingTimeWeeks: number | null,
): ReferralUpdate {
  const service = serviceNames.get(referral.serviceId) ?? referral.serviceId;
  const base = {
    referralId: referral.id,
    reference: referral.reference,
    initials: referral.person ? initials(referral.person) : 'details removed',
    serviceName: service,
    status: STATUS_LABELS[referral.status],
    at: referral.updatedAt,
    version: referral.version,
    snomed: [] as SnomedCode[],
  };
  const who = `${base.reference} (${base.initials})`;
  switch (change.verb) {
    case 'accept':
      return { ...base, headline: `${who} was accepted by ${service}`, lines: [`${change.actorName} is the link worker.`] };
    case 'assign':
      return { ...base, headline: `${who} has a new link worker`, lines: [`${referral.owner?.name ?? 'A colleague'} at ${service} now has the case.`] };
    case 'redirect':
      return { ...base, headline: `${who} was redirected to ${service}`, lines: [`${change.actorName} sent it on; ${service}'s link workers will pick it up.`] };
    case 'decline': {
      const alternatives = [
        ...referral.match.eligibleServiceIds.filter((id) => id !== referral.serviceId).map((id) => serviceNames.get(id) ?? id),
        ...referral.match.nearMissServiceIds.filter((id) => id !== referral.serviceId).map((id) => `${serviceNames.get(id) ?? id} (near miss)`),
      ];
      return {
        ...base,
        headline: `${who} was declined by ${service}`,
        lines: [
          `Reason: ${referral.outcome ? reasonWords(referral.outcome.reason).toReferrer : 'not given'}.`,
          alternatives.length
            ? `The person also matched: ${alternatives.join(', ')}. Say "refer" to send a new referral.`
            : "No other service in the directory matched; talk to your Primary Care Network's link worker.",
        ],
        ...(referral.outcome?.note ? { notes: [`The service says: ${referral.outcome.note}`] } : {}),
      };
    }
    case 'update': {
      const lines = [`${STATUS_LABELS[referral.status]}, recorded by ${change.actorName}.`];
      if (referral.status === 'waiting-for-activity') {
        lines.push(waitingTimeWeeks === null ? "The service's current wait is not published." : `The service's current wait is about ${waitingTimeWeeks} weeks.`);
      }
      const notes = referral.status === 'connected-to-activity' && change.activity ? [`Connected to: ${change.activity}.`] : [];
      return { ...base, headline: `${who}: ${STATUS_LABELS[referral.status].toLowerCase()}`, lines, ...(notes.length ? { notes } : {}) };
    }
    case 'close': {
      const reason = referral.outcome?.reason ?? '';
      const goals = referral.goals ?? [];
      const wellbeingChange = referral.wellbeing ? describeChange(referral.wellbeing) : undefined;
      return {
        ...base,
        headline: `${who} was closed by ${service}`,
        lines: [
          `Reason: ${reasonWords(reason).toReferrer}.`,
          wellbeingChange ? `Wellbeing: ${wellbeingChange}.` : 'No baseline and closing wellbeing scores were recorded with the same tool.',
          ...(goals.length ? [`Goals achieved: ${goals.filter((goal) => goal.achieved).length} of ${goals.length}.`] : []),
        ],
        // The person turning down support is what this code records; other closures add no
        // code beyond the referral code recorded when the referral was made.
        snomed: reason === 'declined-by-person' ? [SNOMED_SOCIAL_PRESCRIBING_DECLINED] : [],
        ...(referral.outcome?.note ? { notes: [`Outcome: ${referral.outcome.note}`] } : {}),
      };
    }
  }
}
