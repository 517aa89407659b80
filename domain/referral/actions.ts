import type { AuditAction, Referral } from './referral';
import { Actor, caseState, CloseReason, DeclineReason, isOpen, LifecycleAction, mayAct, Person, ProgressStatus, transition } from './lifecycle';
import { Goal, scoreSwemwbs, Wellbeing } from './outcomes';
import { Escalation, EscalationReason, EscalationResponse, raiseEscalation, respondToEscalation } from '../supervision/escalation';

/**
 * Everything a person can do to a referral, from any surface, and what it does to the record.
 * `applyTransition` is the only place that computes a referral's next state: the lifecycle
 * decides status and owner, and this adds the fields that go with them (when it was accepted,
 * the outcome, the scores, the escalation), so no surface builds a next record of its own.
 */

export type WellbeingStage = 'baseline' | 'closing';
export interface Ons4Scores {
  lifeSatisfaction: number;
  worthwhile: number;
  happiness: number;
  anxiety: number;
}

export type ReferralAction =
  | { verb: 'accept' }
  | { verb: 'assign'; to: Person }
  | { verb: 'decline'; reason: DeclineReason; note?: string }
  | { verb: 'redirect'; toServiceId: string }
  | { verb: 'update'; status: ProgressStatus; activity?: string; listedActivity?: ListedActivity }
  | { verb: 'close'; reason: CloseReason; note?: string }
  | { verb: 'record-swemwbs'; stage: WellbeingStage; items: number[] }
  | { verb: 'record-ons4'; stage: WellbeingStage; scores: Ons4Scores }
  | { verb: 'record-goals'; goals: Goal[] }
  | { verb: 'escalate'; escalationId: string; reason: EscalationReason; note: string }
  | { verb: 'escalation-acknowledge'; escalationId: string }
  | { verb: 'escalation-take-over'; escalationId: string }
  | { verb: 'escalation-advice'; escalationId: string; note: string }
  /** The referrer asks the link worker (or the service, while nobody owns the case) a question. */
  | { verb: 'ask-question'; questionId: string; question: string };
export type ReferralVerb = ReferralAction['verb'];

/** An activity chosen from the activities directory: what the referrer is told about it. */
export interface ListedActivity {
  id: string;
  name: string;
  organisation: string;
  /** Its categories in words ("gardening and nature, volunteering"). */
  categories: string;
  /** From the illustrative sample, not a real group. */
  illustrative: boolean;
}

export type EscalationAnswer = Extract<ReferralAction, { verb: 'escalation-acknowledge' | 'escalation-take-over' | 'escalation-advice' }>;

export function isEscalationAnswer(action: ReferralAction): action is EscalationAnswer {
  return action.verb.startsWith('escalation-');
}

export type AppliedAction =
  | {
      ok: true;
      changed: true;
      next: Referral;
      summary: string;
      audit: { action: AuditAction; detail: Record<string, string | number | boolean> };
      /** The escalation raised or answered, for the messages that go with it. */
      escalation?: Escalation;
      /** A supervisor who took the case over: the new owner. */
      takeOver?: Person;
    }
  | { ok: true; changed: false; summary: string; escalation?: Escalation }
  | { ok: false; error: string };

const RECORD_LABELS: Record<'record-swemwbs' | 'record-ons4' | 'record-goals', (action: ReferralAction) => string> = {
  'record-swemwbs': (action) => `${stageOf(action) === 'closing' ? 'Closing' : 'Baseline'} SWEMWBS`,
  'record-ons4': (action) => `${stageOf(action) === 'closing' ? 'Closing' : 'Baseline'} ONS4 wellbeing`,
  'record-goals': () => 'Goals',
};

const ESCALATION_AUDIT: Record<EscalationAnswer['verb'], AuditAction> = {
  'escalation-acknowledge': 'escalation.acknowledge',
  'escalation-take-over': 'escalation.take-over',
  'escalation-advice': 'escalation.advice',
};

/** The next referral, its audit detail and summary; or why nothing changes. Pure. */
export function applyTransition(referral: Referral, action: ReferralAction, actor: Actor, at: string): AppliedAction {
  switch (action.verb) {
    case 'escalate':
      return escalate(referral, action, actor, at);
    case 'escalation-acknowledge':
    case 'escalation-take-over':
    case 'escalation-advice':
      return answerEscalation(referral, action, actor, at);
    case 'ask-question':
      return askQuestion(referral, action, actor, at);
    default:
      return lifecycleChange(referral, action, actor, at);
  }
}

function lifecycleChange(referral: Referral, action: Exclude<ReferralAction, { verb: 'escalate' | 'ask-question' } | EscalationAnswer>, actor: Actor, at: string): AppliedAction {
  const lifecycle: LifecycleAction =
    action.verb === 'record-swemwbs' || action.verb === 'record-ons4' || action.verb === 'record-goals'
      ? { verb: 'record', what: RECORD_LABELS[action.verb](action) }
      : action;
  const result = transition(caseState(referral), lifecycle, actor);
  if (!result.ok) return result;
  if (!result.changed) return { ok: true, changed: false, summary: result.summary };

  const next: Referral = {
    ...referral,
    ...recorded(referral, action, at),
    status: result.next.status,
    serviceId: result.next.serviceId,
    owner: result.next.owner,
    version: referral.version + 1,
    updatedAt: at,
    ...(action.verb === 'decline' ? { outcome: { kind: 'declined' as const, reason: action.reason, note: action.note, at } } : {}),
    ...(action.verb === 'close' ? { outcome: { kind: 'closed' as const, reason: action.reason, note: action.note, at } } : {}),
    // A redirected referral is posted anew to its new service's channel, and its clocks restart there.
    ...(action.verb === 'redirect' ? { channelPost: undefined, routedAt: at, acceptedAt: undefined } : {}),
    // Taking a case on starts the first-contact and engagement clocks.
    ...(referral.status === 'submitted' && result.next.status === 'accepted' ? { acceptedAt: at } : {}),
  };
  return applied(next, result.summary, `referral.${lifecycle.verb}`, {
    status: next.status,
    serviceId: next.serviceId,
    ...(action.verb === 'decline' || action.verb === 'close' ? { reason: action.reason } : {}),
    ...(action.verb === 'update' && action.activity ? { activity: action.activity } : {}),
    ...(action.verb === 'update' && action.listedActivity ? { activityId: action.listedActivity.id } : {}),
  });
}

