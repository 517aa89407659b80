/**
 * NHS numbers: ten digits, the last a Modulus 11 check digit.
 *
 * Source: NHS Data Dictionary, "NHS Number": multiply each of the first nine digits by a
 * weight from 10 down to 2, sum, take the remainder on division by 11 and subtract it from 11.
 * A result of 11 means a check digit of 0; a result of 10 means the number is not valid.
 */
export function normaliseNhsNumber(input: string): string | null {
  const digits = input.replace(/[\s-]/g, '');
  return /^\d{10}$/.test(digits) ? digits : null;
}

export function nhsCheckDigit(firstNine: string): number | null {
  let sum = 0;
  for (let index = 0; index < 9; index += 1) sum += Number(firstNine[index]) * (10 - index);
  const check = 11 - (sum % 11);
  if (check === 11) return 0;
  if (check === 10) return null;
  return check;
}

/** The Modulus 11 check alone. `nhsNumberProblem` is the whole check for a number someone gives. */
export function isValidNhsNumber(input: string): boolean {
  const digits = normaliseNhsNumber(input);
  if (!digits) return false;
  return nhsCheckDigit(digits.slice(0, 9)) === Number(digits[9]);
}

export const NHS_NUMBER_NOT_TEN_DIGITS = 'An NHS number has ten digits; check the number';
export const NHS_NUMBER_CHECK_DIGIT_FAILS = 'This is not a valid NHS number (check the digits)';
export const NHS_NUMBER_ALL_SAME_DIGIT = 'NHS numbers never have all ten digits the same; check the number';

/**
 * Why a number someone gave cannot be an NHS number, or null when it can. The weights 10 to 2
 * sum to 54, which is -1 modulo 11, so a number of one digit repeated ten times always passes
 * Modulus 11 (0000000000 included); the NHS never issues them, and they are what a placeholder
 * or a stuck key produces, so they are refused by name.
 */
export function nhsNumberProblem(input: string): string | null {
  const digits = normaliseNhsNumber(input);
  if (!digits) return NHS_NUMBER_NOT_TEN_DIGITS;
  if (/^(\d)\1{9}$/.test(digits)) return NHS_NUMBER_ALL_SAME_DIGIT;
  if (!isValidNhsNumber(digits)) return NHS_NUMBER_CHECK_DIGIT_FAILS;
  return null;
}

/** The way NHS numbers are written for people: 3-3-4 with spaces. */
export function formatNhsNumber(digits: string): string {
  return `${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}`;
}
