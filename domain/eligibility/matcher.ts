import { DirectoryService, EligibilityRule, isUnverified, NEED_RULES, DEFAULT_VERIFICATION_MAX_AGE_DAYS } from '../directory/schema';
import { URGENT_ACTIONS, UrgentAction } from '../referral/safety';
import { ageOf, PersonFacts } from './facts';

/**
 * The eligibility matcher: for one person, which services fit and why.
 *
 * Every service gets an outcome with a plain-English reason for every criterion (what was
 * required, what the person has). Rules, in order:
 * - Crisis, or high mental health need with risk to self or others: `urgent`, no routing.
 *   Social prescribing is not a crisis service.
 * - A service that takes no referrals, or whose criteria are not published, is never eligible.
 * - `eligible`: every criterion met, and the referral route (if given) is one the service takes.
 * - `nearMiss`: the only unmet criterion is an age limit, missed by no more than
 *   `nearMissYears` (default 5). The review found eligibility should not be rigid (people in
 *   their mid-50s fall between services), so these are shown for the referrer and the service
 *   to judge, and never preselected.
 * - Anything else is `ineligible`.
 *
 * Ranking of eligible (and near-miss) services, best first:
 * 1. the most specific: more "need" criteria (isolation or malnutrition, long-term conditions,
 *    mental health level, dementia, hospital discharge) means a service built for this need;
 * 2. the shortest published wait (an unpublished wait ranks after any published one);
 * 3. open before paused;
 * 4. name, so the order is stable.
 */

export interface MatcherOptions {
  now: Date;
  nearMissYears?: number;
  verificationMaxAgeDays?: number;
}

export type Outcome = 'eligible' | 'nearMiss' | 'ineligible';

export interface ServiceMatch {
  serviceId: string;
  name: string;
  outcome: Outcome;
  reasons: string[];
  waitingTimeWeeks: number | null;
  status: 'open' | 'paused';
  unverified: boolean;
  lastVerified: string;
  /** Number of need criteria the service has: the first ranking key. */
  specificity: number;
}

export interface Fallback {
  title: string;
  detail: string;
  reason: string;
}

export interface MatchResult {
  urgent: boolean;
  urgentActions: readonly UrgentAction[];
  eligible: ServiceMatch[];
  nearMiss: ServiceMatch[];
  ineligible: ServiceMatch[];
  fallback: Fallback | null;
}

interface RuleCheck {
  met: boolean;
  reason: string;
  /** Years short of an age limit, when this is an unmet age rule. */
  ageShortBy?: number;
}

const ROUTE_NAMES: Record<string, string> = {
  gp: 'GP practice / primary care',
  self: 'self-referral',
  hospital: 'hospital',
  'social-services': 'social services',
  iapt: 'Talking Therapies (IAPT)',
  'mental-health-services': 'mental health services',
  school: 'school',
  vcs: 'voluntary and community sector',
  pharmacy: 'pharmacy',
  'other-social-prescribing': 'another social prescribing service',
};
const BOROUGH_NAMES: Record<string, string> = {
  southwark: 'Southwark',
  lambeth: 'Lambeth',
  lewisham: 'Lewisham',
  croydon: 'Croydon',
  other: 'another borough',
};
const HOSPITAL_NAMES: Record<string, string> = {
  'kings-college-hospital': "King's College Hospital",
  'guys-and-st-thomas': "Guy's and St Thomas'",
};
const NEED_NAMES: Record<string, string> = {
  sociallyIsolated: 'socially isolated',
  malnutritionRisk: 'at risk of malnutrition',
  carer: 'a carer',
};

export function isUrgent(facts: PersonFacts): boolean {
  return facts.crisis === true || (facts.mentalHealth === 'high' && facts.riskToSelfOrOthers === true);
}