/** What a record action writes into the referral besides its status. */
function recorded(referral: Referral, action: ReferralAction, at: string): Partial<Referral> {
  switch (action.verb) {
    case 'record-swemwbs':
      return { wellbeing: { ...referral.wellbeing, [action.stage]: scoreSwemwbs(action.items, at) } as Wellbeing };
    case 'record-ons4':
      return { wellbeing: { ...referral.wellbeing, [action.stage]: { tool: 'ons4' as const, scores: action.scores, at } } as Wellbeing };
    case 'record-goals':
      return { goals: action.goals };
    default:
      return {};
  }
}

function escalate(referral: Referral, action: Extract<ReferralAction, { verb: 'escalate' }>, actor: Actor, at: string): AppliedAction {
  const raised = raiseEscalation(
    { id: action.escalationId, reason: action.reason, note: action.note, at },
    { ...actor, isLinkWorker: mayAct('escalate', caseState(referral), actor) },
    isOpen(referral),
  );
  if (!raised.ok) return raised;
  const next = { ...referral, escalations: [...(referral.escalations ?? []), raised.escalation].slice(-20), version: referral.version + 1, updatedAt: at };
  return applied(next, raised.summary, 'referral.escalate', { reason: raised.escalation.reason, escalationId: raised.escalation.id }, { escalation: raised.escalation });
}

/**
 * A supervisor's answer to an escalation. Taking over is a transition of its own: the
 * supervisor becomes the owner (accepting a new referral), not a copy of accept.
 */
function answerEscalation(referral: Referral, action: EscalationAnswer, actor: Actor, at: string): AppliedAction {
  const escalation = referral.escalations?.find((candidate) => candidate.id === action.escalationId);
  if (!escalation) return { ok: false, error: 'This alert does not match any escalation in Signpost.' };
  const response: EscalationResponse =
    action.verb === 'escalation-acknowledge' ? { verb: 'acknowledge' } : action.verb === 'escalation-take-over' ? { verb: 'take-over' } : { verb: 'advice', note: action.note };
  const result = respondToEscalation(escalation, response, { id: actor.id, name: actor.name, mayAnswer: mayAct('escalation-answer', caseState(referral), actor) }, at);
  if (!result.ok) return result;
  if (!result.changed) return { ok: true, changed: false, summary: result.summary, escalation };

  const takeOver = result.takeOver ? { ...result.takeOver, ...(actor.email ? { email: actor.email } : {}) } : undefined;
  const next: Referral = {
    ...referral,
    escalations: (referral.escalations ?? []).map((candidate) => (candidate.id === escalation.id ? result.escalation : candidate)),
    ...(takeOver ? { owner: takeOver, status: referral.status === 'submitted' ? 'accepted' : referral.status, acceptedAt: referral.acceptedAt ?? at } : {}),
    version: referral.version + 1,
    updatedAt: at,
  };
  const detail = { escalationId: escalation.id, reason: escalation.reason, ...(takeOver ? { status: next.status } : {}) };
  return applied(next, result.summary, ESCALATION_AUDIT[action.verb], detail, { escalation: result.escalation, takeOver });
}

/**
 * A question from the referrer. The record's status, owner and version stay as they are (the
 * cards and emails link workers hold stay current); what is written is the audit event and the
 * message that carries the question. The text itself goes only to its recipients: it is free
 * text that may name the person, so the audit detail records who asked whom, not what.
 */
function askQuestion(referral: Referral, action: Extract<ReferralAction, { verb: 'ask-question' }>, actor: Actor, at: string): AppliedAction {
  const state = caseState(referral);
  if (!mayAct('ask-question', state, actor)) return { ok: false, error: 'Only the person who made this referral can ask its link worker a question here.' };
  if (!isOpen(referral)) return { ok: false, error: `This referral is ${referral.status}, so questions can no longer be sent through Signpost.` };
  const to = referral.owner ? referral.owner.name : "the service's link workers";
  const next: Referral = { ...referral, updatedAt: at };
  return applied(next, `Question sent to ${to} by ${actor.name}`, 'referral.question', { questionId: action.questionId, to: referral.owner ? 'owner' : 'service', length: action.question.length });
}

/** A change: the next record, and the audit event that records it (its summary first). */
function applied(
  next: Referral,
  summary: string,
  action: AuditAction,
  detail: Record<string, string | number | boolean>,
  about: { escalation?: Escalation; takeOver?: Person } = {},
): AppliedAction {
  return { ok: true, changed: true, next, summary, audit: { action, detail: { summary, ...detail } }, ...about };
}

function stageOf(action: ReferralAction): WellbeingStage | undefined {
  return 'stage' in action ? action.stage : undefined;
}
