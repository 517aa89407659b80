import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import type { ReferralRepository } from '../../storage/referralRepository';
import { REFERRAL_STATUSES, Referral, ReferralStatus } from '../../domain/referral/referral';
import { sampleReferral } from '../support/fixtures';
import { channelActivity, FakeConnector, postActivity, sayInChannel, teamsActivity } from '../support/connector';
import { cardText, expectValidTeamsCard } from '../support/adaptiveCards';

/**
 * User-specific views of shared cards (Universal Actions `refresh`), through the real server
 * and the connector stand-in: the channel's referral card as each person may see it, escalation
 * alerts that show one supervisor's answer to all, and referrers' update cards that catch up.
 */

const at = '2026-11-24T12:00:00.000Z';
const CHANNEL = '19:sail-referrals@thread.tacv2';
const TEAM = '19:sail-team@thread.tacv2';
const KWAME = { id: '29:kwame', name: 'Kwame Mensah' };
const GRACE = { id: '29:grace', name: 'Grace Okoro' };
const HELEN = { id: '29:helen', name: 'Helen Price', email: 'helen.price@ageuk-ls.example', userRole: 'owner' };
const PRIYA = { id: '29:priya', name: 'Priya Shah', email: 'priya.shah@ageuk-ls.example' };
const SAM = { id: '29:sam', name: 'Dr Sam Okafor', email: 'sam.okafor@practice.example' };
const OUTSIDER = { id: '29:outsider', name: 'Not In The Team' };
const REFERRER = { id: '29:r', name: 'Amira Patel' };

type Role = 'owner' | 'colleague' | 'supervisor' | 'outsider';
const ROLES: Record<Role, { id: string; name: string }> = { owner: KWAME, colleague: GRACE, supervisor: SAM, outsider: OUTSIDER };

/**
 * The buttons each role must see, written out by hand from the rules in the README (not computed
 * from the permission table, so a change to either shows here). "owner" is the link worker who
 * owns the case; a new referral has no owner, so there Kwame is one link worker among others.
 */
const NEW = ['Accept', 'Assign', 'Decline or redirect', 'Show contact details', 'Escalate to a supervisor'];
const OWNER_OPEN = ['Assign', 'Update', 'Outcomes', 'Close', 'Decline or redirect', 'Show contact details', 'Escalate to a supervisor'];
const COLLEAGUE_OPEN = ['Assign', 'Show contact details', 'Escalate to a supervisor'];
const ENDED = ['Show contact details'];
const NONE: string[] = [];
const open = { owner: OWNER_OPEN, colleague: COLLEAGUE_OPEN, supervisor: NONE, outsider: NONE };
const EXPECTED: Record<ReferralStatus, Record<Role, string[]>> = {
  submitted: { owner: NEW, colleague: NEW, supervisor: NONE, outsider: NONE },
  accepted: open,
  contacted: open,
  'first-meeting-held': open,
  'support-plan-agreed': open,
  'waiting-for-activity': open,
  'connected-to-activity': open,
  closed: { owner: ENDED, colleague: ENDED, supervisor: NONE, outsider: NONE },
  // A record marked redirected has left the service (only old queue entries say so).
  redirected: { owner: ENDED, colleague: ENDED, supervisor: NONE, outsider: NONE },
  declined: { owner: NONE, colleague: NONE, supervisor: NONE, outsider: NONE },
};

/** The buttons a card shows: its actions and the body's action sets, not what opens inside them. */
function buttons(card: Record<string, any>): string[] {
  const inBody = (card.body ?? []).filter((element: any) => element?.type === 'ActionSet').flatMap((set: any) => set.actions);
  return [...inBody, ...(card.actions ?? [])].map((action: any) => action.title);
}

/** Buttons in the order EXPECTED lists them, so a comparison reads as a set. */
const sorted = (titles: string[]) => [...titles].sort();

