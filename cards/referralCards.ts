import referrerTemplate from './referral/referrer.json';
import consentTemplate from './referral/consent.json';
import safetyTemplate from './referral/safety.json';
import personTemplate from './referral/person.json';
import needsTemplate from './referral/needs.json';
import matchesTemplate from './referral/matches.json';
import summaryTemplate from './referral/summary.json';
import submittedTemplate from './referral/submitted.json';
import safetyStopTemplate from './referral/safety-stop.json';
import consentDeclinedTemplate from './referral/consent-declined.json';
import { renderCard } from './render';
import { SNOMED_SOCIAL_PRESCRIBING_DECLINED, SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING } from '../domain/referral/snomed';
import { URGENT_ACTIONS } from '../domain/referral/safety';
import { escapeCardText } from '../domain/text';

/** The card templates of the referral dialog, one a step, by step name. */
export const REFERRAL_STEP_TEMPLATES = {
  referrer: referrerTemplate,
  consent: consentTemplate,
  safety: safetyTemplate,
  person: personTemplate,
  needs: needsTemplate,
  matches: matchesTemplate,
  summary: summaryTemplate,
} as const;
export type ReferralCardStep = keyof typeof REFERRAL_STEP_TEMPLATES;

export interface StepCardData {
  step: string;
  token: string;
  values: Record<string, unknown>;
  errors: Record<string, string>;
  /** The summary step's facts, by section: what the referrer typed, shown as text. */
  sections?: Record<string, Array<{ label: string; value: string }>>;
  [extra: string]: unknown;
}

/**
 * Every input a template binds must have a value, or the templating library leaves the
 * `${...}` expression in the card; missing values become empty strings. Inputs get what was
 * typed as it was typed (an input shows no Markdown); text shown in TextBlocks and FactSets is
 * escaped.
 */
export function referralStepCard(step: ReferralCardStep, data: StepCardData): Record<string, unknown> {
  const template = REFERRAL_STEP_TEMPLATES[step];
  const values: Record<string, string> = {};
  for (const id of inputIds(template)) values[id] = cardValue(data.values[id]);
  const errors = Object.fromEntries(Object.entries(data.errors).map(([field, message]) => [field, escapeCardText(message)]));
  const sections = data.sections
    ? Object.fromEntries(
        Object.entries(data.sections).map(([name, facts]) => [name, facts.map((fact) => ({ ...fact, value: escapeCardText(fact.value) }))]),
      )
    : undefined;
  return renderCard(template, { ...data, values, errors, ...(sections ? { sections } : {}) });
}

/**
 * Card inputs are strings: booleans become the toggles' "yes"/"no", numbers their digits.
 * Anything else came from a forged submission being shown again; it is dropped, since an
 * object's own `toString` may be missing or not a function.
 */
function cardValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return String(value);
  return '';
}

const inputIdCache = new WeakMap<object, string[]>();
export function inputIds(template: object): string[] {
  let ids = inputIdCache.get(template);
  if (!ids) {
    ids = [];
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(visit);
      else if (node && typeof node === 'object') {
        const element = node as Record<string, unknown>;
        if (typeof element.type === 'string' && element.type.startsWith('Input.') && typeof element.id === 'string') {
          ids!.push(element.id);
        }
        Object.values(element).forEach(visit);
      }
    };
    visit(template);
    inputIdCache.set(template, ids);
  }
  return ids;
}

export function safetyStopCard(): Record<string, unknown> {
  return renderCard(safetyStopTemplate, { actions: URGENT_ACTIONS });
}

export function consentDeclinedCard(declinedReferral: boolean): Record<string, unknown> {
  return renderCard(consentDeclinedTemplate, {
    reason: declinedReferral
      ? 'The person does not want a referral, so none has been made.'
      : 'A referral needs the person to agree to their details being shared with the service, so none has been made.',
    snomed: SNOMED_SOCIAL_PRESCRIBING_DECLINED,
  });
}

export interface SubmittedCardData {
  reference: string;
  serviceName: string;
  wait: string;
  nextSteps: string[];
}

export function submittedCard(data: SubmittedCardData): Record<string, unknown> {
  return renderCard(submittedTemplate, {
    ...data,
    serviceName: escapeCardText(data.serviceName),
    nextSteps: data.nextSteps.map(escapeCardText),
    snomed: SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING,
    showMyReferrals: false,
  });
}
