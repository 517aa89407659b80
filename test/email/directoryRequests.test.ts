import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ParsedMail } from 'mailparser';
import { verificationRequestMessage, verificationTimer } from '../../domain/directory/verification';
import { staffMessageCard } from '../../cards/staffMessageCard';
import { ACTIONABLE_MESSAGES_APP_ID } from '../../bot/email/emailActions';
import { TestEntra } from '../support/entra';
import { AUDIENCE, EmailWorld, embeddedCard, httpActions, ORIGINATOR, postForm } from './support';

/**
 * A request to confirm a directory entry by email, through real SMTP on loopback: the email's
 * signed link opens a page with "Still correct" and "Change"; posting either goes through the
 * same checks as a Teams click (route email).
 */

const HELEN = 'helen.price@ageuk-ls.example';
const TENANT = '7e1c0f52-4f0a-4a8c-9d6e-2b1f3c4d5e6f';

describe('Directory verification requests by email (SMTP on loopback)', () => {
  let world: EmailWorld;
  before(async () => {
    world = await EmailWorld.start();
    await world.bot.signpost.store.directory.change('sail', undefined, (sail) => ({ ...sail, maintainers: [HELEN] }), { route: 'cli', by: { name: 'set-up' }, at: new Date().toISOString() });
  });
  after(async () => world?.stop());

  const directory = () => world.bot.signpost.store.directory;

  let requests = 0;
  /** Sends SAIL's request now (as its timer would) and returns the link in the email Helen receives. */
  async function requestLink(): Promise<{ link: string; text: string; mail: ParsedMail }> {
    const signpost = world.bot.signpost;
    const before = world.smtp.messages.length;
    // Each request is about the entry as last checked: a fresh check date makes a fresh request (the same one is sent once).
    requests += 1;
    const checked = `2026-01-${String(10 + requests).padStart(2, '0')}`;
    await directory().change('sail', undefined, (sail) => ({ ...sail, lastVerified: checked, maintainers: [HELEN] }), { route: 'cli', by: { name: 'set-up' }, at: new Date().toISOString() });
    const service = (await directory().current('sail'))!.service;
    await signpost.directoryUpkeep.requestDue(verificationTimer(service, signpost.supervision.calendar, new Date()), new Date());
    signpost.dispatcher.kick();
    const mail = (await world.smtp.waitForMessages(before + 1))[before];
    expect(mail.to && 'text' in mail.to ? mail.to.text : '').to.contain(HELEN);
    const text = mail.text ?? '';
    const link = /(http:\/\/\S+\/directory\/verify\/\S+)/.exec(text)?.[1];
    expect(link, text).to.be.a('string');
    return { link: link!, text, mail };
  }

  const post = (link: string, fields: Record<string, string>) =>
    fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });

  it('the email shows the entry and links to a page to confirm it; Still correct records a new version by email @safety', async () => {
    const { link, text } = await requestLink();
    expect(text).to.contain('Is the entry for Safe and Independent Living (SAIL) signposting programme still correct?').and.contain('Typical wait: about 6 weeks');
    const shown = await fetch(link);
    expect(shown.status).to.equal(200);
    const html = await shown.text();
    expect(html).to.contain('Still correct').and.contain('name="waitWeeks"');

    const before = (await directory().current('sail'))!;
    const confirmed = await world.actOnLink(link, { answer: 'confirm' }, HELEN);
    expect(confirmed.status).to.equal(200);
    expect(await confirmed.text()).to.contain('confirmed as correct today');
    const last = (await directory().history('sail')).at(-1)!;
    expect(last).to.deep.include({ version: before.version + 1, route: 'email', by: { name: HELEN, email: HELEN } });

    // The same link again is for an older version: nothing changes.
    const again = await post(link, { answer: 'change', status: 'closed', waitWeeks: '' });
    expect(again.status).to.equal(409);
    expect((await directory().current('sail'))!.version).to.equal(before.version + 1);
  });

  it('Change by email: new wait and a pause, used by matching at once; bad fields are named and change nothing @safety', async () => {
    const { link } = await requestLink();
    const before = (await directory().current('sail'))!;
    const bad = await post(link, { answer: 'change', status: 'paused', reopensOn: 'soon', waitWeeks: '-1' });
    expect(bad.status).to.equal(400);
    const explanation = await bad.text();
    expect(explanation).to.contain('Reopening date: a date as YYYY-MM-DD').and.contain('Typical wait: whole weeks, from 0 to 104');
    expect(await directory().current('sail')).to.deep.equal(before);

    const changed = await world.actOnLink(link, { answer: 'change', status: 'paused', reopensOn: '2099-03-01', waitWeeks: '10', openingHours: 'Weekdays' }, HELEN);
    expect(changed.status).to.equal(200);
    expect(await changed.text()).to.contain('Paused until 1 March 2099');
    const after = (await directory().list()).find((service) => service.id === 'sail')!;
    expect(after).to.deep.include({ status: 'paused', reopensOn: '2099-03-01', openingHours: 'Weekdays' });
    expect(after.waitingTimeWeeks.value).to.equal(10);
  });

  it('refuses forged and altered links, and addresses that do not maintain the service @safety', async () => {
    const { link } = await requestLink();
    const before = (await directory().current('sail'))!;
    const [payload, mac] = link.split('/').at(-1)!.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), serviceId: 'champs' })).toString('base64url');
    const forged = link.replace(payload, forgedPayload);
    expect((await post(forged, { answer: 'confirm' })).status).to.equal(403);
    expect((await fetch(link.replace(mac, 'A'.repeat(43)))).status).to.equal(403);

    expect(await directory().current('sail')).to.deep.equal(before);

    // Helen stops maintaining SAIL: her link no longer changes anything.
    await directory().change('sail', undefined, (sail) => ({ ...sail, maintainers: ['someone.else@ageuk-ls.example'] }), { route: 'cli', by: { name: 'set-up' }, at: new Date().toISOString() });
    const refused = await post(link, { answer: 'confirm' });
    expect(refused.status).to.equal(403);
    expect(await refused.text()).to.contain('Only the maintainers of Safe and Independent Living');
    expect((await directory().history('sail')).at(-1)!.route).to.equal('cli');
  });

  describe('as an Outlook Actionable Message (Entra tokens from keys served on loopback)', () => {
    const claims = (overrides: Record<string, unknown> = {}) => ({ aud: AUDIENCE, azp: ACTIONABLE_MESSAGES_APP_ID, preferred_username: HELEN, name: 'Helen Price', jti: randomUUID(), ...overrides });
    const token = (overrides: Record<string, unknown> = {}) => world.entra.token(TENANT, claims(overrides));
    type Button = { url: string; body: string };
    /** The card's buttons, as Outlook would post them: the Change form's placeholders filled with `fields`. */
    const buttons = (mail: ParsedMail) => {
      const found = httpActions(embeddedCard(mail));
      const button = (title: string): Button => {
        const action = found.find((candidate) => candidate.title === title)!;
        return { url: String(action.url).replace('localhost', '127.0.0.1'), body: String(action.body) };
      };
      return { confirm: button('Still correct'), change: button('Save changes') };
    };
    const filled = (button: Button, fields: Record<string, string>): Button => {
      const body = JSON.parse(button.body) as Record<string, string>;
      // What Outlook does with {{id.value}}: the value entered, or "" for an input left empty.
      for (const key of Object.keys(body)) if (/^\{\{\w+\.value\}\}$/.test(body[key])) body[key] = fields[key] ?? '';
      return { url: button.url, body: JSON.stringify(body) };
    };
    const press = (button: Button, bearer: string | undefined, body = button.body) =>
      fetch(button.url, { method: 'POST', headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) }, body });

    it('carries the Teams card as an Actionable Message; Still correct answers with the recipient\'s token, and the card shows it answered @safety', async () => {
      const { mail } = await requestLink();
      const stored = (await directory().current('sail'))!;
      const card = embeddedCard(mail);
      expect(card.originator).to.equal(ORIGINATOR);
      // The same content as the Teams request card: the entry's values and the same form.
      const teams = staffMessageCard(verificationRequestMessage(stored.service, stored.version, 1, new Date().toISOString()));
      expect(card.body).to.deep.equal(teams.body);
      const change = (card.actions as Array<Record<string, any>>).find((action) => action.title === 'Change')!;
      expect(change.card.body).to.deep.equal((teams.actions as Array<Record<string, any>>).find((action) => action.title === 'Change')!.card.body);
      expect(httpActions(card).map((action) => action.title)).to.deep.equal(['Still correct', 'Save changes']);

      const answer = await press(buttons(mail).confirm, await token());
      expect(answer.status).to.equal(200);
      expect(answer.headers.get('card-update-in-body')).to.equal('true');
      expect(answer.headers.get('card-action-status')).to.contain('confirmed as correct today');
      const answered = await answer.json();
      expect(httpActions(answered)).to.deep.equal([]);
      expect(JSON.stringify(answered)).to.contain('confirmed as correct today');
      expect((await directory().history('sail')).at(-1)).to.deep.include({ version: stored.version + 1, route: 'email', by: { name: 'Helen Price', email: HELEN } });
    });

    it('Change from Outlook: the form is applied at once; bad fields are refused 400, each named; an answer about an older version is 409 with the entry now @safety', async () => {
      const { mail } = await requestLink();
      const before = (await directory().current('sail'))!;
      const { change } = buttons(mail);
      const bad = await press(filled(change, { status: 'paused', reopensOn: 'soon', waitWeeks: '-1' }), await token());
      expect(bad.status).to.equal(400);
      expect(bad.headers.get('card-action-status')).to.contain('Reopening date: a date as YYYY-MM-DD').and.contain('Typical wait: whole weeks, from 0 to 104');
      const noDate = await press(filled(change, { status: 'paused', waitWeeks: '3' }), await token());
      expect(noDate.status).to.equal(400);
      expect(noDate.headers.get('card-action-status')).to.contain('Reopening date: say when a paused service reopens');
      expect(await directory().current('sail')).to.deep.equal(before);

      const saved = await press(filled(change, { status: 'open', waitWeeks: '4', contactRoute: 'Phone the SAIL team', openingHours: 'Weekdays 9 to 5' }), await token());
      expect(saved.status).to.equal(200);
      const after = (await directory().list()).find((service) => service.id === 'sail')!;
      expect(after).to.deep.include({ status: 'open', contactRoute: 'Phone the SAIL team', openingHours: 'Weekdays 9 to 5' });
      expect(after.waitingTimeWeeks.value).to.equal(4);

      // The same email's Still correct, after that change: stale, nothing changes, and the card shows the entry now.
      const stale = await press(buttons(mail).confirm, await token());
      expect(stale.status).to.equal(409);
      const now = await stale.json();
      expect(JSON.stringify(now)).to.contain('about 4 weeks').and.contain('has changed since this request was sent');
      // Its buttons are for the version it shows.
      const link = JSON.parse(String(httpActions(now)[0].body)).link as string;
      expect(JSON.parse(Buffer.from(link.split('.')[0], 'base64url').toString())).to.deep.include({ to: HELEN, serviceId: 'sail', version: before.version + 1 });
      expect((await directory().current('sail'))!.version).to.equal(before.version + 1);
    });

    it('refuses forged, expired, wrong-audience and replayed tokens (401), another recipient and a non-maintainer (403), changing nothing @safety', async () => {
      const { mail } = await requestLink();
      const before = (await directory().current('sail'))!;
      const { confirm } = buttons(mail);
      const refusals: Array<[string, string | undefined, number]> = [
        ['missing', undefined, 401],
        ['forged signature', await world.entra.token(TENANT, claims(), { signWith: await TestEntra.foreignKey() }), 401],
        ['expired', await world.entra.token(TENANT, claims(), { expiresIn: Math.floor(Date.now() / 1000) - 600 }), 401],
        ['wrong audience', await token({ aud: 'api://someone-else' }), 401],
        ['other recipient', await token({ preferred_username: 'forwarded.to@elsewhere.example' }), 403],
      ];
      for (const [what, bearer, expected] of refusals) {
        const answer = await press(confirm, bearer);
        expect(answer.status, what).to.equal(expected);
        expect(answer.headers.get('card-action-status'), what).to.be.a('string');
      }
      // A forged link (another service under Helen's own MAC) and an unknown answer.
      const body = JSON.parse(confirm.body);
      expect((await press(confirm, await token(), JSON.stringify({ ...body, link: body.link.replace(/^[^.]+/, Buffer.from(JSON.stringify({ to: HELEN, serviceId: 'champs', version: 1, expiresAt: 9e9 })).toString('base64url')) }))).status).to.equal(400);
      const used = await token();
      expect((await press(confirm, used, JSON.stringify({ ...body, answer: 'delete' }))).status).to.equal(400);
      expect(await directory().current('sail')).to.deep.equal(before);

      // Helen no longer maintains SAIL: her email's buttons change nothing.
      await directory().change('sail', undefined, (sail) => ({ ...sail, maintainers: ['someone.else@ageuk-ls.example'] }), { route: 'cli', by: { name: 'set-up' }, at: new Date().toISOString() });
      const notHers = await press(confirm, used);
      expect(notHers.status).to.equal(403);
      expect(notHers.headers.get('card-action-status')).to.contain('Only the maintainers of Safe and Independent Living');
      await directory().change('sail', undefined, (sail) => ({ ...sail, maintainers: [HELEN] }), { route: 'cli', by: { name: 'set-up' }, at: new Date().toISOString() });
      // That token was spent on the refused answer: it cannot be used again.
      expect((await press(confirm, used)).status).to.equal(401);
      expect((await directory().history('sail')).at(-1)!.route).to.equal('cli');

      const logged = world.logLines.filter((line) => line.includes('directory-link-refused'));
      expect(logged.some((line) => line.includes('token-replayed'))).to.equal(true);
      for (const line of logged) expect(line).not.to.contain(HELEN).and.not.to.contain('forwarded.to@');
    });
  });

  describe('the link page asks for a code mailed to the maintainer', () => {
    it('a forwarded link answers for nobody but its recipient; a wrong code asks again and keeps the Change form; the right one applies it @safety', async () => {
      const { link } = await requestLink();
      const before = (await directory().current('sail'))!;
      const seen = world.smtp.messages.length;
      const fields = { answer: 'change', status: 'closed', waitWeeks: '', contactRoute: 'No longer taking referrals', note: 'Merged into the council service' };
      const asked = await postForm(link, fields);
      expect(asked.status).to.equal(200);
      const codePage = await asked.text();
      expect(codePage).to.contain('Enter your confirmation code').and.contain('Save changes');
      // Nothing changes until the code is entered; the code goes to Helen, not to whoever holds the link.
      expect(await directory().current('sail')).to.deep.equal(before);
      const code = await world.codeFor(HELEN, seen);
      const codeMail = world.smtp.messages.slice(seen).find((mail) => mail.subject?.includes('confirmation code'))!;
      expect(codeMail.subject).to.equal('Signpost: your confirmation code for the entry for Safe and Independent Living (SAIL) signposting programme');

      const wrong = await postForm(link, { code: code === '000000' ? '111111' : '000000' });
      expect(wrong.status).to.equal(403);
      expect(await wrong.text()).to.contain('That code is not right').and.contain('name="code"');
      expect(await directory().current('sail')).to.deep.equal(before);

      // The right code: what was typed in the Change form before the code step is what is saved.
      const done = await postForm(link, { code });
      expect(done.status).to.equal(200);
      expect(await done.text()).to.contain('Thank you');
      const after = (await directory().current('sail'))!;
      expect(after.version).to.equal(before.version + 1);
      expect(after.service).to.deep.include({ status: 'closed', contactRoute: 'No longer taking referrals', note: 'Merged into the council service' });
      expect(after.service.waitingTimeWeeks.value).to.equal(null);
      // The code is spent.
      expect((await postForm(link, { code })).status).to.equal(403);
      await directory().change('sail', undefined, (sail) => ({ ...sail, status: 'open' }), { route: 'cli', by: { name: 'set-up' }, at: new Date().toISOString() });
    });

    it('once wrong guesses run out, nothing changes and the Change form comes back as it was filled in, for a new code', async () => {
      const { link } = await requestLink();
      const before = (await directory().current('sail'))!;
      const seen = world.smtp.messages.length;
      expect((await postForm(link, { answer: 'change', status: 'open', waitWeeks: '12', note: 'Waits are longer over winter' })).status).to.equal(200);
      const code = await world.codeFor(HELEN, seen);
      const wrongCode = code === '000000' ? '111111' : '000000';
      for (let guess = 0; guess < 5; guess += 1) expect((await postForm(link, { code: wrongCode })).status).to.equal(403);
      // The right code is too late now.
      const ranOut = await postForm(link, { code });
      expect(ranOut.status).to.equal(403);
      const html = await ranOut.text();
      expect(html).to.contain('That code has run out').and.contain('name="waitWeeks" min="0" max="104" value="12"').and.contain('value="Waits are longer over winter"');
      expect(await directory().current('sail')).to.deep.equal(before);
    });

    it('a bad Change shows the form again as it was filled in, naming each problem, and mails no code', async () => {
      const { link } = await requestLink();
      const seen = world.smtp.messages.length;
      const bad = await postForm(link, { answer: 'change', status: 'paused', reopensOn: '', waitWeeks: '7', openingHours: 'Tuesdays <b>only</b>' });
      expect(bad.status).to.equal(400);
      const html = await bad.text();
      expect(html).to.contain('Reopening date: say when a paused service reopens');
      expect(html).to.contain('value="Tuesdays &lt;b&gt;only&lt;/b&gt;"').and.contain('name="waitWeeks" min="0" max="104" value="7"').and.contain('<option value="paused" selected>');
      // The next good answer's code is the first code mailed since.
      expect((await postForm(link, { answer: 'confirm' })).status).to.equal(200);
      await world.codeFor(HELEN, seen);
      expect(world.smtp.messages.slice(seen).filter((mail) => mail.subject?.includes('confirmation code'))).to.have.length(1);
    });
  });
});
