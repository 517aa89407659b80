import { expect } from 'chai';
import { verificationTimer } from '../../domain/directory/verification';
import { EmailWorld } from './support';

/**
 * A request to confirm a directory entry by email, through real SMTP on loopback: the email's
 * signed link opens a page with "Still correct" and "Change"; posting either goes through the
 * same checks as a Teams click (route email).
 */

const HELEN = 'helen.price@ageuk-ls.example';

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
  async function requestLink(): Promise<{ link: string; text: string }> {
    const signpost = world.bot.signpost;
    const before = world.smtp.messages.length;
    // Each request is about the entry as last checked: a fresh check date makes a fresh request (the same one is sent once).
    requests += 1;
    const checked = `2026-01-${String(10 + requests).padStart(2, '0')}`;
    await directory().change('sail', undefined, (sail) => ({ ...sail, lastVerified: checked }), { route: 'cli', by: { name: 'set-up' }, at: new Date().toISOString() });
    const service = (await directory().current('sail'))!.service;
    await signpost.directoryUpkeep.requestDue(verificationTimer(service, signpost.supervision.calendar, new Date()), new Date());
    signpost.dispatcher.kick();
    const mail = (await world.smtp.waitForMessages(before + 1))[before];
    expect(mail.to && 'text' in mail.to ? mail.to.text : '').to.contain(HELEN);
    const text = mail.text ?? '';
    const link = /(http:\/\/\S+\/directory\/verify\/\S+)/.exec(text)?.[1];
    expect(link, text).to.be.a('string');
    return { link: link!, text };
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
});
