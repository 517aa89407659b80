import { expect } from 'chai';
import sinon from 'sinon';
import { ReferralNoLongerValidError } from '../../bot/referrals/referralService';
import { startAzurite, type RunningAzurite } from '../../storage/azurite';
import { TableConnection } from '../../storage/tables';
import { TableStateStore } from '../../storage/tableStateStore';
import { cardText } from '../support/adaptiveCards';
import { createWorld, fill, inputValue, lastCard, ReferralHarness, ReferralWorld, replyText, submitData, VALID, walkTo } from '../support/referralHarness';

/**
 * A click on the referral form is answered from the bot's own copy of the form's state when it
 * has one, with one storage request (the eTag-checked write) instead of two; a copy that is out
 * of date (another instance answered meanwhile, or the state was erased) never changes the answer.
 * Two harnesses on the same tables are two instances of Signpost behind one bot registration.
 */
describe('Form clicks answered from a cached copy of the form state (two instances on Azurite)', () => {
  let azurite: RunningAzurite;
  let tables: TableConnection;
  /** Storage requests since the test began, as "METHOD table". */
  let requests: string[] = [];
  let world: ReferralWorld;
  let a: ReferralHarness;
  let b: ReferralHarness;

  before(async () => {
    azurite = await startAzurite();
    tables = new TableConnection(azurite.connectionString, {
      observe: ({ method, url }) => requests.push(`${method} ${new URL(url).pathname.split('/').pop()?.split('(')[0]}`),
    });
  });
  after(async () => azurite?.stop());
  afterEach(() => sinon.restore());
  beforeEach(async () => {
    world = await createWorld(tables);
    a = new ReferralHarness(world);
    b = new ReferralHarness(world);
  });

  /** The storage requests one click makes, and its replies. */
  async function counted(harness: ReferralHarness, submission: Record<string, unknown>) {
    requests = [];
    const replies = await harness.send(submission);
    return { replies, requests: [...requests] };
  }

  /** What a card shows, without its one-time tokens. */
  function withoutTokens(card: Record<string, unknown>): string {
    return JSON.stringify(card).replace(/"token":"[^"]+"/g, '"token":"…"');
  }

  async function storedState(): Promise<string> {
    const found: string[] = [];
    for await (const item of new TableStateStore(tables, world.names.botState).entries()) found.push(JSON.stringify(item.value));
    return found.join('\n');
  }

  it('answers a middle click with one storage request, the write, and the same card as a click read from storage', async () => {
    const person = await walkTo(a, 'person');
    const fromCopy = await counted(a, fill(person, VALID.person));
    expect(fromCopy.requests).to.have.length(1);
    expect(fromCopy.requests[0]).to.match(/^PUT /);
    const needs = lastCard(fromCopy.replies);
    expect(submitData(needs).step).to.equal('referral.step.needs');

    // The same click on an instance that has no copy: read, then write, and the same answer.
    const other = new ReferralHarness(world, { id: 'chat-2', conversationType: 'personal' });
    const otherPerson = await walkTo(other, 'person');
    const restarted = new ReferralHarness(world, { id: 'chat-2', conversationType: 'personal' });
    const fromStorage = await counted(restarted, fill(otherPerson, VALID.person));
    expect(fromStorage.requests.map((request) => request.split(' ')[0])).to.deep.equal(['GET', 'PUT']);
    expect(withoutTokens(lastCard(fromStorage.replies))).to.equal(withoutTokens(needs));
  });

  it('keeps every answer right when clicks alternate between instances, and loses nothing typed', async () => {
    let card = lastCard(await a.send('refer'));
    const steps = ['referrer', 'consent', 'safety', 'person', 'needs', 'matches'] as const;
    for (const [index, step] of steps.entries()) {
      const on = index % 2 === 0 ? a : b;
      const inputs = step === 'matches' ? { serviceId: inputValue(card, 'serviceId') } : VALID[step];
      const next = lastCard(await on.send(fill(card, inputs as Record<string, unknown>)));
      expect(submitData(next).step, `after ${step}`).to.equal(`referral.step.${steps[index + 1] ?? 'summary'}`);
      card = next;
    }
    // The summary shows what was typed on both instances.
    const summary = cardText(card);
    for (const typed of [VALID.referrer.email, VALID.person.familyName, VALID.person.phone, VALID.needs.whatMatters]) expect(summary).to.contain(typed);

    const sent = cardText(lastCard(await a.send(fill(card, {}))));
    const reference = /SP-\d{4}-\d{6}/.exec(sent)?.[0];
    expect(reference).to.be.a('string');
    const queued = await world.queue.list('sail');
    expect(queued).to.have.length(1);
    const stored = (await world.referrals.get(queued[0].referralId))!.referral;
    expect(stored.reference).to.equal(reference);
    expect(JSON.stringify(stored)).to.contain(VALID.person.familyName).and.contain(VALID.referrer.email).and.contain(VALID.needs.whatMatters);
  });

  it('a stale copy never changes the answer: the same card clicked on both instances advances once, the other click is told it is from an earlier step @safety', async () => {
    const consent = await walkTo(a, 'consent');
    // Instance B reads the form too (the person asks for it again there), so both hold a copy of this step.
    lastCard(await b.send('refer'));
    const first = await counted(b, fill(consent, VALID.consent));
    expect(submitData(lastCard(first.replies)).step).to.equal('referral.step.safety');
    expect(first.requests).to.have.length(1);

    // A's copy has the same card and token, but storage has moved on: the write is refused and storage answers.
    const second = await a.send(fill(consent, VALID.consent));
    expect(replyText(second)).to.contain('earlier step');
    expect(second.filter((reply) => reply.attachments?.length)).to.have.length(0);
    expect(world.logLines.join('\n')).to.contain('form-copy-not-counted');

    // The form carries on from B's card on either instance, with A's copy dropped.
    const safety = lastCard(first.replies);
    const next = lastCard(await a.send(fill(safety, VALID.safety)));
    expect(submitData(next).step).to.equal('referral.step.person');
  });

  it('writes nothing for a click that changes nothing, and answers it from storage', async () => {
    const referrer = await walkTo(a, 'referrer');
    lastCard(await a.send(fill(referrer, VALID.referrer)));
    const { replies, requests: made } = await counted(a, fill(referrer, VALID.referrer));
    expect(replyText(replies)).to.contain('earlier step');
    expect(made.map((request) => request.split(' ')[0])).to.deep.equal(['GET']);
  });

  it('a copy older than storage answers from storage: each instance in turn gets the next card right', async () => {
    const referrer = await walkTo(a, 'referrer');
    const consent = lastCard(await b.send(fill(referrer, VALID.referrer)));
    // A's copy still shows the referrer step; the consent card's token is not in it.
    const safety = lastCard(await a.send(fill(consent, VALID.consent)));
    expect(submitData(safety).step).to.equal('referral.step.safety');
    // And B's copy (the consent step) is now older than storage.
    const person = lastCard(await b.send(fill(safety, VALID.safety)));
    expect(submitData(person).step).to.equal('referral.step.person');
  });

  it('Send clicked on both instances stores one referral; the second is told the form has ended @safety', async () => {
    const summary = await walkTo(a, 'summary');
    lastCard(await b.send('refer')); // B holds a copy of the summary step too
    const sent = await a.send(fill(summary, {}));
    expect(cardText(lastCard(sent))).to.match(/SP-\d{4}-\d{6}/);
    const again = await b.send(fill(summary, {}));
    expect(replyText(again)).to.contain('already been sent');
    expect(await world.queue.list('sail')).to.have.length(1);
  });

  it('a stale copy stores no referral: Send on a summary card the person has left on the other instance changes nothing @safety', async () => {
    const summary = await walkTo(a, 'summary');
    lastCard(await b.send('refer')); // B holds a copy of the summary step
    const person = lastCard(await a.send({ ...submitData(summary), navigate: 'person' }));
    expect(submitData(person).step).to.equal('referral.step.person');

    // B's copy still has the summary's token: it is asked of storage before anything is stored.
    const replies = await b.send(fill(summary, {}));
    expect(replyText(replies)).to.contain('earlier step');
    expect(await world.queue.list('sail')).to.have.length(0);
    expect(world.logLines.join('\n')).to.contain('not-current');
  });

  it('Send clicked on both instances at the same moment stores one referral @safety', async () => {
    const summary = await walkTo(a, 'summary');
    lastCard(await b.send('refer'));
    const answers = await Promise.all([a.send(fill(summary, {})), b.send(fill(summary, {}))]);
    expect(answers.some((replies) => /SP-\d{4}-\d{6}/.test(JSON.stringify(replies)))).to.equal(true);
    expect(await world.queue.list('sail')).to.have.length(1);
  });

  it('does not repeat a turn that already sent a message: a Send whose state another click changed meanwhile is answered with a notice', async () => {
    const summary = await walkTo(a, 'summary');
    const elsewhere = new TableStateStore(tables, world.names.botState);
    // The chosen service stopped matching, and at that moment another click moved the form on.
    sinon.stub(a.signpost.referralService, 'submit').callsFake(async () => {
      const keys: string[] = [];
      for await (const item of elsewhere.entries()) keys.push(item.key);
      const current = await elsewhere.read(keys);
      await elsewhere.write({ [keys[0]]: { ...current[keys[0]], eTag: '*', movedOn: true } });
      throw new ReferralNoLongerValidError('The service you chose no longer matches these answers.');
    });
    const replies = await a.send(fill(summary, {}));
    const said = replyText(replies);
    expect(said.match(/no longer matches/g)).to.have.length(1);
    expect(said).to.contain('changed somewhere else at the same moment');
    expect((a.signpost.referralService.submit as sinon.SinonStub).callCount).to.equal(1);
    expect(await storedState()).to.contain('movedOn');
  });

  it('does not bring back a form whose state was erased after the last click @safety', async () => {
    const person = await walkTo(a, 'person');
    const needs = lastCard(await a.send(fill(person, VALID.person)));
    // Erasure by another process (the person's-rights tool): it deletes every state holding the form.
    const elsewhere = new TableStateStore(new TableConnection(azurite.connectionString), world.names.botState);
    const keys: string[] = [];
    for await (const item of elsewhere.entries()) keys.push(item.key);
    await elsewhere.delete(keys);

    const replies = await a.send(fill(needs, VALID.needs));
    expect(replyText(replies)).to.contain('already been sent, was cancelled');
    expect(await storedState()).not.to.contain(VALID.person.familyName);
    expect(await storedState()).not.to.contain('"draft"');
  });
});
