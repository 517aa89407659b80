import { z } from 'zod';
import { DirectoryService, longDate, SERVICE_STATUSES } from './schema';
import type { Notice, Timer } from '../supervision/policy';
import type { StaffMessage } from '../supervision/messages';
import type { WorkingCalendar } from '../supervision/workingCalendar';

/**
 * Keeping the directory current: each service's maintainers are asked to confirm its entry
 * before it goes stale (by default 60 days after it was last checked, in working hours). An
 * unanswered request is repeated after 5 working days, then goes to Signpost's admins. When a
 * service with no maintainers falls due, Signpost's admins are told (nobody else can be asked),
 * and told again every 5 working days until it has one, who is then asked. Like
 * the supervision clocks, a request timer is a question asked when it comes due: if the entry
 * was checked meanwhile (its lastVerified moved on), it sends nothing.
 */

export const DEFAULT_VERIFY_AFTER_DAYS = 60;
export const VERIFICATION_REPEAT_WORKING_DAYS = 5;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The first request for an entry as last checked on `service.lastVerified`: due `afterDays` later, or now when that has passed, in working time. */
export function verificationTimer(
  service: Pick<DirectoryService, 'id' | 'lastVerified'>,
  calendar: WorkingCalendar,
  now: Date,
  afterDays = DEFAULT_VERIFY_AFTER_DAYS,
): Timer {
  const due = Math.max(Date.parse(`${service.lastVerified}T00:00:00Z`) + afterDays * DAY_MS, now.getTime());
  return requestTimer(service.id, service.lastVerified, 1, calendar.nextWorkingTime(new Date(due)));
}

function requestTimer(serviceId: string, lastVerified: string, attempt: 1 | 2 | 3, due: Date): Timer {
  return {
    id: `directory-verification:${serviceId}:${lastVerified}:${attempt}`,
    kind: 'directory-verification',
    dueAt: due.toISOString(),
    serviceId,
    anchor: lastVerified,
    attempt,
  };
}

export interface VerificationDecision {
  notices: Notice[];
  next: Timer[];
  summary?: string;
  /** Names a notice that comes round more than once on the same timer (the outbox sends each key once). */
  key?: string;
}

/**
 * What a due request timer says now. `version` is the entry's current version: the buttons
 * carry it, so a click after anyone else's change is stale and changes nothing.
 */
export function evaluateVerificationTimer(
  due: Timer,
  service: DirectoryService | undefined,
  version: number,
  context: { now: Date; calendar: WorkingCalendar; afterDays?: number },
): VerificationDecision {
  if (!service) return { notices: [], next: [] }; // removed from the directory
  // Checked since (by an answer, or an import): nothing to ask now; the next request counts from that check.
  if (service.lastVerified !== due.anchor) return { notices: [], next: [verificationTimer(service, context.calendar, context.now, context.afterDays)] };
  const attempt = due.attempt ?? 1;
  const maintainers = service.maintainers ?? [];
  const later = context.calendar.addWorkingDays(new Date(Math.max(context.now.getTime(), Date.parse(due.dueAt))), VERIFICATION_REPEAT_WORKING_DAYS);
  // Nobody to ask: the admins are told, and told again each time the timer comes round (every 5
  // working days), until a maintainer is added, who is then asked in their place.
  if (!maintainers.length) {
    return {
      notices: [{ audience: { to: 'admins' }, message: unmaintainedEntryMessage(service, context.now.toISOString()) }],
      next: [requestTimer(service.id, service.lastVerified, 1, later)],
      summary: `Signpost's admins told that ${service.name} has no maintainers`,
      key: `unmaintained-${service.id}-${service.lastVerified}-${due.dueAt}`,
    };
  }
  const toAdmins = attempt === 3;
  const message = verificationRequestMessage(service, version, attempt, context.now.toISOString());
  const notices: Notice[] = toAdmins
    ? [{ audience: { to: 'admins' }, message }]
    : maintainers.map((email) => ({ audience: { to: 'person', person: { id: `email:${email}`, name: email, email } }, message }));
  const next = attempt < 3 ? [requestTimer(service.id, service.lastVerified, (attempt + 1) as 2 | 3, later)] : [];
  const who = toAdmins ? "Signpost's admins" : `${maintainers.length} maintainer${maintainers.length === 1 ? '' : 's'}`;
  return { notices, next, summary: `Request ${attempt} to confirm the entry for ${service.name} sent to ${who}` };
}

/** The admins' notice about a service nobody maintains: nobody confirms its entry until someone is added. */
export function unmaintainedEntryMessage(service: DirectoryService, at: string): StaffMessage {
  return {
    kind: 'unmaintained-entry',
    title: `${service.name} has no maintainers`,
    lines: [
      `${service.name} has no maintainers; its entry was last checked on ${longDate(service.lastVerified)}.`,
      'Nobody is asked to confirm it until someone maintains it, and matches show it as possibly out of date once it is 90 days old.',
      'Add one with `@Signpost maintainers add <email>` in its channel.',
    ],
    serviceName: service.name,
    at,
  };
}

