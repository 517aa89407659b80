import { ActivityTypes, type AdaptiveCardInvokeResponse, type TurnContext } from 'botbuilder';
import { ADAPTIVE_CARD_CONTENT_TYPE } from '../../cards/render';

/** Universal Actions answer types (Teams shows a message answer as a short notice, not a card). */
export const MESSAGE_RESPONSE_TYPE = 'application/vnd.microsoft.activity.message';
export const ERROR_RESPONSE_TYPE = 'application/vnd.microsoft.error';

/** The answer to a Universal Action: the card that replaces the clicked one for the clicker. */
export function cardAnswer(card: Record<string, unknown>): AdaptiveCardInvokeResponse {
  return { statusCode: 200, type: ADAPTIVE_CARD_CONTENT_TYPE, value: card };
}

/** An answer that is only a sentence, for clicks on cards Signpost cannot place. */
export function messageAnswer(text: string): AdaptiveCardInvokeResponse {
  return { statusCode: 200, type: MESSAGE_RESPONSE_TYPE, value: text as unknown as Record<string, unknown> };
}

/** A refusal Teams shows with its reason: the request was malformed, or Signpost cannot serve it now (503). */
export function errorAnswer(statusCode: 400 | 401 | 403 | 404 | 500 | 503, message: string): AdaptiveCardInvokeResponse {
  return { statusCode, type: ERROR_RESPONSE_TYPE, value: { code: statusCode === 400 ? 'BadRequest' : 'Error', message } as unknown as Record<string, unknown> };
}

/**
 * The answer to a button or search whose turn failed: an error Teams shows beside the card, not
 * an apology posted into the conversation for everyone (a channel, a group chat).
 */
export async function answerFailedInvoke(context: TurnContext): Promise<void> {
  await context.sendActivity({
    type: ActivityTypes.InvokeResponse,
    value: { status: 500, body: errorAnswer(500, 'Sorry, something went wrong on our side and I could not finish that. Please try again.') },
  });
}
