import type { StaffMessage, VerificationRequest } from '../domain/supervision/messages';
import { FormField, requestValueLines, verificationForm } from '../domain/directory/verification';
import { escapeCardText } from '../domain/text';

/** The verbs of a verification request's buttons (Universal Actions). */
export const CONFIRM_VERB = 'directory-confirm';
export const CHANGE_VERB = 'directory-change';

/** The button that sends an answer: "Still correct" carries no input, "Save changes" the form's. */
export type VerificationAnswerAction = (answer: 'confirm' | 'change', title: string, inputIds: readonly string[]) => Record<string, unknown>;

/**
 * In Teams: Universal Actions carrying the entry and the version asked about. A service's buttons
 * carry `serviceId` as they always have; an activity's carry `activityId`.
 */
function universalAction(request: VerificationRequest): VerificationAnswerAction {
  const data = request.entry === 'activity' ? { activityId: request.activityId, version: request.version } : { serviceId: request.serviceId, version: request.version };
  return (answer, title) => ({ type: 'Action.Execute', title, verb: answer === 'confirm' ? CONFIRM_VERB : CHANGE_VERB, data });
}

/**
 * A request to confirm a directory entry (a service's or an activity's), as an Adaptive Card:
 * the entry's current values, "Still correct" (one click) and "Change" (a form prefilled with
 * the current values). Both buttons carry the entry and the version asked about (in Teams in
 * their data, in Outlook in the signed link their Action.Http posts), so an answer after anyone
 * else's change is recognised as stale. `answered` replaces the buttons with what happened.
 * `outlook` makes the Actionable Message form: its originator, and Action.Http buttons in place
 * of Universal Actions.
 */
export function verificationRequestCard(
  message: StaffMessage & { verification: VerificationRequest },
  state: { notice?: string; answered?: boolean } = {},
  outlook?: { originator: string; answerAction: VerificationAnswerAction },
): Record<string, unknown> {
  const request = message.verification;
  const answerAction = outlook?.answerAction ?? universalAction(request);
  const fields = verificationForm(request);
  const form = {
    type: 'AdaptiveCard',
    body: fields.map(cardInput),
    actions: [answerAction('change', 'Save changes', fields.map((field) => field.name))],
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
      { type: 'FactSet', facts: requestValueLines(request).map(({ label, value }) => ({ title: label, value: escapeCardText(value) })) },
    ],
    actions: state.answered
      ? []
      : [
          { ...answerAction('confirm', 'Still correct', []), style: 'positive' },
          { type: 'Action.ShowCard', title: 'Change', card: form },
        ],
  };
}

function cardInput(field: FormField): Record<string, unknown> {
  const common = { id: field.name, label: field.label, ...(field.required ? { isRequired: true, errorMessage: field.required } : {}) };
  switch (field.input) {
    case 'choice':
      return { type: 'Input.ChoiceSet', ...common, value: field.value, choices: field.choices };
    case 'date':
      return { type: 'Input.Date', ...common, value: field.value };
    case 'number':
      return { type: 'Input.Number', ...common, ...(field.range ?? {}), value: field.value === '' ? undefined : Number(field.value) };
    default:
      // An input's value is not Markdown and comes back as it stands: escaped, a web address would return altered.
      return { type: 'Input.Text', ...common, ...(field.input === 'multiline' ? { isMultiline: true } : {}), maxLength: field.maxLength, value: field.value };
  }
}
