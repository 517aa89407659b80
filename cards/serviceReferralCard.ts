import template from './referral/service-referral.json';
import { renderCard, withRefresh } from './render';
import type { Referral } from '../domain/referral/referral';
import { personFacts } from '../domain/referral/retention';
import { formatNhsNumber } from '../domain/referral/nhsNumber';
import { BOROUGH_NAMES, capitalised, HOSPITAL_NAMES, MENTAL_HEALTH_NAMES } from '../domain/directory/names';
import type { PersonFacts } from '../domain/eligibility/facts';
import { describeChange, Measurement } from '../domain/referral/outcomes';
import {
  caseState,
  CLOSE_REASONS,
  DECLINE_REASONS,
  GuardedVerb,
  isOpenStatus,
  Person,
  PROGRESS_STATUSES,
  reasonWords,
  sharedVerbs,
  STATUS_LABELS,
} from '../domain/referral/lifecycle';
import { describeEscalation, ESCALATION_REASON_LABELS, ESCALATION_REASONS } from '../domain/supervision/escalation';
import { formatShortTime, formatTime } from '../domain/format';
import { escapeCardText } from '../domain/text';
import { Activity, categoryWords } from '../domain/directory/activities';

const choices = (values: readonly string[]) => values.map((value) => ({ title: reasonWords(value).choice, value }));

/** FactSet values render Markdown; labels are ours. */
const escapedRows = (rows: Array<{ label: string; value: string }>) => rows.map((row) => ({ label: row.label, value: escapeCardText(row.value) }));

export function contactRows(referral: Referral): Array<{ label: string; value: string }> {
  const person = referral.person;
  if (!person) {
    const removed = referral.deidentified;
    return [{ label: 'Contact details', value: removed ? `Removed on ${removed.at.slice(0, 10)} (${removed.rule})` : 'Not held' }];
  }
  return [
    { label: 'Name', value: `${person.givenName} ${person.familyName}` },
    { label: 'Date of birth', value: person.dateOfBirth },
    { label: 'NHS number', value: person.nhsNumber ? formatNhsNumber(person.nhsNumber) : 'not given' },
    { label: 'Postcode', value: person.postcode },
    { label: 'Phone', value: person.phone },
    ...(person.email ? [{ label: 'Email', value: person.email }] : []),
    ...(person.carerDetails ? [{ label: 'Carer', value: person.carerDetails }] : []),
  ];
}

/** Baseline and closing scores in a line: the change when both exist. */
function wellbeingLine(referral: Referral): string | undefined {
  const wellbeing = referral.wellbeing;
  if (!wellbeing) return undefined;
  const change = describeChange(wellbeing);
  if (change) return change;
  const describe = (label: string, measurement: Measurement | undefined) =>
    measurement
      ? measurement.tool === 'swemwbs'
        ? `${label} SWEMWBS ${measurement.metric.toFixed(2)}`
        : `${label} ONS4 ${measurement.scores.lifeSatisfaction}/${measurement.scores.worthwhile}/${measurement.scores.happiness}/${measurement.scores.anxiety}`
      : undefined;
  return [describe('Baseline', wellbeing.baseline), describe('Closing', wellbeing.closing)].filter(Boolean).join('; ') || undefined;
}

/** What the card needs besides the referral: who can be assigned, where it can go, what just happened. */
export interface ServiceCardContext {
  serviceName: string;
  /** The service's typical wait as its directory entry says now ("about 3 weeks"): what link workers tell the person. */
  serviceWait?: string;
  /** The service's link workers (the channel's team), for Assign. */
  members: Person[];
  /** Other services the person matched, for Redirect. */
  redirectServices: Array<{ id: string; name: string }>;
  /** Activities offered on Update before anything is typed (near the person first); typing searches the whole directory. */
  activityChoices?: Array<{ title: string; value: string }>;
  /** Short lines, newest last: who did what, when. */
  history: string[];
  /** A message for whoever just acted ("Nothing changed: ..."). */
  notice?: string;
  /** Only in the answer to the link worker who asked: the person's identifiers and contact details. */
  showContactDetails?: boolean;
  /**
   * Whose card this is: the actions the permission table allows them, and whether they are a
   * link worker of the service. Absent: the shared card, with what any link worker may do.
   */
  viewer?: { id: string; verbs: readonly GuardedVerb[]; isLinkWorker: boolean };
  /** Who Teams redraws the card for automatically, each with their own view. */
  refreshUserIds?: string[];
  /** The team is larger than Teams refreshes automatically: the shared card offers "Show my actions". */
  manualRefresh?: boolean;
}

