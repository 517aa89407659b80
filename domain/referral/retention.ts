import { z } from 'zod';
import type { Timer } from '../supervision/policy';
import { postcodeDistrict } from './postcode';
import type { Referral, ReferralPerson } from './referral';

/**
 * Retention and de-identification of a referral: pure rules, no storage.
 *
 * When a referral has ended (closed or declined) its person-identifiable data is kept for a
 * retention period (SIGNPOST_RETENTION_MONTHS, 96 months by default: the NHS Records Management
 * Code of Practice's 8 years after the conclusion of treatment for adult GP and community
 * records), then removed. What stays is what reports and the audit trail need and what does not
 * identify the person on its own: reference, service, statuses and dates, outcome scores and
 * whether goals were achieved, the eligibility facts (age at referral, borough, needs), the
 * postcode district, how they preferred contact and their language, and the staff who acted.
 *
 * Signpost never records a "cancelled" referral: a form stopped before Send stores nothing
 * about the person, so closed and declined are the only ends a stored referral can reach.
 */

/** Statuses that end a referral for good: the retention clock starts when one is reached. */
export const CONCLUDED_STATUSES = ['closed', 'declined'] as const;

export const DEFAULT_RETENTION_MONTHS = 96;

/** Put where free text was, so the record stays valid and says plainly what happened. */
export const REMOVED_TEXT = '(removed)';

export type RemovalRule = { kind: 'retention'; months: number } | { kind: 'erasure' };

/** The rule as the audit trail names it. */
export function ruleName(rule: RemovalRule): string {
  return rule.kind === 'retention' ? `retention-${rule.months}-months` : 'erasure-on-request';
}

/** The rule in words, for people reading a record or a card. */
export function ruleWords(rule: RemovalRule): string {
  return rule.kind === 'retention'
    ? `the retention period (${rule.months} months after the referral ended) ran out`
    : "the person's data was erased on request";
}

/** What a de-identified record keeps about the person: facts for reports, no identifiers. */
export const keptPersonFactsSchema = z.object({
  borough: z.string().min(1).max(40),
  /** The outward code only ("SE5"): thousands of households share one. */
  postcodeDistrict: z.string().max(4).nullable(),
  preferredContactMethod: z.enum(['phone', 'text', 'email', 'letter']),
  language: z.string().min(1).max(40),
  interpreterNeeded: z.boolean(),
  carerInvolved: z.boolean(),
});
export type KeptPersonFacts = z.infer<typeof keptPersonFactsSchema>;

export const deidentificationSchema = z.object({
  at: z.string().datetime({ offset: true }),
  rule: z.string().min(1).max(60),
  kept: keptPersonFactsSchema,
});
export type Deidentification = z.infer<typeof deidentificationSchema>;

/** When the referral ended, or undefined while it is open. */
export function concludedAt(referral: Pick<Referral, 'status' | 'outcome' | 'updatedAt'>): string | undefined {
  if (!(CONCLUDED_STATUSES as readonly string[]).includes(referral.status)) return undefined;
  return referral.outcome?.at ?? referral.updatedAt;
}

/**
 * `months` calendar months after `from` (UTC). A day the target month lacks becomes its last
 * day: 31 January plus one month is 28 (or 29) February.
 */
