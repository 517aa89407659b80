import type { ReferralDraft } from '../../dialogs/referral/draft';
import { myReferralsCard } from '../../cards/myReferralsCard';
import { NOTIFY_PREFERENCES, NotifyPreference } from '../../domain/notifications/referralUpdate';
import { type DirectoryService, longDate } from '../../domain/directory/schema';
import { matchPerson, MatchResult, ServiceMatch } from '../../domain/eligibility/matcher';
import { PersonFacts, personFactsSchema } from '../../domain/eligibility/facts';
import { ageOn, Referral } from '../../domain/referral/referral';
import type { ReferralRepository } from '../../storage/referralRepository';
import type { ReferenceCounter } from '../../storage/referenceCounter';
import { channelPostMessage } from '../channels/serviceChannels';
import { clocksMessage } from '../supervision/supervision';
import type { ReferrerProfile, ReferrerRepository } from '../../storage/referrerRepository';

/**
 * The referral dialog's back end: turns a finished draft into a stored, routed referral and
 * answers the questions the cards ask (which services match, what a service is called).
 * It holds no Bot Framework types, so it moves unchanged to another bot SDK.
 */

/** One service as a card shows it. */
export interface ServiceMatchView {
  serviceId: string;
  name: string;
  wait: string;
  unverified: boolean;
  verifiedOn: string;
  reasons: string[];
}

export interface MatchView {
  urgent: boolean;
  headline: string;
  eligible: ServiceMatchView[];
  nearMiss: ServiceMatchView[];
  fallback: { title: string; detail: string } | null;
  choices: Array<{ title: string; value: string }>;
}

export interface SubmittedReferral {
  referralId: string;
  reference: string;
  serviceId: string;
  serviceName: string;
  wait: string;
  /** What happens next. */
  nextSteps: string[];
}

export class ReferralNoLongerValidError extends Error {
  readonly code = 'ReferralNoLongerValid';
}

export interface ReferralServiceDependencies {
  now: () => Date;
  directory: { list(): Promise<DirectoryService[]> };
  referrals: ReferralRepository;
  references: ReferenceCounter;
  referrers: ReferrerRepository;
  nearMissYears?: number;
  verificationMaxAgeDays?: number;
  /** Which services have a Teams channel, for telling the referrer where the referral went. */
  channelLinks: { forService(serviceId: string): Promise<unknown | undefined> };
  /** Called after messages were queued (the channel post), so they go out now. */
  notificationsQueued?: () => void;
}

/** Who is sending, from the Teams activity, and how to reach them later. */
export interface Sender {
  teamsUserId: string;
  aadObjectId?: string;
  conversation: Record<string, unknown>;
}

export class ReferralService {
  constructor(private readonly deps: ReferralServiceDependencies) {}

  now(): Date {
    return this.deps.now();
  }

  async rememberedReferrer(teamsUserId: string): Promise<ReferrerProfile | undefined> {
    return this.deps.referrers.get(teamsUserId);
  }

  /** `notify teams|email|both`: how the referrer hears about their referrals. Answers in words. */
  async setNotifyPreference(who: { teamsUserId: string; name: string }, preference: string, conversation: Record<string, unknown>): Promise<string> {
    const known = await this.deps.referrers.get(who.teamsUserId);
    if (!(NOTIFY_PREFERENCES as readonly string[]).includes(preference)) {
      return `Updates on your referrals come ${describePreference(known?.notify)}. Say **notify teams**, **notify email** or **notify both** to change it.`;
    }
    const choice = preference as NotifyPreference;
    if (choice !== 'teams' && !known?.email) {
      return 'I do not have your email address yet: it is taken from your first referral. Until then, updates come here in Teams.';
    }
    await this.deps.referrers.save({
      teamsUserId: who.teamsUserId,
      name: known?.name ?? who.name,
      email: known?.email ?? '',
      practice: known?.practice ?? '',
      ...known,
      notify: choice,
      conversation: known?.conversation ?? conversation,
      updatedAt: this.deps.now().toISOString(),
    });
    return `Done: updates on your referrals will come ${describePreference(choice)}.`;
  }

