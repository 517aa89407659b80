import { z } from 'zod';
import { BOROUGHS, HOSPITALS, MENTAL_HEALTH_LEVELS, REFERRAL_ROUTES } from '../directory/schema';
import { ageOn, isIsoDate } from '../referral/referral';

/**
 * The facts about one person that eligibility depends on. All optional: a fact a rule needs
 * but nobody supplied makes that rule unmet, and its reason says the fact is not known, so
 * the referrer can add it. Unknown fields are rejected (a typo must not silently drop a fact).
 */
export const personFactsSchema = z
  .object({
    age: z.number().int().min(0).max(120).optional(),
    dateOfBirth: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD')
      .refine(isIsoDate, 'not a real date')
      .optional(),
    borough: z.enum(BOROUGHS).optional(),
    gpBorough: z.enum(BOROUGHS).optional(),
    longTermConditions: z.number().int().min(0).max(30).optional(),
    mentalHealth: z.enum(MENTAL_HEALTH_LEVELS).optional(),
    mentalHealthDiagnosis: z.boolean().optional(),
    dementiaDiagnosis: z.boolean().optional(),
    sociallyIsolated: z.boolean().optional(),
    malnutritionRisk: z.boolean().optional(),
    dischargeFrom: z.enum(HOSPITALS).nullable().optional(),
    usingTalkingTherapies: z.boolean().optional(),
    carer: z.boolean().optional(),
    crisis: z.boolean().optional(),
    riskToSelfOrOthers: z.boolean().optional(),
    referralRoute: z.enum(REFERRAL_ROUTES).optional(),
  })
  .strict()
  .superRefine((facts, ctx) => {
    if (facts.age !== undefined && facts.dateOfBirth !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['age'], message: 'give age or dateOfBirth, not both' });
    }
  });
export type PersonFacts = z.infer<typeof personFactsSchema>;

export type FactsResult = { ok: true; facts: PersonFacts } | { ok: false; errors: Array<{ field: string; message: string }> };

/** Validates untrusted facts, reporting every bad field at once. */
export function parsePersonFacts(input: unknown): FactsResult {
  const result = personFactsSchema.safeParse(input);
  if (result.success) return { ok: true, facts: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((issue) => ({
      field: issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : '(input)'),
      message: issue.message,
    })),
  };
}

/** Age in whole years on `now`, from age or date of birth; undefined when neither is known. */
export function ageOf(facts: PersonFacts, now: Date): number | undefined {
  if (facts.age !== undefined) return facts.age;
  return facts.dateOfBirth ? ageOn(facts.dateOfBirth, now) : undefined;
}
