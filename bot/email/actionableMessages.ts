import type { Request, Response } from 'restify';
import { EntraTokenVerifier, TokenRefusedError, VerifiedEntraToken } from '../auth/entraToken';
import type { EmailIntakeRepository } from '../../storage/emailIntakeRepository';
import type { RateLimiter } from './rateLimit';

/**
 * What every Outlook Actionable Message action (an Action.Http POST, referral or directory) goes
 * through before its body is read, and how it is answered. The Entra token says who pressed the
 * button (EntraTokenVerifier checks signature, issuer, tenant, audience, client and expiry); the
 * caller then checks that person is the one the email was sent to, and spends the token only
 * once the request is otherwise good, so a replay changes nothing.
 */

/** A form or an Action.Http body is a few hundred bytes; anything much larger is not ours. */
export const MAX_BODY_BYTES = 16 * 1024;

/** Outlook shows CARD-ACTION-STATUS to the person; with a card in the body it replaces the email's card. */
export function answerActionable(res: Response, status: number, message: string, card?: Record<string, unknown>): void {
  res.writeHead(status, { 'CARD-ACTION-STATUS': message, ...(card ? { 'CARD-UPDATE-IN-BODY': 'true', 'Content-Type': 'application/json' } : {}), 'Cache-Control': 'no-store' });
  res.end(card ? JSON.stringify(card) : '');
}

export interface ActionableGateDependencies {
  /** Undefined when no Actionable Messages audience is configured: actions are then refused with 503. */
  verifier?: EntraTokenVerifier;
  intake: Pick<EmailIntakeRepository, 'firstUseOfToken'>;
  /** Per client address. */
  perAddress: RateLimiter;
  /** Logs a refusal, by reason only. */
  refuse: (reason: string, status: number) => void;
}

export class ActionableMessageGate {
  constructor(private readonly deps: ActionableGateDependencies) {}

  /** Answers the refusal itself and returns undefined, or returns who the token says is acting. */
  async admit(req: Request, res: Response): Promise<VerifiedEntraToken | undefined> {
    if (!this.deps.perAddress.take(`ip:${req.socket.remoteAddress}`)) return this.refused(res, 'rate-limited', 429, 'Too many requests; please wait a minute.');
    if (!this.deps.verifier) return this.refused(res, 'actionable-messages-off', 503, 'Signpost is not set up for Actionable Messages; use the links in the email.');
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return this.refused(res, 'oversized', 400, 'The request was too large.');
    try {
      const token = await this.deps.verifier.verify(req.header('authorization'));
      if (!token.tokenId) throw new TokenRefusedError('malformed', 'The sign-in token has no id.');
      return token;
    } catch (error) {
      if (!(error instanceof TokenRefusedError)) throw error;
      return this.refused(res, `token-${error.code}`, error.httpStatus, error.message);
    }
  }

  /** Spends the token: the first time true; a replay is answered 401 here and returns false. */
  async spend(token: VerifiedEntraToken, res: Response): Promise<boolean> {
    if (await this.deps.intake.firstUseOfToken(token.tokenId!, token.expiresAt)) return true;
    this.refused(res, 'token-replayed', 401, 'This sign-in token was already used.');
    return false;
  }

  /** Logs and answers a refusal without a card. */
  refused(res: Response, reason: string, status: number, message: string): undefined {
    this.deps.refuse(reason, status);
    answerActionable(res, status, message);
    return undefined;
  }
}
