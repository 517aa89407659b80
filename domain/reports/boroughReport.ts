import type { Referral } from '../referral/referral';
import type { WorkingCalendar } from '../supervision/workingCalendar';
import { CaseHistory, roundedDays } from './caseHistory';

/**
 * The commissioners' borough report: by month (when the referral was made) x service x referring
 * practice, how many referrals were made, accepted, declined (by reason), redirected and closed
 * (by reason), how quickly they were taken on and contacted, and the change in wellbeing scores.
 *
 * Each referral contributes counters to the rows it touches; a row is the sum of its
 * referrals' contributions. Medians come from histograms of working days (to 0.1 day) and
 * means from sums, so rows can be kept as running totals and still give the same answers.
 *
 * SWEMWBS: a change of at least SWEMWBS_MINIMAL_IMPORTANT_CHANGE metric points is counted as an
 * improvement (the upper end of the 1 to 3 point minimal important difference in Shah N, Cader M,
 * Andrews WP, Wijesekera D, Stewart-Brown SL. "Responsiveness of the Short Warwick Edinburgh
 * Mental Well-Being Scale (SWEMWBS): evidence a clinical sample." Health and Quality of Life
 * Outcomes 2018;16:239).
 *
 * Disclosure control: counts from 1 to 4 are shown as "<5", and a median or mean over fewer than
 * 5 referrals is not shown, as in published NHS statistics; the report never names anyone. Where
 * a total is shown beside its parts, a single "<5" part could be worked out by subtraction, so
 * the next-smallest part is hidden too ("*", secondary suppression): see publishedRows.
 */

export const SWEMWBS_MINIMAL_IMPORTANT_CHANGE = 3;
export const SMALL_NUMBER = 5;
export const ONS4_MEASURES = ['lifeSatisfaction', 'worthwhile', 'happiness', 'anxiety'] as const;
export type Ons4Measure = (typeof ONS4_MEASURES)[number];

export interface ReportCounters {
  made: number;
  accepted: number;
  redirected: number;
  declined: Record<string, number>;
  closed: Record<string, number>;
  /** Working days (to 0.1) -> referrals. */
  daysToAccept: Record<string, number>;
  daysToFirstContact: Record<string, number>;
  swemwbs: { n: number; sumChange: number; improved: number };
  ons4: { n: number; sumChange: Record<Ons4Measure, number> };
}

export interface RowKey {
  month: string;
  serviceId: string;
  practice: string;
}

export function emptyCounters(): ReportCounters {
  return {
    made: 0,
    accepted: 0,
    redirected: 0,
    declined: {},
    closed: {},
    daysToAccept: {},
    daysToFirstContact: {},
    swemwbs: { n: 0, sumChange: 0, improved: 0 },
    ons4: { n: 0, sumChange: { lifeSatisfaction: 0, worthwhile: 0, happiness: 0, anxiety: 0 } },
  };
}

export function rowKeyText(key: RowKey): string {
  return JSON.stringify([key.month, key.serviceId, key.practice]);
}

