import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { playgroundPeople } from '../../bot/tab/tabPeople';
import { sampleReferral } from '../support/fixtures';
import { channelActivity, FakeConnector, postActivity } from '../support/connector';
import { launchChromium, needChromium } from '../support/playground';
import { accessibilityViolations, DESKTOP, MOBILE } from '../support/tabBrowser';

/**
 * The tab in headless Chromium, in local mode: the real server, its bundle and CSP, a link
 * worker picking a playground person, working a referral, and a commissioner reading the borough
 * report and downloading its CSV. axe-core checks each page (WCAG 2.2 AA) at desktop and phone widths.
 */

const people = Object.fromEntries(playgroundPeople().map((person) => [person.name, person]));
const KWAME = people['Kwame Mensah'];
const SAM = people['Dr Sam Okafor'];
const SAIL = { team: '19:sail-team@thread.tacv2', channel: '19:sail-referrals@thread.tacv2' };

describe('The tab in headless Chromium (local mode)', function () {
  this.timeout(120_000);
  let folder: string;
  let connector: FakeConnector;
  let bot: RunningSignpost;
  let browser: Browser;
  let page: Page;
  const otherOrigins: string[] = [];

  before(async function () {
    needChromium(this);
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-tab-e2e-'));
    connector = await FakeConnector.start();
    connector.members = [KWAME, people['Grace Okoro']].map((person) => ({ id: person.id, name: person.name, email: person.email, aadObjectId: person.aadObjectId }));
    bot = await startSignpost({ env: { PATH: process.env.PATH, SIGNPOST_COMMISSIONERS: SAM.email }, port: 0, host: '127.0.0.1', dataDir: folder, logger: createLogger('error', () => undefined) });
    await postActivity(bot.url, channelActivity(connector, SAIL, { type: 'message', text: 'link sail', from: { id: KWAME.id, name: KWAME.name } }));
    for (const reference of ['SP-2026-000901', 'SP-2026-000902']) {
      const referral = sampleReferral({ reference, referrerConversation: { serviceUrl: connector.url, channelId: 'msteams', conversation: { id: 'a:referrer' } } });
      await bot.signpost.store.referrals.submit(referral, { referralId: referral.id, at: referral.createdAt, actor: { id: '29:r' }, action: 'referral.submitted', detail: { serviceId: 'sail', summary: 'Referred by Amira Patel' } });
    }
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('request', (request) => {
      if (!request.url().startsWith(bot.url) && !request.url().startsWith('blob:') && !request.url().startsWith('data:')) otherOrigins.push(request.url());
    });
  });

  after(async () => {
    await browser?.close();
    await bot?.stop();
    await connector?.stop();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) {
      const file = path.join(tmpdir(), `signpost-tab-e2e-${Date.now()}.png`);
      await page.screenshot({ path: file, fullPage: true });
      console.error(`screenshot of the failure: ${file}`);
    }
  });

  async function expectAccessible(where: string): Promise<void> {
    for (const viewport of [DESKTOP, MOBILE]) {
      await page.setViewportSize(viewport);
      expect(await accessibilityViolations(page), `${where} at ${viewport.width}px`).to.deep.equal([]);
    }
    await page.setViewportSize(DESKTOP);
  }

  it('is served with its CSP, and offers the playground people under a local-mode banner', async () => {
    const response = await page.goto(`${bot.url}/tab`);
    expect(response!.headers()['content-security-policy']).to.contain("script-src 'self'").and.contain('frame-ancestors');
    await page.getByRole('heading', { name: 'Choose a playground person' }).waitFor();
    expect(await page.getByRole('note').innerText()).to.contain('Local mode');
    await expectAccessible('the person picker');
  });

  it('shows a link worker their caseload and lets them accept a referral', async () => {
    await page.getByLabel('Who are you?').selectOption({ label: KWAME.name });
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: /^Caseload: / }).waitFor();
    const table = page.getByRole('table');
    expect(await table.innerText()).to.contain('SP-2026-000901').and.contain('SP-2026-000902').and.contain('J.E.');
    await expectAccessible('the caseload');

    await page.getByRole('link', { name: 'SP-2026-000901' }).click();
    await page.getByRole('heading', { name: 'SP-2026-000901 (J.E.)' }).waitFor();
    await expectAccessible('a referral');
    await page.getByRole('button', { name: 'Accept', exact: true }).click();
    await page.getByText(`Accepted by ${KWAME.name}.`).first().waitFor();
    const stored = (await bot.signpost.store.referrals.getByReference('SP-2026-000901'))!.referral;
    expect(stored.status).to.equal('accepted');
    expect(stored.owner?.id).to.equal(KWAME.id);
    // The owner's next actions are offered in place of Accept.
    await page.getByRole('button', { name: 'Save update' }).waitFor();
    await expectAccessible('a referral after accepting');

    await page.getByRole('link', { name: /^Caseload: / }).click();
    await page.getByLabel('Show').selectOption({ label: 'Mine' });
    await page.getByRole('table', { name: /^Mine: 1/ }).waitFor();
  });

  it('gives a commissioner the borough report with a chart and a CSV download', async () => {
    await bot.signpost.dispatcher.caughtUp(); // the changes' counts, queued with them, are done
    await page.getByRole('link', { name: 'Choose another person' }).click();
    await page.getByLabel('Who are you?').selectOption({ label: SAM.name });
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('link', { name: 'Borough report' }).click();
    await page.getByRole('heading', { name: /^Borough report / }).waitFor();
    expect(await page.getByRole('img', { name: /Referrals made each month/ }).count()).to.equal(1);
    expect(await page.getByRole('table').innerText()).to.contain('<5').and.not.contain('J.E.');
    await expectAccessible('the borough report');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\r\n')[0]).to.match(/^month,service,practice,made/);
    expect(csv).to.contain(',sail,Lordship Lane Surgery,<5,<5');
  });

  it('the accessibility check finds a violation when there is one, so the checks above can fail', async () => {
    await page.evaluate(() => document.getElementById('main')!.append(Object.assign(document.createElement('img'), { id: 'unlabelled', src: 'data:image/gif;base64,R0lGODlhAQABAAAAACw=' })));
    expect((await accessibilityViolations(page)).join('\n')).to.contain('image-alt');
    await page.evaluate(() => document.getElementById('unlabelled')!.remove());
  });

  it('fetched nothing from anywhere but Signpost', () => {
    // teams-js asks a CDN for its list of host origins; the CSP refuses it and the bundled list is used.
    expect(otherOrigins.filter((url) => !url.startsWith('https://res.cdn.office.net/'))).to.deep.equal([]);
  });
});
