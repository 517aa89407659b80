import type { AuditEvent } from '../../domain/referral/referral';
import type { Timer } from '../../domain/supervision/policy';
import {
  applyEdit,
  DEFAULT_VERIFY_AFTER_DAYS,
  editProblems,
  evaluateVerificationTimer,
  VerificationEdit,
  verificationTimer,
} from '../../domain/directory/verification';
import { longDate, notTakingReferrals, type DirectoryService } from '../../domain/directory/schema';
import type { ChangeRoute, DirectoryRepository } from '../../storage/directoryRepository';
import type { OutboxMessage, OutboxRepository } from '../../storage/outboxRepository';
import type { TimerRepository } from '../../storage/timerRepository';
import type { Logger } from '../app/log';
import type { Supervision } from '../supervision/supervision';

/**
 * The application layer of directory upkeep: asking maintainers to confirm their service's
 * entry, and their answers ("Still correct", "Change") from Teams and email alike. Every answer
 * is checked here, server side: the person must maintain that service (or be a Signpost admin),
 * the click must be about the entry's current version, and a change must pass the form's and
 * the directory's schemas. Anything else changes nothing and says why.
 */

export interface Maintainer {
  name: string;
  /** Their sign-in email (Teams) or the address the signed link was sent to (email). */
  email?: string;
  teamsUserId?: string;
  aadObjectId?: string;
}

export type UpkeepRequest = { verb: 'confirm' } | { verb: 'change'; edit: VerificationEdit };

export type UpkeepOutcome =
  | { kind: 'changed'; service: DirectoryService; version: number; notice: string }
  | { kind: 'refused' | 'stale' | 'invalid' | 'not-found'; notice: string; service?: DirectoryService; version?: number };

/** What `verify` did: asked each maintainer, in Teams where Signpost can reach them there, else by email. */
export type RequestedNow =
  | { kind: 'not-found' }
  | { kind: 'no-maintainers'; service: DirectoryService }
  | { kind: 'asked'; service: DirectoryService; asked: Array<{ email: string; by: 'teams' | 'email' }> };

export interface DirectoryUpkeepDependencies {
  directory: DirectoryRepository;
  timers: TimerRepository;
  outbox: OutboxRepository;
  supervision: Supervision;
  logger: Logger;
  now: () => Date;
  notificationsQueued?: () => void;
  verifyAfterDays?: number;
}

const SYSTEM = { id: 'signpost', name: 'Signpost' };

export class DirectoryUpkeep {
  constructor(private readonly deps: DirectoryUpkeepDependencies) {}

  /** Every service has its next request scheduled (idempotent: at start-up, and after an import). */
  async scheduleAll(): Promise<number> {
    const services = await this.deps.directory.list();
    await this.deps.timers.schedule(services.map((service) => this.firstRequest(service)));
    return services.length;
  }

  /** A due request timer: queues the request (Teams where Signpost can reach the person, else email) and returns the timers that follow. */
  async requestDue(due: Timer, now: Date): Promise<{ queued: number; next: Timer[] }> {
    const current = await this.deps.directory.current(due.serviceId);
    const decision = evaluateVerificationTimer(due, current?.service, current?.version ?? 0, {
      now,
      calendar: this.deps.supervision.calendar,
      afterDays: this.deps.verifyAfterDays,
    });
    if (!decision.notices.length) return { queued: 0, next: decision.next };
    const all = await this.deps.supervision.outboxFor(decision.notices, due.serviceId, decision.key ?? due.id);
    const messages = teamsElseEmail(all);
    const at = now.toISOString();
    const event: AuditEvent = {
      referralId: null,
      at,
      actor: SYSTEM,
      action: 'directory.verification-requested',
      detail: { summary: decision.summary ?? '', serviceId: due.serviceId, recipients: messages.length },
    };
    const recorded = await this.deps.outbox.record(decision.key ?? `verify-${due.serviceId}-${due.anchor}-${due.attempt ?? 1}`, messages, event, at);
    this.deps.logger.info('verification-requested', { serviceId: due.serviceId, attempt: due.attempt ?? 1, messages: messages.length });
    return { queued: recorded ? messages.length : 0, next: decision.next };
  }

  /**
   * A request now, because a person asked for one (`verify`): to the maintainers at once, in or
   * out of working hours, recorded with who asked. The standing clock carries on as it was.
   */
  async requestNow(serviceId: string, askedBy: { id: string; name: string }): Promise<RequestedNow> {
    const current = await this.deps.directory.current(serviceId);
    if (!current) return { kind: 'not-found' };
    // Nobody to ask; the admins hear about unmaintained entries from the standing clock, not from here.
    if (!current.service.maintainers?.length) return { kind: 'no-maintainers', service: current.service };
    const now = this.deps.now();
    const at = now.toISOString();
    const asked: Timer = { id: `directory-verification:${serviceId}:asked:${at}`, kind: 'directory-verification', dueAt: at, serviceId, anchor: current.service.lastVerified, attempt: 1 };
    const decision = evaluateVerificationTimer(asked, current.service, current.version, { now, calendar: this.deps.supervision.calendar });
    const messages = teamsElseEmail(await this.deps.supervision.outboxFor(decision.notices, serviceId, asked.id));
    const event: AuditEvent = {
      referralId: null,
      at,
      actor: askedBy,
      action: 'directory.verification-requested',
      detail: { summary: `${decision.summary} (asked for by ${askedBy.name})`, serviceId, recipients: messages.length },
    };
    await this.deps.outbox.record(`verify-${serviceId}-asked-${at}`, messages, event, at);
    this.deps.notificationsQueued?.();
    this.deps.logger.info('verification-requested', { serviceId, asked: 'now', messages: messages.length });
    const inTeams = new Set(messages.filter((message) => message.channel === 'teams').map((message) => (message.payload.recipient as { email?: string }).email));
    return { kind: 'asked', service: current.service, asked: (current.service.maintainers ?? []).map((email) => ({ email, by: inTeams.has(email) ? 'teams' : 'email' })) };
  }

