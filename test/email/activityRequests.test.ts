import { expect } from 'chai';
import { activityRequestMessage, verificationTimer } from '../../domain/directory/verification';
import { staffMessageCard } from '../../cards/staffMessageCard';
import { postActivity, teamsActivity } from '../support/connector';
import { cardText, expectValidTeamsCard } from '../support/adaptiveCards';
import { EmailWorld } from './support';

/**
 * A community activity's maintainers answer a request to confirm its entry from Teams (the
 * Universal Actions card) and from email (the signed link's page), through the same checks as
 * a service's: the maintainer of that activity only, the version shown, every field named.
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

    const post = (fields: Record<string, string>) => fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
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
    const confirmed = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'answer=confirm' });
    expect(confirmed.status).to.equal(200);
    expect((await signpost.store.directory.current('sail'))!.version).to.equal(version + 1);
  });
});
