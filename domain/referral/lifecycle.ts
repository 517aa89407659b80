import type { Referral, ReferralStatus } from './referral';

/**
 * The referral lifecycle as a pure state machine: which actions each status allows, who may
 * take them, and what each does. The bot asks it before changing anything, so a forbidden,
 * stale or unauthorised action changes nothing.
 *
 *   submitted --accept/assign--> accepted --update--> contacted, first-meeting-held,
 *   support-plan-agreed, waiting-for-activity, connected-to-activity (in any order) --close--> closed
 *   submitted/accepted --decline--> declined;  submitted/accepted --redirect--> submitted (another service)
 *
 * Who: only link workers of the referral's service act on it. Anyone of them may accept,
 * decline, assign or redirect; progress updates and closing are for the owner, so a case has
 * one person answerable for it (a colleague takes it over with Assign, which is audited).
 */

export const PROGRESS_STATUSES = [
  'contacted',
  'first-meeting-held',
  'support-plan-agreed',
  'waiting-for-activity',
  'connected-to-activity',
] as const;
export type ProgressStatus = (typeof PROGRESS_STATUSES)[number];

export const DECLINE_REASONS = ['not-eligible', 'no-capacity', 'better-served-elsewhere', 'duplicate', 'other'] as const;
export const CLOSE_REASONS = ['completed', 'declined-by-person', 'not-contactable', 'moved-away', 'referred-elsewhere'] as const;
export type DeclineReason = (typeof DECLINE_REASONS)[number];
export type CloseReason = (typeof CLOSE_REASONS)[number];

/**
 * The words for each reason, in one table so a new reason cannot go without them: `choice` is
 * what a link worker picks on the card, `toReferrer` completes "Reason: ..." in the update.
 */
export const REASON_WORDS: Record<DeclineReason | CloseReason, { choice: string; toReferrer: string }> = {
  'not-eligible': { choice: 'Not eligible for this service', toReferrer: 'not eligible for this service' },
  'no-capacity': { choice: 'No capacity at the moment', toReferrer: 'no capacity at the moment' },
  'better-served-elsewhere': { choice: 'Better served by another service', toReferrer: 'better served by another service' },
  duplicate: { choice: 'Duplicate referral', toReferrer: 'a duplicate referral' },
  other: { choice: 'Other (say in the note)', toReferrer: 'see the note' },
  completed: { choice: 'Completed', toReferrer: 'support completed' },
  'declined-by-person': { choice: 'The person declined support', toReferrer: 'the person declined support' },
  'not-contactable': { choice: 'Not contactable after several attempts', toReferrer: 'the person could not be contacted' },
  'moved-away': { choice: 'Moved away', toReferrer: 'the person moved away' },
  'referred-elsewhere': { choice: 'Referred elsewhere', toReferrer: 'referred elsewhere' },
};

/** The words for a stored reason (stored records are strings; an unknown one is shown as it is). */
export function reasonWords(reason: string): { choice: string; toReferrer: string } {
  return REASON_WORDS[reason as DeclineReason] ?? { choice: reason, toReferrer: reason };
}

export type LifecycleAction =
  | { verb: 'accept' }
  | { verb: 'decline'; reason: DeclineReason; note?: string }
  | { verb: 'assign'; to: Person }
  | { verb: 'redirect'; toServiceId: string }
  | { verb: 'update'; status: ProgressStatus; activity?: string }
  | { verb: 'close'; reason: CloseReason; note?: string }
  /** Recording outcome measures or goals: changes the record, not the status. */
  | { verb: 'record'; what: string };

export interface Person {
  id: string;
  name: string;
  /** Their sign-in email, where Teams gave it: reminders can then reach their inbox too. */
  email?: string;
}

export interface CaseState {
  status: ReferralStatus;
  serviceId: string;
  owner?: Person;
  /** Services the matcher found eligible or near-miss: where a redirect may go. */
  redirectTargets: string[];
}

/** How Signpost knows who is acting: recorded in the audit trail with every action. */
export const IDENTIFIED_BY = ['teams', 'email-link', 'actionable-message', 'tab', 'system'] as const;
export type IdentifiedBy = (typeof IDENTIFIED_BY)[number];

export interface Actor extends Person {
  /** Whether the actor is a link worker of the referral's current service. */
  isLinkWorker: boolean;
  /** A supervisor of the referral's service, or a Signpost admin (who hears last). */
  isSupervisor?: boolean;
  /** The person who made the referral. */
  isReferrer?: boolean;
  identifiedBy?: IdentifiedBy;
}

