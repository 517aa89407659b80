import {
  ActivityTypes,
  CardFactory,
  ConversationState,
  MessageFactory,
  TeamsActivityHandler,
  TurnContext,
  UserState,
} from 'botbuilder';
import { welcomeCard } from '../cards/welcome';
import { parseCommand } from './commands';
import type { Logger } from './log';

export interface SignpostBotDependencies {
  conversationState: ConversationState;
  userState: UserState;
  logger: Logger;
}

/**
 * The Teams face of Signpost: routes each activity to a small handler and saves state at the
 * end of every turn. Domain decisions live in domain/; this class only translates.
 */
export class SignpostBot extends TeamsActivityHandler {
  constructor(private readonly deps: SignpostBotDependencies) {
    super();

    this.onMembersAdded(async (context, next) => {
      await this.greetNewMembers(context);
      await next();
    });

    this.onMessage(async (context, next) => {
      await this.handleMessage(context);
      await next();
    });
  }

  override async run(context: TurnContext): Promise<void> {
    await super.run(context);
    await this.deps.conversationState.saveChanges(context, false);
    await this.deps.userState.saveChanges(context, false);
  }

  private async handleMessage(context: TurnContext): Promise<void> {
    const text = TurnContext.removeRecipientMention(context.activity) ?? context.activity.text;
    const command = parseCommand(text);
    this.deps.logger.info('message', { command: command.name, conversationType: conversationType(context) });

    switch (command.name) {
      case 'help':
        await this.sendWelcome(context);
        return;
      case 'unknown':
        await context.sendActivity(
          MessageFactory.text("Sorry, I didn't understand that. Say **help** to see what I can do."),
        );
        return;
    }
  }

  private async greetNewMembers(context: TurnContext): Promise<void> {
    const botId = context.activity.recipient.id;
    const added = context.activity.membersAdded ?? [];
    const type = conversationType(context);
    // In a personal chat, greet once when the app is installed (the bot or the user joins).
    // In a team or group chat, introduce Signpost only when the bot itself is added, not
    // every time a colleague joins the team.
    const botAdded = added.some((member) => member.id === botId);
    if (type === 'personal' ? added.length > 0 : botAdded) {
      this.deps.logger.info('installed', { conversationType: type });
      await this.sendWelcome(context);
    }
  }

  private async sendWelcome(context: TurnContext): Promise<void> {
    const firstName = context.activity.from?.name?.split(/\s+/)[0];
    const inChannel = conversationType(context) === 'channel';
    const card = welcomeCard({ firstName: conversationType(context) === 'personal' ? firstName : undefined, inChannel });
    await context.sendActivity({ type: ActivityTypes.Message, attachments: [CardFactory.adaptiveCard(card)] });
  }
}

export function conversationType(context: TurnContext): string {
  return context.activity.conversation?.conversationType ?? 'personal';
}
