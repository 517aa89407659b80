import type { ConversationParameters, ConversationReference, TurnContext } from 'botbuilder';
import { inConversation, inNewConversation } from './proactive';

/**
 * Someone's 1:1 chat with Signpost, reached from wherever they are (a group or meeting chat, the
 * compose box of any conversation): the chat Signpost already knows, or a new one created in
 * their tenant. Used to move a referral form out of a shared conversation.
 */

export interface PersonalChatOpened<T> {
  value: T;
  /** The chat, when Signpost had to create it (to be remembered); undefined when it was known. */
  created?: Record<string, unknown>;
}

export async function inPersonalChat<T>(
  context: TurnContext,
  appId: string,
  known: Record<string, unknown> | undefined,
  logic: (personal: TurnContext) => Promise<T>,
): Promise<PersonalChatOpened<T>> {
  const adapter = context.adapter;
  if (known) return { value: await inConversation(adapter, appId, known as Partial<ConversationReference>, logic) };

  const activity = context.activity;
  const from = activity.from;
  const tenantId = activity.conversation?.tenantId ?? (activity.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id;
  const parameters = { isGroup: false, bot: activity.recipient, members: [{ id: from.id, name: from.name }], tenantId, channelData: { tenant: { id: tenantId } } } as ConversationParameters;
  const conversationId = await inNewConversation(adapter, appId, activity.serviceUrl, parameters, async (created) => created.activity.conversation.id);
  // The created conversation's own turn names no user; the form's turn must run as the person
  // (their private dialog state is keyed by who they are).
  const reference = {
    channelId: activity.channelId,
    serviceUrl: activity.serviceUrl,
    bot: activity.recipient,
    user: { id: from.id, name: from.name, aadObjectId: from.aadObjectId },
    conversation: { id: conversationId, conversationType: 'personal', tenantId },
  };
  const created = JSON.parse(JSON.stringify(reference)) as Record<string, unknown>;
  return { value: await inConversation(adapter, appId, reference as Partial<ConversationReference>, logic), created };
}
