import { expect } from 'chai';
import { AUDIENCE, EmailWorld, embeddedCard, httpActions, IDENTIFIERS, INTAKE, linkFor, ORIGINATOR, postForm, waitUntil } from './support';

describe('Email intake with signed links (real SMTP on loopback, real server)', () => {
  let world: EmailWorld;

  before(async () => {
    world = await EmailWorld.start();
  });
  after(() => world?.stop());

  const post = postForm;

  it('emails a referral to an email-only service with the Actionable Message card and working links, and no identifiers @safety', async () => {
    const referral = await world.refer();
    const mail = await world.mailAbout(referral.reference);
    const everything = `${mail.subject}\n${mail.text}\n${mail.html}`;
    for (const identifier of IDENTIFIERS) expect(everything, identifier).not.to.contain(identifier);
    expect(mail.text).to.contain(referral.reference).and.contain('Company at lunchtime').and.contain('SE5');

    const card = embeddedCard(mail);
    expect(card.originator).to.equal(ORIGINATOR);
    const targets = httpActions(card);
    expect(targets.map((action) => JSON.parse(action.body).verb)).to.have.members(['accept', 'decline']);
    for (const action of targets) expect(action.url).to.equal(`${world.bot.config.publicUrl}/api/email/actions`);
    expect(world.bot.config.publicUrl).to.equal(`http://localhost:${world.bot.port}`);
    expect(AUDIENCE).to.not.equal('');

    const page = await fetch(linkFor(mail, 'Accept'));
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-security-policy')).to.contain("default-src 'none'");
    const html = await page.text();
    expect(html).to.contain(referral.reference).and.contain('<button type="submit">Accept</button>');
    for (const identifier of IDENTIFIERS) expect(html, identifier).not.to.contain(identifier);
    // Looking changed nothing.
    expect((await world.bot.signpost.store.referrals.get(referral.id))?.referral.status).to.equal('submitted');
  });

  it('accepts from the link page: the referrer is told in Teams, the audit says it came by email and from whom, and the link then says it was used', async () => {
    const referral = await world.refer();
    const mail = await world.mailAbout(referral.reference);
    const link = linkFor(mail, 'Accept');

    const accepted = await world.actOnLink(link, { verb: 'accept' });
    expect(accepted.status).to.equal(200);
    expect(await accepted.text()).to.contain(`Accepted by ${INTAKE}`);

    const stored = (await world.bot.signpost.store.referrals.get(referral.id))!.referral;
    expect(stored.status).to.equal('accepted');
    expect(stored.owner).to.deep.include({ id: `email:${INTAKE}`, email: INTAKE });
    const event = (await world.bot.signpost.store.referrals.audit(referral.id)).find((candidate) => candidate.action === 'referral.accept')!;
    expect(event.detail).to.deep.include({ via: 'email-link', fromAddress: INTAKE });

    const update = await world.connector.waitFor((activity) => activity.conversationId === referral.referrerConversation.conversation.id);
    expect(JSON.stringify(update.activity)).to.contain(`${referral.reference} (J.E.) was accepted`);

    const again = await world.actOnLink(link, { verb: 'accept' });
    expect(again.status).to.equal(409);
    const html = await again.text();
    expect(html).to.contain('already been used').and.contain('Accepted');
    expect((await world.bot.signpost.store.referrals.get(referral.id))!.referral.version).to.equal(stored.version);
  });

  it('lets the inbox that accepted update and close the case from the pages, and shows contact details only when asked, audited', async () => {
    const referral = await world.refer();
    const mail = await world.mailAbout(referral.reference);
    const acceptedPage = await (await world.actOnLink(linkFor(mail, 'Accept'), { verb: 'accept' })).text();
    // The page after a change offers what comes next, on a fresh link.
    const next = /<form method="post" action="([^"]+)">\s*<h2>Update progress<\/h2>/.exec(acceptedPage);
    expect(next, 'an Update progress form').to.not.equal(null);
    const base = linkFor(mail, 'Accept').replace(/[^/]+$/, '');

    const updated = await (await world.actOnLink(base + next![1], { verb: 'update', status: 'contacted' })).text();
    expect(updated).to.contain('Contacted, recorded by');
    const close = /<form method="post" action="([^"]+)">\s*<h2>Close<\/h2>/.exec(updated)!;
    const refusedClose = await post(base + close[1], { verb: 'close', reason: 'not-a-reason' });
    expect(refusedClose.status).to.equal(400);
    expect(await refusedClose.text()).to.contain('Choose why it is closing');
    expect((await world.bot.signpost.store.referrals.get(referral.id))!.referral.status).to.equal('contacted');

    const contact = await world.actOnLink(base + close[1], { verb: 'view-contact' });
    const contactHtml = await contact.text();
    expect(contactHtml).to.contain('Jane Example').and.contain('020 7946 0000');
    expect(contact.headers.get('cache-control')).to.equal('no-store');
    const shown = (await world.bot.signpost.store.referrals.audit(referral.id)).find((event) => event.action === 'referral.contact-details-shown')!;
    expect(shown.detail).to.deep.include({ via: 'email-link', fromAddress: INTAKE });

    const closed = await world.actOnLink(base + close[1], { verb: 'close', reason: 'completed' });
    expect(closed.status).to.equal(200);
    expect((await world.bot.signpost.store.referrals.get(referral.id))!.referral.status).to.equal('closed');
  });

  it('refuses forged, altered and unknown-verb posts with a clear page, and changes nothing', async () => {
    const referral = await world.refer();
    const mail = await world.mailAbout(referral.reference);
    const link = linkFor(mail, 'Accept');
    const token = link.slice(link.lastIndexOf('/') + 1);
    const [payload, mac] = token.split('.');
    const altered = JSON.parse(Buffer.from(payload, 'base64url').toString());
    altered.to = 'someone@else.example';
    const forged = `${link.slice(0, link.lastIndexOf('/') + 1)}${Buffer.from(JSON.stringify(altered)).toString('base64url')}.${mac}`;

    const forgedPage = await post(forged, { verb: 'accept' });
    expect(forgedPage.status).to.equal(400);
    expect(await forgedPage.text()).to.contain('This link is not valid');
    expect((await post(link, { verb: 'redirect' })).status).to.equal(400);
    expect((await post(link, { verb: 'update', status: 'contacted' })).status).to.equal(400); // not offered by this link
    expect((await world.bot.signpost.store.referrals.get(referral.id))!.referral.status).to.equal('submitted');
    const refusals = world.logLines.filter((line) => line.includes('email-action-refused'));
    expect(refusals.length).to.be.greaterThan(0);
    for (const line of refusals) expect(line).not.to.contain(INTAKE).and.not.to.contain(token);
  });

  it('acts on a forwarded link for nobody but its recipient: the code goes to the recipient, wrong guesses run out, nothing changes @safety', async () => {
    const referral = await world.refer();
    const mail = await world.mailAbout(referral.reference);
    const link = linkFor(mail, 'Accept');
    const seen = world.smtp.messages.length;
    const asked = await post(link, { verb: 'accept' });
    expect(await asked.text()).to.contain('If this email was forwarded to you, the code went to its recipient');
    const code = await world.codeFor(INTAKE, seen);
    const codeMail = world.smtp.messages.slice(seen).find((candidate) => String(candidate.text).includes(code))!;
    for (const identifier of IDENTIFIERS) expect(String(codeMail.text), identifier).not.to.contain(identifier);

    const wrong = code === '000000' ? '111111' : '000000';
    for (let attempt = 0; attempt < 5; attempt += 1) expect((await post(link, { code: wrong })).status).to.equal(403);
    const tooLate = await post(link, { code });
    expect(tooLate.status).to.equal(403);
    expect(await tooLate.text()).to.contain('That code has expired');
    expect((await world.bot.signpost.store.referrals.get(referral.id))!.referral.status).to.equal('submitted');
    // Asking again sends a new code, and that one works.
    expect((await world.actOnLink(link, { verb: 'accept' })).status).to.equal(200);
    expect((await world.bot.signpost.store.referrals.get(referral.id))!.referral.status).to.equal('accepted');
  });

  it('mails a few codes per link, then asks the recipient to use the one sent', async () => {
    const referral = await world.refer();
    const link = linkFor(await world.mailAbout(referral.reference), 'Accept');
    for (let asked = 0; asked < 3; asked += 1) expect((await post(link, { verb: 'accept' })).status).to.equal(200);
    const more = await post(link, { verb: 'accept' });
    expect(more.status).to.equal(429);
    expect(await more.text()).to.contain('Too many codes asked for');
    expect((await world.bot.signpost.store.referrals.get(referral.id))!.referral.status).to.equal('submitted');
  });

  it('shows the referral as it is now after a change elsewhere, and never lets two posts of one link both act', async () => {
    const referral = await world.refer();
    const mail = await world.mailAbout(referral.reference);
    const link = linkFor(mail, 'Accept');
    const seen = world.smtp.messages.length;
    expect((await post(link, { verb: 'accept' })).status).to.equal(200);
    const code = await world.codeFor(INTAKE, seen);
    const answers = await Promise.all([post(link, { code }), post(link, { code })]);
    // One acts; the other finds the code spent or the referral changed under it, never a second change.
    expect(answers.filter((answer) => answer.status === 200)).to.have.length(1);
    const stored = (await world.bot.signpost.store.referrals.get(referral.id))!.referral;
    expect(stored.version).to.equal(2);
    await waitUntil(async () => ((await fetch(link)).status === 409 ? true : undefined), 'the link to say it was used');
  });
});
