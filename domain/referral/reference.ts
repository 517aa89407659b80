/**
 * Human-friendly referral references, e.g. SP-2026-000123: short enough to read over the
 * phone, year first so staff can tell old from new, sequence per year.
 */
const REFERENCE = /^SP-(\d{4})-(\d{6})$/;

export function formatReference(year: number, sequence: number): string {
  if (!Number.isInteger(year) || year < 2000 || year > 9999) throw new RangeError(`Bad reference year ${year}`);
  if (!Number.isInteger(sequence) || sequence < 1 || sequence > 999_999) throw new RangeError(`Bad reference sequence ${sequence}`);
  return `SP-${year}-${String(sequence).padStart(6, '0')}`;
}

export function parseReference(text: string): { year: number; sequence: number } | null {
  const match = REFERENCE.exec(text.trim().toUpperCase());
  if (!match) return null;
  const sequence = Number(match[2]);
  return sequence > 0 ? { year: Number(match[1]), sequence } : null;
}
