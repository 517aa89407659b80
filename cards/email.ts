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