/** The dataset the card's activity typeahead asks for (an `application/search` invoke). */
export const ACTIVITY_SEARCH_DATASET = 'activities';

/** An activity as the card's dropdown shows it (choice titles are plain text, not Markdown). */
export function activityChoice(activity: Activity): { title: string; value: string } {
  return { title: `${activity.name} (${categoryWords(activity)}), ${activity.place.postcodeDistrict}${activity.illustrative ? ', sample' : ''}`, value: activity.id };
}

/** The verb a card's refresh (automatic, or "Show my actions") invokes. */
export const REFRESH_VERB = 'refresh';

/** Who owns an open case, said to the viewer. */
function ownerLine(referral: Referral, viewerId: string | undefined): string | null {
  if (!isOpenStatus(referral.status)) return null;
  if (!referral.owner) return 'Nobody has accepted this referral yet.';
  if (referral.owner.id === viewerId) return 'You own this referral: you record its progress and outcomes, and close it.';
  return `Owned by ${referral.owner.name}: only they record its progress and outcomes, or close it.`;
}
const CONTACT_METHODS: Record<string, string> = { phone: 'phone call', text: 'text message', email: 'email', letter: 'letter' };

/**
 * What a link worker needs to decide, as label and value (not escaped): age, area, needs, how
 * the person likes to be contacted, who referred, where the case stands. No direct identifier.
 * The channel card and the email pages show the same rows.
 */
export function serviceReferralFacts(referral: Referral): Array<{ label: string; value: string }> {
  const facts = referral.facts as PersonFacts;
  const needs: string[] = [];
  if (facts.sociallyIsolated) needs.push('socially isolated');
  if (facts.malnutritionRisk) needs.push('at risk of malnutrition');
  if (facts.dementiaDiagnosis) needs.push('dementia diagnosis');
  if (facts.mentalHealth && facts.mentalHealth !== 'none') needs.push(`${MENTAL_HEALTH_NAMES[facts.mentalHealth]} mental health needs`);
  if (facts.mentalHealthDiagnosis) needs.push('mental health diagnosis');
  if (facts.longTermConditions) needs.push(`${facts.longTermConditions} long-term condition${facts.longTermConditions === 1 ? '' : 's'}`);
  if (facts.dischargeFrom) needs.push(`being discharged from ${HOSPITAL_NAMES[facts.dischargeFrom]}`);
  if (facts.carer) needs.push('is a carer');

  const person = personFacts(referral)!;
  const contact = [
    `by ${CONTACT_METHODS[person.preferredContactMethod]}`,
    referral.person?.preferredContactTimes,
    person.interpreterNeeded ? `${person.language}, interpreter needed` : person.language,
    person.carerInvolved ? 'involve their carer' : undefined,
  ].filter(Boolean);

  const rows: Array<{ label: string; value: string }> = [
    { label: 'Age', value: facts.age !== undefined ? String(facts.age) : 'not known' },
    {
      label: 'Area',
      value: [person.postcodeDistrict, facts.borough ? capitalised(BOROUGH_NAMES[facts.borough]) : undefined].filter(Boolean).join(', '),
    },
    { label: 'Needs', value: needs.length ? capitalised(needs.join(', ')) : 'None recorded' },
    { label: 'Contact', value: capitalised(contact.join('; ')) },
    { label: 'Referred by', value: `${referral.referrer.name}, ${referral.referrer.practice}` },
    ...(referral.owner ? [{ label: 'Owner', value: referral.owner.name }] : []),
    ...(wellbeingLine(referral) ? [{ label: 'Wellbeing', value: wellbeingLine(referral)! }] : []),
    ...(referral.goals?.length
      ? [{ label: 'Goals', value: referral.goals.map((goal) => `${goal.text}${goal.achieved ? ' (achieved)' : ''}`).join('; ') }]
      : []),
    ...(referral.outcome ? [{ label: referral.outcome.kind === 'closed' ? 'Closed' : 'Declined', value: reasonWords(referral.outcome.reason).choice }] : []),
  ];
  return rows;
}

