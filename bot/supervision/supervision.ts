import type { DirectoryService } from '../../domain/directory/schema';
import type { Referral } from '../../domain/referral/referral';
import { firstResponders, SupervisorRole } from '../../domain/supervision/escalation';
import { Audience, digestTimer, escalationTimer, Notice, referralTimers, supervisionSettings, SupervisionSettings } from '../../domain/supervision/policy';
import type { StaffMessage } from '../../domain/supervision/messages';
import type { Escalation } from '../../domain/supervision/escalation';
import type { WorkingCalendar } from '../../domain/supervision/workingCalendar';
import { DEFAULT_RETENTION_MONTHS, retentionTimers } from '../../domain/referral/retention';
import type { OutboxMessage } from '../../storage/outboxRepository';
import type { ContactRepository } from '../../storage/contactRepository';
import type { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import type { SupervisorRepository } from '../../storage/supervisorRepository';
import type { TimerRepository } from '../../storage/timerRepository';

/**
 * Who supervises a service and how Signpost reaches staff: the glue between the supervision
 * policy (domain/supervision) and storage. No Bot Framework types: sending is the dispatcher's.
 */

export interface Supervisor {
  email: string;
  name?: string;
  role: SupervisorRole;
  teamsUserId?: string;
  source: 'directory' | 'channel';
}

/** Someone a staff message goes to: a person (by Teams id and/or email) or a service's channel. */
export type StaffRecipient = { channel: true; serviceId: string } | { channel?: false; name?: string; email?: string; teamsUserId?: string };

/** What the outbox holds for a staff message (the referrer's updates have their own shape). */
export interface StaffPayload {
  kind: 'staff';
  serviceId: string;
  recipient: StaffRecipient;
  message: StaffMessage;
}

export function isStaffPayload(payload: Record<string, unknown>): payload is StaffPayload & Record<string, unknown> {
  return payload.kind === 'staff';
}

/**
 * What the outbox holds to write a referral's clocks: written in the transaction of the change
 * that may start a clock, and carried out by the dispatcher right after the reply. No clock is
 * due within minutes of the change that starts it (the first is working days away), so nobody
 * need wait for it, yet a change is never stored without the means of starting its clocks.
 */
export interface ClocksPayload {
  kind: 'clocks';
}

export function isClocksPayload(payload: Record<string, unknown>): payload is ClocksPayload & Record<string, unknown> {
  return payload.kind === 'clocks';
}

export function clocksMessage(referral: Pick<Referral, 'id' | 'version'>): OutboxMessage {
  const payload: ClocksPayload = { kind: 'clocks' };
  return { key: `${referral.id}:${referral.version}:clocks`, channel: 'signpost', payload: { ...payload } };
}

/** Is this person (by Teams id, AAD object id or sign-in email) one of SIGNPOST_ADMINS? */
export function isAdmin(admins: string[], who: { teamsUserId: string; aadObjectId?: string; email?: string }): boolean {
  return [who.teamsUserId, who.aadObjectId, who.email].some((id) => id && admins.includes(id.toLowerCase()));
}

export interface SupervisionDependencies {
  directory: { get(id: string): Promise<DirectoryService | undefined>; list(): Promise<DirectoryService[]> };
  supervisors: SupervisorRepository;
  contacts: ContactRepository;
  timers: TimerRepository;
  channelLinks: ServiceChannelRepository;
  calendar: WorkingCalendar;
  /** SIGNPOST_ADMINS: Teams ids or sign-in emails, lower case. */
  admins: string[];
  /** A service's intake inboxes: what reaches its channel reaches them too. */
  intakeAddresses?: (serviceId: string) => Promise<string[]>;
  now: () => Date;
  /** SIGNPOST_RETENTION_MONTHS: how long an ended referral keeps the person's details. */
  retentionMonths?: number;
}

export class Supervision {
  constructor(readonly deps: SupervisionDependencies) {}

  get calendar(): WorkingCalendar {
    return this.deps.calendar;
  }

  async settingsFor(serviceId: string): Promise<SupervisionSettings> {
    return supervisionSettings(await this.deps.directory.get(serviceId));
  }

  /** The directory's supervisors and those added in the channel; one entry per email address. */
  async supervisorsOf(serviceId: string): Promise<Supervisor[]> {
    const service = await this.deps.directory.get(serviceId);
    const byEmail = new Map<string, Supervisor>();
    for (const listed of service?.supervisors ?? []) {
      byEmail.set(listed.email.toLowerCase(), { email: listed.email.toLowerCase(), name: listed.name, role: listed.role, source: 'directory' });
    }
    for (const added of await this.deps.supervisors.list(serviceId)) {
      const before = byEmail.get(added.email);
      byEmail.set(added.email, { ...before, email: added.email, name: added.name ?? before?.name, role: added.role, teamsUserId: added.teamsUserId, source: 'channel' });
    }
    return [...byEmail.values()];
  }

  /** Is this person (by Teams id or sign-in email) a supervisor of the service? */
  async isSupervisor(serviceId: string, who: { teamsUserId: string; email?: string }): Promise<boolean> {
    const email = who.email?.toLowerCase();
    return (await this.supervisorsOf(serviceId)).some((supervisor) => supervisor.teamsUserId === who.teamsUserId || (email !== undefined && supervisor.email === email));
  }

  isAdmin(who: { teamsUserId: string; aadObjectId?: string; email?: string }): boolean {
    return isAdmin(this.deps.admins, who);
  }

  /**
   * Stores the clocks a referral needs in the state it is in. Idempotent (a clock's id and due
   * time follow from the record), so writing them again, or for a later version, is harmless;
   * a clock left from an earlier state finds nothing to say when it comes due.
   */
  async prepare(referral: Referral): Promise<void> {
    await this.deps.timers.schedule([
      ...referralTimers(referral, await this.settingsFor(referral.serviceId), this.deps.calendar),
      // A referral that ends gets its retention clock with the change that ends it.
      ...retentionTimers(referral, this.deps.retentionMonths ?? DEFAULT_RETENTION_MONTHS),
    ]);
  }

  /** The first re-alert for an escalation nobody has answered; stored before the escalation is. */
  async scheduleRealert(referral: Referral, escalation: Escalation, at: string): Promise<void> {
    await this.deps.timers.schedule([escalationTimer(referral, escalation, 1, new Date(at), await this.settingsFor(referral.serviceId), this.deps.calendar)]);
  }

  /** Makes sure a linked service has its next caseload digest scheduled (idempotent). */
  async scheduleDigest(serviceId: string): Promise<void> {
    await this.deps.timers.schedule([digestTimer(serviceId, await this.settingsFor(serviceId), this.deps.calendar, this.deps.now())]);
  }

  /** At start-up: every linked service has a digest coming. */
  async scheduleDigestsForLinkedServices(): Promise<number> {
    const links = await this.deps.channelLinks.list();
    for (const link of links) await this.scheduleDigest(link.serviceId);
    return links.length;
  }

  async recipients(audience: Audience, serviceId: string): Promise<StaffRecipient[]> {
    switch (audience.to) {
      case 'channel':
        return [{ channel: true, serviceId }];
      case 'person':
      {
        // Someone who acts only by email has no Teams id (theirs is their address).
        const byEmail = audience.person.id.startsWith('email:');
        const email = audience.person.email ?? (byEmail ? undefined : (await this.deps.contacts.byTeamsId(audience.person.id))?.email);
        return [{ name: audience.person.name, email, ...(byEmail ? {} : { teamsUserId: audience.person.id }) }];
      }
      case 'supervisors': {
        const all = await this.supervisorsOf(serviceId);
        const chosen = audience.reason ? firstResponders(audience.reason, all) : all;
        // A service with no supervisors yet must not swallow the alert: admins hear instead.
        return chosen.length ? chosen.map(({ name, email, teamsUserId }) => ({ name, email, teamsUserId })) : this.adminRecipients();
      }
      case 'admins':
        return this.adminRecipients();
    }
  }

  /**
   * The outbox messages for notices: per recipient, Teams (where Signpost can reach them there)
   * and email (where it has an address). Keys start with `keyPrefix` (the timer or action), so
   * queuing the same notices again adds nothing.
   */
  async outboxFor(notices: Notice[], serviceId: string, keyPrefix: string): Promise<OutboxMessage[]> {
    const messages = new Map<string, OutboxMessage>();
    for (const notice of notices) {
      for (const recipient of await this.recipients(notice.audience, serviceId)) {
        const payload = { kind: 'staff', serviceId, recipient, message: notice.message } satisfies StaffPayload;
        if (recipient.channel) {
          const inboxes = (await this.deps.intakeAddresses?.(serviceId)) ?? [];
          // An email-only service has no channel to wait for; one with a channel keeps its retries.
          if (!inboxes.length || (await this.deps.channelLinks.forService(serviceId))) {
            messages.set(`${keyPrefix}:channel`, { key: `${keyPrefix}:channel:teams`, channel: 'teams', payload });
          }
          for (const email of inboxes) {
            messages.set(`${email}:email`, { key: `${keyPrefix}:${email}:email`, channel: 'email', payload: { ...payload, recipient: { email } } });
          }
          continue;
        }
        const who = recipient.email ?? recipient.teamsUserId ?? 'unknown';
        const reachableInTeams = recipient.teamsUserId || (recipient.email && (await this.deps.contacts.byEmail(recipient.email))?.personalConversation);
        if (reachableInTeams) messages.set(`${who}:teams`, { key: `${keyPrefix}:${who}:teams`, channel: 'teams', payload });
        if (recipient.email) messages.set(`${who}:email`, { key: `${keyPrefix}:${who}:email`, channel: 'email', payload });
      }
    }
    return [...messages.values()];
  }

  private adminRecipients(): StaffRecipient[] {
    return this.deps.admins.map((admin) => (admin.includes('@') ? { email: admin } : { teamsUserId: admin }));
  }
}
