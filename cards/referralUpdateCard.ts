import template from './referral-update.json';
import { renderCard, withRefresh } from './render';
import { escapeHtml, RenderedEmail } from './email';
import { actionableCardActions, actionLinksHtml, actionLinksText, EmailActionTarget, embeddedCard } from './emailActions';
import type { ReferralUpdate } from '../domain/notifications/referralUpdate';
import { escapeCardText } from '../domain/text';

/** Said in an email where Teams shows a link worker's note: the note may name the person. */
export const NOTE_IN_TEAMS =
  'The link worker added a note. Notes can name the person, so they are shown only in Teams: open your chat with Signpost to read it.';

/** The verb a referrer's update card's refresh invokes. */
export const UPDATE_REFRESH_VERB = 'update-refresh';

export interface UpdateCardState {
  /** Where the referral stands now, when it has moved on since this update. */
  now?: string;
  /** The referrer, in Teams: their card refreshes to where the referral stands. Not for email. */
  refreshUserIds?: string[];
  /** Whether the permission table lets the referrer ask the link worker a question now (Teams). */
  canAsk?: boolean;
  /** A notice at the top: what the referrer's last action did. */
  notice?: string;
}

/**
 * The update a referrer receives in Teams, as an Adaptive Card, with the link worker's notes.
 * Its lines quote link workers' names and notes, so all its text is escaped.
 */
export function referralUpdateCard(update: ReferralUpdate, state: UpdateCardState = {}): Record<string, unknown> {
  const card = renderCard(template, {
    ...update,
    headline: escapeCardText(update.headline),
    serviceName: escapeCardText(update.serviceName),
    status: escapeCardText(update.status),
    lines: [...update.lines, ...(update.notes ?? [])].map(escapeCardText),
    // What the referrer just did, then where the referral stands: one banner.
    now: state.notice || state.now ? escapeCardText([state.notice, state.now].filter(Boolean).join(' ')) : null,
    canAsk: Boolean(state.canAsk),
  });
  if (update.version === undefined || !state.refreshUserIds?.length) return card;
  return withRefresh(card, { verb: UPDATE_REFRESH_VERB, title: 'Show where it stands', data: { referralId: update.referralId, version: update.version }, userIds: state.refreshUserIds });
}

/** The update as email carries it: the notes replaced by where to read them. */
function withoutNotes(update: ReferralUpdate): ReferralUpdate {
  return { ...update, lines: [...update.lines, ...(update.notes?.length ? [NOTE_IN_TEAMS] : [])], notes: undefined };
}

export type UpdateEmail = RenderedEmail;

/**
 * The same update as an email: a plain-text part, a readable HTML part, and the Adaptive Card
 * embedded for Outlook (Actionable Messages read `application/adaptivecard+json` with the
 * registered originator id). Like the card, it names the person only by reference and initials,
 * and it never carries what a link worker typed (see NOTE_IN_TEAMS).
 */
export function referralUpdateEmail(withNotes: ReferralUpdate, originator: string, target?: EmailActionTarget): UpdateEmail {
  const update = withoutNotes(withNotes);
  const actions = actionableCardActions(target);
  const links = actionLinksText(target);
  const snomedText = update.snomed.map((code) => `${code.code} ${code.term}`);
  const text = [
    update.headline,
    '',
    `Reference: ${update.reference}`,
    `Service: ${update.serviceName}`,
    `Status: ${update.status}`,
    '',
    ...update.lines,
    ...(snomedText.length ? ['', "Record in the person's GP record:", ...snomedText] : []),
    ...(links.length ? ['', ...links] : []),
    '',
    'Say "my referrals" to Signpost in Teams to see all your referrals.',
  ].join('\n');
  const card = { ...referralUpdateCard(update), originator, ...(actions.length ? { actions } : {}) };
  const html = `<!DOCTYPE html>
<html><head><meta charset="utf-8">${embeddedCard(card)}</head>
<body style="font-family: Segoe UI, Arial, sans-serif">
<h2>${escapeHtml(update.headline)}</h2>
<p>Reference: <strong>${escapeHtml(update.reference)}</strong><br>Service: ${escapeHtml(update.serviceName)}<br>Status: ${escapeHtml(update.status)}</p>
${update.lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n')}
${snomedText.length ? `<p><strong>Record in the person's GP record:</strong><br>${snomedText.map(escapeHtml).join('<br>')}</p>` : ''}
${actionLinksHtml(target)}
<p style="color:#666">Say "my referrals" to Signpost in Teams to see all your referrals.</p>
</body></html>`;
  return { subject: `Signpost: ${update.headline}`, text, html };
}
