import { escapeHtml } from './email';
import { escapeCardText } from '../domain/text';
import type { EmailVerb } from '../domain/email/links';
import { CLOSE_REASONS, DECLINE_REASONS, PROGRESS_STATUSES, reasonWords, STATUS_LABELS } from '../domain/referral/lifecycle';

/**
 * The actions an email offers, in the two forms an inbox can use, with one meaning:
 *  - an Adaptive Card for Outlook Actionable Messages, whose buttons are Action.Http POSTs to
 *    Signpost (inputs such as a decline reason on a ShowCard under the button);
 *  - plain links to Signpost's own pages, for every other mail client.
 * Both are built from the same table of verbs and inputs (ACTION_FORMS), which the HTML pages
 * also use, so a button, a link and a form always ask for the same things.
 */

export interface ActionInput {
  id: 'reason' | 'status' | 'note' | 'activity' | 'question';
  label: string;
  choices?: Array<{ title: string; value: string }>;
  required: boolean;
  /** Longest text accepted (free text only). */
  maxLength?: number;
}

export interface ActionForm {
  /** The button ("Accept"). */
  button: string;
  /** What the page asks before the button ("Accept this referral? You become its link worker."). */
  question: string;
  inputs: ActionInput[];
}

const reasonChoices = (values: readonly string[]) => values.map((value) => ({ title: reasonWords(value).choice, value }));
const NOTE_WARNING = 'Note (optional; shown in Teams only, do not include the person’s name or contact details)';

export const ACTION_FORMS: Record<EmailVerb, ActionForm> = {
  accept: { button: 'Accept', question: 'Accept this referral? You become its link worker and the referrer is told.', inputs: [] },
  decline: {
    button: 'Decline',
    question: 'Decline this referral? The referrer is told the reason.',
    inputs: [
      { id: 'reason', label: 'Reason', choices: reasonChoices(DECLINE_REASONS), required: true },
      { id: 'note', label: NOTE_WARNING, required: false, maxLength: 500 },
    ],
  },
  update: {
    button: 'Update progress',
    question: 'Record where the case is now. The referrer is told.',
    inputs: [
      { id: 'status', label: 'Progress', choices: PROGRESS_STATUSES.map((status) => ({ title: STATUS_LABELS[status], value: status })), required: true },
      { id: 'activity', label: 'Activity the person was connected to (optional)', required: false, maxLength: 200 },
    ],
  },
  close: {
    button: 'Close',
    question: 'Close this referral? The referrer is told the reason.',
    inputs: [
      { id: 'reason', label: 'Reason', choices: reasonChoices(CLOSE_REASONS), required: true },
      { id: 'note', label: NOTE_WARNING, required: false, maxLength: 500 },
    ],
  },
  'view-contact': {
    button: 'Show contact details',
    question: 'Show the person’s name and contact details? Each view is recorded with your email address.',
    inputs: [],
  },
  'escalation-acknowledge': { button: 'Acknowledge', question: 'Acknowledge this escalation? The link worker is told you have seen it.', inputs: [] },
  'escalation-take-over': { button: 'Take over', question: 'Take this case over? You become its owner; the link worker and the referrer are told.', inputs: [] },
  'escalation-advice': {
    button: 'Advice given',
    question: 'Record the advice you gave. The link worker is told.',
    inputs: [{ id: 'note', label: 'Your advice', required: true, maxLength: 1000 }],
  },
  'read-question': {
    button: 'Read the question',
    question: 'Show the referrer’s question? It may name the person, so it is not put in email; each reading is recorded with your email address.',
    inputs: [],
  },
  'ask-question': {
    button: 'Ask the link worker a question',
    question: 'Ask the link worker a question about this referral. They answer with an update, which reaches you as usual.',
    inputs: [{ id: 'question', label: 'Your question (do not include the person’s name or contact details)', required: true, maxLength: 1000 }],
  },
};

/** What an email or page shows about the referral: no direct identifier of the person. */
export interface EmailCase {
  kindLabel: string;
  title: string;
  facts: Array<{ label: string; value: string }>;
  lines: string[];
  notice?: string;
}

/** Where the actions go: the signed link token, the Action.Http endpoint and the link page. */
export interface EmailActionTarget {
  token: string;
  actionUrl: string;
  pageUrl: string;
  verbs: EmailVerb[];
}

/** The link for one action: the page, opened on that action's form. */
function actionLink(target: EmailActionTarget, verb: EmailVerb): string {
  return `${target.pageUrl}?action=${encodeURIComponent(verb)}`;
}

