import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ParsedMail } from 'mailparser';
import { activityRequestMessage, verificationTimer } from '../../domain/directory/verification';
import { staffMessageCard } from '../../cards/staffMessageCard';
import { ACTIONABLE_MESSAGES_APP_ID } from '../../bot/email/emailActions';
import { postActivity, teamsActivity } from '../support/connector';
import { cardText, expectValidTeamsCard } from '../support/adaptiveCards';
import { answerButtons, AUDIENCE, EmailWorld, embeddedCard, filledIn, httpActions, ORIGINATOR, postForm, press } from './support';

/**
 * A community activity's maintainers answer a request to confirm its entry from Teams (the
 * Universal Actions card) and from email (the Outlook Actionable Message, and the signed link's
 * page whose answer waits for a mailed code), through the same checks as a service's: the
 * maintainer of that activity only, the version shown, every field named.
 */

const SAM = { id: '29:sam', name: 'Sam Shed', email: 'sam.shed@sheds.example' };
const OTHER = { id: '29:other', name: 'Olu Other', email: 'olu@elsewhere.example' };
const SHEDS = 'men-in-sheds';

describe('Answering a request about an activity, in Teams and by email (real server, SMTP on loopback)', () => {
  let world: EmailWorld;
  before(async () => {
    world = await EmailWorld.start();
    world.connector.members = [SAM, OTHER];
    await activities().change(
      SHEDS,
      undefined,
      (activity) => ({ ...activity, maintainers: [{ name: SAM.name, email: SAM.email }], contact: { ...activity.contact, website: 'https://sheds.example/join_us' } }),
      { route: 'cli', by: { name: 'set-up' }, at: new Date().toISOString() },
    );
  });
  after(async () => world?.stop());

  const activities = () => world.bot.signpost.store.activities;
  const sheds = async () => (await activities().current(SHEDS))!;
  const form = async (changes: Record<string, string> = {}) => {
    const current = activityRequestMessage((await sheds()).activity, 1, 1, '').verification!.current as unknown as Record<string, string>;
    return { ...current, ...changes };
  };

  async function click(verb: string, data: Record<string, unknown>, from = SAM): Promise<{ statusCode: number; type: string; value: any }> {
    const invoke = teamsActivity(world.connector, { type: 'invoke', name: 'adaptiveCard/action', from: { id: from.id, name: from.name }, value: { action: { type: 'Action.Execute', verb, data } } });
    return JSON.parse((await postActivity(world.bot.url, invoke)).body);
  }

  it('the Teams card shows the activity and a Change form with its own fields', async () => {
    const { activity, version } = await sheds();
    const card = staffMessageCard(activityRequestMessage(activity, version, 1, new Date().toISOString()));
    expectValidTeamsCard(card);
    expect(cardText(card)).to.contain('Is the entry for Workshop shed group still correct?').and.contain('Days and times').and.contain('Cost');
    const json = JSON.stringify(card);
    expect(json).to.contain(`"activityId":"${SHEDS}"`).and.contain('"id":"sessions"').and.contain('"id":"running"').and.not.contain('"id":"waitWeeks"');
  });

  it('Still correct and Change from Teams: new versions by route teams; stale, outsiders and bad fields change nothing @safety', async () => {
    const { version } = await sheds();
    const confirmed = await click('directory-confirm', { activityId: SHEDS, version });
    expect(confirmed.statusCode).to.equal(200);
    expectValidTeamsCard(confirmed.value);
    expect(cardText(confirmed.value)).to.contain('confirmed as correct today');
    expect((await activities().history(SHEDS)).at(-1)).to.deep.include({ route: 'teams', by: { name: SAM.name, email: SAM.email }, changed: ['lastVerified'] });

    const stale = await click('directory-change', { activityId: SHEDS, version, ...(await form({ cost: '£5' })) });
    expect(cardText(stale.value)).to.contain('has changed since this request was sent');
    const outsider = await click('directory-confirm', { activityId: SHEDS, version: version + 1 }, OTHER);
    expect(outsider).to.deep.include({ statusCode: 403 });
    expect(outsider.value.message).to.contain('Only the maintainers of Workshop shed group');
    expect((await click('directory-confirm', { activityId: 'Not An Id', version: 1 })).statusCode).to.equal(400);
    expect((await click('directory-confirm', { activityId: 'no-such-activity', version: 1 })).statusCode).to.equal(404);
    const bad = await click('directory-change', { activityId: SHEDS, version: version + 1, ...(await form({ sessions: 'sometimes', website: 'nowhere' })) });
    expect(cardText(bad.value)).to.contain('Days and times: write each session').and.contain('Contact website: a web address');
    expect((await sheds()).version).to.equal(version + 1);

    const changed = await click('directory-change', { activityId: SHEDS, version: version + 1, ...(await form({ cost: '£1 towards materials', sessions: 'Tue, Fri 10:00–13:00' })) });
    expect(cardText(changed.value)).to.contain('is updated');
    expect((await sheds()).activity).to.deep.include({ cost: '£1 towards materials', sessions: [{ days: ['tuesday', 'friday'], starts: '10:00', ends: '13:00' }] });
  });

  it('saving the Teams form as it is prefilled changes nothing but the date checked (values are not escaped as Markdown)', async () => {
    const { activity, version } = await sheds();
    const card = staffMessageCard(activityRequestMessage(activity, version, 1, new Date().toISOString()));
    const inputs: Record<string, unknown> = {};
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(visit);
      if (!node || typeof node !== 'object') return;
      const element = node as Record<string, unknown>;
      if (typeof element.type === 'string' && element.type.startsWith('Input.') && typeof element.id === 'string') inputs[element.id] = element.value ?? '';
      Object.values(element).forEach(visit);
    };
    visit(card);
    expect(inputs.website).to.equal('https://sheds.example/join_us');
    const saved = await click('directory-change', { activityId: SHEDS, version, ...inputs });
    expect(cardText(saved.value)).to.contain('is updated');
    const after = await sheds();
    expect(after.activity).to.deep.equal({ ...activity, lastVerified: new Date().toISOString().slice(0, 10) });
    expect(after.version).to.equal(activity.lastVerified === new Date().toISOString().slice(0, 10) ? version : version + 1);
  });

  it('by email: the signed link opens the activity’s form; Change records route email; stopping takes it out of the card’s search @safety', async () => {
    const signpost = world.bot.signpost;
    const before = world.smtp.messages.length;
    const { activity } = await sheds();
    await signpost.directoryUpkeep.requestDue(verificationTimer(activity, signpost.supervision.calendar, new Date(), undefined, 'activity'), new Date());
    signpost.dispatcher.kick();
    const mail = (await world.smtp.waitForMessages(before + 1))[before];
    expect(mail.to && 'text' in mail.to ? mail.to.text : '').to.contain(SAM.email);
    const text = mail.text ?? '';
    expect(text).to.contain('Is the entry for Workshop shed group still correct?').and.contain('Days and times:');
    const link = /(http:\/\/\S+\/directory\/verify\/\S+)/.exec(text)![1];
    const page = await (await fetch(link)).text();
    expect(page).to.contain('name="sessions"').and.contain('name="running"').and.not.contain('name="waitWeeks"');

    // Each answer waits for the code mailed to Sam; a refused one is answered before any code.
    const post = (fields: Record<string, string>) => world.actOnLink(link, fields, SAM.email);
    const bad = await post({ answer: 'change', ...(await form({ cost: '' })) });
    expect(bad.status).to.equal(400);
    expect(await bad.text()).to.contain('Cost: say what it costs');

    const typeahead = async () => {
      const search = teamsActivity(world.connector, { type: 'invoke', name: 'application/search', from: { id: SAM.id, name: SAM.name }, value: { queryText: 'shed woodwork', dataset: 'activities' } });
      return (JSON.parse((await postActivity(world.bot.url, search)).body).value.results as Array<{ value: string }>).map((result) => result.value);
    };
    expect(await typeahead()).to.include(SHEDS);
    const stopped = await post({ answer: 'change', ...(await form({ running: 'stopped' })) });
    expect(stopped.status).to.equal(200);
    expect(await stopped.text()).to.contain('no longer offered');
    expect((await activities().history(SHEDS)).at(-1)).to.deep.include({ route: 'email', by: { name: SAM.email, email: SAM.email } });

    // The referral card's typeahead no longer offers it.
    expect(await typeahead()).not.to.include(SHEDS);

    // The same link again is for an older version: nothing changes.
    expect((await post({ answer: 'confirm' })).status).to.equal(409);
    // An altered link (to a service) is refused.
    const [payload] = link.split('/').at(-1)!.split('.');
    const altered = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), entry: 'service', serviceId: 'sail' })).toString('base64url');
    expect((await fetch(link.replace(payload, altered))).status).to.equal(403);
  });

  it('a link made before links named their entry kind is still a service’s, and still verifies @safety', async () => {
    const signpost = world.bot.signpost;
    const by = { route: 'cli' as const, by: { name: 'set-up' }, at: new Date().toISOString() };
    await signpost.store.directory.change('sail', undefined, (sail) => ({ ...sail, maintainers: [SAM.email] }), by);
    const { version } = (await signpost.store.directory.current('sail'))!;
    const claims = { to: SAM.email, serviceId: 'sail', version, expiresAt: Math.floor(Date.now() / 1000) + 3600 };
    const link = `${world.bot.url}/directory/verify/${signpost.signer.signAs('signpost-directory-link.v1.', claims)}`;
    const page = await fetch(link);
    expect(page.status).to.equal(200);
    expect(await page.text()).to.contain('name="waitWeeks"');
    const confirmed = await world.actOnLink(link, { answer: 'confirm' }, SAM.email);
    expect(confirmed.status).to.equal(200);
    expect((await signpost.store.directory.current('sail'))!.version).to.equal(version + 1);
  });
  describe('from Outlook, and through the link page’s code (the combination of both email forms with activities)', () => {
    const TENANT = '7e1c0f52-4f0a-4a8c-9d6e-2b1f3c4d5e6f';
    const token = (overrides: Record<string, unknown> = {}) =>
      world.entra.token(TENANT, { aud: AUDIENCE, azp: ACTIONABLE_MESSAGES_APP_ID, preferred_username: SAM.email, name: SAM.name, jti: randomUUID(), ...overrides });
    const by = () => ({ route: 'cli' as const, by: { name: 'set-up' }, at: new Date().toISOString() });

    let requests = 0;
    /** Sends the sheds' request now, as its timer would, about the entry as last checked on a fresh date (running again), and returns Sam's email. */
    async function requestMail(): Promise<ParsedMail> {
      const signpost = world.bot.signpost;
      requests += 1;
      const checked = `2026-02-${String(10 + requests).padStart(2, '0')}`;
      await activities().change(SHEDS, undefined, ({ stopped: _stopped, ...activity }) => ({ ...activity, lastVerified: checked, maintainers: [{ name: SAM.name, email: SAM.email }] }), by());
      const { activity } = await sheds();
      const before = world.smtp.messages.length;
      await signpost.directoryUpkeep.requestDue(verificationTimer(activity, signpost.supervision.calendar, new Date(), undefined, 'activity'), new Date());
      signpost.dispatcher.kick();
      return (await world.smtp.waitForMessages(before + 1))[before];
    }
    const linkIn = (mail: ParsedMail) => /(http:\/\/\S+\/directory\/verify\/\S+)/.exec(mail.text ?? '')![1];

    it('the email carries the activity’s Teams card as an Actionable Message; Still correct and Change answer with Sam’s token, and the card shows the entry now @safety', async () => {
      const mail = await requestMail();
      const stored = await sheds();
      const card = embeddedCard(mail);
      expect(card.originator).to.equal(ORIGINATOR);
      // The same content and the same Change form as the Teams card, with Action.Http buttons whose bodies carry the activity's fields.
      const teams = staffMessageCard(activityRequestMessage(stored.activity, stored.version, 1, new Date().toISOString()));
      expect(card.body).to.deep.equal(teams.body);
      const { confirm, change } = answerButtons(mail);
      expect(Object.keys(JSON.parse(change.body))).to.have.members(['link', 'answer', 'running', 'sessions', 'cost', 'howToJoin', 'accessNotes', 'phone', 'email', 'website']);
      const link = JSON.parse(confirm.body).link as string;
      expect(JSON.parse(Buffer.from(link.split('.')[0], 'base64url').toString())).to.deep.include({ to: SAM.email, entry: 'activity', serviceId: SHEDS, version: stored.version });

      const values = (await form()) as Record<string, string>;
      const saved = await press(filledIn(change, { ...values, cost: '£2 a session', sessions: 'Wed 14:00–16:00' }), await token());
      expect(saved.status).to.equal(200);
      expect(saved.headers.get('card-action-status')).to.contain('is updated');
      expect(httpActions(await saved.json())).to.deep.equal([]);
      const after = await sheds();
      expect(after.version).to.equal(stored.version + 1);
      expect(after.activity).to.deep.include({ cost: '£2 a session', sessions: [{ days: ['wednesday'], starts: '14:00', ends: '16:00' }] });
      expect((await activities().history(SHEDS)).at(-1)).to.deep.include({ route: 'email', by: { name: SAM.name, email: SAM.email } });

      // The same email's Still correct is about the older version: 409, nothing changes, and the card is the entry now with buttons for its version.
      const stale = await press(confirm, await token());
      expect(stale.status).to.equal(409);
      const now = await stale.json();
      expect(JSON.stringify(now)).to.contain('£2 a session').and.contain('has changed since this request was sent');
      const nowLink = JSON.parse(String(httpActions(now)[0].body)).link as string;
      expect(JSON.parse(Buffer.from(nowLink.split('.')[0], 'base64url').toString())).to.deep.include({ entry: 'activity', serviceId: SHEDS, version: after.version });
      expect((await sheds()).version).to.equal(after.version);
    });

    it('from Outlook: bad fields are refused 400, each named (a service’s form too); no token 401; another recipient and a non-maintainer 403; nothing changes @safety', async () => {
      const mail = await requestMail();
      const before = await sheds();
      const { confirm, change } = answerButtons(mail);
      const values = (await form()) as Record<string, string>;
      const bad = await press(filledIn(change, { ...values, sessions: 'sometimes', website: 'nowhere' }), await token());
      expect(bad.status).to.equal(400);
      // The status line quotes the form's own example, its dash made plain for an HTTP header.
      expect(bad.headers.get('card-action-status')).to.contain('Days and times: write each session').and.contain('"Tue, Thu 10:00-12:00 (term time only)"').and.contain('Contact website: a web address');
      // A service's form posted with the activity's link: the activity's schema names what is missing.
      const body = JSON.parse(change.body) as Record<string, string>;
      const serviceForm = JSON.stringify({ link: body.link, answer: 'change', status: 'open', waitWeeks: '3' });
      const refusedForm = await press(change, await token(), serviceForm);
      expect(refusedForm.status).to.equal(400);
      expect(refusedForm.headers.get('card-action-status')).to.contain('Running: choose whether it still runs');
      // A body with fields no form has is not understood.
      expect((await press(change, await token(), JSON.stringify({ ...body, 'not a field': 'x' }))).status).to.equal(400);

      expect((await press(confirm, undefined)).status).to.equal(401);
      expect((await press(confirm, await token({ preferred_username: OTHER.email }))).status).to.equal(403);
      // Sam no longer maintains the sheds: his email's buttons change nothing.
      await activities().change(SHEDS, undefined, (activity) => ({ ...activity, maintainers: [{ name: OTHER.name, email: OTHER.email }] }), by());
      const notHis = await press(confirm, await token());
      expect(notHis.status).to.equal(403);
      expect(notHis.headers.get('card-action-status')).to.contain('Only the maintainers of Workshop shed group');
      expect((await activities().history(SHEDS)).at(-1)!.route).to.equal('cli');
      const { activity } = await sheds();
      expect({ ...activity, maintainers: before.activity.maintainers }).to.deep.equal(before.activity);
    });

    it('the link page: a Change waits for the code mailed to Sam; a wrong code keeps it; once the code runs out the activity’s form comes back as typed; the right code applies it @safety', async () => {
      const link = linkIn(await requestMail());
      const before = await sheds();
      const values = (await form()) as Record<string, string>;
      const typed = { answer: 'change', ...values, cost: 'Free, donations welcome', howToJoin: 'Just turn up & say hello' };
      let seen = world.smtp.messages.length;
      const asked = await postForm(link, typed);
      expect(asked.status).to.equal(200);
      expect(await asked.text()).to.contain('Enter your confirmation code').and.contain('Save changes');
      const code = await world.codeFor(SAM.email, seen);
      const codeMail = world.smtp.messages.slice(seen).find((mail) => mail.subject?.includes('confirmation code'))!;
      expect(codeMail.subject).to.equal('Signpost: your confirmation code for the entry for Workshop shed group');
      expect(await sheds()).to.deep.equal(before);

      const wrong = code === '000000' ? '111111' : '000000';
      for (let guess = 0; guess < 5; guess += 1) expect((await postForm(link, { code: wrong })).status).to.equal(403);
      const ranOut = await postForm(link, { code });
      expect(ranOut.status).to.equal(403);
      const html = await ranOut.text();
      expect(html).to.contain('That code has run out').and.contain('name="sessions"').and.contain('>Just turn up &amp; say hello</textarea>').and.contain('value="Free, donations welcome"');
      expect(await sheds()).to.deep.equal(before);

      // Saved again: a new code, and this time the right one applies what was typed.
      seen = world.smtp.messages.length;
      expect((await postForm(link, typed)).status).to.equal(200);
      const done = await postForm(link, { code: await world.codeFor(SAM.email, seen) });
      expect(done.status).to.equal(200);
      expect(await done.text()).to.contain('Thank you');
      const after = await sheds();
      expect(after.version).to.equal(before.version + 1);
      expect(after.activity).to.deep.include({ cost: 'Free, donations welcome', howToJoin: 'Just turn up & say hello' });
    });
  });
});
