import type { Borough } from './schema';
import { Activity, ACTIVITY_CATEGORIES, ACTIVITY_CATEGORY_NAMES, ActivityCategory, isRunning } from './activities';
import { SearchQuery, words } from './search';

/**
 * Finding an activity from a few typed words, the way the compose box finds a service (see
 * search.ts): a word counts when it names the activity, its category (or a word for it:
 * "exercise" is physical activity), its organisation, what it offers, or where it is (a postcode
 * district or borough); words of three letters or more also match as the start of a word.
 *
 * Ranking, best first: the most words matched; then the best matches (name, category, then other
 * text); then activities near the person (their postcode district, then the service's boroughs);
 * then name, so the order is stable.
 */

const MIN_PREFIX_LENGTH = 3;
const WEIGHT = { nameWord: 4, category: 3, place: 3, namePrefix: 3, textWord: 2, textPrefix: 1 } as const;

/** Words people use for each category, beyond the category's own name. */
const CATEGORY_WORDS: Record<ActivityCategory, string[]> = {
  'physical-activity': ['exercise', 'fitness', 'walking', 'walk', 'sport', 'movement', 'active', 'dance', 'yoga', 'swimming'],
  'arts-and-creativity': ['art', 'arts', 'creative', 'craft', 'crafts', 'music', 'singing', 'choir', 'painting', 'drawing'],
  'social-groups-and-befriending': ['social', 'befriending', 'friendship', 'lonely', 'loneliness', 'isolated', 'isolation', 'company', 'lunch', 'club'],
  learning: ['learning', 'learn', 'course', 'class', 'classes', 'skills', 'english', 'esol', 'digital', 'computer'],
  volunteering: ['volunteering', 'volunteer', 'volunteers'],
  'advice-and-practical-support': ['advice', 'practical', 'benefits', 'debt', 'money', 'housing', 'forms'],
  'gardening-and-nature': ['gardening', 'garden', 'nature', 'growing', 'outdoors', 'allotment', 'green'],
  'faith-and-cultural-groups': ['faith', 'cultural', 'culture', 'church', 'mosque', 'temple', 'community', 'heritage'],
};

export interface ActivityHit {
  activity: Activity;
  matchedWords: number;
  score: number;
}

/** Where the person is, for ranking and for the list shown before anything is typed. */
export interface Nearness {
  postcodeDistrict?: string;
  boroughs?: readonly Borough[];
}

/** Per activity (in list order): each word, or `~category`, and its best weight. Built once per list. */
const indexes = new WeakMap<readonly Activity[], Array<Map<string, number>>>();

function indexOf(activities: readonly Activity[]): Array<Map<string, number>> {
  const cached = indexes.get(activities);
  if (cached) return cached;
  const weights = activities.map((activity) => {
    const weight = new Map<string, number>();
    const add = (key: string, value: number) => weight.set(key, Math.max(weight.get(key) ?? 0, value));
    for (const word of words(activity.name)) add(word, WEIGHT.nameWord);
    for (const word of words([activity.organisation, activity.description, activity.place.venue].join(' '))) add(word, WEIGHT.textWord);
    for (const category of activity.categories) {
      add(`~${category}`, WEIGHT.category);
      for (const word of words(ACTIVITY_CATEGORY_NAMES[category])) add(word, WEIGHT.textWord);
    }
    for (const word of words(`${activity.place.postcodeDistrict} ${activity.place.borough}`)) add(word, WEIGHT.place);
    return weight;
  });
  indexes.set(activities, weights);
  return weights;
}

const CATEGORY_OF_WORD = new Map<string, ActivityCategory>(
  ACTIVITY_CATEGORIES.flatMap((category) => [...CATEGORY_WORDS[category], ...words(ACTIVITY_CATEGORY_NAMES[category])].map((word) => [word, category] as const)),
);

/** How near an activity is: 2 in the person's postcode district, 1 in the service's boroughs, else 0. */
function nearness(activity: Activity, near: Nearness | undefined): number {
  if (near?.postcodeDistrict && activity.place.postcodeDistrict === near.postcodeDistrict.toUpperCase()) return 2;
  if (near?.boroughs?.includes(activity.place.borough)) return 1;
  return 0;
}

const byNameThenId = (a: Activity, b: Activity) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The activities that match a parsed query, best first; never one that has stopped running. The query's age, if any, is not about activities and is ignored. */
export function searchActivities(
  activities: readonly Activity[],
  query: Extract<SearchQuery, { kind: 'words' }>,
  options: { near?: Nearness; limit?: number } = {},
): ActivityHit[] {
  const index = indexOf(activities);
  const hits: ActivityHit[] = [];
  activities.forEach((activity, position) => {
    const weight = index[position];
    let score = 0;
    let matchedWords = 0;
    for (const word of query.words) {
      const category = CATEGORY_OF_WORD.get(word) ?? CATEGORY_OF_WORD.get(word.replace(/s$/, ''));
      let best = Math.max(weight.get(word) ?? 0, category ? (weight.get(`~${category}`) ?? 0) : 0);
      if (best < WEIGHT.nameWord && word.length >= MIN_PREFIX_LENGTH) {
        for (const [key, value] of weight) {
          if (key !== word && !key.startsWith('~') && key.startsWith(word)) best = Math.max(best, value === WEIGHT.nameWord ? WEIGHT.namePrefix : WEIGHT.textPrefix);
        }
      }
      if (best > 0) {
        score += best;
        matchedWords += 1;
      }
    }
    if (matchedWords > 0 && isRunning(activity)) hits.push({ activity, matchedWords, score });
  });
  hits.sort(
    (a, b) =>
      b.matchedWords - a.matchedWords ||
      b.score - a.score ||
      nearness(b.activity, options.near) - nearness(a.activity, options.near) ||
      byNameThenId(a.activity, b.activity),
  );
  return hits.slice(0, options.limit ?? hits.length);
}

/** What to offer before anything is typed: the running activities near the person, nearest first, then by name. */
export function activitiesNear(activities: readonly Activity[], near: Nearness, limit: number): Activity[] {
  return activities
    .filter((activity) => isRunning(activity) && nearness(activity, near) > 0)
    .sort((a, b) => nearness(b, near) - nearness(a, near) || byNameThenId(a, b))
    .slice(0, limit);
}

/** Every running activity by name: what is offered when there is nothing to rank by. */
export function runningActivitiesByName(activities: readonly Activity[]): Activity[] {
  return activities.filter(isRunning).sort((a, b) => a.name.localeCompare(b.name));
}
