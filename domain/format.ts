/** Dates, times and counts in the words people read (en-GB). */

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function formatTime(iso: string, timeZone: string): string {
  return `on ${new Date(iso).toLocaleString('en-GB', { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone })}`;
}

export function formatDate(iso: string, timeZone: string): string {
  return new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone });
}

/** A short time for a card's history: "24 Nov, 12:00". */
export function formatShortTime(iso: string, timeZone = 'Europe/London'): string {
  return new Date(iso).toLocaleString('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone });
}
