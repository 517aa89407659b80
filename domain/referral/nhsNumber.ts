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

export function isValidNhsNumber(input: string): boolean {
  const digits = normaliseNhsNumber(input);
  if (!digits) return false;
  return nhsCheckDigit(digits.slice(0, 9)) === Number(digits[9]);
}

/** The way NHS numbers are written for people: 3-3-4 with spaces. */
export function formatNhsNumber(digits: string): string {
  return `${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}`;
}
