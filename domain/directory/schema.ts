import { z } from 'zod';
import { SUPERVISOR_ROLES } from '../supervision/escalation';
import { enGbFormat } from '../format';

/**
 * The service directory: which social prescribing services exist, who each is for (in words and
 * as rules the matcher can check), how to refer, how long the wait is, and when someone last
 * checked. Where the source says "data not available", the entry holds null and a note saying
 * so: the directory never invents criteria, addresses or numbers.
 */

export const BOROUGHS = ['southwark', 'lambeth', 'lewisham', 'croydon', 'other'] as const;
export type Borough = (typeof BOROUGHS)[number];

export const REFERRAL_ROUTES = [
  'gp',
  'self',
  'hospital',
  'social-services',
  'iapt',
  'mental-health-services',
  'school',
  'vcs',
  'pharmacy',
  'other-social-prescribing',
] as const;
export type ReferralRoute = (typeof REFERRAL_ROUTES)[number];

export const MENTAL_HEALTH_LEVELS = ['none', 'mild-moderate', 'low-medium', 'high'] as const;
export type MentalHealthLevel = (typeof MENTAL_HEALTH_LEVELS)[number];

export const HOSPITALS = ['kings-college-hospital', 'guys-and-st-thomas'] as const;
export type Hospital = (typeof HOSPITALS)[number];

export const NEEDS = ['sociallyIsolated', 'malnutritionRisk', 'carer'] as const;
export type Need = (typeof NEEDS)[number];

const borough = z.enum(BOROUGHS);

/** open: takes referrals; paused: not until `reopensOn`; closed: not at all. Only open services are ever matched. */
export const SERVICE_STATUSES = ['open', 'paused', 'closed'] as const;
export type ServiceStatus = (typeof SERVICE_STATUSES)[number];

/** A calendar date as YYYY-MM-DD that exists (2027-02-30 does not). */
export const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD')
  .refine((text) => {
    const date = new Date(`${text}T00:00:00Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
  }, 'not a real date');

/** "1 February 2027", for a YYYY-MM-DD date. */
export function longDate(isoDay: string): string {
  return enGbFormat({ day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${isoDay}T00:00:00Z`));
}

/** Why a service takes no referrals just now, or null when it is open. */
export function notTakingReferrals(service: Pick<DirectoryService, 'status' | 'reopensOn'>): string | null {
  if (service.status === 'closed') return 'Closed: not taking referrals.';
  if (service.status === 'paused') return `Paused until ${service.reopensOn ? longDate(service.reopensOn) : 'further notice'}: not taking new referrals.`;
  return null;
}

/**
 * Reminder clocks (working days and hours, see domain/supervision). Defaults come from the
 * review: referrals acknowledged within 2 working days, a fortnightly caseload review.
 */
export const supervisionSettingsSchema = z
  .object({
    acceptReminderWorkingDays: z.number().min(0.5).max(60),
    acceptEscalationWorkingDays: z.number().min(0.5).max(60),
    firstContactWorkingDays: z.number().min(0.5).max(60),
    escalationAcknowledgeWorkingHours: z.number().min(0.5).max(80),
    digestEveryDays: z.number().int().min(1).max(90),
  })
  .partial()
  .strict();

