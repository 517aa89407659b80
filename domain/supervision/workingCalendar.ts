/**
 * Working time: when reminders may go out and how "2 working days" or "4 working hours" are
 * counted. Hours are local wall-clock time in one time zone (Europe/London by default, so
 * 09:00 stays 09:00 across the clocks changing); days are ISO weekdays (1 = Monday); bank
 * holidays come from a check the caller supplies (see bankHolidays.ts).
 *
 * A working day is counted as the day's working hours, so 2 working days from Monday 10:00
 * is Wednesday 10:00, and from Friday 18:00 it is the end of Tuesday (delivered Wednesday at
 * opening, since closing time itself is outside working hours).
 */

export interface WorkingHours {
  timeZone: string;
  /** Minutes after local midnight: opening (inclusive) and closing (exclusive). */
  startMinutes: number;
  endMinutes: number;
  /** ISO weekdays that are working days: 1 = Monday ... 7 = Sunday. */
  days: number[];
}

/** Is this local date (YYYY-MM-DD) a holiday? */
export type HolidayCheck = (localDate: string) => boolean;

export const DEFAULT_WORKING_HOURS: WorkingHours = {
  timeZone: 'Europe/London',
  startMinutes: 9 * 60,
  endMinutes: 17 * 60,
  days: [1, 2, 3, 4, 5],
};

const MINUTE = 60_000;
/** A calendar with no working day for this long is misconfigured, not merely on holiday. */
const MAX_DAYS_SEARCHED = 400;

interface LocalTime {
  date: string;
  minutes: number;
}

/** Parses "09:00-17:00" into minutes; undefined when it is not a valid range. */
export function parseHoursRange(text: string): { startMinutes: number; endMinutes: number } | undefined {
  const match = /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!match) return undefined;
  const [startH, startM, endH, endM] = match.slice(1).map(Number);
  if (startH > 23 || endH > 24 || startM > 59 || endM > 59) return undefined;
  const startMinutes = startH * 60 + startM;
  const endMinutes = endH * 60 + endM;
  if (endMinutes <= startMinutes || endMinutes > 24 * 60) return undefined;
  return { startMinutes, endMinutes };
}

/** Parses "mon-fri" or "mon,tue,thu" into ISO weekdays; undefined when not understood. */
export function parseWorkingDays(text: string): number[] | undefined {
  const names = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
  const days = new Set<number>();
  for (const part of text.toLowerCase().split(',').map((piece) => piece.trim()).filter(Boolean)) {
    const [from, to] = part.split('-').map((name) => names.indexOf(name.trim()) + 1);
    if (!from || (part.includes('-') && !to)) return undefined;
    const last = to || from;
    if (last < from) return undefined;
    for (let day = from; day <= last; day += 1) days.add(day);
  }
  return days.size ? [...days].sort() : undefined;
}

/** How many answers each of the calendar's memories keeps before starting afresh. */
const REMEMBERED = 4_096;

export class WorkingCalendar {
  private readonly format: Intl.DateTimeFormat;
  /**
   * Counting working days asks the zone the same questions for every referral (the same
   * openings and closings, from today on), and each costs a formatToParts (several per day
   * counted): answers are kept, in two bounded memories.
   */
  private readonly localTimes = new Map<number, LocalTime>();
  private readonly instants = new Map<string, number>();

