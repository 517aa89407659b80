import { DirectoryService, EligibilityRule, NEED_RULES, DEFAULT_VERIFICATION_MAX_AGE_DAYS, notTakingReferrals, ServiceStatus } from '../directory/schema';
import { URGENT_ACTIONS, UrgentAction } from '../referral/safety';
import { BOROUGH_NAMES, HOSPITAL_NAMES, MENTAL_HEALTH_NAMES, ROUTE_NAMES } from '../directory/names';
import { ageOf, PersonFacts } from './facts';

/**
 * The eligibility matcher: for one person, which services fit and why.
 *
 * Every service gets an outcome with a plain-English reason for every criterion (what was
 * required, what the person has). Rules, in order:
 * - Crisis, or high mental health need with risk to self or others: `urgent`, no routing.
 *   Social prescribing is not a crisis service.
 * - A service that takes no referrals, is paused or closed, or whose criteria are not published,
 *   is never eligible nor a near miss: its reason says why ("Paused until 1 February 2027").
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
 * 3. name, so the order is stable.
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
  status: ServiceStatus;
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

/** A check's answer with its reason line ready for output ("Meets: ..."); one shape for all. */
class CheckedRule {
  readonly met: boolean;
  readonly ageShortBy: number;
  readonly line: string;
  constructor(check: RuleCheck) {
    this.met = check.met;
    this.ageShortBy = check.ageShortBy ?? Number.NaN;
    this.line = `${check.met ? 'Meets' : 'Does not meet'}: ${check.reason}`;
  }
}

/** The person, with the fact combinations each rule depends on, worked out once per match. */
interface PersonContext {
  facts: PersonFacts;
  age: number | undefined;
  key: {
    borough: string;
    boroughAndGp: string;
    needs: string;
    discharge: string;
    selfReferral: string;
    route: string;
  };
}

function personContext(facts: PersonFacts, age: number | undefined): PersonContext {
  const flag = (value: boolean | undefined) => (value === undefined ? 'u' : value ? 't' : 'f');
  return {
    facts,
    age,
    key: {
      borough: facts.borough ?? '',
      boroughAndGp: `${facts.borough ?? ''}|${facts.gpBorough ?? ''}`,
      needs: `${flag(facts.sociallyIsolated)}${flag(facts.malnutritionRisk)}${flag(facts.carer)}`,
      discharge: `${facts.dischargeFrom ?? ''}|${facts.borough ?? ''}`,
      selfReferral: `${facts.referralRoute ?? ''}|${flag(facts.mentalHealthDiagnosis)}`,
      route: facts.referralRoute ?? '',
    },
  };
}

/**
 * A rule's answer depends on one or two facts with few possible values (an age, a borough...),
 * so each prepared rule remembers its answer per value: matching a large directory then
 * allocates no new reason text. The caches are bounded by those small fact domains.
 */
function memoised(keyOf: (person: PersonContext) => string | number | undefined, check: (person: PersonContext) => RuleCheck) {
  const answers = new Map<string | number | undefined, CheckedRule>();
  return (person: PersonContext): CheckedRule => {
    const key = keyOf(person);
    let answer = answers.get(key);
    if (!answer) {
      answer = new CheckedRule(check(person));
      answers.set(key, answer);
    }
    return answer;
  };
}

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
  const ineligibleServices: PreparedService[] = [];

  const oldestVerified = options.now.getTime() - maxAgeDays * DAY_MS;
  const person = personContext(facts, age);
  for (const prepared of prepareAll(services)) {
    const outcome = outcomeOf(prepared, person, nearMissYears);
    if (outcome === 'ineligible') ineligibleServices.push(prepared);
    else (outcome === 'eligible' ? eligible : nearMiss).push(describe(prepared, outcome, person, oldestVerified));
  }

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
  const result = { urgent: false, urgentActions: [], eligible, nearMiss, fallback } as Omit<MatchResult, 'ineligible'>;
  // Most services are ineligible for any one person; their reasons are written out only when
  // someone reads them (the explanation, the CLI), not on every routing decision.
  let ineligible: ServiceMatch[] | undefined;
  Object.defineProperty(result, 'ineligible', {
    enumerable: true,
    get: () => (ineligible ??= ineligibleServices.map((prepared) => describe(prepared, 'ineligible', person, oldestVerified))),
  });
  return result as MatchResult;
}

/**
 * What can be worked out about a service once, not per person: its rules as checks with their
 * wording already built. Directory entries are immutable once loaded, so this is cached per
 * entry object; it keeps a match over a large directory to simple comparisons.
 */
class PreparedService {
  readonly id: string;
  readonly name: string;
  readonly waitingTimeWeeks: number | null;
  readonly status: ServiceStatus;
  readonly lastVerified: string;
  readonly verifiedAt: number;
  readonly specificity: number;
  readonly checks: Array<(person: PersonContext) => CheckedRule>;
  /** Set when the service cannot be eligible (no referrals, paused, closed, or criteria not published). */
  readonly neverEligible: string | null;

