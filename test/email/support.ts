import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ParsedMail } from 'mailparser';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { channelPostMessage } from '../../bot/channels/serviceChannels';
import type { Referral } from '../../domain/referral/referral';
import { FakeConnector } from '../support/connector';
import { TestEntra } from '../support/entra';
import { TestSmtpServer } from '../support/smtp';
import { FIXTURE_TIME, sampleReferral } from '../support/fixtures';

export const AUDIENCE = 'api://signpost.example.nhs.uk/actionable-messages';
export const ORIGINATOR = 'b7a1c9e2-originator';
export const INTAKE = 'referrals@ageuk-lambeth.example';
/** What must never appear in an email body or a page before the recipient asks: Jane Example's identifiers. */
export const IDENTIFIERS = ['Jane', 'Example', '9434765919', '943 476', '1950-03-14', '14 Mar 1950', 'SE5 8AU', '8AU', '7946'];

/** A running Signpost with SMTP on loopback, a test Entra, a fake Bot Connector, and SAIL taking referrals at an inbox only. */
export class EmailWorld {
  logLines: string[] = [];
  private counter = 0;
  private constructor(
    readonly bot: RunningSignpost,
    readonly smtp: TestSmtpServer,
    readonly entra: TestEntra,
    readonly connector: FakeConnector,
    private readonly folder: string,
  ) {}

  static async start(settings: Record<string, string> = {}): Promise<EmailWorld> {
    const folder = mkdtempSync(path.join(tmpdir(), 'signpost-email-'));
    const [smtp, entra, connector] = await Promise.all([TestSmtpServer.start(), TestEntra.start(), FakeConnector.start()]);
    const lines: string[] = [];
    const bot = await startSignpost({
      env: {
        PATH: process.env.PATH,
        SIGNPOST_SMTP_URL: smtp.url,
        SIGNPOST_ACTIONABLE_MESSAGE_ORIGINATOR: ORIGINATOR,
        SIGNPOST_ACTIONABLE_MESSAGE_AUDIENCE: AUDIENCE,
        SIGNPOST_ENTRA_JWKS_URL: entra.jwksUrl,
        SIGNPOST_NOTIFY_POLL_MS: '50',
        SIGNPOST_NOTIFY_RETRY_BASE_MS: '20',
        ...settings,
      },
      port: 0,
      host: '127.0.0.1',
      dataDir: folder,
      logger: createLogger('info', (line) => lines.push(line)),
    });
    const world = new EmailWorld(bot, smtp, entra, connector, folder);
    world.logLines = lines;
    await bot.signpost.store.intake.add({ serviceId: 'sail', email: INTAKE, addedBy: { id: '29:admin' }, addedAt: FIXTURE_TIME });
    return world;
  }

  /** A new referral to SAIL, stored as Send stores one (with its post to the service), by a referrer whose Teams chat is on the fake connector. */
  async refer(overrides: Partial<Referral> = {}): Promise<Referral> {
    this.counter += 1;
    const referral = sampleReferral({
      reference: `SP-2026-0008${String(this.counter).padStart(2, '0')}`,
      referrer: { teamsUserId: `29:referrer-${this.counter}`, name: 'Amira Patel', email: 'amira@practice.example', practice: 'Lordship Lane Surgery' },
      referrerConversation: { serviceUrl: this.connector.url, channelId: 'msteams', conversation: { id: `a:referrer-chat-${this.counter}`, conversationType: 'personal' } },
      ...overrides,
    });
    await this.bot.signpost.store.referrals.submit(referral, { referralId: referral.id, at: FIXTURE_TIME, actor: { id: referral.referrer.teamsUserId }, action: 'referral.submitted', detail: {} }, [channelPostMessage(referral)]);
    this.bot.signpost.dispatcher.kick();
    return referral;
  }

  /** The email for this referral's reference, once it arrives. */
  async mailAbout(reference: string, to = INTAKE): Promise<ParsedMail> {
    for (let count = 1; ; count += 1) {
      const messages = await this.smtp.waitForMessages(count);
      const found = messages.find((mail) => mail.subject?.includes(reference) && addresses(mail).includes(to));
      if (found) return found;
    }
  }

