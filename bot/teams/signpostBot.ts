import {
  ActivityTypes,
  AdaptiveCardInvokeResponse,
  AdaptiveCardInvokeValue,
  CardFactory,
  ConversationState,
  MessageFactory,
  PrivateConversationState,
  StatePropertyAccessor,
  TeamsActivityHandler,
  TurnContext,
  UserState,
} from 'botbuilder';
import { DialogSet, DialogState } from 'botbuilder-dialogs';
import { welcomeCard } from '../../cards/welcome';
import { isCancelText } from '../../dialogs/cardStepPrompt';
import { draftInProgress, REFERRAL_DIALOG, ReferralDialog } from '../../dialogs/referral/referralDialog';
import type { ReferralService } from '../referrals/referralService';
import type { ServiceChannels } from '../channels/serviceChannels';
import type { TeamsCardActions } from './cardActions';
import type { AdminStatus } from '../app/adminStatus';
import { parseCommand } from './commands';
import type { Logger } from '../app/log';
import type { SupervisorCommands } from '../supervision/supervisorCommands';
import type { IntakeCommands } from '../email/intakeCommands';
import { channelOf, channelReference, conversationType } from './places';
import { describeSender } from './members';
import { plainReference } from './proactive';
import { isAdmin } from '../supervision/supervision';
import type { ContactRepository } from '../../storage/contactRepository';

export interface SignpostBotDependencies {
  conversationState: ConversationState;
  /** Per person per conversation: two colleagues referring in one group chat never share a form. */
  privateConversationState: PrivateConversationState;
  userState: UserState;
  referrals: ReferralService;
  channels: ServiceChannels;
  cardActions: TeamsCardActions;
  adminStatus: AdminStatus;
  admins: string[];
  supervisorCommands: SupervisorCommands;
  /** `intake`: a service's email inboxes, for admins in a personal chat. */
  intakeCommands?: IntakeCommands;
  /** Where Signpost remembers staff's 1:1 chats, so reminders and alerts can reach them. */
  contacts: ContactRepository;
  logger: Logger;
  now: () => Date;
}

/**
 * The Teams face of Signpost: routes each activity to a small handler and saves state at the
 * end of every turn. Domain decisions live in domain/; this class only translates.
 */
export class SignpostBot extends TeamsActivityHandler {
  private readonly dialogState: StatePropertyAccessor<DialogState>;
  private readonly dialogs: DialogSet;
  /** People whose 1:1 chat this process has already remembered (once per person per process). */
  private readonly rememberedContacts = new Set<string>();

  constructor(private readonly deps: SignpostBotDependencies) {
    super();
    this.dialogState = deps.privateConversationState.createProperty<DialogState>('dialogState');
    this.dialogs = new DialogSet(this.dialogState).add(
      new ReferralDialog(deps.referrals),
    );

    this.onMembersAdded(async (context, next) => {
      await this.greetNewMembers(context);
      await next();
    });

    this.onMessage(async (context, next) => {
      await this.handleMessage(context);
      await next();
    });
  }

  /** Buttons on a referral's channel card and on escalation alerts (Universal Actions). */
  protected override async onAdaptiveCardInvoke(
    context: TurnContext,
    invokeValue: AdaptiveCardInvokeValue,
  ): Promise<AdaptiveCardInvokeResponse> {
    return this.deps.cardActions.handle(context, invokeValue);
  }

  override async run(context: TurnContext): Promise<void> {
    // Alongside the turn, not before it: when storage does not answer, waiting for this first
    // would double the time before the user hears so.
    const remembering = this.rememberContact(context);
    try {
      await super.run(context);
      await this.deps.conversationState.saveChanges(context, false);
      await this.deps.privateConversationState.saveChanges(context, false);
      await this.deps.userState.saveChanges(context, false);
    } finally {
      await remembering;
    }
  }

