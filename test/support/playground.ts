import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { Playground } from '../../scripts/playground';

export { Playground };

/**
 * A headless Chromium page driving the Agents Playground like a person would. Everything
 * waits on elements appearing, never on fixed sleeps.
 */

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
/**
 * For a browser test's `before`: skips where Chromium is not installed, except in CI, where a
 * missing browser is a broken set-up, not a reason to pass.
 */
export function needChromium(context: Mocha.Context): void {
  if (existsSync(CHROMIUM)) return;
  if (process.env.CI) throw new Error('Chromium is missing at /usr/bin/chromium: .ci/run must install it');
  context.skip();
}

/** Headless Debian Chromium with the flags these machines need; Playwright gives each launch a new, empty profile. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
}

/** A headless Chromium page on the playground, with the moves a person makes in Teams. */
export class PlaygroundBrowser {
  private constructor(private readonly browser: Browser, readonly page: Page) {}

  static async open(url: string): Promise<PlaygroundBrowser> {
    const browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
    page.setDefaultTimeout(20_000);
    await page.goto(url);
    await page.locator('[role="textbox"][contenteditable="true"]').waitFor();
    return new PlaygroundBrowser(browser, page);
  }

  async openPersonalChat(): Promise<void> {
    await this.page.getByRole('treeitem', { name: 'Personal Chat' }).click();
  }

  async openGroupChat(name: string): Promise<void> {
    await this.page.getByRole('treeitem', { name }).click();
  }

  async openChannel(team: string, channel: string): Promise<void> {
    await this.page.getByRole('treeitem', { name: `${team} - ${channel}` }).click();
  }

  async send(text: string): Promise<void> {
    const box = this.page.locator('[role="textbox"][contenteditable="true"]');
    await box.click();
    await this.page.keyboard.type(text);
    await this.page.keyboard.press('Enter');
  }

  /**
   * Starts a new post in the open channel, @mentioning the bot first: as in Teams, a bot in a
   * channel only hears messages that mention it. Channels post with a button, not Enter.
   */
  async postToBot(botName: string, text: string): Promise<void> {
    await this.typeMentioning(botName, text);
    await this.page.getByRole('button', { name: 'Post', exact: true }).click();
  }

  /** Says something to the bot in a group chat: as in Teams, the bot hears only messages that @mention it. */
  async mentionBot(botName: string, text: string): Promise<void> {
    await this.typeMentioning(botName, text);
    await this.page.keyboard.press('Enter');
  }

  private async typeMentioning(botName: string, text: string): Promise<void> {
    const editor = this.page.locator('[role="textbox"][contenteditable="true"]').first();
    await editor.click();
    await this.page.keyboard.type(`@${botName.slice(0, 3)}`);
    await this.page.getByRole('menuitem', { name: botName }).click();
    await this.page.keyboard.type(` ${text}`);
  }

  /**
   * Sends a message and waits for a new card containing the text (one that was not on the
   * page before), so an older card with the same words cannot satisfy the wait.
   */
  async sendAndWaitForCard(text: string, containing: string): Promise<CardOnPage> {
    const matching = this.page.locator('.ac-adaptiveCard').filter({ hasText: containing });
    const before = await matching.count();
    await this.send(text);
    await this.page.waitForFunction(
      ([selector, words, count]) =>
        Array.from(document.querySelectorAll(selector as string)).filter((element) => element.textContent?.includes(words as string)).length > (count as number),
      ['.ac-adaptiveCard', containing, before] as const,
    );
    return new CardOnPage(this.page, matching.last());
  }

  /** The newest Adaptive Card that contains the text, once it has arrived. */
  async card(containing: string): Promise<CardOnPage> {
    const card = this.page.locator('.ac-adaptiveCard').filter({ hasText: containing }).last();
    await card.waitFor();
    return new CardOnPage(this.page, card);
  }

  /** Waits for a bot message (text or card) with this text. */
  async waitForText(text: string): Promise<void> {
    await this.page.getByText(text, { exact: false }).last().waitFor();
  }