/**
 * The referral as its service's channel sees it: what a link worker needs to decide (age, area,
 * needs, what matters, why it was routed here, how the person likes to be contacted), and none
 * of the direct identifiers (name, NHS number, date of birth, full postcode, phone, email).
 */
export function serviceReferralCard(referral: Referral, context: ServiceCardContext): Record<string, unknown> {
  const state = caseState(referral);
  const verbs = new Set<GuardedVerb>(context.viewer?.verbs ?? sharedVerbs(state));
  const owner = ownerLine(referral, context.viewer?.id);
  const rows = serviceReferralFacts(referral);
  // Everything shown as text is escaped (names, notes, what matters, history lines that quote
  // them); inputs and choice titles are not Markdown and get the text as it is.
  const card = renderCard(template, {
    title: escapeCardText(`Referral to ${context.serviceName}`),
    notice: context.notice == null ? null : escapeCardText(context.notice),
    referralId: referral.id,
    version: referral.version,
    can: {
      accept: verbs.has('accept'),
      assign: verbs.has('assign'),
      update: verbs.has('update'),
      close: verbs.has('close'),
      decline: verbs.has('decline'),
      redirect: verbs.has('redirect'),
      record: verbs.has('record'),
      escalate: verbs.has('escalate'),
      contact: verbs.has('view-contact'),
    },
    ownerLine: owner == null ? null : escapeCardText(owner),
    viewerLine: context.viewer && !context.viewer.isLinkWorker ? "Only the service's link workers can act on this referral, so it offers you no actions." : null,
    manualRefresh: !context.viewer && Boolean(context.manualRefresh),
    contact: context.showContactDetails ? escapedRows(contactRows(referral)) : null,
    wellbeingSummary: wellbeingLine(referral) ?? 'No wellbeing score recorded yet: record a baseline at the first meeting.',
    goalValues: Object.fromEntries(
      [0, 1, 2].flatMap((index) => [
        [`goal${index + 1}`, referral.goals?.[index]?.text ?? ''],
        [`goal${index + 1}Achieved`, referral.goals?.[index]?.achieved ? 'yes' : 'no'],
      ]),
    ),
    members: context.members.map((member) => ({ title: member.name, value: member.id })),
    progressChoices: PROGRESS_STATUSES.map((status) => ({ title: STATUS_LABELS[status], value: status })),
    closeReasons: choices(CLOSE_REASONS),
    declineReasons: choices(DECLINE_REASONS),
    redirectChoices: context.redirectServices.map((service) => ({ title: service.name, value: service.id })),
    activityChoices: context.activityChoices ?? [],
    activitySearch: ACTIVITY_SEARCH_DATASET,
    history: context.history.map(escapeCardText),
    escalations: (referral.escalations ?? []).map((escalation) =>
      escapeCardText(describeEscalation(escalation, (iso) => formatTime(iso, 'Europe/London'))),
    ),
    escalationReasons: ESCALATION_REASONS.map((reason) => ({ title: ESCALATION_REASON_LABELS[reason], value: reason })),
    reference: referral.reference,
    receivedAt: formatShortTime(referral.createdAt),
    status: STATUS_LABELS[referral.status],
    nearMiss: referral.match.chosenWasNearMiss,
    facts: escapedRows(context.serviceWait ? [...rows, { label: 'Typical wait now', value: context.serviceWait }] : rows),
    whatMatters: escapeCardText(referral.whatMatters),
    reasons: referral.match.reasons.map(escapeCardText),
  });
  return withRefresh(card, { verb: REFRESH_VERB, title: 'Show my actions', data: { referralId: referral.id }, userIds: context.refreshUserIds ?? [] });
}
