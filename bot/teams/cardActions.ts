import { randomUUID } from 'node:crypto';
import type { AdaptiveCardInvokeResponse, TurnContext } from 'botbuilder';
import { z } from 'zod';
import { CLOSE_REASONS, DECLINE_REASONS, PROGRESS_STATUSES } from '../../domain/referral/lifecycle';
import { ons4Schema, swemwbsItemsSchema } from '../../domain/referral/outcomes';
import { escapeCardText, plainText } from '../../domain/text';
import { ESCALATION_REASONS, Escalation, isAwaitingAnswer } from '../../domain/supervision/escalation';
import type { Referral } from '../../domain/referral/referral';
import { escalationAlert } from '../../domain/supervision/messages';
import { ALERT_REFRESH_VERB, staffMessageCard } from '../../cards/staffMessageCard';
import { ACTIVITY_SEARCH_DATASET, activityChoice, REFRESH_VERB } from '../../cards/serviceReferralCard';
import { MAX_QUERY_LENGTH, parseSearchQuery } from '../../domain/directory/search';
import { runningActivitiesByName, searchActivities } from '../../domain/directory/activitySearch';
import type { ActivityRepository } from '../../storage/activityRepository';
import { referralUpdateCard, UPDATE_REFRESH_VERB } from '../../cards/referralUpdateCard';
import { standingSince } from '../../domain/notifications/referralUpdate';
import { questionText } from '../email/emailInputs';
import type { ActingPerson, ActionOutcome, ReferralActions, ReferralView, ReferrerUpdateView, RequestedAction } from '../referrals/referralActions';
import type { ServiceChannels } from '../channels/serviceChannels';
import { upkeepRequestFrom, type DirectoryUpkeep } from '../directory/directoryUpkeep';
import { CHANGE_VERB, CONFIRM_VERB, verificationRequestCard } from '../../cards/verificationCard';
import { requestMessageFor, type VerifiableEntry } from '../../domain/directory/verification';
import type { Supervision } from '../supervision/supervision';
import type { DirectoryRepository } from '../../storage/directoryRepository';
import { cardAnswer, ERROR_RESPONSE_TYPE, errorAnswer, messageAnswer } from './invokeResponses';
import { describeSender } from './members';
import { channelOf } from './places';

/**
 * Universal Actions (`Action.Execute`) from Signpost's cards in Teams: the referral card in a
 * service's channel and the escalation alert in a supervisor's chat. Each verb's data is parsed
 * by its own schema into a typed action; everything else (who may, what changes, storing,
 * announcing) is the application layer's, the same for every surface.
 */

const envelopeSchema = z.object({
  action: z.object({
    type: z.literal('Action.Execute'),
    verb: z.string().max(40),
    data: z.record(z.unknown()),
  }),
});

/** Card inputs arrive as strings; anything else (an object, an array) is refused, never coerced. Free text is cleaned of control characters. */
const optionalText = (max: number) => plainText({ max, min: 0 }).optional().transform((value) => value || undefined);
const choice = <T extends readonly [string, ...string[]]>(values: T, message: string) => z.enum(values, { errorMap: () => ({ message }) });
const stage = choice(['baseline', 'closing'] as const, 'Choose baseline or closing');
const version = z.union([z.number(), z.string()]).pipe(z.coerce.number().int().min(1));
const referralCard = z.object({ referralId: z.string().uuid(), version });
const escalationCard = z.object({ referralId: z.string().uuid(), escalationId: z.string().uuid() });
const refreshedCard = z.object({ referralId: z.string().uuid() });
const updateCard = z.object({ referralId: z.string().uuid(), version });
const entryId = z.string().max(80).regex(/^[a-z0-9]+(-[a-z0-9]+)*$/);
/** A request card's buttons carry `serviceId` (every card made before activities were asked about) or `activityId`. */
const verificationCardData = z.union([
  z.object({ serviceId: entryId, version }).transform(({ serviceId, version }) => ({ entry: { kind: 'service' as const, id: serviceId }, version })),
  z.object({ activityId: entryId, version }).transform(({ activityId, version }) => ({ entry: { kind: 'activity' as const, id: activityId }, version })),
]);
const ASK_QUESTION_VERB = 'ask-question';
/** The referrer's update card's question: the same text rules as by email. */
const questionCard = z.object({ referralId: z.string().uuid(), question: questionText, version: version.optional().catch(undefined) });
const scoreField = (message: string) => z.string({ required_error: message, invalid_type_error: message });