  constructor(
    readonly hours: WorkingHours = DEFAULT_WORKING_HOURS,
    private readonly isHoliday: HolidayCheck = () => false,
  ) {
    if (hours.days.length === 0) throw new RangeError('A working calendar needs at least one working day');
    if (hours.endMinutes <= hours.startMinutes) throw new RangeError('Working hours must end after they start');
    // Throws RangeError for an unknown time zone, at start-up rather than at the first reminder.
    this.format = new Intl.DateTimeFormat('en-GB', {
      timeZone: hours.timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  }

  isWorkingDay(localDate: string): boolean {
    const weekday = ((new Date(`${localDate}T12:00:00Z`).getUTCDay() + 6) % 7) + 1;
    return this.hours.days.includes(weekday) && !this.isHoliday(localDate);
  }

  isWorkingTime(at: Date): boolean {
    const local = this.local(at);
    return this.isWorkingDay(local.date) && local.minutes >= this.hours.startMinutes && local.minutes < this.hours.endMinutes;
  }

  /** `at` when it is working time, otherwise the next opening. */
  nextWorkingTime(at: Date): Date {
    const local = this.local(at);
    if (this.isWorkingDay(local.date)) {
      if (local.minutes < this.hours.startMinutes) return this.toInstant(local.date, this.hours.startMinutes);
      if (local.minutes < this.hours.endMinutes) return at;
    }
    let date = local.date;
    for (let searched = 0; searched < MAX_DAYS_SEARCHED; searched += 1) {
      date = nextDate(date);
      if (this.isWorkingDay(date)) return this.toInstant(date, this.hours.startMinutes);
    }
    throw new RangeError(`No working day within ${MAX_DAYS_SEARCHED} days of ${at.toISOString()}`);
  }

  /** The moment `hours` working hours after `from` (counting from the next opening if `from` is outside hours). */
  addWorkingHours(from: Date, hours: number): Date {
    if (!(hours >= 0)) throw new RangeError('Working hours to add must be zero or more');
    let remaining = Math.round(hours * 60) * MINUTE;
    let cursor = this.nextWorkingTime(from);
    for (let searched = 0; searched < MAX_DAYS_SEARCHED * 2; searched += 1) {
      const local = this.local(cursor);
      const closing = this.toInstant(local.date, this.hours.endMinutes);
      const available = closing.getTime() - cursor.getTime();
      if (remaining < available) return new Date(cursor.getTime() + remaining);
      remaining -= available;
      cursor = this.nextWorkingTime(closing);
    }
    throw new RangeError('Working hours to add are too many to count');
  }

  /** A working day is the length of a day's working hours. */
  addWorkingDays(from: Date, days: number): Date {
    return this.addWorkingHours(from, (days * (this.hours.endMinutes - this.hours.startMinutes)) / 60);
  }

  /** Working days (of working hours' length) between two instants; 0 when `to` is not later. For reports. */
  workingDaysBetween(from: Date, to: Date): number {
    const dayMs = (this.hours.endMinutes - this.hours.startMinutes) * MINUTE;
    let worked = 0;
    let cursor = this.nextWorkingTime(from);
    for (let searched = 0; cursor < to && searched < MAX_DAYS_SEARCHED * 20; searched += 1) {
      const closing = this.toInstant(this.local(cursor).date, this.hours.endMinutes);
      worked += Math.min(closing.getTime(), to.getTime()) - cursor.getTime();
      cursor = this.nextWorkingTime(closing);
    }
    return worked / dayMs;
  }

  /** Local midnight at the start of a date (YYYY-MM-DD), as an instant. */
  startOfDay(localDate: string): Date {
    return this.toInstant(localDate, 0);
  }

  private local(at: Date): LocalTime {
    const time = at.getTime();
    const known = this.localTimes.get(time);
    if (known) return known;
    const parts = Object.fromEntries(this.format.formatToParts(at).map((part) => [part.type, part.value]));
    const local = {
      date: `${parts.year}-${parts.month}-${parts.day}`,
      minutes: Number(parts.hour) * 60 + Number(parts.minute),
    };
    return remember(this.localTimes, time, local);
  }

  /** The instant at which the local clock shows `minutes` past midnight on `date`. */
  private toInstant(date: string, minutes: number): Date {
    const key = `${date}|${minutes}`;
    const known = this.instants.get(key);
    return new Date(known ?? remember(this.instants, key, this.zoneInstant(date, minutes)));
  }

  private zoneInstant(date: string, minutes: number): number {
    const wallClock = Date.parse(`${date}T00:00:00Z`) + minutes * MINUTE;
    // The zone's offset from UTC, found by asking what the local clock shows; twice, so an
    // instant near a clock change settles on the offset in force at that local time.
    let instant = wallClock;
    for (let pass = 0; pass < 2; pass += 1) {
      const shown = this.local(new Date(instant));
      const shownWallClock = Date.parse(`${shown.date}T00:00:00Z`) + shown.minutes * MINUTE;
      instant += wallClock - shownWallClock;
    }
    return instant;
  }
}

function remember<K, V>(memory: Map<K, V>, key: K, value: V): V {
  if (memory.size >= REMEMBERED) memory.clear();
  memory.set(key, value);
  return value;
}

function nextDate(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 24 * 60 * MINUTE).toISOString().slice(0, 10);
}
