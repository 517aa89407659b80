import { DirectoryService, isUnverified } from './schema';

/**
 * Finding a service in the directory from a few typed words: its name, a need ("dementia",
 * "isolated"), or who it is for ("over 60 discharge King's"). Staff type what they know about a
 * person, so a word counts when it names the service, appears in what it offers or who it is
 * for, or names a need one of its eligibility rules is about; "over 60" (and "aged 60", "60+")
 * keeps only services whose age rule takes a 60-year-old, and ranks them up.
 *
 * Ranking, best first: the most words matched; then the best matches (a need the service's rules
 * are about, then its name, then its description); then services that take referrals, open
 * before paused, the shortest published wait, and name, so the order is stable.
 *
 * The index is built once per directory list (the repository hands out the same list until it
 * changes), so a search over 10,000 services reads only the postings of the words typed.
 */

/** Longer than this is not a search but pasted text: it is refused with a message, not searched. */
export const MAX_QUERY_LENGTH = 200;
/** Words beyond this many add nothing a person could mean. */
const MAX_WORDS = 12;
/** Shorter words match whole words only: "a" must not match every word starting with a. */
const MIN_PREFIX_LENGTH = 3;

export type SearchQuery =
  | { kind: 'words'; words: string[]; age?: number }
  | { kind: 'empty' }
  | { kind: 'too-long' }
  /** Typed, but nothing to search for: only symbols, or only words like "the". */
  | { kind: 'no-words' };

export interface SearchHit {
  service: DirectoryService;
  /** How many of the typed words (and the age, when given) it matched. */
  matchedWords: number;
  score: number;
  /** Not checked within the verification window: shown as possibly out of date. */
  unverified: boolean;
}

export interface SearchOptions {
  now: Date;
  verificationMaxAgeDays?: number;
  /** At most this many hits, the best (a page of results needs no more). */
  limit?: number;
}

const STOP_WORDS = new Set([
  'a', 'an', 'and', 'or', 'the', 'of', 'for', 'to', 'in', 'on', 'at', 'by', 'with', 'from', 'is', 'are', 'be', 'who', 'what',
  'that', 'this', 'it', 'their', 'them', 'they', 'he', 'she', 'his', 'her', 'people', 'person', 'someone', 'patient',
  'service', 'services', 'need', 'needs', 'needing', 'help', 'support', 'year', 'years', 'old', 'aged', 'age', 'over', 'plus',
]);

/**
 * Words that name a need or a place one of the directory's rules is about, by concept. A
 * service whose rules are about the concept matches the word even when its text never says it.
 */
const CONCEPT_WORDS: Record<string, string[]> = {
  dementia: ['dementia', 'alzheimer', 'alzheimers', 'memory'],
  isolated: ['isolated', 'isolation', 'lonely', 'loneliness', 'alone', 'befriending'],
  malnutrition: ['malnutrition', 'malnourished', 'nutrition', 'appetite', 'weight', 'eating'],
  carer: ['carer', 'carers', 'caring'],
  discharge: ['discharge', 'discharged', 'hospital'],
  kings: ['kings', 'kch'],
  guys: ['guys', 'thomas', 'thomases', 'gstt'],
  mental: ['mental', 'anxiety', 'anxious', 'depression', 'depressed', 'iapt', 'wellbeing', 'mood'],
  conditions: ['conditions', 'condition', 'ltc', 'ltcs', 'chronic', 'multimorbidity'],
  southwark: ['southwark'],
  lambeth: ['lambeth'],
  lewisham: ['lewisham'],
  croydon: ['croydon'],
};
const CONCEPT_OF_WORD = new Map(Object.entries(CONCEPT_WORDS).flatMap(([concept, words]) => words.map((word) => [word, concept] as const)));

const WEIGHT = { concept: 6, nameWord: 4, namePrefix: 3, textWord: 2, textPrefix: 1, age: 3 } as const;

const ASCII = /^[\x00-\x7f]*$/;

