import { isReportCountPayload } from '../reports/reportTotals';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { AuditEvent, Referral } from '../../domain/referral/referral';
import { STATUS_LABELS } from '../../domain/referral/lifecycle';
import {
  concludedAt,
  DEFAULT_UNFINISHED_FORM_DAYS,
  deidentify,
  mentionsPerson,
  RemovalRule,
  retentionDecision,
  retentionEndsAt,
  retentionTimers,
  ruleName,
} from '../../domain/referral/retention';
import type { Timer } from '../../domain/supervision/policy';
import type { ReferralRepository, StoredReferral } from '../../storage/referralRepository';
import { OutboxRecord, PersonDataRepository, removedPayload } from '../../storage/personDataRepository';
import type { TableStateStore } from '../../storage/tableStateStore';
import type { TimerRepository } from '../../storage/timerRepository';
import { mailFileName } from '../notifications/mailer';
import { channelRefreshMessage, isChannelPostPayload, isChannelRefreshPayload } from '../channels/serviceChannels';
import { isClocksPayload } from '../supervision/supervision';
import type { Logger } from '../app/log';

/**
 * The person's data, wherever Signpost keeps it about one referral: the record, its audit
 * trail, its notifications (outbox rows), the .eml copies the embedded default writes instead of
 * sending, and conversation state that still holds the referral in progress. Used by retention
 * (when an ended referral's period runs out) and by the admin's `npm run person` (export and
 * erasure). Removal is idempotent and crash-safe: everything else first, the record last, so the
 * record's de-identified mark and its audit event (one transaction) say the work is complete,
 * and a run cut short is finished by the next.
 */

export interface PersonDataDependencies {
  referrals: ReferralRepository;
  personData: PersonDataRepository;
  stateStore: Pick<TableStateStore, 'entries' | 'delete'>;
  timers: TimerRepository;
  /** The embedded default's mail folder; undefined with SMTP (sent mail is then in the recipients' mailboxes). */
  mailFolder?: string;
  retentionMonths: number;
  /** Days a form left half-way keeps the person's answers (default 30). */
  unfinishedFormDays?: number;
  logger: Logger;
  now: () => Date;
}

/** Who asked, for the audit trail: an operator at the command line, or Signpost itself. */
export interface Operator {
  id: string;
  name?: string;
}

export interface PersonExport {
  exportedAt: string;
  reference: string;
  /** The referral record as stored (without the person's details once they were removed). */
  referral: Referral;
  /** When the person's identifiers are due to be removed; null while the referral is open. */
  retentionEndsAt: string | null;
  auditEvents: AuditEvent[];
  notifications: OutboxRecord[];
  /** Copies of emails as written on the embedded default (none when mail goes by SMTP). */
  emailCopies: Array<{ file: string; content: string }>;
  /** Conversation state that still holds the referral in progress (a form not yet finished). */
  conversationState: Array<{ key: string; value: Record<string, unknown> }>;
  /** What Signpost holds elsewhere and this export cannot contain. */
  notHeldHere: string[];
}

export interface RemovalCounts {
  notifications: number;
  emailCopies: number;
  conversationStates: number;
  auditNotes: number;
  /** Parts of the record removed (empty when it was already de-identified). */
  recordParts: string[];
}

export type EraseOutcome =
  | { kind: 'not-found' }
  | { kind: 'refused'; why: string }
  | { kind: 'erased'; reference: string; removed: RemovalCounts; wasOpen: boolean };

const SIGNPOST: Operator = { id: 'signpost', name: 'Signpost' };

const NOT_HELD_HERE = [
  'Messages already delivered to Microsoft Teams chats and channels are kept by Teams under your organisation\'s Teams retention policies.',
  'Emails sent through SMTP are in the recipients\' mailboxes; Signpost keeps no copy.',
];

export class PersonData {
  constructor(private readonly deps: PersonDataDependencies) {}

