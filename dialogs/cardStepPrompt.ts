import { randomUUID } from 'node:crypto';
import { ActivityTypes, CardFactory, TurnContext } from 'botbuilder';
import { Dialog, DialogContext, DialogInstance, DialogTurnResult, DialogTurnStatus } from 'botbuilder-dialogs';

/**
 * One step of a card-based form: sends an Adaptive Card, waits for its submission, validates
 * it on the server and either returns the parsed value or shows the same card again with the
 * user's values kept and an error beside each bad field.
 *
 * Every card carries the step's id and a one-time token in its submit data, so a click on an
 * older card (another step, or this step before a restart of the form) changes nothing.
 *
 * The form advances in place: its buttons are Universal Actions (Action.Execute, verb
 * FORM_STEP_VERB), and the answer to a click is the card that replaces the clicked one, so the
 * chat keeps one form card rather than a trail of spent ones, and a step costs no call to the
 * Bot Connector. Cards sent before forms advanced in place (Action.Submit, a message with a
 * value) are still understood, and answered as before, with a new card.
 */

export type FieldErrors = Record<string, string>;
export type StepParseResult<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

export interface CardStepDefinition<T> {
  /** Builds the card for this step from what is known so far, the values typed and any errors. */
  card(input: { step: string; token: string; data: any; values: Record<string, unknown>; errors: FieldErrors }): Record<string, unknown>;
  /** Validates a submission (untrusted input from the card). */
  parse(submitted: Record<string, unknown>, data: any): StepParseResult<T>;
  /** The values to show the first time (a draft being edited, or defaults). */
  initialValues(data: any): Record<string, unknown>;
}

export interface CardStepOptions {
  /** Whatever the step's card needs to render (the draft so far, match results...). */
  data?: unknown;
}

/** What a step returns when the user presses a non-submitting action such as Back or Edit. */
export interface CardStepNavigation {
  navigate: string;
}

interface CardStepState {
  token: string;
  data: unknown;
  values: Record<string, unknown>;
  /** The card last sent for this step, to retire its buttons once the step is done. */
  activityId?: string;
}

/** The verb of every form card's buttons. */
export const FORM_STEP_VERB = 'formStep';

/** How a click on a form card is answered: the card that replaces it, or a sentence beside it. */
export type FormAnswer = { card: Record<string, unknown> } | { notice: string };
const FORM_ANSWER = Symbol('formAnswer');

const STATE_KEY = 'cardStep';
const CONTROL_FIELDS = new Set(['step', 'token', 'action', 'navigate']);

export const CANCEL_WORDS = new Set(['cancel', 'stop', 'quit', 'exit', 'abandon']);

export function isCancelText(text: string | undefined): boolean {
  return CANCEL_WORDS.has((text ?? '').replace(/<[^>]*>/g, '').trim().toLowerCase());
}

export class CardStepPrompt<T> extends Dialog<CardStepOptions> {
  constructor(dialogId: string, private readonly step: CardStepDefinition<T>) {
    super(dialogId);
  }

  override async beginDialog(dc: DialogContext, options?: CardStepOptions): Promise<DialogTurnResult> {
    const state: CardStepState = {
      token: randomUUID(),
      data: options?.data ?? {},
      values: this.step.initialValues(options?.data ?? {}),
    };
    dc.activeDialog!.state[STATE_KEY] = state;
    await this.sendCard(dc.context, state, {});
    return Dialog.EndOfTurn;
  }

  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const activity = dc.context.activity;
    if (activity.type !== ActivityTypes.Message && !answeringFormClick(dc.context)) return Dialog.EndOfTurn;
    const state = dc.activeDialog!.state[STATE_KEY] as CardStepState;
    const submitted = formSubmission(dc.context);

    if (!submitted) {
      // Free text where a card is expected: explain rather than fail.
      await tellFormClick(dc.context, 'Please use the card above to continue, or say **cancel** to stop this referral. Nothing has been sent yet.');
      return Dialog.EndOfTurn;
    }

    if (submitted.step !== this.id || submitted.token !== state.token) {
      await tellFormClick(dc.context, 'That card is from an earlier step, so I ignored it. Please use the most recent card.');
      return Dialog.EndOfTurn;
    }

    // Keep what the user typed even if it is invalid, so the card comes back as they left it.
    const typed = Object.fromEntries(Object.entries(submitted).filter(([key]) => !CONTROL_FIELDS.has(key)));

    if (typeof submitted.navigate === 'string' && submitted.navigate.length <= 40) {
      await this.retireCard(dc.context, state);
      return dc.endDialog({ navigate: submitted.navigate } satisfies CardStepNavigation);
    }