/** Lower case, accents and apostrophes dropped ("King's" is "kings"), anything else not a letter or digit a space. */
function normalise(text: string): string {
  // Most directory text is plain ASCII: decomposing accents is only needed when it is not.
  return (ASCII.test(text) ? text : text.normalize('NFKD'))
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/['\u2019\u2018`]/g, '')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/** The words of a text as search sees them (see normalise); activity search reads text the same way. */
export function words(text: string): string[] {
  const normal = normalise(text);
  return normal ? normal.split(' ') : [];
}

/** "over 60", "aged 60", "age 60", "older than 60", "above 60", "60+", "60 plus", "60 or over", "60 and over". */
const AGE_PHRASE = /\b(?:over|aged|age|older than|above)\s+(\d{1,3})\b|\b(\d{1,3})\s*(?:\+|plus\b|or over\b|and over\b|or older\b)/i;

/** Reads what was typed into a query: the words to look for, and an age if one was given. */
export function parseSearchQuery(typed: unknown): SearchQuery {
  const text = typeof typed === 'string' ? typed : '';
  if (!text.trim()) return { kind: 'empty' };
  if (text.length > MAX_QUERY_LENGTH) return { kind: 'too-long' };
  const ageMatch = AGE_PHRASE.exec(text);
  const age = ageMatch ? Number(ageMatch[1] ?? ageMatch[2]) : undefined;
  const rest = ageMatch ? text.slice(0, ageMatch.index) + ' ' + text.slice(ageMatch.index + ageMatch[0].length) : text;
  const found = [...new Set(words(rest).filter((word) => !STOP_WORDS.has(word) && !/^\d+$/.test(word)))].slice(0, MAX_WORDS);
  const validAge = age !== undefined && age <= 120 ? age : undefined;
  if (found.length === 0 && validAge === undefined) return { kind: 'no-words' };
  return { kind: 'words', words: found, ...(validAge !== undefined ? { age: validAge } : {}) };
}

interface Postings {
  services: number[];
  weights: number[];
}

/** The directory as searchable postings: word (or concept) to the services it matches, with a weight. */
class SearchIndex {
  readonly postings = new Map<string, Postings>();
  /** Every indexed word, sorted, for prefix look-ups by binary search. */
  readonly vocabulary: string[];
  /** Youngest age each service's age rule takes; -1 when it has none. */
  readonly youngestAge: Int16Array;
  /** Each service's place when matches are otherwise equal (see byStanding), worked out once. */
  readonly standing: Int32Array;

  constructor(readonly services: readonly DirectoryService[]) {
    this.youngestAge = new Int16Array(services.length).fill(-1);
    this.standing = new Int32Array(services.length);
    services
      .map((service, index) => ({ service, index }))
      .sort((a, b) => byStanding(a.service, b.service))
      .forEach(({ index }, place) => (this.standing[index] = place));
    const weights = new Map<string, number>();
    services.forEach((service, index) => {
      weights.clear();
      const add = (key: string, weight: number) => weights.set(key, Math.max(weights.get(key) ?? 0, weight));
      for (const word of words(service.name)) add(word, WEIGHT.nameWord);
      const text = [service.organisation, service.description, service.whoFor, service.howPeopleReachIt ?? '', ...service.activities].join(' ');
      for (const word of words(text)) add(word, WEIGHT.textWord);
      for (const concept of conceptsOf(service)) add(`~${concept}`, WEIGHT.concept);
      for (const [key, weight] of weights) {
        let list = this.postings.get(key);
        if (!list) this.postings.set(key, (list = { services: [], weights: [] }));
        list.services.push(index);
        list.weights.push(weight);
      }
      const ageRule = service.eligibility?.find((rule) => rule.rule === 'minimumAge');
      if (ageRule?.rule === 'minimumAge') this.youngestAge[index] = ageRule.age - (ageRule.approachingYears ?? 0);
    });
    this.vocabulary = [...this.postings.keys()].filter((key) => !key.startsWith('~')).sort();
  }

  /** Indexed words that start with `prefix`, the word itself first when present. */
  wordsStartingWith(prefix: string): string[] {
    let low = 0;
    let high = this.vocabulary.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.vocabulary[middle] < prefix) low = middle + 1;
      else high = middle;
    }
    const found: string[] = [];
    for (let index = low; index < this.vocabulary.length && this.vocabulary[index].startsWith(prefix); index += 1) found.push(this.vocabulary[index]);
    return found;
  }
}

