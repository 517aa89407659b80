import { CloudAdapter, ConversationParameters, ConversationReference, TurnContext } from 'botbuilder';

/**
 * Runs `logic` in a conversation Signpost is not currently in (a channel, a referrer's chat).
 * The adapter sends errors from such a turn to its onTurnError handler, which would apologise
 * into that conversation and swallow the failure; here the error is caught in the turn and
 * rethrown to the caller, which knows whether to retry.
 */
export async function inConversation<T>(
  adapter: CloudAdapter,
  appId: string,
  reference: Partial<ConversationReference>,
  logic: (context: TurnContext) => Promise<T>,
): Promise<T> {
  let result: { value: T } | undefined;
  let failure: { error: unknown } | undefined;
  await adapter.continueConversationAsync(appId, reference, async (context) => {
    try {
      result = { value: await logic(context) };
    } catch (error) {
      failure = { error };
    }
  });
  if (failure) throw failure.error;
  if (!result) throw new Error('the conversation turn did not run');
  return result.value;
}

/**
 * Creates a conversation (a 1:1 chat with someone the bot has not talked to there yet) and runs
 * `logic` in it, with the same error handling as inConversation.
 */
export async function inNewConversation<T>(
  adapter: CloudAdapter,
  appId: string,
  serviceUrl: string,
  parameters: ConversationParameters,
  logic: (context: TurnContext) => Promise<T>,
): Promise<T> {
  let result: { value: T } | undefined;
  let failure: { error: unknown } | undefined;
  await adapter.createConversationAsync(appId, 'msteams', serviceUrl, undefined as unknown as string, parameters, async (context) => {
    try {
      result = { value: await logic(context) };
    } catch (error) {
      failure = { error };
    }
  });
  if (failure) throw failure.error;
  if (!result) throw new Error('the new conversation turn did not run');
  return result.value;
}
