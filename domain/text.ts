import { z } from 'zod';

/**
 * Text people type (names, notes, what matters to the person) is data, never markup or
 * instructions to whoever shows it. Two helpers keep it so:
 *
 * - `plainText()` cleans it on the way in: characters that nobody means to type in a name or a
 *   note, and that can hide or reorder what a reader sees, are removed before it is checked or
 *   stored.
 * - `escapeCardText()` makes it show literally on an Adaptive Card, whose TextBlocks and
 *   FactSet values render a Markdown subset and date/time functions.
 */

/**
 * C0 controls except tab and line feed, DEL, C1 controls, and the bidirectional embeddings,
 * overrides and isolates (U+202A-U+202E, U+2066-U+2069): NUL and ESC break storage and
 * terminals, and the bidi controls make text read differently from what it holds.
 */
const UNSAFE_CHARACTERS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;

/**
 * Line breaks as typed on any system become "\n" (stripping a lone CR would join two lines),
 * unsafe characters go, and the ends are trimmed.
 */
export function cleanText(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(UNSAFE_CHARACTERS, '').trim();
}

export interface PlainTextOptions {
  /** Most characters, counted once cleaned. */
  max: number;
  /** Fewest characters once cleaned; 1 (the default) makes the field required. */
  min?: number;
  /** When the value is missing or empty once cleaned. */
  required?: string;
  /** When the value is longer than `max`. */
  tooLong?: string;
  /** When the value is not a string at all (an object, array, number...). */
  notText?: string;
}

/**
 * A zod schema for free text: refuses anything but a string, cleans it with `cleanText`, then
 * checks its length, so the limits apply to what is kept.
 */
export function plainText(options: PlainTextOptions) {
  const { max, min = 1 } = options;
  const required = options.required ?? 'Required';
  return z
    .string({ required_error: required, invalid_type_error: options.notText ?? 'Expected text' })
    .transform(cleanText)
    .pipe(
      z
        .string()
        .min(min, required)
        .max(max, options.tooLong ?? `At most ${max} characters`),
    );
}

/**
 * Adaptive Card text must show what was typed. Renderers differ in what they honour: the web
 * and desktop ones follow CommonMark backslash escapes, while older mobile ones (the shared C++
 * parser) read a link wherever `]` is followed by `(` and do not honour escapes there; so links
 * are broken structurally as well as escaped.
 *
 * - ASCII punctuation Markdown uses inline (`\ * _ ` [ ] < > ~ |`) gets a backslash.
 * - `(` straight after `]` gets one too, so `](` never stands together.
 * - `&` before an entity (`&amp;`, `&#91;`) gets one, so it shows as typed.
 * - The second `{` of `{{` gets one, so `{{DATE(...)}}` and `{{TIME(...)}}` stay text.
 * - At the start of a line, indentation is dropped (four spaces would make a code block) and a
 *   heading, list, quote or underline marker (`#`, `-`, `+`, `=`, `1.`, `1)`) is escaped.
 * - `scheme://` becomes `scheme:/` + zero-width space + `/`, and `www.` becomes `www\.`, so
 *   renderers that turn bare URLs into links do not; the reader sees the same characters. A bare
 *   domain ("example.com") is left alone: escaping every dot would put backslashes through
 *   ordinary sentences on renderers that show them.
 */
export function escapeCardText(text: string): string {
  return text
    .split(/(\r\n|\r|\n)/)
    .map((part, index) => (index % 2 === 1 ? part : escapeLine(part)))
    .join('');
}

const INLINE_MARKUP = /[\\*_`[\]<>~|]|(?<=\])\(|(?<=\{)\{|&(?=#?[a-z0-9]+;)/gi;
const LINE_START_MARKER = /^(?:[#+=-]|\d{1,9}(?=[.)]))/;
const URL_SCHEME = /\b([a-z][a-z0-9+.-]*):\/\//gi;
const WWW = /\b(www)\./gi;

function escapeLine(line: string): string {
  const escaped = line
    .replace(/^[ \t]+/, '')
    .replace(INLINE_MARKUP, (c) => `\\${c}`)
    .replace(URL_SCHEME, '$1:/\u200B/')
    .replace(WWW, '$1\\.');
  // Ordered-list numbers keep their digits; the "." or ")" after them is what gets escaped.
  return escaped.replace(LINE_START_MARKER, (marker) => (/^\d/.test(marker) ? `${marker}\\` : `\\${marker}`));
}