  /** "Still correct" or "Change", from a Teams card or an email. `version` is the version the request showed. */
  async act(person: Maintainer, serviceId: string, version: number, request: UpkeepRequest, route: ChangeRoute): Promise<UpkeepOutcome> {
    const stored = await this.deps.directory.current(serviceId);
    const refusal = this.refusal(person, serviceId, version, route, stored);
    if (refusal || !stored) return refusal!;
    const now = this.deps.now();
    const today = now.toISOString().slice(0, 10);
    if (request.verb === 'change') {
      const problems = editProblems(request.edit, today);
      if (problems.length) return { kind: 'invalid', notice: `Nothing changed: ${problems.join('; ')}.`, ...stored };
    }
    const byline = `${person.name} on ${longDate(today)}`;
    const outcome = await this.deps.directory.change(serviceId, version, (service) => applyEdit(service, request.verb === 'change' ? request.edit : undefined, today, byline), {
      route,
      by: { name: person.name, ...(person.email ? { email: person.email } : {}) },
      at: now.toISOString(),
    });
    if (!outcome.ok) {
      if (outcome.reason === 'unknown-service') return { kind: 'not-found', notice: 'That service is no longer in the directory. Nothing changed.' };
      const latest = (await this.deps.directory.current(serviceId)) ?? stored;
      if (outcome.reason === 'stale') return { kind: 'stale', notice: 'Someone changed the entry at the same moment. Nothing changed: here it is as it stands now.', ...latest };
      return { kind: 'invalid', notice: `Nothing changed: ${outcome.problems.join('; ')}.`, ...latest };
    }
    // The next request counts from today's check; the one pending finds the entry checked and sends nothing.
    await this.deps.timers.schedule([this.firstRequest(outcome.service)]);
    this.deps.logger.info('directory-changed', { serviceId, route, version: outcome.version, fields: outcome.changed.join(',') });
    const state = notTakingReferrals(outcome.service) ?? 'Open to referrals.';
    const notice =
      request.verb === 'confirm'
        ? `Thank you: the entry for ${outcome.service.name} is confirmed as correct today.`
        : `Thank you: the entry for ${outcome.service.name} is updated. ${state} Matching uses it from now on.`;
    return { kind: 'changed', service: outcome.service, version: outcome.version, notice };
  }

  /**
   * Why this person cannot answer a request about this version now (gone, not a maintainer,
   * stale), or undefined when they can: asked before an email answer waits for its code, and
   * again when it acts.
   */
  async mayAnswer(person: Maintainer, serviceId: string, version: number, route: ChangeRoute): Promise<UpkeepOutcome | undefined> {
    return this.refusal(person, serviceId, version, route, await this.deps.directory.current(serviceId));
  }

  private refusal(person: Maintainer, serviceId: string, version: number, route: ChangeRoute, stored: { service: DirectoryService; version: number } | undefined): UpkeepOutcome | undefined {
    if (!stored) return { kind: 'not-found', notice: 'That service is no longer in the directory. Nothing changed.' };
    if (!this.mayMaintain(person, stored.service)) {
      this.deps.logger.warn('directory-change-refused', { serviceId, route });
      return { kind: 'refused', notice: `Only the maintainers of ${stored.service.name} (or a Signpost admin) can confirm or change its entry. Nothing changed.`, ...stored };
    }
    if (stored.version !== version) {
      return { kind: 'stale', notice: 'The entry has changed since this request was sent. Nothing changed: here it is as it stands now.', ...stored };
    }
    return undefined;
  }

  private mayMaintain(person: Maintainer, service: DirectoryService): boolean {
    const email = person.email?.toLowerCase();
    if (email && (service.maintainers ?? []).includes(email)) return true;
    return this.deps.supervision.isAdmin({ teamsUserId: person.teamsUserId ?? '', aadObjectId: person.aadObjectId, email });
  }

  private firstRequest(service: DirectoryService): Timer {
    return verificationTimer(service, this.deps.supervision.calendar, this.deps.now(), this.deps.verifyAfterDays ?? DEFAULT_VERIFY_AFTER_DAYS);
  }
}

/** A request goes to Teams where Signpost can reach the person there (the dispatcher falls back to email if that fails), and by email otherwise. */
function teamsElseEmail(messages: OutboxMessage[]): OutboxMessage[] {
  const inTeams = new Set(messages.filter((message) => message.channel === 'teams').map((message) => message.key.replace(/:teams$/, '')));
  return messages.filter((message) => message.channel !== 'email' || !inTeams.has(message.key.replace(/:email$/, '')));
}
