import { z } from 'zod';
import type { Request, Response, Server } from 'restify';
import { escapeHtml, factsTableHtml, RenderedEmail } from '../../cards/email';
import { actionHttp, embeddedCard } from '../../cards/emailActions';
import { verificationRequestCard } from '../../cards/verificationCard';
import type { StaffMessage, VerificationRequest } from '../../domain/supervision/messages';
import {
  editProblems,
  ENTRY_KINDS,
  EntryKind,
  EntryRef,
  entryName,
  FormField,
  requestEntry,
  requestMessageFor,
  requestValueLines,
  verificationForm,
} from '../../domain/directory/verification';
import type { EmailIntakeRepository } from '../../storage/emailIntakeRepository';
import type { EntraTokenVerifier } from '../auth/entraToken';
import type { Logger } from '../app/log';
import { ActionableMessageGate, answerActionable } from '../email/actionableMessages';
import { CODE_MINUTES, CODE_REFUSALS, ConfirmationCodes } from '../email/confirmationCodes';
import type { LinkSigner } from '../email/linkSigner';
import { codePage, facts, page, refusalPage, sendPage } from '../email/pages';
import { RateLimiter } from '../email/rateLimit';
import { upkeepRequestFrom, type DirectoryUpkeep, type Maintainer, type UpkeepOutcome, type UpkeepRequest } from './directoryUpkeep';

/**
 * The email form of a request to confirm a directory entry (a service's or an activity's), in
 * the two forms an inbox can use:
 *  - an Adaptive Card for Outlook Actionable Messages (the Teams card's content, with
 *    Action.Http buttons posting to DIRECTORY_ACTION_PATH with an Entra token that must name
 *    the address the email went to);
 *  - a signed link to a page with "Still correct" and a "Change" form, where an answer waits for
 *    a code mailed to that address (a forwarded email acts for nobody else).
 * The link is made for one maintainer's address, one entry and the version the email showed;
 * the Action.Http buttons carry the same link. Every answer goes through DirectoryUpkeep like a
 * Teams click (route `email`): the address must still maintain the entry, and a link for an
 * older version changes nothing. The links are signed with Signpost's link secret under their
 * own context, so a referral link can never pass for one of these, nor the other way round.
 */

export const VERIFY_PATH = '/directory/verify';
export const DIRECTORY_ACTION_PATH = '/api/email/directory';
const CONTEXT = 'signpost-directory-link.v1.';

const claimsSchema = z
  .object({
    to: z.string().email().max(254),
    /** Which kind of entry; links made before activities were asked about have none, and are about services. */
    entry: z.enum(ENTRY_KINDS).default('service'),
    /** The entry's id (named when every link was about a service). */
    serviceId: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/).max(80),
    version: z.number().int().min(1),
    /** Seconds since 1970. */
    expiresAt: z.number().int().min(0),
  })
  .strict();
type Claims = z.infer<typeof claimsSchema>;

const answerSchema = z.object({ answer: z.enum(['confirm', 'change'], { errorMap: () => ({ message: 'Choose "Still correct" or "Save changes"' }) }) });

/**
 * The Action.Http body: the link, the answer and the Change form's fields as text (Outlook sends
 * unanswered ones as ""). Which fields depends on the entry's kind, which only the verified link
 * tells, so here they are bounded in number, name and length; the kind's own edit schema then
 * reads them, naming each bad one.
 */
const actionableBodySchema = z
  .object({ link: z.string().min(1).max(2_048), answer: z.string().max(20) })
  .catchall(z.string().max(4_000))
  .refine((body) => Object.keys(body).length <= 16 && Object.keys(body).every((name) => /^[A-Za-z]{1,40}$/.test(name)), 'it has fields no form has');

export interface DirectoryEmailDependencies {
  signer: LinkSigner;
  upkeep: DirectoryUpkeep;
  /** Holds a page's answer until the code mailed to the link's address is entered. */
  codes: ConfirmationCodes;
  /** Where spent Entra token ids are kept (replays refused). */
  intake: Pick<EmailIntakeRepository, 'firstUseOfToken'>;
  /** The Actionable Messages originator id, for the card in the email. */
  originator: string;
  publicUrl: () => string | undefined;
  expiryDays: number;
  logger: Logger;
  now: () => Date;
}

/** An answer as parsed, before it is acted on: what the code step keeps. */
type Answer = { ok: true; request: UpkeepRequest } | { ok: false; problems: string[] };

/** What the code step keeps for a page's answer: the request, and for a Change the form as typed (to fill it in again if the code runs out). */
type PendingAnswer = { request: UpkeepRequest; typed?: Record<string, string> };

export class DirectoryEmail {
  constructor(private readonly deps: DirectoryEmailDependencies) {}

