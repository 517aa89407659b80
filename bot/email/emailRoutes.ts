import type { Request, Response, Server } from 'restify';
import { EmailLink, EmailVerb, GUARD_FOR, linkStanding, LinkStanding } from '../../domain/email/links';
import type { Referral } from '../../domain/referral/referral';
import { STATUS_LABELS } from '../../domain/referral/lifecycle';
import { contactRows } from '../../cards/serviceReferralCard';
import { ACTION_FORMS, actionableCard, EmailActionTarget } from '../../cards/emailActions';
import type { ReferralRepository } from '../../storage/referralRepository';
import type { EmailIntakeRepository } from '../../storage/emailIntakeRepository';
import type { DirectoryRepository } from '../../storage/directoryRepository';
import type { EntraTokenVerifier } from '../auth/entraToken';
import { ActionableMessageGate, answerActionable, MAX_BODY_BYTES } from './actionableMessages';
import type { Logger } from '../app/log';
import type { ActionOutcome, ActingPerson, ReferralActions } from '../referrals/referralActions';
import { ACTION_PATH, EmailActions, emailPerson, LINK_PATH } from './emailActions';
import { actionableBodySchema, EmailRequest, emailVerbSchema, requestedAction } from './emailInputs';
import type { LinkSigner } from './linkSigner';
import { actionForms, caseSection, codePage, contactSection, page, questionSection, refusalPage, sendPage, STYLESHEET, STYLESHEET_PATH } from './pages';
import { RateLimiter } from './rateLimit';
import { CODE_MINUTES, CODE_REFUSALS, ConfirmationCodes } from './confirmationCodes';

/**
 * The email surface's HTTP side: the pages behind signed links (GET shows, a confirming POST
 * acts) and the endpoint Outlook's Actionable Messages post to (an Entra token says who is
 * acting). Both parse their input, check the link, and call the same application-layer action
 * as a Teams click; nothing here decides who may do what. Refusals are logged by reason only,
 * never with an address, a token or what was typed.
 */
export interface EmailRouteDependencies {
  emailActions: EmailActions;
  actions: ReferralActions;
  signer: LinkSigner;
  referrals: ReferralRepository;
  directory: DirectoryRepository;
  intake: EmailIntakeRepository;
  /** Undefined when no Actionable Messages audience is configured: the endpoint then says so (503). */
  verifier?: EntraTokenVerifier;
  /** Holds link pages' actions until the code mailed to the link's recipient is entered. */
  codes: ConfirmationCodes;
  logger: Logger;
  now: () => Date;
}

const STANDING_WORDS: Record<Exclude<LinkStanding, 'usable'>, { status: number; heading: string; explanation: string }> = {
  expired: { status: 410, heading: 'This link has expired', explanation: 'Links in Signpost emails work for a limited time. Nothing was changed.' },
  used: { status: 409, heading: 'This link has already been used', explanation: 'Each link makes one change. Nothing more was changed.' },
  stale: { status: 409, heading: 'This referral has changed since the email was sent', explanation: 'Someone acted on it after this email was sent, so nothing was changed.' },
  gone: { status: 404, heading: 'This referral is not in Signpost', explanation: 'Nothing was changed.' },
};

