import { z } from 'zod';
import { goalsSchema, wellbeingSchema } from './outcomes';
import { isValidNhsNumber, nhsNumberProblem, normaliseNhsNumber } from './nhsNumber';
import { isValidPostcode, normalisePostcode } from './postcode';
import { escalationSchema } from '../supervision/escalation';
import { plainText } from '../text';
import { deidentificationSchema } from './retention';

/**
 * The referral record: what is stored when a referrer confirms. Every part is validated again
 * when it is built and when it is read back, so a record can never hold what the cards would
 * not accept.
 */

export const REFERRAL_STATUSES = [
  'submitted',
  'accepted',
  'declined',
  'redirected',
  'contacted',
  'first-meeting-held',
  'support-plan-agreed',
  'waiting-for-activity',
  'connected-to-activity',
  'closed',
] as const;
export type ReferralStatus = (typeof REFERRAL_STATUSES)[number];

const isoDateTime = z.string().datetime({ offset: true });
/** Identifiers and codes Signpost or Teams chose. */
const text = (max: number) => z.string().trim().min(1).max(max);
/** What a person typed (names, notes): cleaned of control characters as well as trimmed. */
const freeText = (max: number) => plainText({ max });

/** A calendar date written YYYY-MM-DD that exists (no 30 February). */
export function isIsoDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

const isoDate = z.string().refine(isIsoDate, 'Expected a real date as YYYY-MM-DD');

export const personSchema = z
  .object({
    givenName: freeText(60),
    familyName: freeText(60),
    dateOfBirth: isoDate,
    /** Stored as ten digits; must pass the Modulus 11 check and not be one digit ten times. */
    nhsNumber: z
      .string()
      .superRefine((value, ctx) => {
        const problem = normaliseNhsNumber(value) === value ? nhsNumberProblem(value) : 'Expected a valid NHS number as ten digits';
        if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
      })
      .optional(),
    /** Stored normalised (upper case, one space), e.g. "SE5 8AU". */
    postcode: z.string().refine((value) => normalisePostcode(value) === value, 'Expected a UK postcode in the form SE5 8AU'),
    borough: text(40),
    phone: freeText(20),
    preferredContactMethod: z.enum(['phone', 'text', 'email', 'letter']),
    email: z.string().email().optional(),
    preferredContactTimes: freeText(100).optional(),
    language: freeText(40),
    interpreterNeeded: z.boolean(),
    carerInvolved: z.boolean(),
    carerDetails: freeText(200).optional(),
  })
  // Between fields: an email address is needed when that is how the person wants contact.
  .superRefine((person, ctx) => {
    if (person.preferredContactMethod === 'email' && !person.email) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['email'], message: 'Required when the person prefers email' });
    }
  });
export type ReferralPerson = z.infer<typeof personSchema>;

export const consentSchema = z.object({
  consentToReferral: z.literal(true),
  consentToShare: z.literal(true),
  method: z.enum(['verbal', 'written']),
  recordedAt: isoDateTime,
  recordedBy: z.object({ id: text(200), name: freeText(100) }),
});
export type ConsentRecord = z.infer<typeof consentSchema>;

export const referrerSchema = z.object({
  teamsUserId: text(200),
  aadObjectId: z.string().max(100).optional(),
  name: freeText(100),
  email: z.string().email(),
  practice: freeText(120),
  role: freeText(80).optional(),
});
export type Referrer = z.infer<typeof referrerSchema>;

/** A conversation reference as plain JSON (no SDK types), enough to message the referrer later. */
export const conversationReferenceSchema = z
  .object({
    serviceUrl: z.string().url(),
    channelId: text(50),
    conversation: z.object({ id: text(500) }).passthrough(),
    user: z.object({ id: text(200) }).passthrough().optional(),
    bot: z.object({ id: text(200) }).passthrough().optional(),
  })
  .passthrough();
export type StoredConversationReference = z.infer<typeof conversationReferenceSchema>;

export const matchRecordSchema = z.object({
  eligibleServiceIds: z.array(z.string()),
  nearMissServiceIds: z.array(z.string()),
  chosenServiceId: z.string(),
  chosenWasNearMiss: z.boolean(),
  /** The reasons for the chosen service, in plain English, as the referrer saw them. */
  reasons: z.array(z.string()),
});

export const referralSchema = z.object({
  id: z.string().uuid(),
  reference: z.string().regex(/^SP-\d{4}-\d{6}$/),
  status: z.enum(REFERRAL_STATUSES),
  serviceId: text(80),
  /** The facts the matcher used (no direct identifiers: age, borough, needs). */
  facts: z.record(z.unknown()),
  whatMatters: freeText(1000),
  match: matchRecordSchema,
  /** The person's identifiers and contact details; absent once removed (see `deidentified`). */
  person: personSchema.optional(),
  consent: consentSchema,
  referrer: referrerSchema,
  referrerConversation: conversationReferenceSchema,
  /** The link worker answerable for the case, once accepted or assigned. */
  owner: z.object({ id: text(200), name: freeText(100), email: z.string().email().optional() }).optional(),
  /** When the referral reached its current service (its submission, or the last redirect). */
  routedAt: isoDateTime.optional(),
  /** When a link worker first took the case on: the engagement and first-contact clocks start here. */
  acceptedAt: isoDateTime.optional(),
  /** Cases raised with the service's supervisors, oldest first. */
  escalations: z.array(escalationSchema).max(20).optional(),
  /** Bumped by every lifecycle change: a card showing an older version is stale. */
  version: z.number().int().min(1).default(1),
  /** The last decline or close, with the link worker's note for the referrer. */
  outcome: z
    .object({ kind: z.enum(['declined', 'closed']), reason: text(60), note: freeText(500).optional(), at: isoDateTime })
    .optional(),
  /** Baseline and closing wellbeing scores, and the person's goals (up to three). */
  wellbeing: wellbeingSchema.optional(),
  goals: goalsSchema.optional(),
  /** The card in the service's Teams channel, once posted there. */
  channelPost: z.object({ conversationId: text(500), activityId: text(200), postedAt: isoDateTime }).optional(),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
  /** When and under which rule the person's identifiers were removed (retention.ts). */
  deidentified: deidentificationSchema.optional(),
});
export type Referral = z.infer<typeof referralSchema>;

