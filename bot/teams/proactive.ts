import { Activity, BotAdapter, ConversationParameters, ConversationReference, TurnContext } from 'botbuilder';

/**
 * The conversation an activity belongs to, as plain JSON: what storage keeps, so storage and
 * the domain never hold Bot Framework types.
 */
export function plainReference(activity: Partial<Activity>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(TurnContext.getConversationReference(activity))) as Record<string, unknown>;
}

/**
 * Turns Signpost starts itself, in a conversation it is not currently in (a channel, a
 * referrer's chat). The adapter sends errors from such a turn to its onTurnError handler, which
 * would apologise into that conversation and swallow the failure; here the error is caught in
 * the turn and rethrown to the caller, which knows whether to retry.
 */
async function captured<T>(
  start: (turn: (context: TurnContext) => Promise<void>) => Promise<void>,
  logic: (context: TurnContext) => Promise<T>,
): Promise<T> {
  let result: { value: T } | undefined;
  let failure: { error: unknown } | undefined;
  await start(async (context) => {
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

/** Runs `logic` in an existing conversation. */
export function inConversation<T>(
  adapter: BotAdapter,
  appId: string,
  reference: Partial<ConversationReference>,
  logic: (context: TurnContext) => Promise<T>,
): Promise<T> {
  return captured((turn) => adapter.continueConversationAsync(appId, reference, turn), logic);
}

/** Creates a conversation (a 1:1 chat the bot has not had yet) and runs `logic` in it. */
export function inNewConversation<T>(
  adapter: BotAdapter,
  appId: string,
  serviceUrl: string,
  parameters: ConversationParameters,
  logic: (context: TurnContext) => Promise<T>,
): Promise<T> {
  // The audience defaults to the Bot Framework's when none is given.
  return captured((turn) => adapter.createConversationAsync(appId, 'msteams', serviceUrl, undefined as unknown as string, parameters, turn), logic);
}
