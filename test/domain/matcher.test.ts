import { expect } from 'chai';
import { southwarkDirectory } from '../../domain/directory/southwark';
import { DirectoryService, isUnverified } from '../../domain/directory/schema';
import { matchPerson, MatchResult, Outcome } from '../../domain/eligibility/matcher';
import { parsePersonFacts, PersonFacts } from '../../domain/eligibility/facts';

const now = new Date('2026-11-24T12:00:00Z');
const directory = southwarkDirectory();

function outcomeOf(result: MatchResult, serviceId: string): Outcome {
  for (const outcome of ['eligible', 'nearMiss', 'ineligible'] as const) {
    if (result[outcome].some((match) => match.serviceId === serviceId)) return outcome;
  }
  throw new Error(`${serviceId} missing from the result`);
}

function reasonsOf(result: MatchResult, serviceId: string): string {
  return [...result.eligible, ...result.nearMiss, ...result.ineligible].find((m) => m.serviceId === serviceId)!.reasons.join(' | ');
}

const isolatedSouthwark50s = (age: number): PersonFacts => ({ age, borough: 'southwark', sociallyIsolated: true, referralRoute: 'gp' });
const discharged = (age: number, dischargeFrom: PersonFacts['dischargeFrom'], borough: PersonFacts['borough']): PersonFacts => ({
  age,
  dischargeFrom,
  borough,
  referralRoute: 'hospital',
});

interface Case {
  name: string;
  facts: PersonFacts;
  service: string;
  expected: Outcome;
  reason?: RegExp;
}

