import { z } from 'zod';

/**
 * Outcome measures a link worker records at the start (baseline) and end (closing) of support,
 * using validated tools as NHS England recommends.
 *
 * SWEMWBS, the Short Warwick-Edinburgh Mental Wellbeing Scale: seven statements scored 1-5,
 * a raw score of 7-35 converted to a metric score with the Rasch-based table of Stewart-Brown
 * S, Tennant A, Tennant R, Platt S, Parkinson J, Weich S. "Internal construct validity of the
 * Warwick-Edinburgh Mental Well-being Scale (WEMWBS): a Rasch analysis using data from the
 * Scottish Health Education Population Survey." Health and Quality of Life Outcomes 2009;7:15.
 *
 * ONS4, the Office for National Statistics personal wellbeing questions: life satisfaction,
 * feeling that things done in life are worthwhile, happiness yesterday (higher is better) and
 * anxiety yesterday (lower is better), each 0-10 and reported separately, never summed.
 */

/** Raw SWEMWBS score (index = raw - 7) to metric score. */
const SWEMWBS_METRIC = [
  7.0, 9.51, 11.25, 12.4, 13.33, 14.08, 14.75, 15.32, 15.84, 16.36, 16.88, 17.43, 17.98, 18.59, 19.25, 19.98, 20.73,
  21.54, 22.35, 23.21, 24.11, 25.03, 26.02, 27.03, 28.13, 29.31, 30.7, 32.55, 35.0,
] as const;

export function swemwbsMetric(raw: number): number {
  if (!Number.isInteger(raw) || raw < 7 || raw > 35) throw new RangeError(`SWEMWBS raw scores run from 7 to 35, not ${raw}`);
  return SWEMWBS_METRIC[raw - 7];
}

const item = z.coerce.number().int().min(1, 'each statement scores 1 to 5').max(5, 'each statement scores 1 to 5');
const tenPoint = z.coerce.number().int().min(0, 'scores run from 0 to 10').max(10, 'scores run from 0 to 10');

export const swemwbsItemsSchema = z.array(item).length(7, 'SWEMWBS has seven statements');
export const ons4Schema = z.object({ lifeSatisfaction: tenPoint, worthwhile: tenPoint, happiness: tenPoint, anxiety: tenPoint });

export const measurementSchema = z.discriminatedUnion('tool', [
  z.object({ tool: z.literal('swemwbs'), items: swemwbsItemsSchema, raw: z.number(), metric: z.number(), at: z.string() }),
  z.object({ tool: z.literal('ons4'), scores: ons4Schema, at: z.string() }),
]);
export type Measurement = z.infer<typeof measurementSchema>;

export function scoreSwemwbs(items: number[], at: string): Measurement {
  const valid = swemwbsItemsSchema.parse(items);
  const raw = valid.reduce((sum, value) => sum + value, 0);
  return { tool: 'swemwbs', items: valid, raw, metric: swemwbsMetric(raw), at };
}

export const goalSchema = z.object({ text: z.string().trim().min(1).max(200), achieved: z.boolean().nullable() });
export const goalsSchema = z.array(goalSchema).max(3, 'up to three goals');
export type Goal = z.infer<typeof goalSchema>;

export const wellbeingSchema = z.object({ baseline: measurementSchema.optional(), closing: measurementSchema.optional() });
export type Wellbeing = z.infer<typeof wellbeingSchema>;

/** The change from baseline to closing, in words a referrer can read. */
export function describeChange(wellbeing: Wellbeing): string | undefined {
  const { baseline, closing } = wellbeing;
  if (!baseline || !closing || baseline.tool !== closing.tool) return undefined;
  if (baseline.tool === 'swemwbs' && closing.tool === 'swemwbs') {
    const change = Math.round((closing.metric - baseline.metric) * 100) / 100;
    return `SWEMWBS ${baseline.metric.toFixed(2)} to ${closing.metric.toFixed(2)} (${change >= 0 ? '+' : ''}${change.toFixed(2)})`;
  }
  if (baseline.tool === 'ons4' && closing.tool === 'ons4') {
    const parts = (['lifeSatisfaction', 'worthwhile', 'happiness', 'anxiety'] as const).map((key) => {
      const label = { lifeSatisfaction: 'life satisfaction', worthwhile: 'worthwhile', happiness: 'happiness', anxiety: 'anxiety (lower is better)' }[key];
      return `${label} ${baseline.scores[key]} to ${closing.scores[key]}`;
    });
    return `ONS4: ${parts.join('; ')}`;
  }
  return undefined;
}