export function matchPerson(facts: PersonFacts, services: readonly DirectoryService[], options: MatcherOptions): MatchResult {
  if (isUrgent(facts)) {
    return { urgent: true, urgentActions: URGENT_ACTIONS, eligible: [], nearMiss: [], ineligible: [], fallback: null };
  }
  const nearMissYears = options.nearMissYears ?? 5;
  const maxAgeDays = options.verificationMaxAgeDays ?? DEFAULT_VERIFICATION_MAX_AGE_DAYS;
  const age = ageOf(facts, options.now);

  const eligible: ServiceMatch[] = [];
  const nearMiss: ServiceMatch[] = [];
  const ineligible: ServiceMatch[] = [];

  for (const service of services) {
    const match = matchService(service, facts, age, nearMissYears);
    const result: ServiceMatch = {
      serviceId: service.id,
      name: service.name,
      outcome: match.outcome,
      reasons: match.reasons,
      waitingTimeWeeks: service.waitingTimeWeeks.value,
      status: service.status,
      unverified: isUnverified(service, options.now, maxAgeDays),
      lastVerified: service.lastVerified,
      specificity: (service.eligibility ?? []).filter((rule) => NEED_RULES.has(rule.rule)).length,
    };
    (match.outcome === 'eligible' ? eligible : match.outcome === 'nearMiss' ? nearMiss : ineligible).push(result);
  }
  eligible.sort(byRank);
  nearMiss.sort(byRank);

  const fallback =
    eligible.length === 0
      ? {
          title: 'No service in the directory fits these answers',
          detail:
            "Talk to your Primary Care Network's social prescribing link worker, who can see anyone registered with the practice " +
            '(Primary Care Networks fund link workers from 2019/20). Check the answers too: a missing fact counts as not met.' +
            (nearMiss.length ? ' The near misses listed may still take the person: the service decides.' : ''),
          reason: `None of the ${services.filter((s) => s.takesReferrals).length} services that take referrals has every criterion met.`,
        }
      : null;
  return { urgent: false, urgentActions: [], eligible, nearMiss, ineligible, fallback };
}

function matchService(service: DirectoryService, facts: PersonFacts, age: number | undefined, nearMissYears: number): { outcome: Outcome; reasons: string[] } {
  if (!service.takesReferrals) {
    return { outcome: 'ineligible', reasons: [`Takes no referrals. ${service.howPeopleReachIt ?? ''}`.trim()] };
  }
  if (service.eligibility === null) {
    return {
      outcome: 'ineligible',
      reasons: ['Its referral criteria are not published, so Signpost cannot route to it; contact the service to ask.'],
    };
  }

  const checks = service.eligibility.map((rule) => checkRule(rule, facts, age));
  const routeCheck = checkRoute(service, facts);
  if (routeCheck) checks.push(routeCheck);

  const unmet = checks.filter((check) => !check.met);
  const reasons = checks.map((check) => `${check.met ? 'Meets' : 'Does not meet'}: ${check.reason}`);
  if (unmet.length === 0) return { outcome: 'eligible', reasons };
  if (unmet.length === 1 && unmet[0].ageShortBy !== undefined && unmet[0].ageShortBy <= nearMissYears) {
    return { outcome: 'nearMiss', reasons };
  }
  return { outcome: 'ineligible', reasons };
}