  /** The card for `my referrals`. */
  async myReferralsCard(teamsUserId: string): Promise<Record<string, unknown>> {
    const [referrals, services] = await Promise.all([this.deps.referrals.listForReferrer(teamsUserId), this.deps.directory.list()]);
    return myReferralsCard(referrals, new Map(services.map((service) => [service.id, service.name])), this.deps.now());
  }

  async serviceName(serviceId: string | undefined): Promise<string | undefined> {
    if (!serviceId) return undefined;
    return (await this.deps.directory.list()).find((service) => service.id === serviceId)?.name;
  }

  async matchDraft(draft: ReferralDraft): Promise<MatchView> {
    const result = await this.match(draft);
    return matchView(result);
  }

  /**
   * Stores the referral and queues it for the chosen service. The draft carries its referral
   * id from the summary step on, so pressing Send twice (or again after a failure) never
   * stores two referrals.
   */
  async submit(draft: ReferralDraft, sender: Sender): Promise<SubmittedReferral> {
    const { referrer, consent, person, needs, choice, referralId } = draft;
    if (!referrer || !consent || !person || !needs || !choice || !referralId || !draft.safetyCheckedAt) {
      throw new Error('A referral can only be sent once every step is complete.');
    }
    const services = await this.deps.directory.list();
    const service = services.find((candidate) => candidate.id === choice.serviceId);

    // No read first to see whether this Send already happened: storing is create-only, so a
    // second Send finds the first one's referral (and the reference is one per referral id).
    const result = await this.match(draft, services);
    const chosen = [...result.eligible, ...result.nearMiss].find((match) => match.serviceId === choice.serviceId);
    if (result.urgent || !service || !chosen) {
      // Sent before the directory changed: the referral stored then stands.
      const existing = await this.deps.referrals.get(referralId);
      if (existing) return submittedView(existing.referral, service, Boolean(await this.deps.channelLinks.forService(existing.referral.serviceId)));
      throw new ReferralNoLongerValidError(
        'The service you chose no longer matches these answers (the directory may have changed). Please choose again.',
      );
    }

    const now = this.deps.now();
    const at = now.toISOString();
    const referrerRecord = {
      teamsUserId: sender.teamsUserId,
      aadObjectId: sender.aadObjectId,
      name: referrer.name,
      email: referrer.email,
      practice: referrer.practice,
      role: referrer.role,
    };
    // The reference, and the referrer's own details (what they typed on step 1, kept to prefill
    // next time): neither needs the other, so the referrer waits for one round trip, not two.
    const [reference] = await Promise.all([this.deps.references.forReferral(referralId, now), this.rememberReferrer(referrerRecord, sender.conversation, at)]);
    const { dateOfBirth: _identifier, ...factsWithoutIdentifiers } = factsFromDraft(draft);
    const referral: Referral = {
      id: referralId,
      reference,
      status: 'submitted',
      version: 1,
      serviceId: service.id,
      facts: { ...factsWithoutIdentifiers, age: ageOn(person.dateOfBirth, now) },
      whatMatters: needs.whatMatters,
      match: {
        eligibleServiceIds: result.eligible.map((match) => match.serviceId),
        nearMissServiceIds: result.nearMiss.map((match) => match.serviceId),
        chosenServiceId: service.id,
        chosenWasNearMiss: chosen.outcome === 'nearMiss',
        reasons: chosen.reasons,
      },
      person: {
        givenName: person.givenName,
        familyName: person.familyName,
        dateOfBirth: person.dateOfBirth,
        nhsNumber: person.nhsNumber,
        postcode: person.postcode,
        borough: person.borough,
        phone: person.phone,
        preferredContactMethod: person.preferredContactMethod,
        email: person.email,
        preferredContactTimes: person.preferredContactTimes,
        language: person.language,
        interpreterNeeded: person.interpreterNeeded,
        carerInvolved: person.carerInvolved,
        carerDetails: person.carerDetails,
      },
      consent: {
        consentToReferral: true,
        consentToShare: true,
        method: consent.method,
        recordedAt: consent.recordedAt,
        recordedBy: { id: sender.teamsUserId, name: referrer.name },
      },
      referrer: referrerRecord,
      referrerConversation: sender.conversation as Referral['referrerConversation'],
      routedAt: at,
      createdAt: at,
      updatedAt: at,
    };
    const event = {
      referralId,
      at,
      actor: { id: sender.teamsUserId, name: referrer.name },
      action: 'referral.submitted' as const,
      detail: { serviceId: service.id, nearMiss: chosen.outcome === 'nearMiss', reference, summary: `Referred by ${referrer.name}` },
    };
    // The post to the service's channel and the reminder clocks are written with the referral:
    // once it is stored, reaching the service and starting its clocks are the outbox's job,
    // with its retries, right after the reply.
    const stored = await this.deps.referrals.submit(referral, event, [channelPostMessage(referral), clocksMessage(referral)]);
    // Stored: from here nothing may stop the referrer getting the reference.
    this.deps.notificationsQueued?.();
    const linked = await this.deps.channelLinks.forService(stored.serviceId).catch(() => undefined);
    return submittedView(stored, service, Boolean(linked));
  }

