import { AdaptiveCardInvokeResponse, CloudAdapter, TurnContext } from 'botbuilder';
import { z } from 'zod';
import type { AuditEvent, Referral } from '../../domain/referral/referral';
import { ESCALATION_REASON_LABELS, Escalation, EscalationResponse, isAwaitingAnswer, respondToEscalation } from '../../domain/supervision/escalation';
import { clocksMayChange, escalationAlert, StaffMessage } from '../../domain/supervision/policy';
import { staffMessageCard } from '../../cards/staffMessageCard';
import { OutboxMessage, ReferralConflictError, ReferralRepository, StoredReferral } from '../../storage/referralRepository';
import type { ReferrerRepository } from '../../storage/referrerRepository';
import type { DirectoryRepository } from '../../storage/directoryRepository';
import type { ContactRepository } from '../../storage/contactRepository';
import type { Logger } from '../app/log';
import type { ServiceChannels } from '../channels/serviceChannels';
import type { Supervision } from './supervision';
import { referrerUpdates } from '../referrals/referralActions';
import { describeSender } from '../teams/members';
import { cardAnswer, messageAnswer } from '../teams/invokeResponses';

/**
 * The buttons on an escalation alert in a supervisor's chat: Acknowledge, Take over, Advice
 * given. Like every card action the click is untrusted: the ids are validated, the clicker must
 * be a supervisor of the referral's service (by Teams id or sign-in email) or a Signpost admin,
 * and the escalation's state decides what may change. The answer is stored on the referral
 * with an audit event, the link worker who escalated is told, and the channel card shows it.
 */

export const ESCALATION_VERBS = ['escalation-acknowledge', 'escalation-take-over', 'escalation-advice'] as const;

const invokeSchema = z.object({
  action: z.object({
    type: z.literal('Action.Execute'),
    verb: z.enum(ESCALATION_VERBS),
    data: z.object({
      referralId: z.string().uuid(),
      escalationId: z.string().uuid(),
      adviceNote: z.string().max(1000, 'Keep the advice under 1,000 characters').optional(),
    }),
  }),
});

const AUDIT_ACTIONS = {
  acknowledge: 'escalation.acknowledge',
  'take-over': 'escalation.take-over',
  advice: 'escalation.advice',
} as const;

export interface EscalationActionDependencies {
  referrals: ReferralRepository;
  referrers: ReferrerRepository;
  directory: DirectoryRepository;
  contacts: ContactRepository;
  channels: ServiceChannels;
  supervision: Supervision;
  logger: Logger;
  now: () => Date;
  notificationsQueued?: () => void;
}

export function isEscalationVerb(invokeValue: unknown): boolean {
  const verb = (invokeValue as { action?: { verb?: unknown } } | undefined)?.action?.verb;
  return typeof verb === 'string' && verb.startsWith('escalation-');
}

export class EscalationActions {
  constructor(private readonly deps: EscalationActionDependencies) {}

