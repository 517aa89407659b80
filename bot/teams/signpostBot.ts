import {
  ActivityTypes,
  AdaptiveCardInvokeResponse,
  AdaptiveCardInvokeValue,
  CardFactory,
  ConversationState,
  InvokeResponse,
  MessageFactory,
  MessagingExtensionAction,
  MessagingExtensionActionResponse,
  MessagingExtensionQuery,
  MessagingExtensionResponse,
  PrivateConversationState,
  StatePropertyAccessor,
  TeamsActivityHandler,
  TurnContext,
  UserState,
} from 'botbuilder';
import { DialogContext, DialogSet, DialogState } from 'botbuilder-dialogs';
import { welcomeCard } from '../../cards/welcome';
import { checkBeforeLastingChanges, clickedCurrentCard, FORM_STEP_VERB, formAnswer, formNoticeCard, formSubmission, isCancelText, showFormCard, tellFormClick } from '../../dialogs/cardStepPrompt';
import { draftInProgress, REFERRAL_DIALOG, ReferralDialog, ReferralStart } from '../../dialogs/referral/referralDialog';
import type { ReferralService } from '../referrals/referralService';
import type { ServiceChannels } from '../channels/serviceChannels';
import { SEARCH_INVOKE, type TeamsCardActions } from './cardActions';
import type { AdminStatus } from '../app/adminStatus';
import { parseCommand } from './commands';
import type { Logger } from '../app/log';
import type { SupervisorCommands } from '../supervision/supervisorCommands';
import type { DirectoryCommands } from '../directory/directoryCommands';
import type { IntakeCommands } from '../email/intakeCommands';
import { channelOf, channelReference, conversationType } from './places';
import { describeSender, speakerOf } from './members';
import { plainReference } from './proactive';
import { isAdmin } from '../supervision/supervision';
import type { ContactRepository } from '../../storage/contactRepository';
import type { CachedCopy, CachedStateStore } from '../../storage/cachedStateStore';
import { StateConflictError } from '../../storage/tableStateStore';
import type { DirectoryRepository } from '../../storage/directoryRepository';
import { actionAnswer, isReferAction, REFER_TO_SERVICE_VERB, referToServiceTarget, searchAnswer } from './messageExtension';
import { inPersonalChat } from './personalChat';
import { cardAnswer, errorAnswer, messageAnswer } from './invokeResponses';

export interface SignpostBotDependencies {
  conversationState: ConversationState;
  /** Per person per conversation: two colleagues referring in one group chat never share a form. */
  privateConversationState: PrivateConversationState;
  userState: UserState;
  /** The store under those states, when it remembers items: a form click is then answered from its copy when storage confirms it. */
  formStateCache?: CachedStateStore;
  referrals: ReferralService;
  channels: ServiceChannels;
  cardActions: TeamsCardActions;
  adminStatus: AdminStatus;
  admins: string[];
  supervisorCommands: SupervisorCommands;
  directoryCommands: DirectoryCommands;
  /** `intake`: a service's email inboxes, for admins in a personal chat. */
  intakeCommands?: IntakeCommands;
  /** Where Signpost remembers staff's 1:1 chats, so reminders and alerts can reach them. */
  contacts: ContactRepository;
  /** The directory the compose box search reads. */
  directory: DirectoryRepository;
  /** Entries not checked for this many days are marked out of date. */
  verificationMaxAgeDays: number;
  /** The bot's app id, for turns in a referrer's 1:1 chat ('' in local mode). */
  appId: string;
  logger: Logger;
  now: () => Date;
}

/** Where botbuilder-dialogs looks for its memory configuration in turn state (its DialogStateManager's key). */
export const DIALOG_STATE_CONFIGURATION = 'DialogStateManagerConfiguration';

/** Said about a click on a form card whose form is no longer in progress. */
const FORM_NOT_IN_PROGRESS =
  'That card belongs to a referral that has already been sent, was cancelled, or was started by someone else, so nothing has changed. Say **refer** to start a new one.';

