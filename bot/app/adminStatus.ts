import { STATUS_LABELS } from '../../domain/referral/lifecycle';
import type { OutboxRepository } from '../../storage/outboxRepository';
import type { ReferralRepository } from '../../storage/referralRepository';
import type { DirectoryRepository } from '../../storage/directoryRepository';

/**
 * `status` for Signpost admins in a chat: what is stuck (notifications waiting and failed for
 * good), what the safety check stopped this month, and one referral's state by its reference.
 * Never anything about the person: references, statuses, services and counts only.
 */
export class AdminStatus {
  constructor(
    private readonly deps: { outbox: OutboxRepository; referrals: ReferralRepository; directory: DirectoryRepository; now: () => Date },
  ) {}

  async overview(): Promise<string> {
    const [counts, failed, events] = await Promise.all([this.deps.outbox.counts(), this.deps.outbox.failed(), this.deps.referrals.eventsWithoutReferral(this.deps.now())]);
    const lines = failed.slice(0, 10).map((entry) => `- ${String(entry.payload.reference ?? entry.referralId)} by ${entry.channel}: ${entry.lastError ?? 'unknown error'}`);
    const stopped = events.filter((event) => event.action === 'referral.stopped-for-safety').length;
    const noConsent = events.filter((event) => event.action === 'referral.consent-not-given').length;
    return [
      `Notifications: ${counts.pending} waiting, ${counts.failed} failed for good.`,
      ...(lines.length ? ['Failed:', ...lines] : []),
      `This month: ${stopped} referral${stopped === 1 ? '' : 's'} stopped at the safety check, ${noConsent} ended without consent.`,
      'Say **status** and a reference (for example **status SP-2026-000123**) for one referral.',
    ].join('\n');
  }

  async referral(reference: string): Promise<string> {
    const stored = await this.deps.referrals.getByReference(reference.toUpperCase());
    if (!stored) return `There is no referral ${reference.toUpperCase()} in Signpost.`;
    const referral = stored.referral;
    const service = (await this.deps.directory.get(referral.serviceId))?.name ?? referral.serviceId;
    const waiting = (referral.escalations ?? []).filter((escalation) => !escalation.acknowledged && !escalation.resolution).length;
    return [
      `${referral.reference}: ${STATUS_LABELS[referral.status]} with ${service}${referral.owner ? `, owned by ${referral.owner.name}` : ''}.`,
      `Last change ${referral.updatedAt.slice(0, 16).replace('T', ' ')} UTC (version ${referral.version}); ${referral.channelPost ? 'posted in the service channel' : 'not posted in a channel yet'}.`,
      ...(waiting ? [`${waiting} escalation${waiting === 1 ? '' : 's'} waiting for a supervisor.`] : []),
    ].join('\n');
  }
}
