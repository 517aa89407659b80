import type { StaffMessage, VerificationRequest } from '../domain/supervision/messages';
import { currentValueLines } from '../domain/directory/verification';
import { escapeCardText } from '../domain/text';

/** The verbs of a verification request's buttons (Universal Actions). */
export const CONFIRM_VERB = 'directory-confirm';
export const CHANGE_VERB = 'directory-change';

/** The Change form's inputs, whose values an answer carries. */
export const CHANGE_INPUT_IDS = ['status', 'reopensOn', 'waitWeeks', 'contactRoute', 'openingHours', 'note'] as const;

/** The button that sends an answer: "Still correct" carries no input, "Save changes" the form's. */
export type VerificationAnswerAction = (answer: 'confirm' | 'change', title: string, inputIds: readonly string[]) => Record<string, unknown>;

/** In Teams: Universal Actions carrying the service and the version asked about. */
function universalAction(serviceId: string, version: number): VerificationAnswerAction {
  return (answer, title) => ({ type: 'Action.Execute', title, verb: answer === 'confirm' ? CONFIRM_VERB : CHANGE_VERB, data: { serviceId, version } });
}

/**
 * A request to confirm a directory entry, as an Adaptive Card: the entry's current values,
 * "Still correct" (one click) and "Change" (a form prefilled with the current values). Both
 * buttons carry the service and the version asked about (in Teams in their data, in Outlook in
 * the signed link their Action.Http posts), so an answer after anyone else's change is
 * recognised as stale. `answered` replaces the buttons with what happened. `outlook` makes the
 * Actionable Message form: its originator, and Action.Http buttons in place of Universal Actions.
 */
export function verificationRequestCard(
  message: StaffMessage & { verification: VerificationRequest },
  state: { notice?: string; answered?: boolean } = {},
  outlook?: { originator: string; answerAction: VerificationAnswerAction },
): Record<string, unknown> {
  const { serviceId, version, current } = message.verification;
  const answerAction = outlook?.answerAction ?? universalAction(serviceId, version);
  const choices = [
    { title: 'Open: taking referrals', value: 'open' },
    { title: 'Paused: not taking new referrals until a date', value: 'paused' },
    { title: 'Closed', value: 'closed' },
  ];
  const form = {
    type: 'AdaptiveCard',
    body: [
      { type: 'Input.ChoiceSet', id: 'status', label: 'Status', isRequired: true, errorMessage: 'Choose a status', value: current.status, choices },
      { type: 'Input.Date', id: 'reopensOn', label: 'Reopens on (when paused)', value: current.reopensOn ?? '' },
      { type: 'Input.Number', id: 'waitWeeks', label: 'Typical wait in weeks (leave empty if not published)', min: 0, max: 104, value: current.waitWeeks ?? undefined },
      { type: 'Input.Text', id: 'contactRoute', label: 'How to refer or get in touch', maxLength: 500, value: escapeCardText(current.contactRoute ?? '') },
      { type: 'Input.Text', id: 'openingHours', label: 'Opening hours', maxLength: 300, value: escapeCardText(current.openingHours ?? '') },
      { type: 'Input.Text', id: 'note', label: 'Note', isMultiline: true, maxLength: 1000, value: escapeCardText(current.note ?? '') },
    ],
    actions: [answerAction('change', 'Save changes', CHANGE_INPUT_IDS)],
  };
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    // Outlook renders Actionable Messages up to 1.4; nothing here needs 1.5.
    version: outlook ? '1.4' : '1.5',
    ...(outlook ? { originator: outlook.originator } : {}),
    body: [
      ...(state.notice ? [{ type: 'Container', style: 'emphasis', items: [{ type: 'TextBlock', text: escapeCardText(state.notice), wrap: true, weight: 'Bolder' }] }] : []),
      { type: 'TextBlock', text: 'Please confirm a directory entry', size: 'Small', isSubtle: true, wrap: true },
      { type: 'TextBlock', text: escapeCardText(message.title), size: 'Medium', weight: 'Bolder', wrap: true, spacing: 'None' },
      ...message.lines.map((line) => ({ type: 'TextBlock', text: escapeCardText(line), wrap: true })),
      { type: 'FactSet', facts: currentValueLines(current).map(({ label, value }) => ({ title: label, value: escapeCardText(value) })) },
    ],
    actions: state.answered
      ? []
      : [
          { ...answerAction('confirm', 'Still correct', []), style: 'positive' },
          { type: 'Action.ShowCard', title: 'Change', card: form },
        ],
  };
}
