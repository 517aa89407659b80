import * as ACData from 'adaptivecards-templating';

/** The Adaptive Card version every Teams client renders (desktop, web and mobile). */
export const MAX_CARD_VERSION = '1.5';
export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

export interface AdaptiveCardAttachment {
  contentType: typeof ADAPTIVE_CARD_CONTENT_TYPE;
  content: Record<string, unknown>;
}

/**
 * Fills a JSON card template with data. Templates live beside this file as plain JSON so
 * they can be previewed in the Adaptive Cards designer; all text from users goes in as data,
 * never concatenated into the template, so it cannot inject card elements.
 */
export function renderCard(template: object, data: object): Record<string, unknown> {
  const card = new ACData.Template(template).expand({ $root: data }) as Record<string, unknown>;
  return card;
}

export function asAttachment(card: Record<string, unknown>): AdaptiveCardAttachment {
  return { contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: card };
}