/** One schema per verb: the card's data in, a typed action out. */
const REFERRAL_VERBS = {
  accept: z.object({}).transform((): RequestedAction => ({ verb: 'accept' })),
  assign: z.object({ assignTo: z.string({ required_error: 'Choose who to assign it to' }).min(1, 'Choose who to assign it to').max(200) }).transform((data): RequestedAction => ({ verb: 'assign', assigneeId: data.assignTo })),
  decline: z
    .object({ declineReason: choice(DECLINE_REASONS, 'Choose why you are declining'), declineNote: optionalText(500) })
    .transform((data): RequestedAction => ({ verb: 'decline', reason: data.declineReason, note: data.declineNote })),
  redirect: z.object({ toServiceId: z.string({ required_error: 'Choose a service' }).min(1, 'Choose a service').max(80) }).transform((data): RequestedAction => ({ verb: 'redirect', toServiceId: data.toServiceId })),
  update: z
    .object({
      status: choice(PROGRESS_STATUSES, 'Choose what has happened'),
      activity: optionalText(120),
      // An empty choice arrives as ""; anything else must look like a directory id (checked against the directory later).
      activityId: z
        .string({ invalid_type_error: 'Choose an activity from the list' })
        .max(80, 'Choose an activity from the list')
        .regex(/^([a-z0-9]+(-[a-z0-9]+)*)?$/, 'Choose an activity from the list')
        .optional()
        .transform((value) => value || undefined),
    })
    .transform((data): RequestedAction => ({ verb: 'update', status: data.status, activity: data.activity, ...(data.activityId ? { activityId: data.activityId } : {}) })),
  close: z
    .object({ closeReason: choice(CLOSE_REASONS, 'Choose why it is closing'), closeNote: optionalText(500) })
    .transform((data): RequestedAction => ({ verb: 'close', reason: data.closeReason, note: data.closeNote })),
  swemwbs: z
    .object({ swemwbsStage: stage, ...Object.fromEntries([1, 2, 3, 4, 5, 6, 7].map((n) => [`swemwbs${n}`, scoreField(`Score statement ${n}`)])) })
    .transform((data, context): RequestedAction => {
      const items = swemwbsItemsSchema.safeParse([1, 2, 3, 4, 5, 6, 7].map((n) => (data as Record<string, string>)[`swemwbs${n}`]));
      if (!items.success) {
        context.addIssue({ code: z.ZodIssueCode.custom, message: items.error.issues[0].message });
        return z.NEVER;
      }
      return { verb: 'record-swemwbs', stage: data.swemwbsStage, items: items.data };
    }),
  ons4: z
    .object({ ons4Stage: stage, ...Object.fromEntries(['lifeSatisfaction', 'worthwhile', 'happiness', 'anxiety'].map((name) => [name, scoreField(`Score ${name}`)])) })
    .transform((data, context): RequestedAction => {
      const scores = ons4Schema.safeParse(data);
      if (!scores.success) {
        context.addIssue({ code: z.ZodIssueCode.custom, message: `${scores.error.issues[0].path[0]}: ${scores.error.issues[0].message}` });
        return z.NEVER;
      }
      return { verb: 'record-ons4', stage: data.ons4Stage, scores: scores.data };
    }),
  goals: z
    .object(Object.fromEntries([1, 2, 3].flatMap((n) => [[`goal${n}`, optionalText(200)], [`goal${n}Achieved`, z.enum(['yes', 'no']).optional()]])) as Record<string, z.ZodType<string | undefined>>)
    .transform((data): RequestedAction => ({
      verb: 'record-goals',
      goals: [1, 2, 3].map((n) => ({ text: data[`goal${n}`] ?? '', achieved: data[`goal${n}Achieved`] === 'yes' })).filter((goal) => goal.text.length > 0),
    })),
  escalate: z
    .object({
      escalationReason: choice(ESCALATION_REASONS, 'Choose why you are escalating'),
      escalationNote: plainText({ max: 1000, required: 'Say what the supervisor needs to know', notText: 'Say what the supervisor needs to know', tooLong: 'Keep the note under 1,000 characters' }),
    })
    .transform((data): RequestedAction => ({ verb: 'escalate', escalationId: randomUUID(), reason: data.escalationReason, note: data.escalationNote })),
  contact: z.object({}).transform((): RequestedAction => ({ verb: 'view-contact' })),
} satisfies Record<string, z.ZodType<RequestedAction, z.ZodTypeDef, unknown>>;