/** One machine-checkable criterion. `need` rules describe what the service is for; the others gate access. */
export const eligibilityRuleSchema = z.discriminatedUnion('rule', [
  z.object({
    rule: z.literal('minimumAge'),
    /** Whole years; "over 50" in the review is age 50 or more (anyone past their 50th birthday). */
    age: z.number().int().min(0).max(120),
    /** People this many years short of `age` also qualify ("approaching 60"). */
    approachingYears: z.number().int().min(0).max(20).optional(),
    wording: z.string().min(1),
  }),
  z.object({ rule: z.literal('livesIn'), boroughs: z.array(borough).min(1), wording: z.string().min(1) }),
  z.object({ rule: z.literal('livesInOrGpIn'), boroughs: z.array(borough).min(1), wording: z.string().min(1) }),
  z.object({ rule: z.literal('anyNeed'), needs: z.array(z.enum(NEEDS)).min(1), wording: z.string().min(1) }),
  z.object({ rule: z.literal('minimumLongTermConditions'), count: z.number().int().min(1), wording: z.string().min(1) }),
  z.object({ rule: z.literal('mentalHealthNeed'), levels: z.array(z.enum(MENTAL_HEALTH_LEVELS)).min(1), wording: z.string().min(1) }),
  z.object({ rule: z.literal('dementiaDiagnosis'), wording: z.string().min(1) }),
  z.object({
    rule: z.literal('dischargedFrom'),
    hospitals: z.array(z.object({ hospital: z.enum(HOSPITALS), boroughs: z.array(borough).min(1) })).min(1),
    wording: z.string().min(1),
  }),
  z.object({ rule: z.literal('selfReferralNeedsMentalHealthDiagnosis'), wording: z.string().min(1) }),
]);
export type EligibilityRule = z.infer<typeof eligibilityRuleSchema>;

/** Rules that say what the service is for, used to rank the most specific match first. */
export const NEED_RULES: ReadonlySet<EligibilityRule['rule']> = new Set([
  'anyNeed',
  'minimumLongTermConditions',
  'mentalHealthNeed',
  'dementiaDiagnosis',
  'dischargedFrom',
]);

const notAvailable = z.object({ value: z.null(), note: z.string().min(1) });
const nullableWithNote = <T extends z.ZodTypeAny>(schema: T) =>
  z.union([z.object({ value: schema, note: z.string().optional() }), notAvailable]);

export const serviceSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'lower-case words joined by hyphens'),
    name: z.string().min(1),
    organisation: z.string().min(1),
    description: z.string().min(1),
    whoFor: z.string().min(1),
    takesReferrals: z.boolean(),
    /** For services that take no referrals: how people reach them. */
    howPeopleReachIt: z.string().min(1).nullable(),
    /** null: the criteria are not published, so the matcher never routes to it. */
    eligibility: z.array(eligibilityRuleSchema).nullable(),
    referralRoutes: nullableWithNote(z.array(z.enum(REFERRAL_ROUTES)).min(1)),
    linkWorkersBased: nullableWithNote(z.string().min(1)),
    areaCovered: nullableWithNote(z.array(borough).min(1)),
    activities: z.array(z.string().min(1)),
    engagementWeeks: nullableWithNote(z.number().positive()),
    waitingTimeWeeks: nullableWithNote(z.number().min(0)),
    status: z.enum(SERVICE_STATUSES),
    /** When a paused service takes referrals again; required while paused, nowhere else. */
    reopensOn: isoDate.optional(),
    /** How to refer or get in touch, in the service's own words (kept current by its maintainers). */
    contactRoute: z.string().trim().min(1).max(500).optional(),
    openingHours: z.string().trim().min(1).max(300).optional(),
    /** A note from the service's maintainers, shown with the entry. */
    note: z.string().trim().min(1).max(1000).optional(),
    /** Who is asked to confirm the entry before it goes stale (see bot/directory). */
    maintainers: z.array(z.string().trim().toLowerCase().email().max(254)).max(20).optional(),
    contact: z.object({
      address: z.string().min(1).nullable(),
      phone: z.string().min(1).nullable(),
      email: z.string().email().nullable(),
      website: z.string().url().nullable(),
      note: z.string().optional(),
    }),
    funding: nullableWithNote(z.string().min(1)),
    /** Who supervises the service's link workers: alerts and escalations go to them. */
    supervisors: z
      .array(z.object({ name: z.string().min(1), email: z.string().email(), role: z.enum(SUPERVISOR_ROLES) }).strict())
      .optional(),
    /** Inboxes that take the service's referrals (besides, or instead of, a Teams channel). */
    intakeEmails: z.array(z.string().trim().toLowerCase().email().max(254)).max(20).optional(),
    /** The service's own reminder clocks, where they differ from Signpost's defaults. */
    supervision: supervisionSettingsSchema.optional(),
    lastVerified: isoDate,
    sources: z.array(z.string().min(1)).min(1),
  })
  .strict()
  .superRefine((service, ctx) => {
    if (service.takesReferrals && service.howPeopleReachIt !== null) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['howPeopleReachIt'], message: 'only for services that take no referrals' });
    }
    if (!service.takesReferrals && !service.howPeopleReachIt) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['howPeopleReachIt'], message: 'say how people reach a service that takes no referrals' });
    }
    if (service.status === 'paused' && !service.reopensOn) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['reopensOn'], message: 'say when a paused service reopens, as YYYY-MM-DD' });
    }
    if (service.status !== 'paused' && service.reopensOn) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['reopensOn'], message: `only for a paused service (this one is ${service.status})` });
    }
  });