/** What Outlook says under a required input left empty. */
function required(input: ActionInput): { errorMessage?: string } {
  return input.required ? { errorMessage: input.choices ? `Choose: ${input.label.toLowerCase()}` : `Fill in: ${input.label.toLowerCase()}` } : {};
}

/** An Outlook Action.Http button posting `fields` and the card's inputs to Signpost as JSON. */
export function actionHttp(title: string, url: string, fields: Record<string, string>, inputIds: readonly string[]): Record<string, unknown> {
  return {
    type: 'Action.Http',
    title,
    method: 'POST',
    url,
    headers: [{ name: 'Content-Type', value: 'application/json' }],
    // Outlook fills {{id.value}} with what was entered before it posts.
    body: JSON.stringify({ ...fields, ...Object.fromEntries(inputIds.map((id) => [id, `{{${id}.value}}`])) }),
  };
}

/** The Adaptive Card buttons for an email's actions: Action.Http to Signpost, carrying the link token that says who it was sent to. */
export function actionableCardActions(target: EmailActionTarget | undefined): Array<Record<string, unknown>> {
  const http = (verb: EmailVerb, title: string, inputs: ActionInput[]) => actionHttp(title, target!.actionUrl, { link: target!.token, verb }, inputs.map((input) => input.id));
  return (target?.verbs ?? []).map((verb) => {
    const form = ACTION_FORMS[verb];
    // Contact details must never land in the mailbox (a refreshed card replaces the email): they open on Signpost's page.
    if (verb === 'view-contact' || verb === 'read-question') return { type: 'Action.OpenUrl', title: form.button, url: actionLink(target!, verb) };
    if (!form.inputs.length) return http(verb, form.button, []);
    return {
      type: 'Action.ShowCard',
      title: form.button,
      card: {
        type: 'AdaptiveCard',
        body: [
          { type: 'TextBlock', text: escapeCardText(form.question), wrap: true },
          ...form.inputs.map((input) =>
            input.choices
              ? { type: 'Input.ChoiceSet', id: input.id, label: input.label, isRequired: input.required, style: 'compact', choices: input.choices, ...required(input) }
              : { type: 'Input.Text', id: input.id, label: input.label, isRequired: input.required, isMultiline: input.id === 'note' || input.id === 'question', maxLength: input.maxLength, ...required(input) },
          ),
        ],
        actions: [http(verb, form.button, form.inputs)],
      },
    };
  });
}

/** The Adaptive Card for Outlook, with the case and its actions. */
export function actionableCard(shown: EmailCase, target: EmailActionTarget | undefined, originator: string): Record<string, unknown> {
  const actions = actionableCardActions(target);
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.4',
    originator,
    body: [
      ...(shown.notice ? [{ type: 'Container', style: 'emphasis', items: [{ type: 'TextBlock', text: escapeCardText(shown.notice), wrap: true, weight: 'Bolder' }] }] : []),
      { type: 'TextBlock', text: escapeCardText(shown.kindLabel), size: 'Small', isSubtle: true, wrap: true },
      { type: 'TextBlock', text: escapeCardText(shown.title), size: 'Medium', weight: 'Bolder', wrap: true, spacing: 'None' },
      { type: 'FactSet', facts: shown.facts.map((fact) => ({ title: fact.label, value: escapeCardText(fact.value) })) },
      ...shown.lines.map((line) => ({ type: 'TextBlock', text: escapeCardText(line), wrap: true })),
    ],
    ...(actions.length ? { actions } : {}),
  };
}

/** The card inside an email's HTML head, where Outlook looks for it. */
export function embeddedCard(card: Record<string, unknown>): string {
  // "</" inside the script would end it early; JSON allows escaping the slash.
  return `<script type="application/adaptivecard+json">${JSON.stringify(card).replace(/<\//g, '<\\/')}</script>`;
}

/** The actions as links, for the email's HTML part. */
export function actionLinksHtml(target: EmailActionTarget | undefined): string {
  if (!target?.verbs.length) return '';
  const links = target.verbs.map((verb) => `<li><a href="${escapeHtml(actionLink(target, verb))}">${escapeHtml(ACTION_FORMS[verb].button)}</a></li>`);
  return `<p><strong>Act on this in Signpost</strong> (each link opens a page that asks you to confirm):</p>\n<ul>${links.join('')}</ul>`;
}

/** The actions as links, for the email's plain-text part. */
export function actionLinksText(target: EmailActionTarget | undefined): string[] {
  if (!target?.verbs.length) return [];
  return ['Act on this in Signpost (each link opens a page that asks you to confirm):', ...target.verbs.map((verb) => `${ACTION_FORMS[verb].button}: ${actionLink(target, verb)}`)];
}
