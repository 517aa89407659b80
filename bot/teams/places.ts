import { TurnContext } from 'botbuilder';
import type { ChannelPlace } from '../channels/serviceChannels';

/** The team and channel a message was said in; undefined outside a team channel. */
export function channelOf(context: TurnContext): ChannelPlace | undefined {
  const data = context.activity.channelData as { team?: { id?: string }; channel?: { id?: string } } | undefined;
  const teamId = data?.team?.id;
  const channelId = data?.channel?.id ?? context.activity.conversation.id.split(';')[0];
  if (context.activity.conversation.conversationType !== 'channel' || !teamId || !channelId) return undefined;
  return { teamId, channelId };
}

/** A reference that posts a new message in the channel (not a reply in the thread it was said in). */
export function channelReference(context: TurnContext, channelId: string): Record<string, unknown> {
  const reference = TurnContext.getConversationReference(context.activity);
  return JSON.parse(
    JSON.stringify({ ...reference, activityId: undefined, conversation: { ...reference.conversation, id: channelId } }),
  ) as Record<string, unknown>;
}

export function conversationType(context: TurnContext): string {
  return context.activity.conversation?.conversationType ?? 'personal';
}