export type DirectoryService = z.infer<typeof serviceSchema>;

export const directorySchema = z.object({
  version: z.literal(1),
  services: z.array(serviceSchema).min(1),
});

export class DirectoryValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`The directory is not valid:\n${problems.map((problem) => `- ${problem}`).join('\n')}`);
  }
}

/**
 * Validates a directory file's contents. Every problem names the service (by id where it has
 * one) and the field, so a maintainer can fix them all in one pass.
 */
export function parseDirectory(input: unknown): DirectoryService[] {
  return parseEntries(directorySchema, input, 'services', 'service', (problems) => new DirectoryValidationError(problems)).services;
}

/**
 * Parses a directory-like file (a list of entries with ids under `listKey`) so that every
 * problem names the entry (by id where it has one, else its place) and the field, and duplicate
 * ids are reported with the rest: a maintainer fixes them all in one pass. Shared by the
 * services and the activities directories.
 */
export function parseEntries<Schema extends z.ZodTypeAny>(
  schema: Schema,
  input: unknown,
  listKey: string,
  noun: string,
  failure: (problems: string[]) => Error,
): z.infer<Schema> {
  const result = schema.safeParse(input);
  const list = (input as Record<string, unknown> | null)?.[listKey];
  const entries: unknown[] = Array.isArray(list) ? list : [];
  const idOf = (index: number) => (entries[index] as { id?: unknown } | undefined)?.id;
  const problems: string[] = [];
  for (const issue of result.success ? [] : result.error.issues) {
    const [first, index, ...rest] = issue.path;
    if (first === listKey && typeof index === 'number') {
      const id = idOf(index);
      const who = typeof id === 'string' ? `${noun} "${id}"` : `${noun} #${index + 1}`;
      problems.push(`${who}: ${rest.join('.') || '(entry)'}: ${issue.message}`);
    } else {
      problems.push(`${issue.path.join('.') || '(file)'}: ${issue.message}`);
    }
  }
  // Checked on the raw entries too, so a duplicate shows up alongside every other problem.
  const seen = new Set<unknown>();
  entries.forEach((_, index) => {
    const id = idOf(index);
    if (typeof id !== 'string') return;
    if (seen.has(id)) problems.push(`${noun} "${id}": id: appears more than once`);
    seen.add(id);
  });
  if (problems.length || !result.success) throw failure(problems);
  return result.data;
}

/** Details not checked for this long are shown as possibly out of date. */
export const DEFAULT_VERIFICATION_MAX_AGE_DAYS = 90;

export function isUnverified(service: Pick<DirectoryService, 'lastVerified'>, now: Date, maxAgeDays = DEFAULT_VERIFICATION_MAX_AGE_DAYS): boolean {
  const verified = Date.parse(`${service.lastVerified}T00:00:00Z`);
  return now.getTime() - verified > maxAgeDays * 24 * 60 * 60 * 1000;
}
