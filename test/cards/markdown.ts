/**
 * Checks on escaped card text, standing in for a Markdown renderer (none is a dependency):
 * what a CommonMark renderer would show, and what markup it would still act on.
 */

/** What a CommonMark renderer shows: a backslash before ASCII punctuation goes, as does the zero-width space. */
export function shownText(escaped: string): string {
  return escaped.replace(/\\([!-/:-@[-`{-~])/g, '$1').replace(/\u200B/g, '');
}

/**
 * Markup a Markdown or Adaptive Card renderer would act on: a link (`](`), a date or time
 * function (`{{`), an autolink or bare URL (`://`, `www.`), inline markup not preceded by an
 * escaping backslash, or a heading, list, quote or underline marker at the start of a line.
 */
export function liveMarkup(escaped: string): string[] {
  const unescapedInline = /(^|[^\\])(\\\\)*[*_`[\]<>~|]/m;
  const checks: Array<[string, RegExp]> = [
    ['link', /\]\(/],
    ['date/time function', /\{\{/],
    ['url', /:\/\//],
    ['www', /www\./],
    ['inline markup', unescapedInline],
    ['line-start marker', /^[ \t]*(?:[#+=-]|\d+[.)])/m],
  ];
  return checks.filter(([, pattern]) => pattern.test(escaped)).map(([name]) => name);
}
