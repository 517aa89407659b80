import { expect } from 'chai';
import sinon from 'sinon';
import { testTables } from '../support/azurite';
import type { RunningAzurite } from '../../storage/azurite';
import type { TableConnection } from '../../storage/tables';
import { cardText, expectValidTeamsCard } from '../support/adaptiveCards';
import { southwarkDirectory } from '../../domain/directory/southwark';
import {
  createWorld,
  fill,
  GP,
  inputValue,
  lastCard,
  RECEPTIONIST,
  ReferralHarness,
  ReferralWorld,
  replyText,
  submitData,
  VALID,
  walkTo,
} from '../support/referralHarness';

describe('Referral dialog (TestAdapter, state and records in Azurite)', function () {
  let azurite: RunningAzurite;
  let tables: TableConnection;
  let world: ReferralWorld;
  let bot: ReferralHarness;

  before(async () => ({ azurite, tables } = await testTables()));
  after(async () => azurite?.stop());
  beforeEach(async () => {
    world = await createWorld(tables);
    bot = new ReferralHarness(world);
  });

  /** Every queued referral, across all services. */
  async function storedReferrals() {
    const all = [];
    for (const service of await world.directory.list()) all.push(...(await world.queue.list(service.id)));
    return all;
  }

  describe('the happy path', () => {
    it('goes from refer to a stored, routed referral with a reference and the SNOMED code @safety', async () => {
      const referrer = lastCard(await bot.send('refer'));
      expectValidTeamsCard(referrer);
      expect(inputValue(referrer, 'name')).to.equal('Amira Patel'); // prefilled from Teams

      const consent = lastCard(await bot.send(fill(referrer, VALID.referrer)));
      expect(cardText(consent)).to.contain('Consent');
      const safety = lastCard(await bot.send(fill(consent, VALID.consent)));
      const person = lastCard(await bot.send(fill(safety, VALID.safety)));
      const needs = lastCard(await bot.send(fill(person, VALID.person)));
      const matches = lastCard(await bot.send(fill(needs, VALID.needs)));
      expectValidTeamsCard(matches);
      const matchText = cardText(matches);
      expect(matchText).to.contain('Safe and Independent Living (SAIL)');
      expect(matchText).to.contain('Meets: requires age over 50; person is 76');
      expect(matchText).to.contain('Wait: about 6 weeks');
      expect(matchText).to.contain('may be out of date'); // the 2019 entries are unverified
      expect(matchText).not.to.contain('High Intensity User'); // takes no referrals: never offered
      expect(inputValue(matches, 'serviceId')).to.equal('sail'); // the top match is preselected

      const summary = lastCard(await bot.send(fill(matches, { serviceId: 'sail' })));
      const summaryText = cardText(summary);
      expect(summaryText).to.contain('Jane Example').and.contain('SE5 8AU').and.contain('9434765919');
      expect(summaryText).to.contain('Safe and Independent Living (SAIL)');

      const done = lastCard(await bot.send(fill(summary, {})));
      expectValidTeamsCard(done);
      const doneText = cardText(done);
      expect(doneText).to.contain('SP-2026-000001');
      expect(doneText).to.contain('871731000000106');
      expect(doneText).to.contain('about 6 weeks');

      const queue = await world.queue.list('sail');
      expect(queue).to.have.length(1);
      const stored = (await world.referrals.get(queue[0].referralId))!.referral;
      expect(stored).to.include({ status: 'submitted', serviceId: 'sail', reference: 'SP-2026-000001' });
      expect(stored.person).to.include({ givenName: 'Jane', nhsNumber: '9434765919', postcode: 'SE5 8AU' });
      expect(stored.facts).to.include({ age: 76, borough: 'southwark', sociallyIsolated: true });
      expect(stored.facts).not.to.have.property('dateOfBirth');
      expect(stored.consent).to.include({ consentToReferral: true, consentToShare: true, method: 'verbal' });
      expect(stored.match.eligibleServiceIds).to.include('sail');
      expect(stored.match.reasons.join(' ')).to.contain('socially isolated');
      expect(stored.referrerConversation.conversation.id).to.equal('chat-1');
      const audit = await world.referrals.audit(stored.id);
      expect(audit.map((event) => event.action)).to.deep.equal(['referral.submitted']);
      expect(audit[0].actor.id).to.equal(RECEPTIONIST.id);

      // The referrer's details are remembered for next time.
      expect((await world.referrers.get(RECEPTIONIST.id))?.practice).to.equal('Lordship Lane Surgery');
      const next = lastCard(await bot.send('new referral'));
      expect(inputValue(next, 'practice')).to.equal('Lordship Lane Surgery');

      // Nothing that identifies the person reached the log.
      const log = world.logLines.join('\n');
      for (const secret of ['Jane', 'Example', '9434765919', '943 476', 'SE5 8AU', '7946', 'allotment', '1950-03-14']) {
        expect(log).not.to.contain(secret);
      }
    });

    it('lists the referrer\'s own referrals with "my referrals", and nobody else\'s @safety', async () => {
      const summary = await walkTo(bot, 'summary');
      await bot.send(fill(summary, {}));
      const mine = lastCard(await bot.send('my referrals'));
      expectValidTeamsCard(mine);
      const text = cardText(mine);
      expect(text).to.contain('SP-2026-000001').and.contain('Safe and Independent Living').and.contain('New').and.contain('Not yet accepted');
      expect(text).to.contain('Last update today').and.not.contain('Jane');
      const theirs = cardText(lastCard(await bot.send('my referrals', GP)));
      expect(theirs).to.contain('You have not made any referrals').and.not.contain('SP-2026-000001');
    });

    it('rewrites the referrer\'s remembered details only when they changed', async () => {
      await bot.send(fill(await walkTo(bot, 'summary'), {}));
      const saves = sinon.spy(bot.signpost.store.referrers, 'save');
      await bot.send(fill(await walkTo(bot, 'summary'), {}));
      expect(saves.callCount).to.equal(0); // same person, same chat, same details
      await bot.send(fill(await walkTo(bot, 'summary', { referrer: { ...VALID.referrer, practice: 'Dulwich Medical Centre' } }), {}));
      expect(saves.callCount).to.equal(1);
      expect((await world.referrers.get(RECEPTIONIST.id))?.practice).to.equal('Dulwich Medical Centre');
      expect(await storedReferrals()).to.have.length(3);
    });

    it('stores one referral when Send is pressed twice', async () => {
      const summary = await walkTo(bot, 'summary');
      await bot.send(fill(summary, {}));
      const second = await bot.send(fill(summary, {}));
      expect(replyText(second)).to.match(/already been sent|nothing has changed/i);
      expect(await world.queue.list('sail')).to.have.length(1);
    });
  });

  describe('validation', () => {
    it('shows the referrer card again with errors and keeps what was typed', async () => {
      const card = lastCard(await bot.send('refer'));
      const again = lastCard(await bot.send(fill(card, { name: '  ', email: 'not-an-email', practice: 'Lordship Lane' })));
      const text = cardText(again);
      expect(text).to.contain('Enter your name').and.contain('Enter a valid email address');
      expect(inputValue(again, 'email')).to.equal('not-an-email');
      expect(inputValue(again, 'practice')).to.equal('Lordship Lane');
      expect(submitData(again).token).to.equal(submitData(card).token);
    });

    it('requires an answer to both consent questions and how consent was given @safety', async () => {
      const card = await walkTo(bot, 'consent');
      const again = lastCard(await bot.send(fill(card, { consentToReferral: 'maybe' })));
      expect(cardText(again)).to.contain('Choose yes or no').and.contain('Choose how consent was given');
    });

    it('requires the safety question @safety', async () => {
      const card = await walkTo(bot, 'safety');
      expect(cardText(lastCard(await bot.send(fill(card, {}))))).to.contain('Choose yes or no');
    });

    it('reports every bad field of the person at once, each beside its field', async () => {
      const card = await walkTo(bot, 'person');
      const bad = {
        ...VALID.person,
        givenName: '',
        dateOfBirth: '2030-01-01',
        nhsNumber: '943 476 5918',
        postcode: 'SE5',
        phone: '12',
        preferredContactMethod: 'email',
        email: '',
        borough: 'atlantis',
      };
      const again = lastCard(await bot.send(fill(card, bad)));
      const text = cardText(again);
      for (const message of [
        'Enter their first name',
        'The date of birth is in the future',
        'This is not a valid NHS number',
        'Enter a full UK postcode',
        'Enter a UK phone number',
        'Enter their email, as they prefer email',
        'Choose a borough',
      ]) {
        expect(text).to.contain(message);
      }
      expect(inputValue(again, 'nhsNumber')).to.equal('943 476 5918');
      expect(inputValue(again, 'preferredContactTimes')).to.equal('Weekday mornings');
    });

    it('needs a mobile number for text messages and a real date', async () => {
      const card = await walkTo(bot, 'person');
      const again = lastCard(await bot.send(fill(card, { ...VALID.person, preferredContactMethod: 'text', dateOfBirth: '1950-02-30' })));
      expect(cardText(again)).to.contain('Text messages need a mobile number').and.contain('That date does not exist');
    });

    it('checks the needs card', async () => {
      const card = await walkTo(bot, 'needs');
      const again = lastCard(await bot.send(fill(card, { ...VALID.needs, longTermConditions: '-2', whatMatters: '', referralRoute: 'carrier-pigeon' })));
      expect(cardText(again)).to.contain('Enter a whole number from 0 to 30').and.contain('Tell the service what matters').and.contain('Choose who is referring');
    });

    it('refuses a service that was not offered (a forged choice) @safety', async () => {
      const card = await walkTo(bot, 'matches');
      const again = lastCard(await bot.send(fill(card, { serviceId: 'gstt-high-intensity-users' })));
      expect(cardText(again)).to.contain('Choose one of the services listed');
      expect(await storedReferrals()).to.have.length(0);
    });

    it('refuses an NHS number of one digit repeated, saying why beside the field', async () => {
      const card = await walkTo(bot, 'person');
      const again = lastCard(await bot.send(fill(card, { ...VALID.person, nhsNumber: '000 000 0000' })));
      expect(cardText(again)).to.contain('NHS numbers never have all ten digits the same; check the number');
      expect(inputValue(again, 'nhsNumber')).to.equal('000 000 0000');
      expect(await storedReferrals()).to.have.length(0);
    });

    it('refuses object and array values where a card sends text, showing the card again', async () => {
      const card = await walkTo(bot, 'person');
      const forged = { ...VALID.person, givenName: { toString: 'x' }, phone: ['020 7946 0000'], interpreterNeeded: { valueOf: 'yes' } };
      const again = lastCard(await bot.send(fill(card, forged)));
      expectValidTeamsCard(again);
      expect(cardText(again)).to.contain('Enter their first name').and.contain('Enter a phone number').and.contain('Choose yes or no');
      // The forged values are not shown back; what was typed properly is.
      expect(inputValue(again, 'givenName')).to.equal('');
      expect(inputValue(again, 'familyName')).to.equal('Example');
      const next = lastCard(await bot.send(fill(again, VALID.person)));
      expect(cardText(next)).to.contain('What the person needs');
    });

    it('stores names and notes without control characters, and shows typed Markdown as text on the summary', async () => {
      const summary = await walkTo(bot, 'summary', {
        person: { ...VALID.person, givenName: '\u202EJa\u0000ne', carerInvolved: 'yes', carerDetails: '**Son** \u001B[Adam](https://evil.example)' },
        needs: { ...VALID.needs, whatMatters: 'Lunch club\r\n- [click](https://evil.example)\u2066' },
      });
      expectValidTeamsCard(summary);
      const text = cardText(summary);
      expect(text).to.contain('Jane Example');
      expect(text).not.to.contain('](').and.not.to.contain('://').and.not.to.contain('**Son**');
      expect(text).to.contain('\\*\\*Son\\*\\* \\[Adam\\]\\(https:/\u200B/evil.example)');
      expect(text).to.contain('Lunch club\n\\- \\[click\\]');

      await bot.send(fill(summary, {}));
      const [stored] = await storedReferrals();
      const referral = (await world.referrals.get(stored.referralId))!.referral;
      expect(referral.person!.givenName).to.equal('Jane');
      expect(referral.person!.carerDetails).to.equal('**Son** [Adam](https://evil.example)');
      expect(referral.whatMatters).to.equal('Lunch club\n- [click](https://evil.example)');
    });

    it('re-prompts when text is typed where a card is expected', async () => {
      const card = await walkTo(bot, 'person');
      const replies = await bot.send('her name is Jane');
      expect(replyText(replies)).to.contain('Please use the card above');
      const next = lastCard(await bot.send(fill(card, VALID.person)));
      expect(cardText(next)).to.contain('What the person needs');
    });

    it('ignores a click on the card of an earlier step @safety', async () => {
      const consent = await walkTo(bot, 'consent');
      const safety = lastCard(await bot.send(fill(consent, VALID.consent)));
      const replies = await bot.send(fill(consent, { ...VALID.consent, consentToReferral: 'no' }));
      expect(replyText(replies)).to.contain('earlier step');
      expect(cardText(lastCard(await bot.send(fill(safety, VALID.safety))))).to.contain('The person');
    });
  });

  describe('the form advances in place', () => {
    it('answers each click with the card that replaces the clicked one, and posts nothing', async () => {
      const referrer = lastCard(await bot.send('refer'));
      const updates = sinon.spy(bot.adapter, 'updateActivity');
      const replies = await bot.send(fill(referrer, VALID.referrer));
      // One reply: the click's answer. No new message, and no update of the old card.
      expect(replies).to.have.length(1);
      expect(cardText(lastCard(replies))).to.contain('How was consent given');
      expectValidTeamsCard(lastCard(replies));
      expect(updates.callCount).to.equal(0);
    });

    it('shows what to fix at the top of the same card, keeping what was typed', async () => {
      const card = await walkTo(bot, 'person');
      const again = lastCard(await bot.send(fill(card, { ...VALID.person, dateOfBirth: '2090-01-01', postcode: 'nowhere' })));
      expect(again.body[0]).to.include({ type: 'TextBlock', color: 'Attention' });
      expect(again.body[0].text).to.equal('Please check the 2 highlighted fields.');
      expect(inputValue(again, 'postcode')).to.equal('nowhere');
      expectValidTeamsCard(again);
    });

    it('answers a click on a card whose form has ended with a sentence, changing nothing @safety', async () => {
      const summary = await walkTo(bot, 'summary');
      await bot.send(fill(summary, {}));
      const replies = await bot.send({ ...submitData(summary), navigate: 'person' });
      expect(replies).to.have.length(1);
      expect(replies[0].attachments ?? []).to.have.length(0);
      expect(replyText(replies)).to.match(/nothing has changed/);
      expect(await storedReferrals()).to.have.length(1);
    });

    it('answers a forged click with no step or token with a sentence, and the form carries on', async () => {
      const card = await walkTo(bot, 'needs');
      expect(replyText(await bot.send({ bogus: true }))).to.contain('earlier step');
      expect(cardText(lastCard(await bot.send(fill(card, VALID.needs))))).to.contain('Matching services');
    });

    it('still understands a card clicked as a message (sent before forms advanced in place), and retires it', async () => {
      const referrer = lastCard(await bot.send('refer'));
      const updates = sinon.spy(bot.adapter, 'updateActivity');
      const replies = await bot.sendAsMessage(fill(referrer, VALID.referrer));
      expect(cardText(lastCard(replies))).to.contain('How was consent given');
      expect(updates.callCount).to.equal(1);
      expect(JSON.stringify(updates.firstCall.args[1])).to.contain('Step done');
    });
  });

  describe('cancel, consent refused and the safety stop', () => {
    for (const step of ['referrer', 'consent', 'safety', 'person', 'needs', 'matches', 'summary'] as const) {
      it(`cancels cleanly at the ${step} step, by text and by button`, async () => {
        await walkTo(bot, step);
        expect(replyText(await bot.send('cancel'))).to.contain('Referral cancelled');
        const card = await walkTo(bot, step);
        // The button replaces the form card with the news.
        expect(cardText(lastCard(await bot.send({ ...submitData(card), action: 'cancel' })))).to.contain('Referral cancelled');
        expect(replyText(await bot.send(fill(card, {})))).to.match(/nothing has changed/);
        expect(await storedReferrals()).to.have.length(0);
      });
    }

    it('ignores Cancel on the card of an earlier form, and the form in progress carries on with what was typed @safety', async () => {
      const earlier = await walkTo(bot, 'needs');
      expect(replyText(await bot.send('cancel'))).to.contain('Referral cancelled'); // typed: the earlier card keeps its buttons
      const person = await walkTo(bot, 'person');
      for (const stale of [{ ...submitData(earlier), action: 'cancel' }, { ...submitData(person), token: 'forged', action: 'cancel' }]) {
        const replies = await bot.send(stale);
        expect(replyText(replies)).to.contain('earlier step');
        expect(replies.flatMap((reply) => reply.attachments ?? [])).to.have.length(0);
        const legacy = await bot.sendAsMessage(stale);
        expect(replyText(legacy)).to.contain('earlier step');
      }
      // The steps before are kept: the summary shows the referrer's answers and the person's.
      const needs = lastCard(await bot.send(fill(person, VALID.person)));
      const matches = lastCard(await bot.send(fill(needs, VALID.needs)));
      const summary = lastCard(await bot.send(fill(matches, { serviceId: inputValue(matches, 'serviceId') })));
      expect(cardText(summary)).to.contain('Jane Example').and.contain(VALID.referrer.practice as string);
      // Cancel on the card in progress still cancels, clicked either way.
      expect(replyText(await bot.sendAsMessage({ ...submitData(summary), action: 'cancel' }))).to.contain('Referral cancelled');
      expect(await storedReferrals()).to.have.length(0);
    });

    it('ends kindly when the person does not consent, storing nothing about them @safety', async () => {
      const card = await walkTo(bot, 'consent');
      const end = lastCard(await bot.send(fill(card, { ...VALID.consent, consentToReferral: 'no' })));
      expectValidTeamsCard(end);
      expect(cardText(end)).to.contain('No referral made').and.contain('871711000000103');
      const events = await world.referrals.eventsWithoutReferral(new Date('2026-11-24T12:00:00Z'));
      expect(events.map((event) => event.action)).to.deep.equal(['referral.consent-not-given']);
      expect(replyText(await bot.send(fill(card, VALID.consent)))).to.match(/nothing has changed/);
    });

    it('stops for safety, shows what to do now and records only that it stopped @safety', async () => {
      const card = await walkTo(bot, 'safety');
      const stop = lastCard(await bot.send(fill(card, { immediateRisk: 'yes' })));
      expect(cardText(stop)).to.contain('Referral stopped for safety').and.contain('999').and.contain('111, option 2');
      const events = await world.referrals.eventsWithoutReferral(new Date('2026-11-24T12:00:00Z'));
      expect(events).to.have.length(1);
      expect(events[0]).to.deep.include({ action: 'referral.stopped-for-safety', detail: {} });
      expect(JSON.stringify(events[0])).not.to.match(/Jane|Example|SE5/);
      // Admins see how many referrals the safety check stopped this month.
      expect(await bot.signpost.adminStatus.overview()).to.contain('This month: 1 referral stopped at the safety check, 0 ended without consent.');
    });
  });

  describe('matching', () => {
    it('marks a near-miss for judgement, never preselects it, and records the choice @safety', async () => {
      const needs = { ...VALID.needs, sociallyIsolated: 'no', dischargeFrom: 'kings-college-hospital', referralRoute: 'hospital' };
      const person = { ...VALID.person, dateOfBirth: '1973-05-01' }; // 53: not yet "approaching 60"
      const matches = await walkTo(bot, 'matches', { needs, person });
      const text = cardText(matches);
      expect(text).to.contain('Near misses').and.contain('Home from Hospital (near miss: the service decides)');
      expect(text).to.contain('No service fits every criterion');
      expect(inputValue(matches, 'serviceId')).to.equal('');

      const summary = lastCard(await bot.send(fill(matches, { serviceId: 'red-cross-home-from-hospital' })));
      expect(cardText(summary)).to.contain('Near miss: the service decides');
      await bot.send(fill(summary, {}));
      const [entry] = await world.queue.list('red-cross-home-from-hospital');
      const stored = (await world.referrals.get(entry.referralId))!.referral;
      expect(stored.match.chosenWasNearMiss).to.equal(true);
    });

    it('refuses to send to a service that left the directory after matching, stores nothing, and shows the matches again @safety', async () => {
      const summary = await walkTo(bot, 'summary');
      // Through the bot's own repository, as its cache would expire after an import by another process.
      await bot.signpost.store.directory.importAll(southwarkDirectory().filter((service) => service.id !== 'sail'));
      const replies = await bot.send(fill(summary, {}));
      expect(replyText(replies)).to.contain('no longer matches');
      const matches = lastCard(replies);
      expect(cardText(matches)).to.contain('SAIL Care Navigation').and.not.contain('Safe and Independent Living (SAIL)');
      expect(await storedReferrals()).to.have.length(0);
    });

    it('offers the general route when nothing fits @safety', async () => {
      const needs = { ...VALID.needs, sociallyIsolated: 'no' };
      const person = { ...VALID.person, dateOfBirth: '2000-01-01', borough: 'other' };
      const matches = await walkTo(bot, 'matches', { needs, person });
      expect(cardText(matches)).to.contain('No service in the directory fits').and.contain('Primary Care Network');
    });

    it('goes back a step and edits from the summary, re-matching after a change to the person', async () => {
      const summary = await walkTo(bot, 'summary');
      const editButton = JSON.stringify(summary).includes('"navigate":"person"');
      expect(editButton).to.equal(true);
      const person = lastCard(await bot.send({ ...submitData(summary), navigate: 'person' }));
      expect(inputValue(person, 'givenName')).to.equal('Jane');
      const matches = lastCard(await bot.send(fill(person, { ...VALID.person, givenName: 'Janet' })));
      expect(cardText(matches)).to.contain('Matching services');
      const summary2 = lastCard(await bot.send(fill(matches, { serviceId: 'sail' })));
      expect(cardText(summary2)).to.contain('Janet Example');
      const back = lastCard(await bot.send({ ...submitData(summary2), navigate: 'back' }));
      expect(cardText(back)).to.contain('Matching services');
    });
  });

  describe('state', () => {
    it('shows the current card again when "refer" is said during a referral', async () => {
      const person = await walkTo(bot, 'person');
      await bot.send(fill(person, { ...VALID.person, givenName: '' }));
      const replies = await bot.send('refer');
      expect(replyText(replies)).to.contain('here is where you were');
      const again = lastCard(replies);
      expect(cardText(again)).to.contain('The person');
      expect(inputValue(again, 'familyName')).to.equal('Example');
      expect(cardText(lastCard(await bot.send(fill(again, VALID.person))))).to.contain('What the person needs');
    });

    it('resumes where it was after a restart (dialog state is in Table storage)', async () => {
      const person = await walkTo(bot, 'person');
      const restarted = new ReferralHarness(world);
      const needs = lastCard(await restarted.send(fill(person, VALID.person)));
      expect(cardText(needs)).to.contain('What the person needs');
    });

    // Two colleagues in one group chat each get the form in their own 1:1 chat: test/bot/messageExtension.test.ts.
  });

  it('tells a channel to refer from a chat', async () => {
    const channel = new ReferralHarness(world, { id: '19:x@thread.tacv2', conversationType: 'channel' });
    expect(replyText(await channel.send('refer'))).to.contain('Referrals are made in a chat with me');
  });
});
