/**
 * UK postcodes. The full postcode identifies a handful of households, so it is shown only with
 * the person's contact details; the district (outward code, e.g. "SE5") is what a link worker
 * needs to judge distance before opening them.
 *
 * Pattern: the outward code is one of A9, A99, A9A, AA9, AA99 or AA9A and the inward code a
 * digit and two letters, with the position rules of BS 7666 as given in the UK Government Data
 * Standards Catalogue's postcode pattern (the one GOV.UK's "Bulk Data Transfer: additional
 * validation" uses; restated under "Validation" in Wikipedia's "Postcodes in the United Kingdom"):
 * - first letter never Q, V or X; second letter never I, J or Z;
 * - a letter third (A9A) only from A B C D E F G H J K P S T U W;
 * - a letter fourth (AA9A) only from A B E H M N P R V W X Y;
 * - the inward letters never C, I, K, M, O or V;
 * plus the one special case GIR 0AA (formerly Girobank). Overseas territories and BFPO
 * codes are not accepted: a person in Southwark has neither.
 */
const OUTWARD = '[A-PR-UWYZ](?:[0-9][0-9]?|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][0-9]?|[A-HK-Y][0-9][ABEHMNPRVWXY])';
const INWARD = '[0-9][ABD-HJLNP-UW-Z]{2}';
const POSTCODE = new RegExp(`^(${OUTWARD}) ?(${INWARD})$`);

/** Upper case with one space before the inward code, e.g. "se58au" -> "SE5 8AU"; null if not a postcode. */
export function normalisePostcode(input: string): string | null {
  const compact = input.trim().toUpperCase().replace(/\s+/g, ' ');
  if (compact.replace(' ', '') === 'GIR0AA') return 'GIR 0AA';
  const match = POSTCODE.exec(compact);
  return match ? `${match[1]} ${match[2]}` : null;
}

export function isValidPostcode(input: string): boolean {
  return normalisePostcode(input) !== null;
}

/** The outward code ("SE5" of "SE5 8AU"): all a link worker sees before opening contact details. */
export function postcodeDistrict(postcode: string): string | null {
  const normal = normalisePostcode(postcode);
  return normal ? normal.split(' ')[0] : null;
}
