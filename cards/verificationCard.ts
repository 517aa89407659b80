import type { StaffMessage, VerificationRequest } from '../domain/supervision/messages';
import { FormField, requestValueLines, verificationForm } from '../domain/directory/verification';
import { escapeCardText } from '../domain/text';

/** The verbs of a verification request's buttons (Universal Actions). */
export const CONFIRM_VERB = 'directory-confirm';
export const CHANGE_VERB = 'directory-change';

/**
 * A request to confirm a directory entry (a service's or an activity's), as an Adaptive Card:
 * the entry's current values, "Still correct" (one click) and "Change" (a form prefilled with
 * the current values). Both buttons carry the entry and the version asked about, so an answer
 * after anyone else's change is recognised as stale. `answered` replaces the buttons with what happened.
 */
export function verificationRequestCard(message: StaffMessage & { verification: VerificationRequest }, state: { notice?: string; answered?: boolean } = {}): Record<string, unknown> {
  const request = message.verification;
  // A service's buttons carry `serviceId` as they always have; an activity's carry `activityId`.
  const data = request.entry === 'activity' ? { activityId: request.activityId, version: request.version } : { serviceId: request.serviceId, version: request.version };
  const form = {
    type: 'AdaptiveCard',
    body: verificationForm(request).map(cardInput),
    actions: [{ type: 'Action.Execute', title: 'Save changes', verb: CHANGE_VERB, data }],
  };
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
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
          { type: 'Action.Execute', title: 'Still correct', verb: CONFIRM_VERB, data, style: 'positive' },
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
