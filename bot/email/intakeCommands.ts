import { z } from 'zod';
import { isAdmin } from '../supervision/supervision';
import { escapeCardText } from '../../domain/text';
import type { DirectoryRepository } from '../../storage/directoryRepository';
import type { EmailIntakeRepository } from '../../storage/emailIntakeRepository';
import type { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import type { Logger } from '../app/log';

/**
 * `intake` in an admin's chat with Signpost: how a service receives referrals, and which inboxes
 * take them. `intake <service>` shows; `intake <service> email <address>` adds an inbox;
 * `intake <service> email remove <address>` removes one. Only SIGNPOST_ADMINS may change them.
 */
export interface IntakeCommand {
  serviceId: string;
  change?: 'add' | 'remove';
  email?: string;
}

const addressSchema = z.string().trim().toLowerCase().email().max(254);

export class IntakeCommands {
  constructor(
    private readonly deps: {
      directory: DirectoryRepository;
      intake: EmailIntakeRepository;
      channelLinks: ServiceChannelRepository;
      admins: string[];
      logger: Logger;
      now: () => Date;
    },
  ) {}

  async handle(speaker: { id: string; name?: string; aadObjectId?: string; email?: string }, command: IntakeCommand): Promise<string> {
    if (!isAdmin(this.deps.admins, { teamsUserId: speaker.id, aadObjectId: speaker.aadObjectId, email: speaker.email })) {
      return '**intake** is for Signpost admins: ask one to add or remove the inboxes a service takes referrals at.';
    }
    if (!command.serviceId) return 'Say which service, for example **intake sail**, **intake sail email referrals@example.org** or **intake sail email remove referrals@example.org**.';
    const service = await this.deps.directory.get(command.serviceId);
    if (!service) return `There is no service "${escapeCardText(command.serviceId)}" in the directory.`;
    if (!service.takesReferrals) return `${service.name} takes no referrals, so it has no intake.`;

    if (command.change) {
      const address = addressSchema.safeParse(command.email ?? '');
      if (!address.success) return `Give an email address, for example **intake ${service.id} email${command.change === 'remove' ? ' remove' : ''} referrals@example.org**.`;
      if (command.change === 'add') {
        await this.deps.intake.add({ serviceId: service.id, email: address.data, addedBy: { id: speaker.id, name: speaker.name }, addedAt: this.deps.now().toISOString() });
        this.deps.logger.info('intake-address-added', { serviceId: service.id });
      } else if (service.intakeEmails?.includes(address.data)) {
        return `${escapeCardText(address.data)} is listed in the directory file for ${service.name}; remove it there and import the directory again.`;
      } else if (!(await this.deps.intake.remove(service.id, address.data))) {
        return `${escapeCardText(address.data)} was not an intake address of ${service.name}; nothing changed.`;
      } else {
        this.deps.logger.info('intake-address-removed', { serviceId: service.id });
      }
    }
    return this.describe(service.id, service.name, service.intakeEmails ?? []);
  }

  private async describe(serviceId: string, name: string, listed: string[]): Promise<string> {
    const [added, channel] = await Promise.all([this.deps.intake.list(serviceId), this.deps.channelLinks.forService(serviceId)]);
    const inboxes = [...listed.map((email) => `${email} (directory file)`), ...added.filter((entry) => !listed.includes(entry.email)).map((entry) => entry.email)];
    const lines = [
      `**${name}** receives referrals:`,
      channel ? '- in its Teams channel' : '- in no Teams channel (a team says **link ' + serviceId + '** in a channel to add one)',
      inboxes.length ? `- by email at: ${inboxes.map(escapeCardText).join(', ')}` : '- by email at no address',
    ];
    if (!channel && !inboxes.length) lines.push('New referrals wait in Signpost until a channel is linked or an inbox is added.');
    return lines.join('\n');
  }
}