  async screenshot(file: string): Promise<void> {
    await this.page.screenshot({ path: file, fullPage: true });
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

/** One rendered Adaptive Card, filled in through its labels as a person would. */
export class CardOnPage {
  constructor(private readonly page: Page, readonly locator: Locator) {}

  async text(): Promise<string> {
    return this.locator.innerText();
  }

  async fill(label: string, value: string): Promise<void> {
    await this.locator.getByLabel(label, { exact: false }).first().fill(value);
  }

  /** Picks an option of a choice set: radio buttons (expanded) or a drop-down (compact). */
  async choose(label: string, option: string, nth = 0): Promise<void> {
    const combobox = this.locator.getByRole('combobox', { name: label });
    if (await combobox.count()) {
      await combobox.first().click();
      await this.page.getByRole('option', { name: option, exact: true }).click();
      return;
    }
    await this.locator.getByRole('radio', { name: option, exact: true }).nth(nth).check();
  }

  async tick(title: string): Promise<void> {
    await this.locator.getByRole('checkbox', { name: title }).check();
  }

  /** The buttons a person can see on the card now (not those inside a section still closed). */
  async buttons(): Promise<string[]> {
    return (await this.locator.getByRole('button').allInnerTexts()).map((title) => title.trim()).filter(Boolean);
  }

  async press(button: string): Promise<void> {
    await this.locator.getByRole('button', { name: button, exact: true }).click();
  }
}

/**
 * What `npm run dev` starts, in a temporary folder: Signpost on its embedded default (local
 * mode, real Azurite) and the Agents Playground pointed at it. One per browser test file.
 */
export class PlaygroundWorld {
  private constructor(readonly folder: string, readonly bot: RunningSignpost, readonly playground: Playground) {}

  static async start(): Promise<PlaygroundWorld> {
    const folder = mkdtempSync(path.join(tmpdir(), 'signpost-e2e-'));
    const bot = await startSignpost({
      env: { PATH: process.env.PATH },
      port: 0,
      host: '127.0.0.1',
      dataDir: path.join(folder, 'data'),
      logger: createLogger('error', () => undefined),
    });
    try {
      return new PlaygroundWorld(folder, bot, await Playground.start({ botEndpoint: `${bot.url}/api/messages`, logDir: path.join(folder, 'devTools') }));
    } catch (error) {
      await bot.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.playground.stop();
    await this.bot.stop();
    rmSync(this.folder, { recursive: true, force: true });
  }
}

/**
 * A browser test file's hooks: a PlaygroundWorld before its tests (skipped without Chromium), a
 * screenshot of the page when a test fails, everything stopped after. Tests open `browser` themselves.
 */
export function playgroundSuite(): { world: PlaygroundWorld; browser?: PlaygroundBrowser } {
  const suite = {} as { world: PlaygroundWorld; browser?: PlaygroundBrowser };
  before(async function () {
    needChromium(this);
    suite.world = await PlaygroundWorld.start();
  });
  after(async () => {
    await suite.browser?.close();
    await suite.world?.stop();
  });
  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' || !suite.browser) return;
    const file = path.join(tmpdir(), `signpost-e2e-${Date.now()}.png`);
    await suite.browser.screenshot(file);
    console.error(`screenshot of the failure: ${file}`);
  });
  return suite;
}

/**
 * `refer` in the personal chat, and the form's steps as a receptionist fills them for Jane
 * Example (made up: an isolated Southwark resident of 76), up to the card of matching services.
 */
export async function referJaneUntilMatches(page: PlaygroundBrowser): Promise<CardOnPage> {
  await page.openPersonalChat();
  await page.send('refer');

  const referrer = await page.card('About you, the referrer');
  await referrer.fill('GP practice or team', 'Lordship Lane Surgery');
  await referrer.fill('Your role', 'Receptionist');
  await referrer.press('Next');

  const consent = await page.card('How was consent given');
  await consent.choose('Does the person agree to be referred', 'Yes, they agree', 0);
  await consent.choose('Does the person agree to their details', 'Yes, they agree', 1);
  await consent.choose('How was consent given?', 'Verbally (in person or by phone)');
  await consent.press('Next');

  const safety = await page.card('Safety check');
  await safety.choose('Is the person in crisis', 'No');
  await safety.press('Next');

  const person = await page.card('Only what the service needs');
  await person.fill('First name', 'Jane');
  await person.fill('Last name', 'Example');
  // Input.Date renders as a date field; typing the ISO date works for the native and Fluent pickers.
  await person.fill('Date of birth', '1950-03-14');
  await person.fill('NHS number', '943 476 5919');
  await person.fill('Postcode', 'se5 8au');
  await person.choose('Borough where they live', 'Southwark');
  await person.fill('Phone number', '020 7946 0000');
  await person.choose('How they prefer to be contacted', 'Phone call');
  await person.press('Next');

  const needs = await page.card('What the person needs');
  await needs.tick('They are socially isolated or lonely');
  await needs.fill('What matters to the person', 'Company at lunchtime; getting back to the allotment');
  await needs.press('Next');

  return page.card('Matching services');
}
