import { z } from 'zod';

/** The text fields of the "Change" forms (a service's and an activity's): each problem names its field. */

export const requiredText = (label: string, max: number, missing: string) =>
  z
    .string({ required_error: `${label}: ${missing}`, invalid_type_error: `${label}: write it as text` })
    .trim()
    .min(1, `${label}: ${missing}`)
    .max(max, `${label}: keep it under ${max} characters`);

/** Left empty: absent. */
export const optionalText = (label: string, max: number) =>
  z
    .string({ invalid_type_error: `${label}: write it as text` })
    .trim()
    .max(max, `${label}: keep it under ${max} characters`)
    .optional()
    .transform((text) => (text ? text : undefined));
