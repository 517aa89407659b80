import type { Response } from 'restify';
import { escapeHtml } from '../../cards/email';
import { ACTION_FORMS, ActionInput, EmailActionTarget, EmailCase } from '../../cards/emailActions';
import type { EmailVerb } from '../../domain/email/links';
import type { RenderedEmail } from '../../cards/email';

/**
 * Signpost's own pages for email links: plain server-rendered HTML, no script at all, one
 * stylesheet from Signpost itself (the Content-Security-Policy allows nothing else), readable
 * on a phone, with headings and labelled inputs. A GET shows; only a form's POST acts.
 */

export const STYLESHEET_PATH = '/email/signpost.css';

const PAGE_HEADERS: Record<string, string> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  // The link is the key: never send it on to another site, never keep the page in a cache.
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
};

export const STYLESHEET = `body{font-family:system-ui,"Segoe UI",Arial,sans-serif;margin:0 auto;padding:1rem;max-width:42rem;line-height:1.5;color:#111}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:1.5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0}
.notice{background:#fff4ce;border-left:4px solid #c19c00;padding:.5rem 1rem}
form{border:1px solid #ccc;border-radius:6px;padding:.75rem 1rem;margin:1rem 0}
label{display:block;font-weight:600;margin-top:.5rem}select,textarea,input{width:100%;box-sizing:border-box;font:inherit;padding:.4rem}
button{font:inherit;padding:.5rem 1rem;margin-top:.75rem;border-radius:4px;border:1px solid #235;background:#235;color:#fff}
@media (max-width:30rem){dl{grid-template-columns:1fr}}`;

/** Answers with one of these pages. */
export function sendPage(res: Response, status: number, html: string): void {
  res.writeHead(status, PAGE_HEADERS);
  res.end(html);
}

export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Signpost</title><link rel="stylesheet" href="${STYLESHEET_PATH}"></head>
<body><main>
${body}
</main></body></html>`;
}

/** Labelled values as a definition list. */
export function facts(rows: Array<{ label: string; value: string }>): string {
  return `<dl>${rows.map((row) => `<dt>${escapeHtml(row.label)}</dt><dd>${escapeHtml(row.value)}</dd>`).join('')}</dl>`;
}

/** The case as the email showed it (no direct identifier). */
export function caseSection(shown: EmailCase, headingLevel: 'h1' | 'h2' = 'h1'): string {
  return [
    shown.notice ? `<p class="notice" role="status">${escapeHtml(shown.notice)}</p>` : '',
    `<${headingLevel}>${escapeHtml(shown.title)}</${headingLevel}>`,
    facts(shown.facts),
    ...shown.lines.map((line) => `<p>${escapeHtml(line)}</p>`),
  ].join('\n');
}

function inputHtml(verb: EmailVerb, input: ActionInput): string {
  const id = `${verb}-${input.id}`;
  const required = input.required ? ' required' : '';
  const label = `<label for="${id}">${escapeHtml(input.label)}</label>`;
  if (input.choices) {
    const options = input.choices.map((option) => `<option value="${escapeHtml(option.value)}">${escapeHtml(option.title)}</option>`).join('');
    return `${label}<select id="${id}" name="${input.id}"${required}><option value="">Choose…</option>${options}</select>`;
  }
  return `${label}<textarea id="${id}" name="${input.id}" rows="3" maxlength="${input.maxLength ?? 500}"${required}></textarea>`;
}

/**
 * One form per action offered (or only the one the email's link named); each posts back to its
 * link. The address is relative (pages live at .../email/link/<token>), so it stays on the host
 * the page was opened from, whatever SIGNPOST_PUBLIC_URL says.
 */
export function actionForms(target: EmailActionTarget | undefined, only?: EmailVerb): string {
  const verbs = (target?.verbs ?? []).filter((verb) => !only || verb === only);
  if (!target || !verbs.length) return '';
  const forms = verbs.map((verb) => {
    const form = ACTION_FORMS[verb];
    return `<form method="post" action="${escapeHtml(target.token)}">
<h2>${escapeHtml(form.button)}</h2>
<p>${escapeHtml(form.question)}</p>
<input type="hidden" name="verb" value="${escapeHtml(verb)}">
${form.inputs.map((input) => inputHtml(verb, input)).join('\n')}
<button type="submit">${escapeHtml(form.button)}</button>
</form>`;
  });
  const more = only && target.verbs.length > 1 ? `<p><a href="${escapeHtml(target.token)}">Other actions</a></p>` : '';
  return forms.join('\n') + more;
}

/** The person's contact details, shown after the recipient confirmed (the view is audited). */
export function contactSection(rows: Array<{ label: string; value: string }>): string {
  return `<h2>Contact details</h2>
<p>Shown to you because you asked; this view is recorded with your email address. Do not forward them.</p>
${facts(rows)}`;
}

/** A referrer's question, shown after the recipient confirmed (the reading is audited). */
export function questionSection(question: string): string {
  return `<h2>The referrer's question</h2>
<p>Shown to you because you asked; this reading is recorded with your email address. Answer with an update on the referral, or reply to the referrer.</p>
<blockquote>${escapeHtml(question).replace(/\n/g, '<br>')}</blockquote>`;
}

/** A page that says what became of a link (why it cannot act, or that an answer was taken), and where the referral stands now (no identifiers). */
export function refusalPage(heading: string, explanation: string, now?: Array<{ label: string; value: string }>): string {
  return page(heading, `<h1>${escapeHtml(heading)}</h1>\n<p>${escapeHtml(explanation)}</p>${now ? `\n<h2>Where the referral stands now</h2>\n${facts(now)}` : ''}`);
}

/** Asks for the code Signpost has just mailed to the link's recipient; posts back to the same link. `notice` says why it asks again. */
export function codePage(button: string, token: string, minutes: number, notice?: string): string {
  return page('Enter your confirmation code', `${notice ? `<p class="notice" role="status">${escapeHtml(notice)}</p>\n` : ''}<h1>Enter your confirmation code</h1>
<p>To confirm <strong>${escapeHtml(button)}</strong>, enter the 6-digit code Signpost has just emailed to the address this link was sent to. It works for ${minutes} minutes.</p>
<p>If this email was forwarded to you, the code went to its recipient: ask them to act instead.</p>
<form method="post" action="${escapeHtml(token)}">
<label for="code">Confirmation code</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required>
<button type="submit">Confirm</button>
</form>`);
}

/** The email with the code: no identifier, and what to do if it was not asked for. `about` is what it acts on ("referral SP-2026-000801"). */
export function confirmationCodeEmail(code: string, button: string, about: string, minutes: number): RenderedEmail {
  const lines = [
    `Your code to confirm "${button}" on ${about} is ${code}.`,
    `Enter it on the Signpost page where you asked. It works for ${minutes} minutes.`,
    'If you did not ask for this, ignore this email: nothing changes without the code.',
  ];
  return {
    subject: `Signpost: your confirmation code for ${about}`,
    text: lines.join('\n\n'),
    html: `<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body style="font-family: Segoe UI, Arial, sans-serif">${lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('')}</body></html>`,
  };
}
