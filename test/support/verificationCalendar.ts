/**
 * The dates the directory-upkeep tests (services and activities alike) are built on: an entry
 * last checked on 26 October 2026 falls due 60 days later, on Christmas Day (a Friday); Monday
 * 28 December is the Boxing Day holiday, so the first working moment is 9:00 on the 29th.
 */
export const LAST_CHECKED = '2026-10-26';
export const FIRST_WORKING_MOMENT = '2026-12-29T09:00:00.000Z';
/** When each test's clock starts: a month before the entry falls due. */
export const UPKEEP_TEST_START = new Date('2026-11-25T10:00:00Z');
/** A lastVerified recent enough that the other entries stay out of the way. */
export const RECENTLY_CHECKED = '2026-11-20';
