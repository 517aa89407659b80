import type { AdaptiveCardInvokeResponse } from 'botbuilder';
import { ADAPTIVE_CARD_CONTENT_TYPE, MAX_CARD_VERSION } from '../../cards/render';

/** The answer to a Universal Action: the card that replaces the clicked one for the clicker. */
export function cardAnswer(card: Record<string, unknown>): AdaptiveCardInvokeResponse {
  return { statusCode: 200, type: ADAPTIVE_CARD_CONTENT_TYPE, value: card };
}

/** An answer that is only a sentence, for clicks on cards Signpost cannot place. */
export function messageAnswer(text: string): AdaptiveCardInvokeResponse {
  return cardAnswer({ type: 'AdaptiveCard', version: MAX_CARD_VERSION, body: [{ type: 'TextBlock', text, wrap: true, weight: 'Bolder' }] });
}