/** The needs and places a service's rules are about (what it is for, not only what it says). */
function conceptsOf(service: DirectoryService): string[] {
  const concepts: string[] = [];
  for (const rule of service.eligibility ?? []) {
    switch (rule.rule) {
      case 'dementiaDiagnosis':
        concepts.push('dementia');
        break;
      case 'anyNeed':
        for (const need of rule.needs) concepts.push(need === 'sociallyIsolated' ? 'isolated' : need === 'malnutritionRisk' ? 'malnutrition' : 'carer');
        break;
      case 'dischargedFrom':
        concepts.push('discharge');
        for (const hospital of rule.hospitals) concepts.push(hospital.hospital === 'kings-college-hospital' ? 'kings' : 'guys');
        break;
      case 'mentalHealthNeed':
      case 'selfReferralNeedsMentalHealthDiagnosis':
        concepts.push('mental');
        break;
      case 'minimumLongTermConditions':
        concepts.push('conditions');
        break;
      case 'livesIn':
      case 'livesInOrGpIn':
        concepts.push(...rule.boroughs);
        break;
      case 'minimumAge':
        break;
    }
  }
  for (const borough of service.areaCovered.value ?? []) concepts.push(borough);
  return concepts;
}

const indexes = new WeakMap<readonly DirectoryService[], SearchIndex>();

function indexOf(services: readonly DirectoryService[]): SearchIndex {
  let index = indexes.get(services);
  if (!index) {
    index = new SearchIndex(services);
    indexes.set(services, index);
  }
  return index;
}

/** The services that match a parsed query, best first (every match; the caller pages). */
export function searchDirectory(services: readonly DirectoryService[], query: Extract<SearchQuery, { kind: 'words' }>, options: SearchOptions): SearchHit[] {
  const index = indexOf(services);
  const count = services.length;
  const score = new Float64Array(count);
  const matched = new Uint8Array(count);
  const best = new Float64Array(count);
  const touched: number[] = [];

  for (const word of query.words) {
    touched.length = 0;
    const offer = (key: string, weight: (indexed: number) => number) => {
      const list = index.postings.get(key);
      if (!list) return;
      for (let i = 0; i < list.services.length; i += 1) {
        const service = list.services[i];
        const value = weight(list.weights[i]);
        if (best[service] === 0) touched.push(service);
        if (value > best[service]) best[service] = value;
      }
    };
    const concept = CONCEPT_OF_WORD.get(word) ?? CONCEPT_OF_WORD.get(word.replace(/s$/, ''));
    if (concept) offer(`~${concept}`, (weight) => weight);
    offer(word, (weight) => weight);
    if (word.length >= MIN_PREFIX_LENGTH) {
      for (const longer of index.wordsStartingWith(word)) {
        if (longer !== word) offer(longer, (weight) => (weight === WEIGHT.nameWord ? WEIGHT.namePrefix : WEIGHT.textPrefix));
      }
    }
    for (const service of touched) {
      score[service] += best[service];
      matched[service] += 1;
      best[service] = 0;
    }
  }

  const excluded = new Uint8Array(count);
  if (query.age !== undefined) {
    for (let service = 0; service < count; service += 1) {
      const youngest = index.youngestAge[service];
      if (youngest < 0) continue;
      if (query.age >= youngest) {
        score[service] += WEIGHT.age;
        matched[service] += 1;
      } else excluded[service] = 1;
    }
  }

  const found: number[] = [];
  for (let service = 0; service < count; service += 1) if (score[service] > 0 && !excluded[service]) found.push(service);
  found.sort((a, b) => matched[b] - matched[a] || score[b] - score[a] || index.standing[a] - index.standing[b]);
  return found.slice(0, options.limit ?? found.length).map((service) => ({
    service: services[service],
    matchedWords: matched[service],
    score: score[service],
    unverified: isUnverified(services[service], options.now, options.verificationMaxAgeDays),
  }));
}

/** Among equal matches: services that take referrals, open before paused, the shortest published wait, then name. */
function byStanding(a: DirectoryService, b: DirectoryService): number {
  const waitA = a.waitingTimeWeeks.value ?? Number.POSITIVE_INFINITY;
  const waitB = b.waitingTimeWeeks.value ?? Number.POSITIVE_INFINITY;
  return (
    Number(b.takesReferrals) - Number(a.takesReferrals) ||
    (a.status === b.status ? 0 : a.status === 'open' ? -1 : 1) ||
    (waitA === waitB ? 0 : waitA < waitB ? -1 : 1) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}