  /** The request as an email: the Actionable Message card, what the entry says now, and the link to answer it. */
  requestEmail(to: string, message: StaffMessage): RenderedEmail {
    const verification = message.verification!;
    const token = this.linkFor(to, requestEntry(verification), verification.version);
    const link = `${this.deps.publicUrl() ?? ''}${VERIFY_PATH}/${token}`;
    const rows = requestValueLines(verification);
    const text = [message.title, '', ...message.lines, '', ...rows.map((row) => `${row.label}: ${row.value}`), '', `Still correct, or change it: ${link}`].join('\n');
    const html = `<!DOCTYPE html>
<html><head><meta charset="utf-8">${embeddedCard(this.actionableCard({ ...message, verification }, token))}</head><body style="font-family: Segoe UI, Arial, sans-serif">
<h2>${escapeHtml(message.title)}</h2>
${message.lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n')}
${factsTableHtml(rows)}
<p><a href="${escapeHtml(link)}">Still correct, or change it</a> (the page asks for a code Signpost emails you, so a forwarded email cannot answer)</p>
</body></html>`;
    return { subject: `Signpost: ${message.title}`, text, html };
  }

  /** The card for Outlook: the Teams card's content, its buttons posting the signed link to Signpost. */
  private actionableCard(message: StaffMessage & { verification: VerificationRequest }, token: string, state: { notice?: string; answered?: boolean } = {}): Record<string, unknown> {
    const url = `${this.deps.publicUrl() ?? ''}${DIRECTORY_ACTION_PATH}`;
    return verificationRequestCard(message, state, {
      originator: this.deps.originator,
      answerAction: (answer, title, inputIds) => actionHttp(title, url, { link: token, answer }, inputIds),
    });
  }

  /** A link for this address, entry and version, valid for the configured days. */
  private linkFor(to: string, about: EntryRef, version: number): string {
    const expiresAt = Math.floor(this.deps.now().getTime() / 1000) + this.deps.expiryDays * 24 * 60 * 60;
    return this.sign({ to: to.toLowerCase(), entry: about.kind, serviceId: about.id, version, expiresAt });
  }

