import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { matchPerson } from '../../domain/eligibility/matcher';
import { verificationRequestMessage } from '../../domain/directory/verification';
import { staffMessageCard } from '../../cards/staffMessageCard';
import { FakeConnector, postActivity, teamsActivity } from '../support/connector';
import { cardText, expectValidTeamsCard } from '../support/adaptiveCards';

const HELEN = { id: '29:helen', name: 'Helen Price', email: 'helen.price@ageuk-ls.example' };
const OTHER = { id: '29:other', name: 'Olu Other', email: 'olu@elsewhere.example' };
const isolatedSouthwark70 = { age: 70, borough: 'southwark' as const, sociallyIsolated: true, referralRoute: 'gp' as const };

describe('Answering a request to confirm a directory entry in Teams (real server)', () => {
  let folder: string;
  let connector: FakeConnector;
  let bot: RunningSignpost;

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-verify-'));
    connector = await FakeConnector.start();
    connector.members = [HELEN, OTHER];
    bot = await startSignpost({ env: { PATH: process.env.PATH }, port: 0, host: '127.0.0.1', dataDir: folder, logger: createLogger('error', () => undefined) });
    const by = { name: 'test set-up' };
    await bot.signpost.store.directory.change('sail', undefined, (sail) => ({ ...sail, maintainers: [HELEN.email] }), { route: 'cli', by, at: new Date().toISOString() });
    await bot.signpost.store.directory.change('champs', undefined, (champs) => ({ ...champs, maintainers: [OTHER.email] }), { route: 'cli', by, at: new Date().toISOString() });
  });
  after(async () => {
    await bot?.stop();
    await connector?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  const sail = async () => (await bot.signpost.store.directory.current('sail'))!;
  /** Clicks a request card's button in the person's chat with Signpost; returns the invoke's answer. */
  async function click(verb: string, data: Record<string, unknown>, from = HELEN): Promise<{ statusCode: number; type: string; value: any }> {
    const invoke = teamsActivity(connector, { type: 'invoke', name: 'adaptiveCard/action', from: { id: from.id, name: from.name }, value: { action: { type: 'Action.Execute', verb, data } } });
    const { body } = await postActivity(bot.url, invoke);
    return JSON.parse(body);
  }

  it('the request card shows the entry and offers Still correct and a prefilled Change form', async () => {
    const { service, version } = await sail();
    const card = staffMessageCard(verificationRequestMessage(service, version, 1, new Date().toISOString()));
    expectValidTeamsCard(card);
    const text = cardText(card);
    expect(text).to.contain('Is the entry for Safe and Independent Living (SAIL) signposting programme still correct?').and.contain('about 6 weeks');
    expect(JSON.stringify(card)).to.contain('"verb":"directory-confirm"').and.contain('"verb":"directory-change"').and.contain(`"version":${version}`);
  });

  it('Still correct: one click records the check as a new version, by route teams @safety', async () => {
    const { version } = await sail();
    const answer = await click('directory-confirm', { serviceId: 'sail', version });
    expect(answer).to.deep.include({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    expectValidTeamsCard(answer.value);
    expect(cardText(answer.value)).to.contain('confirmed as correct today');
    const after = await sail();
    expect(after.version).to.equal(version + 1);
    expect(after.service.lastVerified).to.equal(new Date().toISOString().slice(0, 10));
    const last = (await bot.signpost.store.directory.history('sail')).at(-1)!;
    expect(last).to.deep.include({ route: 'teams', by: { name: 'Helen Price', email: HELEN.email }, changed: ['lastVerified'] });
  });

  it('Change: pausing takes the service out of matching at once; the same click again is stale and changes nothing @safety', async () => {
    const { version } = await sail();
    const data = { serviceId: 'sail', version, status: 'paused', reopensOn: '2099-02-01', waitWeeks: '8', contactRoute: 'Phone the SAIL line', openingHours: 'Mon to Fri, 9 to 5', note: 'Short of staff' };
    const answer = await click('directory-change', data);
    expect(answer.statusCode).to.equal(200);
    expect(cardText(answer.value)).to.contain('is updated').and.contain('Paused until 1 February 2099');
    const after = await sail();
    expect(after.service).to.deep.include({ status: 'paused', reopensOn: '2099-02-01', contactRoute: 'Phone the SAIL line', openingHours: 'Mon to Fri, 9 to 5', note: 'Short of staff' });
    expect(after.service.waitingTimeWeeks.value).to.equal(8);
    const result = matchPerson(isolatedSouthwark70, await bot.signpost.store.directory.list(), { now: new Date() });
    expect(result.eligible.map((m) => m.serviceId)).not.to.include('sail');

    const stale = await click('directory-change', { ...data, status: 'closed' });
    expect(stale.statusCode).to.equal(200);
    expect(cardText(stale.value)).to.contain('has changed since this request was sent');
    expect(await sail()).to.deep.equal(after);

    // Open again, for the tests that follow.
    const reopened = await click('directory-change', { ...data, version: after.version, status: 'open', reopensOn: '' });
    expect(cardText(reopened.value)).to.contain('Open to referrals');
  });

  it('refuses a maintainer of another service, and forged cards, changing nothing @safety', async () => {
    const before = await sail();
    const outsider = await click('directory-confirm', { serviceId: 'sail', version: before.version }, OTHER);
    expect(outsider).to.deep.include({ statusCode: 403, type: 'application/vnd.microsoft.error' });
    expect(outsider.value.message).to.contain('Only the maintainers of Safe and Independent Living');
    expect((await click('directory-confirm', { serviceId: 'Not An Id', version: before.version })).statusCode).to.equal(400);
    expect((await click('directory-confirm', { serviceId: 'no-such-service', version: 1 })).statusCode).to.equal(404);
    expect((await click('directory-confirm', { serviceId: 'sail', version: before.version + 5 })).value).to.satisfy((card: Record<string, unknown>) => cardText(card).includes('has changed since'));
    expect(await sail()).to.deep.equal(before);
  });

  it('names every bad field of a change and keeps the entry as it was @safety', async () => {
    const before = await sail();
    const bad = await click('directory-change', { serviceId: 'sail', version: before.version, status: 'shut', waitWeeks: 'soon', openingHours: 'x'.repeat(400) });
    const text = cardText(bad.value);
    expect(text).to.contain('Status: choose open, paused or closed').and.contain('Typical wait: whole weeks, from 0 to 104').and.contain('Opening hours: keep it under 300 characters');
    const pastPause = await click('directory-change', { serviceId: 'sail', version: before.version, status: 'paused', reopensOn: '2020-01-01', waitWeeks: '' });
    expect(cardText(pastPause.value)).to.contain('Reopening date: must be after today');
    const noDate = await click('directory-change', { serviceId: 'sail', version: before.version, status: 'paused', waitWeeks: '' });
    expect(cardText(noDate.value)).to.contain('Reopening date: say when a paused service reopens');
    expect(await sail()).to.deep.equal(before);
  });
});
