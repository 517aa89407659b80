import { z } from 'zod';
import { DirectoryService, longDate, SERVICE_STATUSES } from './schema';
import type { Notice, Timer } from '../supervision/policy';
import type { ServiceVerificationRequest, StaffMessage, VerificationRequest } from '../supervision/messages';
import type { Activity } from './activities';
import { ActivityEdit, activityEditSchema, activityValueLines, activityValues } from './activityVerification';
import type { WorkingCalendar } from '../supervision/workingCalendar';
import { optionalText } from './formText';

/**
 * Keeping the directory current: each entry's maintainers (a service's, or a community
 * activity's) are asked to confirm it before it goes stale (by default 60 days after it was
 * last checked, in working hours). An unanswered request is repeated after 5 working days, then
 * goes to Signpost's admins. When an entry with no maintainers falls due, Signpost's admins are
 * told (nobody else can be asked), and told again every 5 working days until it has one, who is
 * then asked. Like the supervision clocks, a request timer is a question asked when it comes
 * due: if the entry was checked meanwhile (its lastVerified moved on), it sends nothing.
 */

export const DEFAULT_VERIFY_AFTER_DAYS = 60;
export const VERIFICATION_REPEAT_WORKING_DAYS = 5;
const DAY_MS = 24 * 60 * 60 * 1000;

