import { z } from 'zod';
import { BOROUGHS, isoDate, parseEntries } from './schema';

/**
 * The activities directory: what link workers connect people to (lunch clubs, walking groups,
 * gardening, befriending), as distinct from the services that take referrals. Each activity has
 * a last-verified date and maintainers, so it can be kept current the way services are.
 */

export const ACTIVITY_CATEGORIES = [
  'physical-activity',
  'arts-and-creativity',
  'social-groups-and-befriending',
  'learning',
  'volunteering',
  'advice-and-practical-support',
  'gardening-and-nature',
  'faith-and-cultural-groups',
] as const;
export type ActivityCategory = (typeof ACTIVITY_CATEGORIES)[number];

export const ACTIVITY_CATEGORY_NAMES: Record<ActivityCategory, string> = {
  'physical-activity': 'physical activity',
  'arts-and-creativity': 'arts and creativity',
  'social-groups-and-befriending': 'social groups and befriending',
  learning: 'learning',
  volunteering: 'volunteering',
  'advice-and-practical-support': 'advice and practical support',
  'gardening-and-nature': 'gardening and nature',
  'faith-and-cultural-groups': 'faith and cultural groups',
};

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time as HH:MM (24-hour)');

/** A regular session: the days it runs, and from when to when. */
export const sessionSchema = z
  .object({
    days: z.array(z.enum(WEEKDAYS)).min(1),
    starts: clockTime,
    ends: clockTime,
    /** What the days and times cannot say: "first Tuesday of the month", "term time only". */
    note: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((session) => session.starts < session.ends, { path: ['ends'], message: 'must be after the start time' });

export const activitySchema = z
  .object({
    id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'lower-case words joined by hyphens'),
    name: z.string().min(1).max(120),
    organisation: z.string().min(1).max(120),
    description: z.string().min(1).max(1000),
    categories: z.array(z.enum(ACTIVITY_CATEGORIES)).min(1),
    sessions: z.array(sessionSchema).min(1),
    place: z
      .object({
        /** Venue name or "online"; no more than a community group would publish. */
        venue: z.string().min(1).max(200),
        /** The postcode district only (SE15), never a full postcode. */
        postcodeDistrict: z.string().regex(/^[A-Z]{1,2}\d[A-Z\d]?$/, 'a postcode district such as SE15'),
        borough: z.enum(BOROUGHS),
      })
      .strict(),
    cost: z.string().min(1).max(200),
    accessNotes: z.string().min(1).max(500),
    howToJoin: z.string().min(1).max(500),
    contact: z
      .object({
        phone: z.string().min(1).max(40).nullable(),
        email: z.string().email().nullable(),
        website: z.string().url().nullable(),
      })
      .strict(),
    /** Who is asked to confirm the entry is still right. */
    maintainers: z.array(z.object({ name: z.string().min(1).max(120), email: z.string().email() }).strict()).max(20),
    lastVerified: isoDate,
    /** Written for Signpost as an example, not a real group: shown as such wherever it appears. */
    illustrative: z.boolean(),
    /** Set by a maintainer when the activity no longer runs: kept (with its history) but no longer offered. Absent: running. */
    stopped: z.boolean().optional(),
  })
  .strict();
export type Activity = z.infer<typeof activitySchema>;

export const activitiesFileSchema = z
  .object({
    version: z.literal(1),
    /** What the file is (for the sample: that it is illustrative). */
    note: z.string().optional(),
    activities: z.array(activitySchema),
  })
  .strict();

/**
 * Validates an activities file's contents. Like the service directory, every problem names the
 * activity (by id where it has one) and the field, and duplicate ids are reported with the rest.
 */
export function parseActivities(input: unknown): Activity[] {
  return parseEntries(activitiesFileSchema, input, 'activities', 'activity', (problems) => new ActivitiesValidationError(problems)).activities;
}

export class ActivitiesValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`The activities are not valid:\n${problems.map((problem) => `- ${problem}`).join('\n')}`);
  }
}

/** Whether link workers are offered the activity: not once its maintainers say it has stopped. */
export function isRunning(activity: Pick<Activity, 'stopped'>): boolean {
  return !activity.stopped;
}

/** How an activity's categories read in a sentence: "gardening and nature, volunteering". */
export function categoryWords(activity: Pick<Activity, 'categories'>): string {
  return activity.categories.map((category) => ACTIVITY_CATEGORY_NAMES[category]).join(', ');
}

const DAY_SHORT: Record<Weekday, string> = { monday: 'Mon', tuesday: 'Tue', wednesday: 'Wed', thursday: 'Thu', friday: 'Fri', saturday: 'Sat', sunday: 'Sun' };

/** "Tue, Thu 10:00–12:00 (term time only)". */
export function sessionWords(activity: Pick<Activity, 'sessions'>): string {
  return activity.sessions
    .map((session) => `${session.days.map((day) => DAY_SHORT[day]).join(', ')} ${session.starts}–${session.ends}${session.note ? ` (${session.note})` : ''}`)
    .join('; ');
}
