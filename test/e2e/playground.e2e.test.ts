import { expect } from 'chai';
import { PlaygroundBrowser, playgroundSuite, referJaneUntilMatches } from '../support/playground';

/**
 * End to end in the Microsoft 365 Agents Playground: the real bot server on its embedded
 * Azurite, the playground's Teams emulator, and headless Chromium clicking through it.
 */
describe('End to end in the Agents Playground (headless Chromium)', function () {
  this.timeout(180_000);
  const suite = playgroundSuite();

  it('answers "help" in the personal chat with the welcome card', async () => {
    suite.browser = await PlaygroundBrowser.open(suite.world.playground.url);
    await suite.browser.openPersonalChat();
    const welcome = await suite.browser.sendAndWaitForCard('help', 'What you can say');
    const text = await welcome.text();
    expect(text).to.contain('Signpost').and.contain('refer').and.contain('Hello Amira');
  });

  it('links the SAIL team\'s Referrals channel to the SAIL service', async () => {
    const page = suite.browser!;
    await page.openChannel('SAIL link workers', 'Referrals');
    await page.postToBot('Signpost', 'link sail');
    await page.waitForText('This channel now receives referrals for');
  });

  it('completes a referral as a receptionist would, and it appears in the service\'s channel', async () => {
    const page = suite.browser!;
    const matches = await referJaneUntilMatches(page);
    expect(await matches.text()).to.contain('Safe and Independent Living (SAIL)').and.contain('Wait: about 6 weeks');
    await matches.press('Next');

    const summary = await page.card('Check and send');
    expect(await summary.text()).to.contain('Jane Example').and.contain('SE5 8AU');
    await summary.press('Send referral');

    const sent = await page.card('Referral sent');
    const text = await sent.text();
    expect(text).to.match(/SP-\d{4}-000001/).and.contain('871731000000106');
    expect(text).to.contain("Teams channel now");
    // Finished steps' cards were replaced, so no stale buttons are left in the chat.
    expect(await page.page.locator('.ac-adaptiveCard').filter({ hasText: 'How was consent given' }).count()).to.equal(0);

    const queue = await suite.world.bot.signpost.store.queue.list('sail');
    expect(queue).to.have.length(1);
    expect(queue[0].reference).to.match(/SP-\d{4}-000001/);

    await page.openChannel('SAIL link workers', 'Referrals');
    const posted = await page.card('Referral to Safe and Independent Living');
    const channelText = await posted.text();
    expect(channelText).to.contain(queue[0].reference).and.contain('SE5, Southwark').and.contain('getting back to the allotment');
    expect(channelText).not.to.contain('Jane').and.not.contain('943 476');
    // The shared card: what any link worker may do while it is new, and nobody's owner tools.
    expect(channelText).to.contain('Nobody has accepted this referral yet.');
    const sharedButtons = await posted.buttons();
    expect(sharedButtons).to.include.members(['Accept', 'Assign', 'Decline or redirect', 'Show contact details', 'Escalate to a supervisor']);
    for (const ownerOnly of ['Update', 'Outcomes', 'Close']) expect(sharedButtons).not.to.include(ownerOnly);

    // A link worker accepts it on the card; the card shows the new owner.
    await posted.press('Accept');
    const accepted = await page.card('Accepted by');
    expect(await accepted.text()).to.contain('Owner').and.contain('Amira Patel');
    const stored = await suite.world.bot.signpost.store.referrals.get(queue[0].referralId);
    expect(stored?.referral.status).to.equal('accepted');

    // The referrer hears about it in their personal chat, without asking.
    await page.openPersonalChat();
    const update = await page.card('was accepted by');
    const updateText = await update.text();
    expect(updateText).to.contain(`${queue[0].reference} (J.E.)`).and.not.contain('Jane');
  });

  it('adds a supervisor in the channel, escalates from the card, and the supervisor acknowledges in their chat', async () => {
    const page = suite.browser!;
    await page.openChannel('SAIL link workers', 'Referrals');
    // Amira linked the channel in this playground, so she may name supervisors; she is also the one who is alerted.
    await page.postToBot('Signpost', 'supervisors add amira.patel@lordship-lane-surgery.example clinical');
    await page.waitForText('is now a clinical supervisor');

    const posted = await page.card('Referral to Safe and Independent Living');
    await posted.press('Escalate to a supervisor');
    await posted.choose('Why', 'Clinical advice needed');
    await posted.fill('What the supervisor needs to know', 'Side effects from a new medication');
    await posted.press('Send to supervisors');
    const escalated = await page.card('Escalated (clinical advice needed)');
    expect(await escalated.text()).to.contain('waiting for a supervisor');

    await page.openPersonalChat();
    const alert = await page.card('Clinical advice needed: SP-');
    expect(await alert.text()).to.contain('Side effects from a new medication').and.contain('Take over');
    await alert.press('Acknowledge');
    const answered = await page.card('The link worker has been told');
    expect(await answered.text()).to.contain('Escalation acknowledged by Amira Patel');
    // She escalated too, so the answer also reaches her as the link worker.
    expect(await (await page.card('Your escalation was answered')).text()).to.contain('Escalation acknowledged by Amira Patel');
    const [entry] = await suite.world.bot.signpost.store.queue.list('sail');
    const stored = await suite.world.bot.signpost.store.referrals.get(entry.referralId);
    expect(stored?.referral.escalations?.[0].acknowledged?.by.name).to.equal('Amira Patel');
  });

  // The playground does not run a card's refresh ("User specific view is not supported yet"), and
  // its one user is Amira: so each view is shown as Signpost sends it. The shared card replacing
  // the post is what another member sees; the answer to Amira's own click is her view as owner.
  // test/bot/cardViews.test.ts covers the refresh invokes themselves, for every status and role.
  it('shows the channel card as another member sees it, and as its owner sees it', async () => {
    const page = suite.browser!;
    await page.openChannel('SAIL link workers', 'Referrals');
    const [entry] = await suite.world.bot.signpost.store.queue.list('sail');
    const link = (await suite.world.bot.signpost.store.channelLinks.forService('sail'))!;
    const kwame = { id: '29:kwame-mensah', name: 'Kwame Mensah', identifiedBy: 'teams' as const, teamsChannel: { teamId: link.teamId, channelId: link.channelId } };
    const assignTo = async (assigneeId: string) => {
      const { version } = (await suite.world.bot.signpost.store.referrals.get(entry.referralId))!.referral;
      expect((await suite.world.bot.signpost.actions.act(kwame, entry.referralId, version, { verb: 'assign', assigneeId })).kind).to.equal('changed');
    };

    // Kwame takes the case on his own card: the post is replaced with the shared card, and Amira is another member.
    await assignTo('29:kwame-mensah');
    const asAnotherMember = await page.card('Owned by Kwame Mensah');
    const theirButtons = await asAnotherMember.buttons();
    expect(theirButtons).to.include.members(['Assign', 'Show contact details', 'Escalate to a supervisor']);
    for (const ownerOnly of ['Update', 'Outcomes', 'Close', 'Decline or redirect', 'Accept']) expect(theirButtons).not.to.include(ownerOnly);

    // He hands it back to Amira; her answer when she asks for the contact details is her own view, with the owner's tools.
    await assignTo('29:amira-patel');
    await (await page.card('Owned by Amira Patel')).press('Show contact details');
    const asOwner = await page.card('You own this referral');
    expect(await asOwner.text()).to.contain('Jane Example');
    expect(await asOwner.buttons()).to.include.members(['Update', 'Outcomes', 'Close', 'Decline or redirect', 'Assign', 'Escalate to a supervisor']);
  });

  it('refer in the group chat opens the form in the referrer\'s own chat; the group sees only a one-line note', async () => {
    const page = suite.browser!;
    await page.openGroupChat('Lordship Lane Surgery front desk');
    await page.mentionBot('Signpost', 'refer');
    await page.waitForText("opened the referral form in your chat with Signpost");
    expect(await page.page.locator('.ac-adaptiveCard').filter({ hasText: 'About you, the referrer' }).count()).to.equal(0);

    await page.openPersonalChat();
    const referrer = await page.card('About you, the referrer');
    expect(await referrer.text()).to.contain('step 1 of 7');
    await page.send('cancel');
    await page.waitForText('Referral cancelled');
  });
});
