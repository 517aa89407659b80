import { z } from 'zod';
import type { GuardedVerb } from '../referral/lifecycle';

/**
 * What a signed email link binds, and when it may still be used: the rules, without the
 * signing (bot/email/linkSigner.ts) or the storage that remembers a link was used.
 *
 * A link is made for one recipient (the address the email went to), one referral, the actions
 * the email offered and the referral's version when it was sent. It expires, and it makes one
 * change at most: after that, or once the referral has moved on, it only shows where the
 * referral stands. An escalation link is bound to its escalation rather than to a version
 * (answering an alert does not depend on what else happened to the case meanwhile).
 */

/** Everything an email can ask Signpost to do. */
export const EMAIL_VERBS = [
  'accept',
  'decline',
  'update',
  'close',
  'view-contact',
  'escalation-acknowledge',
  'escalation-take-over',
  'escalation-advice',
  'ask-question',
  'read-question',
] as const;
export type EmailVerb = (typeof EMAIL_VERBS)[number];

/** The permission table's name for each email verb: the table stays the only authority. */
export const GUARD_FOR: Record<EmailVerb, GuardedVerb> = {
  accept: 'accept',
  decline: 'decline',
  update: 'update',
  close: 'close',
  'view-contact': 'view-contact',
  'escalation-acknowledge': 'escalation-answer',
  'escalation-take-over': 'escalation-answer',
  'escalation-advice': 'escalation-answer',
  'ask-question': 'ask-question',
  // What the referrer wrote may name the person: reading it needs the standing that contact details need.
  'read-question': 'view-contact',
};

/** A referral's actions by email: each recipient is offered those the permission table allows them (the referrer, a question). */
export const REFERRAL_EMAIL_VERBS: readonly EmailVerb[] = ['accept', 'decline', 'update', 'close', 'view-contact', 'ask-question'];
export const ESCALATION_EMAIL_VERBS: readonly EmailVerb[] = ['escalation-acknowledge', 'escalation-take-over', 'escalation-advice'];
/** A referrer's question, emailed to staff: the link opens it after the recipient confirms. */
export const QUESTION_EMAIL_VERBS: readonly EmailVerb[] = ['read-question'];

export function isEscalationVerb(verb: EmailVerb): boolean {
  return verb.startsWith('escalation-');
}

export const emailLinkSchema = z
  .object({
    /** Random, unique per link: what "used once" is recorded against. */
    id: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
    /** The recipient's address, lower case. */
    to: z.string().email().max(254),
    referralId: z.string().min(1).max(64),
    version: z.number().int().min(1),
    actions: z.array(z.enum(EMAIL_VERBS)).min(1).max(EMAIL_VERBS.length),
    escalationId: z.string().min(1).max(64).optional(),
    /** A referrer's question the link shows its recipient (their own copy of it). */
    questionId: z.string().min(1).max(64).optional(),
    /** Seconds since 1970, like a JWT's exp. */
    expiresAt: z.number().int().min(0),
  })
  .strict();
export type EmailLink = z.infer<typeof emailLinkSchema>;

/** Where a verified link stands; anything but 'usable' changes nothing. */
export type LinkStanding = 'usable' | 'expired' | 'used' | 'stale' | 'gone';

export function linkStanding(
  link: EmailLink,
  now: Date,
  referral: { version: number; escalations?: Array<{ id: string }> } | undefined,
  used: boolean,
): LinkStanding {
  if (now.getTime() >= link.expiresAt * 1000) return 'expired';
  if (used) return 'used';
  if (!referral) return 'gone';
  if (link.escalationId) return referral.escalations?.some((escalation) => escalation.id === link.escalationId) ? 'usable' : 'gone';
  // Reading a question changes nothing, so what happened to the case since does not matter.
  if (link.questionId) return 'usable';
  return referral.version === link.version ? 'usable' : 'stale';
}

/** What a link may still do for its recipient: what it offered, and what the table permits them now. */
export function offeredNow(link: Pick<EmailLink, 'actions'>, permitted: readonly GuardedVerb[]): EmailVerb[] {
  return link.actions.filter((verb) => permitted.includes(GUARD_FOR[verb]));
}

/** The expiry of a link made now, in the link's units. */
export function linkExpiry(now: Date, days: number): number {
  return Math.floor(now.getTime() / 1000) + days * 24 * 60 * 60;
}