  /**
   * Acts on a link page as its recipient does: posts the form, reads the confirmation code
   * Signpost mails to `to`, and posts the code. Returns the answer to the code.
   */
  async actOnLink(url: string, form: Record<string, string>, to = INTAKE): Promise<Response> {
    const seen = this.smtp.messages.length;
    const asked = await postForm(url, form);
    if (asked.status !== 200) return asked;
    const page = await asked.text();
    if (!page.includes('Enter your confirmation code')) throw new Error(`expected the code page, got: ${page.slice(0, 300)}`);
    return postForm(url, { code: await this.codeFor(to, seen) });
  }

  /** The newest confirmation code mailed to `to` after `seen` messages. */
  async codeFor(to: string, seen: number): Promise<string> {
    for (let count = seen + 1; ; count += 1) {
      const mail = (await this.smtp.waitForMessages(count)).slice(seen).reverse().find((candidate) => candidate.subject?.includes('confirmation code') && addresses(candidate).includes(to));
      if (mail) return /is (\d{6})\./.exec(String(mail.text))![1];
    }
  }

  async stop(): Promise<void> {
    await this.bot?.stop();
    await Promise.all([this.smtp.stop(), this.entra.stop(), this.connector.stop()]);
    rmSync(this.folder, { recursive: true, force: true });
  }
}

export function postForm(url: string, form: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
}

export function addresses(mail: ParsedMail): string[] {
  const to = Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : [];
  return to.flatMap((group) => group.value.map((entry) => entry.address ?? ''));
}

/** The Adaptive Card an email carries for Outlook. */
export function embeddedCard(mail: ParsedMail): Record<string, any> {
  const found = /<script type="application\/adaptivecard\+json">([\s\S]*?)<\/script>/.exec(String(mail.html));
  if (!found) throw new Error('the email carries no Adaptive Card');
  return JSON.parse(found[1]);
}

/** Every Action.Http in a card, ShowCards included. */
export function httpActions(card: Record<string, any>): Array<Record<string, any>> {
  const found: Array<Record<string, any>> = [];
  const visit = (node: any): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      if (node.type === 'Action.Http') found.push(node);
      Object.values(node).forEach(visit);
    }
  };
  visit(card);
  return found;
}

/** An Action.Http button of a directory request card, as Outlook posts it. */
export type HttpButton = { url: string; body: string };

/** A directory request email's answer buttons (posting to loopback): Still correct, and the Change form's Save changes. */
export function answerButtons(mail: ParsedMail): { confirm: HttpButton; change: HttpButton } {
  const found = httpActions(embeddedCard(mail));
  const button = (title: string): HttpButton => {
    const action = found.find((candidate) => candidate.title === title)!;
    return { url: String(action.url).replace('localhost', '127.0.0.1'), body: String(action.body) };
  };
  return { confirm: button('Still correct'), change: button('Save changes') };
}

/** The button with its form filled in as Outlook fills {{id.value}}: the value entered, or "" for an input left empty. */
export function filledIn(button: HttpButton, fields: Record<string, string>): HttpButton {
  const body = JSON.parse(button.body) as Record<string, string>;
  for (const key of Object.keys(body)) if (/^\{\{\w+\.value\}\}$/.test(body[key])) body[key] = fields[key] ?? '';
  return { url: button.url, body: JSON.stringify(body) };
}

/** Posts the button as Outlook does, with an Entra token (or none). */
export function press(button: HttpButton, bearer: string | undefined, body = button.body): Promise<Response> {
  return fetch(button.url, { method: 'POST', headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) }, body });
}

/** The link for an action, from the email's plain-text part. */
export function linkFor(mail: ParsedMail, button: string): string {
  const line = String(mail.text).split('\n').find((candidate) => candidate.startsWith(`${button}: http`));
  if (!line) throw new Error(`the email has no link for ${button}`);
  return line.slice(button.length + 2).trim();
}

export async function waitUntil<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