  async handle(context: TurnContext, invokeValue: unknown): Promise<AdaptiveCardInvokeResponse> {
    const parsed = invokeSchema.safeParse(invokeValue);
    if (!parsed.success) {
      const tooLong = parsed.error.issues.find((issue) => issue.path.includes('adviceNote'));
      return messageAnswer(tooLong ? `Nothing changed: ${tooLong.message}.` : 'This card is not a Signpost escalation alert, so nothing changed.');
    }
    const { verb, data } = parsed.data.action;
    const response: EscalationResponse =
      verb === 'escalation-acknowledge' ? { verb: 'acknowledge' } : verb === 'escalation-take-over' ? { verb: 'take-over' } : { verb: 'advice', note: data.adviceNote ?? '' };

    const who = await this.whoIsClicking(context);
    // One retry: a link worker may change the referral at the same moment (a new version).
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const stored = await this.deps.referrals.get(data.referralId);
      const escalation = stored?.referral.escalations?.find((candidate) => candidate.id === data.escalationId);
      if (!stored || !escalation) return messageAnswer('This alert does not match any escalation in Signpost, so nothing changed.');
      const mayAnswer = (await this.deps.supervision.isSupervisor(stored.referral.serviceId, who)) || this.deps.supervision.isAdmin(who);
      const at = this.deps.now().toISOString();
      const result = respondToEscalation(escalation, response, { id: who.teamsUserId, name: who.name, mayAnswer }, at);
      if (!result.ok) return this.alertCard(stored.referral, escalation, `Nothing changed: ${result.error}`);
      if (!result.changed) return this.alertCard(stored.referral, escalation, result.summary);
      try {
        const saved = await this.save(stored, result.escalation, result.summary, response, who, result.takeOver, at);
        await this.refreshChannelCard(context, saved.referral, result.summary);
        this.deps.notificationsQueued?.();
        return this.alertCard(saved.referral, result.escalation, `${result.summary}. The link worker has been told.`);
      } catch (error) {
        if (!(error instanceof ReferralConflictError)) throw error;
      }
    }
    return messageAnswer('The referral kept changing while you answered, so nothing changed. Please try again.');
  }

  private async save(
    stored: StoredReferral,
    escalation: Escalation,
    summary: string,
    response: EscalationResponse,
    who: { teamsUserId: string; name: string; email?: string },
    takeOver: { id: string; name: string } | undefined,
    at: string,
  ): Promise<StoredReferral> {
    const before = stored.referral;
    const next: Referral = {
      ...before,
      escalations: (before.escalations ?? []).map((candidate) => (candidate.id === escalation.id ? escalation : candidate)),
      ...(takeOver
        ? {
            owner: { ...takeOver, ...(who.email ? { email: who.email } : {}) },
            status: before.status === 'submitted' ? 'accepted' : before.status,
            acceptedAt: before.acceptedAt ?? at,
          }
        : {}),
      version: before.version + 1,
      updatedAt: at,
    };
    const serviceName = (await this.deps.directory.get(next.serviceId))?.name ?? next.serviceId;
    const answer: StaffMessage = {
      kind: 'escalation-answer',
      title: `${summary}: ${next.reference}`,
      lines: [
        `Your escalation (${ESCALATION_REASON_LABELS[escalation.reason].toLowerCase()}) was answered.`,
        ...(takeOver ? [`${takeOver.name} now has the case.`] : []),
        'The referral card in the channel shows the answer.',
      ],
      privateNote: escalation.resolution?.note,
      serviceName,
      referralId: next.id,
      reference: next.reference,
      at,
    };
    const outbox: OutboxMessage[] = [
      ...(await this.deps.supervision.outboxFor([{ audience: { to: 'person', person: escalation.raisedBy }, message: answer }], next.serviceId, `escalation:${escalation.id}:${response.verb}`)),
      // A new owner is news for the referrer, as when a case is assigned.
      ...(takeOver ? await referrerUpdates(this.deps, next, { verb: 'assign', actorName: who.name }) : []),
    ];
    const event: AuditEvent = {
      referralId: next.id,
      at,
      actor: { id: who.teamsUserId, name: who.name },
      action: AUDIT_ACTIONS[response.verb],
      detail: { summary, escalationId: escalation.id, reason: escalation.reason, ...(takeOver ? { status: next.status } : {}) },
    };
    if (clocksMayChange(before, next)) await this.deps.supervision.prepare(next);
    const saved = await this.deps.referrals.update(next, stored.etag, event, outbox);
    this.deps.logger.info('escalation-answered', { reference: next.reference, verb: response.verb });
    return saved;
  }

  /** The clicker, with the sign-in email Teams gives for them (supervisors are configured by email). */
  private async whoIsClicking(context: TurnContext): Promise<{ teamsUserId: string; aadObjectId?: string; name: string; email?: string }> {
    const from = context.activity.from;
    const email = (await describeSender(context))?.email ?? (await this.deps.contacts.byTeamsId(from.id))?.email;
    return { teamsUserId: from.id, aadObjectId: from.aadObjectId, name: from.name ?? 'A supervisor', email };
  }

  private async refreshChannelCard(context: TurnContext, referral: Referral, summary: string): Promise<void> {
    try {
      await this.deps.channels.refreshPostedCard(context.adapter as CloudAdapter, referral, `${summary}.`);
    } catch (error) {
      // The answer is stored and the link worker told; the card catches up at the next click.
      this.deps.logger.warn('channel-card-refresh-failed', { reference: referral.reference, statusCode: (error as { statusCode?: number }).statusCode });
    }
  }

  private async alertCard(referral: Referral, escalation: Escalation, notice: string): Promise<AdaptiveCardInvokeResponse> {
    const serviceName = (await this.deps.directory.get(referral.serviceId))?.name ?? referral.serviceId;
    const message = escalationAlert(referral, escalation, serviceName, this.deps.now().toISOString(), this.deps.supervision.calendar.hours.timeZone);
    const answer = isAwaitingAnswer(escalation) ? undefined : answerLine(escalation);
    return cardAnswer(staffMessageCard(message, { answer, resolved: Boolean(escalation.resolution), notice }));
  }

}

function answerLine(escalation: Escalation): string {
  if (escalation.resolution?.kind === 'taken-over') return `Taken over by ${escalation.resolution.by.name}.`;
  if (escalation.resolution?.kind === 'advice-given') return `Advice given by ${escalation.resolution.by.name}: ${escalation.resolution.note}`;
  return `Acknowledged by ${escalation.acknowledged!.by.name}.`;
}