const cases: Case[] = [
  // SAIL and SAIL Care Navigation: Southwark residents over 50, isolated and/or malnourished.
  { name: 'SAIL: 50 is over 50 @safety', facts: isolatedSouthwark50s(50), service: 'sail', expected: 'eligible', reason: /person is 50/ },
  { name: 'SAIL: 49 is a near miss @safety', facts: isolatedSouthwark50s(49), service: 'sail', expected: 'nearMiss' },
  { name: 'SAIL: 45 is a near miss (5 years)', facts: isolatedSouthwark50s(45), service: 'sail', expected: 'nearMiss' },
  { name: 'SAIL: 44 is too young', facts: isolatedSouthwark50s(44), service: 'sail', expected: 'ineligible' },
  { name: 'SAIL: malnutrition alone qualifies', facts: { age: 70, borough: 'southwark', malnutritionRisk: true }, service: 'sail', expected: 'eligible' },
  { name: 'SAIL: needs isolation or malnutrition', facts: { age: 70, borough: 'southwark', sociallyIsolated: false, malnutritionRisk: false }, service: 'sail', expected: 'ineligible', reason: /person is neither/ },
  { name: 'SAIL: unknown need says so @safety', facts: { age: 70, borough: 'southwark' }, service: 'sail', expected: 'ineligible', reason: /not known/ },
  { name: 'SAIL: Lambeth residents are not covered', facts: { ...isolatedSouthwark50s(70), borough: 'lambeth' }, service: 'sail', expected: 'ineligible', reason: /lives in Lambeth/ },
  { name: 'SAIL: a near miss on age and residence is not a near miss', facts: { ...isolatedSouthwark50s(48), borough: 'lambeth' }, service: 'sail', expected: 'ineligible' },
  { name: 'SAIL: a school cannot refer', facts: { ...isolatedSouthwark50s(70), referralRoute: 'school' }, service: 'sail', expected: 'ineligible', reason: /this one is from school/ },
  { name: 'SAIL Care Navigation: GP referral', facts: isolatedSouthwark50s(66), service: 'sail-care-navigation', expected: 'eligible' },
  { name: 'SAIL Care Navigation: no self-referral', facts: { ...isolatedSouthwark50s(66), referralRoute: 'self' }, service: 'sail-care-navigation', expected: 'ineligible' },
  { name: 'SAIL Care Navigation: age unknown', facts: { borough: 'southwark', sociallyIsolated: true }, service: 'sail-care-navigation', expected: 'ineligible', reason: /age not known/ },

  // British Red Cross Home from Hospital: over 60 or approaching 60, discharged from King's or GSTT.
  { name: "Red Cross: 60, King's, Lewisham", facts: discharged(60, 'kings-college-hospital', 'lewisham'), service: 'red-cross-home-from-hospital', expected: 'eligible' },
  { name: "Red Cross: 59 is approaching 60", facts: discharged(59, 'kings-college-hospital', 'southwark'), service: 'red-cross-home-from-hospital', expected: 'eligible', reason: /approaching/ },
  { name: "Red Cross: 55 is approaching 60 @safety", facts: discharged(55, 'guys-and-st-thomas', 'lambeth'), service: 'red-cross-home-from-hospital', expected: 'eligible' },
  { name: 'Red Cross: 54 is a near miss', facts: discharged(54, 'guys-and-st-thomas', 'southwark'), service: 'red-cross-home-from-hospital', expected: 'nearMiss' },
  { name: 'Red Cross: 49 is too young', facts: discharged(49, 'guys-and-st-thomas', 'southwark'), service: 'red-cross-home-from-hospital', expected: 'ineligible' },
  { name: "Red Cross: GSTT does not cover Lewisham", facts: discharged(70, 'guys-and-st-thomas', 'lewisham'), service: 'red-cross-home-from-hospital', expected: 'ineligible', reason: /Southwark or Lambeth for discharge from Guy's/ },
  { name: "Red Cross: King's covers Lewisham", facts: discharged(70, 'kings-college-hospital', 'lewisham'), service: 'red-cross-home-from-hospital', expected: 'eligible' },
  { name: "Red Cross: King's does not cover Croydon", facts: discharged(70, 'kings-college-hospital', 'croydon'), service: 'red-cross-home-from-hospital', expected: 'ineligible' },
  { name: 'Red Cross: not being discharged', facts: { age: 70, borough: 'southwark' }, service: 'red-cross-home-from-hospital', expected: 'ineligible', reason: /not being discharged/ },

  // Alzheimer's Society: a dementia diagnosis.
  { name: "Alzheimer's: diagnosis", facts: { dementiaDiagnosis: true }, service: 'alzheimers-society', expected: 'eligible' },
  { name: "Alzheimer's: no diagnosis", facts: { dementiaDiagnosis: false }, service: 'alzheimers-society', expected: 'ineligible' },
  { name: "Alzheimer's: school route not listed", facts: { dementiaDiagnosis: true, referralRoute: 'school' }, service: 'alzheimers-society', expected: 'ineligible' },

  // Pembroke House: mild to moderate mental health, SLaM area.
  { name: 'Pembroke House: mild-moderate in Croydon', facts: { mentalHealth: 'mild-moderate', borough: 'croydon' }, service: 'pembroke-house', expected: 'eligible' },
  { name: 'Pembroke House: high need', facts: { mentalHealth: 'high', borough: 'southwark' }, service: 'pembroke-house', expected: 'ineligible' },
  { name: 'Pembroke House: outside SLaM', facts: { mentalHealth: 'mild-moderate', borough: 'other' }, service: 'pembroke-house', expected: 'ineligible' },

  // Time and Talents: 3+ long-term conditions; self-referral also needs a mental health diagnosis.
  { name: 'Time and Talents: 3 conditions from the GP', facts: { longTermConditions: 3, referralRoute: 'gp' }, service: 'time-and-talents', expected: 'eligible' },
  { name: 'Time and Talents: 2 conditions', facts: { longTermConditions: 2, referralRoute: 'gp' }, service: 'time-and-talents', expected: 'ineligible', reason: /person has 2/ },
  { name: 'Time and Talents: self-referral without diagnosis', facts: { longTermConditions: 4, referralRoute: 'self', mentalHealthDiagnosis: false }, service: 'time-and-talents', expected: 'ineligible', reason: /has none/ },
  { name: 'Time and Talents: self-referral with diagnosis', facts: { longTermConditions: 4, referralRoute: 'self', mentalHealthDiagnosis: true }, service: 'time-and-talents', expected: 'eligible' },

  // Southwark Wellbeing Hub: low to medium mental health needs, Southwark resident or Southwark GP.
  { name: 'Wellbeing Hub: lives in Southwark', facts: { mentalHealth: 'low-medium', borough: 'southwark', gpBorough: 'lambeth' }, service: 'wellbeing-hub', expected: 'eligible' },
  { name: 'Wellbeing Hub: Southwark GP only', facts: { mentalHealth: 'low-medium', borough: 'lewisham', gpBorough: 'southwark' }, service: 'wellbeing-hub', expected: 'eligible' },
  { name: 'Wellbeing Hub: neither', facts: { mentalHealth: 'low-medium', borough: 'lewisham', gpBorough: 'lewisham' }, service: 'wellbeing-hub', expected: 'ineligible' },
  { name: 'Wellbeing Hub: self-referral', facts: { mentalHealth: 'low-medium', borough: 'southwark', referralRoute: 'self' }, service: 'wellbeing-hub', expected: 'eligible' },

  // Services whose criteria the review does not publish, and services that take no referrals.
  { name: 'Bede House: criteria not published', facts: { age: 70, borough: 'southwark', sociallyIsolated: true }, service: 'bede-house', expected: 'ineligible', reason: /not published/ },
  { name: 'Blackfriars: criteria not published', facts: { age: 70, borough: 'southwark' }, service: 'blackfriars', expected: 'ineligible', reason: /not published/ },
  { name: 'High Intensity User project: no referrals', facts: { age: 40, borough: 'lambeth' }, service: 'gstt-high-intensity-users', expected: 'ineligible', reason: /Takes no referrals\. The team phones/ },
  { name: 'Primary Care Navigation: no referrals', facts: isolatedSouthwark50s(80), service: 'primary-care-navigation', expected: 'ineligible', reason: /Takes no referrals/ },
  { name: 'Healthy Churches: no referrals', facts: { borough: 'southwark' }, service: 'healthy-churches', expected: 'ineligible' },
  { name: 'CHAMPS: no referrals', facts: {}, service: 'champs', expected: 'ineligible' },
];

describe('Eligibility matcher (pure)', () => {
  it('has all thirteen Southwark services, nine taking referrals', () => {
    expect(directory).to.have.length(13);
    expect(directory.filter((service) => service.takesReferrals)).to.have.length(9);
  });

  for (const testCase of cases) {
    it(testCase.name, () => {
      const result = matchPerson(testCase.facts, directory, { now });
      expect(outcomeOf(result, testCase.service), reasonsOf(result, testCase.service)).to.equal(testCase.expected);
      if (testCase.reason) expect(reasonsOf(result, testCase.service)).to.match(testCase.reason);
    });
  }

  it('gives a reason for every criterion, met or not @safety', () => {
    const result = matchPerson(isolatedSouthwark50s(70), directory, { now });
    const sail = result.eligible.find((match) => match.serviceId === 'sail')!;
    expect(sail.reasons).to.have.length(4); // borough, age, need, route
    expect(sail.reasons.every((reason) => reason.startsWith('Meets: '))).to.equal(true);
  });

  it('computes age from a date of birth on the day', () => {
    const dayBefore = matchPerson({ dateOfBirth: '1976-11-25', borough: 'southwark', sociallyIsolated: true }, directory, { now });
    const birthday = matchPerson({ dateOfBirth: '1976-11-24', borough: 'southwark', sociallyIsolated: true }, directory, { now });
    expect(outcomeOf(dayBefore, 'sail')).to.equal('nearMiss');
    expect(outcomeOf(birthday, 'sail')).to.equal('eligible');
  });

  it('honours a configured near-miss margin', () => {
    expect(outcomeOf(matchPerson(isolatedSouthwark50s(47), directory, { now, nearMissYears: 2 }), 'sail')).to.equal('ineligible');
    expect(outcomeOf(matchPerson(isolatedSouthwark50s(48), directory, { now, nearMissYears: 2 }), 'sail')).to.equal('nearMiss');
  });

  it('ranks the most specific need first, then the shortest wait', () => {
    const facts: PersonFacts = { age: 70, borough: 'southwark', sociallyIsolated: true, dementiaDiagnosis: true, referralRoute: 'gp' };
    const ids = matchPerson(facts, directory, { now }).eligible.map((match) => match.serviceId);
    // SAIL (6-week wait) before SAIL Care Navigation (wait unpublished); all have one need rule.
    expect(ids.indexOf('sail')).to.be.lessThan(ids.indexOf('sail-care-navigation'));

    const base = directory.find((service) => service.id === 'alzheimers-society')!;
    const variant = (id: string, weeks: number | null, status: 'open' | 'paused' | 'closed', extraNeed = false): DirectoryService => ({
      ...base,
      id,
      name: `Service ${id}`,
      waitingTimeWeeks: weeks === null ? { value: null, note: 'not published' } : { value: weeks },
      status,
      ...(status === 'paused' ? { reopensOn: '2027-02-01' } : {}),
      eligibility: [...base.eligibility!, ...(extraNeed ? [{ rule: 'anyNeed' as const, needs: ['sociallyIsolated' as const], wording: 'isolated' }] : [])],
    });
    const services = [variant('a-paused', 1, 'paused'), variant('a-closed', 1, 'closed'), variant('b-open', 1, 'open'), variant('c-long', 9, 'open'), variant('d-none', null, 'open'), variant('e-specific', 20, 'open', true)];
    const ranked = matchPerson({ dementiaDiagnosis: true, sociallyIsolated: true }, services, { now }).eligible.map((m) => m.serviceId);
    expect(ranked).to.deep.equal(['e-specific', 'b-open', 'c-long', 'd-none']);
  });

  it('never offers a paused or closed service as a match or near miss, and says why @safety', () => {
    const sail = directory.find((service) => service.id === 'sail')!;
    const paused: DirectoryService = { ...sail, status: 'paused', reopensOn: '2027-02-01' };
    const closed: DirectoryService = { ...sail, id: 'sail-closed', status: 'closed' };
    for (const facts of [isolatedSouthwark50s(70), isolatedSouthwark50s(47)]) {
      const result = matchPerson(facts, [paused, closed], { now });
      expect(result.eligible).to.deep.equal([]);
      expect(result.nearMiss).to.deep.equal([]);
      expect(result.ineligible.find((match) => match.serviceId === 'sail')?.reasons).to.deep.equal(['Paused until 1 February 2027: not taking new referrals.']);
      expect(result.ineligible.find((match) => match.serviceId === 'sail-closed')?.reasons).to.deep.equal(['Closed: not taking referrals.']);
      expect(result.fallback?.title).to.equal('No service in the directory fits these answers');
    }
    // The same person is matched once the service reopens.
    expect(outcomeOf(matchPerson(isolatedSouthwark50s(70), [{ ...sail }], { now }), 'sail')).to.equal('eligible');
  });

  it('offers the general route, with the reason, when nothing is eligible @safety', () => {
    const result = matchPerson({ age: 30, borough: 'other' }, directory, { now });
    expect(result.eligible).to.deep.equal([]);
    expect(result.fallback?.detail).to.contain('Primary Care Network');
    expect(result.fallback?.reason).to.contain('9 services that take referrals');
    expect(matchPerson(isolatedSouthwark50s(70), directory, { now }).fallback).to.equal(null);
  });

  it('treats crisis, or high need with risk, as urgent with no routing @safety', () => {
    for (const facts of [{ crisis: true, ...isolatedSouthwark50s(70) }, { mentalHealth: 'high', riskToSelfOrOthers: true } as PersonFacts]) {
      const result = matchPerson(facts, directory, { now });
      expect(result.urgent).to.equal(true);
      expect(result.eligible).to.deep.equal([]);
      expect(result.nearMiss).to.deep.equal([]);
      expect(result.urgentActions.map((action) => action.detail).join(' ')).to.contain('999').and.contain('111');
    }
    expect(matchPerson({ mentalHealth: 'high' }, directory, { now }).urgent).to.equal(false);
  });

  it('marks services not verified for 90 days (configurable) @safety', () => {
    const result = matchPerson(isolatedSouthwark50s(70), directory, { now });
    expect(result.eligible.every((match) => match.unverified)).to.equal(true); // the 2019 entries
    const fresh = matchPerson(isolatedSouthwark50s(70), directory, { now: new Date('2019-08-01T00:00:00Z') });
    expect(fresh.eligible.every((match) => !match.unverified)).to.equal(true);
    expect(isUnverified({ lastVerified: '2026-09-01' }, now)).to.equal(false);
    expect(isUnverified({ lastVerified: '2026-08-01' }, now)).to.equal(true);
    expect(isUnverified({ lastVerified: '2026-08-01' }, now, 120)).to.equal(false);
  });
});

describe('Person facts validation', () => {
  it('reports every bad field at once', () => {
    const result = parsePersonFacts({ age: -3, borough: 'narnia', mentalHealth: 'some', longTermConditions: 2.5, referralRoute: 'owl', favouriteColour: 'blue' });
    expect(result.ok).to.equal(false);
    if (result.ok) return;
    const fields = result.errors.map((error) => error.field);
    expect(fields).to.include.members(['age', 'borough', 'mentalHealth', 'longTermConditions', 'referralRoute', 'favouriteColour']);
  });

  it('rejects age together with a date of birth, and impossible dates', () => {
    const both = parsePersonFacts({ age: 50, dateOfBirth: '1976-01-01' });
    expect(both.ok).to.equal(false);
    const badDate = parsePersonFacts({ dateOfBirth: '1976-13-45' });
    expect(badDate.ok).to.equal(false);
  });

  it('accepts an empty set of facts', () => {
    expect(parsePersonFacts({}).ok).to.equal(true);
  });
});
