import { z } from 'zod';
import { escapeCardText } from '../../domain/text';
import { isoDate, longDate, type DirectoryService } from '../../domain/directory/schema';
import type { DirectoryRepository } from '../../storage/directoryRepository';
import type { EntryChange } from '../../storage/versionedEntries';
import type { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import type { Logger } from '../app/log';
import type { ChannelPlace } from '../channels/serviceChannels';
import type { LinkWorkerRoster } from '../channels/roster';
import { mayManageService, Speaker } from '../supervision/supervisorCommands';
import type { Supervision } from '../supervision/supervision';
import type { DirectoryUpkeep } from './directoryUpkeep';

/**
 * What a service's link workers say in its channel to keep its directory entry true:
 * `wait 6 weeks`, `pause until 2027-02-01`, `reopen`; and `maintainers` (add or remove who is
 * asked to confirm the entry; the same people who may manage supervisors). Each is a new
 * version of the entry (route `teams`), checked by the directory's schema, seen by matching at once.
 * `verify` asks the maintainers to confirm the entry now (also `verify <service id>` for admins in a chat).
 */

export type DirectoryCommand =
  | { name: 'wait'; weeks?: string }
  | { name: 'pause'; until?: string }
  | { name: 'reopen' }
  | { name: 'maintainers'; change?: 'add' | 'remove'; email?: string }
  | { name: 'verify'; serviceId?: string };

/** Whole weeks a service could plausibly quote; a typo of 600 is refused rather than published. */
const weeks = z.coerce.number().int('whole weeks').min(0).max(104, 'at most 104 weeks');
const email = z.string().trim().toLowerCase().email();

export interface DirectoryCommandDependencies {
  channelLinks: ServiceChannelRepository;
  directory: DirectoryRepository;
  roster: LinkWorkerRoster;
  supervision: Supervision;
  upkeep: Pick<DirectoryUpkeep, 'requestNow'>;
  logger: Logger;
  now: () => Date;
}

export class DirectoryCommands {
  constructor(private readonly deps: DirectoryCommandDependencies) {}

  async handle(where: ChannelPlace | undefined, who: Speaker, command: DirectoryCommand): Promise<string> {
    if (command.name === 'verify') return this.verify(where, who, command.serviceId);
    if (!where) return `Say **${command.name}** in the channel of the service it is about.`;
    const link = await this.deps.channelLinks.forChannel(where.channelId);
    if (!link) return 'This channel is not linked to a service yet. Say **link** and a service id first, for example **link sail**.';
    const serviceId = link.serviceId;

    if (command.name === 'maintainers') {
      if (!command.change) return this.listMaintainers(serviceId);
      if (!mayManageService(who, link.linkedBy.id, this.deps.supervision)) {
        return "Only the team's owners (or whoever linked this channel, or a Signpost admin) can change the maintainers. Nothing changed.";
      }
      const address = email.safeParse(command.email ?? '');
      if (!address.success) return `Say the maintainer's email address, for example **maintainers ${command.change} helen.price@example.org**. Nothing changed.`;
      const outcome = await this.change(who, serviceId, (service) => withMaintainer(service, command.change!, address.data));
      if (!outcome.ok) return this.refusal(outcome);
      if (!outcome.changed.length) {
        return command.change === 'add' ? `${address.data} is already a maintainer. Nothing changed.` : `${address.data} is not a maintainer. Nothing changed.`;
      }
      return command.change === 'add'
        ? `${address.data} now maintains the entry for ${outcome.entry.name}: Signpost asks them to confirm it before it goes out of date.`
        : `${address.data} no longer maintains the entry for ${outcome.entry.name}.`;
    }

    // wait, pause, reopen: the service's link workers, the members of this team.
    if (!(await this.deps.roster.member(serviceId, who.id))) {
      return "Only the service's link workers (the members of this team) can change its wait or status. Nothing changed.";
    }
    if (command.name === 'wait') {
      const parsed = weeks.safeParse(command.weeks ?? '');
      if (!parsed.success || command.weeks === undefined) {
        return `Say the typical wait in whole weeks, for example **wait 6 weeks** (${parsed.success ? 'a number' : parsed.error.issues[0].message}). Nothing changed.`;
      }
      const outcome = await this.change(who, serviceId, (service) => ({
        ...service,
        waitingTimeWeeks: { value: parsed.data, note: `Set by the service's link workers on ${longDate(this.today())}.` },
      }));
      if (!outcome.ok) return this.refusal(outcome);
      return `The typical wait for ${outcome.entry.name} is now about ${parsed.data} weeks. New matches and referrers' updates quote it from now on.`;
    }
    if (command.name === 'pause') {
      const date = isoDate.safeParse(command.until ?? '');
      if (!date.success) return 'Say when the service reopens, as a date, for example **pause until 2027-02-01**. Nothing changed.';
      if (date.data <= this.today()) return `${longDate(date.data)} is not in the future: say the date the service reopens. Nothing changed.`;
      const outcome = await this.change(who, serviceId, (service) => ({ ...service, status: 'paused', reopensOn: date.data }));
      if (!outcome.ok) return this.refusal(outcome);
      return `${outcome.entry.name} is paused until ${longDate(date.data)}: it is not offered as a match until then, and referrers see why. Say **reopen** when it takes referrals again.`;
    }
    const outcome = await this.change(who, serviceId, ({ reopensOn: _until, ...service }) => ({ ...service, status: 'open' }));
    if (!outcome.ok) return this.refusal(outcome);
    if (!outcome.changed.length) return `${outcome.entry.name} is already open to referrals. Nothing changed.`;
    return `${outcome.entry.name} is open to referrals again and is offered as a match from now on.`;
  }

  /**
   * Local mode only (`npm run dev`): the playground person who links a service's channel also
   * maintains its entry, so **verify** there has someone to ask. What the link's reply adds.
   */
  async linkerMaintains(serviceId: string, linker: { id: string; name: string; email: string }): Promise<string | undefined> {
    const outcome = await this.change(linker, serviceId, (service) => withMaintainer(service, 'add', linker.email));
    if (!outcome.ok) return undefined;
    return `Local mode: you (${linker.name}) maintain its directory entry too, so **verify** here sends you a request to confirm it.`;
  }

  /**
   * `verify`: the same people who may change the maintainers ask them to confirm the entry now,
   * say after hearing it is wrong. In a chat, Signpost admins name the service.
   */
  private async verify(where: ChannelPlace | undefined, who: Speaker, named: string | undefined): Promise<string> {
    if (!where) {
      if (!this.deps.supervision.isAdmin({ teamsUserId: who.id, aadObjectId: who.aadObjectId, email: who.email })) {
        return "Say **verify** in the channel of the service whose entry should be confirmed. In a chat with me, **verify** and a service id is for Signpost admins.";
      }
      if (!named) return 'Say which service, for example **verify sail**. Nothing was sent.';
      return this.askNow(named, who);
    }
    const link = await this.deps.channelLinks.forChannel(where.channelId);
    if (!link) return 'This channel is not linked to a service yet. Say **link** and a service id first, for example **link sail**.';
    if (named && named !== link.serviceId) {
      return `This channel serves ${link.serviceId}: say **verify** in the channel of ${escapeCardText(named)}. Nothing was sent.`;
    }
    if (!mayManageService(who, link.linkedBy.id, this.deps.supervision)) {
      return "Only the team's owners (or whoever linked this channel, or a Signpost admin) can ask for the entry to be confirmed. Nothing was sent.";
    }
    return this.askNow(link.serviceId, who);
  }

  private async askNow(serviceId: string, who: Speaker): Promise<string> {
    const outcome = await this.deps.upkeep.requestNow(serviceId, { id: who.id, name: who.name ?? 'A team owner' });
    if (outcome.kind === 'not-found') return `There is no service "${escapeCardText(serviceId)}" in the directory. Nothing was sent.`;
    if (outcome.kind === 'no-maintainers') {
      return `${outcome.service.name} has no maintainers, so there is nobody to ask. A team owner adds one in its channel with **maintainers add** [email]. Nothing was sent.`;
    }
    return [
      `Asked the maintainers of ${outcome.service.name} to confirm its entry now (last checked on ${longDate(outcome.service.lastVerified)}):`,
      ...outcome.asked.map(({ email: address, by }) => `- ${address}, ${by === 'teams' ? 'in Teams' : 'by email'}`),
      'What they answer changes the entry, and matching uses it at once.',
    ].join('\n');
  }

  private async change(who: Speaker, serviceId: string, edit: Parameters<DirectoryRepository['change']>[2]): Promise<EntryChange<DirectoryService>> {
    const outcome = await this.deps.directory.change(serviceId, undefined, edit, {
      route: 'teams',
      by: { name: who.name ?? 'A link worker', ...(who.email ? { email: who.email } : {}) },
      at: this.deps.now().toISOString(),
    });
    if (outcome.ok && outcome.changed.length) this.deps.logger.info('directory-changed', { serviceId, route: 'teams', version: outcome.version, fields: outcome.changed.join(',') });
    return outcome;
  }

  private refusal(outcome: Exclude<EntryChange<DirectoryService>, { ok: true }>): string {
    if (outcome.reason === 'unknown-entry') return 'The service this channel serves is no longer in the directory. Nothing changed.';
    if (outcome.reason === 'stale') return 'Someone changed the entry at the same moment. Nothing changed: please say it again.';
    return `The directory refused the change:\n${outcome.problems.map((problem) => `- ${escapeCardText(problem)}`).join('\n')}\nNothing changed.`;
  }

  private async listMaintainers(serviceId: string): Promise<string> {
    const service = await this.deps.directory.get(serviceId);
    const maintainers = service?.maintainers ?? [];
    if (!maintainers.length) {
      return `${service?.name ?? serviceId} has no maintainers yet: requests to confirm its entry go to Signpost admins. A team owner adds one with **maintainers add** [email].`;
    }
    return [`Maintainers of the entry for ${service?.name ?? serviceId}:`, ...maintainers.map((address) => `- ${address}`)].join('\n');
  }

  private today(): string {
    return this.deps.now().toISOString().slice(0, 10);
  }
}

/** The entry with this address added to or removed from its maintainers (none left: no list). */
function withMaintainer(service: DirectoryService, change: 'add' | 'remove', address: string): Record<string, unknown> {
  const current = service.maintainers ?? [];
  const maintainers = change === 'add' ? [...new Set([...current, address])] : current.filter((entry) => entry !== address);
  const { maintainers: _old, ...rest } = service;
  return maintainers.length ? { ...rest, maintainers } : rest;
}
