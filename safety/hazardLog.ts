import { z } from 'zod';

/**
 * The hazard log's shape and the DCB0129 risk matrix. The log itself is data
 * (`safety/hazards.json`); every rating in it must be the one this matrix gives for its
 * severity and likelihood, so a rating cannot be typed to look better than it is.
 */

export const SEVERITIES = ['Minor', 'Significant', 'Considerable', 'Major', 'Catastrophic'] as const;
export const LIKELIHOODS = ['Very low', 'Low', 'Medium', 'High', 'Very high'] as const;
export type Severity = (typeof SEVERITIES)[number];
export type Likelihood = (typeof LIKELIHOODS)[number];
export type RiskRating = 1 | 2 | 3 | 4 | 5;

/** DCB0129's 5x5 matrix: a row per likelihood, a column per severity (Minor to Catastrophic). */
const MATRIX: Record<Likelihood, readonly RiskRating[]> = {
  'Very high': [3, 4, 4, 5, 5],
  High: [2, 3, 3, 4, 5],
  Medium: [2, 2, 3, 3, 4],
  Low: [1, 2, 2, 3, 4],
  'Very low': [1, 1, 2, 2, 3],
};

export function riskRating(severity: Severity, likelihood: Likelihood): RiskRating {
  return MATRIX[likelihood][SEVERITIES.indexOf(severity)];
}

/** What each rating asks of the manufacturer, in DCB0129's terms. */
export const RATING_MEANING: Record<RiskRating, string> = {
  1: 'Acceptable, no further action required',
  2: 'Acceptable where the cost of further reduction outweighs the benefit',
  3: 'Undesirable: acceptable only when further risk reduction is impractical',
  4: 'Unacceptable: mandatory elimination or control to reduce the risk',
  5: 'Unacceptable',
};

export const SEVERITY_MEANING: Record<Severity, string> = {
  Minor: 'minor injury or upset from which recovery is expected soon; inconvenience (one person)',
  Significant: 'minor injury or significant psychological trauma (one person), or minor harm to several',
  Considerable: 'severe injury or severe psychological trauma from which recovery is expected (one person)',
  Major: 'death or permanent life-changing incapacity of one person, or severe harm to several',
  Catastrophic: 'death or permanent life-changing incapacity of several people',
};

export const LIKELIHOOD_MEANING: Record<Likelihood, string> = {
  'Very high': 'certain or almost certain; highly likely to occur',
  High: 'not certain but very possible; expected in most cases',
  Medium: 'possible',
  Low: 'could occur, but in the great majority of cases will not',
  'Very low': 'negligible or nearly negligible possibility of occurring',
};

const text = z.string().trim().min(1);

const risk = z.object({
  severity: z.enum(SEVERITIES),
  likelihood: z.enum(LIKELIHOODS),
  rating: z.number().int().min(1).max(5),
});

export const OWNERS = ['Manufacturer', 'Clinical safety officer', 'Deploying organisation'] as const;

const controlSchema = z
  .object({
    id: z.string().regex(/^H\d{2}-C\d+$/, 'a control id looks like H01-C1'),
    control: text,
    /** Full mocha titles (describe titles and the test's own, as mocha reports them). */
    tests: z.array(text),
  })
  .strict();

const openActionSchema = z
  .object({
    id: z.string().regex(/^H\d{2}-A\d+$/, 'an open action id looks like H01-A1'),
    action: text,
    owner: z.enum(OWNERS),
  })
  .strict();

const hazardSchema = z
  .object({
    id: z.string().regex(/^H\d{2}$/, 'a hazard id looks like H01'),
    title: text,
    description: text,
    causes: z.array(text).min(1),
    effect: text,
    initialRisk: risk.strict(),
    controls: z.array(controlSchema).min(1),
    residualRisk: risk.extend({ rationale: text }).strict(),
    openActions: z.array(openActionSchema),
  })
  .strict();

export const hazardLogSchema = z
  .object({
    system: text,
    scope: text,
    intendedUse: text,
    notIntendedFor: z.array(text).min(1),
    hazards: z.array(hazardSchema).min(1),
  })
  .strict();

export type HazardLog = z.infer<typeof hazardLogSchema>;
export type Hazard = HazardLog['hazards'][number];
export type Control = Hazard['controls'][number];