function checkRule(rule: EligibilityRule, facts: PersonFacts, age: number | undefined): RuleCheck {
  switch (rule.rule) {
    case 'minimumAge': {
      const lowest = rule.age - (rule.approachingYears ?? 0);
      if (age === undefined) return { met: false, reason: `requires age ${rule.wording}; age not known` };
      if (age >= rule.age) return { met: true, reason: `requires age ${rule.wording}; person is ${age}` };
      if (age >= lowest) {
        return { met: true, reason: `requires age ${rule.wording} (${lowest} or over counts as approaching); person is ${age}` };
      }
      return { met: false, reason: `requires age ${rule.wording}${rule.approachingYears ? ` (${lowest} or over)` : ''}; person is ${age}`, ageShortBy: lowest - age };
    }
    case 'livesIn': {
      const where = list(rule.boroughs.map((b) => BOROUGH_NAMES[b]));
      if (!facts.borough) return { met: false, reason: `requires living in ${where}; borough not known` };
      return { met: rule.boroughs.includes(facts.borough), reason: `requires living in ${where}; person lives in ${BOROUGH_NAMES[facts.borough]}` };
    }
    case 'livesInOrGpIn': {
      const where = list(rule.boroughs.map((b) => BOROUGH_NAMES[b]));
      const lives = facts.borough !== undefined && rule.boroughs.includes(facts.borough);
      const gp = facts.gpBorough !== undefined && rule.boroughs.includes(facts.gpBorough);
      const has = `person lives in ${facts.borough ? BOROUGH_NAMES[facts.borough] : 'a borough not known'} and has a GP in ${facts.gpBorough ? BOROUGH_NAMES[facts.gpBorough] : 'a borough not known'}`;
      return { met: lives || gp, reason: `requires living in ${where} or a GP in ${where}; ${has}` };
    }
    case 'anyNeed': {
      const wanted = list(rule.needs.map((need) => NEED_NAMES[need]), 'or');
      const present = rule.needs.filter((need) => facts[need] === true);
      if (present.length) return { met: true, reason: `requires being ${wanted}; person is ${list(present.map((n) => NEED_NAMES[n]))}` };
      const unknown = rule.needs.every((need) => facts[need] === undefined);
      return { met: false, reason: `requires being ${wanted}; ${unknown ? 'not known' : 'person is neither'}` };
    }
    case 'minimumLongTermConditions':
      if (facts.longTermConditions === undefined) return { met: false, reason: `requires ${rule.wording}; number of conditions not known` };
      return { met: facts.longTermConditions >= rule.count, reason: `requires ${rule.wording}; person has ${facts.longTermConditions}` };
    case 'mentalHealthNeed':
      if (!facts.mentalHealth) return { met: false, reason: `requires ${rule.wording}; mental health needs not known` };
      return {
        met: rule.levels.includes(facts.mentalHealth),
        reason: `requires ${rule.wording}; person's needs are ${facts.mentalHealth === 'none' ? 'none known' : facts.mentalHealth.replace('-', ' to ')}`,
      };
    case 'dementiaDiagnosis':
      if (facts.dementiaDiagnosis === undefined) return { met: false, reason: `requires ${rule.wording}; not known` };
      return { met: facts.dementiaDiagnosis, reason: `requires ${rule.wording}; person ${facts.dementiaDiagnosis ? 'has one' : 'has none'}` };
    case 'dischargedFrom': {
      if (!facts.dischargeFrom) return { met: false, reason: `requires ${rule.wording}; person is not being discharged from either` };
      const hospital = rule.hospitals.find((h) => h.hospital === facts.dischargeFrom);
      const name = HOSPITAL_NAMES[facts.dischargeFrom];
      if (!hospital) return { met: false, reason: `requires ${rule.wording}; person is being discharged from ${name}` };
      const where = list(hospital.boroughs.map((b) => BOROUGH_NAMES[b]), 'or');
      if (!facts.borough) return { met: false, reason: `requires living in ${where} for discharge from ${name}; borough not known` };
      return {
        met: hospital.boroughs.includes(facts.borough),
        reason: `requires living in ${where} for discharge from ${name}; person lives in ${BOROUGH_NAMES[facts.borough]}`,
      };
    }
    case 'selfReferralNeedsMentalHealthDiagnosis':
      if (facts.referralRoute !== 'self') return { met: true, reason: `${rule.wording}; this is not a self-referral` };
      return {
        met: facts.mentalHealthDiagnosis === true,
        reason: `${rule.wording}; person ${facts.mentalHealthDiagnosis === true ? 'has one' : facts.mentalHealthDiagnosis === false ? 'has none' : 'diagnosis not known'}`,
      };
  }
}

function checkRoute(service: DirectoryService, facts: PersonFacts): RuleCheck | undefined {
  const routes = service.referralRoutes.value;
  if (!facts.referralRoute || !routes) return undefined;
  return {
    met: routes.includes(facts.referralRoute),
    reason: `accepts referrals from ${list(routes.map((route) => ROUTE_NAMES[route]), 'or')}; this one is from ${ROUTE_NAMES[facts.referralRoute]}`,
  };
}

function byRank(a: ServiceMatch, b: ServiceMatch): number {
  return (
    b.specificity - a.specificity ||
    (a.waitingTimeWeeks ?? Number.POSITIVE_INFINITY) - (b.waitingTimeWeeks ?? Number.POSITIVE_INFINITY) ||
    (a.status === b.status ? 0 : a.status === 'open' ? -1 : 1) ||
    a.name.localeCompare(b.name)
  );
}

function list(items: string[], conjunction = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}
