import { randomUUID } from 'node:crypto';
import { TeamsInfo, TurnContext } from 'botbuilder';
import {
  ComponentDialog,
  DialogContext,
  DialogState,
  DialogTurnResult,
  WaterfallDialog,
  WaterfallStepContext,
} from 'botbuilder-dialogs';
import { beforeLastingChange, CardStepPrompt, isNavigation, showFormCard } from '../cardStepPrompt';
import { isStepName, nextStep, previousStep, ReferralDraft, StepName } from './draft';
import { buildReferralSteps, ReferralStepContext } from './steps';
import type { ReferrerInput } from './stepInputs';
import type { ReferralService, SubmittedReferral } from '../../bot/referrals/referralService';
import { safetyStopCard, consentDeclinedCard, submittedCard } from '../../cards/referralCards';

export const REFERRAL_DIALOG = 'referral';

/** How a referral may be begun: from a service's card, that service is preselected if the person is eligible. */
export interface ReferralStart {
  suggestedServiceId?: string;
}
const FLOW = 'referral.flow';

interface FlowState {
  draft: ReferralDraft;
  step: StepName;
  editing: boolean;
  /** What Teams and the last referral tell us about the referrer, to prefill step 1. */
  prefill?: Partial<ReferrerInput>;
}

/**
 * The guided referral: one Adaptive Card a step, from the referrer's details to a routed,
 * stored referral. The flow loops over a two-step waterfall (ask, then decide where to go),
 * which keeps Back and Edit simple and the dialog stack shallow.
 */
export class ReferralDialog extends ComponentDialog {
  constructor(private readonly service: ReferralService) {
    super(REFERRAL_DIALOG);
    const steps = buildReferralSteps();
    for (const [name, definition] of Object.entries(steps)) {
      this.addDialog(new CardStepPrompt(stepDialogId(name as StepName), definition));
    }
    this.addDialog(
      new WaterfallDialog(FLOW, [(step) => this.ask(step), (step) => this.decide(step)]),
    );
    this.initialDialogId = FLOW;
  }

  private async ask(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const flow = step.options as (FlowState | ReferralStart | undefined);
    const state: FlowState = flow && 'draft' in flow
      ? flow
      : { draft: flow?.suggestedServiceId ? { suggestedServiceId: flow.suggestedServiceId } : {}, step: 'referrer', editing: false, prefill: await this.referrerDefaults(step.context) };
    (step.values as { flow?: FlowState }).flow = state;

    const context: ReferralStepContext = {
      draft: state.draft,
      prefill: state.prefill,
      now: this.service.now().toISOString(),
    };
    if (state.step === 'matches') {
      const matches = await this.service.matchDraft(state.draft);
      if (matches.urgent) return this.stopForSafety(step, state);
      context.matches = matches;
    }
    if (state.step === 'summary') {
      state.draft.referralId ??= randomUUID();
      context.serviceName = await this.service.serviceName(state.draft.choice?.serviceId);
    }
    return step.beginDialog(stepDialogId(state.step), { data: context });
  }

  private async decide(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const state = (step.values as { flow: FlowState }).flow;
    const answer = step.result;

    if (isNavigation(answer)) {
      if (answer.navigate === 'back') {
        return step.replaceDialog(FLOW, { ...state, step: previousStep(state.step), editing: false });
      }
      if (state.step === 'summary' && isStepName(answer.navigate)) {
        return step.replaceDialog(FLOW, { ...state, step: answer.navigate, editing: true });
      }
      return step.replaceDialog(FLOW, state);
    }

    const draft: ReferralDraft = { ...state.draft };
    const now = this.service.now().toISOString();
    switch (state.step) {
      case 'referrer':
        draft.referrer = answer;
        break;
      case 'consent':
        if (answer.consentToReferral !== 'yes' || answer.consentToShare !== 'yes') {
          return this.endWithoutConsent(step, answer.consentToReferral !== 'yes');
        }
        draft.consent = { ...answer, recordedAt: now };
        break;
      case 'safety':
        if (answer.immediateRisk === 'yes') return this.stopForSafety(step, state);
        draft.safetyCheckedAt = now;
        break;
      case 'person':
        draft.person = answer;
        break;
      case 'needs':
        draft.needs = answer;
        break;
      case 'matches':
        draft.choice = answer;
        break;
      case 'summary':
        return this.submit(step, draft);
    }
    return step.replaceDialog(FLOW, { draft, step: nextStep(state.step, state.editing), editing: state.editing });
  }

  private async submit(step: WaterfallStepContext, draft: ReferralDraft): Promise<DialogTurnResult> {
    const reference = TurnContext.getConversationReference(step.context.activity);
    let submitted: SubmittedReferral;
    await beforeLastingChange(step.context);
    try {
      submitted = await this.service.submit(draft, {
        teamsUserId: step.context.activity.from.id,
        aadObjectId: step.context.activity.from.aadObjectId,
        // Stored as plain JSON, so storage and domain never hold Bot Framework types.
        conversation: JSON.parse(JSON.stringify(reference)) as Record<string, unknown>,
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'ReferralNoLongerValid') {
        await step.context.sendActivity((error as Error).message);
        return step.replaceDialog(FLOW, { draft, step: 'matches', editing: true });
      }
      throw error;
    }
    await showFormCard(step.context, submittedCard(submitted));
    return step.endDialog(submitted);
  }

  private async stopForSafety(step: WaterfallStepContext, state: FlowState): Promise<DialogTurnResult> {
    await beforeLastingChange(step.context);
    await this.service.recordSafetyStop(step.context.activity.from.id, state.draft.referrer?.name);
    await showFormCard(step.context, safetyStopCard());
    return step.endDialog();
  }

  private async endWithoutConsent(step: WaterfallStepContext, declinedReferral: boolean): Promise<DialogTurnResult> {
    await beforeLastingChange(step.context);
    await this.service.recordConsentNotGiven(step.context.activity.from.id, declinedReferral);
    await showFormCard(step.context, consentDeclinedCard(declinedReferral));
    return step.endDialog();
  }

  /** Prefills the referrer from Teams and from what they entered last time. */
  private async referrerDefaults(context: TurnContext): Promise<Partial<ReferrerInput>> {
    const remembered = await this.service.rememberedReferrer(context.activity.from.id);
    let email = remembered?.email;
    // What they typed last time wins; Teams is asked only when there is nothing to go on.
    if (!email) {
      try {
        const member = await TeamsInfo.getMember(context, context.activity.from.id);
        email = member.email ?? member.userPrincipalName ?? undefined;
      } catch {
        // Not in Teams, or the roster is unavailable: the referrer types it.
      }
    }
    return {
      name: remembered?.name ?? context.activity.from.name,
      email,
      practice: remembered?.practice,
      role: remembered?.role,
    };
  }
}

/**
 * The draft of the referral in progress in this dialog context, if any: the flow waterfall
 * keeps it in its options, below whichever step prompt is active.
 */
export function draftInProgress(dc: DialogContext): ReferralDraft | undefined {
  const inner = (dc.activeDialog?.state as { dialogs?: DialogState } | undefined)?.dialogs;
  const flow = inner?.dialogStack.find((instance) => instance.id === FLOW);
  return (flow?.state as { options?: FlowState } | undefined)?.options?.draft;
}

function stepDialogId(step: StepName): string {
  return `referral.step.${step}`;
}
