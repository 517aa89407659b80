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

export interface Actor extends Person {
  /** Whether the actor is a link worker of the referral's current service. */
  isLinkWorker: boolean;
}

export type TransitionResult =
  | { ok: true; changed: true; next: CaseState; summary: string }
  | { ok: true; changed: false; next: CaseState; summary: string }
  | { ok: false; error: string };

const OPEN_FOR_WORK: ReadonlySet<ReferralStatus> = new Set(['accepted', ...PROGRESS_STATUSES]);
const TERMINAL: ReadonlySet<ReferralStatus> = new Set(['declined', 'closed']);

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
  if (!actor.isLinkWorker) return { ok: false, error: "Only the service's link workers can act on this referral." };
  if (TERMINAL.has(state.status)) {
    return { ok: false, error: `This referral is ${STATUS_LABELS[state.status].toLowerCase()}; nothing more can change.` };
  }
  const isOwner = state.owner?.id === actor.id;

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
      if (state.status !== 'submitted' && !isOwner) return { ok: false, error: 'Only the owner can decline a referral they have accepted.' };
      return changed({ ...state, status: 'declined' }, `Declined by ${actor.name}`);

    case 'redirect':
      if (state.status !== 'submitted' && !isOwner) return { ok: false, error: 'Only the owner can redirect a referral they have accepted.' };
      if (action.toServiceId === state.serviceId) return { ok: false, error: 'The referral is already with this service.' };
      if (!state.redirectTargets.includes(action.toServiceId)) {
        return { ok: false, error: 'A referral can only be redirected to another service the person was matched to.' };
      }
      return changed({ ...state, status: 'submitted', serviceId: action.toServiceId, owner: undefined }, `Redirected by ${actor.name}`);

    case 'update':
      if (!OPEN_FOR_WORK.has(state.status)) return { ok: false, error: 'Accept the referral before recording progress.' };
      if (!isOwner) return { ok: false, error: `Only the owner (${state.owner?.name ?? 'nobody yet'}) records progress. Assign it to yourself first.` };
      if (state.status === action.status) {
        return { ok: true, changed: false, next: state, summary: `Already recorded: ${STATUS_LABELS[action.status].toLowerCase()}.` };
      }
      return changed({ ...state, status: action.status }, `${STATUS_LABELS[action.status]}, recorded by ${actor.name}`);

    case 'record':
      if (!OPEN_FOR_WORK.has(state.status)) return { ok: false, error: 'Accept the referral before recording outcomes.' };
      if (!isOwner) return { ok: false, error: `Only the owner (${state.owner?.name ?? 'nobody yet'}) records outcomes.` };
      return changed(state, `${action.what}, recorded by ${actor.name}`);

    case 'close':
      if (!OPEN_FOR_WORK.has(state.status)) return { ok: false, error: 'Only an accepted referral can be closed; decline it instead.' };
      if (!isOwner) return { ok: false, error: `Only the owner (${state.owner?.name ?? 'nobody yet'}) closes the referral.` };
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