export function registerEmailRoutes(server: Server, deps: EmailRouteDependencies): void {
  // Per client address (generous: a proxy in front of Signpost makes many people one address) and per link.
  const perAddress = new RateLimiter(120, 60);
  const perLink = new RateLimiter(20, 10);
  const refuse = (reason: string, status: number) => deps.logger.warn('email-action-refused', { reason, status });
  const gate = new ActionableMessageGate({ verifier: deps.verifier, intake: deps.intake, perAddress, refuse });

  // Bodies restify itself refuses (bad JSON, too large for the server) never reach a handler: logged here, by reason only.
  server.on('restifyError', (req: Request, _res: Response, error: { statusCode?: number; name?: string }, done: () => void) => {
    const at = req.path?.() ?? '';
    if (at === ACTION_PATH || at.startsWith(`${LINK_PATH}/`)) refuse(`unreadable-body:${error.name ?? 'error'}`, error.statusCode ?? 400);
    done();
  });

  server.get(STYLESHEET_PATH, async (_req: Request, res: Response) => {
    res.writeHead(200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=3600', 'X-Content-Type-Options': 'nosniff' });
    res.end(STYLESHEET);
  });

  /** Rate limits, the body's size and the link's signature: what every link request passes first. */
  function admitLink(req: Request, res: Response): EmailLink | undefined {
    const token = String(req.params.token ?? '');
    if (!perAddress.take(`ip:${req.socket.remoteAddress}`) || !perLink.take(`link:${token.slice(-43)}`)) {
      refuse('rate-limited', 429);
      sendPage(res, 429, refusalPage('Too many requests', 'Please wait a minute and try again.'));
      return undefined;
    }
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      refuse('oversized', 400);
      sendPage(res, 400, refusalPage('That was too much to send', 'Nothing was changed.'));
      return undefined;
    }
    const link = deps.signer.verify(token);
    if (!link) {
      refuse('forged-link', 400);
      sendPage(res, 400, refusalPage('This link is not valid', 'It may have been copied incompletely or altered. Open the link from the email again. Nothing was changed.'));
    }
    return link;
  }

  /** Where the referral stands now, for a refusal page: reference, service and status only. */
  async function standingNow(referral: Referral | undefined): Promise<Array<{ label: string; value: string }> | undefined> {
    if (!referral) return undefined;
    const service = (await deps.directory.get(referral.serviceId))?.name ?? referral.serviceId;
    return [
      { label: 'Reference', value: referral.reference },
      { label: 'Service', value: service },
      { label: 'Status', value: STATUS_LABELS[referral.status] },
      ...(referral.owner ? [{ label: 'Link worker', value: referral.owner.name }] : []),
    ];
  }

  async function linkState(link: EmailLink): Promise<{ referral?: Referral; standing: LinkStanding }> {
    const [referral, used] = await Promise.all([deps.actions.current(link.referralId), deps.referrals.linkUsed(link.referralId, link.id)]);
    return { referral, standing: linkStanding(link, deps.now(), referral, used) };
  }

  /** The case and the actions its recipient may take now, on a fresh link (after a change, or for a stale one). */
  async function casePage(referral: Referral, target: EmailActionTarget | undefined, notice?: string, only?: EmailVerb): Promise<string> {
    const shown = await deps.emailActions.referralCase(referral, notice);
    const forms = actionForms(target, only);
    return page(shown.title, `${caseSection(shown)}\n${forms || '<p>There is nothing for you to do on this referral now.</p>'}`);
  }

  server.get(`${LINK_PATH}/:token`, async (req: Request, res: Response) => {
    const link = admitLink(req, res);
    if (!link) return;
    const { referral, standing } = await linkState(link);
    if (standing === 'stale' && referral) {
      // The email is out of date, but its recipient may still have something to do: show it as it is now.
      const fresh = await deps.emailActions.referralTarget(link.to, referral, link);
      return sendPage(res, 200, await casePage(referral, fresh, `${STANDING_WORDS.stale.heading}. Here it is now.`));
    }
    if (standing !== 'usable' || !referral) {
      const words = STANDING_WORDS[standing === 'usable' ? 'gone' : standing];
      return sendPage(res, words.status, refusalPage(words.heading, words.explanation, await standingNow(referral)));
    }
    const target = await deps.emailActions.referralTarget(link.to, referral, link);
    // The fresh link offers what the table permits now; the email's own link keeps its once-only use.
    const current = target ? { ...target, token: String(req.params.token), verbs: target.verbs.filter((verb) => link.actions.includes(verb)) } : undefined;
    const only = emailVerbSchema.safeParse(new URLSearchParams(req.getQuery() ?? '').get('action'));
    sendPage(res, 200, await casePage(referral, current, undefined, only.success ? only.data : undefined));
  });

  /**
   * A link page's POST. Holding a link is not proof of being its recipient (emails get
   * forwarded), so an action asked for on the page waits for a one-time code mailed to the
   * address the link was made for (ConfirmationCodes): the same page takes the code, and only
   * then does Signpost act, on exactly the action that was asked for. A forwarded link
   * therefore acts for nobody but its recipient.
   */
  server.post(`${LINK_PATH}/:token`, async (req: Request, res: Response) => {
    const link = admitLink(req, res);
    if (!link) return;
    const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
    if (body.code !== undefined) return confirmWithCode(res, link, body.code);
    const verb = emailVerbSchema.safeParse(body.verb);
    if (!verb.success || !link.actions.includes(verb.data)) {
      refuse('unknown-verb', 400);
      return sendPage(res, 400, refusalPage('That action is not offered by this link', 'Nothing was changed.'));
    }
    const parsed = requestedAction(verb.data, body, link);
    if (!parsed.ok) {
      refuse('invalid-input', 400);
      return sendPage(res, 400, refusalPage('Something in the form needs changing', `${parsed.reason}. Go back and try again; nothing was changed.`));
    }
    const { referral, standing } = await linkState(link);
    if (!mayProceed(verb.data, standing) || !referral) return sendStanding(res, standing, referral);

    const button = ACTION_FORMS[verb.data].button;
    if (!(await deps.codes.ask({ key: link.id, to: link.to, action: { verb: verb.data, requested: parsed.requested }, button, about: `referral ${referral.reference}` }))) {
      refuse('codes-rate-limited', 429);
      return sendPage(res, 429, refusalPage('Too many codes asked for', 'Use the code Signpost has already emailed, or wait a few minutes. Nothing was changed.'));
    }
    sendPage(res, 200, codePage(button, String(req.params.token), CODE_MINUTES));
  });

  async function confirmWithCode(res: Response, link: EmailLink, given: unknown): Promise<void> {
    const redeemed = await deps.codes.redeem(link.id, given);
    if (!redeemed.ok) {
      refuse(redeemed.reason, 403);
      return sendPage(res, 403, refusalPage(CODE_REFUSALS[redeemed.reason].heading, CODE_REFUSALS[redeemed.reason].explanation));
    }
    const { verb, requested } = redeemed.action as { verb: EmailVerb; requested: EmailRequest };
    const { referral, standing } = await linkState(link);
    if (!mayProceed(verb, standing) || !referral) return sendStanding(res, standing, referral);
    const person = emailPerson(link.to, 'email-link');
    if (requested.verb === 'read-question') return sendQuestion(res, person, link, requested.questionId);
    const outcome = await deps.actions.act(person, link.referralId, link.escalationId ? undefined : link.version, requested, verb === 'view-contact' ? {} : { linkId: link.id });
    sendPage(res, outcomeStatus(outcome), await outcomePage(link, outcome));
  }

  /** Seeing contact details or a question changes nothing, so a used link may still show them while the referral has not moved on. */
  function mayProceed(verb: EmailVerb, standing: LinkStanding): boolean {
    return standing === 'usable' || ((verb === 'view-contact' || verb === 'read-question') && standing === 'used');
  }

  /** The referrer's question, for the recipient it was emailed to, after they confirmed with the code. */
  async function sendQuestion(res: Response, person: ActingPerson, link: EmailLink, questionId: string): Promise<void> {
    const reading = await deps.actions.readQuestion(person, link.referralId, questionId);
    if (reading.kind !== 'question') {
      refuse(`question-${reading.kind}`, reading.kind === 'refused' ? 403 : 404);
      return sendPage(res, reading.kind === 'refused' ? 403 : 404, refusalPage('The question cannot be shown', `${reading.notice} Nothing was changed.`));
    }
    const shown = await deps.emailActions.referralCase(reading.referral);
    const fresh = await deps.emailActions.referralTarget(link.to, reading.referral);
    sendPage(res, 200, page(shown.title, `${caseSection(shown)}\n${questionSection(reading.question)}\n${actionForms(fresh)}`));
  }

  async function sendStanding(res: Response, standing: LinkStanding, referral: Referral | undefined): Promise<void> {
    const words = STANDING_WORDS[standing === 'usable' ? 'gone' : standing];
    refuse(`link-${standing}`, words.status);
    sendPage(res, words.status, refusalPage(words.heading, words.explanation, await standingNow(referral)));
  }

  async function outcomePage(link: EmailLink, outcome: ActionOutcome): Promise<string> {
    if (outcome.kind === 'not-found') return refusalPage(STANDING_WORDS.gone.heading, outcome.notice);
    if (outcome.kind === 'contact-details') {
      const shown = await deps.emailActions.referralCase(outcome.referral);
      return page(shown.title, `${caseSection(shown)}\n${contactSection(contactRows(outcome.referral))}`);
    }
    if (outcome.kind === 'refused') refuse('refused-by-application', 403);
    const fresh = await deps.emailActions.referralTarget(link.to, outcome.referral, link);
    return casePage(outcome.referral, fresh, outcome.notice);
  }

  server.post(ACTION_PATH, async (req: Request, res: Response) => {
    const answer = (status: number, message: string, card?: Record<string, unknown>) => answerActionable(res, status, message, card);
    const refused = (reason: string, status: number, message: string) => gate.refused(res, reason, status, message);
    const token = await gate.admit(req, res);
    if (!token) return;

    const body = actionableBodySchema.safeParse(req.body);
    if (!body.success) return refused('invalid-body', 400, `The request was not understood: ${body.error.issues[0]?.message ?? 'invalid'}.`);
    const link = deps.signer.verify(body.data.link);
    if (!link) return refused('forged-link', 400, 'This action does not come from a Signpost email.');
    if (!perLink.take(`link:${body.data.link.slice(-43)}`)) return refused('rate-limited', 429, 'Too many requests; please wait a minute.');
    if (link.to !== token.signInName) return refused('other-recipient', 403, 'This email was sent to someone else, so it cannot act for you.');
    const verb = emailVerbSchema.safeParse(body.data.verb);
    // What may name the person (contact details, a referrer's question) opens on Signpost's page, never in the mailbox.
    if (!verb.success || !link.actions.includes(verb.data) || verb.data === 'view-contact' || verb.data === 'read-question') {
      return refused('unknown-verb', 400, 'That action is not offered by this email.');
    }
    const parsed = requestedAction(verb.data, body.data, link);
    if (!parsed.ok) return refused('invalid-input', 400, `${parsed.reason}.`);
    if (parsed.requested.verb === 'read-question') return refused('unknown-verb', 400, 'That action is not offered by this email.');
    const requested = parsed.requested;
    // Only now is the token spent: a replay of it changes nothing, even two copies at once.
    if (!(await gate.spend(token, res))) return;

    const person = emailPerson(link.to, 'actionable-message', token.name);
    const { referral, standing } = await linkState(link);
    if (!referral) return refused('link-gone', 404, STANDING_WORDS.gone.heading);
    if (standing === 'usable' && !(await deps.emailActions.permitted(person, referral)).includes(GUARD_FOR[verb.data])) {
      return refused('not-permitted', 403, 'You cannot take this action on this referral.');
    }
    // The card that replaces the email's: the referral as it is now, with what its recipient may do now.
    const refreshed = async (now: Referral, notice: string) =>
      actionableCard(await deps.emailActions.referralCase(now, notice), await deps.emailActions.referralTarget(link.to, now, link), deps.emailActions.originator);
    if (standing !== 'usable') {
      refuse(`link-${standing}`, 200);
      return answer(200, STANDING_WORDS[standing].heading, await refreshed(referral, `${STANDING_WORDS[standing].heading}. Here it is now.`));
    }
    const outcome = await deps.actions.act(person, link.referralId, link.escalationId ? undefined : link.version, requested, { linkId: link.id });
    if (outcome.kind === 'not-found' || outcome.kind === 'contact-details') return refused('link-gone', 404, STANDING_WORDS.gone.heading);
    answer(outcome.kind === 'refused' ? 403 : 200, outcome.notice, await refreshed(outcome.referral, outcome.notice));
  });
}

function outcomeStatus(outcome: ActionOutcome): number {
  switch (outcome.kind) {
    case 'not-found':
      return 404;
    case 'refused':
      return 403;
    case 'stale':
      return 409;
    default:
      return 200;
  }
}
