import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { EMAIL_VERBS, EmailLink, EmailVerb } from '../../domain/email/links';
import { CLOSE_REASONS, DECLINE_REASONS, PROGRESS_STATUSES } from '../../domain/referral/lifecycle';
import { plainText } from '../../domain/text';
import type { RequestedAction } from '../referrals/referralActions';

/**
 * What an email action sends (a link page's form, an Actionable Message's Action.Http body),
 * parsed into the application layer's typed action. One schema per verb; anything else, or a
 * value of the wrong type, is refused with the reason, never coerced.
 */
const optionalText = (max: number) => plainText({ max, min: 0 }).optional().transform((value) => value || undefined);
const choice = <T extends readonly [string, ...string[]]>(values: T, message: string) => z.enum(values, { errorMap: () => ({ message }) });

/** A referrer's question: what every surface accepts (a Teams card's too). */
export const questionText = plainText({ max: 1000, required: 'Write your question', notText: 'Write your question as text', tooLong: 'Keep the question under 1,000 characters' });

const INPUTS = {
  accept: z.object({}).transform((): RequestedAction => ({ verb: 'accept' })),
  decline: z
    .object({ reason: choice(DECLINE_REASONS, 'Choose why you are declining'), note: optionalText(500) })
    .transform((data): RequestedAction => ({ verb: 'decline', reason: data.reason, note: data.note })),
  update: z
    .object({ status: choice(PROGRESS_STATUSES, 'Choose what has happened'), activity: optionalText(200) })
    .transform((data): RequestedAction => ({ verb: 'update', status: data.status, activity: data.activity })),
  close: z
    .object({ reason: choice(CLOSE_REASONS, 'Choose why it is closing'), note: optionalText(500) })
    .transform((data): RequestedAction => ({ verb: 'close', reason: data.reason, note: data.note })),
  'view-contact': z.object({}).transform((): RequestedAction => ({ verb: 'view-contact' })),
  'escalation-acknowledge': z.object({}).transform(() => ({ verb: 'escalation-acknowledge' as const })),
  'escalation-take-over': z.object({}).transform(() => ({ verb: 'escalation-take-over' as const })),
  'escalation-advice': z
    .object({ note: plainText({ max: 1000, required: 'Say what advice you gave', notText: 'Say what advice you gave', tooLong: 'Keep the advice under 1,000 characters' }) })
    .transform((data) => ({ verb: 'escalation-advice' as const, note: data.note })),
  'ask-question': z
    .object({ question: questionText })
    .transform((data): RequestedAction => ({ verb: 'ask-question', questionId: randomUUID(), question: data.question })),
  'read-question': z.object({}).transform(() => ({ verb: 'read-question' as const, questionId: '' })),
} satisfies Record<EmailVerb, z.ZodTypeAny>;

export const emailVerbSchema = z.enum(EMAIL_VERBS, { errorMap: () => ({ message: 'Unknown action' }) });

/** The Action.Http body: the link it came from, the verb and the verb's inputs. */
export const actionableBodySchema = z
  .object({
    link: z.string().min(1).max(2_048),
    verb: z.string().max(40),
    reason: z.string().max(100).optional(),
    status: z.string().max(100).optional(),
    note: z.string().max(2_000).optional(),
    activity: z.string().max(500).optional(),
    question: z.string().max(2_000).optional(),
  })
  .strict();

/** What an email asks for: an action, or reading the referrer's question its link was sent with. */
export type EmailRequest = RequestedAction | { verb: 'read-question'; questionId: string };
export type ParsedInputs = { ok: true; requested: EmailRequest } | { ok: false; reason: string };

/** The typed action for a verb and its inputs; an escalation's answer names the link's escalation. */
export function requestedAction(verb: EmailVerb, inputs: Record<string, unknown>, link: Pick<EmailLink, 'escalationId' | 'questionId'>): ParsedInputs {
  // Outlook sends an unanswered optional input as "", a page form leaves it out: the same.
  const present = Object.fromEntries(Object.entries(inputs).filter(([key, value]) => key !== 'verb' && key !== 'link' && key !== 'action' && value !== ''));
  const parsed = INPUTS[verb].safeParse(present);
  if (!parsed.success) return { ok: false, reason: parsed.error.issues[0]?.message ?? 'Invalid input' };
  const action = parsed.data as EmailRequest | { verb: 'escalation-acknowledge' | 'escalation-take-over' } | { verb: 'escalation-advice'; note: string };
  if (action.verb === 'read-question') {
    if (!link.questionId) return { ok: false, reason: 'This link is not for a question' };
    return { ok: true, requested: { verb: 'read-question', questionId: link.questionId } };
  }
  if (action.verb.startsWith('escalation-')) {
    if (!link.escalationId) return { ok: false, reason: 'This link is not for an escalation' };
    return { ok: true, requested: { ...action, escalationId: link.escalationId } as RequestedAction };
  }
  return { ok: true, requested: action as RequestedAction };
}