/**
 * The suite's Signpost, on a data folder of its own, with a connector stand-in whose team has
 * these members; started before the suite's tests and stopped after them.
 */
function serverForTeam(members: Array<{ id: string; name: string }>): () => { bot: RunningSignpost; connector: FakeConnector } {
  let folder: string;
  let connector: FakeConnector;
  let bot: RunningSignpost;
  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-views-'));
    connector = await FakeConnector.start();
    connector.members = members;
    bot = await startSignpost({ env: { PATH: process.env.PATH, SIGNPOST_NOTIFY_POLL_MS: '100' }, port: 0, host: '127.0.0.1', dataDir: folder, logger: createLogger('error', () => undefined) });
  });
  after(async () => {
    await bot?.stop();
    await connector?.stop();
    rmSync(folder, { recursive: true, force: true });
  });
  return () => ({ bot, connector });
}

describe('User-specific views of shared cards (refresh, through the real server)', () => {
  const server = serverForTeam([KWAME, GRACE, HELEN, PRIYA]);
  let connector: FakeConnector;
  let bot: RunningSignpost;
  let referrals: ReferralRepository;

  before(async () => {
    ({ bot, connector } = server());
    referrals = bot.signpost.store.referrals;
    await say('link sail', GRACE);
    // Sam supervises the service from outside the team; Signpost knows his Teams id from a chat with him.
    await bot.signpost.store.contacts.remember({ teamsUserId: SAM.id, name: SAM.name, email: SAM.email, updatedAt: at });
    expect(await say(`supervisors add ${SAM.email} clinical`, GRACE)).to.contain('clinical supervisor');
    expect(await say(`supervisors add ${HELEN.email} manager`, HELEN)).to.contain('host-organisation manager');
    expect(await say(`supervisors add ${PRIYA.email} manager`, HELEN)).to.contain('host-organisation manager');
  });

  const inChannel = (fields: Record<string, any>) => channelActivity(connector, { team: TEAM, channel: CHANNEL }, fields);

  const say = (text: string, from: { id: string; name: string }) => sayInChannel(bot.url, connector, { team: TEAM, channel: CHANNEL }, text, from);

  /** An Action.Execute invoke (a click, or Teams refreshing a card) from the channel or from someone's 1:1 chat. */
  async function invoke(verb: string, data: Record<string, unknown>, from: { id: string; name: string }, where: 'channel' | 'chat' = 'channel'): Promise<{ statusCode: number; type: string; value: any }> {
    const value = { action: { type: 'Action.Execute', verb, data } };
    const activity =
      where === 'channel'
        ? inChannel({ type: 'invoke', name: 'adaptiveCard/action', from, value })
        : teamsActivity(connector, { type: 'invoke', name: 'adaptiveCard/action', from, value, conversation: { id: `a:chat-${from.id}`, conversationType: 'personal' } });
    const { status, body } = await postActivity(bot.url, activity);
    const response = JSON.parse(body);
    expect(status).to.equal(response.statusCode);
    return response;
  }

  async function card(verb: string, data: Record<string, unknown>, from: { id: string; name: string }, where: 'channel' | 'chat' = 'channel'): Promise<Record<string, any>> {
    const response = await invoke(verb, data, from, where);
    expect(response.type, cardText(response.value)).to.equal('application/vnd.microsoft.card.adaptive');
    expectValidTeamsCard(response.value);
    return response.value;
  }

  async function stored(overrides: Partial<Referral>): Promise<Referral> {
    const value = { ...sampleReferral(overrides), referrerConversation: { serviceUrl: connector.url, channelId: 'msteams', conversation: { id: 'a:referrer-chat' } } };
    await referrals.submit(value, { referralId: value.id, at, actor: { id: '29:r' }, action: 'referral.submitted', detail: {} });
    return value;
  }

  let reference = 800;
  const nextReference = () => `SP-2026-000${(reference += 1)}`;

  for (const status of REFERRAL_STATUSES) {
    it(`shows each person exactly the actions the rules allow them on a ${status} referral`, async () => {
      const referral = await stored({ reference: nextReference(), status, owner: status === 'submitted' ? undefined : KWAME });
      for (const role of Object.keys(ROLES) as Role[]) {
        const view = await card('refresh', { referralId: referral.id }, ROLES[role]);
        expect(sorted(buttons(view)), `${status}, ${role}`).to.deep.equal(sorted(EXPECTED[status][role]));
        // Every view keeps the refresh, so it is redrawn for the next person as their own.
        expect(view.refresh.action).to.deep.include({ type: 'Action.Execute', verb: 'refresh', data: { referralId: referral.id } });
        const text = cardText(view);
        if (role === 'supervisor' || role === 'outsider') expect(text, role).to.contain("Only the service's link workers can act on this referral");
        for (const identifier of ['Jane', 'Example', '020 7946 0000', '943 476 5919']) expect(text).not.to.contain(identifier);
      }
      expect((await referrals.get(referral.id))!.referral.version).to.equal(1); // looking changes nothing
    });
  }

  it('says who owns the referral, on the shared card and on each view', async () => {
    const referral = await stored({ reference: nextReference(), status: 'contacted', owner: KWAME });
    expect(cardText(await card('refresh', { referralId: referral.id }, KWAME))).to.contain('You own this referral');
    expect(cardText(await card('refresh', { referralId: referral.id }, GRACE))).to.contain('Owned by Kwame Mensah: only they record its progress and outcomes, or close it.');
    const fresh = await stored({ reference: nextReference() });
    expect(cardText(await card('refresh', { referralId: fresh.id }, GRACE))).to.contain('Nobody has accepted this referral yet.');
  });

  it('posts a shared card that refreshes for the team, owner first, and shows nobody the owner tools', async () => {
    const referral = await stored({ reference: nextReference() });
    await say('link sail', GRACE); // posts waiting referrals
    const posted = (await connector.waitFor((a) => a.method === 'POST' && JSON.stringify(a.activity).includes(referral.reference))).activity.attachments[0].content;
    expectValidTeamsCard(posted);
    expect(posted.refresh).to.deep.equal({
      action: { type: 'Action.Execute', title: 'Show my actions', verb: 'refresh', data: { referralId: referral.id } },
      userIds: [KWAME.id, GRACE.id, HELEN.id, PRIYA.id],
    });
    expect(sorted(buttons(posted))).to.deep.equal(sorted(NEW)); // a small team: no manual refresh button

    // Kwame accepts: his answer is his own view; the card replaced for everyone is the shared one.
    const answer = await card('accept', { referralId: referral.id, version: 1 }, KWAME);
    expect(sorted(buttons(answer))).to.deep.equal(sorted(OWNER_OPEN));
    const replaced = (await connector.waitFor((a) => a.method === 'PUT' && JSON.stringify(a.activity).includes('Accepted by Kwame Mensah'))).activity.attachments[0].content;
    expect(sorted(buttons(replaced))).to.deep.equal(sorted(COLLEAGUE_OPEN));
    expect(cardText(replaced)).to.contain('Owned by Kwame Mensah').and.not.contain('Save update').and.not.contain('Close referral');
    expect(replaced.refresh.userIds[0]).to.equal(KWAME.id);
  });

  it('refuses a forged click on an action a view hides, and changes nothing @safety', async () => {
    const referral = await stored({ reference: nextReference(), status: 'accepted', owner: KWAME, version: 2 });
    const before = await referrals.audit(referral.id);
    // Grace's view has no Close, Update, Outcomes or Decline; she sends them anyway.
    for (const [verb, data] of [
      ['close', { closeReason: 'completed' }],
      ['update', { status: 'contacted' }],
      ['goals', { goal1: 'Walk daily', goal1Achieved: 'no' }],
      ['decline', { declineReason: 'no-capacity' }],
    ] as const) {
      const refused = await card(verb, { referralId: referral.id, version: 2, ...data }, GRACE);
      expect(cardText(refused), verb).to.match(/Nothing changed: Only the owner/);
      expect(sorted(buttons(refused)), verb).to.deep.equal(sorted(COLLEAGUE_OPEN)); // and she still sees only her own view
    }
    // Sam's and an outsider's views have no buttons at all: their clicks are refused too.
    expect(cardText(await card('accept', { referralId: referral.id, version: 2 }, SAM))).to.contain("Only the service's link workers");
    expect(cardText(await card('contact', { referralId: referral.id, version: 2 }, OUTSIDER))).to.contain("Only the service's link workers can see contact details").and.not.contain('Jane');
    expect((await referrals.get(referral.id))!.referral).to.deep.include({ status: 'accepted', version: 2, owner: KWAME });
    expect(await referrals.audit(referral.id)).to.deep.equal(before);
  });

  it('answers a refresh of an unknown or malformed card with a sentence, never an error', async () => {
    const unknown = await invoke('refresh', { referralId: randomUUID() }, GRACE);
    expect(unknown).to.deep.include({ statusCode: 200, type: 'application/vnd.microsoft.activity.message' });
    expect(unknown.value).to.contain('does not match any referral');
    expect((await invoke('refresh', { referralId: 'not-an-id' }, GRACE)).value).to.contain('not a Signpost referral card');
    expect((await invoke('refresh', { referralId: { forged: true } }, GRACE)).statusCode).to.equal(400);
  });

  it('updates every supervisor\'s alert once one answers, and shows alerts to supervisors only @safety', async () => {
    const referral = await stored({ reference: nextReference(), status: 'accepted', owner: KWAME, version: 2 });
    await card('escalate', { referralId: referral.id, version: 2, escalationReason: 'safeguarding', escalationNote: 'Worried about money at home' }, KWAME);
    // Safeguarding goes to both host-organisation managers, each in a chat of their own, each alert refreshing for its reader.
    const alerts = await Promise.all(
      [HELEN, PRIYA].map(async (supervisor) => {
        const chat = await connector.chatCreatedWith(supervisor.id);
        const alert = await connector.waitFor((a) => a.conversationId === chat.id && JSON.stringify(a.activity).includes(referral.reference));
        return alert.activity.attachments[0].content;
      }),
    );
    const escalationId = (await referrals.get(referral.id))!.referral.escalations![0].id;
    for (const [index, supervisor] of [HELEN, PRIYA].entries()) {
      expect(alerts[index].refresh).to.deep.equal({
        action: { type: 'Action.Execute', title: 'Show where it stands', verb: 'escalation-refresh', data: { referralId: referral.id, escalationId } },
        userIds: [supervisor.id],
      });
      expect(buttons(alerts[index])).to.deep.equal(['Acknowledge', 'Take over', 'Advice given']);
    }
    // Before anyone answers, Priya's refresh still offers the answers.
    expect(buttons(await card('escalation-refresh', { referralId: referral.id, escalationId }, PRIYA, 'chat'))).to.deep.equal(['Acknowledge', 'Take over', 'Advice given']);

    await card('escalation-take-over', { referralId: referral.id, escalationId }, HELEN, 'chat');
    const priyas = await card('escalation-refresh', { referralId: referral.id, escalationId }, PRIYA, 'chat');
    expect(cardText(priyas)).to.contain('Taken over by Helen Price.');
    expect(buttons(priyas)).to.deep.equal([]);
    expect(priyas.refresh.userIds).to.deep.equal([PRIYA.id]);

    const refused = await invoke('escalation-refresh', { referralId: referral.id, escalationId }, OUTSIDER, 'chat');
    expect(refused).to.deep.include({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: "Only the service's supervisors can see this alert." });
    const linkWorker = await invoke('escalation-refresh', { referralId: referral.id, escalationId }, GRACE, 'chat');
    expect(linkWorker.value).to.equal("Only the service's supervisors can see this alert.");
    expect((await invoke('escalation-refresh', { referralId: referral.id, escalationId: randomUUID() }, PRIYA, 'chat')).value).to.contain('does not match any escalation');
  });

  it("refreshes a referrer's update card to where the referral stands, for the referrer only", async () => {
    const referral = await stored({ reference: nextReference() });
    await card('accept', { referralId: referral.id, version: 1 }, KWAME);
    const sent = (await connector.waitFor((a) => a.conversationId === 'a:referrer-chat' && JSON.stringify(a.activity).includes(`${referral.reference} (J.E.) was accepted`))).activity.attachments[0].content;
    expectValidTeamsCard(sent);
    expect(sent.refresh).to.deep.equal({
      action: { type: 'Action.Execute', title: 'Show where it stands', verb: 'update-refresh', data: { referralId: referral.id, version: 2 } },
      userIds: [REFERRER.id],
    });
    // Nothing has happened since: the card says what it said.
    const same = await card('update-refresh', { referralId: referral.id, version: 2 }, REFERRER, 'chat');
    expect(cardText(same)).to.contain('was accepted by Safe and Independent Living (SAIL)').and.contain('Kwame Mensah is the link worker.').and.not.contain('Now:');

    await card('update', { referralId: referral.id, version: 2, status: 'contacted' }, KWAME);
    const caughtUp = await card('update-refresh', { referralId: referral.id, version: 2 }, REFERRER, 'chat');
    expect(cardText(caughtUp)).to.contain('was accepted by Safe and Independent Living (SAIL)').and.contain('Now: contacted at Safe and Independent Living (SAIL) signposting programme, with Kwame Mensah.');
    expect(cardText(caughtUp)).not.to.contain('Jane').and.not.contain('Example');

    const someoneElse = await invoke('update-refresh', { referralId: referral.id, version: 2 }, GRACE, 'chat');
    expect(someoneElse).to.deep.include({ type: 'application/vnd.microsoft.activity.message', value: 'Only the person who made this referral sees its updates.' });
    expect((await invoke('update-refresh', { referralId: referral.id, version: 9 }, REFERRER, 'chat')).value).to.contain('no longer held by Signpost');
  });

  it("asks the link worker a question from the referrer's update card: the owner gets it in Teams, anyone else is refused @safety", async () => {
    const referral = await stored({ reference: nextReference() });
    await card('accept', { referralId: referral.id, version: 1 }, KWAME);
    const sent = (await connector.waitFor((a) => a.conversationId === 'a:referrer-chat' && JSON.stringify(a.activity).includes(`${referral.reference} (J.E.) was accepted`))).activity.attachments[0].content;
    const ask = sent.actions.find((action: Record<string, any>) => action.title === 'Ask the link worker a question');
    expect(ask.card.actions[0]).to.deep.include({ type: 'Action.Execute', verb: 'ask-question', data: { referralId: referral.id, version: 2 } });
    const question = 'Could you let me know when you first meet her?';
    const data = { ...ask.card.actions[0].data, question };
    const questions = async () => (await referrals.audit(referral.id)).filter((event) => event.action === 'referral.question');

    for (const someone of [KWAME, GRACE, OUTSIDER, { id: '29:another-referrer', name: 'Another Referrer' }]) {
      expect((await invoke('ask-question', data, someone, 'chat')).statusCode, someone.id).to.equal(403);
    }
    expect((await invoke('ask-question', { ...data, question: ' ' }, REFERRER, 'chat')).statusCode).to.equal(400);
    expect((await invoke('ask-question', { ...data, question: 'q'.repeat(1001) }, REFERRER, 'chat')).statusCode).to.equal(400);
    expect((await invoke('ask-question', { ...data, referralId: 'not-a-referral' }, REFERRER, 'chat')).statusCode).to.equal(400);
    expect(await questions()).to.have.length(0);

    const answered = await card('ask-question', data, REFERRER, 'chat');
    expect(cardText(answered)).to.contain('Your question was sent to Kwame Mensah.').and.contain('was accepted by');
    const toOwner = await connector.waitFor((a) => JSON.stringify(a.activity).includes(question));
    const ownerCard = JSON.stringify(toOwner.activity);
    expect(ownerCard).to.contain(`A question from the referrer: ${referral.reference}`).and.contain("The referrer's question");
    expect(ownerCard).not.to.contain('Jane').and.not.contain('Example');
    expect((await questions())[0].detail).to.deep.include({ via: 'teams', to: 'owner' });

    await card('close', { referralId: referral.id, version: 2, closeReason: 'completed' }, KWAME);
    expect((await invoke('ask-question', data, REFERRER, 'chat')).statusCode, 'closed').to.equal(403);
    const refreshed = await card('update-refresh', { referralId: referral.id, version: 2 }, REFERRER, 'chat');
    expect(JSON.stringify(refreshed.actions ?? [])).not.to.contain('ask-question');
    expect(await questions()).to.have.length(1);
  });
});