const ESCALATION_VERBS = {
  'escalation-acknowledge': z.object({}).transform((): RequestedAction => ({ verb: 'escalation-acknowledge', escalationId: '' })),
  'escalation-take-over': z.object({}).transform((): RequestedAction => ({ verb: 'escalation-take-over', escalationId: '' })),
  'escalation-advice': z
    .object({ adviceNote: plainText({ max: 1000, min: 0, notText: 'Write the advice as text', tooLong: 'Keep the advice under 1,000 characters' }).optional() })
    .transform((data): RequestedAction => ({ verb: 'escalation-advice', escalationId: '', note: data.adviceNote ?? '' })),
} satisfies Record<string, z.ZodType<RequestedAction, z.ZodTypeDef, unknown>>;

/** Card data as Adaptive Cards send it: each value text (or the number or flag we put there). */
const flatValues = (data: Record<string, unknown>) => Object.values(data).every((value) => ['string', 'number', 'boolean'].includes(typeof value));

/** The invoke Teams sends as someone types into a Data.Query dropdown. */
export const SEARCH_INVOKE = 'application/search';
const SEARCH_RESPONSE_TYPE = 'application/vnd.microsoft.search.searchResponse';
/** Teams shows at most 15 options in a dynamic dropdown. */
const MAX_SEARCH_RESULTS = 15;

const searchInvokeSchema = z.object({
  dataset: z.literal(ACTIVITY_SEARCH_DATASET),
  queryText: z.string().max(MAX_QUERY_LENGTH).default(''),
  queryOptions: z.object({ skip: z.number().int().min(0).max(1000).optional(), top: z.number().int().min(1).max(100).optional() }).optional(),
});

export interface SearchInvokeAnswer {
  status: 200 | 400;
  body: Record<string, unknown>;
  results: number;
}

const has = <T extends object>(table: T, key: string): key is Extract<keyof T, string> => Object.prototype.hasOwnProperty.call(table, key);

export interface CardActionDependencies {
  actions: ReferralActions;
  /** Answers to requests to confirm a directory entry. */
  directoryUpkeep?: DirectoryUpkeep;
  channels: ServiceChannels;
  supervision: Supervision;
  directory: DirectoryRepository;
  activities: ActivityRepository;
  now: () => Date;
}

export class TeamsCardActions {
  constructor(private readonly deps: CardActionDependencies) {}

  async handle(context: TurnContext, invokeValue: unknown): Promise<AdaptiveCardInvokeResponse> {
    const envelope = envelopeSchema.safeParse(invokeValue);
    if (!envelope.success) return errorAnswer(400, 'This card is not a Signpost card, so nothing changed.');
    const { verb, data } = envelope.data.action;
    // Our cards send flat text values (and the numbers and flags we put there): anything else is forged.
    if (!flatValues(data)) return errorAnswer(400, 'This card sent something other than text, so nothing changed.');
    if (verb === REFRESH_VERB) return this.referralCardView(context, data);
    if (verb === ALERT_REFRESH_VERB) return this.alertView(context, data);
    if (verb === UPDATE_REFRESH_VERB) return this.updateView(context, data);
    if (verb === CONFIRM_VERB || verb === CHANGE_VERB) return this.verificationAnswer(context, verb, data);
    if (verb === ASK_QUESTION_VERB) return this.askQuestion(context, data);
    return verb.startsWith('escalation-') ? this.escalationAnswer(context, verb, data) : this.referralCard(context, verb, data);
  }