  /** Everything held about the person of the referral with this reference, recorded as a disclosure. */
  async export(reference: string, by: Operator): Promise<PersonExport | undefined> {
    const stored = await this.deps.referrals.getByReference(reference);
    if (!stored) return undefined;
    const { referral } = stored;
    const at = this.deps.now().toISOString();
    const notifications = await this.deps.personData.outbox(referral.id);
    const result: PersonExport = {
      exportedAt: at,
      reference,
      referral,
      retentionEndsAt: retentionEndsAt(referral, this.deps.retentionMonths)?.toISOString() ?? null,
      auditEvents: await this.deps.referrals.audit(referral.id),
      notifications,
      emailCopies: this.mailCopies(notifications).map((file) => ({ file: path.basename(file), content: readFileSync(file, 'utf8') })),
      conversationState: await this.conversationState(referral),
      notHeldHere: NOT_HELD_HERE,
    };
    await this.deps.referrals.appendEvent({
      referralId: referral.id,
      at,
      actor: by,
      action: 'person.exported',
      detail: { summary: `Everything held about the person was exported by ${by.name ?? by.id}`, auditEvents: result.auditEvents.length, notifications: notifications.length, emailCopies: result.emailCopies.length },
    });
    this.deps.logger.info('person-exported', { reference, auditEvents: result.auditEvents.length, notifications: notifications.length, emailCopies: result.emailCopies.length, conversationStates: result.conversationState.length });
    return result;
  }

  /**
   * Removes the person's identifiers everywhere Signpost holds them, keeping the audit fact of
   * the erasure. Refuses while the referral is open unless forced: the service may still be
   * trying to reach the person.
   */
  async erase(reference: string, request: { reason: string; by: Operator; force?: boolean }): Promise<EraseOutcome> {
    const reason = request.reason.trim();
    if (!reason) return { kind: 'refused', why: 'Say why the data is being erased (--reason "..."): the reason is kept in the audit trail.' };
    if (reason.length > 200) return { kind: 'refused', why: 'Keep the reason to 200 characters.' };
    const stored = await this.deps.referrals.getByReference(reference);
    if (!stored) return { kind: 'not-found' };
    const { referral } = stored;
    if (referral.person && mentionsPerson(reason, referral.person)) {
      return { kind: 'refused', why: 'The reason contains one of the person\'s details (a name, date of birth, NHS number, postcode, phone or email). The reason stays in the audit trail, so say why without them.' };
    }
    const open = !concludedAt(referral);
    if (open && !request.force) {
      return {
        kind: 'refused',
        why:
          `${reference} is still open (${STATUS_LABELS[referral.status].toLowerCase()}): erasing it now leaves its service unable to contact the person. ` +
          'Ask the service to close or decline it first, or add --force if the erasure cannot wait.',
      };
    }
    const removed = await this.removeEverywhere(stored, { kind: 'erasure' }, request.by, {
      reason,
      by: request.by.name ?? request.by.id,
      ...(open ? { forcedWhileOpen: true } : {}),
    });
    this.deps.logger.info('person-erased', { reference, forcedWhileOpen: open, ...countsForLog(removed) });
    return { kind: 'erased', reference, removed, wasOpen: open };
  }

  /** A due retention timer: removes the person's data when the period has run out; returns the timers that follow. */
  async retire(timer: Timer): Promise<Timer[]> {
    if (!timer.referralId) return [];
    const stored = await this.deps.referrals.get(timer.referralId);
    const decision = retentionDecision(stored?.referral, this.deps.retentionMonths, this.deps.now());
    if (decision.do === 'wait') return decision.next;
    if (decision.do === 'nothing' || !stored) return [];
    const removed = await this.removeEverywhere(stored, { kind: 'retention', months: this.deps.retentionMonths }, SIGNPOST, {});
    this.deps.logger.info('referral-deidentified', { reference: stored.referral.reference, rule: ruleName({ kind: 'retention', months: this.deps.retentionMonths }), ...countsForLog(removed) });
    return [];
  }

  /**
   * Gives every ended referral that still holds the person's details its retention clock:
   * referrals that ended before retention existed, or whose period was shortened since. Safe to
   * repeat (a timer already stored is left as it is).
   */
  async catchUp(): Promise<number> {
    let scheduled = 0;
    for (const id of await this.deps.personData.concludedReferralIds()) {
      const stored = await this.deps.referrals.get(id);
      const timers = stored ? retentionTimers(stored.referral, this.deps.retentionMonths) : [];
      await this.deps.timers.schedule(timers);
      scheduled += timers.length;
    }
    if (scheduled) this.deps.logger.info('retention-catch-up', { scheduled });
    return scheduled;
  }