export function verificationRequestMessage(service: DirectoryService, version: number, attempt: number, at: string): StaffMessage {
  const lines = [
    `Signpost matches people to ${service.name} using its directory entry, last checked on ${longDate(service.lastVerified)}. Please check it is still right.`,
    'Still correct: one click. Change: set whether it is open, paused (and until when) or closed, the typical wait, how to refer, the opening hours, and a note.',
  ];
  if (attempt === 2) lines.unshift('We asked 5 working days ago and have not heard back.');
  if (attempt === 3) lines.unshift(`Its maintainers (${(service.maintainers ?? []).join(', ')}) have not answered two requests.`);
  return {
    kind: 'verification-request',
    title: `Is the entry for ${service.name} still correct?`,
    lines,
    serviceName: service.name,
    verification: {
      serviceId: service.id,
      version,
      current: {
        status: service.status,
        ...(service.reopensOn ? { reopensOn: service.reopensOn } : {}),
        waitWeeks: service.waitingTimeWeeks.value,
        ...(service.contactRoute ? { contactRoute: service.contactRoute } : {}),
        ...(service.openingHours ? { openingHours: service.openingHours } : {}),
        ...(service.note ? { note: service.note } : {}),
      },
    },
    at,
  };
}

/** The current values as lines, for the request's card and email. */
export function currentValueLines(current: NonNullable<StaffMessage['verification']>['current']): Array<{ label: string; value: string }> {
  return [
    { label: 'Status', value: current.status === 'paused' && current.reopensOn ? `paused until ${longDate(current.reopensOn)}` : current.status },
    { label: 'Typical wait', value: current.waitWeeks === null ? 'not published' : `about ${current.waitWeeks} weeks` },
    { label: 'How to refer', value: current.contactRoute ?? 'not given' },
    { label: 'Opening hours', value: current.openingHours ?? 'not given' },
    ...(current.note ? [{ label: 'Note', value: current.note }] : []),
  ];
}

const optionalText = (label: string, max: number) =>
  z
    .string({ invalid_type_error: `${label}: write it as text` })
    .trim()
    .max(max, `${label}: keep it under ${max} characters`)
    .optional()
    .transform((text) => (text ? text : undefined));

/**
 * The "Change" form, from a Teams card or the email's page: each field's problem names the
 * field. What it yields is applied to the entry and checked again by the directory's schema.
 */
export const verificationEditSchema = z.object({
  status: z.enum(SERVICE_STATUSES, { errorMap: () => ({ message: 'Status: choose open, paused or closed' }) }),
  reopensOn: optionalText('Reopening date', 10).pipe(
    z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'Reopening date: a date as YYYY-MM-DD').optional(),
  ),
  waitWeeks: z
    .union([z.string(), z.number()], { errorMap: () => ({ message: 'Typical wait: whole weeks, from 0 to 104' }) })
    .transform((value, context) => {
      const text = String(value).trim();
      if (text === '') return null;
      const weeks = Number(text);
      if (!Number.isInteger(weeks) || weeks < 0 || weeks > 104) {
        context.addIssue({ code: z.ZodIssueCode.custom, message: 'Typical wait: whole weeks, from 0 to 104' });
        return z.NEVER;
      }
      return weeks;
    }),
  contactRoute: optionalText('How to refer', 500),
  openingHours: optionalText('Opening hours', 300),
  note: optionalText('Note', 1000),
});
export type VerificationEdit = z.infer<typeof verificationEditSchema>;

/** Problems with the form, or with the entry it would make, beyond what the schema can know: a reopening date must be in the future. */
export function editProblems(edit: VerificationEdit, today: string): string[] {
  if (edit.status === 'paused' && !edit.reopensOn) return ['Reopening date: say when a paused service reopens'];
  if (edit.status === 'paused' && edit.reopensOn! <= today) return ['Reopening date: must be after today'];
  return [];
}

/** The entry with the form applied and checked today. The result still goes through the directory's schema. */
export function applyEdit(service: DirectoryService, edit: VerificationEdit | undefined, today: string, byline: string): Record<string, unknown> {
  const { reopensOn: _reopens, contactRoute: _route, openingHours: _hours, note: _note, ...rest } = service;
  if (!edit) return { ...service, lastVerified: today };
  const unchangedWait = edit.waitWeeks === service.waitingTimeWeeks.value;
  return {
    ...rest,
    status: edit.status,
    ...(edit.status === 'paused' ? { reopensOn: edit.reopensOn } : {}),
    waitingTimeWeeks: unchangedWait
      ? service.waitingTimeWeeks
      : edit.waitWeeks === null
        ? { value: null, note: `Not published: ${byline}.` }
        : { value: edit.waitWeeks, note: `Set by ${byline}.` },
    ...(edit.contactRoute ? { contactRoute: edit.contactRoute } : {}),
    ...(edit.openingHours ? { openingHours: edit.openingHours } : {}),
    ...(edit.note ? { note: edit.note } : {}),
    lastVerified: today,
  };
}
