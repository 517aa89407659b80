import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ParsedMail } from 'mailparser';
import { ACTIONABLE_MESSAGES_APP_ID, emailPerson } from '../../bot/email/emailActions';
import type { ActingPerson } from '../../bot/referrals/referralActions';
import type { Referral } from '../../domain/referral/referral';
import { referralUpdateCard } from '../../cards/referralUpdateCard';
import { AUDIENCE, EmailWorld, embeddedCard, httpActions, IDENTIFIERS, INTAKE, linkFor, postForm, waitUntil } from './support';
import { FIXTURE_TIME } from '../support/fixtures';

const TENANT = '7e1c0f52-4f0a-4a8c-9d6e-2b1f3c4d5e6f';
const REFERRER = 'amira@practice.example';
const ASK = 'Ask the link worker a question';
const QUESTION = 'Has anyone been able to reach her yet? She asked me to check.';

describe('Referrers ask the link worker a question (update emails, Actionable Messages, Teams)', () => {
  let world: EmailWorld;

  before(async () => {
    world = await EmailWorld.start();
  });
  after(() => world?.stop());

  const intake = () => emailPerson(INTAKE, 'email-link');
  const events = async (referralId: string) => (await world.bot.signpost.store.referrals.audit(referralId)).filter((event) => event.action === 'referral.question');

  /** A referral accepted by the service's inbox, whose referrer wants updates by email: the update email they receive. */
  async function acceptedWithUpdateEmail(): Promise<{ referral: Referral; mail: ParsedMail }> {
    const submitted = await world.refer();
    await world.bot.signpost.store.referrers.save({ ...submitted.referrer, notify: 'email', updatedAt: FIXTURE_TIME });
    const outcome = await world.bot.signpost.actions.act(intake(), submitted.id, submitted.version, { verb: 'accept' });
    expect(outcome.kind).to.equal('changed');
    const mail = await world.mailAbout(submitted.reference, REFERRER);
    return { referral: (await world.bot.signpost.store.referrals.get(submitted.id))!.referral, mail };
  }

  /** The question's email to the service's inbox (the owner here acts by that address). */
  async function questionMail(reference: string): Promise<ParsedMail> {
    return waitUntil(async () => world.smtp.messages.find((mail) => mail.subject?.includes(`A question from the referrer: ${reference}`)), 'the question email');
  }

  it("offers the question on the referrer's update email in both forms, and a link page sends it to the owner after the emailed code; the question stays out of email, logs and the audit trail @safety", async () => {
    const { referral, mail } = await acceptedWithUpdateEmail();
    const card = embeddedCard(mail);
    expect(httpActions(card).map((action) => JSON.parse(action.body).verb)).to.deep.equal(['ask-question']);
    const answer = await world.actOnLink(linkFor(mail, ASK), { verb: 'ask-question', question: `  ${QUESTION}  ` }, REFERRER);
    expect(answer.status).to.equal(200);
    expect(await answer.text()).to.contain('Your question was sent to');

    const [event] = await events(referral.id);
    expect(event.detail).to.deep.include({ via: 'email-link', fromAddress: REFERRER, to: 'owner', length: QUESTION.length });
    expect(JSON.stringify(event)).not.to.contain('reach her');
    // Nothing the link workers hold goes out of date.
    const after = (await world.bot.signpost.store.referrals.get(referral.id))!.referral;
    expect({ status: after.status, version: after.version, owner: after.owner?.id }).to.deep.equal({ status: 'accepted', version: referral.version, owner: referral.owner?.id });

    // The owner's email names the referral by reference, points to the question, and carries neither the question nor the person.
    const toOwner = await questionMail(referral.reference);
    const body = `${toOwner.subject}\n${toOwner.text}\n${toOwner.html}`;
    expect(body).to.contain('The question itself is in Signpost').and.contain('Read the question');
    expect(body).not.to.contain('reach her');
    for (const identifier of IDENTIFIERS) expect(body, identifier).not.to.contain(identifier);
    expect(world.logLines.join('\n')).not.to.contain('reach her');

    // Its link shows the question to its recipient only after the code mailed to them, and records the reading.
    const read = linkFor(toOwner, 'Read the question');
    const before = await (await fetch(read)).text();
    expect(before).not.to.contain('reach her');
    const shown = await world.actOnLink(read, { verb: 'read-question' }, INTAKE);
    expect(shown.status).to.equal(200);
    expect(await shown.text()).to.contain("The referrer's question").and.contain('reach her');
    const reading = (await world.bot.signpost.store.referrals.audit(referral.id)).find((candidate) => candidate.action === 'referral.question-read')!;
    expect(reading.detail).to.deep.include({ via: 'email-link', fromAddress: INTAKE });
    // Outlook is given a page to open, never the question in the card.
    expect(JSON.stringify(embeddedCard(toOwner))).not.to.contain('reach her').and.not.to.contain('"Action.Http"');
  });

  it('answers an Actionable Message from the referrer, and refuses another recipient (403) and bad input (400) with nothing changed', async () => {
    const { referral, mail } = await acceptedWithUpdateEmail();
    const button = httpActions(embeddedCard(mail)).find((action) => JSON.parse(action.body).verb === 'ask-question')!;
    const press = async (signInName: string, question: unknown) =>
      fetch(button.url.replace('localhost', '127.0.0.1'), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await world.entra.token(TENANT, { aud: AUDIENCE, azp: ACTIONABLE_MESSAGES_APP_ID, preferred_username: signInName, name: 'Amira Patel', jti: randomUUID() })}`,
        },
        body: JSON.stringify({ ...JSON.parse(button.body), question }),
      });

    expect((await press(INTAKE, QUESTION)).status, 'someone else').to.equal(403);
    expect((await press(REFERRER, '   ')).status, 'empty').to.equal(400);
    expect((await press(REFERRER, 'x'.repeat(1001))).status, 'oversized').to.equal(400);
    expect((await press(REFERRER, { text: QUESTION })).status, 'not text').to.equal(400);
    expect(await events(referral.id)).to.have.length(0);

    const answer = await press(REFERRER, QUESTION);
    expect(answer.status).to.equal(200);
    expect(answer.headers.get('card-update-in-body')).to.equal('true');
    expect(answer.headers.get('card-action-status')).to.contain('Your question was sent to');
    const [event] = await events(referral.id);
    expect(event.detail).to.deep.include({ via: 'actionable-message', fromAddress: REFERRER });
  });

  it('refuses empty, oversized and forged link forms with 400, and changes nothing', async () => {
    const { referral, mail } = await acceptedWithUpdateEmail();
    const url = linkFor(mail, ASK);
    expect((await postForm(url, { verb: 'ask-question', question: '' })).status).to.equal(400);
    expect((await postForm(url, { verb: 'ask-question', question: 'y'.repeat(1001) })).status).to.equal(400);
    expect((await postForm(url, { verb: 'accept' })).status, 'a verb the link does not offer').to.equal(400);
    expect((await postForm(`${url.replace(/\?.*$/, '').slice(0, -4)}AAAA`, { verb: 'ask-question', question: QUESTION })).status, 'forged').to.equal(400);
    expect(await events(referral.id)).to.have.length(0);
  });

  it('lets only the referrer ask, only while the referral is open; a question to an unowned referral goes to the service @safety', async () => {
    const referral = await world.refer();
    const ask = (person: ActingPerson, id = referral.id) => world.bot.signpost.actions.act(person, id, undefined, { verb: 'ask-question', questionId: randomUUID(), question: QUESTION });
    const referrerInTeams: ActingPerson = { id: referral.referrer.teamsUserId, name: 'Amira Patel', identifiedBy: 'teams' };
    const strangers: ActingPerson[] = [
      intake(),
      { id: '29:stranger', name: 'A stranger', identifiedBy: 'teams' },
      { id: '29:referrer-someone-else', name: 'Another referrer', identifiedBy: 'teams' },
      emailPerson('someone@practice.example', 'email-link'),
    ];
    for (const person of strangers) expect((await ask(person)).kind, person.id).to.equal('refused');
    expect(await events(referral.id)).to.have.length(0);

    const sent = await ask(referrerInTeams);
    expect(sent.kind).to.equal('changed');
    expect(sent.kind === 'changed' && sent.notice).to.contain("Sail's link workers".replace('Sail', (await world.bot.signpost.store.directory.get('sail'))!.name));
    // Nobody owns it: the service's inbox hears, and only the addresses it was sent to may read it.
    await questionMail(referral.reference);
    const [asked] = await events(referral.id);
    expect(asked.detail).to.deep.include({ via: 'teams', to: 'service' });
    const questionId = String(asked.detail.questionId);
    expect((await world.bot.signpost.actions.readQuestion(intake(), referral.id, questionId)).kind).to.equal('question');
    for (const person of [emailPerson(REFERRER, 'email-link'), emailPerson('someone@practice.example', 'email-link'), referrerInTeams]) {
      expect((await world.bot.signpost.actions.readQuestion(person, referral.id, questionId)).kind, person.id).to.equal('refused');
    }
    expect((await world.bot.signpost.actions.readQuestion(intake(), referral.id, randomUUID())).kind, 'another question').to.equal('not-found');

    const declined = await world.bot.signpost.actions.act(intake(), referral.id, referral.version, { verb: 'decline', reason: 'no-capacity' });
    expect(declined.kind).to.equal('changed');
    const refused = await ask(referrerInTeams);
    expect(refused.kind).to.equal('refused');
    expect(await events(referral.id)).to.have.length(1);
  });

  it("shows the Teams update card's button only while the table allows it", async () => {
    const update = { referralId: randomUUID(), reference: 'SP-2026-000801', initials: 'J.E.', serviceName: 'SAIL', status: 'Accepted', headline: 'h', lines: [], snomed: [], at: FIXTURE_TIME, version: 2 };
    const execute = (card: Record<string, any>) => JSON.stringify(card.actions ?? []).includes('"verb":"ask-question"');
    expect(execute(referralUpdateCard(update, { canAsk: true }))).to.equal(true);
    expect(execute(referralUpdateCard(update, { canAsk: false }))).to.equal(false);
  });
});
