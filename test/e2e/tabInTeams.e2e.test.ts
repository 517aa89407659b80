import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppCredentials, AuthenticationConstants } from 'botframework-connector';
import type { Browser, Frame, Page } from 'playwright-core';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { TEAMS_CLIENT_IDS } from '../../bot/tab/tabAccess';
import { sampleReferral } from '../support/fixtures';
import { FakeConnector } from '../support/connector';
import { SIGNED_IN_APP_ID, SIGNED_IN_TENANT, signedInSettings, TestEntra } from '../support/entra';
import { launchChromium, needChromium } from '../support/playground';
import { accessibilityViolations, DESKTOP, teamsHostPage } from '../support/tabBrowser';

/**
 * The tab as Teams runs it: a stand-in for the Teams host page frames the tab and answers the
 * teams-js messages it sends (initialize, then getAuthToken with a token minted by a test Entra),
 * and the server checks that token like a real one. A commissioner reads the report and its CSV;
 * a link worker, known as one from the Teams roster of the service's channel (a fake Bot
 * Connector), works their caseload and accepts a referral through the application layer.
 */

const TENANT = SIGNED_IN_TENANT;
const APP_ID = SIGNED_IN_APP_ID;
const COMMISSIONER = { email: 'commissioner@southwark-icb.example', name: 'Chris Commissioner', oid: randomUUID() };
const LINK_WORKER = { email: 'kwame.mensah@ageuk-ls.example', name: 'Kwame Mensah', oid: randomUUID(), teamsId: '29:kwame-mensah' };
const SAIL = { team: '19:sail-team@thread.tacv2', channel: '19:sail-referrals@thread.tacv2' };

/**
 * Signpost's own token for the Bot Connector comes from Entra's client-credentials endpoint,
 * which a test cannot stand in for (MSAL wants an https authority it can discover). So a made-up
 * token is put where botframework-connector keeps the tokens it got, under the key it looks them
 * up by (app id and scope), and the fake connector takes it. Everything after (the proactive
 * turn, the roster request, the card updates) is Signpost's real path.
 */
function giveSignpostAConnectorToken(appId: string): void {
  const cache = (AppCredentials as unknown as { cache: Map<string, { accessToken: string; expiresOn: Date }> }).cache;
  cache.set(`${appId}${AuthenticationConstants.ToChannelFromBotOAuthScope}-cache`, { accessToken: 'fake-connector-token', expiresOn: new Date(Date.now() + 3_600_000) });
}