/**
 * Who may do what: one table for every surface (a Teams card, an email, the tab), used both to
 * refuse an action and to decide which buttons a person is shown.
 *   link-worker: any link worker of the referral's service;
 *   link-worker-then-owner: any link worker while the referral is new, then only its owner;
 *   owner: the link worker who owns the case;
 *   supervisor: a supervisor of the service, or an admin;
 *   referrer: the person who made the referral (by their Teams id, or the email address it records for them).
 */
export type Who = 'link-worker' | 'link-worker-then-owner' | 'owner' | 'supervisor' | 'referrer';

export const WHO_MAY = {
  accept: 'link-worker',
  assign: 'link-worker',
  decline: 'link-worker-then-owner',
  redirect: 'link-worker-then-owner',
  update: 'owner',
  record: 'owner',
  close: 'owner',
  escalate: 'link-worker',
  'view-contact': 'link-worker',
  'escalation-answer': 'supervisor',
  'ask-question': 'referrer',
} as const satisfies Record<string, Who>;
export type GuardedVerb = keyof typeof WHO_MAY;

type ActorRoles = Pick<Actor, 'id' | 'isLinkWorker' | 'isSupervisor' | 'isReferrer'>;

export function mayAct(verb: GuardedVerb, state: Pick<CaseState, 'status' | 'owner'>, actor: ActorRoles): boolean {
  const isOwner = actor.isLinkWorker && state.owner?.id === actor.id;
  switch (WHO_MAY[verb] as Who) {
    case 'link-worker':
      return actor.isLinkWorker;
    case 'link-worker-then-owner':
      return state.status === 'submitted' ? actor.isLinkWorker : isOwner;
    case 'owner':
      return isOwner;
    case 'supervisor':
      return Boolean(actor.isSupervisor);
    case 'referrer':
      return Boolean(actor.isReferrer);
  }
}

/** The actions this person may take on the referral now: what their card offers. */
export function permittedVerbs(state: CaseState, actor: ActorRoles): GuardedVerb[] {
  const now = new Set<string>(availableVerbs(state));
  if (isOpenStatus(state.status)) {
    now.add('escalate');
    now.add('ask-question');
  }
  if (state.status !== 'declined') now.add('view-contact');
  return (Object.keys(WHO_MAY) as GuardedVerb[]).filter((verb) => now.has(verb) && mayAct(verb, state, actor));
}

/** What the person who made the referral may do now: what their update cards and emails offer. */
export function referrerVerbs(state: CaseState): GuardedVerb[] {
  return permittedVerbs(state, { id: '', isLinkWorker: false, isReferrer: true });
}

/**
 * What any link worker of the service may do, whoever owns the case: the shared card's buttons,
 * seen until each person's own view arrives (owner ids are never empty, so this colleague owns nothing).
 */
export function sharedVerbs(state: CaseState): GuardedVerb[] {
  return permittedVerbs(state, { id: '', isLinkWorker: true });
}

export type TransitionResult =
  | { ok: true; changed: true; next: CaseState; summary: string }
  | { ok: true; changed: false; next: CaseState; summary: string }
  | { ok: false; error: string };

const OPEN_FOR_WORK: ReadonlySet<ReferralStatus> = new Set(['accepted', ...PROGRESS_STATUSES]);
/** Nothing more changes: a record marked 'redirected' (as old queue entries are) has left its service too, so it offers nothing. */
const TERMINAL: ReadonlySet<ReferralStatus> = new Set(['declined', 'closed', 'redirected']);
/** Statuses that end a referral's time with a service ('redirected' is kept by old queue entries). */
const ENDED: ReadonlySet<string> = new Set(['declined', 'closed', 'redirected']);

/** Is the case still open with its service? The one definition, for clocks, digests, queues and reports. */
export function isOpenStatus(status: string): boolean {
  return !ENDED.has(status);
}

export function isOpen(referral: Pick<Referral, 'status'>): boolean {
  return isOpenStatus(referral.status);
}

export const STATUS_LABELS: Record<ReferralStatus, string> = {
  submitted: 'New',
  accepted: 'Accepted',
  declined: 'Declined',
  redirected: 'Redirected',
  contacted: 'Contacted',
  'first-meeting-held': 'First meeting held',
  'support-plan-agreed': 'Support plan agreed',
  'waiting-for-activity': 'Waiting for an activity',
  'connected-to-activity': 'Connected to an activity',
  closed: 'Closed',
};

