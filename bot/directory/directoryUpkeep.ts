import type { AuditEvent } from '../../domain/referral/referral';
import type { Timer } from '../../domain/supervision/policy';
import {
  applyEdit,
  DEFAULT_VERIFY_AFTER_DAYS,
  detailsOf,
  editProblems,
  EntryKind,
  EntryRef,
  entryName,
  evaluateVerificationTimer,
  maintainersOf,
  parseEntryEdit,
  timerEntry,
  VerifiableEntry,
  VerificationEdit,
  verificationTimer,
} from '../../domain/directory/verification';
import { applyActivityEdit, type ActivityEdit } from '../../domain/directory/activityVerification';
import { longDate, notTakingReferrals, type DirectoryService } from '../../domain/directory/schema';
import type { DirectoryRepository } from '../../storage/directoryRepository';
import type { ActivityRepository } from '../../storage/activityRepository';
import type { ChangeAuthor, ChangeRoute, EntryChange } from '../../storage/versionedEntries';
import type { OutboxMessage, OutboxRepository } from '../../storage/outboxRepository';
import type { TimerRepository } from '../../storage/timerRepository';
import type { Logger } from '../app/log';
import type { Supervision } from '../supervision/supervision';

/**
 * The application layer of directory upkeep: asking maintainers to confirm their entry (a
 * service's, or a community activity's), and their answers ("Still correct", "Change") from
 * Teams and email alike. Every answer is checked here, server side: the person must maintain
 * that entry (or be a Signpost admin), the click must be about the entry's current version, and
 * a change must pass the form's and the directory's schemas. Anything else changes nothing and
 * says why.
 */

export interface Maintainer {
  name: string;
  /** Their sign-in email (Teams) or the address the signed link was sent to (email). */
  email?: string;
  teamsUserId?: string;
  aadObjectId?: string;
}

export type UpkeepRequest = { verb: 'confirm' } | { verb: 'change'; edit: VerificationEdit } | { verb: 'change-activity'; edit: ActivityEdit };

export type UpkeepOutcome =
  | { kind: 'changed'; entry: VerifiableEntry; version: number; notice: string }
  | { kind: 'refused' | 'stale' | 'invalid' | 'not-found'; notice: string; entry?: VerifiableEntry; version?: number };

/** What `verify` did: asked each maintainer, in Teams where Signpost can reach them there, else by email. */
export type RequestedNow =
  | { kind: 'not-found' }
  | { kind: 'no-maintainers'; service: DirectoryService }
  | { kind: 'asked'; service: DirectoryService; asked: Array<{ email: string; by: 'teams' | 'email' }> };

export interface DirectoryUpkeepDependencies {
  directory: DirectoryRepository;
  /** Without it, only services are kept current. */
  activities?: ActivityRepository;
  timers: TimerRepository;
  outbox: OutboxRepository;
  supervision: Supervision;
  logger: Logger;
  now: () => Date;
  notificationsQueued?: () => void;
  verifyAfterDays?: number;
}

type StoredEntry = { entry: VerifiableEntry; version: number };

const SYSTEM = { id: 'signpost', name: 'Signpost' };

/** The answer a card or an email page sent, as a request for this kind of entry, or every problem with the form named. */
export function upkeepRequestFrom(kind: EntryKind, answer: 'confirm' | 'change', data: unknown): { request: UpkeepRequest } | { problems: string[] } {
  if (answer === 'confirm') return { request: { verb: 'confirm' } };
  const parsed = parseEntryEdit(kind, data);
  if ('problems' in parsed) return parsed;
  return { request: parsed.edit.kind === 'activity' ? { verb: 'change-activity', edit: parsed.edit.edit } : { verb: 'change', edit: parsed.edit.edit } };
}

export class DirectoryUpkeep {
  constructor(private readonly deps: DirectoryUpkeepDependencies) {}

  /** Every service and activity has its next request scheduled (idempotent: at start-up, and after an import). */
  async scheduleAll(): Promise<number> {
    const services = await this.deps.directory.list();
    const activities = (await this.deps.activities?.list(true)) ?? [];
    await this.deps.timers.schedule([
      ...services.map((service) => this.firstRequest({ kind: 'service', service })),
      ...activities.map((activity) => this.firstRequest({ kind: 'activity', activity })),
    ]);
    return services.length + activities.length;
  }

