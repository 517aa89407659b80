import { z } from 'zod';
import { escapeCardText } from '../../domain/text';
import { SUPERVISOR_ROLE_LABELS, SupervisorRole } from '../../domain/supervision/escalation';
import type { ReferralRepository } from '../../storage/referralRepository';
import type { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import type { SupervisorRepository } from '../../storage/supervisorRepository';
import type { ContactRepository } from '../../storage/contactRepository';
import type { DirectoryRepository } from '../../storage/directoryRepository';
import type { Logger } from '../app/log';
import type { ChannelPlace } from '../channels/serviceChannels';
import type { LinkWorkerRoster } from '../channels/roster';
import type { Supervision } from './supervision';

/**
 * `@Signpost supervisors` in a service's channel: who gets its escalations and reminders, and
 * (for team owners) adding or removing them. Teams' bot API marks owners inconsistently, so
 * the person who linked the channel and Signpost admins may manage supervisors too.
 */

const ROLE_WORDS: Record<string, SupervisorRole> = {
  manager: 'host-organisation',
  host: 'host-organisation',
  'host-organisation': 'host-organisation',
  clinical: 'clinical',
  clinician: 'clinical',
};

const email = z.string().trim().toLowerCase().email();

export interface Speaker {
  id: string;
  name?: string;
  aadObjectId?: string;
  email?: string;
  role?: string;
}

export interface SupervisorCommandDependencies {
  channelLinks: ServiceChannelRepository;
  supervisors: SupervisorRepository;
  contacts: ContactRepository;
  directory: DirectoryRepository;
  referrals: ReferralRepository;
  roster: LinkWorkerRoster;
  supervision: Supervision;
  logger: Logger;
  now: () => Date;
}

/** Who may change who looks after a service (its supervisors, its directory maintainers): team owners, whoever linked the channel, Signpost admins. */
export function mayManageService(who: Speaker, linkedById: string, supervision: Pick<Supervision, 'isAdmin'>): boolean {
  if (who.id === linkedById || who.role === 'owner') return true;
  return supervision.isAdmin({ teamsUserId: who.id, aadObjectId: who.aadObjectId, email: who.email });
}

export class SupervisorCommands {
  constructor(private readonly deps: SupervisorCommandDependencies) {}

  /** `who` is the person speaking, as their chat surface describes them (role: 'owner' for team owners). */
  async handle(where: ChannelPlace | undefined, who: Speaker, command: { change?: 'add' | 'remove'; email?: string; role?: string }): Promise<string> {
    if (!where) return "Say **supervisors** in the channel of the service they supervise.";
    const link = await this.deps.channelLinks.forChannel(where.channelId);
    if (!link) return 'This channel is not linked to a service yet. Say **link** and a service id first, for example **link sail**.';
    const service = await this.deps.directory.get(link.serviceId);
    const serviceName = service?.name ?? link.serviceId;
    if (!command.change) return this.list(link.serviceId, serviceName);

    if (!mayManageService(who, link.linkedBy.id, this.deps.supervision)) {
      return "Only the team's owners (or whoever linked this channel, or a Signpost admin) can change the supervisors. Nothing changed.";
    }
    const address = email.safeParse(command.email ?? '');
    if (!address.success) {
      return `Say the supervisor's email address, for example **supervisors ${command.change} helen.price@example.org${command.change === 'add' ? ' manager' : ''}**. Nothing changed.`;
    }
    const actor = { id: who.id, name: who.name ?? 'A team owner' };
    const at = this.deps.now().toISOString();

    if (command.change === 'remove') {
      const removed = await this.deps.supervisors.remove(link.serviceId, address.data);
      if (!removed) {
        const listed = service?.supervisors?.some((supervisor) => supervisor.email.toLowerCase() === address.data);
        return listed
          ? `${address.data} is listed as a supervisor in the service directory; ask whoever maintains the directory to change it. Nothing changed.`
          : `${address.data} is not a supervisor of ${serviceName}. Nothing changed.`;
      }
      await this.audit('supervisor.removed', actor, at, `Supervisor removed from ${serviceName} by ${actor.name}`, link.serviceId);
      return `${address.data} is no longer a supervisor of ${serviceName}.${await this.warnIfNone(link.serviceId)}`;
    }

    const role = command.role ? ROLE_WORDS[command.role] : 'host-organisation';
    if (!role) return `"${escapeCardText(command.role ?? "")}" is not a supervisor role: say **manager** (host organisation) or **clinical**. Nothing changed.`;
    const member = (await this.deps.roster.members(link.serviceId)).find((candidate) => candidate.email === address.data);
    await this.deps.supervisors.save({
      serviceId: link.serviceId,
      email: address.data,
      name: member?.name,
      role,
      teamsUserId: member?.id,
      addedBy: actor,
      addedAt: at,
    });
    if (member) await this.deps.contacts.remember({ teamsUserId: member.id, name: member.name, email: address.data, updatedAt: at });
    await this.audit('supervisor.added', actor, at, `Supervisor (${SUPERVISOR_ROLE_LABELS[role]}) added to ${serviceName} by ${actor.name}`, link.serviceId);
    this.deps.logger.info('supervisor-added', { serviceId: link.serviceId, role, inTeam: Boolean(member) });
    const reach = member
      ? 'in a chat with Signpost and by email'
      : 'by email (they are not in this team; alerts reach them in Teams too once they open a chat with Signpost)';
    return `${member?.name ?? address.data} is now a ${SUPERVISOR_ROLE_LABELS[role]} for ${serviceName}. They get escalations, overdue-referral alerts and the fortnightly caseload digest ${reach}.`;
  }

  private async list(serviceId: string, serviceName: string): Promise<string> {
    const supervisors = await this.deps.supervision.supervisorsOf(serviceId);
    if (!supervisors.length) return `${serviceName} has no supervisors yet.${await this.warnIfNone(serviceId)}`;
    const lines = supervisors.map(
      (supervisor) =>
        `- ${supervisor.name ? `${supervisor.name} (${supervisor.email})` : supervisor.email}: ${SUPERVISOR_ROLE_LABELS[supervisor.role]}${supervisor.source === 'directory' ? ', from the directory' : ''}`,
    );
    const roles = new Set(supervisors.map((supervisor) => supervisor.role));
    const missing = (['host-organisation', 'clinical'] as const).filter((role) => !roles.has(role));
    return [
      `Supervisors of ${serviceName}:`,
      ...lines,
      ...(missing.length ? [`No ${missing.map((role) => SUPERVISOR_ROLE_LABELS[role]).join(' or ')} yet: escalations meant for one go to every supervisor.`] : []),
    ].join('\n');
  }

  private async warnIfNone(serviceId: string): Promise<string> {
    if ((await this.deps.supervision.supervisorsOf(serviceId)).length) return '';
    return ' Until one is added, escalations and overdue-referral alerts go to Signpost admins. A team owner adds one with **supervisors add** [email] **manager** or **clinical**.';
  }

  private async audit(action: 'supervisor.added' | 'supervisor.removed', actor: { id: string; name: string }, at: string, summary: string, serviceId: string): Promise<void> {
    await this.deps.referrals.recordEvent({ referralId: null, at, actor, action, detail: { summary, serviceId } });
  }
}