/** What one referral adds to each row it touches (its month and practice, each service it was with). */
export function contributions(referral: Pick<Referral, 'wellbeing'>, history: CaseHistory, calendar: WorkingCalendar): Array<{ key: RowKey; counters: ReportCounters }> {
  const rows = new Map<string, { key: RowKey; counters: ReportCounters }>();
  const row = (serviceId: string) => {
    const key = { month: history.month, serviceId, practice: history.practice };
    const text = rowKeyText(key);
    if (!rows.has(text)) rows.set(text, { key, counters: emptyCounters() });
    return rows.get(text)!.counters;
  };
  history.episodes.forEach((episode, index) => {
    const counters = row(episode.serviceId);
    if (index === 0) counters.made += 1;
    if (episode.acceptedAt) {
      counters.accepted += 1;
      bump(counters.daysToAccept, bucket(calendar.workingDaysBetween(new Date(episode.routedAt), new Date(episode.acceptedAt))));
      if (episode.firstContactAt) bump(counters.daysToFirstContact, bucket(calendar.workingDaysBetween(new Date(episode.acceptedAt), new Date(episode.firstContactAt))));
    }
    if (episode.ended?.kind === 'redirected') counters.redirected += 1;
    if (episode.ended?.kind === 'declined') bump(counters.declined, episode.ended.reason ?? 'other');
    if (episode.ended?.kind === 'closed') bump(counters.closed, episode.ended.reason ?? 'other');
  });
  // Outcome scores belong to the service that closed the case.
  const last = history.episodes[history.episodes.length - 1];
  if (last.ended?.kind === 'closed') {
    const counters = row(last.serviceId);
    const { baseline, closing } = referral.wellbeing ?? {};
    if (baseline?.tool === 'swemwbs' && closing?.tool === 'swemwbs') {
      const change = closing.metric - baseline.metric;
      counters.swemwbs = { n: 1, sumChange: change, improved: change >= SWEMWBS_MINIMAL_IMPORTANT_CHANGE ? 1 : 0 };
    }
    if (baseline?.tool === 'ons4' && closing?.tool === 'ons4') {
      counters.ons4 = { n: 1, sumChange: Object.fromEntries(ONS4_MEASURES.map((measure) => [measure, closing.scores[measure] - baseline.scores[measure]])) as Record<Ons4Measure, number> };
    }
  }
  return [...rows.values()];
}

/** a + sign x b: adds a contribution, or (sign -1) takes one back when a referral's counted state changes. */
export function addCounters(a: ReportCounters, b: ReportCounters, sign: 1 | -1 = 1): ReportCounters {
  const merge = (x: Record<string, number>, y: Record<string, number>) => {
    const out = { ...x };
    for (const [key, value] of Object.entries(y)) {
      out[key] = (out[key] ?? 0) + sign * value;
      if (out[key] === 0) delete out[key];
    }
    return out;
  };
  return {
    made: a.made + sign * b.made,
    accepted: a.accepted + sign * b.accepted,
    redirected: a.redirected + sign * b.redirected,
    declined: merge(a.declined, b.declined),
    closed: merge(a.closed, b.closed),
    daysToAccept: merge(a.daysToAccept, b.daysToAccept),
    daysToFirstContact: merge(a.daysToFirstContact, b.daysToFirstContact),
    swemwbs: { n: a.swemwbs.n + sign * b.swemwbs.n, sumChange: a.swemwbs.sumChange + sign * b.swemwbs.sumChange, improved: a.swemwbs.improved + sign * b.swemwbs.improved },
    ons4: {
      n: a.ons4.n + sign * b.ons4.n,
      sumChange: Object.fromEntries(ONS4_MEASURES.map((measure) => [measure, a.ons4.sumChange[measure] + sign * b.ons4.sumChange[measure]])) as Record<Ons4Measure, number>,
    },
  };
}

/** The median of a histogram of values (keys are the values as text). */
export function histogramMedian(histogram: Record<string, number>): number | undefined {
  const entries = Object.entries(histogram)
    .map(([value, count]) => [Number(value), count] as const)
    .filter(([, count]) => count > 0)
    .sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0) return undefined;
  const valueAt = (position: number) => {
    let seen = 0;
    for (const [value, count] of entries) {
      seen += count;
      if (position < seen) return value;
    }
    return entries[entries.length - 1][0];
  };
  const middle = Math.floor(total / 2);
  return total % 2 ? valueAt(middle) : (valueAt(middle - 1) + valueAt(middle)) / 2;
}

/** In place of a count hidden so that a "<5" beside it cannot be worked out from a total. */
export const HIDDEN = '*';

