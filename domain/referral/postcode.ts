/**
 * UK postcodes. The full postcode identifies a handful of households, so it is shown only with
 * the person's contact details; the district (outward code, e.g. "SE5") is what a link worker
 * needs to judge distance before opening them.
 *
 * Pattern: the outward code (area letters, district digits and an optional letter) and the
 * inward code (a digit and two letters, never C, I, K, M, O or V), as in the Royal Mail and
 * GOV.UK bulk data transfer guidance; plus the one special case GIR 0AA.
 */
const POSTCODE = /^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][ABD-HJLNP-UW-Z]{2})$/;

export function normalisePostcode(input: string): string | null {
  const compact = input.trim().toUpperCase().replace(/\s+/g, ' ');
  if (compact.replace(' ', '') === 'GIR0AA') return 'GIR 0AA';
  const match = POSTCODE.exec(compact);
  return match ? `${match[1]} ${match[2]}` : null;
}

export function isValidPostcode(input: string): boolean {
  return normalisePostcode(input) !== null;
}

export function postcodeDistrict(postcode: string): string | null {
  const normal = normalisePostcode(postcode);
  return normal ? normal.split(' ')[0] : null;
}