export const ENTRY_KINDS = ['service', 'activity'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

/** An entry that is kept current, with what kind it is. */
export type VerifiableEntry = { kind: 'service'; service: DirectoryService } | { kind: 'activity'; activity: Activity };

/** Which entry: its kind and id (what a card's buttons and an email's link carry). */
export interface EntryRef {
  kind: EntryKind;
  id: string;
}

/** What every kind of entry has: its id, name and last check. */
export function detailsOf(entry: VerifiableEntry): { id: string; name: string; lastVerified: string } {
  return entry.kind === 'service' ? entry.service : entry.activity;
}

/**
 * Who maintains the entry, by work email (lower case). Services list addresses; activities list
 * `{ name, email }`: both files are read as they are.
 */
export function maintainersOf(entry: VerifiableEntry): Array<{ name: string; email: string }> {
  if (entry.kind === 'service') return (entry.service.maintainers ?? []).map((email) => ({ name: email, email: email.toLowerCase() }));
  return entry.activity.maintainers.map(({ name, email }) => ({ name, email: email.toLowerCase() }));
}

export function entryName(entry: VerifiableEntry): string {
  return detailsOf(entry).name;
}

/** The first request for an entry as last checked on `lastVerified`: due `afterDays` later, or now when that has passed, in working time. */
export function verificationTimer(
  entry: { id: string; lastVerified: string },
  calendar: WorkingCalendar,
  now: Date,
  afterDays = DEFAULT_VERIFY_AFTER_DAYS,
  kind: EntryKind = 'service',
): Timer {
  const due = Math.max(Date.parse(`${entry.lastVerified}T00:00:00Z`) + afterDays * DAY_MS, now.getTime());
  return requestTimer({ kind, id: entry.id }, entry.lastVerified, 1, calendar.nextWorkingTime(new Date(due)));
}

/** Which entry a request timer is about (timers stored before activities were asked about are all services'). */
export function timerEntry(timer: Timer): EntryRef {
  return { kind: timer.entryKind ?? 'service', id: timer.serviceId };
}

function requestTimer(ref: EntryRef, lastVerified: string, attempt: 1 | 2 | 3, due: Date): Timer {
  return {
    // Services' ids keep the form they had before activities were asked about, so stored timers are recognised.
    id: `directory-verification:${ref.kind === 'activity' ? 'activity:' : ''}${ref.id}:${lastVerified}:${attempt}`,
    kind: 'directory-verification',
    dueAt: due.toISOString(),
    serviceId: ref.id,
    ...(ref.kind === 'activity' ? { entryKind: 'activity' as const } : {}),
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
  entry: VerifiableEntry | undefined,
  version: number,
  context: { now: Date; calendar: WorkingCalendar; afterDays?: number },
): VerificationDecision {
  if (!entry) return { notices: [], next: [] }; // removed from the directory
  const details = detailsOf(entry);
  const ref = { kind: entry.kind, id: details.id };
  // Checked since (by an answer, or an import): nothing to ask now; the next request counts from that check.
  if (details.lastVerified !== due.anchor) return { notices: [], next: [verificationTimer(details, context.calendar, context.now, context.afterDays, entry.kind)] };
  const attempt = due.attempt ?? 1;
  const maintainers = maintainersOf(entry);
  const later = context.calendar.addWorkingDays(new Date(Math.max(context.now.getTime(), Date.parse(due.dueAt))), VERIFICATION_REPEAT_WORKING_DAYS);
  // Nobody to ask: the admins are told, and told again each time the timer comes round (every 5
  // working days), until a maintainer is added, who is then asked in their place.
  if (!maintainers.length) {
    return {
      notices: [{ audience: { to: 'admins' }, message: unmaintainedEntryMessage(entry, context.now.toISOString()) }],
      next: [requestTimer(ref, details.lastVerified, 1, later)],
      summary: `Signpost's admins told that ${details.name} has no maintainers`,
      // Services' keys keep the form they had before activities were asked about.
      key: `unmaintained-${entry.kind === 'activity' ? 'activity-' : ''}${details.id}-${details.lastVerified}-${due.dueAt}`,
    };
  }
  const toAdmins = attempt === 3;
  const message = requestMessageFor(entry, version, attempt, context.now.toISOString());
  const notices: Notice[] = toAdmins
    ? [{ audience: { to: 'admins' }, message }]
    : maintainers.map(({ name, email }) => ({ audience: { to: 'person', person: { id: `email:${email}`, name, email } }, message }));
  const next = attempt < 3 ? [requestTimer(ref, details.lastVerified, (attempt + 1) as 2 | 3, later)] : [];
  const who = toAdmins ? "Signpost's admins" : `${maintainers.length} maintainer${maintainers.length === 1 ? '' : 's'}`;
  return { notices, next, summary: `Request ${attempt} to confirm the entry for ${details.name} sent to ${who}` };
}

/** The request about any entry, worded for its kind. */
export function requestMessageFor(entry: VerifiableEntry, version: number, attempt: number, at: string): StaffMessage {
  return entry.kind === 'service' ? verificationRequestMessage(entry.service, version, attempt, at) : activityRequestMessage(entry.activity, version, attempt, at);
}

/** What the request says before and after the entry's own words: the repeat's and the admins' preambles. */
function withPreamble(lines: string[], attempt: number, maintainers: string[]): string[] {
  if (attempt === 2) return ['We asked 5 working days ago and have not heard back.', ...lines];
  if (attempt === 3) return [`Its maintainers (${maintainers.join(', ')}) have not answered two requests.`, ...lines];
  return lines;
}

/** The admins' notice about an entry nobody maintains: nobody confirms it until someone is added. */
export function unmaintainedEntryMessage(entry: VerifiableEntry, at: string): StaffMessage {
  const { name, lastVerified } = detailsOf(entry);
  // A service's maintainers can be added from its channel; an activity has no channel, only its file.
  const howToAdd =
    entry.kind === 'service'
      ? 'Add one with `@Signpost maintainers add <email>` in its channel.'
      : 'Add one to its `maintainers` in the activities file and import it (`npm run --silent directory -- import-activities <file>`).';
  return {
    kind: 'unmaintained-entry',
    title: `${name} has no maintainers`,
    lines: [
      `${name} has no maintainers; its entry was last checked on ${longDate(lastVerified)}.`,
      entry.kind === 'service'
        ? 'Nobody is asked to confirm it until someone maintains it, and matches show it as possibly out of date once it is 90 days old.'
        : 'Nobody is asked to confirm it until someone maintains it.',
      howToAdd,
    ],
    serviceName: name,
    at,
  };
}

export function verificationRequestMessage(service: DirectoryService, version: number, attempt: number, at: string): StaffMessage {
  const lines = withPreamble(
    [
      `Signpost matches people to ${service.name} using its directory entry, last checked on ${longDate(service.lastVerified)}. Please check it is still right.`,
      'Still correct: one click. Change: set whether it is open, paused (and until when) or closed, the typical wait, how to refer, the opening hours, and a note.',
    ],
    attempt,
    service.maintainers ?? [],
  );
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

export function activityRequestMessage(activity: Activity, version: number, attempt: number, at: string): StaffMessage {
  const lines = withPreamble(
    [
      `Link workers connect people to ${activity.name} (${activity.organisation}) using its entry in Signpost's activities directory, last checked on ${longDate(activity.lastVerified)}. Please check it is still right.`,
      'Still correct: one click. Change: set the days and times, the cost, how to join, the contact details and access notes, or say it has stopped running.',
    ],
    attempt,
    activity.maintainers.map((maintainer) => maintainer.email),
  );
  return {
    kind: 'verification-request',
    title: `Is the entry for ${activity.name} still correct?`,
    lines,
    serviceName: activity.name,
    verification: { entry: 'activity', activityId: activity.id, version, current: activityValues(activity) },
    at,
  };
}

/** Which entry a request is about. */
export function requestEntry(request: VerificationRequest): EntryRef {
  return request.entry === 'activity' ? { kind: 'activity', id: request.activityId } : { kind: 'service', id: request.serviceId };
}

/** The request's current values as lines, for its card and email, whatever the entry. */
export function requestValueLines(request: VerificationRequest): Array<{ label: string; value: string }> {
  return request.entry === 'activity' ? activityValueLines(request.current) : currentValueLines(request.current);
}

/** The current values as lines, for the request's card and email. */
export function currentValueLines(current: ServiceVerificationRequest['current']): Array<{ label: string; value: string }> {
  return [
    { label: 'Status', value: current.status === 'paused' && current.reopensOn ? `paused until ${longDate(current.reopensOn)}` : current.status },
    { label: 'Typical wait', value: current.waitWeeks === null ? 'not published' : `about ${current.waitWeeks} weeks` },
    { label: 'How to refer', value: current.contactRoute ?? 'not given' },
    { label: 'Opening hours', value: current.openingHours ?? 'not given' },
    ...(current.note ? [{ label: 'Note', value: current.note }] : []),
  ];
}

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

/** One field of a request's "Change" form, as the Teams card and the email page both draw it. */
export interface FormField {
  name: string;
  label: string;
  input: 'choice' | 'date' | 'number' | 'text' | 'multiline';
  value: string;
  maxLength?: number;
  choices?: Array<{ title: string; value: string }>;
  /** For a number: its range. */
  range?: { min: number; max: number };
  /** For a required field: what to say when it is left empty. */
  required?: string;
}

/** The "Change" form of a request, prefilled with the entry's current values. */
export function verificationForm(request: VerificationRequest): FormField[] {
  if (request.entry === 'activity') {
    const current = request.current;
    return [
      { name: 'running', label: 'Running', input: 'choice', value: current.running, required: 'Choose whether it still runs', choices: [{ title: 'Still running', value: 'running' }, { title: 'Stopped: no longer offered to link workers', value: 'stopped' }] },
      { name: 'sessions', label: 'Days and times, such as "Tue, Thu 10:00–12:00 (term time only)"; separate sessions with ";"', input: 'text', value: current.sessions, maxLength: 400, required: 'Say when it runs' },
      { name: 'cost', label: 'Cost', input: 'text', value: current.cost, maxLength: 200, required: 'Say what it costs' },
      { name: 'howToJoin', label: 'How to join', input: 'multiline', value: current.howToJoin, maxLength: 500, required: 'Say how to join' },
      { name: 'accessNotes', label: 'Access notes', input: 'multiline', value: current.accessNotes, maxLength: 500, required: 'Say how accessible it is' },
      { name: 'phone', label: 'Contact phone (the group’s, not a person’s own)', input: 'text', value: current.phone ?? '', maxLength: 40 },
      { name: 'email', label: 'Contact email', input: 'text', value: current.email ?? '', maxLength: 254 },
      { name: 'website', label: 'Website', input: 'text', value: current.website ?? '', maxLength: 500 },
    ];
  }
  const current = request.current;
  return [
    {
      name: 'status',
      label: 'Status',
      input: 'choice',
      value: current.status,
      required: 'Choose a status',
      choices: [
        { title: 'Open: taking referrals', value: 'open' },
        { title: 'Paused: not taking new referrals until a date', value: 'paused' },
        { title: 'Closed', value: 'closed' },
      ],
    },
    { name: 'reopensOn', label: 'Reopens on (when paused)', input: 'date', value: current.reopensOn ?? '' },
    { name: 'waitWeeks', label: 'Typical wait in weeks (leave empty if not published)', input: 'number', value: current.waitWeeks === null ? '' : String(current.waitWeeks), range: { min: 0, max: 104 } },
    { name: 'contactRoute', label: 'How to refer or get in touch', input: 'text', value: current.contactRoute ?? '', maxLength: 500 },
    { name: 'openingHours', label: 'Opening hours', input: 'text', value: current.openingHours ?? '', maxLength: 300 },
    { name: 'note', label: 'Note', input: 'multiline', value: current.note ?? '', maxLength: 1000 },
  ];
}

/** A form's answer as the kind's typed edit, or every problem named by field. */
export type EntryEdit = { kind: 'service'; edit: VerificationEdit } | { kind: 'activity'; edit: ActivityEdit };

export function parseEntryEdit(kind: EntryKind, data: unknown): { edit: EntryEdit } | { problems: string[] } {
  const parsed = kind === 'activity' ? activityEditSchema.safeParse(data) : verificationEditSchema.safeParse(data);
  if (!parsed.success) return { problems: parsed.error.issues.map((issue) => issue.message) };
  return { edit: kind === 'activity' ? { kind, edit: parsed.data as ActivityEdit } : { kind, edit: parsed.data as VerificationEdit } };
}