/** A referral as it is stored: with the person's details, or without them and marked as de-identified. */
function personOrDeidentified(referral: { person?: unknown; deidentified?: unknown }, ctx: z.RefinementCtx): void {
  if (!referral.person && !referral.deidentified) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['person'], message: 'Required' });
  }
  if (referral.person && referral.deidentified) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['person'], message: 'A de-identified referral holds no person details' });
  }
}

const storedReferralSchema = referralSchema.superRefine(personOrDeidentified);

/** When the referral reached its current service; older records have only their creation time. */
export function routedAt(referral: Pick<Referral, 'routedAt' | 'createdAt'>): string {
  return referral.routedAt ?? referral.createdAt;
}

export const AUDIT_ACTIONS = [
  'referral.submitted',
  'referral.stopped-for-safety',
  'referral.consent-not-given',
  'referral.posted-to-channel',
  'referral.accept',
  'referral.assign',
  'referral.decline',
  'referral.redirect',
  'referral.update',
  'referral.close',
  'referral.record',
  'referral.contact-details-shown',
  'referral.question',
  'referral.question-read',
  'referral.escalate',
  'escalation.acknowledge',
  'escalation.take-over',
  'escalation.advice',
  'escalation.re-alerted',
  'reminder.sent',
  'digest.sent',
  'supervisor.added',
  'supervisor.removed',
  'channel.linked',
  'channel.unlinked',
  'referral.deidentified',
  'person.exported',
  'person.erased',
  'directory.verification-requested',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Keys an audit event's detail may not use: they name the person's own details. */
export const PERSON_DETAIL_KEYS: readonly string[] = [
  'person',
  'givenName',
  'familyName',
  'dateOfBirth',
  'nhsNumber',
  'postcode',
  'phone',
  'email',
  'address',
  'carerDetails',
  'preferredContactTimes',
  'whatMatters',
];

/**
 * Who did what, when. `detail` never carries the person's names, NHS number, date of birth or
 * contact details: keys that would hold them are refused, and so is any value that is, as a
 * whole, a valid NHS number or a full postcode (a district such as "SE5" is allowed).
 */
const auditDetailSchema = z
  .record(z.union([z.string().max(200), z.number(), z.boolean(), z.null()]))
  .superRefine((detail, ctx) => {
    for (const [key, value] of Object.entries(detail)) {
      if (PERSON_DETAIL_KEYS.includes(key)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message: 'Audit detail may not hold person details' });
      } else if (typeof value === 'string' && (isValidNhsNumber(value) || isValidPostcode(value))) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message: 'Audit detail may not hold an NHS number or postcode' });
      }
    }
  });

export const auditEventSchema = z.object({
  referralId: z.string().nullable(),
  at: isoDateTime,
  actor: z.object({ id: text(200), name: freeText(100).optional() }),
  action: z.enum(AUDIT_ACTIONS),
  detail: auditDetailSchema.default({}),
});
export type AuditEvent = z.infer<typeof auditEventSchema>;

/** Initials stand in for the person wherever a name would be too much (emails, channel cards). */
export function initials(person: Pick<ReferralPerson, 'givenName' | 'familyName'>): string {
  const first = (name: string) => (name.trim()[0] ?? '').toUpperCase();
  return `${first(person.givenName)}.${first(person.familyName)}.`;
}

/**
 * Age in whole years on `now` (UTC), for a date of birth written YYYY-MM-DD. Someone born on
 * 29 February is a year older on 1 March in years without one.
 */
export function ageOn(dateOfBirth: string, now: Date): number {
  if (!isIsoDate(dateOfBirth)) throw new RangeError('Expected a date of birth as YYYY-MM-DD');
  const [year, month, day] = dateOfBirth.split('-').map(Number);
  const nowMonth = now.getUTCMonth() + 1;
  const hadBirthday = nowMonth > month || (nowMonth === month && now.getUTCDate() >= day);
  return now.getUTCFullYear() - year - (hadBirthday ? 0 : 1);
}

export interface FieldIssue {
  /** Dotted path, e.g. "person.nhsNumber". */
  field: string;
  message: string;
}

export type ReferralParseResult = { ok: true; referral: Referral } | { ok: false; errors: FieldIssue[] };

/** Validates an untrusted referral record, reporting every bad field at once (never their values). */
export function parseReferral(input: unknown): ReferralParseResult {
  const result = storedReferralSchema.safeParse(input);
  if (result.success) return { ok: true, referral: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((issue) => ({ field: issue.path.join('.') || '(record)', message: issue.message })),
  };
}
