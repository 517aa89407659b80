import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { ReferralRepository } from '../../storage/referralRepository';
import { ReferrerRepository } from '../../storage/referrerRepository';
import { channelActivity, FakeConnector, postActivity } from '../support/connector';
import { sampleReferral, FIXTURE_TIME } from '../support/fixtures';
import { TestSmtpServer } from '../support/smtp';
import { adaptiveCardProblems, cardElements, cardText } from '../support/adaptiveCards';
import type { Referral } from '../../domain/referral/referral';

const CHANNEL = '19:sail-referrals@thread.tacv2';
const TEAM = '19:sail-team@thread.tacv2';
const KWAME = { id: '29:kwame', name: 'Kwame Mensah' };

/** Every element of a card, depth first. */
describe('Choosing an activity on the referral card (real server, fake connector, SMTP on loopback)', () => {
  let folder: string;
  let connector: FakeConnector;
  let smtp: TestSmtpServer;
  let bot: RunningSignpost;
  let referrals: ReferralRepository;
  let referrers: ReferrerRepository;
  let counter = 0;

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-activities-'));
    connector = await FakeConnector.start();
    connector.members = [KWAME];
    smtp = await TestSmtpServer.start();
    bot = await startSignpost({
      env: { PATH: process.env.PATH, SIGNPOST_SMTP_URL: smtp.url, SIGNPOST_NOTIFY_RETRY_BASE_MS: '20', SIGNPOST_NOTIFY_POLL_MS: '50' },
      port: 0,
      host: '127.0.0.1',
      dataDir: folder,
      logger: createLogger('error', () => undefined),
    });
    referrals = bot.signpost.store.referrals;
    referrers = new ReferrerRepository(bot.tables);
    await postActivity(bot.url, inChannel({ type: 'message', text: 'link sail', from: KWAME }));
  });
  after(async () => {
    await bot?.stop();
    await connector?.stop();
    await smtp?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  const inChannel = (fields: Record<string, any>) => channelActivity(connector, { team: TEAM, channel: CHANNEL }, fields);

  async function acceptedReferral(): Promise<Referral> {
    counter += 1;
    const referrerId = `29:activity-referrer-${counter}`;
    const value = sampleReferral({
      reference: `SP-2026-0008${String(counter).padStart(2, '0')}`,
      referrer: { teamsUserId: referrerId, name: 'Amira Patel', email: `amira.activity${counter}@practice.example`, practice: 'Lordship Lane Surgery' },
      referrerConversation: { serviceUrl: connector.url, channelId: 'msteams', conversation: { id: `a:activity-chat-${counter}` } },
    });
    await referrers.save({ teamsUserId: referrerId, name: 'Amira Patel', email: value.referrer.email, practice: 'Lordship Lane Surgery', notify: 'both', updatedAt: FIXTURE_TIME });
    await referrals.submit(value, { referralId: value.id, at: FIXTURE_TIME, actor: { id: referrerId }, action: 'referral.submitted', detail: {} });
    await click('accept', { referralId: value.id, version: 1 });
    return value;
  }

  async function click(verb: string, data: Record<string, unknown>): Promise<Record<string, any>> {
    const { body } = await postActivity(bot.url, inChannel({ type: 'invoke', name: 'adaptiveCard/action', from: KWAME, value: { action: { type: 'Action.Execute', verb, data } } }));
    return JSON.parse(body);
  }

  async function search(value: unknown): Promise<{ status: number; body: Record<string, any> }> {
    const { status, body } = await postActivity(bot.url, inChannel({ type: 'invoke', name: 'application/search', from: KWAME, value }));
    return { status, body: JSON.parse(body) };
  }

  it('offers the activities near the person on Update, with a typeahead that searches the whole directory', async () => {
    const value = await acceptedReferral();
    const answer = await click('refresh', { referralId: value.id });
    const card = answer.value;
    expect(adaptiveCardProblems(card)).to.deep.equal([]);
    const choiceSet = cardElements(card).find((element) => element.id === 'activityId')!;
    expect(choiceSet.type).to.equal('Input.ChoiceSet');
    expect(choiceSet['choices.data']).to.deep.equal({ type: 'Data.Query', dataset: 'activities' });
    // The person lives in SE5: the two sample activities there come first, then the rest of Southwark's.
    const titles = choiceSet.choices.map((choice: { title: string }) => choice.title);
    expect(titles.slice(0, 2).every((title: string) => title.includes('SE5'))).to.equal(true);
    expect(titles.some((title: string) => title.includes('SE13'))).to.equal(false); // Lewisham: not SAIL's area
    expect(titles.every((title: string) => title.endsWith(', sample'))).to.equal(true);
    // Free text stays as the fallback.
    expect(cardElements(card).some((element) => element.id === 'activity' && element.type === 'Input.Text')).to.equal(true);
  });

  it('answers the typeahead with matching activities, at most 15, and refuses other datasets', async () => {
    const found = await search({ dataset: 'activities', queryText: 'garden', queryOptions: { skip: 0, top: 15 } });
    expect(found.status).to.equal(200);
    expect(found.body.type).to.equal('application/vnd.microsoft.search.searchResponse');
    expect(found.body.value.results[0]).to.deep.equal({ value: 'community-garden-nunhead', title: 'Community gardening mornings (gardening and nature, volunteering), SE15, sample' });
    const all = await search({ dataset: 'activities', queryText: '', queryOptions: { skip: 0, top: 50 } });
    expect(all.body.value.results).to.have.length(14); // the whole sample: fewer than Teams' 15
    expect((await search({ dataset: 'activities', queryText: 'zzzz' })).body.value.results).to.deep.equal([]);
    const refused = await search({ dataset: 'referrals', queryText: 'jane' });
    expect(refused.status).to.equal(400);
    expect(refused.body).to.deep.equal({ type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message: 'Signpost can only search its activities directory here.' } });
    expect((await search({ dataset: 'activities', queryText: { $ne: '' } })).status).to.equal(400);
  });

  it('tells the referrer the chosen activity’s name and category, in Teams and by email', async () => {
    const value = await acceptedReferral();
    const answer = await click('update', { referralId: value.id, version: 2, status: 'connected-to-activity', activityId: 'community-garden-nunhead', activity: '' });
    expect(answer.statusCode).to.equal(200);
    expect(cardText(answer.value)).to.contain('Connected to an activity');
    const line = 'Connected to: Community gardening mornings (gardening and nature, volunteering), run by Sample Nunhead Growers (illustrative) (a sample entry, not a real group).';
    const teams = await connector.waitFor((a) => a.conversationId === value.referrerConversation.conversation.id && JSON.stringify(a.activity).includes('Connected to:'));
    expect(cardText(teams.activity.attachments[0].content)).to.contain(line);
    let mail = smtp.messages.find((message) => message.subject?.includes(value.reference) && message.text?.includes('Connected to:'));
    while (!mail) {
      await smtp.waitForMessages(smtp.messages.length + 1);
      mail = smtp.messages.find((message) => message.subject?.includes(value.reference) && message.text?.includes('Connected to:'));
    }
    expect(mail.text).to.contain(line);
    expect(mail.text).not.to.contain('Jane');
    const audit = await referrals.audit(value.id);
    expect(audit.at(-1)?.detail.activityId).to.equal('community-garden-nunhead');
  });

  it('refuses an activity that is not in the directory, or not an id at all, and changes nothing @safety', async () => {
    const value = await acceptedReferral();
    const forged = await click('update', { referralId: value.id, version: 2, status: 'connected-to-activity', activityId: 'a-club-that-does-not-exist' });
    expect(cardText(forged.value)).to.contain('that activity is not in the activities directory');
    const malformed = await click('update', { referralId: value.id, version: 2, status: 'connected-to-activity', activityId: '<b>club</b>' });
    expect(cardText(malformed.value)).to.contain('Choose an activity from the list');
    expect((await referrals.get(value.id))!.referral.version).to.equal(2);
  });

  it('refuses an activity that has stopped running, chosen from a card drawn before it stopped, and changes nothing @safety', async () => {
    const value = await acceptedReferral();
    const how = { route: 'cli' as const, by: { name: 'test set-up' }, at: new Date().toISOString() };
    await bot.signpost.store.activities.change('tai-chi-lewisham', undefined, (activity) => ({ ...activity, stopped: true }), how);
    try {
      const stopped = await click('update', { referralId: value.id, version: 2, status: 'connected-to-activity', activityId: 'tai-chi-lewisham' });
      expect(cardText(stopped.value)).to.contain('that activity has stopped running');
      expect((await referrals.get(value.id))!.referral.version).to.equal(2);
    } finally {
      await bot.signpost.store.activities.change('tai-chi-lewisham', undefined, ({ stopped: _stopped, ...activity }) => activity, how);
    }
  });

  it('still takes free text when the activity is not listed', async () => {
    const value = await acceptedReferral();
    const answer = await click('update', { referralId: value.id, version: 2, status: 'connected-to-activity', activity: 'Thursday knit and natter at the library' });
    expect(cardText(answer.value)).to.contain('Connected to an activity');
    const teams = await connector.waitFor((a) => a.conversationId === value.referrerConversation.conversation.id && JSON.stringify(a.activity).includes('knit and natter'));
    expect(cardText(teams.activity.attachments[0].content)).to.contain('Connected to: Thursday knit and natter at the library.');
  });
});