  // The fields a match reads are copied into one class shape: directory entries parsed from
  // JSON come in many shapes, and reading them in a hot loop is several times slower.
  constructor(service: DirectoryService) {
    this.id = service.id;
    this.name = service.name;
    this.waitingTimeWeeks = service.waitingTimeWeeks.value;
    this.status = service.status;
    this.lastVerified = service.lastVerified;
    this.verifiedAt = Date.parse(`${service.lastVerified}T00:00:00Z`);
    this.specificity = (service.eligibility ?? []).filter((rule) => NEED_RULES.has(rule.rule)).length;
    this.checks = (service.eligibility ?? []).map(prepareRule);
    const routeCheck = prepareRoute(service);
    if (routeCheck) this.checks.push(routeCheck);
    this.neverEligible = !service.takesReferrals
      ? `Takes no referrals. ${service.howPeopleReachIt ?? ''}`.trim()
      : notTakingReferrals(service) ??
        (service.eligibility === null
        ? 'Its referral criteria are not published, so Signpost cannot route to it; contact the service to ask.'
        : null);
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;
const preparedDirectories = new WeakMap<readonly DirectoryService[], PreparedService[]>();

/**
 * Prepared once per directory list (the repository hands out the same list until it changes),
 * in rank order: every ranking key is a fact about the service, not the person, so matching
 * in this order yields eligible services already ranked, with no sort per match.
 */
function prepareAll(services: readonly DirectoryService[]): PreparedService[] {
  let prepared = preparedDirectories.get(services);
  if (!prepared) {
    prepared = services.map((service) => new PreparedService(service)).sort(byRank);
    preparedDirectories.set(services, prepared);
  }
  return prepared;
}

function outcomeOf(prepared: PreparedService, person: PersonContext, nearMissYears: number): Outcome {
  if (prepared.neverEligible !== null) return 'ineligible';
  let unmet = 0;
  let ageShortBy = Number.NaN;
  for (const check of prepared.checks) {
    const result = check(person);
    if (!result.met) {
      unmet += 1;
      ageShortBy = result.ageShortBy;
    }
  }
  // NaN (not an age rule) never compares true, so only a single unmet age rule qualifies.
  return unmet === 0 ? 'eligible' : unmet === 1 && ageShortBy <= nearMissYears ? 'nearMiss' : 'ineligible';
}

function describe(prepared: PreparedService, outcome: Outcome, person: PersonContext, oldestVerified: number): ServiceMatch {
  let reasons: string[];
  if (prepared.neverEligible !== null) reasons = [prepared.neverEligible];
  else {
    // Checks are memoised, so asking again for the lines costs lookups, not new text.
    reasons = new Array<string>(prepared.checks.length);
    for (let index = 0; index < reasons.length; index += 1) reasons[index] = prepared.checks[index](person).line;
  }
  return {
    serviceId: prepared.id,
    name: prepared.name,
    outcome,
    reasons,
    waitingTimeWeeks: prepared.waitingTimeWeeks,
    status: prepared.status,
    unverified: prepared.verifiedAt < oldestVerified,
    lastVerified: prepared.lastVerified,
    specificity: prepared.specificity,
  };
}

function prepareRule(rule: EligibilityRule): (person: PersonContext) => CheckedRule {
  switch (rule.rule) {
    case 'minimumAge': {
      const lowest = rule.age - (rule.approachingYears ?? 0);
      const required = `requires age ${rule.wording}`;
      const requiredWithLowest = `${required}${rule.approachingYears ? ` (${lowest} or over)` : ''}`;
      const approaching = `${required} (${lowest} or over counts as approaching)`;
      return memoised((p) => p.age, ({ age }) => {
        if (age === undefined) return { met: false, reason: `${required}; age not known` };
        if (age >= rule.age) return { met: true, reason: `${required}; person is ${age}` };
        if (age >= lowest) return { met: true, reason: `${approaching}; person is ${age}` };
        return { met: false, reason: `${requiredWithLowest}; person is ${age}`, ageShortBy: lowest - age };
      });
    }
    case 'livesIn': {
      const required = `requires living in ${list(rule.boroughs.map((b) => BOROUGH_NAMES[b]))}`;
      return memoised((p) => p.key.borough, ({ facts }) => {
        if (!facts.borough) return { met: false, reason: `${required}; borough not known` };
        return { met: rule.boroughs.includes(facts.borough), reason: `${required}; person lives in ${BOROUGH_NAMES[facts.borough]}` };
      });
    }
    case 'livesInOrGpIn': {
      const where = list(rule.boroughs.map((b) => BOROUGH_NAMES[b]));
      const required = `requires living in ${where} or a GP in ${where}`;
      return memoised((p) => p.key.boroughAndGp, ({ facts }) => {
        const lives = facts.borough !== undefined && rule.boroughs.includes(facts.borough);
        const gp = facts.gpBorough !== undefined && rule.boroughs.includes(facts.gpBorough);
        const livesIn = facts.borough ? BOROUGH_NAMES[facts.borough] : 'a borough not known';
        const gpIn = facts.gpBorough ? BOROUGH_NAMES[facts.gpBorough] : 'a borough not known';
        return { met: lives || gp, reason: `${required}; person lives in ${livesIn} and has a GP in ${gpIn}` };
      });
    }
    case 'anyNeed': {
      const required = `requires being ${list(rule.needs.map((need) => NEED_NAMES[need]), 'or')}`;
      return memoised((p) => p.key.needs, ({ facts }) => {
        const present = rule.needs.filter((need) => facts[need] === true);
        if (present.length) return { met: true, reason: `${required}; person is ${list(present.map((n) => NEED_NAMES[n]))}` };
        const unknown = rule.needs.every((need) => facts[need] === undefined);
        return { met: false, reason: `${required}; ${unknown ? 'not known' : 'person is neither'}` };
      });
    }
    case 'minimumLongTermConditions': {
      const required = `requires ${rule.wording}`;
      return memoised((p) => p.facts.longTermConditions, ({ facts }) => {
        if (facts.longTermConditions === undefined) return { met: false, reason: `${required}; number of conditions not known` };
        return { met: facts.longTermConditions >= rule.count, reason: `${required}; person has ${facts.longTermConditions}` };
      });
    }
    case 'mentalHealthNeed': {
      const required = `requires ${rule.wording}`;
      return memoised((p) => p.facts.mentalHealth, ({ facts }) => {
        if (!facts.mentalHealth) return { met: false, reason: `${required}; mental health needs not known` };
        const has = MENTAL_HEALTH_NAMES[facts.mentalHealth];
        return { met: rule.levels.includes(facts.mentalHealth), reason: `${required}; person's needs are ${has}` };
      });
    }
    case 'dementiaDiagnosis': {
      const required = `requires ${rule.wording}`;
      return memoised((p) => String(p.facts.dementiaDiagnosis), ({ facts }) => {
        if (facts.dementiaDiagnosis === undefined) return { met: false, reason: `${required}; not known` };
        return { met: facts.dementiaDiagnosis, reason: `${required}; person ${facts.dementiaDiagnosis ? 'has one' : 'has none'}` };
      });
    }
    case 'dischargedFrom': {
      const required = `requires ${rule.wording}`;
      const byHospital = new Map(
        rule.hospitals.map((h) => [h.hospital, { boroughs: h.boroughs, where: list(h.boroughs.map((b) => BOROUGH_NAMES[b]), 'or') }]),
      );
      return memoised((p) => p.key.discharge, ({ facts }) => {
        if (!facts.dischargeFrom) return { met: false, reason: `${required}; person is not being discharged from either` };
        const name = HOSPITAL_NAMES[facts.dischargeFrom];
        const hospital = byHospital.get(facts.dischargeFrom);
        if (!hospital) return { met: false, reason: `${required}; person is being discharged from ${name}` };
        const needs = `requires living in ${hospital.where} for discharge from ${name}`;
        if (!facts.borough) return { met: false, reason: `${needs}; borough not known` };
        return { met: hospital.boroughs.includes(facts.borough), reason: `${needs}; person lives in ${BOROUGH_NAMES[facts.borough]}` };
      });
    }
    case 'selfReferralNeedsMentalHealthDiagnosis':
      return memoised((p) => p.key.selfReferral, ({ facts }) => {
        if (facts.referralRoute !== 'self') return { met: true, reason: `${rule.wording}; this is not a self-referral` };
        const diagnosis = facts.mentalHealthDiagnosis;
        return {
          met: diagnosis === true,
          reason: `${rule.wording}; person ${diagnosis === true ? 'has one' : diagnosis === false ? 'has none' : 'diagnosis not known'}`,
        };
      });
  }
}

function prepareRoute(service: DirectoryService): ((person: PersonContext) => CheckedRule) | undefined {
  const routes = service.referralRoutes.value;
  if (!routes) return undefined;
  const accepts = `accepts referrals from ${list(routes.map((route) => ROUTE_NAMES[route]), 'or')}`;
  return memoised((p) => p.key.route, ({ facts }) => {
    // No route given: nothing to hold against the person, and the reason says so.
    if (!facts.referralRoute) return { met: true, reason: `${accepts}; route not given` };
    return { met: routes.includes(facts.referralRoute), reason: `${accepts}; this one is from ${ROUTE_NAMES[facts.referralRoute]}` };
  });
}

function byRank(a: Pick<ServiceMatch, 'specificity' | 'waitingTimeWeeks' | 'name'>, b: Pick<ServiceMatch, 'specificity' | 'waitingTimeWeeks' | 'name'>): number {
  return (
    b.specificity - a.specificity ||
    (a.waitingTimeWeeks ?? Number.POSITIVE_INFINITY) - (b.waitingTimeWeeks ?? Number.POSITIVE_INFINITY) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}

function list(items: string[], conjunction = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}
