import type { ReferralDraft } from './draft';
import { BOROUGH_NAMES, capitalised, HOSPITAL_NAMES, MENTAL_HEALTH_NAMES, ROUTE_NAMES } from '../../domain/directory/names';

export interface Fact {
  label: string;
  value: string;
}

const CONTACT_METHODS: Record<string, string> = { phone: 'Phone call', text: 'Text message', email: 'Email', letter: 'Letter' };

const yesNo = (value: boolean | undefined) => (value ? 'Yes' : 'No');

/** The summary card's sections: what will be sent, in words a receptionist can check. */
export function summarySections(draft: ReferralDraft, serviceName: string | undefined): Record<string, Fact[]> {
  const { referrer, consent, person, needs, choice } = draft;
  const facts = (entries: Array<[string, string | undefined]>): Fact[] =>
    entries.filter(([, value]) => value !== undefined && value !== '').map(([label, value]) => ({ label, value: value! }));

  const needsList: string[] = [];
  if (needs?.sociallyIsolated) needsList.push('socially isolated');
  if (needs?.malnutritionRisk) needsList.push('at risk of malnutrition');
  if (needs?.dementiaDiagnosis) needsList.push('dementia diagnosis');
  if (needs?.mentalHealthDiagnosis) needsList.push('mental health diagnosis');
  if (needs?.usingTalkingTherapies) needsList.push('uses Talking Therapies');
  if (needs?.carer) needsList.push('is a carer');

  return {
    referrer: facts([
      ['Name', referrer?.name],
      ['Email', referrer?.email],
      ['Practice', referrer?.practice],
      ['Role', referrer?.role],
    ]),
    consent: facts([
      ['Agrees to referral', consent ? 'Yes' : undefined],
      ['Agrees to sharing', consent ? 'Yes' : undefined],
      ['Given', consent?.method === 'written' ? 'In writing' : consent ? 'Verbally' : undefined],
    ]),
    person: facts([
      ['Name', person ? `${person.givenName} ${person.familyName}` : undefined],
      ['Date of birth', person?.dateOfBirth],
      ['NHS number', person?.nhsNumber],
      ['Postcode', person?.postcode],
      ['Borough', person ? capitalised(BOROUGH_NAMES[person.borough]) : undefined],
      ['Phone', person?.phone],
      ['Contact by', person ? CONTACT_METHODS[person.preferredContactMethod] : undefined],
      ['Email', person?.email],
      ['Best times', person?.preferredContactTimes],
      ['Language', person ? `${person.language}${person.interpreterNeeded ? ' (interpreter needed)' : ''}` : undefined],
      ['Carer involved', person ? yesNo(person.carerInvolved) + (person.carerDetails ? `: ${person.carerDetails}` : '') : undefined],
    ]),
    needs: facts([
      ['Long-term conditions', needs?.longTermConditions?.toString()],
      ['Mental health needs', needs?.mentalHealth ? capitalised(MENTAL_HEALTH_NAMES[needs.mentalHealth]) : undefined],
      ['Also', needsList.length ? needsList.join(', ') : undefined],
      ['Hospital discharge', needs?.dischargeFrom ? HOSPITAL_NAMES[needs.dischargeFrom] : undefined],
      ['GP borough', needs?.gpBorough ? capitalised(BOROUGH_NAMES[needs.gpBorough]) : undefined],
      ['Referred by', needs ? capitalised(ROUTE_NAMES[needs.referralRoute]) : undefined],
      ['What matters', needs?.whatMatters],
    ]),
    matches: facts([
      ['Service', serviceName],
      ['Eligibility', choice ? (choice.wasNearMiss ? 'Near miss: the service decides' : 'Eligible') : undefined],
    ]),
  };
}
