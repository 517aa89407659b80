import type { AuditEvent, Referral } from '../../domain/referral/referral';
import type { ForegroundTurns } from '../app/foregroundTurns';
import { applyTransition, AppliedAction, isEscalationAnswer, ReferralAction } from '../../domain/referral/actions';
import { Actor, caseState, GuardedVerb, IdentifiedBy, mayAct, permittedVerbs, Person, ProgressStatus } from '../../domain/referral/lifecycle';
import { categoryWords, isRunning } from '../../domain/directory/activities';
import type { ActivityRepository } from '../../storage/activityRepository';
import type { Escalation } from '../../domain/supervision/escalation';
import { clocksMayChange } from '../../domain/supervision/policy';
import { escalationAlert, escalationAnswer, referrerQuestion } from '../../domain/supervision/messages';
import { ChangeEvent, deliveryChannels, ReferralUpdate, referralUpdate } from '../../domain/notifications/referralUpdate';
import { LinkAlreadyUsedError, ReferralConflictError, ReferralRepository, StoredReferral } from '../../storage/referralRepository';
import type { OutboxMessage, OutboxRepository } from '../../storage/outboxRepository';
import type { ServiceQueueRepository } from '../../storage/serviceQueueRepository';
import type { ReferrerRepository } from '../../storage/referrerRepository';
import type { DirectoryRepository } from '../../storage/directoryRepository';
import type { ContactRepository } from '../../storage/contactRepository';
import type { Logger } from '../app/log';
import { channelPostMessage, ChannelPlace, ServiceChannels } from '../channels/serviceChannels';
import type { LinkWorkerRoster } from '../channels/roster';
import type { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import { clocksMessage, Supervision } from '../supervision/supervision';

/**
 * The one path for every action on a referral, whatever surface it came from (a Teams card, an
 * email, the tab): who the actor is to this referral, whether they may do it, what changes,
 * and writing the change with its eTag, audit event and outbox messages in one transaction.
 * Surfaces only parse their input into a typed action and show the outcome.
 */

/** Someone a surface has identified, and how. Roles are decided here, not by the surface. */
export interface ActingPerson {
  /** Teams user id for Teams; the verified address for email. */
  id: string;
  name: string;
  email?: string;
  aadObjectId?: string;
  identifiedBy: IdentifiedBy;
  /** A Teams click: the channel it came from. A referral card acts only from its service's channel. */
  teamsChannel?: ChannelPlace;
}

/** What a surface may ask for: the domain's actions, with an assignee named by id, and a view. */
export type RequestedAction =
  | Exclude<ReferralAction, { verb: 'assign' } | { verb: 'update' }>
  | { verb: 'assign'; assigneeId: string }
  /** An activity chosen from the directory is named by its id, checked against the directory here. */
  | { verb: 'update'; status: ProgressStatus; activity?: string; activityId?: string }
  | { verb: 'view-contact' };

export type ActionOutcome =
  | { kind: 'not-found'; notice: string }
  | { kind: 'changed' | 'unchanged' | 'refused' | 'stale'; referral: Referral; notice: string; escalation?: Escalation }
  | { kind: 'contact-details'; referral: Referral };

/** A referrer's question, as it was emailed to the person reading it; or why it is not shown. */
export type QuestionReading = { kind: 'not-found' | 'refused'; notice: string } | { kind: 'question'; referral: Referral; question: string };

/**
 * A referral as one person may see it on a shared card: the actions the permission table allows
 * them now (what their buttons offer), and whether they referred it. Nothing changes.
 */
export type ReferralView =
  | { kind: 'not-found'; notice: string }
  | { kind: 'view'; referral: Referral; viewerId: string; verbs: GuardedVerb[]; isLinkWorker: boolean; isReferrer: boolean };

/** A referrer's update card as it was sent, with the referral as it stands now. */
export type ReferrerUpdateView = { kind: 'not-found' | 'refused'; notice: string } | { kind: 'view'; update: ReferralUpdate; referral: Referral; verbs: GuardedVerb[] };

/** Which shared card a view is for: each shows the actions of some roles only. */
export type SharedCard = 'channel-card' | 'escalation-alert' | 'referrer-update' | 'any';

const ROLES_SHOWN: Record<SharedCard, Array<'link-worker' | 'supervisor'>> = {
  // The channel card offers link workers' actions; answering an escalation is the alert's.
  'channel-card': ['link-worker'],
  'escalation-alert': ['supervisor'],
  // The referrer's own card: whether they referred it is all it asks.
  'referrer-update': [],
  any: ['link-worker', 'supervisor'],
};

export interface ReferralActionDependencies {
  /** Turns being answered now: the shared card redrawn behind a click lets them go first. */
  foreground?: ForegroundTurns;
  referrals: ReferralRepository;
  /** Sent updates stay in the outbox: a referrer's card is refreshed from what it said. */
  outbox: OutboxRepository;
  queue: ServiceQueueRepository;
  referrers: ReferrerRepository;
  directory: DirectoryRepository;
  activities: ActivityRepository;
  contacts: ContactRepository;
  channelLinks: ServiceChannelRepository;
  channels: ServiceChannels;
  roster: LinkWorkerRoster;
  supervision: Supervision;
  logger: Logger;
  now: () => Date;
  /** Called after a change queued notifications, so they go out now rather than at the next poll. */
  notificationsQueued?: () => void;
  /** A service's intake email addresses: someone identified by one of them is its link worker. */
  intakeAddresses?: (serviceId: string) => Promise<string[]>;
}

/** Surfaces that identify a person by a verified email address. */
const BY_EMAIL: ReadonlySet<IdentifiedBy> = new Set(['email-link', 'actionable-message']);

/** How a change came, beyond who made it: an email link's id, so the link makes one change only. */
export interface ActOptions {
  linkId?: string;
}

const STALE = 'This card was out of date, so nothing changed. Here is the referral as it stands now.';
const NO_REFERRAL = 'This card does not match any referral in Signpost, so nothing changed.';
const NO_ESCALATION = 'This alert does not match any escalation in Signpost, so nothing changed.';

export class ReferralActions {
  constructor(private readonly deps: ReferralActionDependencies) {}

  /**
   * Acts on a referral. `expectedVersion` is the version the actor saw (a card's); a different
   * stored version changes nothing. Undefined (an escalation alert, which is not tied to a
   * version) acts on the current version, retried once if it changes meanwhile.
   */
  async act(person: ActingPerson, referralId: string, expectedVersion: number | undefined, requested: RequestedAction, options: ActOptions = {}): Promise<ActionOutcome> {
    for (let attempt = 0; ; attempt += 1) {
      const stored = await this.deps.referrals.get(referralId);
      const answering = requested.verb.startsWith('escalation-');
      if (!stored) return { kind: 'not-found', notice: answering ? NO_ESCALATION : NO_REFERRAL };
      if (expectedVersion !== undefined && expectedVersion !== stored.referral.version) return { kind: 'stale', referral: stored.referral, notice: STALE };
      const actor = await this.identify(person, stored.referral, answering ? ['supervisor'] : ['link-worker']);
      if (requested.verb === 'view-contact') return this.showContactDetails(actor, stored.referral);

      const action = await this.resolve(requested, stored.referral, actor);
      if ('error' in action) return { kind: 'refused', referral: stored.referral, notice: action.error };
      const at = this.deps.now().toISOString();
      const applied = applyTransition(stored.referral, action, actor, at);
      const escalation = isEscalationAnswer(action) ? stored.referral.escalations?.find((candidate) => candidate.id === action.escalationId) : undefined;
      if (answering && !escalation) return { kind: 'not-found', notice: NO_ESCALATION };
      if (!applied.ok) return { kind: 'refused', referral: stored.referral, notice: `Nothing changed: ${applied.error}`, escalation };
      if (!applied.changed) return { kind: 'unchanged', referral: stored.referral, notice: applied.summary, escalation: applied.escalation };

      try {
        return await this.store(stored, action, actor, applied, at, options);
      } catch (error) {
        if (error instanceof LinkAlreadyUsedError) return { kind: 'refused', referral: stored.referral, notice: 'This link has already been used, so nothing changed.' };
        if (!(error instanceof ReferralConflictError)) throw error;
        if (expectedVersion === undefined && attempt === 0) continue;
        return this.afterConflict(stored, action, actor, expectedVersion === undefined);
      }
    }
  }

  /** The referral as it stands, for a surface that must show it without acting. */
  async current(referralId: string): Promise<Referral | undefined> {
    return (await this.deps.referrals.get(referralId))?.referral;
  }

  /**
   * The referral as this person may see it on a shared card (the channel's card, an escalation
   * alert, a referrer's update): their roles decided as for act(), their actions from the same
   * permission table, so a button is shown exactly when pressing it would be allowed.
   */
  async viewFor(person: ActingPerson, referralOrId: string | Referral, card: SharedCard = 'any'): Promise<ReferralView> {
    const referral = typeof referralOrId === 'string' ? await this.current(referralOrId) : referralOrId;
    if (!referral) return { kind: 'not-found', notice: NO_REFERRAL };
    // Only the roles the card can show anything for are looked up: every click on the channel
    // card is answered with this view, and the supervisor check costs two reads it would not use.
    const actor = await this.identify(person, referral, ROLES_SHOWN[card]);
    const state = caseState(referral);
    const verbs = permittedVerbs(state, actor);
    // Answering belongs to the alert, not the referral card: whether an escalation is still open is the alert's to show.
    if (mayAct('escalation-answer', state, actor)) verbs.push('escalation-answer');
    return { kind: 'view', referral, viewerId: person.id, verbs, isLinkWorker: actor.isLinkWorker, isReferrer: Boolean(actor.isReferrer) };
  }

  /**
   * The update a referrer was sent in Teams about one version of their referral, for their eyes
   * only, with the referral as it stands now (the card refreshes to show where it got to).
   */
  async referrerUpdateView(person: ActingPerson, referralId: string, version: number): Promise<ReferrerUpdateView> {
    const view = await this.viewFor(person, referralId, 'referrer-update');
    if (view.kind === 'not-found') return view;
    if (!view.isReferrer) return { kind: 'refused', notice: 'Only the person who made this referral sees its updates.' };
    const sent = await this.deps.outbox.get(referralId, `${referralId}:${version}:teams`);
    if (!sent) return { kind: 'not-found', notice: 'This update is no longer held by Signpost. Say "my referrals" to see where your referrals stand.' };
    return { kind: 'view', update: sent.payload as unknown as ReferralUpdate, referral: view.referral, verbs: view.verbs };
  }

  /** The actor's roles on this referral that an action or a view needs: what the permission table is asked about. */
  private async identify(person: ActingPerson, referral: Referral, roles: Array<'link-worker' | 'supervisor'>): Promise<Actor> {
    const actor: Actor = {
      id: person.id,
      name: person.name,
      ...(person.email ? { email: person.email } : {}),
      isLinkWorker: false,
      isReferrer: isReferrer(person, referral),
      identifiedBy: person.identifiedBy,
    };
    const [member, isSupervisor] = await Promise.all([
      roles.includes('link-worker') ? this.linkWorker(person, referral.serviceId) : undefined,
      roles.includes('supervisor') ? this.supervisor(person, referral.serviceId) : undefined,
    ]);
    if (isSupervisor !== undefined) actor.isSupervisor = isSupervisor;
    if (member) {
      actor.isLinkWorker = true;
      if (member.email) actor.email = member.email;
      // Someone signed in to the tab acts as their Teams self, so owning a case is one identity.
      if (person.identifiedBy === 'tab' && member.id) actor.id = member.id;
    }
    return actor;
  }

  /** A supervisor of the service (by Teams id or sign-in email), or a Signpost admin. */
  private async supervisor(person: ActingPerson, serviceId: string): Promise<boolean> {
    const email = person.email ?? (await this.deps.contacts.byTeamsId(person.id))?.email;
    const who = { teamsUserId: person.id, aadObjectId: person.aadObjectId, email };
    return (await this.deps.supervision.isSupervisor(serviceId, who)) || this.deps.supervision.isAdmin(who);
  }

  /**
   * A link worker is a member of the team whose channel serves the service. A Teams click must
   * also come from that channel: the card lives there, so a click from anywhere else is forged.
   */
  private async linkWorker(person: ActingPerson, serviceId: string): Promise<{ id?: string; email?: string } | undefined> {
    // The tab: a verified sign-in, found in the service team's roster by object id or email.
    if (person.identifiedBy === 'tab') return this.deps.roster.signedInMember(serviceId, { aadObjectId: person.aadObjectId, email: person.email });
    // By email: the verified address must be one the service takes referrals at.
    if (BY_EMAIL.has(person.identifiedBy)) {
      const email = person.email?.toLowerCase();
      return email && (await this.deps.intakeAddresses?.(serviceId))?.includes(email) ? { email } : undefined;
    }
    if (person.identifiedBy !== 'teams' || !person.teamsChannel) return undefined;
    const link = await this.deps.channelLinks.forService(serviceId);
    if (!link || link.channelId !== person.teamsChannel.channelId || link.teamId !== person.teamsChannel.teamId) return undefined;
    return this.deps.roster.member(serviceId, person.id);
  }

  /** Turns what the surface asked for into a domain action, checking targets against the roster. */
  private async resolve(requested: Exclude<RequestedAction, { verb: 'view-contact' }>, referral: Referral, actor: Actor): Promise<ReferralAction | { error: string }> {
    if (requested.verb === 'update') return this.resolveActivity(requested, referral, actor);
    if (requested.verb !== 'assign') return requested;
    // Authorised before the roster is consulted, so an outsider learns nothing about the team.
    if (!mayAct('assign', caseState(referral), actor)) return { error: "Nothing changed: Only the service's link workers can act on this referral." };
    const member = (await this.deps.roster.members(referral.serviceId)).find((candidate) => candidate.id === requested.assigneeId);
    if (!member) return { error: 'Nothing changed: that person is not a member of this team.' };
    const to: Person = { id: member.id, name: member.name, ...(member.email ? { email: member.email } : {}) };
    return { verb: 'assign', to };
  }

  /** An activity chosen on the card must be in the activities directory and running: a forged, removed or stopped one changes nothing. */
  private async resolveActivity(requested: Extract<RequestedAction, { verb: 'update' }>, referral: Referral, actor: Actor): Promise<ReferralAction | { error: string }> {
    const { activityId, ...update } = requested;
    if (!activityId) return update;
    if (!mayAct('update', caseState(referral), actor)) return { error: "Nothing changed: Only the service's link workers can act on this referral." };
    const activity = await this.deps.activities.get(activityId);
    if (!activity) return { error: 'Nothing changed: that activity is not in the activities directory (it may have been removed). Choose another, or describe it in words.' };
    // Chosen from a card drawn before its maintainers said it had stopped.
    if (!isRunning(activity)) return { error: 'Nothing changed: that activity has stopped running, so it is no longer offered. Choose another, or describe it in words.' };
    const listedActivity = { id: activity.id, name: activity.name, organisation: activity.organisation, categories: categoryWords(activity), illustrative: activity.illustrative };
    return { ...update, listedActivity };
  }

  private async store(stored: StoredReferral, action: ReferralAction, actor: Actor, applied: Extract<AppliedAction, { changed: true }>, at: string, options: ActOptions): Promise<ActionOutcome> {
    const { next, summary } = applied;
    const before = stored.referral;
    const serviceName = (await this.deps.directory.get(next.serviceId))?.name ?? next.serviceId;
    // A change that may start a clock carries the message that starts it, in its transaction.
    // An escalation's re-alert is stored before the escalation, while the alerts are composed.
    const [messages] = await Promise.all([
      this.messagesFor(action, actor, applied, serviceName, at),
      action.verb === 'escalate' ? this.deps.supervision.scheduleRealert(next, applied.escalation!, at) : undefined,
    ]);
    const outbox = clocksMayChange(before, next) ? [...messages, clocksMessage(next)] : messages;
    const event: AuditEvent = {
      referralId: next.id,
      at,
      actor: { id: actor.id, name: actor.name },
      action: applied.audit.action,
      detail: { ...applied.audit.detail, via: actor.identifiedBy ?? 'teams', ...byEmail(actor), ...(action.verb === 'escalate' ? { recipients: messages.length } : {}) },
    };
    const saved = await this.deps.referrals.update(next, stored.etag, event, outbox, { usedLinkId: options.linkId });
    this.deps.logger.info('referral-action', { verb: action.verb, reference: next.reference, status: next.status, via: actor.identifiedBy ?? 'teams' });

    if (action.verb === 'redirect') {
      // The old service's queue keeps the entry, marked, so its status count stays right.
      await this.deps.queue.mark(before.serviceId, next.reference, 'redirected');
    }
    this.deps.notificationsQueued?.();
    const notice =
      action.verb === 'escalate'
        ? messages.length
          ? `${summary}. The supervisors have been alerted; their answer will appear here.`
          : `${summary}, but nobody can be alerted: the service has no supervisors and Signpost has no admins. Tell your manager directly.`
        : isEscalationAnswer(action)
          ? `${summary}. The link worker has been told.`
          : action.verb === 'ask-question'
            ? `Your question was sent to ${next.owner ? next.owner.name : `${serviceName}'s link workers`}. Their answer will come to you as an update.`
            : `${summary}.`;
    // Behind the reply: the change is stored and announced; the shared card catching up a moment
    // later costs the clicker nothing (a failure is logged, and the next click refreshes it).
    // A question changes nothing the channel's card shows.
    if (action.verb !== 'ask-question') {
      const post = before.channelPost ?? saved.referral.channelPost;
      void (this.deps.foreground?.quiet() ?? Promise.resolve()).then(() => this.refreshChannelCard(saved.referral, post, isEscalationAnswer(action) ? `${summary}.` : notice));
    }
    return { kind: 'changed', referral: saved.referral, notice, escalation: applied.escalation };
  }

  /** The notifications a change causes, written in its transaction. */
  private async messagesFor(action: ReferralAction, actor: Actor, applied: Extract<AppliedAction, { changed: true }>, serviceName: string, at: string): Promise<OutboxMessage[]> {
    const { next, escalation } = applied;
    const { supervision } = this.deps;
    switch (action.verb) {
      case 'record-swemwbs':
      case 'record-ons4':
      case 'record-goals':
        return []; // outcome scores are reported when the case closes
      case 'escalate':
        return supervision.outboxFor(
          [{ audience: { to: 'supervisors', reason: escalation!.reason }, message: escalationAlert(next, escalation!, serviceName, at, supervision.calendar.hours.timeZone) }],
          next.serviceId,
          `escalation:${escalation!.id}`,
        );
      case 'escalation-acknowledge':
      case 'escalation-take-over':
      case 'escalation-advice': {
        const answered = supervision.outboxFor(
          [{ audience: { to: 'person', person: escalation!.raisedBy }, message: escalationAnswer(next, escalation!, applied.summary, serviceName, at, applied.takeOver) }],
          next.serviceId,
          `escalation:${escalation!.id}:${action.verb.slice('escalation-'.length)}`,
        );
        // A new owner is news for the referrer, as when a case is assigned.
        return [...(await answered), ...(applied.takeOver ? await referrerUpdates(this.deps, next, { verb: 'assign', actorName: actor.name }) : [])];
      }
      case 'ask-question':
        // To the owner where there is one (Teams 1:1 and email, as staff messages go); else to the service's channel and inboxes.
        return supervision.outboxFor(
          [{ audience: next.owner ? { to: 'person', person: next.owner } : { to: 'channel' }, message: referrerQuestion(next, action.questionId, action.question, serviceName, at) }],
          next.serviceId,
          `question:${action.questionId}`,
        );
      default: {
        const toReferrer = await referrerUpdates(this.deps, next, { verb: action.verb, actorName: actor.name, ...(action.verb === 'update' ? { activity: action.activity, listedActivity: action.listedActivity } : {}) });
        // A redirected referral goes to its new service's channel through the outbox, like a new one.
        return action.verb === 'redirect' ? [...toReferrer, channelPostMessage(next)] : toReferrer;
      }
    }
  }

  /** Someone changed the referral at the same moment and won: say what happened instead. */
  private async afterConflict(stored: StoredReferral, action: ReferralAction, actor: Actor, retried: boolean): Promise<ActionOutcome> {
    const current = (await this.deps.referrals.get(stored.referral.id))?.referral ?? stored.referral;
    if (retried) return { kind: 'refused', referral: current, notice: 'The referral kept changing while you answered, so nothing changed. Please try again.' };
    if (action.verb === 'escalate') {
      return { kind: 'refused', referral: current, notice: 'Someone changed this referral at the same moment, so it was not escalated. Here it is now; escalate again if you still need to.' };
    }
    const again = applyTransition(current, action, actor, this.deps.now().toISOString());
    const notice = !again.ok ? `Nothing changed: ${again.error}` : !again.changed ? again.summary : 'Someone changed this referral at the same moment, so nothing changed. Here it is now.';
    return { kind: 'refused', referral: current, notice };
  }

  /**
   * The person's contact details, for a link worker of the service only. Nothing changes, but
   * every view is audited; the surface shows them to the asker alone.
   */
  private async showContactDetails(actor: Actor, referral: Referral): Promise<ActionOutcome> {
    if (!mayAct('view-contact', caseState(referral), actor)) return { kind: 'refused', referral, notice: "Only the service's link workers can see contact details." };
    if (referral.status === 'declined') return { kind: 'refused', referral, notice: 'This referral was declined; its contact details are no longer shown.' };
    if (referral.deidentified) return { kind: 'refused', referral, notice: `The person's details were removed from Signpost on ${referral.deidentified.at.slice(0, 10)}.` };
    await this.deps.referrals.appendEvent({
      referralId: referral.id,
      at: this.deps.now().toISOString(),
      actor: { id: actor.id, name: actor.name },
      action: 'referral.contact-details-shown',
      detail: { summary: `Contact details viewed by ${actor.name}`, via: actor.identifiedBy ?? 'teams', ...byEmail(actor) },
    });
    this.deps.logger.info('contact-details-shown', { reference: referral.reference });
    return { kind: 'contact-details', referral };
  }

  /**
   * A referrer's question as it was emailed to this person: their own copy in the outbox, so a
   * link shows only what was sent to its recipient. Reading needs the standing contact details
   * need (the text may name the person), and every reading is audited.
   */
  async readQuestion(person: ActingPerson, referralId: string, questionId: string): Promise<QuestionReading> {
    const referral = await this.current(referralId);
    if (!referral) return { kind: 'not-found', notice: NO_REFERRAL };
    const actor = await this.identify(person, referral, ['link-worker']);
    if (!mayAct('view-contact', caseState(referral), actor) || !actor.email) return { kind: 'refused', notice: "Only the service's link workers can read the referrer's questions." };
    const sent = await this.deps.outbox.get(referral.id, `question:${questionId}:${actor.email}:email`);
    const question = (sent?.payload as { message?: { privateNote?: unknown } } | undefined)?.message?.privateNote;
    if (typeof question !== 'string') return { kind: 'not-found', notice: 'This question is no longer held by Signpost.' };
    await this.deps.referrals.appendEvent({
      referralId: referral.id,
      at: this.deps.now().toISOString(),
      actor: { id: actor.id, name: actor.name },
      action: 'referral.question-read',
      detail: { summary: `The referrer's question read by ${actor.name}`, questionId, via: actor.identifiedBy ?? 'teams', ...byEmail(actor) },
    });
    return { kind: 'question', referral, question };
  }

  /** Everyone in the channel sees the same card: the posted card is replaced in place. */
  private async refreshChannelCard(referral: Referral, post: Referral['channelPost'], notice: string): Promise<void> {
    try {
      await this.deps.channels.refreshPostedCard(referral, post, notice);
    } catch (error) {
      // The change is stored and announced; the card catches up at the next click.
      this.deps.logger.warn('card-update-failed', { reference: referral.reference, errorName: (error as Error).name });
    }
  }
}

/** The person who made the referral: by their Teams id in Teams, by the address it records for them by email. */
function isReferrer(person: ActingPerson, referral: Referral): boolean {
  if (person.identifiedBy === 'teams') return person.id === referral.referrer.teamsUserId;
  return BY_EMAIL.has(person.identifiedBy) && Boolean(person.email) && person.email!.toLowerCase() === referral.referrer.email.toLowerCase();
}

/** An action that came by email records the staff address it came from ('email' is kept for the person's own). */
function byEmail(actor: Actor): { fromAddress?: string } {
  return actor.identifiedBy && BY_EMAIL.has(actor.identifiedBy) && actor.email ? { fromAddress: actor.email } : {};
}

/**
 * What the referrer hears about a change, to be written in the same transaction as the change:
 * one message per channel they chose (Teams by default), keyed by referral and version.
 */
async function referrerUpdates(
  deps: { referrers: ReferrerRepository; directory: DirectoryRepository },
  referral: Referral,
  change: ChangeEvent,
): Promise<OutboxMessage[]> {
  const [profile, services] = await Promise.all([deps.referrers.get(referral.referrer.teamsUserId), deps.directory.list()]);
  const names = new Map(services.map((service) => [service.id, service.name]));
  const wait = services.find((service) => service.id === referral.serviceId)?.waitingTimeWeeks.value ?? null;
  const update = referralUpdate(referral, change, names, wait);
  return deliveryChannels(profile?.notify).map((channel) => ({
    key: `${referral.id}:${referral.version}:${channel}`,
    channel,
    payload: update as unknown as Record<string, unknown>,
    // One after another, in the order of the changes, even when one has to be tried again.
    lane: `referrer:${channel}`,
  }));
}
