import { randomInt } from 'node:crypto';
import type { EmailIntakeRepository } from '../../storage/emailIntakeRepository';
import type { Mailer } from '../notifications/mailer';
import type { LinkSigner } from './linkSigner';
import { confirmationCodeEmail } from './pages';
import { RateLimiter } from './rateLimit';

/**
 * The step between asking for an action on a link page and Signpost taking it. Holding a link
 * is not proof of being its recipient (emails get forwarded), so the action asked for is kept,
 * a one-time 6-digit code is mailed to the address the link was made for, and only that code
 * releases exactly the action that was kept. Codes last CODE_MINUTES and allow
 * MAX_CODE_ATTEMPTS guesses; storage keeps a keyed digest, never the code. Referral links and
 * directory links both use it, each keyed by its own link.
 */

export const CODE_MINUTES = 15;
const MAX_CODE_ATTEMPTS = 5;

export type CodeRefusal = 'code-expired' | 'code-wrong' | 'code-spent';

/** What a refused code means to the person, for the page that says so. */
export const CODE_REFUSALS: Record<CodeRefusal, { heading: string; explanation: string }> = {
  'code-expired': { heading: 'That code has expired', explanation: 'Open the link from the email again and ask for a new code. Nothing was changed.' },
  'code-wrong': { heading: 'That code is not right', explanation: 'Check the code in the email Signpost has just sent and try again. Nothing was changed.' },
  'code-spent': { heading: 'That code has already been used', explanation: 'Nothing more was changed.' },
};

export interface CodeRequest {
  /** The link's own id: one pending action per link. */
  key: string;
  /** The address the link was made for, which the code goes to. */
  to: string;
  /** The action as parsed when it was asked for. */
  action: Record<string, unknown>;
  /** The button the person pressed ("Save changes"), and what it is about ("referral SP-2026-000801"). */
  button: string;
  about: string;
}

export class ConfirmationCodes {
  // Each code is an email to the recipient: a few per link, then one every five minutes.
  private readonly codesPerLink = new RateLimiter(3, 0.2);

  constructor(private readonly deps: { signer: LinkSigner; intake: EmailIntakeRepository; mailer: Mailer; now: () => Date }) {}

  /** Keeps the action and mails a new code for it; false when this link has asked for too many codes. */
  async ask(request: CodeRequest): Promise<boolean> {
    if (!this.codesPerLink.take(request.key)) return false;
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const expiresAt = new Date(this.deps.now().getTime() + CODE_MINUTES * 60_000);
    await this.deps.intake.savePending(request.key, { digest: this.deps.signer.codeDigest(request.key, code), action: request.action, expiresAt: expiresAt.toISOString(), attempts: 0 });
    await this.deps.mailer.send({ to: request.to, ...confirmationCodeEmail(code, request.button, request.about, CODE_MINUTES), messageId: `code-${request.key}-${expiresAt.getTime()}` });
    return true;
  }

  /**
   * The action kept for this link when `given` is its code, spent so it acts once; otherwise why
   * not, with the action that was kept when its code has run out (so a page can offer it again).
   */
  async redeem(key: string, given: unknown): Promise<{ ok: true; action: Record<string, unknown> } | { ok: false; reason: CodeRefusal; expired?: Record<string, unknown> }> {
    const code = typeof given === 'string' ? given.replace(/\s+/g, '') : '';
    const found = await this.deps.intake.pending(key);
    if (!found) return { ok: false, reason: 'code-expired' };
    if (Date.parse(found.pending.expiresAt) <= this.deps.now().getTime() || found.pending.attempts >= MAX_CODE_ATTEMPTS) return { ok: false, reason: 'code-expired', expired: found.pending.action };
    if (!/^\d{6}$/.test(code) || !this.deps.signer.codeMatches(key, code, found.pending.digest)) {
      await this.deps.intake.countAttempt(key, found.pending, found.etag);
      return { ok: false, reason: 'code-wrong' };
    }
    // Spent before acting: two confirmations at once act once.
    if (!(await this.deps.intake.spend(key, found.etag))) return { ok: false, reason: 'code-spent' };
    return { ok: true, action: found.pending.action };
  }
}