  /** An entry as stored now, with its version (never from a cache). */
  async current(ref: EntryRef): Promise<StoredEntry | undefined> {
    if (ref.kind === 'service') {
      const stored = await this.deps.directory.current(ref.id);
      return stored && { entry: { kind: 'service', service: stored.service }, version: stored.version };
    }
    const stored = await this.deps.activities?.current(ref.id);
    return stored && { entry: { kind: 'activity', activity: stored.activity }, version: stored.version };
  }

  /** A due request timer: queues the request (Teams where Signpost can reach the person, else email) and returns the timers that follow. */
  async requestDue(due: Timer, now: Date): Promise<{ queued: number; next: Timer[] }> {
    const ref = timerEntry(due);
    const current = await this.current(ref);
    const decision = evaluateVerificationTimer(due, current?.entry, current?.version ?? 0, {
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
      detail: { summary: decision.summary ?? '', [ref.kind === 'service' ? 'serviceId' : 'activityId']: ref.id, recipients: messages.length },
    };
    // Services' keys keep their first form, so a request recorded before activities were asked about is not sent twice.
    const key = decision.key ?? `verify-${ref.kind === 'activity' ? 'activity-' : ''}${ref.id}-${due.anchor}-${due.attempt ?? 1}`;
    const recorded = await this.deps.outbox.record(key, messages, event, at);
    this.deps.logger.info('verification-requested', { entry: ref.kind, id: ref.id, attempt: due.attempt ?? 1, messages: messages.length });
    return { queued: recorded ? messages.length : 0, next: decision.next };
  }

  /**
   * A request now, because a person asked for one (`verify`): to the maintainers at once, in or
   * out of working hours, recorded with who asked. The standing clock carries on as it was.
   * Services only: `verify` is said in a service's channel, and activities have none.
   */
  async requestNow(serviceId: string, askedBy: { id: string; name: string }): Promise<RequestedNow> {
    const current = await this.deps.directory.current(serviceId);
    if (!current) return { kind: 'not-found' };
    // Nobody to ask; the admins hear about unmaintained entries from the standing clock, not from here.
    if (!current.service.maintainers?.length) return { kind: 'no-maintainers', service: current.service };
    const now = this.deps.now();
    const at = now.toISOString();
    const asked: Timer = { id: `directory-verification:${serviceId}:asked:${at}`, kind: 'directory-verification', dueAt: at, serviceId, anchor: current.service.lastVerified, attempt: 1 };
    const decision = evaluateVerificationTimer(asked, { kind: 'service', service: current.service }, current.version, { now, calendar: this.deps.supervision.calendar });
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

  /**
   * "Still correct" or "Change", from a Teams card or an email. `target` is the entry (a bare id
   * is a service's, as on the cards and links made before activities were asked about);
   * `version` is the version the request showed.
   */
  async act(person: Maintainer, target: EntryRef | string, version: number, request: UpkeepRequest, route: ChangeRoute): Promise<UpkeepOutcome> {
    const ref: EntryRef = typeof target === 'string' ? { kind: 'service', id: target } : target;
    const stored = await this.current(ref);
    const refusal = this.refusal(person, ref, version, route, stored);
    if (refusal || !stored) return refusal!;
    const name = entryName(stored.entry);
    const now = this.deps.now();
    const today = now.toISOString().slice(0, 10);
    const formFor: EntryKind = request.verb === 'change' ? 'service' : request.verb === 'change-activity' ? 'activity' : ref.kind;
    if (formFor !== ref.kind) return { kind: 'invalid', notice: `Nothing changed: that form is not for this ${ref.kind}.`, ...stored };
    if (request.verb === 'change') {
      const problems = editProblems(request.edit, today);
      if (problems.length) return { kind: 'invalid', notice: `Nothing changed: ${problems.join('; ')}.`, ...stored };
    }
    const how = { route, by: { name: person.name, ...(person.email ? { email: person.email } : {}) } satisfies ChangeAuthor, at: now.toISOString() };
    const outcome = await this.change(ref, version, request, today, `${person.name} on ${longDate(today)}`, how);
    if (!outcome.ok) {
      if (outcome.reason === 'unknown-entry') return { kind: 'not-found', notice: `That ${ref.kind} is no longer in the directory. Nothing changed.` };
      const latest = (await this.current(ref)) ?? stored;
      if (outcome.reason === 'stale') return { kind: 'stale', notice: 'Someone changed the entry at the same moment. Nothing changed: here it is as it stands now.', ...latest };
      return { kind: 'invalid', notice: `Nothing changed: ${outcome.problems.join('; ')}.`, ...latest };
    }
    // The next request counts from today's check; the one pending finds the entry checked and sends nothing.
    await this.deps.timers.schedule([this.firstRequest(outcome.entry)]);
    this.deps.logger.info('directory-changed', { entry: ref.kind, id: ref.id, route, version: outcome.version, fields: outcome.changed.join(',') });
    const changed = { entry: outcome.entry, version: outcome.version };
    if (request.verb === 'confirm') return { kind: 'changed', ...changed, notice: `Thank you: the entry for ${name} is confirmed as correct today.` };
    const state =
      outcome.entry.kind === 'service'
        ? `${notTakingReferrals(outcome.entry.service) ?? 'Open to referrals.'} Matching uses it from now on.`
        : outcome.entry.activity.stopped
          ? 'It is marked as stopped, so link workers are no longer offered it.'
          : 'Link workers see the new details in the activity search from now on.';
    return { kind: 'changed', ...changed, notice: `Thank you: the entry for ${entryName(outcome.entry)} is updated. ${state}` };
  }

  /** The change written as a new version, through the entry's own repository (and so its schema). */
  private async change(ref: EntryRef, version: number, request: UpkeepRequest, today: string, byline: string, how: { route: ChangeRoute; by: ChangeAuthor; at: string }): Promise<EntryChange<VerifiableEntry>> {
    if (ref.kind === 'service') {
      const edit = request.verb === 'change' ? request.edit : undefined;
      const outcome = await this.deps.directory.change(ref.id, version, (service) => applyEdit(service, edit, today, byline), how);
      return outcome.ok ? { ...outcome, entry: { kind: 'service', service: outcome.entry } } : outcome;
    }
    if (!this.deps.activities) return { ok: false, reason: 'unknown-entry' };
    const edit = request.verb === 'change-activity' ? request.edit : undefined;
    const outcome = await this.deps.activities.change(ref.id, version, (activity) => applyActivityEdit(activity, edit, today), how);
    return outcome.ok ? { ...outcome, entry: { kind: 'activity', activity: outcome.entry } } : outcome;
  }

  /**
   * Why this person cannot answer a request about this version of the entry now (gone, not a
   * maintainer, stale), or undefined when they can: asked before an email answer waits for its
   * code, and again when it acts. A bare id is a service's, as in `act`.
   */
  async mayAnswer(person: Maintainer, target: EntryRef | string, version: number, route: ChangeRoute): Promise<UpkeepOutcome | undefined> {
    const ref: EntryRef = typeof target === 'string' ? { kind: 'service', id: target } : target;
    return this.refusal(person, ref, version, route, await this.current(ref));
  }

  private refusal(person: Maintainer, ref: EntryRef, version: number, route: ChangeRoute, stored: StoredEntry | undefined): UpkeepOutcome | undefined {
    if (!stored) return { kind: 'not-found', notice: `That ${ref.kind} is no longer in the directory. Nothing changed.` };
    if (!this.mayMaintain(person, stored.entry)) {
      this.deps.logger.warn('directory-change-refused', { entry: ref.kind, id: ref.id, route });
      return { kind: 'refused', notice: `Only the maintainers of ${entryName(stored.entry)} (or a Signpost admin) can confirm or change its entry. Nothing changed.`, ...stored };
    }
    if (stored.version !== version) {
      return { kind: 'stale', notice: 'The entry has changed since this request was sent. Nothing changed: here it is as it stands now.', ...stored };
    }
    return undefined;
  }

  private mayMaintain(person: Maintainer, entry: VerifiableEntry): boolean {
    const email = person.email?.toLowerCase();
    if (email && maintainersOf(entry).some((maintainer) => maintainer.email === email)) return true;
    return this.deps.supervision.isAdmin({ teamsUserId: person.teamsUserId ?? '', aadObjectId: person.aadObjectId, email });
  }

  private firstRequest(entry: VerifiableEntry): Timer {
    return verificationTimer(detailsOf(entry), this.deps.supervision.calendar, this.deps.now(), this.deps.verifyAfterDays ?? DEFAULT_VERIFY_AFTER_DAYS, entry.kind);
  }
}

/** A request goes to Teams where Signpost can reach the person there (the dispatcher falls back to email if that fails), and by email otherwise. */
function teamsElseEmail(messages: OutboxMessage[]): OutboxMessage[] {
  const inTeams = new Set(messages.filter((message) => message.channel === 'teams').map((message) => message.key.replace(/:teams$/, '')));
  return messages.filter((message) => message.channel !== 'email' || !inTeams.has(message.key.replace(/:email$/, '')));
}
