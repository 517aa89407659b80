import { expect } from 'chai';
import { PlaygroundBrowser, playgroundSuite, referJaneUntilMatches } from '../support/playground';

/**
 * The README's "Try directory upkeep in the playground", step by step, as a newcomer running
 * `npm run dev` would: Amira links the SAIL channel (in local mode that makes her a maintainer of
 * its entry), asks for the entry to be confirmed now, answers the request in her chat with a new
 * wait, and then sees the new wait in the matches, on the sent referral and in the update the
 * channel card's "Waiting for an activity" sends the referrer.
 */
describe('Directory upkeep in the Agents Playground (headless Chromium)', function () {
  this.timeout(240_000);
  const SAIL = 'Safe and Independent Living (SAIL) signposting programme';
  const suite = playgroundSuite();

  it('links the channel, asks for the entry to be confirmed, and the request arrives in the personal chat', async () => {
    suite.browser = await PlaygroundBrowser.open(suite.world.playground.url);
    const page = suite.browser;
    // Saying hello first is how Signpost learns it can reach Amira in Teams.
    await page.openPersonalChat();
    await page.sendAndWaitForCard('help', 'What you can say');

    await page.openChannel('SAIL link workers', 'Referrals');
    await page.postToBot('Signpost', 'link sail');
    await page.waitForText('Local mode: you (Amira Patel) maintain its directory entry too');
    expect((await suite.world.bot.signpost.store.directory.get('sail'))?.maintainers).to.deep.equal(['amira.patel@lordship-lane-surgery.example']);

    await page.postToBot('Signpost', 'verify');
    await page.waitForText('amira.patel@lordship-lane-surgery.example, in Teams');

    await page.openPersonalChat();
    const request = await page.card(`Is the entry for ${SAIL} still correct?`);
    const text = await request.text();
    expect(text).to.contain('Typical wait').and.contain('about 6 weeks');
    expect(await request.buttons()).to.include.members(['Still correct', 'Change']);
  });

  it('Change: a new wait of 3 weeks is saved as a new version of the entry, by Amira, from Teams', async () => {
    const page = suite.browser!;
    const before = (await suite.world.bot.signpost.store.directory.current('sail'))!;
    const request = await page.card(`Is the entry for ${SAIL} still correct?`);
    await request.press('Change');
    await request.fill('Typical wait in weeks', '3');
    await request.press('Save changes');

    const answered = await page.card('Thank you: the entry for');
    expect(await answered.text()).to.contain('is updated').and.contain('about 3 weeks');
    expect(await answered.buttons()).not.to.include('Still correct');

    const after = (await suite.world.bot.signpost.store.directory.current('sail'))!;
    expect(after.version).to.equal(before.version + 1);
    expect(after.service.waitingTimeWeeks.value).to.equal(3);
    const [latest] = (await suite.world.bot.signpost.store.directory.history('sail')).slice(-1);
    expect(latest).to.include({ route: 'teams' });
    expect(latest.by.name).to.equal('Amira Patel');
  });

  it('refer: the match and the sent referral quote the new wait', async () => {
    const page = suite.browser!;
    const matches = await referJaneUntilMatches(page);
    expect(await matches.text()).to.contain(SAIL).and.contain('Wait: about 3 weeks');
    await matches.press('Next');
    await (await page.card('Check and send')).press('Send referral');
    expect(await (await page.card('Referral sent')).text()).to.contain('about 3 weeks');
  });

  it("the channel card shows the new wait, and its \"Waiting for an activity\" update tells the referrer", async () => {
    const page = suite.browser!;
    await page.openChannel('SAIL link workers', 'Referrals');
    const posted = await page.card(`Referral to ${SAIL}`);
    // The card quotes the service's wait as the entry says it now.
    expect(await posted.text()).to.contain('Typical wait now').and.contain('about 3 weeks');
    await posted.press('Accept');
    await page.card('Accepted by');
    // Her click's answer (her view, as owner) and the shared card the outbox sends race to replace the post.
    // Once the outbox has sent the shared card, asking for the contact details answers with her own view, for good.
    while ((await suite.world.bot.signpost.store.outbox.counts()).pending > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    await (await page.card(`Referral to ${SAIL}`)).press('Show contact details');
    const asOwner = await page.card('Jane Example');
    expect(await asOwner.text()).to.contain('You own this referral');
    await asOwner.press('Update');
    await asOwner.choose('What has happened', 'Waiting for an activity');
    await asOwner.press('Save update');
    const [entry] = await suite.world.bot.signpost.store.queue.list('sail');
    await page.openPersonalChat();
    const update = await page.card("The service's current wait is");
    expect(await update.text()).to.contain(`${entry.reference} (J.E.): waiting for an activity`).and.contain("The service's current wait is about 3 weeks.");
  });
});
