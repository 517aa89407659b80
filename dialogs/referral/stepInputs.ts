import { z } from 'zod';
import type { FieldErrors, StepParseResult } from '../cardStepPrompt';
import { nhsNumberProblem, normaliseNhsNumber } from '../../domain/referral/nhsNumber';
import { normalisePostcode } from '../../domain/referral/postcode';
import { BOROUGHS, HOSPITALS, MENTAL_HEALTH_LEVELS, REFERRAL_ROUTES } from '../../domain/directory/schema';
import { plainText } from '../../domain/text';

/**
 * Server-side validation of each referral card's submission. Card input is untrusted: Teams
 * sends strings ("yes", "3", "2024-01-31"), a forged submission can send anything, so each
 * step coerces and checks every field and reports all problems at once. A value of the wrong
 * type (an object, an array, a number) gets the field's own message, never zod's generic one.
 */

const yesNo = z.enum(['yes', 'no'], { errorMap: () => ({ message: 'Choose yes or no' }) });
const toggle = z
  .union([z.enum(['yes', 'no', 'true', 'false']), z.boolean()], { errorMap: () => ({ message: 'Choose yes or no' }) })
  .optional()
  .transform((value) => value === 'yes' || value === 'true' || value === true);
const optionalText = (max: number, notText = 'Enter text') =>
  plainText({ max, min: 0, tooLong: `Keep this under ${max} characters`, notText })
    .optional()
    .transform((value) => (value ? value : undefined));
const requiredText = (max: number, message: string) =>
  plainText({ max, required: message, notText: message, tooLong: `Keep this under ${max} characters` });

const borough = z.enum(BOROUGHS, { errorMap: () => ({ message: 'Choose a borough' }) });

export const referrerInput = z.object({
  name: requiredText(100, 'Enter your name'),
  email: z
    .string({ required_error: 'Enter your work email', invalid_type_error: 'Enter your work email' })
    .trim()
    .email('Enter a valid email address')
    .max(254),
  practice: requiredText(120, 'Enter your practice or team'),
  role: optionalText(80),
});
export type ReferrerInput = z.infer<typeof referrerInput>;

export const consentInput = z.object({
  consentToReferral: yesNo,
  consentToShare: yesNo,
  method: z.enum(['verbal', 'written'], { errorMap: () => ({ message: 'Choose how consent was given' }) }),
});
export type ConsentInput = z.infer<typeof consentInput>;

export const safetyInput = z.object({ immediateRisk: yesNo });
export type SafetyInput = z.infer<typeof safetyInput>;

const isoDate = z
  .string({ required_error: 'Enter the date of birth', invalid_type_error: 'Enter the date of birth' })
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'Enter the date as day, month and year')
  .refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value), 'That date does not exist');

export function personInput(now: Date) {
  return z
    .object({
      givenName: requiredText(60, 'Enter their first name'),
      familyName: requiredText(60, 'Enter their last name'),
      dateOfBirth: isoDate.refine((value) => new Date(`${value}T00:00:00Z`) <= now, 'The date of birth is in the future').refine(
        (value) => now.getUTCFullYear() - Number(value.slice(0, 4)) <= 120,
        'Check the year of birth',
      ),
      nhsNumber: optionalText(20, 'Enter the NHS number as ten digits')
        .superRefine((value, ctx) => {
          const problem = value === undefined ? null : nhsNumberProblem(value);
          if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
        })
        .transform((value) => (value === undefined ? undefined : normaliseNhsNumber(value) ?? undefined)),
      postcode: requiredText(10, 'Enter their postcode').transform((value, ctx) => {
        const postcode = normalisePostcode(value);
        if (!postcode) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'Enter a full UK postcode, like SE5 8AU' });
          return z.NEVER;
        }
        return postcode;
      }),
      borough,
      phone: requiredText(20, 'Enter a phone number').refine(
        (value) => /^\+?[0-9 ()-]{10,20}$/.test(value) && value.replace(/\D/g, '').length >= 10,
        'Enter a UK phone number, like 020 7946 0000 or 07700 900000',
      ),
      preferredContactMethod: z.enum(['phone', 'text', 'email', 'letter'], {
        errorMap: () => ({ message: 'Choose how they prefer to be contacted' }),
      }),
      email: optionalText(254, 'Enter a valid email address').refine((value) => value === undefined || z.string().email().safeParse(value).success, 'Enter a valid email address'),
      preferredContactTimes: optionalText(100),
      language: requiredText(40, 'Enter their preferred language'),
      interpreterNeeded: toggle,
      carerInvolved: toggle,
      carerDetails: optionalText(200),
    })
    .superRefine((person, ctx) => {
      for (const [field, message] of Object.entries(personCrossFieldErrors(person))) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [field], message });
      }
    });
}