describe('The shared referral card in a team larger than Teams refreshes automatically', () => {
  const server = serverForTeam([GRACE, ...Array.from({ length: 70 }, (_, index) => ({ id: `29:member-${index}`, name: `Member ${index}` })), KWAME]);
  let connector: FakeConnector;
  let bot: RunningSignpost;
  before(() => ({ bot, connector } = server()));

  it('lists 60 members, the owner first, and offers everyone else "Show my actions"', async () => {
    const referral = { ...sampleReferral({ reference: 'SP-2026-000901' }), referrerConversation: { serviceUrl: connector.url, channelId: 'msteams', conversation: { id: 'a:referrer-chat' } } };
    await bot.signpost.store.referrals.submit(referral, { referralId: referral.id, at, actor: { id: '29:r' }, action: 'referral.submitted', detail: {} });
    await postActivity(bot.url, channelActivity(connector, { team: TEAM, channel: CHANNEL }, { type: 'message', text: 'link sail', from: GRACE }));
    const posted = (await connector.waitFor((a) => a.method === 'POST' && JSON.stringify(a.activity).includes('SP-2026-000901'))).activity.attachments[0].content;
    expectValidTeamsCard(posted);
    expect(posted.refresh.userIds).to.deep.equal(connector.members.slice(0, 60).map((member) => member.id));
    expect(sorted(buttons(posted))).to.deep.equal(sorted([...NEW, 'Show my actions']));

    // Kwame, last in the roster, accepts: he is listed first on the replaced card.
    const click = async (verb: string, data: Record<string, unknown>, from: { id: string; name: string }) => {
      const value = { action: { type: 'Action.Execute', verb, data } };
      const { body } = await postActivity(bot.url, channelActivity(connector, { team: TEAM, channel: CHANNEL }, { type: 'invoke', name: 'adaptiveCard/action', from, value }));
      return JSON.parse(body).value;
    };
    expect(sorted(buttons(await click('accept', { referralId: referral.id, version: 1 }, KWAME)))).to.deep.equal(sorted(OWNER_OPEN));
    const replaced = (await connector.waitFor((a) => a.method === 'PUT' && JSON.stringify(a.activity).includes('Accepted by Kwame Mensah'))).activity.attachments[0].content;
    expect(replaced.refresh.userIds).to.have.length(60);
    expect(replaced.refresh.userIds.slice(0, 2)).to.deep.equal([KWAME.id, GRACE.id]);
    expect(sorted(buttons(replaced))).to.deep.equal(sorted([...COLLEAGUE_OPEN, 'Show my actions']));

    // Pressing it is the same refresh: a member who was not listed gets their own view, without the button.
    expect(sorted(buttons(await click('refresh', { referralId: referral.id }, { id: '29:member-69', name: 'Member 69' })))).to.deep.equal(sorted(COLLEAGUE_OPEN));
  });
});
