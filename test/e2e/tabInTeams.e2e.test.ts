import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { TEAMS_CLIENT_IDS } from '../../bot/tab/tabAccess';
import { sampleReferral } from '../support/fixtures';
import { SIGNED_IN_APP_ID, SIGNED_IN_TENANT, signedInSettings, TestEntra } from '../support/entra';
import { launchChromium, needChromium } from '../support/playground';
import { accessibilityViolations, DESKTOP } from '../support/tabBrowser';

/**
 * The tab as Teams runs it: a stand-in for the Teams host page frames the tab and answers the
 * teams-js messages it sends (initialize, then getAuthToken with a token minted by a test Entra),
 * and the server checks that token like a real one. The stand-in is given the server's origin by
 * the browser (a routed page), since teams-js only listens to hosts it trusts.
 */

const TENANT = SIGNED_IN_TENANT;
const APP_ID = SIGNED_IN_APP_ID;
const COMMISSIONER = 'commissioner@southwark-icb.example';

/** The host's side of the teams-js protocol: answers what the tab asks, records what it asked. */
function hostPage(tabUrl: string, token: string): string {
  return `<!doctype html><html lang="en"><head><title>Teams (stand-in)</title></head><body>
<iframe id="tab" title="Signpost" src="${tabUrl}" width="1200" height="850"></iframe>
<script>
  window.asked = [];
  const frame = document.getElementById('tab');
  window.addEventListener('message', (event) => {
    const message = event.data;
    if (event.source !== frame.contentWindow || !message || typeof message.func !== 'string') return;
    window.asked.push(message.func);
    const answers = {
      initialize: ['content', 'web', '', '2.0.0'],
      getContext: [{ locale: 'en-gb', frameContext: 'content', entityId: 'signpost', tid: '${TENANT}', hostClientType: 'web' }],
      'authentication.getAuthToken': [true, ${JSON.stringify(token)}],
    };
    const args = answers[message.func] ?? [];
    frame.contentWindow.postMessage({ id: message.id, uuid: message.uuid, uuidAsString: message.uuidAsString, args }, '*');
  });
</script></body></html>`;
}

describe('The tab inside a Teams host stand-in (teams-js and SSO, headless Chromium)', function () {
  this.timeout(120_000);
  let entra: TestEntra;
  let folder: string;
  let bot: RunningSignpost;
  let browser: Browser;
  let page: Page;

  before(async function () {
    needChromium(this);
    entra = await TestEntra.start();
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-tab-teams-'));
    bot = await startSignpost({
      env: signedInSettings(entra, { SIGNPOST_COMMISSIONERS: COMMISSIONER }),
      port: 0,
      host: '127.0.0.1',
      dataDir: folder,
      logger: createLogger('error', () => undefined),
    });
    const referral = sampleReferral({ reference: 'SP-2026-000950' });
    await bot.signpost.store.referrals.submit(referral, { referralId: referral.id, at: referral.createdAt, actor: { id: '29:r' }, action: 'referral.submitted', detail: { serviceId: 'sail', summary: 'Referred by Amira Patel' } });
    await bot.signpost.dispatcher.caughtUp(); // the changes' counts, queued with them, are done
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: DESKTOP, acceptDownloads: true })).newPage();
    page.setDefaultTimeout(20_000);
  });

  after(async () => {
    await browser?.close();
    await bot?.stop();
    await entra?.stop();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  async function openInHost(signInName: string): Promise<Frame> {
    // The default audience: api://<public host>/<app id>; unset, the public address is this machine's.
    const audience = `api://${new URL(bot.config.publicUrl || bot.url).host}/${APP_ID}`;
    const token = await entra.token(TENANT, { aud: audience, azp: TEAMS_CLIENT_IDS[1], preferred_username: signInName, name: 'Chris Commissioner', oid: randomUUID() });
    await page.route(`${bot.url}/teams-host`, (route) => route.fulfill({ contentType: 'text/html', body: hostPage(`${bot.url}/tab`, token) }));
    await page.goto(`${bot.url}/teams-host`);
    const frame = page.frameLocator('#tab');
    await frame.getByRole('link', { name: 'Borough report' }).waitFor();
    return page.frames().find((candidate) => candidate.url().startsWith(`${bot.url}/tab`))!;
  }

  it('initialises teams-js, signs in with the token the host gives, and shows the commissioner the report and its CSV', async () => {
    const tab = await openInHost(COMMISSIONER);
    expect(await page.evaluate(() => (window as unknown as { asked: string[] }).asked)).to.include.members(['initialize', 'authentication.getAuthToken']);
    // No local-mode banner in Teams.
    expect(await tab.locator('#banner').innerText()).to.equal('');
    await tab.getByRole('link', { name: 'Borough report' }).click();
    await tab.getByRole('heading', { name: /^Borough report / }).waitFor();
    expect(await tab.getByRole('table').innerText()).to.contain('Lordship Lane Surgery').and.contain('<5');
    const [download] = await Promise.all([page.waitForEvent('download'), tab.getByRole('button', { name: 'Download CSV' }).click()]);
    expect(download.suggestedFilename()).to.match(/^signpost-borough-report-\d{4}\.csv$/);
    expect(await accessibilityViolations(tab)).to.deep.equal([]);
  });
});
