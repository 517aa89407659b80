import type { DirectoryRepository } from '../../storage/directoryRepository';
import type { EmailIntakeRepository } from '../../storage/emailIntakeRepository';

/**
 * The inboxes that take a service's referrals: those the directory file lists and those an
 * admin added with `intake`. Every new referral, reminder and digest for the service reaches
 * each of them, and whoever acts from one of them acts as the service's link worker.
 */
export class IntakeAddresses {
  constructor(private readonly deps: { directory: DirectoryRepository; intake: EmailIntakeRepository }) {}

  async of(serviceId: string): Promise<string[]> {
    const [service, added] = await Promise.all([this.deps.directory.get(serviceId), this.deps.intake.list(serviceId)]);
    return [...new Set([...(service?.intakeEmails ?? []), ...added.map((address) => address.email)].map((email) => email.toLowerCase()))];
  }
}
