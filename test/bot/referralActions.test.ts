import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { ReferralRepository } from '../../storage/referralRepository';
import type { Referral } from '../../domain/referral/referral';
import { sampleReferral } from '../support/fixtures';
import { channelActivity, FakeConnector, postActivity } from '../support/connector';
import { cardText, expectValidTeamsCard } from '../support/adaptiveCards';

const at = '2026-11-24T12:00:00.000Z';
const CHANNEL = '19:sail-referrals@thread.tacv2';
const TEAM = '19:sail-team@thread.tacv2';
const KWAME = { id: '29:kwame', name: 'Kwame Mensah' };
const GRACE = { id: '29:grace', name: 'Grace Okoro' };
const STRANGER = { id: '29:stranger', name: 'Not In The Team' };


describe('Referral card actions (Universal Actions through the real server)', () => {
  let folder: string;
  let connector: FakeConnector;
  let bot: RunningSignpost;
  let repository: ReferralRepository;
  const logLines: string[] = [];

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-actions-'));
    connector = await FakeConnector.start();
    connector.members = [KWAME, GRACE];
    bot = await startSignpost({ env: { PATH: process.env.PATH }, port: 0, host: '127.0.0.1', dataDir: folder, logger: createLogger('debug', (line) => logLines.push(line)) });
    repository = bot.signpost.store.referrals;
    // Link the SAIL team's channel, as a link worker would.
    await postActivity(bot.url, inChannel({ type: 'message', text: 'link sail', from: KWAME }));
  });
  after(async () => {
    await bot?.stop();
    await connector?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  const inChannel = (fields: Record<string, any>, channel = CHANNEL) => channelActivity(connector, { team: TEAM, channel }, fields);

  async function newReferral(reference: string): Promise<Referral> {
    const value = { ...sampleReferral({ reference, person: { ...sampleReferral().person, nhsNumber: undefined } }), referrerConversation: { serviceUrl: connector.url, channelId: 'msteams', conversation: { id: 'a:referrer-chat' } } };
    await repository.submit(value, { referralId: value.id, at, actor: { id: '29:r' }, action: 'referral.submitted', detail: { summary: 'Referred by Amira Patel' } });
    return value;
  }

  /** Clicks a card button; returns Signpost's Universal Actions answer. */
  async function answer(verb: string, data: Record<string, unknown>, from = KWAME, channel = CHANNEL): Promise<{ statusCode: number; type: string; value: any }> {
    const invoke = inChannel({ type: 'invoke', name: 'adaptiveCard/action', from, value: { action: { type: 'Action.Execute', verb, data } } }, channel);
    const { status, body } = await postActivity(bot.url, invoke);
    const response = JSON.parse(body);
    expect(status).to.equal(response.statusCode); // the invoke's HTTP status is its answer's
    return response;
  }

  /** Clicks a card button; returns the card Signpost answers with. */
  async function click(verb: string, data: Record<string, unknown>, from = KWAME, channel = CHANNEL): Promise<Record<string, any>> {
    const response = await answer(verb, data, from, channel);
    expect(response.statusCode).to.equal(200);
    expect(response.type).to.equal('application/vnd.microsoft.card.adaptive');
    return response.value;
  }

  /** Clicks a button Signpost cannot place: the answer is an error Teams shows with its reason (the error response type), not a card. */
  async function refusal(verb: string, data: Record<string, unknown>, statusCode: number): Promise<string> {
    const response = await answer(verb, data);
    expect(response).to.deep.include({ statusCode, type: 'application/vnd.microsoft.error' });
    return response.value.message;
  }

  it('accept makes the clicker the owner, updates the card for everyone and audits it', async () => {
    const value = await newReferral('SP-2026-000501');
    // Linking again posts the waiting referral's card into the channel.
    await postActivity(bot.url, inChannel({ type: 'message', text: 'link sail', from: KWAME }));
    const posted = await connector.waitFor((a) => a.method === 'POST' && JSON.stringify(a.activity).includes('SP-2026-000501'));
    const postedId = (await repository.get(value.id))!.referral.channelPost!.activityId;
    expect(cardText(posted.activity.attachments[0].content)).to.contain('Accept');

    const card = await click('accept', { referralId: value.id, version: 1 });
    expectValidTeamsCard(card);
    const text = cardText(card);
    expect(text).to.contain('Accepted by Kwame Mensah').and.contain('Owner');
    expect(text).to.contain('Save update'); // the owner's next actions are offered
    const replaced = await connector.waitFor((a) => a.method === 'PUT' && JSON.stringify(a.activity).includes('Accepted by Kwame Mensah'));
    expect(replaced.activity.id).to.equal(postedId);
    const stored = (await repository.get(value.id))!.referral;
    expect(stored).to.deep.include({ status: 'accepted', version: 2, owner: KWAME });
    expect((await repository.audit(value.id)).map((event) => event.action)).to.deep.equal(['referral.submitted', 'referral.posted-to-channel', 'referral.accept']);
  });

  it('two link workers accepting at once leave exactly one owner; the other sees who took it @safety', async () => {
    const value = await newReferral('SP-2026-000502');
    const [first, second] = await Promise.all([
      click('accept', { referralId: value.id, version: 1 }, KWAME),
      click('accept', { referralId: value.id, version: 1 }, GRACE),
    ]);
    const stored = (await repository.get(value.id))!.referral;
    expect(stored.version).to.equal(2);
    const owner = stored.owner!;
    expect([KWAME.id, GRACE.id]).to.include(owner.id);
    const loser = owner.id === KWAME.id ? second : first;
    expect(cardText(loser)).to.match(/out of date|Already accepted by/);
    expect((await repository.audit(value.id)).filter((event) => event.action === 'referral.accept')).to.have.length(1);
  });

  it('two updates at the same moment: exactly one is recorded, the other changes nothing @safety', async () => {
    const value = await newReferral('SP-2026-000510');
    await click('accept', { referralId: value.id, version: 1 });
    const results = await Promise.all([
      click('update', { referralId: value.id, version: 2, status: 'contacted' }),
      click('update', { referralId: value.id, version: 2, status: 'first-meeting-held' }),
    ]);
    const stored = (await repository.get(value.id))!.referral;
    expect(stored.version).to.equal(3);
    expect((await repository.audit(value.id)).filter((event) => event.action === 'referral.update')).to.have.length(1);
    expect(results.map(cardText).filter((text) => /nothing changed|out of date/i.test(text))).to.have.length(1);
  });

  it('a double click changes nothing the second time @safety', async () => {
    const value = await newReferral('SP-2026-000503');
    await click('accept', { referralId: value.id, version: 1 });
    const again = await click('accept', { referralId: value.id, version: 1 });
    expect(cardText(again)).to.contain('out of date');
    expect((await repository.get(value.id))!.referral.version).to.equal(2);
  });

  it('refuses people outside the team, clicks from another channel, forged ids, unknown verbs and missing fields @safety', async () => {
    const value = await newReferral('SP-2026-000504');
    expect(cardText(await click('accept', { referralId: value.id, version: 1 }, STRANGER))).to.contain("Only the service's link workers");
    expect(cardText(await click('accept', { referralId: value.id, version: 1 }, KWAME, '19:elsewhere@thread.tacv2'))).to.contain("Only the service's link workers");
    expect(await refusal('accept', { referralId: randomUUID(), version: 1 }, 404)).to.contain('does not match any referral');
    expect(await refusal('accept', { referralId: 'not-a-uuid', version: 1 }, 400)).to.contain('not a Signpost referral card');
    const unknownVerb = await answer('delete', { referralId: value.id, version: 1 });
    expect(unknownVerb).to.deep.include({ statusCode: 400, type: 'application/vnd.microsoft.error' });
    expect(unknownVerb.value.message).to.contain('"delete" is not something this card can do');
    expect(cardText(await click('decline', { referralId: value.id, version: 1 }))).to.contain('Choose why you are declining');
    expect((await repository.get(value.id))!.referral).to.deep.include({ status: 'submitted', version: 1 });
    expect(await repository.audit(value.id)).to.have.length(1);
  });

  it('answers forged verbs and values with a bad request, never an internal error, and changes nothing @safety', async () => {
    const value = await newReferral('SP-2026-000511');
    for (const verb of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const response = await answer(verb, { referralId: value.id, version: 1 });
      expect(response.statusCode, verb).to.equal(400);
    }
    for (const forged of [{ toString: 'x' }, ['contacted'], { valueOf: 1 }]) {
      expect((await answer('accept', { referralId: value.id, version: forged })).statusCode).to.equal(400);
      expect((await answer('decline', { referralId: value.id, version: 1, declineReason: forged })).statusCode).to.equal(400);
    }
    expect((await repository.get(value.id))!.referral).to.deep.include({ status: 'submitted', version: 1 });
    expect(await repository.audit(value.id)).to.have.length(1);
  });

  it('the owner records progress and closes with a reason; a colleague cannot', async () => {
    const value = await newReferral('SP-2026-000505');
    await click('accept', { referralId: value.id, version: 1 });
    expect(cardText(await click('update', { referralId: value.id, version: 2, status: 'contacted' }, GRACE))).to.contain('Only the owner (Kwame Mensah)');
    await click('update', { referralId: value.id, version: 2, status: 'contacted' });
    await click('update', { referralId: value.id, version: 3, status: 'connected-to-activity', activity: 'Lunch club at the Albrighton Centre' });
    const closed = await click('close', { referralId: value.id, version: 4, closeReason: 'completed', closeNote: 'Goes to lunch club weekly' });
    expect(cardText(closed)).to.contain('Closed by Kwame Mensah').and.not.contain('Save update');
    const stored = (await repository.get(value.id))!.referral;
    expect(stored.status).to.equal('closed');
    expect(stored.outcome).to.deep.include({ kind: 'closed', reason: 'completed', note: 'Goes to lunch club weekly' });
    expect((await repository.audit(value.id)).map((event) => event.action)).to.deep.equal([
      'referral.submitted', 'referral.accept', 'referral.update', 'referral.update', 'referral.close',
    ]);
    expect(cardText(await click('accept', { referralId: value.id, version: 5 }))).to.contain('nothing more can change');
  });

  it('the owner records SWEMWBS and ONS4 scores and goals; bad scores change nothing @safety', async () => {
    const value = await newReferral('SP-2026-000508');
    await click('accept', { referralId: value.id, version: 1 });
    const items = (score: string) => Object.fromEntries([1, 2, 3, 4, 5, 6, 7].map((n) => [`swemwbs${n}`, score]));
    expect(cardText(await click('swemwbs', { referralId: value.id, version: 2, swemwbsStage: 'baseline', ...items('9') }))).to.contain('Nothing changed');
    expect(cardText(await click('swemwbs', { referralId: value.id, version: 2, swemwbsStage: 'baseline', ...items('2') }, GRACE))).to.contain('Only the owner');
    await click('swemwbs', { referralId: value.id, version: 2, swemwbsStage: 'baseline', ...items('2') });
    const after = await click('swemwbs', { referralId: value.id, version: 3, swemwbsStage: 'closing', ...items('3') });
    expect(cardText(after)).to.contain('SWEMWBS 15.32 to 19.25 (+3.93)');
    await click('ons4', { referralId: value.id, version: 4, ons4Stage: 'baseline', lifeSatisfaction: '4', worthwhile: '5', happiness: '3', anxiety: '8' });
    const goals = await click('goals', { referralId: value.id, version: 5, goal1: 'Go to lunch club', goal1Achieved: 'yes', goal2: 'Walk to the park', goal2Achieved: 'no', goal3: '' });
    expect(cardText(goals)).to.contain('Go to lunch club (achieved); Walk to the park');
    const stored = (await repository.get(value.id))!.referral;
    expect(stored.wellbeing?.baseline).to.deep.include({ tool: 'ons4' });
    expect(stored.wellbeing?.closing).to.deep.include({ tool: 'swemwbs', raw: 21, metric: 19.25 });
    expect(stored.goals).to.deep.equal([{ text: 'Go to lunch club', achieved: true }, { text: 'Walk to the park', achieved: false }]);
    expect(stored.status).to.equal('accepted');
  });

  it('shows contact details to a link worker who asks, only in their answer, and audits it @safety', async () => {
    const value = await newReferral('SP-2026-000509');
    connector.clear();
    const refused = await click('contact', { referralId: value.id, version: 1 }, STRANGER);
    expect(cardText(refused)).to.contain("Only the service's link workers can see contact details").and.not.contain('Jane');
    const shown = await click('contact', { referralId: value.id, version: 1 }, GRACE);
    expectValidTeamsCard(shown);
    expect(cardText(shown)).to.contain('Jane Example').and.contain('020 7946 0000').and.contain('SE5 8AU');
    const audit = await repository.audit(value.id);
    expect(audit.map((event) => event.action)).to.deep.equal(['referral.submitted', 'referral.contact-details-shown']);
    expect(audit[1].actor).to.deep.equal(GRACE);
    expect(JSON.stringify(audit)).not.to.contain('Jane');
    // The shared card in the channel is not changed to show them.
    expect(connector.received.filter((a) => a.method === 'PUT')).to.have.length(0);
    expect((await repository.get(value.id))!.referral.version).to.equal(1);
  });

  it('assigns to a member of the team only, and declines with a reason @safety', async () => {
    const value = await newReferral('SP-2026-000506');
    expect(cardText(await click('assign', { referralId: value.id, version: 1, assignTo: STRANGER.id }))).to.contain('not a member of this team');
    await click('assign', { referralId: value.id, version: 1, assignTo: GRACE.id });
    expect((await repository.get(value.id))!.referral.owner).to.deep.equal(GRACE);
    await click('decline', { referralId: value.id, version: 2, declineReason: 'no-capacity', declineNote: 'Waiting list closed until March' }, GRACE);
    expect((await repository.get(value.id))!.referral).to.deep.include({ status: 'declined' });
    // The referrer hears, in their own chat, why and where else the person could go.
    const told = await connector.waitFor((a) => a.conversationId === 'a:referrer-chat' && JSON.stringify(a.activity).includes('declined'));
    const toldText = cardText(told.activity.attachments[0].content);
    expect(toldText).to.contain('SP-2026-000506 (J.E.)').and.contain('no capacity at the moment').and.contain('Waiting list closed until March');
    expect(toldText).to.contain('SAIL Care Navigation').and.not.contain('Jane');
  });

  it('keeps what link workers type, and the contact details they view, out of every log line @safety', async () => {
    const typed = ['Jane Example told us', 'NHS 943 476 5919', 'lives at SE5 8AU', 'her son Tom'];
    const first = await newReferral('SP-2026-000512');
    logLines.length = 0;
    await click('contact', { referralId: first.id, version: 1 });
    await click('accept', { referralId: first.id, version: 1 });
    await click('update', { referralId: first.id, version: 2, status: 'connected-to-activity', activity: `Lunch club with ${typed[3]}` });
    await click('escalate', { referralId: first.id, version: 3, escalationReason: 'safeguarding', escalationNote: `${typed[0]} ${typed[3]} takes her pension` });
    await click('close', { referralId: first.id, version: 4, closeReason: 'completed', closeNote: `${typed[0]}, ${typed[1]}` });
    const second = await newReferral('SP-2026-000513');
    await click('decline', { referralId: second.id, version: 1, declineReason: 'no-capacity', declineNote: `${typed[0]} ${typed[2]}` });
    const closed = (await repository.get(first.id))!.referral;
    expect(closed.status).to.equal('closed');
    expect(closed.escalations).to.have.length(1);
    expect((await repository.get(second.id))!.referral.status).to.equal('declined');
    await connector.waitFor((a) => a.conversationId === 'a:referrer-chat' && JSON.stringify(a.activity).includes('SP-2026-000513'));

    const log = logLines.join('\n');
    expect(log).to.contain('SP-2026-000513'); // the log did record these actions
    for (const secret of ['Jane', 'Example', '943 476', '9434765919', 'SE5 8AU', '020 7946', 'Tom', 'pension', 'Lunch club']) {
      expect(log, secret).not.to.contain(secret);
    }
  });

  it('redirects only to another service the person matched @safety', async () => {
    const value = await newReferral('SP-2026-000507');
    expect(cardText(await click('redirect', { referralId: value.id, version: 1, toServiceId: 'champs' }))).to.contain('matched to');
    await click('redirect', { referralId: value.id, version: 1, toServiceId: 'sail-care-navigation' });
    expect((await repository.get(value.id))!.referral).to.deep.include({ serviceId: 'sail-care-navigation', status: 'submitted', version: 2 });
    expect((await bot.signpost.store.queue.list('sail-care-navigation')).map((entry) => entry.reference)).to.include('SP-2026-000507');
    expect((await bot.signpost.store.queue.list('sail')).find((entry) => entry.reference === 'SP-2026-000507')?.status).to.equal('redirected');
  });
});
