import Holidays from 'date-holidays';
import type { HolidayCheck } from '../../domain/supervision/workingCalendar';

/**
 * Public and bank holidays from `date-holidays`, a maintained rules library (it already knows
 * one-off days such as 19 September 2022 and substitute days), rather than a hand-kept list
 * that silently runs out. "GB-ENG" covers England and Wales, whose bank holidays are the
 * same; "none" turns holidays off.
 */
export function bankHolidays(region: string): HolidayCheck {
  if (region === 'none') return () => false;
  const [country, state] = region.split('-');
  const rules = state ? new Holidays(country, state) : new Holidays(country);
  if (!rules.getCountries()[country] || (state && !rules.getStates(country)?.[state])) {
    throw new RangeError(`Unknown holiday region "${region}"; use a code such as GB-ENG, GB-SCT or none`);
  }
  const years = new Map<number, Set<string>>();
  return (localDate) => {
    const year = Number(localDate.slice(0, 4));
    let dates = years.get(year);
    if (!dates) {
      dates = new Set(
        rules
          .getHolidays(year)
          .filter((holiday) => holiday.type === 'public' || holiday.type === 'bank')
          .map((holiday) => holiday.date.slice(0, 10)),
      );
      years.set(year, dates);
    }
    return dates.has(localDate);
  };
}
