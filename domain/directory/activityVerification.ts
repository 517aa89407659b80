import { z } from 'zod';
import { Activity, sessionWords, WEEKDAYS, Weekday } from './activities';
import { optionalText, requiredText } from './formText';

/**
 * Keeping an activity's entry current: what its maintainers may change when asked to confirm
 * it, and the form's rules. The editable fields are what changes while a group keeps going:
 * its days and times, cost, how to join, its contact, access notes, and whether it still runs.
 * Its name, organisation, categories and place are the directory's (an import changes those).
 */

/** The activity's values as the request shows them and its form is prefilled. */
export interface ActivityValues {
  running: 'running' | 'stopped';
  /** The sessions as words: "Tue, Thu 10:00–12:00 (term time only); Sat 09:30–11:00". */
  sessions: string;
  cost: string;
  howToJoin: string;
  accessNotes: string;
  phone?: string;
  email?: string;
  website?: string;
}

export function activityValues(activity: Activity): ActivityValues {
  return {
    running: activity.stopped ? 'stopped' : 'running',
    sessions: sessionWords(activity),
    cost: activity.cost,
    howToJoin: activity.howToJoin,
    accessNotes: activity.accessNotes,
    ...(activity.contact.phone ? { phone: activity.contact.phone } : {}),
    ...(activity.contact.email ? { email: activity.contact.email } : {}),
    ...(activity.contact.website ? { website: activity.contact.website } : {}),
  };
}

export function activityValueLines(values: ActivityValues): Array<{ label: string; value: string }> {
  const contact = [values.phone, values.email, values.website].filter(Boolean).join(', ');
  return [
    { label: 'Running', value: values.running === 'running' ? 'yes' : 'no, it has stopped' },
    { label: 'Days and times', value: values.sessions },
    { label: 'Cost', value: values.cost },
    { label: 'How to join', value: values.howToJoin },
    { label: 'Contact', value: contact || 'not given' },
    { label: 'Access notes', value: values.accessNotes },
  ];
}

const DAY_NAMES = new Map<string, Weekday>(WEEKDAYS.flatMap((day) => [[day, day] as const, [day.slice(0, 3), day] as const]));
const TIME = /^(\d{1,2})[:.](\d{2})$/;
const SESSION = /^(.+?)\s+(\d{1,2}[:.]\d{2})\s*(?:–|-|to)\s*(\d{1,2}[:.]\d{2})\s*(?:\((.+)\))?$/;
const SESSIONS_HELP = 'Days and times: write each session as days then times, such as "Tue, Thu 10:00–12:00 (term time only)", sessions separated by ";"';

function clock(text: string): string | undefined {
  const match = TIME.exec(text);
  return match ? `${match[1].padStart(2, '0')}:${match[2]}` : undefined;
}

/** Sessions written as words (as `sessionWords` writes them) back into sessions; each problem names the session. */
export function parseSessionWords(text: string): { sessions: Activity['sessions'] } | { problems: string[] } {
  const parts = text.split(';').map((part) => part.trim()).filter(Boolean);
  if (!parts.length) return { problems: ['Days and times: say when the activity runs'] };
  const sessions: Activity['sessions'] = [];
  const problems: string[] = [];
  parts.forEach((part, index) => {
    const match = SESSION.exec(part);
    const days = match?.[1].toLowerCase().split(/\s*(?:,|\band\b|\s)\s*/).filter(Boolean).map((word) => DAY_NAMES.get(word));
    const [starts, ends] = [clock(match?.[2] ?? ''), clock(match?.[3] ?? '')];
    const which = parts.length > 1 ? ` (session ${index + 1}, "${part.slice(0, 40)}")` : '';
    if (!match || !days?.length || days.some((day) => !day) || !starts || !ends) return problems.push(`${SESSIONS_HELP}${which}`);
    if (starts >= ends) return problems.push(`Days and times: the end must be after the start${which}`);
    sessions.push({ days: [...new Set(days as Weekday[])], starts, ends, ...(match[4] ? { note: match[4].trim() } : {}) });
  });
  return problems.length ? { problems } : { sessions };
}

const optionalContact = <T extends z.ZodTypeAny>(label: string, max: number, check: (text: z.ZodString) => T) => optionalText(label, max).pipe(check(z.string()).optional());

/** The "Change" form for an activity, from a Teams card or the email's page: each problem names the field. */
export const activityEditSchema = z.object({
  running: z.enum(['running', 'stopped'], { errorMap: () => ({ message: 'Running: choose whether it still runs or has stopped' }) }),
  sessions: requiredText('Days and times', 400, 'say when the activity runs').transform((text, context) => {
    const parsed = parseSessionWords(text);
    if ('problems' in parsed) {
      for (const problem of parsed.problems) context.addIssue({ code: z.ZodIssueCode.custom, message: problem });
      return z.NEVER;
    }
    return parsed.sessions;
  }),
  cost: requiredText('Cost', 200, 'say what it costs (or that it is free)'),
  howToJoin: requiredText('How to join', 500, 'say how someone joins'),
  accessNotes: requiredText('Access notes', 500, 'say how accessible it is'),
  phone: optionalContact('Contact phone', 40, (text) => text),
  email: optionalContact('Contact email', 254, (text) => text.email('Contact email: an email address such as name@example.org')),
  website: optionalContact('Contact website', 500, (text) => text.url('Contact website: a web address starting https://')),
});
export type ActivityEdit = z.infer<typeof activityEditSchema>;

/** The activity with the form applied and checked today. The result still goes through the activities' schema. */
export function applyActivityEdit(activity: Activity, edit: ActivityEdit | undefined, today: string): Record<string, unknown> {
  if (!edit) return { ...activity, lastVerified: today };
  const { stopped: _stopped, ...rest } = activity;
  return {
    ...rest,
    sessions: edit.sessions,
    cost: edit.cost,
    howToJoin: edit.howToJoin,
    accessNotes: edit.accessNotes,
    contact: { phone: edit.phone ?? null, email: edit.email ?? null, website: edit.website ?? null },
    ...(edit.running === 'stopped' ? { stopped: true } : {}),
    lastVerified: today,
  };
}
