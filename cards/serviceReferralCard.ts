import template from './referral/service-referral.json';
import { renderCard } from './render';
import type { Referral } from '../domain/referral/referral';
import { postcodeDistrict } from '../domain/referral/postcode';
import { BOROUGH_NAMES, capitalised, HOSPITAL_NAMES, MENTAL_HEALTH_NAMES } from '../domain/directory/names';
import type { PersonFacts } from '../domain/eligibility/facts';

const STATUS_NAMES: Record<Referral['status'], string> = {
  submitted: 'New',
  accepted: 'Accepted',
  declined: 'Declined',
  redirected: 'Redirected',
  contacted: 'Contacted',
  'first-meeting-held': 'First meeting held',
  'support-plan-agreed': 'Support plan agreed',
  'waiting-for-activity': 'Waiting for an activity',
  'connected-to-activity': 'Connected to an activity',
  closed: 'Closed',
};
const CONTACT_METHODS: Record<string, string> = { phone: 'phone call', text: 'text message', email: 'email', letter: 'letter' };

/**
 * The referral as its service's channel sees it: what a link worker needs to decide (age, area,
 * needs, what matters, why it was routed here, how the person likes to be contacted), and none
 * of the direct identifiers (name, NHS number, date of birth, full postcode, phone, email).
 */
export function serviceReferralCard(referral: Referral, serviceName: string): Record<string, unknown> {
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

  const person = referral.person;
  const contact = [
    `by ${CONTACT_METHODS[person.preferredContactMethod]}`,
    person.preferredContactTimes,
    person.interpreterNeeded ? `${person.language}, interpreter needed` : person.language,
    person.carerInvolved ? 'involve their carer' : undefined,
  ].filter(Boolean);

  const rows: Array<{ label: string; value: string }> = [
    { label: 'Age', value: facts.age !== undefined ? String(facts.age) : 'not known' },
    {
      label: 'Area',
      value: [postcodeDistrict(person.postcode), facts.borough ? capitalised(BOROUGH_NAMES[facts.borough]) : undefined].filter(Boolean).join(', '),
    },
    { label: 'Needs', value: needs.length ? capitalised(needs.join(', ')) : 'None recorded' },
    { label: 'Contact', value: capitalised(contact.join('; ')) },
    { label: 'Referred by', value: `${referral.referrer.name}, ${referral.referrer.practice}` },
  ];

  return renderCard(template, {
    title: `Referral to ${serviceName}`,
    reference: referral.reference,
    receivedAt: new Date(referral.createdAt).toLocaleString('en-GB', {
      day: 'numeric',
      month: 'short',
      hour: '2-digit',
      minute: '2-digit',
      timeZone: 'Europe/London',
    }),
    status: STATUS_NAMES[referral.status],
    nearMiss: referral.match.chosenWasNearMiss,
    facts: rows,
    whatMatters: referral.whatMatters,
    reasons: referral.match.reasons,
  });
}
