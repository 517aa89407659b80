import { expect } from 'chai';
import sinon from 'sinon';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { FakeConnector, postActivity, teamsActivity, TEST_TENANT } from '../support/connector';
import { cardText, expectValidTeamsCard } from '../support/adaptiveCards';
import { clickAnswerAsMessage, fill, formClick, FormClickAnswer, inputValue, VALID } from '../support/referralHarness';
import { REFER_COMMAND, REFER_TO_SERVICE_VERB, SEARCH_COMMAND } from '../../bot/teams/messageExtension';

const AMIRA = { id: '29:amira', name: 'Amira Patel', aadObjectId: '00000000-0000-0000-0000-0000000000a1' };
const SAM = { id: '29:sam', name: 'Dr Sam Okafor', aadObjectId: '00000000-0000-0000-0000-0000000000b2' };
const GROUP = { id: '19:practice-chat@thread.v2', conversationType: 'groupChat' };

/** Everything that identifies the person in VALID, in the forms it could be shown in. */
const IDENTIFIERS = ['Jane', 'Example', '943 476 5919', '9434765919', 'SE5 8AU', 'se5 8au', '020 7946 0000', '1950', '14 March'];

describe('Private referrals and the message extension (real server, connector stand-in)', () => {
  let folder: string;
  let connector: FakeConnector;
  let bot: RunningSignpost;
  const logLines: string[] = [];

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-msgext-'));
    connector = await FakeConnector.start();
    bot = await startSignpost({ env: { PATH: process.env.PATH }, port: 0, host: '127.0.0.1', dataDir: folder, logger: createLogger('debug', (line) => logLines.push(line)) });
  });
  after(async () => {
    await bot?.stop();
    await connector?.stop();
    rmSync(folder, { recursive: true, force: true });
  });
  afterEach(() => {
    connector.respond = async () => undefined;
  });

  const inGroup = (fields: Record<string, any>) => teamsActivity(connector, { conversation: GROUP, ...fields });
  const inChat = (conversationId: string, fields: Record<string, any>) => teamsActivity(connector, { conversation: { id: conversationId, conversationType: 'personal' }, ...fields });
  const sentTo = (conversationId: string) => connector.received.filter((entry) => entry.conversationId === conversationId);

  function lastCardIn(conversationId: string): Record<string, any> {
    const posted = sentTo(conversationId).filter((entry) => entry.method === 'POST' && entry.activity.attachments?.length);
    if (!posted.length) throw new Error(`no card was sent to ${conversationId}`);
    return posted[posted.length - 1].activity.attachments[0].content;
  }

  /** The 1:1 chat Signpost created for someone (the connector stand-in records each creation). */
  function chatCreatedFor(person: { id: string }): string {
    const created = connector.created.find((entry) => entry.parameters.members?.[0]?.id === person.id);
    if (!created) throw new Error(`no 1:1 chat was created for ${person.id}`);
    return created.id;
  }

  /** Presses a card in a 1:1 chat with these inputs; returns the card that replaced it. */
  async function submit(chat: string, from: typeof AMIRA, inputs: Record<string, unknown>, card: Record<string, any>): Promise<Record<string, any>> {
    const { body } = await postActivity(bot.url, inChat(chat, { from, ...formClick(fill(card, inputs)) }));
    const answer = clickAnswerAsMessage(JSON.parse(body) as FormClickAnswer);
    if (!answer.attachments?.length) throw new Error(`no card in answer: ${answer.text}`);
    return answer.attachments[0].content;
  }

  async function invoke(name: string, value: unknown, from = AMIRA, conversation: Record<string, any> = GROUP): Promise<{ status: number; body: any }> {
    const { status, body } = await postActivity(bot.url, teamsActivity(connector, { type: 'invoke', name, value, from, conversation }));
    return { status, body: body ? JSON.parse(body) : undefined };
  }

  const search = (query: unknown, extra: Record<string, unknown> = {}) =>
    invoke('composeExtension/query', { commandId: SEARCH_COMMAND, parameters: [{ name: 'query', value: query }], queryOptions: { skip: 0, count: 25 }, ...extra });

  describe('refer in a group chat', () => {
    it('opens the form in the referrer\'s own chat; the group never sees the person, through to Send', async () => {
      await postActivity(bot.url, inGroup({ from: AMIRA, text: 'refer' }));
      const note = sentTo(GROUP.id);
      expect(note).to.have.length(1);
      expect(note[0].activity.text).to.contain('Amira Patel, I\'ve opened the referral form in your chat with Signpost');
      expect(note[0].activity.attachments ?? []).to.have.length(0);

      const chat = chatCreatedFor(AMIRA);
      expect(connector.created.find((entry) => entry.id === chat)!.parameters).to.deep.include({ isGroup: false });
      const referrer = lastCardIn(chat);
      expect(cardText(referrer)).to.contain('About you, the referrer');
      expect(inputValue(referrer, 'name')).to.equal('Amira Patel');

      const consent = await submit(chat, AMIRA, VALID.referrer, referrer);
      const safety = await submit(chat, AMIRA, VALID.consent, consent);
      const person = await submit(chat, AMIRA, VALID.safety, safety);
      const needs = await submit(chat, AMIRA, VALID.person, person);
      const matches = await submit(chat, AMIRA, VALID.needs, needs);
      const summary = await submit(chat, AMIRA, { serviceId: inputValue(matches, 'serviceId') }, matches);
      expect(cardText(summary)).to.contain('Jane Example'); // the details are where they belong: the referrer's own chat
      const done = await submit(chat, AMIRA, {}, summary);
      const reference = /SP-\d{4}-\d{6}/.exec(cardText(done))?.[0];
      expect(reference).to.be.a('string');

      const group = JSON.stringify(sentTo(GROUP.id));
      for (const identifier of IDENTIFIERS) expect(group, identifier).not.to.contain(identifier);
      expect(sentTo(GROUP.id)).to.have.length(1);
      const logs = logLines.join('\n');
      for (const identifier of IDENTIFIERS) expect(logs, identifier).not.to.contain(identifier);
      // Updates about the referral go to the private chat it was sent from, not the group.
      const [stored] = await bot.signpost.store.referrals.listForReferrer(AMIRA.id);
      expect(stored.reference).to.equal(reference);
      expect((await bot.signpost.store.referrals.get(stored.id))!.referral.referrerConversation).to.deep.include({ conversation: { id: chat, conversationType: 'personal', tenantId: TEST_TENANT } });
    });

    it('a second refer in the group points to the form in progress, in the same chat; a colleague gets a chat of their own', async () => {
      await postActivity(bot.url, inGroup({ from: SAM, text: 'refer' }));
      const samChat = chatCreatedFor(SAM);
      await submit(samChat, SAM, VALID.referrer, lastCardIn(samChat));
      const creations = connector.created.length;

      await postActivity(bot.url, inGroup({ from: SAM, text: 'refer' }));
      expect(connector.created).to.have.length(creations); // the chat is remembered, not created again
      expect(sentTo(GROUP.id).pop()!.activity.text).to.contain('Dr Sam Okafor, you already have a referral in progress in your chat with Signpost');
      expect(cardText(lastCardIn(samChat))).to.contain('Consent');
      expect(samChat).not.to.equal(chatCreatedFor(AMIRA));
    });

    it('says so in the group, and starts nothing there, when Teams will not open the chat', async () => {
      const stranger = { id: '29:no-app', name: 'Pat Locum', aadObjectId: '00000000-0000-0000-0000-0000000000c3' };
      connector.respond = async (request) => (request.conversationId.startsWith('a:created-') && request.method === 'POST' ? { status: 403, body: { error: { code: 'BotNotInConversationRoster' } } } : undefined);
      await postActivity(bot.url, inGroup({ from: stranger, text: 'refer' }));
      const reply = sentTo(GROUP.id).pop()!;
      expect(reply.activity.text).to.contain("Pat Locum, I couldn't open a chat with you, so no form was started");
      expect(reply.activity.attachments ?? []).to.have.length(0);
    });

    it('a storage failure while opening the form is not mistaken for Teams refusing the chat', async () => {
      const refusedByStorage = Object.assign(new Error('table service error'), { statusCode: 500 });
      const failing = sinon.stub(bot.signpost.store.referrers, 'get').rejects(refusedByStorage);
      try {
        const colleague = { id: '29:receptionist-2', name: 'Jo Grant', aadObjectId: '00000000-0000-0000-0000-0000000000c4' };
        await postActivity(bot.url, inGroup({ from: colleague, text: 'refer' }));
        const reply = sentTo(GROUP.id).pop()!;
        expect(reply.activity.text).to.match(/something went wrong on our side/);
        expect(reply.activity.text).not.to.contain("couldn't open a chat");
      } finally {
        failing.restore();
      }
    });
  });

  describe('searching the directory from the compose box', () => {
    it('answers a search with service cards that say what each offers, who it is for, the wait, whether it is open and if it is out of date', async () => {
      const { status, body } = await search('dementia');
      expect(status).to.equal(200);
      expect(body.composeExtension).to.include({ type: 'result', attachmentLayout: 'list' });
      const [first] = body.composeExtension.attachments;
      expect(first.contentType).to.equal('application/vnd.microsoft.card.adaptive');
      expectValidTeamsCard(first.content);
      const text = cardText(first.content);
      expect(text).to.contain('Dementia advisers').and.contain('People diagnosed with dementia').and.contain('Current wait').and.contain('Open to referrals');
      expect(text).to.contain('may be out of date');
      const button = first.content.actions.find((action: { title: string }) => action.title === 'Refer someone');
      expect(button).to.deep.include({ type: 'Action.Execute', verb: REFER_TO_SERVICE_VERB, data: { serviceId: 'alzheimers-society' } });
      expect(first.preview.contentType).to.equal('application/vnd.microsoft.card.thumbnail');
      expect(first.preview.content.title).to.contain('Dementia');
      expect(first.preview.content.subtitle).to.contain('People diagnosed with dementia');
      expect(first.preview.content.text).to.contain('Wait: not published').and.contain('Open').and.contain('May be out of date');
    });

    it('never logs what was searched for', async () => {
      await search('Jane Example 943 476 5919 dementia');
      const logs = logLines.join('\n');
      expect(logs).to.contain('directory-search');
      expect(logs).not.to.contain('Jane').and.not.to.contain('943 476');
    });

    it('finds "over 60 discharge King\'s" and "isolated" by who the services are for', async () => {
      const hospital = await search("over 60 discharge King's");
      expect(hospital.body.composeExtension.attachments[0].content.actions[0].data.serviceId).to.equal('red-cross-home-from-hospital');
      const isolated = await search('isolated');
      const ids = isolated.body.composeExtension.attachments.map((attachment: any) => attachment.content.actions[0]?.data.serviceId);
      expect(ids.slice(0, 2)).to.have.members(['sail', 'sail-care-navigation']);
    });

    it('a service that takes no referrals has no Refer someone button, and says how people reach it', async () => {
      const { body } = await search('champs');
      const card = body.composeExtension.attachments[0].content;
      expect(card.actions ?? []).to.have.length(0);
      expect(cardText(card)).to.contain('Takes no referrals');
    });

    it('answers bad queries with a clear sentence, never an error', async () => {
      for (const query of ['', '   ', 'dementia '.repeat(600).slice(0, 5000), '!!! ??? *** <> {{}} %%%', 'zebra crossing', 42, null]) {
        const { status, body } = await search(query);
        expect(status, String(query).slice(0, 20)).to.equal(200);
        expect(body.composeExtension.type).to.equal('message');
        expect(body.composeExtension.text).to.match(/^[A-Z].{20,}/);
      }
      for (const value of [undefined, 'nonsense', { commandId: 'somethingElse' }, { commandId: SEARCH_COMMAND, parameters: 'x' }]) {
        const { status, body } = await invoke('composeExtension/query', value);
        expect(status).to.equal(200);
        expect(body.composeExtension.type).to.equal('message');
      }
    });

    it('a search whose turn fails gets an error answer with its reason, and nothing is posted to the conversation', async () => {
      const failing = sinon.stub(bot.signpost.store.directory, 'list').rejects(new Error('directory unreadable'));
      try {
        const before = sentTo(GROUP.id).length;
        const { status, body } = await search('dementia');
        expect(status).to.equal(500);
        expect(body).to.deep.include({ statusCode: 500, type: 'application/vnd.microsoft.error' });
        expect(body.value.message).to.contain('something went wrong on our side');
        expect(sentTo(GROUP.id)).to.have.length(before);
      } finally {
        failing.restore();
      }
    });

    it('pages results as Teams asks', async () => {
      const all = (await search('southwark')).body.composeExtension.attachments;
      expect(all.length).to.be.greaterThan(3);
      const page = (await search('southwark', { queryOptions: { skip: 2, count: 2 } })).body.composeExtension.attachments;
      expect(page.map((attachment: any) => attachment.preview.content.title)).to.deep.equal(all.slice(2, 4).map((attachment: any) => attachment.preview.content.title));
    });
  });

  describe('starting a referral from a card or a message', () => {
    it('Refer someone on a service card opens the form privately, with that service preselected when the person fits it', async () => {
      const me = { id: '29:nurse', name: 'Nia Adebayo', aadObjectId: '00000000-0000-0000-0000-0000000000d4' };
      const before = sentTo(GROUP.id).length;
      const { status, body } = await invoke('adaptiveCard/action', { action: { type: 'Action.Execute', verb: REFER_TO_SERVICE_VERB, data: { serviceId: 'sail-care-navigation' } } }, me);
      expect(status).to.equal(200);
      expect(body).to.deep.include({ statusCode: 200, type: 'application/vnd.microsoft.activity.message' });
      expect(body.value).to.contain('opened the referral form in your chat with Signpost');
      expect(sentTo(GROUP.id)).to.have.length(before);

      const chat = chatCreatedFor(me);
      const consent = await submit(chat, me, VALID.referrer, lastCardIn(chat));
      const safety = await submit(chat, me, VALID.consent, consent);
      const person = await submit(chat, me, VALID.safety, safety);
      const needs = await submit(chat, me, VALID.person, person);
      const matches = await submit(chat, me, VALID.needs, needs);
      // SAIL ranks first (its wait is published), but the referrer started from SAIL Care Navigation.
      expect(cardText(matches).indexOf('Safe and Independent Living')).to.be.lessThan(cardText(matches).indexOf('SAIL Care Navigation'));
      expect(inputValue(matches, 'serviceId')).to.equal('sail-care-navigation');
    });

    it('refuses forged or stale Refer someone clicks with an error Teams can show', async () => {
      const click = async (data: Record<string, unknown>) => (await invoke('adaptiveCard/action', { action: { type: 'Action.Execute', verb: REFER_TO_SERVICE_VERB, data } })).body;
      const creations = connector.created.length;
      expect(await click({ serviceId: 'no-such-service' })).to.deep.include({ statusCode: 404, type: 'application/vnd.microsoft.error' });
      expect(await click({ serviceId: '../../etc' })).to.deep.include({ statusCode: 400, type: 'application/vnd.microsoft.error' });
      const notTaking = await click({ serviceId: 'champs' });
      expect(notTaking).to.deep.include({ statusCode: 400, type: 'application/vnd.microsoft.error' });
      expect(notTaking.value.message).to.contain('takes no referrals');
      expect(connector.created).to.have.length(creations);
    });

    it('"Refer to social prescribing" from a message\'s menu opens the form privately and never reads the message', async () => {
      const me = { id: '29:gp-2', name: 'Dr Ola Bello', aadObjectId: '00000000-0000-0000-0000-0000000000e5' };
      const before = sentTo(GROUP.id).length;
      const { status, body } = await invoke(
        'composeExtension/fetchTask',
        { commandId: REFER_COMMAND, commandContext: 'message', messagePayload: { id: '1', body: { contentType: 'text', content: 'Jane Example 943 476 5919 is lonely' } } },
        me,
      );
      expect(status).to.equal(200);
      expect(body.task.type).to.equal('message');
      expect(body.task.value).to.contain('opened the referral form in your chat with Signpost');
      const chat = chatCreatedFor(me);
      expect(cardText(lastCardIn(chat))).to.contain('About you, the referrer');
      expect(sentTo(GROUP.id)).to.have.length(before);
      const everything = JSON.stringify([...sentTo(chat), ...sentTo(GROUP.id)]) + logLines.join('\n');
      expect(everything).not.to.contain('Jane Example').and.not.to.contain('943 476 5919');
    });

    it('from the compose box of a 1:1 chat with a colleague, too; an unknown action gets a sentence', async () => {
      const me = { id: '29:hca', name: 'Tom Reid', aadObjectId: '00000000-0000-0000-0000-0000000000f6' };
      const elsewhere = { id: 'a:tom-and-a-colleague', conversationType: 'personal' };
      const { body } = await invoke('composeExtension/fetchTask', { commandId: REFER_COMMAND, commandContext: 'compose' }, me, elsewhere);
      expect(body.task.value).to.contain('opened the referral form');
      expect(cardText(lastCardIn(chatCreatedFor(me)))).to.contain('About you, the referrer');
      expect(sentTo(elsewhere.id)).to.have.length(0);
      const unknown = await invoke('composeExtension/fetchTask', { commandId: 'deleteEverything' }, me, elsewhere);
      expect(unknown.status).to.equal(200);
      expect(unknown.body.task).to.deep.include({ type: 'message' });
    });
  });
});
