import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { channelActivity, postActivity } from '../support/connector';
import { launchChromium, needChromium } from '../support/playground';
import { EmailWorld, IDENTIFIERS, INTAKE, linkFor } from '../email/support';

const CHANNEL = '19:sail-referrals@thread.tacv2';
const TEAM = '19:sail-team@thread.tacv2';
const KWAME = { id: '29:kwame', name: 'Kwame Mensah' };

/**
 * End to end from an inbox: the email arrives over real SMTP, headless Chromium opens its link
 * as a person would (on a phone-sized screen), confirms with the code mailed to the inbox, and
 * the referrer hears in Teams.
 */
describe('End to end from the inbox (headless Chromium on the link pages)', function () {
  this.timeout(120_000);
  let world: EmailWorld;
  let browser: Browser;
  let page: Page;

  before(async function () {
    needChromium(this);
    world = await EmailWorld.start();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    page.setDefaultTimeout(20_000);
  });
  after(async () => {
    await browser?.close();
    await world?.stop();
  });

  it('opens the link from the email, accepts, tells the referrer in Teams, and the same link then says it was used', async () => {
    const referral = await world.refer();
    const mail = await world.mailAbout(referral.reference);
    const link = linkFor(mail, 'Accept');

    await page.goto(link);
    await page.getByRole('heading', { level: 1, name: new RegExp(referral.reference) }).waitFor();
    const shown = await page.locator('main').innerText();
    expect(shown).to.contain('Company at lunchtime');
    for (const identifier of IDENTIFIERS) expect(shown, identifier).not.to.contain(identifier);
    // Fits a phone: nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(390);

    const seen = world.smtp.messages.length;
    await page.getByRole('button', { name: 'Accept' }).click();
    // The code goes to the address the email was sent to: the inbox proves it is the recipient.
    await page.getByRole('heading', { name: 'Enter your confirmation code' }).waitFor();
    await page.getByLabel('Confirmation code').fill(await world.codeFor(INTAKE, seen));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('status').filter({ hasText: 'Accepted by' }).waitFor();
    const update = await world.connector.waitFor((activity) => activity.conversationId === referral.referrerConversation.conversation.id);
    expect(JSON.stringify(update.activity)).to.contain(`${referral.reference} (J.E.) was accepted`);

    await page.goto(link);
    await page.getByRole('heading', { name: 'This link has already been used' }).waitFor();
    expect(await page.locator('main').innerText()).to.contain('Accepted');
  });

  it('shows the referral as it stands when it was accepted in Teams before the link was opened', async () => {
    world.connector.members = [KWAME];
    const inChannel = (fields: Record<string, any>) => channelActivity(world.connector, { team: TEAM, channel: CHANNEL }, fields);
    await postActivity(world.bot.url, inChannel({ type: 'message', text: 'link sail', from: KWAME }));
    const referral = await world.refer();
    const mail = await world.mailAbout(referral.reference);
    await world.connector.waitFor((a) => a.conversationId.startsWith(CHANNEL) && JSON.stringify(a.activity).includes(referral.reference));
    const version = (await world.bot.signpost.store.referrals.get(referral.id))!.referral.version;
    await postActivity(world.bot.url, inChannel({ type: 'invoke', name: 'adaptiveCard/action', from: KWAME, value: { action: { type: 'Action.Execute', verb: 'accept', data: { referralId: referral.id, version } } } }));
    expect((await world.bot.signpost.store.referrals.get(referral.id))!.referral.owner?.name).to.equal(KWAME.name);

    await page.goto(linkFor(mail, 'Accept'));
    await page.getByRole('status').filter({ hasText: 'changed since the email was sent' }).waitFor();
    const shown = await page.locator('main').innerText();
    expect(shown).to.contain('Accepted').and.contain(KWAME.name);
    expect(await page.getByRole('button', { name: 'Accept' }).count()).to.equal(0);
  });
});
