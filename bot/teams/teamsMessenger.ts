import { Activity, BotAdapter, CardFactory, ConversationParameters, ConversationReference, TeamsInfo, TurnContext } from 'botbuilder';
import { Card, ConversationRef, DeliveryError, Messenger, RosterMember } from '../notifications/messenger';
import { signInEmail } from './members';
import { inConversation, inNewConversation, plainReference } from './proactive';

/**
 * The Messenger on Teams: proactive turns through the Bot Framework adapter. Every failure
 * leaves here as a DeliveryError, so callers decide on retry or fallback by its code.
 */
export class TeamsMessenger implements Messenger {
  constructor(
    private readonly adapter: BotAdapter,
    private readonly appId: string,
  ) {}

  async send(conversation: ConversationRef, card: Card): Promise<string> {
    return this.within(conversation, 'post', async (context) => (await context.sendActivity(cardActivity(card)))?.id ?? '');
  }

  async update(conversation: ConversationRef, messageId: string, card: Card): Promise<void> {
    await this.within(conversation, 'update', (context) => context.updateActivity({ ...cardActivity(card), id: messageId, type: 'message' }));
  }

  async sendPersonal(member: { id: string; name: string }, known: ConversationRef | undefined, via: ConversationRef | undefined, card: Card): Promise<ConversationRef | undefined> {
    if (known) {
      await this.send(known, card);
      return undefined;
    }
    const through = via as Partial<ConversationReference> | undefined;
    if (!member.id || !through?.serviceUrl || !through.bot) throw new DeliveryError('unreachable', 'no Teams chat with this person yet');
    const tenantId = through.conversation?.tenantId;
    const parameters = { isGroup: false, bot: through.bot, members: [member], tenantId, channelData: { tenant: { id: tenantId } } } as ConversationParameters;
    try {
      return await inNewConversation(this.adapter, this.appId, through.serviceUrl, parameters, async (context) => {
        await context.sendActivity(cardActivity(card));
        return plainReference(context.activity);
      });
    } catch (error) {
      throw DeliveryError.fromHttp(error, 'Teams 1:1 chat');
    }
  }

  async members(conversation: ConversationRef): Promise<RosterMember[]> {
    return this.within(conversation, 'members', async (context) => {
      const members: RosterMember[] = [];
      let continuationToken: string | undefined;
      do {
        const page = await TeamsInfo.getPagedMembers(context, 500, continuationToken);
        members.push(...page.members.map((member) => rosterMember(member)));
        continuationToken = page.continuationToken;
      } while (continuationToken);
      return members;
    });
  }

  async member(conversation: ConversationRef, userId: string): Promise<RosterMember | undefined> {
    try {
      return await this.within(conversation, 'member', async (context) => rosterMember(await TeamsInfo.getMember(context, userId)));
    } catch (error) {
      if (error instanceof DeliveryError && error.status === 404) return undefined;
      throw error;
    }
  }

  private async within<T>(conversation: ConversationRef, what: string, logic: (context: TurnContext) => Promise<T>): Promise<T> {
    try {
      return await inConversation(this.adapter, this.appId, conversation as Partial<ConversationReference>, logic);
    } catch (error) {
      throw DeliveryError.fromHttp(error, `Teams ${what}`);
    }
  }
}

function cardActivity(card: Card): Partial<Activity> {
  return { attachments: [CardFactory.adaptiveCard(card)] };
}

function rosterMember(member: { id: string; name?: string; email?: string; userPrincipalName?: string; userRole?: string; aadObjectId?: string }): RosterMember {
  const email = signInEmail(member);
  return {
    id: member.id,
    name: member.name ?? member.id,
    ...(email ? { email } : {}),
    ...(member.aadObjectId ? { aadObjectId: member.aadObjectId.toLowerCase() } : {}),
    ...(member.userRole ? { role: member.userRole.toLowerCase() } : {}),
  };
}