/**
 * Checks between fields. zod runs an object's refinements only when every field is valid, so
 * the step also runs these on the raw input: the referrer sees every problem at once.
 */
export function personCrossFieldErrors(raw: Record<string, unknown>): FieldErrors {
  const errors: FieldErrors = {};
  const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');
  if (raw.preferredContactMethod === 'email' && !text(raw.email)) {
    errors.email = 'Enter their email, as they prefer email';
  }
  if (raw.preferredContactMethod === 'text' && !/^(\+447|07)/.test(text(raw.phone).replace(/[ ()-]/g, ''))) {
    errors.phone = 'Text messages need a mobile number';
  }
  return errors;
}

/** Validates the person card: field rules and cross-field rules, all reported together. */
export function parsePerson(raw: Record<string, unknown>, now: Date): StepParseResult<PersonInput> {
  const result = parseStep(personInput(now), raw);
  if (result.ok) return result;
  return { ok: false, errors: { ...personCrossFieldErrors(raw), ...result.errors } };
}
export type PersonInput = z.infer<ReturnType<typeof personInput>>;

const LONG_TERM_CONDITIONS = 'Enter a whole number from 0 to 30';

export const needsInput = z.object({
  // Input.Number submits its value as a string, like every other input.
  longTermConditions: z
    .string({ invalid_type_error: LONG_TERM_CONDITIONS })
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return undefined;
      const count = Number(value);
      if (!Number.isInteger(count) || count < 0 || count > 30) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: LONG_TERM_CONDITIONS });
        return z.NEVER;
      }
      return count;
    }),
  mentalHealth: z
    .enum(['', ...MENTAL_HEALTH_LEVELS], { errorMap: () => ({ message: 'Choose one of the options' }) })
    .optional()
    .transform((value) => (value ? value : undefined)),
  mentalHealthDiagnosis: toggle,
  usingTalkingTherapies: toggle,
  dementiaDiagnosis: toggle,
  sociallyIsolated: toggle,
  malnutritionRisk: toggle,
  carer: toggle,
  dischargeFrom: z
    .enum(['', 'none', ...HOSPITALS], { errorMap: () => ({ message: 'Choose one of the options' }) })
    .optional()
    .transform((value) => (value && value !== 'none' ? value : null)),
  gpBorough: z
    .union([borough, z.literal('')], { errorMap: () => ({ message: 'Choose a borough' }) })
    .optional()
    .transform((value) => (value ? value : undefined)),
  referralRoute: z.enum(REFERRAL_ROUTES, {
    errorMap: () => ({ message: 'Choose who is referring' }),
  }),
  whatMatters: requiredText(1000, 'Tell the service what matters to the person'),
});
export type NeedsInput = z.infer<typeof needsInput>;

export function serviceChoiceInput(allowedServiceIds: string[]) {
  return z.object({
    serviceId: z
      .string({ required_error: 'Choose a service', invalid_type_error: 'Choose a service' })
      .refine((id) => allowedServiceIds.includes(id), 'Choose one of the services listed'),
  });
}

/** Runs a schema and turns zod's issues into one message per field (the first for each). */
export function parseStep<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, input: unknown): StepParseResult<T> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  const errors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const field = String(issue.path[0] ?? 'form');
    errors[field] ??= issue.message;
  }
  return { ok: false, errors };
}