/**
 * Secondary suppression of parts shown beside their total: when the total is shown (0, or 5
 * and over) and exactly one part is suppressed (1 to 4), subtracting the others from the total
 * would give it away, so the smallest other non-zero part is hidden as well. Returns that
 * part's index, or undefined when nothing more needs hiding. (With the total shown and one
 * part under 5, the total is at least 5, so another non-zero part exists.)
 */
export function partToHide(total: number, parts: number[]): number | undefined {
  if (total > 0 && total < SMALL_NUMBER) return undefined;
  const suppressed = parts.filter((part) => part > 0 && part < SMALL_NUMBER);
  if (suppressed.length !== 1) return undefined;
  let smallest: number | undefined;
  parts.forEach((part, index) => {
    if (part >= SMALL_NUMBER && (smallest === undefined || part < parts[smallest])) smallest = index;
  });
  return smallest;
}

/** A count as published: 1 to 4 are "<5". */
export function publishedCount(count: number): string {
  return count > 0 && count < SMALL_NUMBER ? '<5' : String(count);
}

export interface ReportRow {
  month: string;
  serviceId: string;
  practice: string;
  made: string;
  accepted: string;
  declined: string;
  declinedByReason: Record<string, string>;
  redirected: string;
  closed: string;
  closedByReason: Record<string, string>;
  medianDaysToAccept: string;
  medianDaysToFirstContact: string;
  swemwbsMeanChange: string;
  swemwbsN: string;
  swemwbsImprovedShare: string;
  ons4MeanChange: Record<Ons4Measure, string>;
  ons4N: string;
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((sum, value) => sum + value, 0);
const NOT_SHOWN = '';

/** One row as a commissioner sees it: small numbers suppressed, statistics only over enough referrals. */
export function publishedRow(key: RowKey, counters: ReportCounters): ReportRow {
  const medianOf = (histogram: Record<string, number>) => {
    const n = total(histogram);
    const value = histogramMedian(histogram);
    return n >= SMALL_NUMBER && value !== undefined ? value.toFixed(1) : NOT_SHOWN;
  };
  const enough = (n: number) => n >= SMALL_NUMBER;
  const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
  // Reasons beside their total (declined, closed): one "<5" reason hides the next-smallest too.
  const published = (counts: Record<string, number>) => {
    const entries = Object.entries(counts);
    const hidden = partToHide(total(counts), entries.map(([, count]) => count));
    return Object.fromEntries(entries.map(([reason, count], index) => [reason, index === hidden ? HIDDEN : publishedCount(count)]));
  };
  return {
    ...key,
    made: publishedCount(counters.made),
    accepted: publishedCount(counters.accepted),
    declined: publishedCount(total(counters.declined)),
    declinedByReason: published(counters.declined),
    redirected: publishedCount(counters.redirected),
    closed: publishedCount(total(counters.closed)),
    closedByReason: published(counters.closed),
    medianDaysToAccept: medianOf(counters.daysToAccept),
    medianDaysToFirstContact: medianOf(counters.daysToFirstContact),
    swemwbsMeanChange: enough(counters.swemwbs.n) ? signed(counters.swemwbs.sumChange / counters.swemwbs.n) : NOT_SHOWN,
    swemwbsN: publishedCount(counters.swemwbs.n),
    swemwbsImprovedShare: enough(counters.swemwbs.n) ? `${Math.round((100 * counters.swemwbs.improved) / counters.swemwbs.n)}%` : NOT_SHOWN,
    ons4MeanChange: Object.fromEntries(
      ONS4_MEASURES.map((measure) => [measure, enough(counters.ons4.n) ? signed(counters.ons4.sumChange[measure] / counters.ons4.n) : NOT_SHOWN]),
    ) as Record<Ons4Measure, string>,
    ons4N: publishedCount(counters.ons4.n),
  };
}

/**
 * The rows as a commissioner sees them (publishedRow), with secondary suppression across rows
 * too: each month's referrals made are shown as a total (the chart, monthlyMade), so within a
 * month one row's "<5" made hides the next-smallest made of that month.
 */
export function publishedRows(rows: Array<{ key: RowKey; counters: ReportCounters }>): ReportRow[] {
  const published = rows.map((row) => publishedRow(row.key, row.counters));
  const byMonth = new Map<string, number[]>();
  rows.forEach((row, index) => {
    if (!byMonth.has(row.key.month)) byMonth.set(row.key.month, []);
    byMonth.get(row.key.month)!.push(index);
  });
  for (const indexes of byMonth.values()) {
    const made = indexes.map((index) => rows[index].counters.made);
    const hidden = partToHide(made.reduce((sum, count) => sum + count, 0), made);
    if (hidden !== undefined) published[indexes[hidden]].made = HIDDEN;
  }
  return published;
}

/** Sums contributions into rows, for a set of referrals (a rebuild, or a report straight from records). */
export function sumRows(parts: Array<{ key: RowKey; counters: ReportCounters }>): Map<string, { key: RowKey; counters: ReportCounters }> {
  const rows = new Map<string, { key: RowKey; counters: ReportCounters }>();
  for (const part of parts) {
    const text = rowKeyText(part.key);
    const before = rows.get(text);
    rows.set(text, { key: part.key, counters: before ? addCounters(before.counters, part.counters) : part.counters });
  }
  return rows;
}

/**
 * Referrals made in each month of a year across the borough, for the report's chart: published
 * like any count (1 to 4 as "<5", drawn as no bar).
 */
export function monthlyMade(rows: Iterable<{ key: RowKey; counters: ReportCounters }>, year: number): Array<{ month: string; made: string; value: number }> {
  const made = new Map<string, number>();
  for (const { key, counters } of rows) made.set(key.month, (made.get(key.month) ?? 0) + counters.made);
  return monthsOf(year).map((month) => {
    const count = made.get(month) ?? 0;
    const shown = publishedCount(count);
    return { month, made: shown, value: shown === '<5' ? 0 : count };
  });
}

/** A year's months as the report keys them, YYYY-MM, January first. */
export function monthsOf(year: number): string[] {
  return Array.from({ length: 12 }, (_, index) => `${year}-${String(index + 1).padStart(2, '0')}`);
}

/** The CSV of published rows: one column per measure, reasons as columns of their own. */
export function reportCsv(rows: ReportRow[], declineReasons: readonly string[], closeReasons: readonly string[]): string {
  const header = [
    'month',
    'service',
    'practice',
    'made',
    'accepted',
    'declined',
    ...declineReasons.map((reason) => `declined: ${reason}`),
    'redirected',
    'closed',
    ...closeReasons.map((reason) => `closed: ${reason}`),
    'median working days to accept',
    'median working days to first contact',
    'SWEMWBS mean change',
    'SWEMWBS n',
    `SWEMWBS improved by ${SWEMWBS_MINIMAL_IMPORTANT_CHANGE}+`,
    ...ONS4_MEASURES.map((measure) => `ONS4 ${measure} mean change`),
    'ONS4 n',
  ];
  const lines = rows.map((row) => [
    row.month,
    row.serviceId,
    row.practice,
    row.made,
    row.accepted,
    row.declined,
    ...declineReasons.map((reason) => row.declinedByReason[reason] ?? '0'),
    row.redirected,
    row.closed,
    ...closeReasons.map((reason) => row.closedByReason[reason] ?? '0'),
    row.medianDaysToAccept,
    row.medianDaysToFirstContact,
    row.swemwbsMeanChange,
    row.swemwbsN,
    row.swemwbsImprovedShare,
    ...ONS4_MEASURES.map((measure) => row.ons4MeanChange[measure]),
    row.ons4N,
  ]);
  return [header, ...lines].map((cells) => cells.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** A CSV cell, quoted when needed; a leading = + - @ is defused so a spreadsheet never runs it. */
function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) && !/^[+-]\d/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function bucket(days: number): string {
  return roundedDays(days).toFixed(1);
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}
