import { expect } from 'chai';
import { parseHoursRange, parseWorkingDays, WorkingCalendar } from '../../domain/supervision/workingCalendar';
import { bankHolidays } from '../../bot/supervision/bankHolidays';

const london = new WorkingCalendar(undefined, bankHolidays('GB-ENG'));
const at = (iso: string) => new Date(iso);

describe('Working calendar (09:00-17:00 Europe/London, Monday to Friday, England and Wales bank holidays)', () => {
  it('counts opening as working time and closing as not, on weekdays only', () => {
    expect(london.isWorkingTime(at('2026-11-24T09:00:00Z'))).to.equal(true); // Tuesday, GMT
    expect(london.isWorkingTime(at('2026-11-24T08:59:00Z'))).to.equal(false);
    expect(london.isWorkingTime(at('2026-11-24T16:59:00Z'))).to.equal(true);
    expect(london.isWorkingTime(at('2026-11-24T17:00:00Z'))).to.equal(false);
    expect(london.isWorkingTime(at('2026-11-28T12:00:00Z'))).to.equal(false); // Saturday
  });

  it('keeps 09:00 local through British Summer Time @safety', () => {
    expect(london.isWorkingTime(at('2026-07-01T08:00:00Z'))).to.equal(true); // 09:00 BST
    expect(london.isWorkingTime(at('2026-07-01T16:00:00Z'))).to.equal(false); // 17:00 BST
    expect(london.nextWorkingTime(at('2026-07-04T10:00:00Z')).toISOString()).to.equal('2026-07-06T08:00:00.000Z');
  });

  it('skips bank holidays, including substitute days and one-off ones @safety', () => {
    // Christmas 2026: Friday 25th, Boxing Day on Saturday so Monday 28th is the substitute day.
    expect(london.nextWorkingTime(at('2026-12-24T17:30:00Z')).toISOString()).to.equal('2026-12-29T09:00:00.000Z');
    expect(london.isWorkingDay('2026-12-28')).to.equal(false);
    expect(london.isWorkingDay('2022-09-19')).to.equal(false); // the Queen's funeral
    expect(london.isWorkingDay('2026-08-31')).to.equal(false); // summer bank holiday
    expect(london.isWorkingDay('2026-09-01')).to.equal(true);
  });

  it('adds working days as working hours: Monday 10:00 + 2 is Wednesday 10:00', () => {
    expect(london.addWorkingDays(at('2026-11-23T10:00:00Z'), 2).toISOString()).to.equal('2026-11-25T10:00:00.000Z');
  });

  it('starts counting at the next opening when the clock starts outside hours @safety', () => {
    // Friday 18:00 + 2 working days: all of Monday and Tuesday, so Wednesday at opening.
    expect(london.addWorkingDays(at('2026-11-27T18:00:00Z'), 2).toISOString()).to.equal('2026-12-02T09:00:00.000Z');
  });

  it('counts working hours across a night, a weekend and the clocks going forward @safety', () => {
    expect(london.addWorkingHours(at('2026-11-24T15:00:00Z'), 4).toISOString()).to.equal('2026-11-25T11:00:00.000Z');
    // Friday 27 March 2026 15:00 GMT + 4 working hours: 2 on Friday, 2 on Monday (now BST).
    expect(london.addWorkingHours(at('2026-03-27T15:00:00Z'), 4).toISOString()).to.equal('2026-03-30T10:00:00.000Z');
  });

  it('skips Easter when counting: Thursday 16:00 + 2 working days is the Wednesday after @safety', () => {
    // 1 hour on Thursday 2 April, Good Friday and Easter Monday off, 8 on Tuesday, 7 on Wednesday.
    expect(london.addWorkingDays(at('2026-04-02T15:00:00Z'), 2).toISOString()).to.equal('2026-04-08T15:00:00.000Z');
  });

  it('is configurable: other hours, days and time zones', () => {
    const parttime = new WorkingCalendar({ timeZone: 'Europe/London', ...parseHoursRange('10:00-14:00')!, days: parseWorkingDays('tue,thu')! });
    expect(parttime.nextWorkingTime(at('2026-11-24T15:00:00Z')).toISOString()).to.equal('2026-11-26T10:00:00.000Z');
    expect(parttime.addWorkingDays(at('2026-11-24T10:00:00Z'), 1).toISOString()).to.equal('2026-11-26T10:00:00.000Z');
    const newYork = new WorkingCalendar({ timeZone: 'America/New_York', startMinutes: 540, endMinutes: 1020, days: [1, 2, 3, 4, 5] });
    expect(newYork.isWorkingTime(at('2026-11-24T14:00:00Z'))).to.equal(true); // 09:00 EST
    expect(newYork.isWorkingTime(at('2026-11-24T13:59:00Z'))).to.equal(false);
  });

  it('parses settings strictly and refuses calendars that could never open', () => {
    expect(parseHoursRange('09:00-17:00')).to.deep.equal({ startMinutes: 540, endMinutes: 1020 });
    expect(parseHoursRange('17:00-09:00')).to.equal(undefined);
    expect(parseHoursRange('nine to five')).to.equal(undefined);
    expect(parseWorkingDays('mon-fri')).to.deep.equal([1, 2, 3, 4, 5]);
    expect(parseWorkingDays('mon,wed-thu')).to.deep.equal([1, 3, 4]);
    expect(parseWorkingDays('fri-mon')).to.equal(undefined);
    expect(parseWorkingDays('someday')).to.equal(undefined);
    expect(() => new WorkingCalendar({ timeZone: 'Europe/London', startMinutes: 540, endMinutes: 1020, days: [] })).to.throw(RangeError);
    expect(() => new WorkingCalendar({ timeZone: 'Mars/Olympus', startMinutes: 540, endMinutes: 1020, days: [1] })).to.throw(RangeError);
    expect(() => bankHolidays('XX-YY')).to.throw(/Unknown holiday region/);
    expect(bankHolidays('none')('2026-12-25')).to.equal(false);
  });
  it('answers from its memory exactly as afresh, across the clocks changing and after the memory fills @safety', () => {
    const remembering = new WorkingCalendar(undefined, bankHolidays('GB-ENG'));
    // Every 7 hours 13 minutes from early March to mid-November 2026: both clock changes, bank
    // holidays, nights and weekends; over 6,000 starting points, more than the memory keeps.
    for (let time = Date.parse('2026-03-01T00:00:00Z'); time < Date.parse('2026-11-15T00:00:00Z'); time += (7 * 60 + 13) * 60_000) {
      const from = new Date(time);
      const fresh = new WorkingCalendar(undefined, bankHolidays('GB-ENG'));
      expect(remembering.addWorkingDays(from, 2).toISOString()).to.equal(fresh.addWorkingDays(from, 2).toISOString());
      expect(remembering.nextWorkingTime(from).toISOString()).to.equal(fresh.nextWorkingTime(from).toISOString());
      expect(remembering.isWorkingTime(from)).to.equal(fresh.isWorkingTime(from));
    }
  });
});