  /**
   * The activity typeahead on the referral card: the activities directory searched for what was
   * typed (before anything is typed, the card's own list of nearby activities shows). The
   * directory is public information, so any Teams user may search it; choosing one is checked again
   * when the update is saved.
   */
  async searchActivities(invokeValue: unknown): Promise<SearchInvokeAnswer> {
    const parsed = searchInvokeSchema.safeParse(invokeValue);
    if (!parsed.success) return { status: 400, results: 0, body: { type: ERROR_RESPONSE_TYPE, value: { code: 'BadRequest', message: 'Signpost can only search its activities directory here.' } } };
    const { queryText, queryOptions } = parsed.data;
    const query = parseSearchQuery(queryText);
    const activities = await this.deps.activities.list();
    const found = query.kind === 'words' ? searchActivities(activities, query).map((hit) => hit.activity) : query.kind === 'empty' ? runningActivitiesByName(activities) : [];
    const skip = queryOptions?.skip ?? 0;
    const page = found.slice(skip, skip + Math.min(queryOptions?.top ?? MAX_SEARCH_RESULTS, MAX_SEARCH_RESULTS)).map(activityChoice);
    return { status: 200, results: page.length, body: { type: SEARCH_RESPONSE_TYPE, value: { results: page } } };
  }

  /** A button on a referral's card in its service's channel. */
  private async referralCard(context: TurnContext, verb: string, data: Record<string, unknown>): Promise<AdaptiveCardInvokeResponse> {
    const ids = referralCard.safeParse(data);
    if (!ids.success) return errorAnswer(400, 'This card is not a Signpost referral card, so nothing changed.');
    // Our cards send only verbs we know: anything else is forged, and refused as a bad request.
    if (!has(REFERRAL_VERBS, verb)) return errorAnswer(400, `"${escapeCardText(verb.slice(0, 40))}" is not something this card can do. Nothing changed.`);
    const parsed = REFERRAL_VERBS[verb].safeParse(data);
    if (!parsed.success) return this.describe(context, ids.data.referralId, `Nothing changed: ${parsed.error.issues.map((issue) => issue.message).join('; ')}.`);
    const person = this.person(context);
    const outcome = await this.deps.actions.act(person, ids.data.referralId, ids.data.version, parsed.data);
    return this.referralAnswer(person, outcome);
  }

  /**
   * A referral card's refresh (Teams redrawing the shared card for one person, or their "Show my
   * actions"): the card as they may see it, with the buttons the permission table allows them.
   */
  private async referralCardView(context: TurnContext, data: Record<string, unknown>): Promise<AdaptiveCardInvokeResponse> {
    const ids = refreshedCard.safeParse(data);
    if (!ids.success) return messageAnswer('This card is not a Signpost referral card, so nothing changed.');
    const view = await this.deps.actions.viewFor(this.person(context), ids.data.referralId, 'channel-card');
    if (view.kind === 'not-found') return messageAnswer(view.notice);
    return cardAnswer(await this.viewCard(view));
  }

  /** An escalation alert's refresh: where the escalation stands now, for the service's supervisors only. */
  private async alertView(context: TurnContext, data: Record<string, unknown>): Promise<AdaptiveCardInvokeResponse> {
    const ids = escalationCard.safeParse(data);
    if (!ids.success) return messageAnswer('This card is not a Signpost escalation alert, so nothing changed.');
    const view = await this.deps.actions.viewFor(await this.supervisorPerson(context), ids.data.referralId, 'escalation-alert');
    const escalation = view.kind === 'view' ? view.referral.escalations?.find((candidate) => candidate.id === ids.data.escalationId) : undefined;
    if (view.kind !== 'view' || !escalation) return messageAnswer('This alert does not match any escalation in Signpost, so nothing changed.');
    if (!view.verbs.includes('escalation-answer')) return messageAnswer("Only the service's supervisors can see this alert.");
    return cardAnswer(await this.alertCard(view.referral, escalation, undefined, context.activity.from.id));
  }

  /** A referrer's update card's refresh: what it said, and where the referral stands now. */
  private async updateView(context: TurnContext, data: Record<string, unknown>): Promise<AdaptiveCardInvokeResponse> {
    const ids = updateCard.safeParse(data);
    if (!ids.success) return messageAnswer('This card is not a Signpost referral update, so nothing changed.');
    const view = await this.deps.actions.referrerUpdateView(this.person(context), ids.data.referralId, ids.data.version);
    if (view.kind !== 'view') return messageAnswer(view.notice);
    return cardAnswer(await this.updateCard(view, context.activity.from.id, { canAsk: view.verbs.includes('ask-question') }));
  }

