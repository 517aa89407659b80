import type { AuditEvent, Referral } from '../../domain/referral/referral';
import { CaseHistory, caseHistory, historyAfter } from '../../domain/reports/caseHistory';
import { addCounters, contributions, emptyCounters, monthsOf, ReportCounters, RowKey, rowKeyText, sumRows } from '../../domain/reports/boroughReport';
import type { WorkingCalendar } from '../../domain/supervision/workingCalendar';
import type { ReferralRepository } from '../../storage/referralRepository';
import { Contribution, MonthTotals, ReportCounterConflict, ReportCounterRepository } from '../../storage/reportCounterRepository';
import type { OutboxMessage } from '../../storage/outboxRepository';

/**
 * Keeps the borough report's counters up to date as referrals change. Each stored change is
 * folded into its referral's history, its contribution recomputed, and the difference applied
 * to its month's totals together with the new contribution (reportCounterRepository.ts): a change
 * recorded twice counts once. If a change was missed (a crash between storing a referral and
 * counting it), the next one notices the version gap and rereads that referral's trail;
 * `npm run report -- rebuild` recomputes everything from the referrals.
 */

const ATTEMPTS = 40;

/**
 * What the outbox holds to count a change for the report, written in the change's transaction
 * (ReferralRepository.queueWithEveryChange), so no stored change goes uncounted for want of a
 * process that stayed up. It carries the change's facts the report folds in (action, time,
 * service, status and reason codes), never a note or anything about the person.
 */
export interface ReportCountPayload {
  kind: 'report-count';
  version: number;
  event: Pick<AuditEvent, 'referralId' | 'at' | 'action' | 'actor' | 'detail'>;
}

export function isReportCountPayload(payload: Record<string, unknown>): payload is ReportCountPayload & Record<string, unknown> {
  return payload.kind === 'report-count';
}

const COUNTED_DETAIL = ['serviceId', 'status', 'reason'] as const;

export function reportCountMessage(referral: Pick<Referral, 'id' | 'version'>, event: AuditEvent): OutboxMessage {
  const detail = Object.fromEntries(COUNTED_DETAIL.filter((name) => typeof event.detail[name] === 'string').map((name) => [name, event.detail[name]]));
  const payload: ReportCountPayload = { kind: 'report-count', version: referral.version, event: { referralId: referral.id, at: event.at, action: event.action, actor: { id: event.actor.id }, detail } };
  // Keyed by the event as well as the version, so no two changes share a key. A count done twice
  // counts once (record() goes by version); a write that keeps the version queues none at all.
  return { key: `${referral.id}:${referral.version}:report:${event.action}:${event.at}`, channel: 'signpost', payload: { ...payload } };
}

export class ReportTotals {
  /**
   * The counting under way in this process, per month. Every change in a month updates that
   * month's totals row, so changes counted side by side (the dispatcher's lanes) would mostly
   * conflict and try again, three requests a try; here they take turns instead. Other
   * processes' counts still meet on the row's eTag.
   */
  private readonly counting = new Map<string, Promise<void>>();
  /**
   * Each month's totals as this process last wrote them, with their eTag: the next count in the
   * month starts from them instead of reading the row again. Written elsewhere meanwhile, the
   * eTag no longer matches, the write is refused, and the row is read afresh.
   */
  private readonly written = new Map<string, MonthTotals>();

  constructor(
    private readonly deps: {
      counters: ReportCounterRepository;
      referrals: ReferralRepository;
      calendar: WorkingCalendar;
    },
  ) {}

  /**
   * Counts a queued change (the dispatcher runs this right after the reply). The referral as
   * stored now: when it is still the version the change made, its event is folded into the
   * history; when it has moved on, its trail is read again. Idempotent, like record().
   * `justRead`: the referral as the caller read it a moment ago, so it is not read twice.
   */
  async countQueued(referralId: string, payload: ReportCountPayload, justRead?: Referral): Promise<void> {
    const current = justRead ?? (await this.deps.referrals.get(referralId))?.referral;
    if (!current) return;
    await this.record(current, current.version === payload.version ? (payload.event as AuditEvent) : undefined);
  }

  /** Counts the referral as it now is; `event` is the change that made it so. Idempotent. */
  async record(changed: Referral, event?: AuditEvent): Promise<void> {
    const month = changed.createdAt.slice(0, 7);
    const turn = (this.counting.get(month) ?? Promise.resolve()).then(() => this.recordInMonth(month, changed, event));
    // The next count waits for this one, whether it succeeds or fails.
    const done = turn.catch(() => undefined);
    this.counting.set(month, done);
    try {
      await turn;
    } finally {
      if (this.counting.get(month) === done) this.counting.delete(month);
    }
  }