describe('The tab inside a Teams host stand-in (teams-js and SSO, headless Chromium)', function () {
  this.timeout(120_000);
  let entra: TestEntra;
  let connector: FakeConnector;
  let folder: string;
  let bot: RunningSignpost;
  let browser: Browser;
  let page: Page;

  before(async function () {
    needChromium(this);
    entra = await TestEntra.start();
    connector = await FakeConnector.start();
    connector.members = [{ id: LINK_WORKER.teamsId, name: LINK_WORKER.name, email: LINK_WORKER.email, aadObjectId: LINK_WORKER.oid }];
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-tab-teams-'));
    bot = await startSignpost({
      env: signedInSettings(entra, { SIGNPOST_COMMISSIONERS: COMMISSIONER.email }),
      port: 0,
      host: '127.0.0.1',
      dataDir: folder,
      logger: createLogger('error', () => undefined),
    });
    giveSignpostAConnectorToken(APP_ID);
    // The SAIL team's channel, linked as `link sail` said there would link it.
    const linked = await bot.signpost.store.channelLinks.link({
      serviceId: 'sail',
      channelId: SAIL.channel,
      teamId: SAIL.team,
      conversation: { serviceUrl: connector.url, channelId: 'msteams', conversation: { id: SAIL.channel, conversationType: 'channel', tenantId: TENANT }, bot: { id: `28:${APP_ID}`, name: 'Signpost' } },
      linkedBy: { id: LINK_WORKER.teamsId, name: LINK_WORKER.name },
      linkedAt: new Date().toISOString(),
    });
    expect(linked.ok).to.equal(true);
    for (const reference of ['SP-2026-000950', 'SP-2026-000951']) {
      const referral = sampleReferral({ reference, referrerConversation: { serviceUrl: connector.url, channelId: 'msteams', conversation: { id: 'a:referrer' } } });
      await bot.signpost.store.referrals.submit(referral, { referralId: referral.id, at: referral.createdAt, actor: { id: '29:r' }, action: 'referral.submitted', detail: { serviceId: 'sail', summary: 'Referred by Amira Patel' } });
    }
    await bot.signpost.dispatcher.caughtUp(); // the changes' counts, queued with them, are done
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await bot?.stop();
    await connector?.stop();
    await entra?.stop();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) {
      const file = path.join(tmpdir(), `signpost-tab-teams-${Date.now()}.png`);
      await page.screenshot({ path: file, fullPage: true });
      console.error(`screenshot of the failure: ${file}`);
    }
  });

  /** The tab framed by the host stand-in, for this person signed in with Teams SSO. */
  async function openInHost(person: { email: string; name: string; oid: string }): Promise<Frame> {
    page = await (await browser.newContext({ viewport: DESKTOP, acceptDownloads: true })).newPage();
    page.setDefaultTimeout(20_000);
    // The default audience: api://<public host>/<app id>; unset, the public address is this machine's.
    const audience = `api://${new URL(bot.config.publicUrl || bot.url).host}/${APP_ID}`;
    const token = await entra.token(TENANT, { aud: audience, azp: TEAMS_CLIENT_IDS[1], preferred_username: person.email, name: person.name, oid: person.oid });
    await page.route(`${bot.url}/teams-host`, (route) => route.fulfill({ contentType: 'text/html', body: teamsHostPage(`${bot.url}/tab`, token, TENANT) }));
    await page.goto(`${bot.url}/teams-host`);
    await page.frameLocator('#tab').locator('#main').waitFor();
    return page.frames().find((candidate) => candidate.url().startsWith(`${bot.url}/tab`))!;
  }

  it('initialises teams-js, signs in with the token the host gives, and shows the commissioner the report and its CSV', async () => {
    const tab = await openInHost(COMMISSIONER);
    await tab.getByRole('link', { name: 'Borough report' }).waitFor();
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

  it('shows a link worker from the Teams roster their service’s caseload, and their Accept goes through the application layer', async () => {
    const tab = await openInHost(LINK_WORKER);
    await tab.getByRole('heading', { name: /^Caseload: / }).waitFor();
    expect(await tab.getByRole('table').innerText()).to.contain('SP-2026-000950').and.contain('SP-2026-000951');
    expect(await accessibilityViolations(tab)).to.deep.equal([]);

    await tab.getByRole('link', { name: 'SP-2026-000950' }).click();
    await tab.getByRole('heading', { name: /^SP-2026-000950 / }).waitFor();
    await tab.getByRole('button', { name: 'Accept', exact: true }).click();
    await tab.getByText(`Accepted by ${LINK_WORKER.name}.`).first().waitFor();

    // Stored as the application layer stores a change: the owner is the roster's link worker,
    // and the audit trail says who, and that it came from the tab.
    const stored = (await bot.signpost.store.referrals.getByReference('SP-2026-000950'))!.referral;
    expect(stored.status).to.equal('accepted');
    expect(stored.owner).to.deep.include({ id: LINK_WORKER.teamsId, name: LINK_WORKER.name });
    const accepted = (await bot.signpost.store.referrals.audit(stored.id)).filter((event) => event.action === 'referral.accept');
    expect(accepted).to.have.length(1);
    expect(accepted[0].actor.id).to.equal(LINK_WORKER.teamsId);
    expect(accepted[0].detail.via).to.equal('tab');
    const untouched = (await bot.signpost.store.referrals.getByReference('SP-2026-000951'))!.referral;
    expect(untouched.owner).to.equal(undefined);

    // The tab shows the new state: the owner's next actions, and the referral as theirs.
    await tab.getByRole('button', { name: 'Save update' }).waitFor();
    expect(await tab.getByRole('button', { name: 'Accept', exact: true }).count()).to.equal(0);
    await tab.getByRole('link', { name: /^Caseload: / }).click();
    await tab.getByLabel('Show').selectOption({ label: 'Mine' });
    const mine = tab.getByRole('table', { name: /^Mine: 1/ });
    await mine.waitFor();
    expect(await mine.innerText()).to.contain('SP-2026-000950').and.not.contain('SP-2026-000951');
  });
});