  register(server: Server, verifier?: EntraTokenVerifier): void {
    const refuse = (reason: string, status: number) => this.deps.logger.warn('directory-link-refused', { reason, status });
    const claimsOf = (req: Request, res: Response): Claims | undefined => {
      const claims = this.verify(String(req.params?.token ?? ''));
      if (!claims) {
        refuse('bad-signature', 403);
        sendPage(res, 403, refusalPage('This link is not valid', 'It was not made by Signpost, or it was changed. Nothing was changed.'));
        return undefined;
      }
      if (this.expired(claims)) {
        sendPage(res, 410, refusalPage('This link has expired', 'Links in Signpost emails work for a limited time. Nothing was changed.'));
        return undefined;
      }
      return claims;
    };
    const outcomePage = (res: Response, outcome: UpkeepOutcome) =>
      sendPage(res, UPKEEP_STATUS[outcome.kind], refusalPage(outcome.kind === 'changed' ? 'Thank you' : 'Nothing was changed', outcome.notice));

    server.get(`${VERIFY_PATH}/:token`, async (req: Request, res: Response) => {
      const claims = claimsOf(req, res);
      if (!claims) return;
      const stored = await this.deps.upkeep.current({ kind: claims.entry, id: claims.serviceId });
      if (!stored) return sendPage(res, 404, refusalPage(`This ${claims.entry} is not in the directory`, 'Nothing was changed.'));
      const stale = stored.version !== claims.version ? 'The entry has changed since this email was sent: this is how it stands now, and answering here changes nothing.' : undefined;
      sendPage(res, 200, requestPage(requestMessageFor(stored.entry, claims.version, 1, this.deps.now().toISOString()), { notice: stale }));
    });

    /**
     * A page's answer waits for a code mailed to the link's address (ConfirmationCodes, as for
     * referral links): the answer, with everything typed in the Change form, is kept until the
     * code is entered, and only then acted on. Who may answer, and whether the email is still
     * about the current version, is checked before a code is sent and again when it is used.
     */
    server.post(`${VERIFY_PATH}/:token`, async (req: Request, res: Response) => {
      const claims = claimsOf(req, res);
      if (!claims) return;
      const token = String(req.params.token);
      const key = pendingKey(token);
      const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
      const about = entryOf(claims);
      const person = maintainerAt(claims.to);
      const today = this.deps.now().toISOString().slice(0, 10);
      // The form as this version of the entry shows it, to fill in again; none when the entry is gone or has changed.
      const formNow = async () => {
        const stored = await this.deps.upkeep.current(about);
        return stored && stored.version === claims.version ? requestMessageFor(stored.entry, claims.version, 1, this.deps.now().toISOString()) : undefined;
      };
      if (body.code !== undefined) {
        const redeemed = await this.deps.codes.redeem(key, body.code);
        if (!redeemed.ok) {
          refuse(redeemed.reason, 403);
          const words = CODE_REFUSALS[redeemed.reason];
          // A wrong guess keeps the answer: the same page asks again.
          if (redeemed.reason === 'code-wrong') return sendPage(res, 403, codePage(buttonFor(undefined), token, CODE_MINUTES, words.heading));
          // A code run out: the Change form again, as it was filled in, to ask for a new code.
          const kept = redeemed.expired as PendingAnswer | undefined;
          const request = kept?.typed ? await formNow() : undefined;
          if (request) return sendPage(res, 403, requestPage(request, { notice: 'That code has run out, so nothing was changed. Your changes are below: save them again for a new code.', typed: kept!.typed }));
          return sendPage(res, 403, refusalPage(words.heading, words.explanation));
        }
        return outcomePage(res, await this.deps.upkeep.act(person, about, claims.version, (redeemed.action as PendingAnswer).request, 'email'));
      }
      const answer = parseAnswer(claims.entry, body, today);
      if (!answer.ok) {
        refuse('invalid-input', 400);
        // The form again, as they filled it in, with every problem named.
        const request = await formNow();
        if (!request) return sendPage(res, 400, refusalPage('Nothing was changed', answer.problems.join('; ')));
        return sendPage(res, 400, requestPage(request, { problems: answer.problems, typed: typedFields(request.verification!, body) }));
      }
      const refusal = await this.deps.upkeep.mayAnswer(person, about, claims.version, 'email');
      if (refusal) return outcomePage(res, refusal);
      const stored = await this.deps.upkeep.current(about);
      if (!stored) return outcomePage(res, { kind: 'not-found', notice: `That ${about.kind} is no longer in the directory. Nothing changed.` });
      const button = buttonFor(answer.request);
      const pending: PendingAnswer = {
        request: answer.request,
        ...(answer.request.verb === 'confirm' ? {} : { typed: typedFields(requestMessageFor(stored.entry, claims.version, 1, '').verification!, body) }),
      };
      const asked = await this.deps.codes.ask({ key, to: claims.to, action: pending, button, about: `the entry for ${entryName(stored.entry)}` });
      if (!asked) {
        refuse('codes-rate-limited', 429);
        return sendPage(res, 429, refusalPage('Too many codes asked for', 'Use the code Signpost has already emailed, or wait a few minutes. Nothing was changed.'));
      }
      sendPage(res, 200, codePage(button, token, CODE_MINUTES));
    });

    const gate = new ActionableMessageGate({ verifier, intake: this.deps.intake, perAddress: new RateLimiter(120, 60), refuse });
    server.post(DIRECTORY_ACTION_PATH, async (req: Request, res: Response) => {
      const token = await gate.admit(req, res);
      if (!token) return;
      const body = actionableBodySchema.safeParse(req.body);
      if (!body.success) return gate.refused(res, 'invalid-body', 400, `The request was not understood: ${body.error.issues[0]?.message ?? 'invalid'}.`);
      const claims = this.verify(body.data.link);
      if (!claims) return gate.refused(res, 'forged-link', 400, 'This action does not come from a Signpost email.');
      if (this.expired(claims)) return gate.refused(res, 'link-expired', 410, 'This email is too old to answer from; Signpost will ask again.');
      if (claims.to !== token.signInName) return gate.refused(res, 'other-recipient', 403, 'This email was sent to someone else, so it cannot answer for you.');
      const answer = parseAnswer(claims.entry, body.data, this.deps.now().toISOString().slice(0, 10));
      if (!answer.ok) return gate.refused(res, 'invalid-input', 400, `Nothing was changed: ${answer.problems.join('; ')}.`);
      // Only now is the token spent: a replay of it changes nothing, even two copies at once.
      if (!(await gate.spend(token, res))) return;
      const person = { ...maintainerAt(claims.to), name: token.name?.trim() || claims.to };
      const outcome = await this.deps.upkeep.act(person, entryOf(claims), claims.version, answer.request, 'email');
      const status = UPKEEP_STATUS[outcome.kind];
      if (outcome.kind !== 'changed') refuse(`upkeep-${outcome.kind}`, status);
      // Refused, gone or invalid: no card, so Outlook keeps the one shown (and what was typed in it).
      if ((outcome.kind !== 'changed' && outcome.kind !== 'stale') || !outcome.entry || !outcome.version) return answerActionable(res, status, outcome.notice);
      // Answered: the card shows the entry as it is now. Stale: the entry now, with buttons for that version.
      const now = requestMessageFor(outcome.entry, outcome.version, 1, this.deps.now().toISOString());
      const card = this.actionableCard({ ...now, verification: now.verification! }, this.linkFor(claims.to, entryOf(claims), outcome.version), {
        notice: outcome.notice,
        answered: outcome.kind === 'changed',
      });
      answerActionable(res, status, outcome.notice, card);
    });
  }

