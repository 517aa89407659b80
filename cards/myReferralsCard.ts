import template from './my-referrals.json';
import { renderCard } from './render';
import type { Referral } from '../domain/referral/referral';
import { STATUS_LABELS } from '../domain/referral/lifecycle';
import { escapeCardText } from '../domain/text';

const MAX_SHOWN = 20;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A referrer's referrals: status, owner and days since the last change, by reference only. */
export function myReferralsCard(referrals: Referral[], serviceNames: Map<string, string>, now: Date): Record<string, unknown> {
  const shown = referrals.slice(0, MAX_SHOWN);
  return renderCard(template, {
    total: referrals.length,
    shown: shown.length,
    referrals: shown.map((referral) => {
      const days = Math.max(0, Math.floor((now.getTime() - Date.parse(referral.updatedAt)) / DAY_MS));
      return {
        reference: referral.reference,
        service: escapeCardText(serviceNames.get(referral.serviceId) ?? referral.serviceId),
        status: STATUS_LABELS[referral.status],
        // The owner's name is their Teams display name, which they chose.
        owner: referral.owner ? `Owner: ${escapeCardText(referral.owner.name)}` : 'Not yet accepted',
        lastUpdate: days === 0 ? 'Last update today' : `Last update ${days} day${days === 1 ? '' : 's'} ago`,
      };
    }),
  });
}
