import { ActivityTypes, type TurnContext } from 'botbuilder';
import { errorAnswer } from './invokeResponses';

const CANNOT_REACH = 'Signpost cannot reach its storage just now, so I could not finish that. Please try again in a minute';

/**
 * The answer to a turn that failed because storage did not answer. Nothing else is attempted:
 * the turn's state was never saved, so a form stays at the step the user sees, and any further
 * storage call would only make Teams wait longer.
 */
export async function answerStorageUnavailable(context: TurnContext): Promise<void> {
  if (context.activity.type === ActivityTypes.Invoke) {
    // An error answer leaves the clicked card as it was; Teams shows the message beside it.
    await context.sendActivity({
      type: ActivityTypes.InvokeResponse,
      value: { status: 503, body: errorAnswer(503, `${CANNOT_REACH}; the card has not changed.`) },
    });
    return;
  }
  // A card's Submit arrives as a message with a value; the card in the chat keeps what was entered.
  const fromCard = context.activity.value !== undefined && context.activity.value !== null;
  await context.sendActivity(fromCard ? `${CANNOT_REACH}; what you entered is still on the card.` : `${CANNOT_REACH}.`);
}