  /**
   * "Ask the link worker a question" on a referrer's update card. A question does not depend on
   * which update it was asked from, so it acts on the referral as it stands; the card answers
   * with the update it was asked from and what happened.
   */
  private async askQuestion(context: TurnContext, data: Record<string, unknown>): Promise<AdaptiveCardInvokeResponse> {
    const parsed = questionCard.safeParse(data);
    if (!parsed.success) return errorAnswer(400, `Nothing was sent: ${parsed.error.issues[0].message}.`);
    const person = this.person(context);
    const outcome = await this.deps.actions.act(person, parsed.data.referralId, undefined, { verb: 'ask-question', questionId: randomUUID(), question: parsed.data.question });
    if (outcome.kind === 'not-found') return errorAnswer(404, outcome.notice);
    if (outcome.kind === 'refused' || outcome.kind === 'contact-details') return errorAnswer(403, outcome.kind === 'refused' ? outcome.notice : 'Nothing was sent.');
    const view = parsed.data.version ? await this.deps.actions.referrerUpdateView(person, parsed.data.referralId, parsed.data.version) : undefined;
    if (view?.kind !== 'view') return messageAnswer(outcome.notice);
    return cardAnswer(await this.updateCard(view, person.id, { notice: outcome.notice, canAsk: true }));
  }

  /** A referrer's update card as it was sent, with where the referral stands now, refreshed for them alone. */
  private async updateCard(view: Extract<ReferrerUpdateView, { kind: 'view' }>, viewerId: string, options: { notice?: string; canAsk: boolean }): Promise<Record<string, unknown>> {
    const now = standingSince(view.update, view.referral, await this.serviceName(view.referral.serviceId));
    return referralUpdateCard(view.update, { ...options, now, refreshUserIds: [viewerId] });
  }

  private async serviceName(serviceId: string): Promise<string> {
    return (await this.deps.directory.get(serviceId))?.name ?? serviceId;
  }

  /** Acknowledge, Take over or Advice given on an escalation alert in a supervisor's chat. */
  private async escalationAnswer(context: TurnContext, verb: string, data: Record<string, unknown>): Promise<AdaptiveCardInvokeResponse> {
    const ids = escalationCard.safeParse(data);
    if (!ids.success || !has(ESCALATION_VERBS, verb)) return errorAnswer(400, 'This card is not a Signpost escalation alert, so nothing changed.');
    const parsed = ESCALATION_VERBS[verb].safeParse(data);
    if (!parsed.success) return errorAnswer(400, `Nothing changed: ${parsed.error.issues[0].message}.`);
    const action = { ...parsed.data, escalationId: ids.data.escalationId } as RequestedAction;
    const person = await this.supervisorPerson(context);
    const outcome = await this.deps.actions.act(person, ids.data.referralId, undefined, action);
    // Without an escalation to show: none found, or refused (an error Teams shows beside the alert); otherwise a sentence says why.
    if (outcome.kind === 'not-found') return errorAnswer(404, outcome.notice);
    if (outcome.kind === 'contact-details') return errorAnswer(400, 'An escalation alert cannot show contact details. Nothing changed.');
    if (!outcome.escalation) return outcome.kind === 'refused' ? errorAnswer(403, outcome.notice) : messageAnswer(outcome.notice);
    return cardAnswer(await this.alertCard(outcome.referral, outcome.escalation, outcome.notice, person.id));
  }