    const result = this.step.parse(typed, state.data);
    if (!result.ok) {
      state.values = { ...state.values, ...typed };
      await this.sendCard(dc.context, state, result.errors);
      return Dialog.EndOfTurn;
    }
    await this.retireCard(dc.context, state);
    return dc.endDialog(result.value);
  }

  /** Shows the current card again (with what was typed), e.g. when the chat was cleared. */
  override async repromptDialog(context: TurnContext, instance: DialogInstance): Promise<void> {
    const state = instance.state[STATE_KEY] as CardStepState;
    await this.sendCard(context, state, {});
  }

  private async sendCard(context: TurnContext, state: CardStepState, errors: FieldErrors): Promise<void> {
    const card = this.step.card({ step: this.id, token: state.token, data: state.data, values: state.values, errors });
    const count = Object.keys(errors).length;
    const shown = count ? withNotice(card, `Please check ${count === 1 ? 'the highlighted field' : `the ${count} highlighted fields`}.`) : card;
    state.activityId = await showFormCard(context, shown);
  }

  /**
   * Replaces a finished step's card with a one-line note, so the chat does not keep buttons
   * that no longer do anything. Only for a card clicked as a message (Action.Submit): a card
   * clicked as a Universal Action is replaced by the answer itself. Best effort: a client that
   * cannot update keeps the old card, whose clicks are ignored anyway (its token is spent).
   */
  private async retireCard(context: TurnContext, state: CardStepState): Promise<void> {
    if (!state.activityId || answeringFormClick(context)) return;
    try {
      await context.updateActivity({
        id: state.activityId,
        type: ActivityTypes.Message,
        attachments: [
          CardFactory.adaptiveCard({
            type: 'AdaptiveCard',
            version: '1.5',
            body: [{ type: 'TextBlock', text: 'Step done. Carry on with the latest card.', isSubtle: true, wrap: true }],
          }),
        ],
      });
    } catch {
      // Not every channel can update a message; the old card's clicks are ignored.
    }
  }
}

/** True while answering a click on a form card (Action.Execute), whose answer replaces that card. */
function answeringFormClick(context: TurnContext): boolean {
  const { activity } = context;
  return activity.type === ActivityTypes.Invoke && activity.name === 'adaptiveCard/action' && asRecord(asRecord(activity.value)?.action)?.verb === FORM_STEP_VERB;
}

/**
 * True when the click came from the card of the step now waiting for an answer (its step and
 * one-time token), looking through the forms that hold the step: a Cancel on any other card,
 * such as one left by an earlier form, must change nothing.
 */
export function clickedCurrentCard(dc: DialogContext, submitted: Record<string, unknown>): boolean {
  let inner = dc;
  while (inner.child) inner = inner.child;
  const state = inner.activeDialog?.state[STATE_KEY] as CardStepState | undefined;
  return state !== undefined && submitted.step === inner.activeDialog!.id && submitted.token === state.token;
}

/** What a form card's click carried: its data and inputs (Action.Execute), or a message's value (Action.Submit). */
export function formSubmission(context: TurnContext): Record<string, unknown> | undefined {
  return answeringFormClick(context) ? asRecord(asRecord(asRecord(context.activity.value)?.action)?.data) : asRecord(context.activity.value);
}

/**
 * Shows a form card. In answer to a click on the form, the first card shown replaces the
 * clicked one; otherwise, and for any later card, it is sent as a message. Returns the id of
 * the message that shows it, where known.
 */
export async function showFormCard(context: TurnContext, card: Record<string, unknown>): Promise<string | undefined> {
  if (answeringFormClick(context) && !context.turnState.get(FORM_ANSWER)) {
    context.turnState.set(FORM_ANSWER, { card } satisfies FormAnswer);
    return context.activity.replyToId;
  }
  return (await context.sendActivity({ type: ActivityTypes.Message, attachments: [CardFactory.adaptiveCard(card)] }))?.id;
}

/** Tells the person something about their click: beside the clicked card (which stays as it is), or as a message. */
export async function tellFormClick(context: TurnContext, text: string): Promise<void> {
  if (answeringFormClick(context) && !context.turnState.get(FORM_ANSWER)) {
    context.turnState.set(FORM_ANSWER, { notice: text } satisfies FormAnswer);
    return;
  }
  await context.sendActivity(text);
}

/** How this turn answers the click on a form card, once the form has had its say. */
export function formAnswer(context: TurnContext): FormAnswer | undefined {
  return context.turnState.get(FORM_ANSWER);
}

const LASTING_CHANGE_CHECK = Symbol('lastingChangeCheck');

/**
 * For a turn that works on a copy of the form's state which storage has not yet confirmed (see
 * SignpostBot's answer from a cached copy): what must hold before the form changes anything
 * beyond its own state, such as storing a referral or recording an audit event. The check
 * throws when the copy is out of date, and the turn is then answered again from storage.
 */
export function checkBeforeLastingChanges(context: TurnContext, check: () => Promise<void>): void {
  context.turnState.set(LASTING_CHANGE_CHECK, check);
}

/** Called by the form just before it changes anything beyond its own state. */
export async function beforeLastingChange(context: TurnContext): Promise<void> {
  const check = context.turnState.get(LASTING_CHANGE_CHECK) as (() => Promise<void>) | undefined;
  await check?.();
}

/** A one-line card, to replace a form card whose form has ended. */
export function formNoticeCard(text: string): Record<string, unknown> {
  return { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text, wrap: true }] };
}

/** The card with a sentence at its top, in the colour of a warning: what to fix before it can go on. */
function withNotice(card: Record<string, unknown>, text: string): Record<string, unknown> {
  const body = Array.isArray(card.body) ? card.body : [];
  return { ...card, body: [{ type: 'TextBlock', text, wrap: true, weight: 'Bolder', color: 'Attention' }, ...body] };
}

export function isNavigation(result: unknown): result is CardStepNavigation {
  return typeof result === 'object' && result !== null && typeof (result as CardStepNavigation).navigate === 'string';
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export { DialogTurnStatus };