export function addMonths(from: Date, months: number): Date {
  const target = new Date(from.getTime());
  const day = target.getUTCDate();
  target.setUTCDate(1);
  target.setUTCMonth(target.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return target;
}

/** When the person's identifiers are due to go, or undefined while the referral is open. */
export function retentionEndsAt(referral: Pick<Referral, 'status' | 'outcome' | 'updatedAt'>, months: number): Date | undefined {
  const ended = concludedAt(referral);
  return ended ? addMonths(new Date(ended), months) : undefined;
}

/** The retention clock of an ended referral that still holds identifiers; none otherwise. */
export function retentionTimers(referral: Referral, months: number): Timer[] {
  const ended = concludedAt(referral);
  if (!ended || referral.deidentified) return [];
  return [
    {
      id: `retention:${referral.id}:${ended}`,
      kind: 'retention',
      dueAt: addMonths(new Date(ended), months).toISOString(),
      serviceId: referral.serviceId,
      referralId: referral.id,
      anchor: ended,
    },
  ];
}

/**
 * The catch-up, as a timer already due: ended referrals that have no retention clock get one
 * (they ended before retention existed, or the period was shortened since). Due at the start of
 * the day it is stored, so instances starting the same day store the same timer and one runs it.
 */
export function retentionCatchUpTimer(now: Date): Timer {
  return dailyTimer('retention-catch-up', now);
}

/**
 * A referral form left half-way keeps the person's answers in conversation state, and belongs
 * to no stored referral, so no retention clock reaches it: after this many days untouched it is
 * removed (the referrer starts again with `refer`).
 */
export const DEFAULT_UNFINISHED_FORM_DAYS = 30;

/** The daily removal of unfinished forms: stored at each start, each run stores the next day's. */
export function unfinishedFormsTimer(now: Date): Timer {
  return dailyTimer('unfinished-forms', now);
}

function dailyTimer(kind: 'retention-catch-up' | 'unfinished-forms', now: Date): Timer {
  const day = now.toISOString().slice(0, 10);
  return { id: `${kind}:${day}`, kind, dueAt: `${day}T00:00:00.000Z`, serviceId: 'all-services', anchor: day };
}

export type RetentionDecision =
  | { do: 'nothing'; why: 'gone' | 'open' | 'already-removed' }
  /** The period was lengthened since the timer was set: ask again then. */
  | { do: 'wait'; next: Timer[] }
  | { do: 'remove' };

/** What a due retention timer does now, with the referral as it is and the period configured now. */
export function retentionDecision(referral: Referral | undefined, months: number, now: Date): RetentionDecision {
  if (!referral) return { do: 'nothing', why: 'gone' };
  if (referral.deidentified) return { do: 'nothing', why: 'already-removed' };
  const ends = retentionEndsAt(referral, months);
  if (!ends) return { do: 'nothing', why: 'open' };
  if (ends.getTime() > now.getTime()) return { do: 'wait', next: retentionTimers(referral, months) };
  return { do: 'remove' };
}

/** The parts of a record that can identify the person, in words for the audit trail. */
const REMOVED_PARTS = {
  person: 'name, date of birth, NHS number, postcode, phone, email, contact times, carer details',
  whatMatters: 'what matters',
  outcomeNote: 'outcome note',
  escalationNotes: 'escalation notes',
  goalTexts: 'goal texts',
} as const;

/**
 * The record without the person's identifiers or any free text that could carry them. The result
 * is a valid referral (it still passes the schema), marked with when and under which rule.
 * Already de-identified records come back unchanged.
 */
export function deidentify(referral: Referral, at: string, rule: RemovalRule): { referral: Referral; removed: string[] } {
  if (referral.deidentified || !referral.person) return { referral, removed: [] };
  const removed: string[] = [REMOVED_PARTS.person];
  const { person: _person, ...rest } = referral;
  const next: Referral = {
    ...rest,
    whatMatters: REMOVED_TEXT,
    deidentified: { at, rule: ruleName(rule), kept: keptPersonFacts(referral.person) },
  };
  if (referral.whatMatters !== REMOVED_TEXT) removed.push(REMOVED_PARTS.whatMatters);
  if (referral.outcome?.note) {
    const { note: _note, ...outcome } = referral.outcome;
    next.outcome = outcome;
    removed.push(REMOVED_PARTS.outcomeNote);
  }
  if (referral.escalations?.length) {
    next.escalations = referral.escalations.map(({ resolution, ...escalation }) => ({
      ...escalation,
      note: REMOVED_TEXT,
      ...(resolution ? { resolution: (({ note: _note, ...kept }) => kept)(resolution) } : {}),
    }));
    removed.push(REMOVED_PARTS.escalationNotes);
  }
  if (referral.goals?.length) {
    next.goals = referral.goals.map((goal) => ({ ...goal, text: REMOVED_TEXT }));
    removed.push(REMOVED_PARTS.goalTexts);
  }
  return { referral: next, removed };
}

export function keptPersonFacts(person: ReferralPerson): KeptPersonFacts {
  return {
    borough: person.borough,
    postcodeDistrict: postcodeDistrict(person.postcode),
    preferredContactMethod: person.preferredContactMethod,
    language: person.language,
    interpreterNeeded: person.interpreterNeeded,
    carerInvolved: person.carerInvolved,
  };
}

/** Audit detail keys whose values are free text a link worker typed: removed with the person's data. */
export const FREE_TEXT_AUDIT_KEYS = ['activity', 'note'] as const;

/** An audit event's detail without free text; undefined when there was none to remove. */
export function scrubAuditDetail<T extends Record<string, unknown>>(detail: T): T | undefined {
  const found = FREE_TEXT_AUDIT_KEYS.filter((key) => typeof detail[key] === 'string' && detail[key] !== REMOVED_TEXT);
  if (!found.length) return undefined;
  return { ...detail, ...Object.fromEntries(found.map((key) => [key, REMOVED_TEXT])) };
}

/**
 * The strings that identify the person in a record: what an erasure must leave nowhere, and
 * what an operator's reason for an erasure must not contain.
 */
export function identifyingStrings(person: ReferralPerson): string[] {
  const digits = (value: string) => value.replace(/\D/g, '');
  return [
    `${person.givenName} ${person.familyName}`,
    person.familyName,
    person.dateOfBirth,
    person.nhsNumber,
    person.postcode,
    person.postcode.replace(' ', ''),
    person.phone,
    digits(person.phone).length >= 6 ? digits(person.phone) : undefined,
    person.email,
  ].filter((value): value is string => Boolean(value && value.trim().length >= 3));
}

/** Does this text contain one of the person's identifiers (case and spacing ignored)? */
export function mentionsPerson(text: string, person: ReferralPerson): boolean {
  const squash = (value: string) => value.toLowerCase().replace(/\s+/g, '');
  const haystack = squash(text);
  return identifyingStrings(person).some((identifier) => haystack.includes(squash(identifier)));
}

/** The person's non-identifying facts, from the person while held and from the de-identified record after. */
export function personFacts(referral: Pick<Referral, 'person' | 'deidentified'>): KeptPersonFacts | undefined {
  return referral.person ? keptPersonFacts(referral.person) : referral.deidentified?.kept;
}
