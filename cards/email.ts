/** An email Signpost sends: a plain-text part and an HTML part with the same words. */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** Text from users and records goes into email HTML escaped, never as markup. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Labelled values as an email's HTML table (mail clients ignore most CSS; a table lays out everywhere). */
export function factsTableHtml(rows: ReadonlyArray<{ label: string; value: string }>): string {
  return `<table>${rows.map((row) => `<tr><th align="left">${escapeHtml(row.label)}</th><td>${escapeHtml(row.value)}</td></tr>`).join('')}</table>`;
}