  /** The reference of a referral already stored, for saying what was kept (e.g. on cancel). */
  async storedReference(referralId: string | undefined): Promise<{ reference: string; serviceName: string } | undefined> {
    if (!referralId) return undefined;
    const stored = await this.deps.referrals.get(referralId);
    if (!stored) return undefined;
    return { reference: stored.referral.reference, serviceName: (await this.serviceName(stored.referral.serviceId)) ?? stored.referral.serviceId };
  }

  /**
   * Keeps what the referrer typed on step 1 (to prefill next time) and the chat they referred
   * from (where updates go). Most Sends come from someone already known, from the same chat,
   * with the same details: then there is nothing to write.
   */
  private async rememberReferrer(record: Omit<ReferrerProfile, 'conversation' | 'updatedAt'>, conversation: Record<string, unknown>, at: string): Promise<void> {
    const known = await this.deps.referrers.get(record.teamsUserId);
    const profile: ReferrerProfile = { ...known, ...record, conversation, updatedAt: at };
    if (known && sameProfile(known, profile)) return;
    await this.deps.referrers.save(profile);
  }

  /** Only the fact that a referral was stopped, by whom and when: nothing about the person. */
  async recordSafetyStop(teamsUserId: string, referrerName: string | undefined): Promise<void> {
    await this.deps.referrals.recordEvent({
      referralId: null,
      at: this.deps.now().toISOString(),
      actor: { id: teamsUserId, name: referrerName },
      action: 'referral.stopped-for-safety',
      detail: {},
    });
  }

  async recordConsentNotGiven(teamsUserId: string, declinedReferral: boolean): Promise<void> {
    await this.deps.referrals.recordEvent({
      referralId: null,
      at: this.deps.now().toISOString(),
      actor: { id: teamsUserId },
      action: 'referral.consent-not-given',
      detail: { declined: declinedReferral ? 'referral' : 'sharing' },
    });
  }

  private async match(draft: ReferralDraft, services?: DirectoryService[]): Promise<MatchResult> {
    return matchPerson(factsFromDraft(draft), services ?? (await this.deps.directory.list()), {
      now: this.deps.now(),
      nearMissYears: this.deps.nearMissYears,
      verificationMaxAgeDays: this.deps.verificationMaxAgeDays,
    });
  }
}

