import { expect } from 'chai';
import { channelActivity, postActivity, teamsActivity } from '../support/connector';
import { FIXTURE_TIME } from '../support/fixtures';
import { cardText } from '../support/adaptiveCards';
import { EmailWorld, IDENTIFIERS, INTAKE, linkFor, waitUntil } from './support';

const CHANNEL = '19:sail-referrals@thread.tacv2';
const TEAM = '19:sail-team@thread.tacv2';
const KWAME = { id: '29:kwame', name: 'Kwame Mensah' };
const ADMIN = { id: '29:admin', name: 'Signpost Admin' };
const SUPERVISOR = 'sam.supervisor@ageuk-lambeth.example';

describe('Email: escalations answered by a supervisor who is not in Teams, and the intake command', () => {
  let world: EmailWorld;

  before(async () => {
    world = await EmailWorld.start({ SIGNPOST_ADMINS: ADMIN.id });
    world.connector.members = [KWAME];
    await postActivity(world.bot.url, inChannel({ type: 'message', text: 'link sail', from: KWAME }));
    await world.bot.signpost.store.supervisors.save({ serviceId: 'sail', email: SUPERVISOR, role: 'clinical', addedBy: KWAME, addedAt: FIXTURE_TIME });
  });
  after(() => world?.stop());

  const inChannel = (fields: Record<string, any>) => channelActivity(world.connector, { team: TEAM, channel: CHANNEL }, fields);

  /** A click on the referral's card in the channel, on the version as it stands. */
  async function click(verb: string, data: Record<string, unknown>): Promise<Record<string, any>> {
    const version = (await world.bot.signpost.store.referrals.get(String(data.referralId)))!.referral.version;
    data = { ...data, version };
    const { body } = await postActivity(world.bot.url, inChannel({ type: 'invoke', name: 'adaptiveCard/action', from: KWAME, value: { action: { type: 'Action.Execute', verb, data } } }));
    return JSON.parse(body).value;
  }

  /** Says something in the admin's 1:1 chat with Signpost; returns the reply's text. */
  async function adminSays(text: string, from = ADMIN): Promise<string> {
    const activity = teamsActivity(world.connector, { text, from, conversation: { id: `a:chat-${from.id}`, conversationType: 'personal' } });
    await postActivity(world.bot.url, activity);
    const reply = await world.connector.waitFor((a) => a.method === 'POST' && a.activity.replyToId === activity.id);
    return reply.activity.text;
  }

  /** A referral once it is on the channel's card (so no post is still on its way). */
  async function referralInChannel() {
    const referral = await world.refer();
    await world.connector.waitFor((a) => a.conversationId.startsWith(CHANNEL) && JSON.stringify(a.activity).includes(referral.reference));
    await waitUntil(async () => ((await world.bot.signpost.store.referrals.get(referral.id))!.referral.channelPost ? true : undefined), 'the post to be recorded');
    return referral;
  }

  it('alerts the supervisor by email with links; their advice from the link page reaches the link worker in Teams', async () => {
    const referral = await referralInChannel();
    await click('accept', { referralId: referral.id, });
    const escalated = await click('escalate', { referralId: referral.id, escalationReason: 'safeguarding', escalationNote: 'Worried about Jane Example at home' });
    expect(cardText(escalated)).to.contain('supervisors have been alerted');

    const alert = await world.mailAbout(referral.reference, SUPERVISOR);
    const everything = `${alert.subject}\n${alert.text}\n${alert.html}`;
    for (const identifier of IDENTIFIERS) expect(everything, identifier).not.to.contain(identifier);
    expect(alert.text).to.contain('Acknowledge: http').and.contain('Take over: http').and.contain('Advice given: http');

    const page = await fetch(linkFor(alert, 'Advice given'));
    expect(page.status).to.equal(200);
    const advised = await world.actOnLink(linkFor(alert, 'Advice given'), { verb: 'escalation-advice', note: 'Call the duty safeguarding team today' }, SUPERVISOR);
    expect(advised.status).to.equal(200);
    expect(await advised.text()).to.contain('The link worker has been told');

    const stored = (await world.bot.signpost.store.referrals.get(referral.id))!.referral;
    expect(stored.escalations?.[0].resolution).to.deep.include({ kind: 'advice-given' });
    const event = (await world.bot.signpost.store.referrals.audit(referral.id)).find((candidate) => candidate.action === 'escalation.advice')!;
    expect(event.detail).to.deep.include({ via: 'email-link', fromAddress: SUPERVISOR });
    // The link worker hears in their 1:1 chat with Signpost.
    await waitUntil(async () => world.connector.created.find((chat) => chat.parameters.members?.[0]?.id === KWAME.id), 'a chat with the link worker');
    const told = await world.connector.waitFor((a) => a.method === 'POST' && JSON.stringify(a.activity).includes('Call the duty safeguarding team today'));
    expect(told.conversationId).to.match(/^a:created-/);
  });

  it('refuses an escalation answer from someone who is not a supervisor, changing nothing', async () => {
    const referral = await referralInChannel();
    await click('accept', { referralId: referral.id, });
    await click('escalate', { referralId: referral.id, escalationReason: 'safeguarding', escalationNote: 'Needs a second opinion' });
    const alert = await world.mailAbout(referral.reference, SUPERVISOR);
    await world.bot.signpost.store.supervisors.remove('sail', SUPERVISOR);
    const answer = await world.actOnLink(linkFor(alert, 'Acknowledge'), { verb: 'escalation-acknowledge' }, SUPERVISOR);
    expect(answer.status).to.equal(403);
    expect((await world.bot.signpost.store.referrals.get(referral.id))!.referral.escalations?.[0].acknowledged).to.equal(undefined);
    await world.bot.signpost.store.supervisors.save({ serviceId: 'sail', email: SUPERVISOR, role: 'clinical', addedBy: KWAME, addedAt: FIXTURE_TIME });
  });

  it('lets an admin add, show and remove a service\'s intake inboxes, and nobody else', async () => {
    expect(await adminSays('intake sail email new-inbox@pembroke-house.example', KWAME)).to.contain('for Signpost admins');
    expect(await world.bot.signpost.store.intake.list('sail')).to.have.length(1);

    const added = await adminSays('intake sail email New-Inbox@Pembroke-House.example');
    expect(added).to.contain('by email at:').and.contain('new-inbox@pembroke-house.example').and.contain('in its Teams channel');
    expect(await adminSays('intake sail email not-an-address')).to.contain('Give an email address');
    expect(await adminSays('intake nonsense')).to.contain('There is no service');
    const removed = await adminSays('intake sail email remove new-inbox@pembroke-house.example');
    expect(removed).not.to.contain('new-inbox@');
    expect(await adminSays('intake sail email remove new-inbox@pembroke-house.example')).to.contain('was not an intake address');
    expect(await adminSays('intake wellbeing-hub')).to.contain('in no Teams channel').and.contain('by email at no address');
  });

  it('reminds an inbox that owns a case by email only, with links to update and close it', async () => {
    const referral = await world.refer();
    const mail = await world.mailAbout(referral.reference);
    await world.actOnLink(linkFor(mail, 'Accept'), { verb: 'accept' });
    const owned = (await world.bot.signpost.store.referrals.get(referral.id))!.referral;
    expect(owned.owner?.id).to.equal(`email:${INTAKE}`);

    const reminder = { kind: 'reminder' as const, title: `No first contact recorded: ${owned.reference}`, lines: ['Record the contact.'], serviceName: 'SAIL', referralId: owned.id, reference: owned.reference, at: FIXTURE_TIME };
    const messages = await world.bot.signpost.supervision.outboxFor([{ audience: { to: 'person', person: owned.owner! }, message: reminder }], 'sail', 'first-contact');
    // Someone who acts only by email has no Teams chat to try.
    expect(messages.map((message) => message.key)).to.deep.equal([`first-contact:${INTAKE}:email`]);
    const email = await world.bot.signpost.emailActions.staffEmail(INTAKE, reminder, owned);
    expect(email.text).to.contain('Update progress: http').and.contain('Close: http').and.not.contain('Accept: http');
  });

  it('sends reminders for a service to its inboxes as well as its channel', async () => {
    const messages = await world.bot.signpost.supervision.outboxFor(
      [{ audience: { to: 'channel' }, message: { kind: 'reminder', title: 'Waiting to be accepted', lines: [], serviceName: 'SAIL', at: FIXTURE_TIME } }],
      'sail',
      'test-reminder',
    );
    expect(messages.map((message) => message.key)).to.have.members(['test-reminder:channel:teams', `test-reminder:referrals@ageuk-lambeth.example:email`]);
  });
});
