import template from './staff-message.json';
import { renderCard, withRefresh } from './render';
import { escapeHtml, RenderedEmail } from './email';
import { actionableCard, actionLinksHtml, actionLinksText, EmailActionTarget, EmailCase, embeddedCard } from './emailActions';
import type { StaffMessage } from '../domain/supervision/messages';
import { escapeCardText } from '../domain/text';
import { verificationRequestCard } from './verificationCard';

const KIND_LABELS: Record<StaffMessage['kind'], string> = {
  reminder: 'Signpost reminder',
  'escalation-alert': 'Escalation: a link worker needs a supervisor',
  'escalation-answer': 'Your escalation was answered',
  'caseload-digest': 'Fortnightly caseload digest',
  'verification-request': 'Please confirm a directory entry',
  'unmaintained-entry': 'A directory entry nobody maintains',
  'referrer-question': 'A question from the referrer',
};

export interface StaffCardState {
  /** Where an alert stands (acknowledged, taken over, advice given). */
  answer?: string;
  /** Taken over or advice given: the alert keeps no buttons (acknowledged ones keep theirs). */
  resolved?: boolean;
  notice?: string;
  /** Who Teams redraws an escalation alert for, so an answer from one supervisor shows on every alert. */
  refreshUserIds?: string[];
}

/** The verb an escalation alert's refresh invokes. */
export const ALERT_REFRESH_VERB = 'escalation-refresh';

/**
 * A reminder, alert or digest for staff, as an Adaptive Card in their chat or the service's
 * channel. Titles, lines, notes and answers quote names and link workers' notes, so all the
 * text is escaped.
 */
export function staffMessageCard(message: StaffMessage, state: StaffCardState = {}): Record<string, unknown> {
  if (message.verification) return verificationRequestCard({ ...message, verification: message.verification }, { notice: state.notice });
  const shown = (text: string | undefined) => (text == null ? null : escapeCardText(text));
  const card = renderCard(template, {
    kindLabel: KIND_LABELS[message.kind],
    title: escapeCardText(message.title),
    facts: [
      { title: 'Service', value: escapeCardText(message.serviceName) },
      ...(message.reference ? [{ title: 'Reference', value: escapeCardText(message.reference) }] : []),
    ],
    lines: message.lines.map(escapeCardText),
    privateNote: shown(message.privateNote),
    noteLabel: message.kind === 'referrer-question' ? "The referrer's question" : "The link worker's note",
    sections: (message.sections ?? []).map((section) => ({ title: escapeCardText(section.title), lines: section.lines.map(escapeCardText) })),
    answer: shown(state.answer),
    notice: shown(state.notice),
    canAnswer: Boolean(message.escalation) && !state.resolved,
    referralId: message.escalation?.referralId ?? '',
    escalationId: message.escalation?.escalationId ?? '',
  });
  if (message.kind !== 'escalation-alert' || !message.escalation || !state.refreshUserIds?.length) return card;
  const { referralId, escalationId } = message.escalation;
  return withRefresh(card, { verb: ALERT_REFRESH_VERB, title: 'Show where it stands', data: { referralId, escalationId }, userIds: state.refreshUserIds });
}

export type StaffEmail = RenderedEmail;

/**
 * The same message by email. A link worker's free-text note never goes by email (it may name
 * the person); the email says where to read it and answer.
 */
export function staffMessageEmail(message: StaffMessage, actions?: { target: EmailActionTarget; originator: string }): StaffEmail {
  const target = actions?.target.verbs.length ? actions.target : undefined;
  const noteLine = !message.privateNote
    ? undefined
    : message.kind !== 'referrer-question'
      ? "The link worker's note is in Signpost in Teams (it is not sent by email, as it may identify the person)."
      : target
        ? 'The question itself is in Signpost (it is not sent by email, as it may identify the person): open Read the question below and confirm to read it.'
        : 'The question itself is in Signpost in Teams (it is not sent by email, as it may identify the person).';
  const action = target
    ? undefined
    : message.escalation
      ? 'Open your chat with Signpost in Teams to acknowledge, take over or record your advice.'
      : message.reference
        ? "Open the referral's card in the service's Teams channel to act on it."
        : undefined;
  const facts = [`Service: ${message.serviceName}`, ...(message.reference ? [`Reference: ${message.reference}`] : [])];
  const shown: EmailCase = {
    kindLabel: KIND_LABELS[message.kind],
    title: message.title,
    facts: [{ label: 'Service', value: message.serviceName }, ...(message.reference ? [{ label: 'Reference', value: message.reference }] : [])],
    lines: message.lines,
  };
  const sections = (message.sections ?? []).flatMap((section) => ['', `${section.title}:`, ...section.lines.map((line) => `- ${line}`)]);
  const links = actionLinksText(target);
  const text = [message.title, '', ...facts, '', ...message.lines, ...(noteLine ? ['', noteLine] : []), ...sections, ...(action ? ['', action] : []), ...(links.length ? ['', ...links] : [])].join('\n');
  const html = `<!DOCTYPE html>
<html><head><meta charset="utf-8">${target ? embeddedCard(actionableCard(shown, target, actions!.originator)) : ''}</head>
<body style="font-family: Segoe UI, Arial, sans-serif">
<h2>${escapeHtml(message.title)}</h2>
<p>${facts.map(escapeHtml).join('<br>')}</p>
${message.lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n')}
${noteLine ? `<p><em>${escapeHtml(noteLine)}</em></p>` : ''}
${(message.sections ?? []).map((section) => `<h3>${escapeHtml(section.title)}</h3><ul>${section.lines.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>`).join('\n')}
${action ? `<p style="color:#444">${escapeHtml(action)}</p>` : ''}
${actionLinksHtml(target)}
</body></html>`;
  return { subject: `Signpost: ${message.title}`, text, html };
}