  /** "Still correct" or "Save changes" on a request to confirm a directory entry (a service's or an activity's). */
  private async verificationAnswer(context: TurnContext, verb: string, data: Record<string, unknown>): Promise<AdaptiveCardInvokeResponse> {
    const ids = verificationCardData.safeParse(data);
    const upkeep = this.deps.directoryUpkeep;
    if (!ids.success || !upkeep) return errorAnswer(400, 'This card is not a Signpost directory request, so nothing changed.');
    const { entry, version: shownVersion } = ids.data;
    const answer = upkeepRequestFrom(entry.kind, verb === CHANGE_VERB ? 'change' : 'confirm', data);
    if ('problems' in answer) {
      const stored = await upkeep.current(entry);
      const notice = `Nothing changed: ${answer.problems.join('; ')}.`;
      return stored ? cardAnswer(this.requestCard(stored.entry, shownVersion, notice, false)) : errorAnswer(404, notice);
    }
    const from = context.activity.from;
    const person = { name: from.name ?? 'A maintainer', email: (await describeSender(context))?.email, teamsUserId: from.id, aadObjectId: from.aadObjectId };
    const outcome = await upkeep.act(person, entry, shownVersion, answer.request, 'teams');
    if (outcome.kind === 'not-found' || !outcome.entry) return errorAnswer(404, outcome.notice);
    if (outcome.kind === 'refused') return errorAnswer(403, outcome.notice);
    // Stale: the entry as it stands, to answer again; invalid: the form again, with what was wrong.
    const version = outcome.kind === 'invalid' ? shownVersion : outcome.version!;
    return cardAnswer(this.requestCard(outcome.entry, version, outcome.notice, outcome.kind === 'changed'));
  }

  private requestCard(entry: VerifiableEntry, version: number, notice: string, answered: boolean): Record<string, unknown> {
    const message = requestMessageFor(entry, version, 1, this.deps.now().toISOString());
    return verificationRequestCard({ ...message, verification: message.verification! }, { notice, answered });
  }

  /** Supervisors are known by their sign-in email as well as their Teams id. */
  private async supervisorPerson(context: TurnContext): Promise<ActingPerson> {
    return { ...this.person(context), name: context.activity.from.name ?? 'A supervisor', email: (await describeSender(context))?.email };
  }

  private person(context: TurnContext): ActingPerson {
    const from = context.activity.from;
    const place = channelOf(context);
    return { id: from.id, name: from.name ?? 'A link worker', aadObjectId: from.aadObjectId, identifiedBy: 'teams', ...(place ? { teamsChannel: place } : {}) };
  }

  /** The clicker's answer: the referral as it now stands, as they may see it. */
  private async referralAnswer(person: ActingPerson, outcome: ActionOutcome): Promise<AdaptiveCardInvokeResponse> {
    if (outcome.kind === 'not-found') return errorAnswer(404, outcome.notice);
    const view = await this.deps.actions.viewFor(person, outcome.referral, 'channel-card');
    if (view.kind === 'not-found') return errorAnswer(404, view.notice);
    if (outcome.kind === 'contact-details') return cardAnswer(await this.viewCard(view, { showContactDetails: true }));
    return cardAnswer(await this.viewCard(view, { notice: outcome.notice }));
  }

  /** The referral's card with a notice, for clicks refused before they reach the application. */
  private async describe(context: TurnContext, referralId: string, notice: string): Promise<AdaptiveCardInvokeResponse> {
    const view = await this.deps.actions.viewFor(this.person(context), referralId, 'channel-card');
    return view.kind === 'view' ? cardAnswer(await this.viewCard(view, { notice })) : errorAnswer(404, view.notice);
  }

  private viewCard(view: Extract<ReferralView, { kind: 'view' }>, options: { notice?: string; showContactDetails?: boolean } = {}): Promise<Record<string, unknown>> {
    return this.deps.channels.cardFor(view.referral, { ...options, viewer: { id: view.viewerId, verbs: view.verbs, isLinkWorker: view.isLinkWorker } });
  }

  private async alertCard(referral: Referral, escalation: Escalation, notice: string | undefined, viewerId: string): Promise<Record<string, unknown>> {
    const serviceName = await this.serviceName(referral.serviceId);
    const message = escalationAlert(referral, escalation, serviceName, this.deps.now().toISOString(), this.deps.supervision.calendar.hours.timeZone);
    const answer = isAwaitingAnswer(escalation) ? undefined : answerLine(escalation);
    return staffMessageCard(message, { answer, resolved: Boolean(escalation.resolution), notice, refreshUserIds: [viewerId] });
  }
}

function answerLine(escalation: Escalation): string {
  if (escalation.resolution?.kind === 'taken-over') return `Taken over by ${escalation.resolution.by.name}.`;
  if (escalation.resolution?.kind === 'advice-given') return `Advice given by ${escalation.resolution.by.name}: ${escalation.resolution.note}`;
  return `Acknowledged by ${escalation.acknowledged!.by.name}.`;
}
