import type { ConsentInput, NeedsInput, PersonInput, ReferrerInput } from './stepInputs';

/**
 * The referral being written, held in the referrer's private dialog state (Table storage)
 * until it is sent. Nothing here is stored anywhere else before the referrer confirms.
 */
export interface ReferralDraft {
  referrer?: ReferrerInput;
  consent?: ConsentInput & { recordedAt: string };
  safetyCheckedAt?: string;
  person?: PersonInput;
  needs?: NeedsInput;
  choice?: { serviceId: string; wasNearMiss: boolean };
  /** Given when the summary is first shown, so sending twice stores one referral. */
  referralId?: string;
  /** The service the referrer started from (its card's Refer someone): preselected when the person is eligible for it. */
  suggestedServiceId?: string;
}

/** The steps in the order a receptionist meets them. */
export const STEPS = ['referrer', 'consent', 'safety', 'person', 'needs', 'matches', 'summary'] as const;
export type StepName = (typeof STEPS)[number];

export function isStepName(value: unknown): value is StepName {
  return typeof value === 'string' && (STEPS as readonly string[]).includes(value);
}

export function previousStep(step: StepName): StepName {
  const index = STEPS.indexOf(step);
  return STEPS[Math.max(0, index - 1)];
}

/**
 * Where to go after a step is answered. While editing from the summary, only what the edit
 * can change is asked again: facts about the person or their needs change the matches, so
 * those are shown again; anything else returns straight to the summary.
 */
export function nextStep(step: StepName, editing: boolean): StepName {
  if (editing) {
    if (step === 'person' || step === 'needs') return 'matches';
    return 'summary';
  }
  const index = STEPS.indexOf(step);
  return STEPS[Math.min(STEPS.length - 1, index + 1)];
}