  private async recordInMonth(month: string, changed: Referral, event: AuditEvent | undefined): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      let referral = changed;
      const stored = await this.deps.counters.contribution(month, referral.id);
      if (stored && stored.contribution.version >= referral.version) return; // counted already, or a later version is
      let history: CaseHistory;
      if (stored && event && stored.contribution.version === referral.version - 1) {
        history = historyAfter(stored.contribution.history, event, referral);
      } else if (!stored && event?.action === 'referral.submitted' && referral.version === 1) {
        // A new referral's first count: its trail so far is this one event as far as the report
        // is concerned (any other change it counts makes a later version), so it is not read.
        history = caseHistory(referral, [event]);
      } else {
        // A gap (or the first count): the record, then its whole trail, which holds at least the
        // record's changes. Events folded twice later count once (CaseHistory.folded).
        referral = (await this.deps.referrals.get(referral.id))?.referral ?? referral;
        history = caseHistory(referral, await this.deps.referrals.audit(referral.id));
      }
      const next: Contribution = { referralId: referral.id, version: referral.version, history, rows: contributions(referral, history, this.deps.calendar) };
      const totals = this.written.get(month) ?? (await this.deps.counters.totals(month));
      this.written.delete(month);
      const rows = sumRows([...totals.rows, ...difference(stored?.contribution.rows ?? [], next.rows)]);
      const written = [...rows.values()].filter((row) => JSON.stringify(normalised(row.counters)) !== EMPTY);
      try {
        const now = await this.deps.counters.apply(month, next, stored?.etag, { rows: written, etag: totals.etag });
        if (now.etag) this.written.set(month, now);
        return;
      } catch (error) {
        if (!(error instanceof ReportCounterConflict) || attempt >= ATTEMPTS) throw error;
        // Changes in the same month meet on its totals row: wait a little, differently each time.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
      }
    }
  }

  /** The year's counters: one totals row per month (months x services x practices counters), read together. */
  async year(year: number): Promise<Array<{ key: RowKey; counters: ReportCounters }>> {
    return this.deps.counters.rows(monthsOf(year));
  }

  /**
   * Recomputes a year's counters from its referrals and their trails; returns the rows that
   * differed from what was stored (empty when the running totals were right), and writes the
   * recomputed ones.
   */
  async rebuild(year: number): Promise<{ referrals: number; differing: string[] }> {
    const referrals = await this.deps.referrals.listCreatedIn(`${year}-01-01T00:00:00.000Z`, `${year + 1}-01-01T00:00:00.000Z`);
    const recomputed: Contribution[] = await Promise.all(
      referrals.map(async (referral) => {
        const history = caseHistory(referral, await this.deps.referrals.audit(referral.id));
        return { referralId: referral.id, version: referral.version, history, rows: contributions(referral, history, this.deps.calendar) };
      }),
    );
    const expected = sumRows(recomputed.flatMap((contribution) => contribution.rows));
    const stored = sumRows(await this.deps.counters.storedRows(monthsOf(year)));
    const differing = [...new Set([...expected.keys(), ...stored.keys()])].filter(
      (key) => JSON.stringify(normalised(expected.get(key)?.counters)) !== JSON.stringify(normalised(stored.get(key)?.counters)),
    );
    for (const month of monthsOf(year)) {
      this.written.delete(month);
      const inMonth = recomputed.filter((contribution) => contribution.history.month === month);
      await this.deps.counters.clearMonth(month);
      await this.deps.counters.writeMonth(month, inMonth, [...expected.values()].filter((row) => row.key.month === month));
    }
    return { referrals: referrals.length, differing };
  }
}

const EMPTY = JSON.stringify(emptyCounters());

/** Per row: what to add to go from the old contribution to the new one. */
function difference(before: Contribution['rows'], after: Contribution['rows']): Contribution['rows'] {
  const rows = new Map<string, { key: RowKey; counters: ReportCounters }>();
  for (const row of after) rows.set(rowKeyText(row.key), { key: row.key, counters: row.counters });
  for (const row of before) {
    const text = rowKeyText(row.key);
    rows.set(text, { key: row.key, counters: addCounters(rows.get(text)?.counters ?? emptyCounters(), row.counters, -1) });
  }
  return [...rows.values()].filter((row) => JSON.stringify(normalised(row.counters)) !== EMPTY);
}

/** Counters compared by value: floating sums rounded, zero entries dropped, keys in order. */
function normalised(counters: ReportCounters | undefined): ReportCounters {
  const value = counters ?? emptyCounters();
  const round = (n: number) => Math.round(n * 1e6) / 1e6 + 0;
  const sorted = (record: Record<string, number>) => Object.fromEntries(Object.entries(record).filter(([, n]) => n !== 0).sort(([a], [b]) => a.localeCompare(b)));
  return {
    ...value,
    declined: sorted(value.declined),
    closed: sorted(value.closed),
    daysToAccept: sorted(value.daysToAccept),
    daysToFirstContact: sorted(value.daysToFirstContact),
    swemwbs: { ...value.swemwbs, sumChange: round(value.swemwbs.sumChange) },
    ons4: { n: value.ons4.n, sumChange: Object.fromEntries(Object.entries(value.ons4.sumChange).map(([key, n]) => [key, round(n)])) as ReportCounters['ons4']['sumChange'] },
  };
}