/** The matcher's facts from the answers on the person and needs cards. */
export function factsFromDraft(draft: ReferralDraft): PersonFacts {
  const { person, needs } = draft;
  return personFactsSchema.parse({
    dateOfBirth: person?.dateOfBirth,
    borough: person?.borough,
    gpBorough: needs?.gpBorough,
    longTermConditions: needs?.longTermConditions,
    mentalHealth: needs?.mentalHealth,
    mentalHealthDiagnosis: needs?.mentalHealthDiagnosis,
    dementiaDiagnosis: needs?.dementiaDiagnosis,
    sociallyIsolated: needs?.sociallyIsolated,
    malnutritionRisk: needs?.malnutritionRisk,
    dischargeFrom: needs?.dischargeFrom ?? undefined,
    usingTalkingTherapies: needs?.usingTalkingTherapies,
    carer: needs?.carer,
    referralRoute: needs?.referralRoute,
  });
}

function describePreference(preference: NotifyPreference | undefined): string {
  if (preference === 'email') return 'by email';
  if (preference === 'both') return 'here in Teams and by email';
  return 'here in Teams';
}

function waitText(match: Pick<ServiceMatch, 'waitingTimeWeeks' | 'status'>): string {
  const wait = match.waitingTimeWeeks === null ? 'Wait: not published' : `Wait: about ${match.waitingTimeWeeks} weeks`;
  return match.status === 'open' ? wait : `${wait}. ${match.status === 'closed' ? 'Closed' : 'Paused'}: not taking new referrals at the moment`;
}

function serviceView(match: ServiceMatch): ServiceMatchView {
  return {
    serviceId: match.serviceId,
    name: match.name,
    wait: waitText(match),
    unverified: match.unverified,
    verifiedOn: longDate(match.lastVerified),
    reasons: match.reasons,
  };
}

export function matchView(result: MatchResult): MatchView {
  const eligible = result.eligible.map(serviceView);
  const nearMiss = result.nearMiss.map(serviceView);
  const headline = result.urgent
    ? 'This person needs urgent help, not a referral.'
    : eligible.length
      ? `${eligible.length === 1 ? 'One service fits' : `${eligible.length} services fit`}, best match first. The reasons are listed under each.`
      : nearMiss.length
        ? 'No service fits every criterion, but some are close: the service decides.'
        : 'No service in the directory fits these answers.';
  return {
    urgent: result.urgent,
    headline,
    eligible,
    nearMiss,
    fallback: result.fallback ? { title: result.fallback.title, detail: `${result.fallback.detail} (${result.fallback.reason})` } : null,
    choices: [
      ...eligible.map((service) => ({ title: service.name, value: service.serviceId })),
      ...nearMiss.map((service) => ({ title: `${service.name} (near miss: the service decides)`, value: service.serviceId })),
    ],
  };
}

function submittedView(referral: Referral, service: DirectoryService | undefined, channelLinked: boolean): SubmittedReferral {
  const name = service?.name ?? referral.serviceId;
  const wait = service?.waitingTimeWeeks.value;
  const contactBy: Record<string, string> = { phone: 'phone', text: 'text message', email: 'email', letter: 'letter' };
  return {
    referralId: referral.id,
    reference: referral.reference,
    serviceId: referral.serviceId,
    serviceName: name,
    wait: wait === null || wait === undefined ? 'not published' : `about ${wait} weeks`,
    nextSteps: [
      channelLinked
        ? `The referral is stored and is being posted to ${name}'s Teams channel now, for their link workers to pick up.`
        : `The referral is stored and queued for ${name}. It appears in their Teams channel as soon as the service links one.`,
      `A link worker will contact the person by ${contactBy[referral.person!.preferredContactMethod]}${
        wait ? `, usually within about ${wait} weeks` : ''
      }.`,
      `Quote ${referral.reference} if you call the service: it identifies the referral without the person's details.`,
    ],
  };
}

/**
 * The same profile apart from when it was written and which message of the chat it was taken
 * from: updates go to the chat, not in reply to that message.
 */
function sameProfile(known: ReferrerProfile, profile: ReferrerProfile): boolean {
  const comparable = (of: ReferrerProfile) => JSON.stringify({ ...of, updatedAt: undefined, conversation: { ...of.conversation, activityId: undefined } });
  return comparable(known) === comparable(profile);
}
