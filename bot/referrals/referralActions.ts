import { AdaptiveCardInvokeResponse, CardFactory, CloudAdapter, TeamsInfo, TurnContext } from 'botbuilder';
import { z } from 'zod';
import {
  Actor,
  caseState,
  CLOSE_REASONS,
  CloseReason,
  DECLINE_REASONS,
  DeclineReason,
  LifecycleAction,
  PROGRESS_STATUSES,
  transition,
} from '../../domain/referral/lifecycle';
import type { AuditEvent, Referral } from '../../domain/referral/referral';
import { ons4Schema, scoreSwemwbs, swemwbsItemsSchema } from '../../domain/referral/outcomes';
import { OutboxMessage, ReferralConflictError, ReferralRepository, StoredReferral } from '../../storage/referralRepository';
import type { ReferrerRepository } from '../../storage/referrerRepository';
import type { DirectoryRepository } from '../../storage/directoryRepository';
import { ChangeEvent, deliveryChannels, referralUpdate } from '../../domain/notifications/referralUpdate';
import type { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import type { Logger } from '../app/log';
import { channelOf, ServiceChannels } from '../channels/serviceChannels';
import { cardAnswer, messageAnswer } from '../teams/invokeResponses';
import { randomUUID } from 'node:crypto';
import { ESCALATION_REASONS, raiseEscalation } from '../../domain/supervision/escalation';
import { clocksMayChange, escalationAlert, escalationTimer, isOpen } from '../../domain/supervision/policy';
import type { Supervision } from '../supervision/supervision';
import { signInEmail } from '../teams/members';

/**
 * The buttons on a referral's channel card (Universal Actions, `Action.Execute`). Every click is
 * untrusted: the payload is validated, the clicker must be a member of the team whose channel
 * serves the referral's service (asked of Teams, cached briefly), the card must show the
 * referral's current version, and the lifecycle must allow the change. Anything else changes
 * nothing and answers with the current card and a message saying why.
 */

const uuid = z.string().uuid();
const optionalNote = z.string().trim().max(500).optional().transform((value) => value || undefined);
const stage = z.enum(['baseline', 'closing'], { errorMap: () => ({ message: 'Choose baseline or closing' }) });

const executeSchema = z.object({
  action: z.object({
    type: z.literal('Action.Execute'),
    verb: z.string().max(40),
    data: z.record(z.unknown()),
  }),
});

const inputSchemas = {
  accept: z.object({}),
  assign: z.object({ assignTo: z.string().min(1, 'Choose who to assign it to').max(200) }),
  decline: z.object({ declineReason: z.enum(DECLINE_REASONS, { errorMap: () => ({ message: 'Choose why you are declining' }) }), declineNote: optionalNote }),
  redirect: z.object({ toServiceId: z.string().min(1, 'Choose a service').max(80) }),
  update: z.object({
    status: z.enum(PROGRESS_STATUSES, { errorMap: () => ({ message: 'Choose what has happened' }) }),
    activity: z.string().trim().max(120).optional().transform((value) => value || undefined),
  }),
  close: z.object({ closeReason: z.enum(CLOSE_REASONS, { errorMap: () => ({ message: 'Choose why it is closing' }) }), closeNote: optionalNote }),
  swemwbs: z
    .object({ swemwbsStage: stage })
    .merge(z.object(Object.fromEntries([1, 2, 3, 4, 5, 6, 7].map((n) => [`swemwbs${n}`, z.string({ required_error: `Score statement ${n}` })])) as Record<string, z.ZodString>)),
  ons4: z.object({ ons4Stage: stage, lifeSatisfaction: z.unknown(), worthwhile: z.unknown(), happiness: z.unknown(), anxiety: z.unknown() }),
  goals: z.object(
    Object.fromEntries([1, 2, 3].flatMap((n) => [[`goal${n}`, z.string().trim().max(200).optional()], [`goal${n}Achieved`, z.enum(['yes', 'no']).optional()]])),
  ),
  escalate: z.object({
    escalationReason: z.enum(ESCALATION_REASONS, { errorMap: () => ({ message: 'Choose why you are escalating' }) }),
    escalationNote: z
      .string({ required_error: 'Say what the supervisor needs to know' })
      .trim()
      .min(1, 'Say what the supervisor needs to know')
      .max(1000, 'Keep the note under 1,000 characters'),
  }),
} as const;
type Verb = keyof typeof inputSchemas;

const MEMBERSHIP_CACHE_MS = 5 * 60 * 1000;


const RECORD_LABELS: Record<'swemwbs' | 'ons4' | 'goals', (inputs: Record<string, string | undefined>) => string> = {
  swemwbs: (inputs) => `${inputs.swemwbsStage === 'closing' ? 'Closing' : 'Baseline'} SWEMWBS`,
  ons4: (inputs) => `${inputs.ons4Stage === 'closing' ? 'Closing' : 'Baseline'} ONS4 wellbeing`,
  goals: () => 'Goals',
};

export interface ReferralActionDependencies {
  referrals: ReferralRepository;
  referrers: ReferrerRepository;
  directory: DirectoryRepository;
  /** Called after a change queued notifications, so they go out now rather than at the next poll. */
  notificationsQueued?: () => void;
  channelLinks: ServiceChannelRepository;
  channels: ServiceChannels;
  /** Reminder clocks and who supervises each service. */
  supervision: Supervision;
  logger: Logger;
  now: () => Date;
}

export class ReferralActions {
  private readonly membership = new Map<string, { member: boolean; email?: string; until: number }>();

  constructor(private readonly deps: ReferralActionDependencies) {}

  async handle(context: TurnContext, invokeValue: unknown): Promise<AdaptiveCardInvokeResponse> {
    const parsed = executeSchema.safeParse(invokeValue);
    const referralId = uuid.safeParse(parsed.success ? parsed.data.action.data.referralId : undefined);
    if (!parsed.success || !referralId.success) return messageAnswer('This card is not a Signpost referral card, so nothing changed.');
    const stored = await this.deps.referrals.get(referralId.data);
    if (!stored) return messageAnswer('This card does not match any referral in Signpost, so nothing changed.');

    const { verb, data } = parsed.data.action;
    if (verb === 'contact') return this.showContactDetails(context, stored.referral);
    if (!(verb in inputSchemas)) return this.card(context, stored.referral, `"${verb}" is not something this card can do. Nothing changed.`);
    if (String(data.version) !== String(stored.referral.version)) {
      return this.card(context, stored.referral, 'This card was out of date, so nothing changed. Here is the referral as it stands now.');
    }
    const inputs = inputSchemas[verb as Verb].safeParse(data);
    if (!inputs.success) {
      return this.card(context, stored.referral, `Nothing changed: ${inputs.error.issues.map((issue) => issue.message).join('; ')}.`);
    }

    const linkWorker = await this.linkWorker(context, stored.referral.serviceId);
    const actor: Actor = {
      id: context.activity.from.id,
      name: context.activity.from.name ?? 'A link worker',
      ...(linkWorker.email ? { email: linkWorker.email } : {}),
      isLinkWorker: linkWorker.member,
    };
    if (verb === 'escalate') return this.escalate(context, stored, actor, inputs.data as z.infer<(typeof inputSchemas)['escalate']>);
    const action = await this.toAction(context, verb as Verb, inputs.data as never);
    if ('error' in action) return this.card(context, stored.referral, action.error);
    return this.apply(context, stored, action, actor, verb as Verb, inputs.data as Record<string, string | undefined>);
  }

  private async apply(
    context: TurnContext,
    stored: StoredReferral,
    action: LifecycleAction,
    actor: Actor,
    verb: Verb,
    inputs: Record<string, string | undefined>,
  ): Promise<AdaptiveCardInvokeResponse> {
    const result = transition(caseState(stored.referral), action, actor);
    if (!result.ok) return this.card(context, stored.referral, `Nothing changed: ${result.error}`);
    if (!result.changed) return this.card(context, stored.referral, result.summary);

    const at = this.deps.now().toISOString();
    const recorded = this.recordChanges(verb, inputs, at, stored.referral);
    if ('error' in recorded) return this.card(context, stored.referral, recorded.error as string);
    const next: Referral = {
      ...stored.referral,
      ...recorded,
      status: result.next.status,
      serviceId: result.next.serviceId,
      owner: result.next.owner,
      version: stored.referral.version + 1,
      updatedAt: at,
      ...(action.verb === 'decline' ? { outcome: { kind: 'declined' as const, reason: action.reason, note: action.note, at } } : {}),
      ...(action.verb === 'close' ? { outcome: { kind: 'closed' as const, reason: action.reason, note: action.note, at } } : {}),
      // A redirected referral is posted anew to its new service's channel, and its clocks restart there.
      ...(action.verb === 'redirect' ? { channelPost: undefined, routedAt: at, acceptedAt: undefined } : {}),
      // Taking a case on starts the first-contact and engagement clocks.
      ...(stored.referral.status === 'submitted' && result.next.status === 'accepted' ? { acceptedAt: at } : {}),
    };
    const event: AuditEvent = {
      referralId: next.id,
      at,
      actor: { id: actor.id, name: actor.name },
      action: `referral.${action.verb}`,
      detail: {
        summary: result.summary,
        status: next.status,
        serviceId: next.serviceId,
        ...(action.verb === 'decline' || action.verb === 'close' ? { reason: action.reason } : {}),
        ...(action.verb === 'update' && action.activity ? { activity: action.activity } : {}),
      },
    };
    let saved: StoredReferral;
    try {
      if (clocksMayChange(stored.referral, next)) await this.deps.supervision.prepare(next);
      saved = await this.deps.referrals.update(next, stored.etag, event, await this.notificationsFor(next, action, actor));
    } catch (error) {
      if (!(error instanceof ReferralConflictError)) throw error;
      // Someone acted at the same moment and won. This click was made on what is now an old
      // version, so it changes nothing; say what happened instead (e.g. who accepted it).
      const current = (await this.deps.referrals.get(stored.referral.id)) ?? stored;
      const now = transition(caseState(current.referral), action, actor);
      const notice = !now.ok ? `Nothing changed: ${now.error}` : !now.changed ? now.summary : 'Someone changed this referral at the same moment, so nothing changed. Here it is now.';
      return this.card(context, current.referral, notice);
    }
    this.deps.logger.info('referral-action', { verb, reference: next.reference, status: next.status });

    if (action.verb === 'redirect') {
      // The old service's queue keeps the entry, marked, so its status count stays right.
      await this.deps.referrals.markQueueEntry(stored.referral.serviceId, next.reference, 'redirected');
      await this.deps.channels.postReferral(context.adapter as CloudAdapter, next.id);
    }
    this.deps.notificationsQueued?.();
    const card = await this.deps.channels.cardFor(context, saved.referral, `${result.summary}.`);
    await this.updatePostedCard(context, stored.referral, card);
    return cardAnswer(card);
  }

  /**
   * Escalate: the referral records the escalation, and the alert to the supervisors whose role
   * fits the reason is queued in the same transaction. The re-alert clock is stored first.
   */
  private async escalate(
    context: TurnContext,
    stored: StoredReferral,
    actor: Actor,
    inputs: { escalationReason: (typeof ESCALATION_REASONS)[number]; escalationNote: string },
  ): Promise<AdaptiveCardInvokeResponse> {
    const at = this.deps.now().toISOString();
    const raised = raiseEscalation({ id: randomUUID(), reason: inputs.escalationReason, note: inputs.escalationNote, at }, actor, isOpen(stored.referral));
    if (!raised.ok) return this.card(context, stored.referral, `Nothing changed: ${raised.error}`);
    const { supervision } = this.deps;
    const next: Referral = {
      ...stored.referral,
      escalations: [...(stored.referral.escalations ?? []), raised.escalation].slice(-20),
      version: stored.referral.version + 1,
      updatedAt: at,
    };
    const serviceName = (await this.deps.directory.get(next.serviceId))?.name ?? next.serviceId;
    const alert = escalationAlert(next, raised.escalation, serviceName, at, supervision.calendar.hours.timeZone);
    const outbox = await supervision.outboxFor([{ audience: { to: 'supervisors', reason: raised.escalation.reason }, message: alert }], next.serviceId, `escalation:${raised.escalation.id}`);
    const event: AuditEvent = {
      referralId: next.id,
      at,
      actor: { id: actor.id, name: actor.name },
      action: 'referral.escalate',
      detail: { summary: raised.summary, reason: raised.escalation.reason, escalationId: raised.escalation.id, recipients: outbox.length },
    };
    let saved: StoredReferral;
    try {
      const settings = await supervision.settingsFor(next.serviceId);
      await supervision.deps.timers.schedule([escalationTimer(next, raised.escalation, 1, new Date(at), settings, supervision.calendar)]);
      saved = await this.deps.referrals.update(next, stored.etag, event, outbox);
    } catch (error) {
      if (!(error instanceof ReferralConflictError)) throw error;
      const current = (await this.deps.referrals.get(stored.referral.id)) ?? stored;
      return this.card(context, current.referral, 'Someone changed this referral at the same moment, so it was not escalated. Here it is now; escalate again if you still need to.');
    }
    this.deps.logger.info('referral-escalated', { reference: next.reference, reason: raised.escalation.reason, recipients: outbox.length });
    this.deps.notificationsQueued?.();
    const notice = outbox.length
      ? `${raised.summary}. The supervisors have been alerted; their answer will appear here.`
      : `${raised.summary}, but nobody can be alerted: the service has no supervisors and Signpost has no admins. Tell your manager directly.`;
    const card = await this.deps.channels.cardFor(context, saved.referral, notice);
    await this.updatePostedCard(context, stored.referral, card);
    return cardAnswer(card);
  }

  private async notificationsFor(referral: Referral, action: LifecycleAction, actor: Actor): Promise<OutboxMessage[]> {
    if (action.verb === 'record') return []; // outcome scores are reported when the case closes
    return referrerUpdates(this.deps, referral, { verb: action.verb, actorName: actor.name, activity: action.verb === 'update' ? action.activity : undefined });
  }

  /**
   * The person's contact details, to the link worker who asked only (the answer to an
   * Action.Execute goes to the clicker; the shared card is not changed). Every view is audited.
   */
  private async showContactDetails(context: TurnContext, referral: Referral): Promise<AdaptiveCardInvokeResponse> {
    if (!(await this.linkWorker(context, referral.serviceId)).member) {
      return this.card(context, referral, "Only the service's link workers can see contact details.");
    }
    if (referral.status === 'declined') return this.card(context, referral, 'This referral was declined; its contact details are no longer shown.');
    const actor = { id: context.activity.from.id, name: context.activity.from.name ?? 'A link worker' };
    await this.deps.referrals.appendEvent({
      referralId: referral.id,
      at: this.deps.now().toISOString(),
      actor,
      action: 'referral.contact-details-shown',
      detail: { summary: `Contact details viewed by ${actor.name}` },
    });
    this.deps.logger.info('contact-details-shown', { reference: referral.reference });
    const card = await this.deps.channels.cardFor(context, referral, undefined, true);
    return cardAnswer(card);
  }

  /** Turns validated card inputs into a lifecycle action, checking targets against Teams and the record. */
  private async toAction(context: TurnContext, verb: Verb, inputs: Record<string, string | undefined>): Promise<LifecycleAction | { error: string }> {
    switch (verb) {
      case 'accept':
        return { verb: 'accept' };
      case 'assign': {
        const member = (await this.deps.channels.members(context)).find((candidate) => candidate.id === inputs.assignTo);
        if (!member) return { error: 'Nothing changed: that person is not a member of this team.' };
        return { verb: 'assign', to: member };
      }
      case 'decline':
        return { verb: 'decline', reason: inputs.declineReason as DeclineReason, note: inputs.declineNote };
      case 'redirect':
        return { verb: 'redirect', toServiceId: inputs.toServiceId! };
      case 'update':
        return { verb: 'update', status: inputs.status as (typeof PROGRESS_STATUSES)[number], activity: inputs.activity };
      case 'close':
        return { verb: 'close', reason: inputs.closeReason as CloseReason, note: inputs.closeNote };
      case 'swemwbs':
      case 'ons4':
      case 'goals':
        return { verb: 'record', what: RECORD_LABELS[verb](inputs) };
      case 'escalate':
        return { error: 'Escalations are not a lifecycle change.' }; // handled before this point
    }
  }

  /** What a record action writes into the referral; a problem with the scores is reported, not stored. */
  private recordChanges(verb: Verb, inputs: Record<string, string | undefined>, at: string, referral: Referral): Partial<Referral> | { error: string } {
    if (verb === 'swemwbs') {
      const items = swemwbsItemsSchema.safeParse([1, 2, 3, 4, 5, 6, 7].map((n) => inputs[`swemwbs${n}`]));
      if (!items.success) return { error: `Nothing changed: ${items.error.issues[0].message}.` };
      const stage = inputs.swemwbsStage as 'baseline' | 'closing';
      return { wellbeing: { ...referral.wellbeing, [stage]: scoreSwemwbs(items.data, at) } };
    }
    if (verb === 'ons4') {
      const scores = ons4Schema.safeParse(inputs);
      if (!scores.success) return { error: `Nothing changed: ${scores.error.issues[0].path[0]}: ${scores.error.issues[0].message}.` };
      const stage = inputs.ons4Stage as 'baseline' | 'closing';
      return { wellbeing: { ...referral.wellbeing, [stage]: { tool: 'ons4' as const, scores: scores.data, at } } };
    }
    if (verb === 'goals') {
      const goals = [1, 2, 3]
        .map((n) => ({ text: inputs[`goal${n}`]?.trim() ?? '', achieved: inputs[`goal${n}Achieved`] === 'yes' }))
        .filter((goal) => goal.text.length > 0);
      return { goals };
    }
    return {};
  }

  /**
   * A link worker of a service is a member of the team whose channel serves it, acting from
   * that channel. Membership is asked of Teams at the time of the action and cached briefly.
   */
  private async linkWorker(context: TurnContext, serviceId: string): Promise<{ member: boolean; email?: string }> {
    const where = channelOf(context);
    const link = await this.deps.channelLinks.forService(serviceId);
    if (!where || !link || link.channelId !== where.channelId || link.teamId !== where.teamId) return { member: false };
    const key = `${link.teamId}|${context.activity.from.id}`;
    const cached = this.membership.get(key);
    const now = this.deps.now().getTime();
    if (cached && cached.until > now) return cached;
    let found: { member: boolean; email?: string } = { member: false };
    try {
      const email = signInEmail(await TeamsInfo.getMember(context, context.activity.from.id));
      found = { member: true, ...(email ? { email } : {}) };
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
    this.membership.set(key, { ...found, until: now + MEMBERSHIP_CACHE_MS });
    return found;
  }

  /** Everyone in the channel sees the same card: the posted activity is replaced in place. */
  private async updatePostedCard(context: TurnContext, before: Referral, card: Record<string, unknown>): Promise<void> {
    const post = before.channelPost;
    if (!post || post.activityId === 'unknown') return;
    try {
      await context.updateActivity({
        id: post.activityId,
        type: 'message',
        conversation: { ...context.activity.conversation, id: post.conversationId },
        attachments: [CardFactory.adaptiveCard(card)],
      });
    } catch (error) {
      this.deps.logger.warn('card-update-failed', { reference: before.reference, statusCode: (error as { statusCode?: number }).statusCode });
    }
  }

  private async card(context: TurnContext, referral: Referral, notice: string): Promise<AdaptiveCardInvokeResponse> {
    return cardAnswer(await this.deps.channels.cardFor(context, referral, notice));
  }

}

/**
 * What the referrer hears about a change, to be written in the same transaction as the change:
 * one message per channel they chose (Teams by default), keyed by referral and version.
 */
export async function referrerUpdates(
  deps: { referrers: ReferrerRepository; directory: DirectoryRepository },
  referral: Referral,
  change: ChangeEvent,
): Promise<OutboxMessage[]> {
  const [profile, services] = await Promise.all([deps.referrers.get(referral.referrer.teamsUserId), deps.directory.list()]);
  const names = new Map(services.map((service) => [service.id, service.name]));
  const wait = services.find((service) => service.id === referral.serviceId)?.waitingTimeWeeks.value ?? null;
  const update = referralUpdate(referral, change, names, wait);
  return deliveryChannels(profile?.notify).map((channel) => ({
    key: `${referral.id}:${referral.version}:${channel}`,
    channel,
    payload: update as unknown as Record<string, unknown>,
  }));
}
