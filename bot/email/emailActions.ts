import type { Referral } from '../../domain/referral/referral';
import { GuardedVerb, STATUS_LABELS } from '../../domain/referral/lifecycle';
import { EmailLink, EmailVerb, ESCALATION_EMAIL_VERBS, linkExpiry, offeredNow, QUESTION_EMAIL_VERBS, REFERRAL_EMAIL_VERBS } from '../../domain/email/links';
import type { StaffMessage } from '../../domain/supervision/messages';
import { actionableCard, actionLinksHtml, actionLinksText, EmailActionTarget, EmailCase, embeddedCard } from '../../cards/emailActions';
import { escapeHtml, factsTableHtml, RenderedEmail } from '../../cards/email';
import { serviceReferralFacts } from '../../cards/serviceReferralCard';
import { staffMessageEmail } from '../../cards/staffMessageCard';
import type { DirectoryRepository } from '../../storage/directoryRepository';
import type { ActingPerson, ReferralActions } from '../referrals/referralActions';
import type { IdentifiedBy } from '../../domain/referral/lifecycle';
import { LinkSigner, newLinkId } from './linkSigner';

/**
 * Email as a surface for acting on referrals: which actions an email offers its recipient (the
 * permission table decides, through the application layer), the signed link that carries them,
 * and the emails that hold them (a new referral for a service's inbox, staff messages).
 */
export interface EmailActionSettings {
  /** Read when a link is made: the server fills in its own address once it listens. */
  publicUrl: () => string;
  originator: string;
  linkExpiryDays: number;
}

export const ACTION_PATH = '/api/email/actions';
/** The Actionable Messages service's own app id: tokens on Action.Http must be issued to it. */
export const ACTIONABLE_MESSAGES_APP_ID = '48af08dc-f6d2-435f-b2a7-069abd99c086';
export const LINK_PATH = '/email/link';

/** Someone identified by a verified email address (a link's recipient, an Entra token's sign-in name). */
export function emailPerson(address: string, identifiedBy: Extract<IdentifiedBy, 'email-link' | 'actionable-message'>, name?: string): ActingPerson {
  const email = address.toLowerCase();
  return { id: `email:${email}`, name: name?.trim() || email, email, identifiedBy };
}

/** What a link is bound to besides its referral: an escalation to answer, or a question to read. */
export type LinkBinding = Partial<Pick<EmailLink, 'escalationId' | 'questionId'>>;

export class EmailActions {
  constructor(
    private readonly deps: {
      signer: LinkSigner;
      actions: ReferralActions;
      directory: DirectoryRepository;
      settings: EmailActionSettings;
      now: () => Date;
    },
  ) {}

  get originator(): string {
    return this.deps.settings.originator;
  }

  /**
   * A signed link for `to` on this referral offering the candidate actions they may take now,
   * or undefined when they may take none (the email then only informs).
   */
  async target(to: string, referral: Referral, candidates: readonly EmailVerb[], bound: LinkBinding = {}): Promise<EmailActionTarget | undefined> {
    const permitted = await this.permitted(emailPerson(to, 'email-link'), referral);
    const verbs = offeredNow({ actions: [...candidates] }, permitted);
    if (!verbs.length) return undefined;
    const link: EmailLink = {
      id: newLinkId(),
      to: to.toLowerCase(),
      referralId: referral.id,
      version: referral.version,
      actions: verbs,
      ...(bound.escalationId ? { escalationId: bound.escalationId } : {}),
      ...(bound.questionId ? { questionId: bound.questionId } : {}),
      expiresAt: linkExpiry(this.deps.now(), this.deps.settings.linkExpiryDays),
    };
    const token = this.deps.signer.sign(link);
    const base = this.deps.settings.publicUrl();
    return { token, verbs, actionUrl: `${base}${ACTION_PATH}`, pageUrl: `${base}${LINK_PATH}/${token}` };
  }

  /** What this person may do to the referral now, by the permission table (the application layer's view). */
  async permitted(person: ActingPerson, referral: Referral): Promise<GuardedVerb[]> {
    const view = await this.deps.actions.viewFor(person, referral);
    return view.kind === 'view' ? view.verbs : [];
  }

  /** The referral as an email or page shows it: what the channel card shows, no direct identifier. */
  async referralCase(referral: Referral, notice?: string): Promise<EmailCase> {
    const serviceName = (await this.deps.directory.get(referral.serviceId))?.name ?? referral.serviceId;
    return {
      kindLabel: referral.status === 'submitted' ? 'New referral' : 'Referral',
      title: `Referral ${referral.reference} to ${serviceName}`,
      facts: [{ label: 'Reference', value: referral.reference }, { label: 'Status', value: STATUS_LABELS[referral.status] }, ...serviceReferralFacts(referral)],
      lines: [
        `What matters to the person: ${referral.whatMatters}`,
        // Escalation notes and advice stay out: they are free text that may name the person.
        ...referral.match.reasons.map((reason) => `Why this service: ${reason}`),
      ],
      ...(notice ? { notice } : {}),
    };
  }

  /** The actions a referral offers someone by email: a case's actions, an escalation's answers, or reading a referrer's question. */
  async referralTarget(to: string, referral: Referral, bound: LinkBinding = {}): Promise<EmailActionTarget | undefined> {
    const candidates = bound.escalationId ? ESCALATION_EMAIL_VERBS : bound.questionId ? QUESTION_EMAIL_VERBS : REFERRAL_EMAIL_VERBS;
    return this.target(to, referral, candidates, bound);
  }

  /** A new (or redirected) referral for one of its service's inboxes. */
  async referralEmail(to: string, referral: Referral): Promise<RenderedEmail> {
    const shown = await this.referralCase(referral);
    const target = await this.referralTarget(to, referral);
    return caseEmail(shown, target, this.originator);
  }

  /** A reminder, alert or digest by email, with the actions it asks for where the recipient may take them. */
  async staffEmail(to: string, message: StaffMessage, referral: Referral | undefined): Promise<RenderedEmail> {
    const wantsAction = message.kind === 'reminder' || message.kind === 'escalation-alert' || message.kind === 'referrer-question';
    const bound: LinkBinding = { escalationId: message.escalation?.escalationId, questionId: message.questionId };
    const target = referral && wantsAction ? await this.referralTarget(to, referral, bound) : undefined;
    return staffMessageEmail(message, target ? { target, originator: this.originator } : undefined);
  }
}

/** An email about a referral: the facts, the Actionable Message card and the same actions as links. */
function caseEmail(shown: EmailCase, target: EmailActionTarget | undefined, originator: string): RenderedEmail {
  const facts = shown.facts.map((fact) => `${fact.label}: ${fact.value}`);
  const text = [shown.title, '', ...facts, '', ...shown.lines, '', ...actionLinksText(target)].join('\n');
  const html = `<!DOCTYPE html>
<html><head><meta charset="utf-8">${embeddedCard(actionableCard(shown, target, originator))}</head>
<body style="font-family: Segoe UI, Arial, sans-serif">
<h2>${escapeHtml(shown.title)}</h2>
${factsTableHtml(shown.facts)}
${shown.lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n')}
${actionLinksHtml(target)}
</body></html>`;
  return { subject: `Signpost: ${shown.title}`, text, html };
}
