import myReferrals from './my-referrals.json';
import referralUpdate from './referral-update.json';
import service from './service.json';
import staffMessage from './staff-message.json';
import welcome from './welcome.json';
import consentDeclined from './referral/consent-declined.json';
import consent from './referral/consent.json';
import matches from './referral/matches.json';
import needs from './referral/needs.json';
import person from './referral/person.json';
import referrer from './referral/referrer.json';
import safetyStop from './referral/safety-stop.json';
import safety from './referral/safety.json';
import serviceReferral from './referral/service-referral.json';
import submitted from './referral/submitted.json';
import summary from './referral/summary.json';

/**
 * Every card template, by file name, for parsing them all when Signpost starts
 * (render.ts prepareTemplates): a test checks that every template file under cards/ is here.
 */
export const CARD_TEMPLATES: Readonly<Record<string, object>> = {
  'my-referrals.json': myReferrals,
  'referral-update.json': referralUpdate,
  'service.json': service,
  'staff-message.json': staffMessage,
  'welcome.json': welcome,
  'referral/consent-declined.json': consentDeclined,
  'referral/consent.json': consent,
  'referral/matches.json': matches,
  'referral/needs.json': needs,
  'referral/person.json': person,
  'referral/referrer.json': referrer,
  'referral/safety-stop.json': safetyStop,
  'referral/safety.json': safety,
  'referral/service-referral.json': serviceReferral,
  'referral/submitted.json': submitted,
  'referral/summary.json': summary,
};
