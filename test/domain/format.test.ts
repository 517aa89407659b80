import { expect } from 'chai';
import { formatDate, formatShortTime, formatTime } from '../../domain/format';

/** Around the clock changes and the year's turn, in and out of summer time, at odd minutes. */
const MOMENTS = [
  '2026-11-24T12:00:00.000Z',
  '2026-03-29T00:59:59.000Z',
  '2026-03-29T01:00:00.000Z',
  '2026-10-25T00:30:00.000Z',
  '2026-10-25T01:30:00.000Z',
  '2026-12-31T23:59:00.000Z',
  '2027-01-01T00:00:00.000Z',
  '2026-07-04T09:05:00.000Z',
];
const ZONES = ['Europe/London', 'UTC', 'America/New_York', 'Asia/Kolkata'];

describe('Dates and times in words (pure)', () => {
  it('reads a time as people in London see it', () => {
    expect(formatShortTime('2026-11-24T12:00:00.000Z')).to.equal('24 Nov, 12:00');
    expect(formatShortTime('2026-07-04T09:05:00.000Z')).to.equal('4 Jul, 10:05');
    expect(formatTime('2026-07-04T09:05:00.000Z', 'Europe/London')).to.equal('on Sat 4 Jul, 10:05');
    expect(formatDate('2026-12-31T23:59:00.000Z', 'Asia/Kolkata')).to.equal('1 Jan');
  });

  it('says exactly what toLocaleString says, in every time zone, however often it is asked (the formatters are kept)', () => {
    for (let round = 0; round < 2; round += 1) {
      for (const zone of ZONES) {
        for (const iso of MOMENTS) {
          const date = new Date(iso);
          expect(formatShortTime(iso, zone)).to.equal(date.toLocaleString('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: zone }));
          expect(formatTime(iso, zone)).to.equal(`on ${date.toLocaleString('en-GB', { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: zone })}`);
          expect(formatDate(iso, zone)).to.equal(date.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: zone }));
        }
      }
    }
  });
});
