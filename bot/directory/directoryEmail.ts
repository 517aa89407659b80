import { z } from 'zod';
import type { Request, Response, Server } from 'restify';
import { escapeHtml, RenderedEmail } from '../../cards/email';
import type { StaffMessage } from '../../domain/supervision/messages';
import { ENTRY_KINDS, FormField, requestEntry, requestMessageFor, requestValueLines, verificationForm } from '../../domain/directory/verification';
import type { DirectoryRepository } from '../../storage/directoryRepository';
import type { Logger } from '../app/log';
import type { LinkSigner } from '../email/linkSigner';
import { page, PAGE_HEADERS } from '../email/pages';
import { upkeepRequestFrom, type DirectoryUpkeep } from './directoryUpkeep';

/**
 * The email form of a request to confirm a directory entry: a signed link, made for one
 * maintainer's address, one entry (a service or an activity) and the version the email showed,
 * to a page that shows the entry with "Still correct" and its "Change" form. The page posts back to the same link, and the
 * answer goes through DirectoryUpkeep like a Teams click (route `email`): the address must
 * still maintain the entry, and a link for an older version changes nothing. The links are
 * signed with Signpost's link secret under their own context, so a referral link can never
 * pass for one of these, nor the other way round.
 */

export const VERIFY_PATH = '/directory/verify';
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

const answerSchema = z.object({ answer: z.enum(['confirm', 'change']) });

export interface DirectoryEmailDependencies {
  signer: LinkSigner;
  upkeep: DirectoryUpkeep;
  directory: DirectoryRepository;
  publicUrl: () => string | undefined;
  expiryDays: number;
  logger: Logger;
  now: () => Date;
}

export class DirectoryEmail {
  constructor(private readonly deps: DirectoryEmailDependencies) {}

  /** The request as an email: what the entry says now, and the link to answer it. */
  requestEmail(to: string, message: StaffMessage): RenderedEmail {
    const verification = message.verification!;
    const about = requestEntry(verification);
    const expiresAt = Math.floor(this.deps.now().getTime() / 1000) + this.deps.expiryDays * 24 * 60 * 60;
    const link = `${this.deps.publicUrl() ?? ''}${VERIFY_PATH}/${this.sign({ to: to.toLowerCase(), entry: about.kind, serviceId: about.id, version: verification.version, expiresAt })}`;
    const rows = requestValueLines(verification);
    const text = [message.title, '', ...message.lines, '', ...rows.map((row) => `${row.label}: ${row.value}`), '', `Still correct, or change it: ${link}`].join('\n');
    const html = `<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body style="font-family: Segoe UI, Arial, sans-serif">
<h2>${escapeHtml(message.title)}</h2>
${message.lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n')}
<table>${rows.map((row) => `<tr><th align="left">${escapeHtml(row.label)}</th><td>${escapeHtml(row.value)}</td></tr>`).join('')}</table>
<p><a href="${escapeHtml(link)}">Still correct, or change it</a></p>
</body></html>`;
    return { subject: `Signpost: ${message.title}`, text, html };
  }

  register(server: Server): void {
    const send = (res: Response, status: number, html: string) => {
      res.writeHead(status, PAGE_HEADERS);
      res.end(html);
    };
    const claimsOf = (req: Request, res: Response): Claims | undefined => {
      const claims = this.verify(String(req.params?.token ?? ''));
      if (!claims) {
        this.deps.logger.warn('directory-link-refused', { reason: 'bad-signature' });
        send(res, 403, message('This link is not valid', 'It was not made by Signpost, or it was changed. Nothing was changed.'));
        return undefined;
      }
      if (claims.expiresAt * 1000 < this.deps.now().getTime()) {
        send(res, 410, message('This link has expired', 'Links in Signpost emails work for a limited time. Nothing was changed.'));
        return undefined;
      }
      return claims;
    };

    server.get(`${VERIFY_PATH}/:token`, async (req: Request, res: Response) => {
      const claims = claimsOf(req, res);
      if (!claims) return;
      const stored = await this.deps.upkeep.current({ kind: claims.entry, id: claims.serviceId });
      if (!stored) return send(res, 404, message(`This ${claims.entry} is not in the directory`, 'Nothing was changed.'));
      const stale = stored.version !== claims.version ? 'The entry has changed since this email was sent: this is how it stands now, and answering here changes nothing.' : undefined;
      send(res, 200, requestPage(requestMessageFor(stored.entry, claims.version, 1, this.deps.now().toISOString()), stale));
    });

    server.post(`${VERIFY_PATH}/:token`, async (req: Request, res: Response) => {
      const claims = claimsOf(req, res);
      if (!claims) return;
      const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
      const answer = answerSchema.safeParse(body);
      if (!answer.success) return send(res, 400, message('Nothing was changed', 'Choose "Still correct" or "Save changes".'));
      const request = upkeepRequestFrom(claims.entry, answer.data.answer, body);
      if ('problems' in request) return send(res, 400, message('Nothing was changed', request.problems.join('; ')));
      const outcome = await this.deps.upkeep.act({ name: claims.to, email: claims.to }, { kind: claims.entry, id: claims.serviceId }, claims.version, request.request, 'email');
      const status = { changed: 200, refused: 403, stale: 409, invalid: 400, 'not-found': 404 }[outcome.kind];
      send(res, status, message(outcome.kind === 'changed' ? 'Thank you' : 'Nothing was changed', outcome.notice));
    });
  }

  private sign(claims: Claims): string {
    return this.deps.signer.signAs(CONTEXT, claimsSchema.parse(claims));
  }

  private verify(token: string): Claims | undefined {
    return this.deps.signer.verifyAs(CONTEXT, token, claimsSchema);
  }
}

function message(heading: string, explanation: string): string {
  return page(heading, `<h1>${escapeHtml(heading)}</h1>\n<p>${escapeHtml(explanation)}</p>`);
}

function requestPage(request: StaffMessage, stale: string | undefined): string {
  const rows = requestValueLines(request.verification!);
  return page(
    request.title,
    `<h1>${escapeHtml(request.title)}</h1>
${stale ? `<p><strong>${escapeHtml(stale)}</strong></p>` : ''}
${request.lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n')}
<dl>${rows.map((row) => `<dt>${escapeHtml(row.label)}</dt><dd>${escapeHtml(row.value)}</dd>`).join('')}</dl>
<form method="post"><input type="hidden" name="answer" value="confirm"><button type="submit">Still correct</button></form>
<h2>Change</h2>
<form method="post"><input type="hidden" name="answer" value="change">
${verificationForm(request.verification!).map(pageInput).join('\n')}
<button type="submit">Save changes</button></form>`,
  );
}

function pageInput(field: FormField): string {
  const label = escapeHtml(field.label);
  const value = escapeHtml(field.value);
  const limit = field.maxLength ? ` maxlength="${field.maxLength}"` : '';
  switch (field.input) {
    case 'choice': {
      const options = (field.choices ?? []).map((choice) => `<option value="${escapeHtml(choice.value)}"${choice.value === field.value ? ' selected' : ''}>${escapeHtml(choice.title)}</option>`);
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