/** The actions that make sense now, for the card's buttons (authorisation is checked again on use). */
export function availableVerbs(state: CaseState): Array<LifecycleAction['verb']> {
  if (TERMINAL.has(state.status)) return [];
  if (state.status === 'submitted') return ['accept', 'assign', 'decline', 'redirect'];
  return ['update', 'record', 'close', 'assign', 'decline', 'redirect'];
}

export function transition(state: CaseState, action: LifecycleAction, actor: Actor): TransitionResult {
  // Every lifecycle verb in WHO_MAY needs a link worker of the service, owner or not.
  if (!actor.isLinkWorker) return { ok: false, error: "Only the service's link workers can act on this referral." };
  if (TERMINAL.has(state.status)) {
    return { ok: false, error: `This referral is ${STATUS_LABELS[state.status].toLowerCase()}; nothing more can change.` };
  }
  const isOwner = state.owner?.id === actor.id;
  const may = (verb: GuardedVerb) => mayAct(verb, state, actor);

  switch (action.verb) {
    case 'accept':
      if (state.status !== 'submitted') {
        return isOwner
          ? { ok: true, changed: false, next: state, summary: 'You have already accepted this referral.' }
          : { ok: false, error: `Already accepted by ${state.owner?.name ?? 'a colleague'}.` };
      }
      return changed({ ...state, status: 'accepted', owner: { id: actor.id, name: actor.name, ...(actor.email ? { email: actor.email } : {}) } }, `Accepted by ${actor.name}`);

    case 'assign':
      if (state.owner?.id === action.to.id) {
        return { ok: true, changed: false, next: state, summary: `${action.to.name} already owns this referral.` };
      }
      return changed(
        { ...state, status: state.status === 'submitted' ? 'accepted' : state.status, owner: action.to },
        `Assigned to ${action.to.name} by ${actor.name}`,
      );

    case 'decline':
      if (!may('decline')) return { ok: false, error: 'Only the owner can decline a referral they have accepted.' };
      return changed({ ...state, status: 'declined' }, `Declined by ${actor.name}`);

    case 'redirect':
      if (!may('redirect')) return { ok: false, error: 'Only the owner can redirect a referral they have accepted.' };
      if (action.toServiceId === state.serviceId) return { ok: false, error: 'The referral is already with this service.' };
      if (!state.redirectTargets.includes(action.toServiceId)) {
        return { ok: false, error: 'A referral can only be redirected to another service the person was matched to.' };
      }
      return changed({ ...state, status: 'submitted', serviceId: action.toServiceId, owner: undefined }, `Redirected by ${actor.name}`);

    case 'update':
      if (!OPEN_FOR_WORK.has(state.status)) return { ok: false, error: 'Accept the referral before recording progress.' };
      if (!may('update')) return { ok: false, error: `Only the owner (${state.owner?.name ?? 'nobody yet'}) records progress. Assign it to yourself first.` };
      if (state.status === action.status) {
        return { ok: true, changed: false, next: state, summary: `Already recorded: ${STATUS_LABELS[action.status].toLowerCase()}.` };
      }
      return changed({ ...state, status: action.status }, `${STATUS_LABELS[action.status]}, recorded by ${actor.name}`);

    case 'record':
      if (!OPEN_FOR_WORK.has(state.status)) return { ok: false, error: 'Accept the referral before recording outcomes.' };
      if (!may('record')) return { ok: false, error: `Only the owner (${state.owner?.name ?? 'nobody yet'}) records outcomes.` };
      return changed(state, `${action.what}, recorded by ${actor.name}`);

    case 'close':
      if (!OPEN_FOR_WORK.has(state.status)) return { ok: false, error: 'Only an accepted referral can be closed; decline it instead.' };
      if (!may('close')) return { ok: false, error: `Only the owner (${state.owner?.name ?? 'nobody yet'}) closes the referral.` };
      return changed({ ...state, status: 'closed' }, `Closed by ${actor.name}`);
  }
}

function changed(next: CaseState, summary: string): TransitionResult {
  return { ok: true, changed: true, next, summary };
}

/** The lifecycle's view of a stored referral. */
export function caseState(referral: Referral): CaseState {
  return {
    status: referral.status,
    serviceId: referral.serviceId,
    owner: referral.owner,
    redirectTargets: [...referral.match.eligibleServiceIds, ...referral.match.nearMissServiceIds],
  };
}