/**
 * Said about a click whose form was changed elsewhere at the same moment, when the click's turn
 * had already sent a message and so cannot be answered again.
 */
const FORM_CHANGED_ELSEWHERE =
  'This form was changed somewhere else at the same moment (a second click, or Teams open on another device), so this click may not have been saved. Please carry on from the latest card.';

/** Why a form click answered from a cached copy did not count, for the log. */
class StaleFormCopy extends Error {
  constructor(readonly reason: 'unchanged' | 'not-current') {
    super(`The cached copy of the form's state did not count (${reason}).`);
  }
}

/** Where a referral form went when asked for outside the referrer's 1:1 chat. */
type PrivateForm = 'started' | 'resumed' | 'unreachable';

/**
 * The Teams face of Signpost: routes each activity to a small handler and saves state at the
 * end of every turn. Domain decisions live in domain/; this class only translates.
 */
export class SignpostBot extends TeamsActivityHandler {
  private readonly dialogState: StatePropertyAccessor<DialogState>;
  private readonly dialogs: DialogSet;
  /** People whose 1:1 chat this process has already remembered (once per person per process). */
  private readonly rememberedContacts = new Set<string>();
  /**
   * botbuilder-dialogs' memory scopes and path resolvers: the same for every turn, but gathered
   * afresh on each turn unless found in turn state, so gathered once and handed to every turn.
   */
  private dialogStateConfiguration: unknown;

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
    if (invokeValue?.action?.verb === FORM_STEP_VERB) return this.continueFormFromCard(context);
    if (invokeValue?.action?.verb === REFER_TO_SERVICE_VERB) return this.referFromServiceCard(context, invokeValue.action.data);
    return this.deps.cardActions.handle(context, invokeValue);
  }

  /**
   * A click on the referral form's card: the form takes its next step, and the answer is the
   * card that replaces the clicked one (or a sentence beside it when the click changes nothing).
   * Answered from this process's copy of the form's state when it has one that storage then
   * confirms, otherwise (and always in the end) from the state read from storage.
   */
  private async continueFormFromCard(context: TurnContext): Promise<AdaptiveCardInvokeResponse> {
    const cache = this.deps.formStateCache;
    const key = cache && this.deps.privateConversationState.getStorageKey(context);
    const copy = key ? cache!.cachedCopy(key) : undefined;
    if (copy) {
      const answer = await this.formStepFromCopy(context, cache!, copy);
      if (answer) return answer;
    }
    return this.takeFormStep(context);
  }

  /**
   * The form's step worked out on a cached copy of its state, which may be out of date (another
   * instance answered the last click, or the person's data was erased). The answer counts only
   * when storage confirms the copy: the state the step leaves is written with the copy's eTag
   * and storage accepts it (so storage still held the copy), and before the step stores a
   * referral or an audit event storage is asked whether the copy is still current. Otherwise
   * (the write refused, the item deleted, or nothing to write, as for "that card is from an
   * earlier step", which a stale copy could get wrong) the copy is dropped, the turn state is
   * put back as it was, and undefined says to answer again from storage.
   *
   * A repeat is safe: nothing beyond the state changed unless storage had just confirmed the
   * copy, and of those changes the Send's stored referral is create-only by its id, so only a
   * true race (two clicks at the same moment) could record a safety stop or declined consent
   * twice, as it could before. The one path that sends a message during a click turn (Send
   * finding the chosen service no longer matches) does so after that confirmation; if its
   * write is then refused, the message is not sent twice: the click is answered with a notice.
   */
  private async formStepFromCopy(context: TurnContext, cache: CachedStateStore, copy: CachedCopy): Promise<AdaptiveCardInvokeResponse | undefined> {
    const formState = this.deps.privateConversationState;
    const turnStateBefore = new Map(context.turnState);
    let counting = true;
    let messagesSent = 0;
    context.onSendActivities(async (_context, activities, next) => {
      if (counting) messagesSent += activities.filter((activity) => activity.type === ActivityTypes.Message).length;
      return next();
    });
    let reason: string;
    try {
      await formState.clear(context);
      copy.fill(formState.get(context)!);
      checkBeforeLastingChanges(context, async () => {
        if (!(await cache.confirm(copy))) throw new StaleFormCopy('not-current');
      });
      const answer = await this.takeFormStep(context);
      if (copy.unchanged(formState.get(context)!)) throw new StaleFormCopy('unchanged');
      await formState.saveChanges(context, false);
      return answer;
    } catch (error) {
      cache.forget(copy.key);
      const cause = underDialogError(error);
      if (cause instanceof StateConflictError) reason = 'conflict';
      else if (cause instanceof StaleFormCopy) reason = cause.reason;
      else throw error;
    } finally {
      counting = false;
    }
    this.deps.logger.info('form-copy-not-counted', { reason, messagesSent });
    // Nothing of the first attempt stays: not its answer, and not its state, which must not be saved.
    for (const key of [...context.turnState.keys()]) if (!turnStateBefore.has(key)) context.turnState.delete(key);
    for (const [key, value] of turnStateBefore) context.turnState.set(key, value);
    return messagesSent ? messageAnswer(FORM_CHANGED_ELSEWHERE) : undefined;
  }

  private async takeFormStep(context: TurnContext): Promise<AdaptiveCardInvokeResponse> {
    const dc = await this.dialogs.createContext(context);
    const type = conversationType(context);
    await dropFormInGroupChat(dc, type);
    const submitted = formSubmission(context);
    if (dc.activeDialog && submitted?.action === 'cancel' && clickedCurrentCard(dc, submitted)) {
      this.deps.logger.info('card-click', { verb: FORM_STEP_VERB, action: 'cancel', conversationType: type });
      await showFormCard(context, formNoticeCard(await this.cancelForm(dc)));
    } else if (dc.activeDialog) {
      // Anything else, a Cancel on an earlier card among it, is the form's to judge by its token.
      await dc.continueDialog();
    } else {
      await tellFormClick(context, FORM_NOT_IN_PROGRESS);
    }
    const answer = formAnswer(context);
    if (!answer) return messageAnswer('Done.');
    return 'card' in answer ? cardAnswer(answer.card) : messageAnswer(answer.notice);
  }

  /** Ends the referral form in progress; what to tell the referrer. */
  private async cancelForm(dc: DialogContext): Promise<string> {
    // A referral already stored (Send went through, but its confirmation did not arrive) is kept: say so.
    const kept = await this.deps.referrals.storedReference(draftInProgress(dc)?.referralId);
    await dc.cancelAllDialogs();
    return kept
      ? `Referral ${kept.reference} had already been sent to ${kept.serviceName} and is kept; cancelling did not withdraw it. To withdraw it, ask the service to decline it, quoting ${kept.reference}.`
      : 'Referral cancelled. Nothing about the person has been saved.';
  }

  /** The referral card's activity typeahead (Data.Query) asks here as the link worker types. */
  protected override async onInvokeActivity(context: TurnContext): Promise<InvokeResponse> {
    if (context.activity.name === SEARCH_INVOKE) {
      const answer = await this.deps.cardActions.searchActivities(context.activity.value);
      this.deps.logger.info('activity-search', { status: answer.status, results: answer.results, conversationType: conversationType(context) });
      return { status: answer.status, body: answer.body };
    }
    return super.onInvokeActivity(context);
  }

  /** The compose box search over the directory. */
  protected override async handleTeamsMessagingExtensionQuery(context: TurnContext, query: MessagingExtensionQuery): Promise<MessagingExtensionResponse> {
    const answer = searchAnswer(query, {
      services: await this.deps.directory.list(),
      now: this.deps.now(),
      verificationMaxAgeDays: this.deps.verificationMaxAgeDays,
    });
    this.deps.logger.info('directory-search', { results: answer.composeExtension?.attachments?.length ?? 0, conversationType: conversationType(context) });
    return answer;
  }

  /** "Refer to social prescribing" from a message's menu or the compose box: the form opens in the referrer's 1:1 chat. */
  protected override async handleTeamsMessagingExtensionFetchTask(context: TurnContext, action: MessagingExtensionAction): Promise<MessagingExtensionActionResponse> {
    if (!isReferAction(action)) return actionAnswer('Signpost cannot do that. Choose Refer to social prescribing.');
    return actionAnswer(privateFormNotice(await this.referPrivately(context)));
  }

  protected override async handleTeamsMessagingExtensionSubmitAction(context: TurnContext, action: MessagingExtensionAction): Promise<MessagingExtensionActionResponse> {
    return this.handleTeamsMessagingExtensionFetchTask(context, action);
  }

  /** "Refer someone" on a service card inserted from the search: the form opens privately, that service preselected. */
  private async referFromServiceCard(context: TurnContext, data: unknown): Promise<AdaptiveCardInvokeResponse> {
    const serviceId = referToServiceTarget(data);
    if (!serviceId) return errorAnswer(400, 'This card does not name a Signpost service, so nothing was started.');
    const service = await this.deps.directory.get(serviceId);
    if (!service) return errorAnswer(404, 'This service is no longer in the directory, so nothing was started. Search for it again.');
    if (!service.takesReferrals) return errorAnswer(400, `${service.name} takes no referrals, so nothing was started.`);
    const form = await this.referPrivately(context, { suggestedServiceId: service.id });
    if (form === 'unreachable') return errorAnswer(403, privateFormNotice(form));
    return messageAnswer(privateFormNotice(form));
  }

  /**
   * Opens the referral form in the referrer's 1:1 chat with Signpost (or shows where they were in
   * one already started there). Nothing about the person is ever asked or shown where this was
   * asked from: a group or meeting chat, or any conversation's compose box.
   */
  private async referPrivately(context: TurnContext, start: ReferralStart = {}): Promise<PrivateForm> {
    const from = context.activity.from;
    const known = (await this.deps.contacts.byTeamsId(from.id))?.personalConversation;
    // Teams refusing the chat (the app is not available to them, a guest...) is told to the person;
    // anything else, such as storage not answering, fails the turn as usual.
    let inChat = false;
    let refusedSend: unknown;
    let opened: Awaited<ReturnType<typeof inPersonalChat<boolean>>>;
    try {
      opened = await inPersonalChat(context, this.deps.appId, known, async (personal) => {
        inChat = true;
        personal.onSendActivities(async (_context, _activities, next) => {
          try {
            return await next();
          } catch (error) {
            refusedSend = error;
            throw error;
          }
        });
        const dc = await this.dialogs.createContext(personal);
        let resumed = false;
        if (dc.activeDialog) {
          await personal.sendActivity('You have a referral in progress: here is where you were. Say **cancel** to start again.');
          await dc.repromptDialog();
          resumed = true;
        } else {
          await dc.beginDialog(REFERRAL_DIALOG, start);
        }
        await this.deps.privateConversationState.saveChanges(personal, false);
        return resumed;
      });
    } catch (error) {
      const refused = !inChat || (refusedSend !== undefined && underDialogError(error) === refusedSend);
      if (!refused) throw error;
      this.deps.logger.warn('personal-chat-unreachable', { status: connectorStatus(refusedSend ?? error) });
      this.deps.logger.info('referral-form-private', { from: conversationType(context), form: 'unreachable' });
      return 'unreachable';
    }
    if (opened.created) {
      await this.deps.contacts.remember({ teamsUserId: from.id, aadObjectId: from.aadObjectId, name: from.name, personalConversation: opened.created, updatedAt: this.deps.now().toISOString() });
    }
    const form = opened.value ? 'resumed' : 'started';
    this.deps.logger.info('referral-form-private', { from: conversationType(context), form });
    return form;
  }

  override async run(context: TurnContext): Promise<void> {
    // Alongside the turn, not before it: when storage does not answer, waiting for this first
    // would double the time before the user hears so.
    const remembering = this.rememberContact(context);
    if (this.dialogStateConfiguration) context.turnState.set(DIALOG_STATE_CONFIGURATION, this.dialogStateConfiguration);
    try {
      await super.run(context);
      this.dialogStateConfiguration ??= context.turnState.get(DIALOG_STATE_CONFIGURATION);
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
    const type = conversationType(context);
    const command = parseCommand(text);
    if (command.name === 'help' && !submitted) {
      // The same answer whether or not a form is in progress, so no need to read where it is.
      this.deps.logger.info('message', { command: command.name, conversationType: type });
      await this.sendWelcome(context);
      return;
    }
    const dc = await this.dialogs.createContext(context);

    // A Cancel button works only on the card in progress; on an earlier one the form says it is ignored.
    if (isCancelText(text) || (submitted?.action === 'cancel' && (!dc.activeDialog || clickedCurrentCard(dc, submitted)))) {
      this.deps.logger.info('message', { command: 'cancel', conversationType: type, dialogActive: Boolean(dc.activeDialog) });
      await context.sendActivity(dc.activeDialog ? await this.cancelForm(dc) : 'There is nothing in progress to cancel. Say **refer** to start a referral.');
      return;
    }

    await dropFormInGroupChat(dc, type);
    if (dc.activeDialog) {
      if (command.name === 'refer') {
        await context.sendActivity('You have a referral in progress: here is where you were. Say **cancel** to start again.');
        await dc.repromptDialog();
        return;
      }
      await dc.continueDialog();
      return;
    }

    if (submitted) {
      // A click on a card whose form has finished, was cancelled, or belongs to a colleague.
      await context.sendActivity(FORM_NOT_IN_PROGRESS);
      return;
    }

    this.deps.logger.info('message', { command: command.name, conversationType: type });
    switch (command.name) {
      case 'refer':
        if (type === 'channel') {
          await context.sendActivity(
            "Referrals are made in a chat with me, so the person's details stay out of the channel. Open a chat with Signpost and say **refer**.",
          );
          return;
        }
        if (type !== 'personal') {
          // A group or meeting chat: the form goes to the referrer's own chat; the group hears only that it did.
          const form = await this.referPrivately(context);
          const name = context.activity.from.name?.trim();
          await context.sendActivity(`${name ? `${name}, ` : ''}${privateFormNotice(form, Boolean(name))}`);
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
        await context.sendActivity(await this.deps.supervisorCommands.handle(channelOf(context), await speakerOf(context), command));
        return;
      }
      case 'wait':
      case 'pause':
      case 'reopen':
      case 'maintainers':
      case 'verify':
        await context.sendActivity(await this.deps.directoryCommands.handle(channelOf(context), await speakerOf(context), command));
        return;
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

/** What the referrer is told where they asked, in the group or in Teams' message box. */
function privateFormNotice(form: PrivateForm, lowerCaseStart = false): string {
  const sentence =
    form === 'started'
      ? "I've opened the referral form in your chat with Signpost, so the person's details stay out of this conversation."
      : form === 'resumed'
        ? 'You already have a referral in progress in your chat with Signpost: carry on there.'
        : "I couldn't open a chat with you, so no form was started. Open Signpost from Apps in Teams and say refer in its chat.";
  return lowerCaseStart && !sentence.startsWith('I') ? sentence.charAt(0).toLowerCase() + sentence.slice(1) : sentence;
}

/** A form begun in a group chat before forms moved to private chats is never carried on in front of the group. */
async function dropFormInGroupChat(dc: DialogContext, type: string): Promise<void> {
  if (dc.activeDialog && type === 'groupChat') await dc.cancelAllDialogs();
}

/** The error a dialog threw, from under botbuilder-dialogs' DialogContextError (which keeps it as `error`). */
function underDialogError(error: unknown): unknown {
  let cause = error;
  for (let depth = 0; depth < 5 && cause instanceof Error && cause.name === 'DialogContextError'; depth += 1) cause = (cause as { error?: unknown }).error;
  return cause;
}

/** The HTTP status the Bot Connector answered with, for the log. */
function connectorStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown })?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
