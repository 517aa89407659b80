import { expect } from 'chai';
import type { AuditEvent, Referral } from '../../domain/referral/referral';
import { scoreSwemwbs } from '../../domain/referral/outcomes';
import { WorkingCalendar } from '../../domain/supervision/workingCalendar';
import { DEFAULT_SUPERVISION } from '../../domain/supervision/policy';
import { brokenRules, caseHistory, isOverdue, median } from '../../domain/reports/caseHistory';
import { serviceDashboard } from '../../domain/reports/serviceDashboard';
import { addCounters, contributions, emptyCounters, HIDDEN, histogramMedian, monthlyMade, partToHide, publishedCount, publishedRow, publishedRows, reportCsv, ReportCounters, sumRows } from '../../domain/reports/boroughReport';
import { sampleReferral } from '../support/fixtures';

// Monday 2 November 2026, London (GMT): working hours 09:00-17:00, Monday to Friday.
const calendar = new WorkingCalendar(undefined, (date) => date === '2026-11-04');
const MON_10 = '2026-11-02T10:00:00.000Z';

function event(action: AuditEvent['action'], at: string, detail: Record<string, string> = {}): AuditEvent {
  return { referralId: null, at, actor: { id: '29:x' }, action, detail };
}

describe('Report arithmetic', () => {
  describe('working days', () => {
    it('counts only working hours, as fractions of a working day, skipping weekends and holidays', () => {
      expect(calendar.workingDaysBetween(new Date(MON_10), new Date('2026-11-02T14:00:00Z'))).to.equal(0.5);
      // Friday 16:00 to Monday 10:00 is two working hours.
      expect(calendar.workingDaysBetween(new Date('2026-11-06T16:00:00Z'), new Date('2026-11-09T10:00:00Z'))).to.equal(0.25);
      // Tuesday 09:00 to Thursday 09:00 over a Wednesday holiday is one working day.
      expect(calendar.workingDaysBetween(new Date('2026-11-03T09:00:00Z'), new Date('2026-11-05T09:00:00Z'))).to.equal(1);
      expect(calendar.workingDaysBetween(new Date('2026-11-05T09:00:00Z'), new Date('2026-11-03T09:00:00Z'))).to.equal(0);
    });

    it('takes medians of odd and even counts', () => {
      expect(median([])).to.equal(undefined);
      expect(median([3, 1, 2])).to.equal(2);
      expect(median([4, 1, 3, 2])).to.equal(2.5);
      expect(histogramMedian({ '0.5': 1, '2.0': 2, '10.0': 1 })).to.equal(2);
      expect(histogramMedian({ '1.0': 1, '3.0': 1 })).to.equal(2);
      expect(histogramMedian({})).to.equal(undefined);
    });
  });

  describe('a referral’s history', () => {
    it('follows it through a redirect, acceptance, first contact and closing', () => {
      const referral = sampleReferral({ createdAt: MON_10, serviceId: 'other', status: 'closed' });
      const history = caseHistory(referral, [
        event('referral.submitted', MON_10, { serviceId: 'sail' }),
        event('referral.redirect', '2026-11-02T12:00:00.000Z', { serviceId: 'other' }),
        event('referral.accept', '2026-11-03T10:00:00.000Z'),
        event('referral.update', '2026-11-05T10:00:00.000Z', { status: 'contacted' }),
        event('referral.update', '2026-11-06T10:00:00.000Z', { status: 'first-meeting-held' }),
        event('referral.close', '2026-11-20T10:00:00.000Z', { reason: 'completed' }),
      ]);
      expect(history).to.deep.include({ month: '2026-11', practice: 'Lordship Lane Surgery' });
      expect(history.episodes).to.deep.equal([
        { serviceId: 'sail', routedAt: MON_10, ended: { kind: 'redirected', at: '2026-11-02T12:00:00.000Z' } },
        {
          serviceId: 'other',
          routedAt: '2026-11-02T12:00:00.000Z',
          acceptedAt: '2026-11-03T10:00:00.000Z',
          firstContactAt: '2026-11-05T10:00:00.000Z',
          ended: { kind: 'closed', reason: 'completed', at: '2026-11-20T10:00:00.000Z' },
        },
      ]);
    });

    it('finds the reminder rules a case broke, and whether it is overdue now', () => {
      const episode = { serviceId: 'sail', routedAt: MON_10, acceptedAt: '2026-11-09T10:00:00.000Z' };
      // Accepted after 4 working days (Wednesday is a holiday): past the 2-day reminder, not the 5-day escalation.
      const now = new Date('2026-11-20T10:00:00Z');
      expect(brokenRules(episode, DEFAULT_SUPERVISION, calendar, now)).to.deep.equal(['accept-reminder', 'first-contact']);
      expect(isOverdue('accepted', episode, DEFAULT_SUPERVISION, calendar, now)).to.equal(true);
      expect(isOverdue('contacted', episode, DEFAULT_SUPERVISION, calendar, now)).to.equal(false);
      expect(isOverdue('closed', episode, DEFAULT_SUPERVISION, calendar, now)).to.equal(false);
      expect(brokenRules({ serviceId: 'sail', routedAt: MON_10 }, DEFAULT_SUPERVISION, calendar, new Date('2026-11-03T10:00:00Z'))).to.deep.equal([]);
      const longOpen = { ...episode, firstContactAt: '2026-11-10T10:00:00.000Z' };
      expect(brokenRules(longOpen, DEFAULT_SUPERVISION, calendar, new Date('2027-03-01T10:00:00Z'))).to.deep.equal(['accept-reminder', 'engagement-review']);
    });
  });

  describe('a service’s dashboard', () => {
    it('counts open referrals, broken rules, escalations, medians, the wait and outcome completion', () => {
      const now = new Date('2026-11-10T12:00:00Z');
      const waiting = sampleReferral({ createdAt: MON_10 });
      const accepted = sampleReferral({ createdAt: MON_10, status: 'contacted', acceptedAt: '2026-11-02T14:00:00.000Z' });
      const closed = sampleReferral({
        createdAt: MON_10,
        status: 'closed',
        acceptedAt: '2026-11-02T12:00:00.000Z',
        wellbeing: { baseline: scoreSwemwbs([3, 3, 3, 3, 3, 3, 3], MON_10), closing: scoreSwemwbs([4, 4, 4, 4, 4, 4, 4], '2026-11-09T10:00:00.000Z') },
        escalations: [],
      });
      const cases = [
        { referral: waiting, history: caseHistory(waiting, [event('referral.submitted', MON_10, { serviceId: 'sail' })]) },
        {
          referral: accepted,
          history: caseHistory(accepted, [event('referral.submitted', MON_10, { serviceId: 'sail' }), event('referral.accept', '2026-11-02T14:00:00.000Z'), event('referral.update', '2026-11-03T14:00:00.000Z')]),
        },
        {
          referral: closed,
          history: caseHistory(closed, [event('referral.submitted', MON_10, { serviceId: 'sail' }), event('referral.accept', '2026-11-02T12:00:00.000Z'), event('referral.close', '2026-11-09T10:00:00.000Z', { reason: 'completed' })]),
        },
      ];
      const dashboard = serviceDashboard('sail', cases, DEFAULT_SUPERVISION, calendar, now);
      expect(dashboard.openByStatus).to.deep.equal([
        { status: 'submitted', label: 'New', count: 1 },
        { status: 'contacted', label: 'Contacted', count: 1 },
      ]);
      // The waiting one is past both accept deadlines; the closed one never had first contact recorded in time.
      expect(dashboard.breaches).to.deep.equal([
        { rule: 'accept-reminder', count: 1 },
        { rule: 'accept-escalation', count: 1 },
        { rule: 'first-contact', count: 0 },
        { rule: 'engagement-review', count: 0 },
      ]);
      expect(dashboard.medianDaysToAccept).to.equal(0.4); // 0.25 and 0.5 working days
      expect(dashboard.medianDaysToFirstContact).to.equal(1);
      expect(dashboard.waiting.count).to.equal(1);
      expect(dashboard.waiting.longestDays).to.equal(5.3); // Monday 10:00 to the next Tuesday 12:00, less the holiday: 42 hours
      expect(dashboard.outcomeCompletion).to.deep.equal({ closed: 1, withBothScores: 1, share: 1 });
    });
  });

  describe('the borough report', () => {
    function closedReferral(practice: string, change: [number, number]): { referral: Referral; audit: AuditEvent[] } {
      const referral = sampleReferral({
        createdAt: MON_10,
        status: 'closed',
        referrer: { teamsUserId: '29:r', name: 'Amira Patel', email: 'a@practice.example', practice },
        wellbeing: { baseline: scoreSwemwbs(Array(7).fill(change[0]), MON_10), closing: scoreSwemwbs(Array(7).fill(change[1]), '2026-11-20T10:00:00.000Z') },
      });
      const audit = [
        event('referral.submitted', MON_10, { serviceId: 'sail' }),
        event('referral.accept', '2026-11-02T14:00:00.000Z'),
        event('referral.update', '2026-11-03T14:00:00.000Z'),
        event('referral.close', '2026-11-20T10:00:00.000Z', { reason: 'completed' }),
      ];
      return { referral, audit };
    }

    it('sums referrals into month x service x practice rows, and taking a contribution back undoes it', () => {
      const made = [closedReferral('Lordship Lane Surgery', [2, 3]), closedReferral('Lordship Lane Surgery', [3, 3]), closedReferral('Another Practice', [2, 4])];
      const rows = sumRows(made.flatMap(({ referral, audit }) => contributions(referral, caseHistory(referral, audit), calendar)));
      expect([...rows.values()].map((row) => row.key)).to.deep.equal([
        { month: '2026-11', serviceId: 'sail', practice: 'Lordship Lane Surgery' },
        { month: '2026-11', serviceId: 'sail', practice: 'Another Practice' },
      ]);
      const lordship = [...rows.values()][0].counters;
      expect(lordship).to.deep.include({ made: 2, accepted: 2, redirected: 0, closed: { completed: 2 }, daysToAccept: { '0.5': 2 }, daysToFirstContact: { '1.0': 2 } });
      expect(lordship.swemwbs.n).to.equal(2);
      const [again] = contributions(made[0].referral, caseHistory(made[0].referral, made[0].audit), calendar);
      const without = addCounters(lordship, again.counters, -1);
      expect(without).to.deep.equal(sumRows(contributions(made[1].referral, caseHistory(made[1].referral, made[1].audit), calendar)).values().next().value!.counters);
      expect(addCounters(emptyCounters(), emptyCounters())).to.deep.equal(emptyCounters());
    });

    it('suppresses counts under 5 and leaves out averages over fewer than 5 referrals', () => {
      expect([0, 1, 4, 5, 12].map(publishedCount)).to.deep.equal(['0', '<5', '<5', '5', '12']);
      const few = sumRows(
        [closedReferral('P', [2, 3]), closedReferral('P', [2, 3])].flatMap(({ referral, audit }) => contributions(referral, caseHistory(referral, audit), calendar)),
      );
      const row = publishedRow(few.values().next().value!.key, few.values().next().value!.counters);
      expect(row).to.include({ made: '<5', accepted: '<5', closed: '<5', medianDaysToAccept: '', swemwbsMeanChange: '', swemwbsN: '<5', swemwbsImprovedShare: '' });
    });

    it('hides the next-smallest part beside a shown total when one part is "<5", so it cannot be worked out by subtraction', () => {
      expect(partToHide(7, [5, 2])).to.equal(0);
      expect(partToHide(7, [0, 2, 5])).to.equal(2);
      expect(partToHide(21, [9, 1, 6, 5])).to.equal(3); // the smallest of the others, not the first
      expect(partToHide(12, [6, 2, 4])).to.equal(undefined); // two "<5": the total gives only their sum
      expect(partToHide(3, [2, 1])).to.equal(undefined); // the total is "<5" itself
      expect(partToHide(10, [10, 0])).to.equal(undefined);
      expect(partToHide(0, [])).to.equal(undefined);
    });

    it('applies it to the reasons beside a row’s declined and closed, and to the rows beside a month’s referrals made', () => {
      const counters = (made: number, extra: Partial<ReportCounters> = {}): ReportCounters => ({ ...emptyCounters(), made, ...extra });
      const row = publishedRow({ month: '2026-11', serviceId: 'sail', practice: 'P' }, counters(9, { declined: { 'no-capacity': 5, 'not-eligible': 2 }, closed: { completed: 6, moved: 7 } }));
      expect(row.declined).to.equal('7');
      expect(row.declinedByReason).to.deep.equal({ 'no-capacity': HIDDEN, 'not-eligible': '<5' });
      expect(row.closedByReason).to.deep.equal({ completed: '6', moved: '7' });

      const rows = publishedRows([
        { key: { month: '2026-10', serviceId: 'sail', practice: 'A' }, counters: counters(9) },
        { key: { month: '2026-10', serviceId: 'sail', practice: 'B' }, counters: counters(2) },
        { key: { month: '2026-10', serviceId: 'sail', practice: 'C' }, counters: counters(6) },
        { key: { month: '2026-11', serviceId: 'sail', practice: 'A' }, counters: counters(3) },
        { key: { month: '2026-11', serviceId: 'sail', practice: 'B' }, counters: counters(4) },
        { key: { month: '2026-12', serviceId: 'sail', practice: 'A' }, counters: counters(8) },
      ]);
      // October's total (17) is shown in the chart: B's "<5" would be 17 - 9 - 6, so C is hidden.
      expect(rows.map((published) => published.made)).to.deep.equal(['9', '<5', HIDDEN, '<5', '<5', '8']);
      expect(reportCsv(rows, ['no-capacity'], ['completed']).split('\r\n')[3]).to.match(/^2026-10,sail,C,\*,/);
    });

    it('reports the SWEMWBS mean change and the share improving by the minimal important difference', () => {
      const changes: Array<[number, number]> = [[2, 3], [2, 3], [3, 3], [2, 4], [3, 4]];
      const referrals = changes.map((change) => closedReferral('P', change));
      const rows = sumRows(referrals.flatMap(({ referral, audit }) => contributions(referral, caseHistory(referral, audit), calendar)));
      const row = publishedRow(rows.values().next().value!.key, rows.values().next().value!.counters);
      const metric = (score: number) => (scoreSwemwbs(Array(7).fill(score), MON_10) as { metric: number }).metric;
      const deltas = changes.map(([before, after]) => metric(after) - metric(before));
      const mean = deltas.reduce((sum, delta) => sum + delta, 0) / deltas.length;
      expect(row.swemwbsMeanChange).to.equal(`+${mean.toFixed(2)}`);
      expect(row.swemwbsN).to.equal('5');
      expect(row.swemwbsImprovedShare).to.equal(`${Math.round((100 * deltas.filter((delta) => delta >= 3).length) / 5)}%`);
      expect(row.made).to.equal('5');
      expect(row.medianDaysToAccept).to.equal('0.5');
      expect(monthlyMade(rows.values(), 2026)[10]).to.deep.equal({ month: '2026-11', made: '5', value: 5 });
      expect(monthlyMade(rows.values(), 2026)[0]).to.deep.equal({ month: '2026-01', made: '0', value: 0 });
    });

    it('writes a CSV a spreadsheet cannot be tricked into running', () => {
      const { referral, audit } = closedReferral('=HYPERLINK("http://evil.example","x")', [2, 3]);
      const rows = sumRows(contributions(referral, caseHistory(referral, audit), calendar));
      const row = publishedRow(rows.values().next().value!.key, rows.values().next().value!.counters);
      const csv = reportCsv([row], ['no-capacity'], ['completed']);
      const [header, line] = csv.split('\r\n');
      expect(header.split(',').slice(0, 5)).to.deep.equal(['month', 'service', 'practice', 'made', 'accepted']);
      expect(line).to.contain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
    });
  });
});
