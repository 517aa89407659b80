import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { EmailLink, emailLinkSchema } from '../../domain/email/links';

/**
 * Signs and verifies email links with HMAC-SHA256 (node:crypto), not a JWT: only Signpost makes
 * and reads these, so a symmetric MAC is all that is needed, there is no algorithm header to be
 * talked out of, and the link stays short. The token is `<base64url JSON>.<base64url MAC>`;
 * the MAC is compared in constant time, then the JSON is checked against the link schema.
 * The link's claims are readable by whoever has the link (the recipient's own address and the
 * referral's id): nothing in it identifies the person referred.
 */
const CONTEXT = 'signpost-email-link.v1.';
/** Far above a real link; anything longer is refused before any work. */
export const MAX_LINK_TOKEN_CHARS = 2_048;

export class LinkSigner {
  constructor(private readonly secret: Buffer) {
    if (secret.length < 32) throw new Error('The link secret must be at least 32 bytes.');
  }

  sign(link: EmailLink): string {
    return this.signAs(CONTEXT, emailLinkSchema.parse(link));
  }

  /** The link's claims, or undefined for anything Signpost did not sign (forged, altered, truncated). */
  verify(token: string): EmailLink | undefined {
    return this.verifyAs(CONTEXT, token, emailLinkSchema);
  }

  /**
   * Signs other claims under their own context (e.g. directory links), so a token made for one
   * purpose never verifies for another.
   */
  signAs(context: string, claims: unknown): string {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${payload}.${this.mac(payload, context).toString('base64url')}`;
  }

  verifyAs<T>(context: string, token: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>): T | undefined {
    if (typeof token !== 'string' || token.length > MAX_LINK_TOKEN_CHARS) return undefined;
    const match = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return undefined;
    const given = Buffer.from(match[2], 'base64url');
    const expected = this.mac(match[1], context);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const parsed = schema.safeParse(JSON.parse(Buffer.from(match[1], 'base64url').toString('utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** A keyed digest of a confirmation code for one link, so storage never holds the code itself. */
  codeDigest(linkId: string, code: string): string {
    return createHmac('sha256', this.secret).update(`signpost-confirmation-code.v1.${linkId}.${code}`).digest('base64url');
  }

  /** Whether a code matches a stored digest, in constant time. */
  codeMatches(linkId: string, code: string, digest: string): boolean {
    const given = Buffer.from(this.codeDigest(linkId, code));
    const expected = Buffer.from(digest);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(payload: string, context: string): Buffer {
    return createHmac('sha256', this.secret).update(context + payload).digest();
  }
}

/** A new link id: 128 random bits. */
export function newLinkId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * The secret links are signed with: SIGNPOST_LINK_SECRET, or (the embedded default) one made
 * once and kept in the data folder, so links already sent keep working after a restart.
 * Production requires the setting (config.ts): every instance must share one secret.
 */
export function linkSecret(configured: string, dataDir: string): Buffer {
  if (configured) return Buffer.from(configured, 'utf8');
  const file = path.join(dataDir, 'email-link-secret');
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  try {
    // 'wx': two processes starting at once cannot both write; the loser reads the winner's.
    writeFileSync(file, randomBytes(48).toString('base64'), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
}