  private async handleMessage(context: TurnContext): Promise<void> {
    const text = TurnContext.removeRecipientMention(context.activity) ?? context.activity.text;
    const submitted = asRecord(context.activity.value);
    const dc = await this.dialogs.createContext(context);
    const type = conversationType(context);

    if (isCancelText(text) || submitted?.action === 'cancel') {
      this.deps.logger.info('message', { command: 'cancel', conversationType: type, dialogActive: Boolean(dc.activeDialog) });
      if (dc.activeDialog) {
        // A referral already stored (Send went through, but its confirmation did not arrive) is kept: say so.
        const kept = await this.deps.referrals.storedReference(draftInProgress(dc)?.referralId);
        await dc.cancelAllDialogs();
        await context.sendActivity(
          kept
            ? `Referral ${kept.reference} had already been sent to ${kept.serviceName} and is kept; cancelling did not withdraw it. To withdraw it, ask the service to decline it, quoting ${kept.reference}.`
            : 'Referral cancelled. Nothing about the person has been saved.',
        );
      } else {
        await context.sendActivity('There is nothing in progress to cancel. Say **refer** to start a referral.');
      }
      return;
    }

    const command = parseCommand(text);
    if (dc.activeDialog) {
      if (command.name === 'refer') {
        await context.sendActivity('You have a referral in progress: here is where you were. Say **cancel** to start again.');
        await dc.repromptDialog();
        return;
      }
      if (command.name === 'help') {
        await this.sendWelcome(context);
        return;
      }
      await dc.continueDialog();
      return;
    }

    if (submitted) {
      // A click on a card whose form has finished, was cancelled, or belongs to a colleague.
      await context.sendActivity(
        'That card belongs to a referral that has already been sent, was cancelled, or was started by someone else, so nothing has changed. Say **refer** to start a new one.',
      );
      return;
    }

    this.deps.logger.info('message', { command: command.name, conversationType: type });
    switch (command.name) {
      case 'help':
        await this.sendWelcome(context);
        return;
      case 'refer':
        if (type === 'channel') {
          await context.sendActivity(
            "Referrals are made in a chat with me, so the person's details stay out of the channel. Open a chat with Signpost and say **refer**.",
          );
          return;
        }
        await dc.beginDialog(REFERRAL_DIALOG);
        return;
      case 'link': {
        const where = channelOf(context);
        const from = context.activity.from;
        const conversation = where ? channelReference(context, where.channelId) : {};
        await context.sendActivity(await this.deps.channels.link(where, conversation, { id: from.id, name: from.name }, command.serviceId));
        return;
      }
      case 'unlink':
        await context.sendActivity(await this.deps.channels.unlink(channelOf(context)));
        return;
      case 'status':
        await context.sendActivity(type === 'channel' ? await this.deps.channels.status(channelOf(context)) : await this.adminStatus(context, command.reference));
        return;
      case 'notify':
        await context.sendActivity(
          await this.deps.referrals.setNotifyPreference(
            { teamsUserId: context.activity.from.id, name: context.activity.from.name ?? '' },
            command.preference,
            plainReference(context.activity),
          ),
        );
        return;
      case 'my-referrals': {
        const card = await this.deps.referrals.myReferralsCard(context.activity.from.id);
        await context.sendActivity({ attachments: [CardFactory.adaptiveCard(card)] });
        return;
      }
      case 'supervisors': {
        const from = context.activity.from;
        const described = await describeSender(context);
        const speaker = { id: from.id, name: from.name, aadObjectId: from.aadObjectId, email: described?.email, role: described?.userRole };
        await context.sendActivity(await this.deps.supervisorCommands.handle(channelOf(context), speaker, command));
        return;
      }
      case 'intake': {
        if (type !== 'personal' || !this.deps.intakeCommands) {
          await context.sendActivity('**intake** is for Signpost admins, in a chat with me.');
          return;
        }
        const from = context.activity.from;
        const speaker = { id: from.id, name: from.name, aadObjectId: from.aadObjectId, email: (await describeSender(context))?.email };
        await context.sendActivity(await this.deps.intakeCommands.handle(speaker, command));
        return;
      }
      case 'unknown':
        await context.sendActivity(
          MessageFactory.text("Sorry, I didn't understand that. Say **help** to see what I can do."),
        );
        return;
    }
  }

  /** Operational status, for admins only: see AdminStatus. */
  private async adminStatus(context: TurnContext, reference: string | undefined): Promise<string> {
    const from = context.activity.from;
    const admin = isAdmin(this.deps.admins, { teamsUserId: from.id, aadObjectId: from.aadObjectId, email: (await describeSender(context))?.email });
    if (!admin) return '**status** in a service channel shows its referrals; in a chat it is for Signpost admins.';
    return reference ? this.deps.adminStatus.referral(reference) : this.deps.adminStatus.overview();
  }

  /**
   * Remembers a person's 1:1 chat with Signpost and their sign-in email, so supervisors and
   * admins (configured by email) can be alerted in Teams. Once per person per process; a
   * failure here never stops what they came to do.
   */
  private async rememberContact(context: TurnContext): Promise<void> {
    const from = context.activity.from;
    if (conversationType(context) !== 'personal' || !from?.id || this.rememberedContacts.has(from.id)) return;
    if (context.activity.type !== ActivityTypes.Message && context.activity.type !== ActivityTypes.ConversationUpdate) return;
    try {
      // When Teams does not say, the chat is still worth remembering by Teams id.
      await this.deps.contacts.remember({
        teamsUserId: from.id,
        aadObjectId: from.aadObjectId,
        name: from.name,
        email: (await describeSender(context))?.email,
        personalConversation: plainReference(context.activity),
        updatedAt: this.deps.now().toISOString(),
      });
      this.rememberedContacts.add(from.id);
    } catch (error) {
      this.deps.logger.warn('contact-not-remembered', { errorName: (error as Error).name });
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

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
