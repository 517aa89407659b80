/** Dates, times and counts in the words people read (en-GB). */

const formats = new Map<string, Intl.DateTimeFormat>();

/**
 * An en-GB formatter for these options, made once per process: making one costs about fifty
 * times formatting with it, and cards format dates on every turn.
 */
export function enGbFormat(options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = JSON.stringify(options);
  let format = formats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', options);
    formats.set(key, format);
  }
  return format;
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function formatTime(iso: string, timeZone: string): string {
  return `on ${enGbFormat({ weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone }).format(new Date(iso))}`;
}

export function formatDate(iso: string, timeZone: string): string {
  return enGbFormat({ day: 'numeric', month: 'short', timeZone }).format(new Date(iso));
}

/** A short time for a card's history: "24 Nov, 12:00". */
export function formatShortTime(iso: string, timeZone = 'Europe/London'): string {
  return enGbFormat({ day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone }).format(new Date(iso));
}