  /**
   * Removes conversation state holding a referral form nobody has touched for the configured
   * days: the person's answers in a form never sent. The referrer starts again with `refer`.
   */
  async removeUnfinishedForms(): Promise<number> {
    const days = this.deps.unfinishedFormDays ?? DEFAULT_UNFINISHED_FORM_DAYS;
    const cutoff = new Date(this.deps.now().getTime() - days * 24 * 60 * 60 * 1000).toISOString();
    const stale: string[] = [];
    for await (const item of this.deps.stateStore.entries()) {
      if (item.writtenAt && new Date(item.writtenAt).toISOString() < cutoff && JSON.stringify(item.value).includes('"draft":{')) stale.push(item.key);
    }
    await this.deps.stateStore.delete(stale);
    if (stale.length) this.deps.logger.info('unfinished-forms-removed', { count: stale.length, days });
    return stale.length;
  }

  private async removeEverywhere(stored: StoredReferral, rule: RemovalRule, by: Operator, detail: Record<string, string | number | boolean>): Promise<RemovalCounts> {
    const { referral } = stored;
    const at = this.deps.now().toISOString();
    const notifications = await this.deps.personData.outbox(referral.id);
    const emailCopies = this.mailCopies(notifications);
    for (const file of emailCopies) unlinkSync(file);
    const counts: RemovalCounts = {
      notifications: await this.deps.personData.removeOutboxContent(referral.id, removedPayload(referral.reference, ruleName(rule), at), isWorkOrder),
      emailCopies: emailCopies.length,
      conversationStates: await this.removeConversationState(referral),
      auditNotes: await this.deps.personData.removeAuditFreeText(referral.id),
      recordParts: [],
    };
    const { referral: next, removed } = deidentify(referral, at, rule);
    counts.recordParts = removed;
    const event: AuditEvent = {
      referralId: referral.id,
      at,
      actor: by,
      action: rule.kind === 'erasure' ? 'person.erased' : 'referral.deidentified',
      detail: {
        summary: rule.kind === 'erasure' ? "The person's details were erased on request" : "The person's details were removed: the retention period ran out",
        rule: ruleName(rule),
        removed: removed.length ? removed.join('; ') : 'nothing left in the record',
        notifications: counts.notifications,
        emailCopies: counts.emailCopies,
        conversationStates: counts.conversationStates,
        auditNotes: counts.auditNotes,
        ...detail,
      },
    };
    if (removed.length) {
      const changed = { ...next, version: referral.version + 1 };
      // With the eTag of the read: a change meanwhile fails this, and the next run starts again.
      // The card in the service's channel is replaced through the outbox, so Teams stops showing what was removed.
      await this.deps.referrals.update(changed, stored.etag, event, changed.channelPost ? [channelRefreshMessage(changed)] : []);
    } else if (rule.kind === 'erasure') {
      await this.deps.referrals.appendEvent({ ...event, referralId: referral.id });
    }
    return counts;
  }

  /** The .eml files the embedded default wrote for the referral's notifications (named by their keys). */
  private mailCopies(notifications: OutboxRecord[]): string[] {
    const folder = this.deps.mailFolder;
    if (!folder) return [];
    return notifications.map((entry) => path.join(folder, mailFileName(entry.key))).filter((file) => existsSync(file));
  }

  private async conversationState(referral: Referral): Promise<Array<{ key: string; value: Record<string, unknown> }>> {
    const found: Array<{ key: string; value: Record<string, unknown> }> = [];
    for await (const item of this.deps.stateStore.entries()) {
      if (holdsReferral(JSON.stringify(item.value), referral)) found.push(item);
    }
    return found;
  }

  private async removeConversationState(referral: Referral): Promise<number> {
    const found = await this.conversationState(referral);
    await this.deps.stateStore.delete(found.map((item) => item.key));
    return found.length;
  }
}

/**
 * Does a conversation's state hold this referral in progress? Its draft carries the referral's
 * id from the check-and-send step; before that, the person's NHS number, or their full name
 * together with their date of birth.
 */
function holdsReferral(json: string, referral: Referral): boolean {
  if (json.includes(referral.id)) return true;
  const person = referral.person;
  if (!person) return false;
  if (person.nhsNumber && json.includes(person.nhsNumber)) return true;
  return json.includes(person.givenName) && json.includes(person.familyName) && json.includes(person.dateOfBirth);
}

/** Outbox messages that carry nothing of the person: they read the record as it is when they run. */
function isWorkOrder(payload: Record<string, unknown>): boolean {
  return isChannelPostPayload(payload) || isChannelRefreshPayload(payload) || isClocksPayload(payload) || isReportCountPayload(payload);
}

function countsForLog(counts: RemovalCounts) {
  return {
    recordParts: counts.recordParts.length,
    notifications: counts.notifications,
    emailCopies: counts.emailCopies,
    conversationStates: counts.conversationStates,
    auditNotes: counts.auditNotes,
  };
}