  private expired(claims: Claims): boolean {
    return claims.expiresAt * 1000 < this.deps.now().getTime();
  }

  private sign(claims: Claims): string {
    return this.deps.signer.signAs(CONTEXT, claimsSchema.parse(claims));
  }

  private verify(token: string): Claims | undefined {
    return this.deps.signer.verifyAs(CONTEXT, token, claimsSchema);
  }
}

const UPKEEP_STATUS: Record<UpkeepOutcome['kind'], number> = { changed: 200, refused: 403, stale: 409, invalid: 400, 'not-found': 404 };

/** The link's pending answer is kept under its MAC: unique to the link, and no address in the key. */
function pendingKey(token: string): string {
  return `directory.${token.slice(-43)}`;
}

/** Which entry a link is about. */
function entryOf(claims: Claims): EntryRef {
  return { kind: claims.entry, id: claims.serviceId };
}

function maintainerAt(address: string): Maintainer {
  return { name: address, email: address };
}

function buttonFor(request: UpkeepRequest | undefined): string {
  return request ? (request.verb === 'confirm' ? 'Still correct' : 'Save changes') : 'your answer';
}

/** "Still correct", or "Change" with its form, each bad field named; a paused service's date is checked here too, before any code is sent. */
function parseAnswer(kind: EntryKind, body: Record<string, unknown>, today: string): Answer {
  const answer = answerSchema.safeParse(body);
  if (!answer.success) return { ok: false, problems: answer.error.issues.map((issue) => issue.message) };
  const parsed = upkeepRequestFrom(kind, answer.data.answer, body);
  if ('problems' in parsed) return { ok: false, problems: parsed.problems };
  const problems = parsed.request.verb === 'change' ? editProblems(parsed.request.edit, today) : [];
  return problems.length ? { ok: false, problems } : { ok: true, request: parsed.request };
}

/** The Change form's fields as they were typed, to fill the form in again (each no longer than its input allows). */
function typedFields(request: VerificationRequest, body: Record<string, unknown>): Record<string, string> {
  const typed: Record<string, string> = {};
  for (const field of verificationForm(request)) {
    const value = body[field.name];
    if (typeof value === 'string') typed[field.name] = value.slice(0, field.maxLength ?? 40);
  }
  return typed;
}

/** The entry and the two answers; after a bad Change, the form as it was filled in, with the problems named. */
function requestPage(request: StaffMessage, shown: { notice?: string; problems?: string[]; typed?: Record<string, string> } = {}): string {
  const rows = requestValueLines(request.verification!);
  const problems = shown.problems?.length
    ? `<div class="notice" role="alert"><p><strong>Nothing was changed yet. Please correct:</strong></p><ul>${shown.problems.map((problem) => `<li>${escapeHtml(problem)}</li>`).join('')}</ul></div>`
    : '';
  return page(
    request.title,
    `<h1>${escapeHtml(request.title)}</h1>
${shown.notice ? `<p><strong>${escapeHtml(shown.notice)}</strong></p>` : ''}
${request.lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n')}
${facts(rows)}
<p>Either answer asks for a code Signpost emails to you, so that only you can answer.</p>
<form method="post"><input type="hidden" name="answer" value="confirm"><button type="submit">Still correct</button></form>
<h2>Change</h2>
${problems}
<form method="post"><input type="hidden" name="answer" value="change">
${verificationForm(request.verification!).map((field) => pageInput(field, shown.typed?.[field.name])).join('\n')}
<button type="submit">Save changes</button></form>`,
  );
}

/** A form field as an HTML input, showing `typed` when the form comes back as it was filled in. */
function pageInput(field: FormField, typed?: string): string {
  const label = escapeHtml(field.label);
  const shown = typed ?? field.value;
  const value = escapeHtml(shown);
  const limit = field.maxLength ? ` maxlength="${field.maxLength}"` : '';
  switch (field.input) {
    case 'choice': {
      const options = (field.choices ?? []).map((choice) => `<option value="${escapeHtml(choice.value)}"${choice.value === shown ? ' selected' : ''}>${escapeHtml(choice.title)}</option>`);
      return `<label>${label}<br><select name="${field.name}">${options.join('')}</select></label><br>`;
    }
    case 'multiline':
      return `<label>${label}<br><textarea name="${field.name}"${limit}>${value}</textarea></label><br>`;
    case 'number':
      return `<label>${label}<br><input type="number" name="${field.name}" min="${field.range?.min ?? ''}" max="${field.range?.max ?? ''}" value="${value}"></label><br>`;
    default:
      return `<label>${label}<br><input${field.input === 'date' ? ' type="date"' : ''} name="${field.name}"${limit} value="${value}"></label><br>`;
  }
}
