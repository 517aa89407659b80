import { expect } from 'chai';
import sinon from 'sinon';
import { Template } from 'adaptivecards-templating';
import * as renderModule from '../../cards/render';
import { welcomeCard, CHAT_COMMANDS, CHANNEL_COMMANDS } from '../../cards/welcome';
import {
  REFERRAL_STEP_TEMPLATES,
  ReferralCardStep,
  consentDeclinedCard,
  inputIds,
  referralStepCard,
  safetyStopCard,
  submittedCard,
} from '../../cards/referralCards';
import { summarySections } from '../../dialogs/referral/summary';
import { serviceReferralCard } from '../../cards/serviceReferralCard';
import { caseState, permittedVerbs } from '../../domain/referral/lifecycle';
import { myReferralsCard } from '../../cards/myReferralsCard';
import { adaptiveCardProblems, cardText, expectValidTeamsCard } from '../support/adaptiveCards';
import { referralUpdateCard, referralUpdateEmail } from '../../cards/referralUpdateCard';
import { staffMessageCard } from '../../cards/staffMessageCard';
import { referralUpdate } from '../../domain/notifications/referralUpdate';
import { escalationAlert } from '../../domain/supervision/messages';
import { escapeCardText } from '../../domain/text';
import { FIXTURE_TIME, sampleReferral } from '../support/fixtures';
import { shownText } from './markdown';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CARD_TEMPLATES } from '../../cards/templates';

const matchData = {
  headline: 'One service fits.',
  eligible: [
    { serviceId: 'sail', name: 'SAIL', wait: 'Wait: not published', unverified: true, verifiedOn: '1 July 2019', reasons: ['Lives in Southwark', 'Over 50'] },
  ],
  nearMiss: [
    { serviceId: 'red-cross-home-from-hospital', name: 'Home from Hospital', wait: 'Wait: 0 weeks', unverified: false, verifiedOn: '1 November 2026', reasons: ['Age 54; requires 55 or over'] },
  ],
  fallback: null,
  choices: [
    { title: 'SAIL', value: 'sail' },
    { title: 'Home from Hospital (near miss)', value: 'red-cross-home-from-hospital' },
  ],
};

function sampleStepCard(step: ReferralCardStep, errors: Record<string, string> = {}) {
  return referralStepCard(step, {
    step: `referral.step.${step}`,
    token: 'token-1',
    values: {},
    errors,
    ...(step === 'matches' ? matchData : {}),
    ...(step === 'summary' ? { sections: summarySections({}, undefined) } : {}),
  });
}

describe('Adaptive Cards', () => {
  it('the welcome card is a valid version 1.5 card listing every chat command', () => {
    const card = welcomeCard({ firstName: 'Amira' });
    expectValidTeamsCard(card);
    for (const { command } of CHAT_COMMANDS) expect(cardText(card)).to.contain(command);
    expect(cardText(card)).to.contain('Hello Amira');
    // The message extension's commands, by the names the manifest gives them.
    expect(cardText(card)).to.contain('Find a service').and.contain('Refer to social prescribing');
  });

  it("the chat welcome tells referrers they can ask the link worker a question, and admins the intake command; the channel's does not", () => {
    expect(cardText(welcomeCard({}))).to.contain('Ask the link worker a question').and.contain('intake [service id] email [address]');
    expect(cardText(welcomeCard({ inChannel: true }))).not.to.contain('Ask the link worker a question').and.not.contain('intake [service id]');
  });

  it('the channel welcome lists the channel commands', () => {
    const card = welcomeCard({ inChannel: true });
    expectValidTeamsCard(card);
    for (const { command } of CHANNEL_COMMANDS) expect(cardText(card)).to.contain(command);
  });

  for (const step of Object.keys(REFERRAL_STEP_TEMPLATES) as ReferralCardStep[]) {
    it(`the "${step}" step card parses without warnings, with and without field errors`, () => {
      expectValidTeamsCard(sampleStepCard(step));
      const errors = Object.fromEntries(inputIds(REFERRAL_STEP_TEMPLATES[step]).map((id) => [id, `Problem with ${id}`]));
      const withErrors = sampleStepCard(step, errors);
      expectValidTeamsCard(withErrors);
      for (const message of Object.values(errors)) expect(cardText(withErrors)).to.contain(message);
    });
  }

  it('keeps what the user typed when a step is shown again', () => {
    const card = referralStepCard('person', {
      step: 'referral.step.person',
      token: 't',
      values: { givenName: 'Jo', interpreterNeeded: true, nhsNumber: '123' },
      errors: { nhsNumber: 'Not valid' },
    });
    const inputs = JSON.stringify(card);
    expect(inputs).to.contain('"value":"Jo"');
    expect(inputs).to.contain('"value":"123"');
    expect(inputs).to.match(/"id":"interpreterNeeded"[^}]*"value":"yes"/);
  });

  it('the end-of-dialog cards are valid and carry what to record or do', () => {
    const stop = safetyStopCard();
    expectValidTeamsCard(stop);
    expect(cardText(stop)).to.contain('999').and.contain('111');

    const declined = consentDeclinedCard(true);
    expectValidTeamsCard(declined);
    expect(cardText(declined)).to.contain('871711000000103');

    const submitted = submittedCard({
      reference: 'SP-2026-000123',
      serviceName: 'SAIL',
      wait: 'not published',
      nextSteps: ['A link worker will contact the person.'],
    });
    expectValidTeamsCard(submitted);
    expect(cardText(submitted)).to.contain('SP-2026-000123').and.contain('871731000000106');
  });

  it('reports an unknown element, so the checks above can fail', () => {
    expect(adaptiveCardProblems({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'Carousel' }] })).to.have.length.greaterThan(0);
    expect(adaptiveCardProblems({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: '${missing}' }] })).to.have.length(1);
  });
});

describe('The referral card in a service channel', () => {
  const base = {
    id: '0b6f6c1e-8d4a-4b7e-9c15-2a6e0f9d7b31',
    reference: 'SP-2026-000123',
    status: 'submitted' as const,
    version: 1,
    serviceId: 'sail',
    facts: { age: 76, borough: 'southwark', sociallyIsolated: true, longTermConditions: 2 },
    whatMatters: 'Company at lunchtime',
    match: { eligibleServiceIds: ['sail', 'sail-care-navigation'], nearMissServiceIds: [], chosenServiceId: 'sail', chosenWasNearMiss: true, reasons: ['Meets: over 50'] },
    person: {
      givenName: 'Jane', familyName: 'Example', dateOfBirth: '1950-03-14', nhsNumber: '9434765919', postcode: 'SE5 8AU', borough: 'southwark',
      phone: '020 7946 0000', preferredContactMethod: 'phone' as const, language: 'Polish', interpreterNeeded: true, carerInvolved: false,
    },
    consent: { consentToReferral: true as const, consentToShare: true as const, method: 'verbal' as const, recordedAt: '2026-11-24T12:00:00Z', recordedBy: { id: 'r', name: 'Amira Patel' } },
    referrer: { teamsUserId: 'r', name: 'Amira Patel', email: 'a@p.example', practice: 'Lordship Lane Surgery' },
    referrerConversation: { serviceUrl: 'http://x.example/', channelId: 'msteams', conversation: { id: 'a' } },
    createdAt: '2026-11-24T12:00:00Z',
    updatedAt: '2026-11-24T12:00:00Z',
  };
  const context = {
    serviceName: 'SAIL',
    members: [{ id: 'k', name: 'Kwame Mensah' }],
    redirectServices: [{ id: 'sail-care-navigation', name: 'SAIL Care Navigation' }],
    history: ['24 Nov, 12:00: Referred by Amira Patel'],
  };

  for (const status of ['submitted', 'accepted', 'contacted', 'connected-to-activity', 'declined', 'closed'] as const) {
    it(`is a valid card when ${status}, with no direct identifiers @safety`, () => {
      const card = serviceReferralCard({ ...base, status, owner: status === 'submitted' ? undefined : { id: 'k', name: 'Kwame Mensah' } }, context);
      expectValidTeamsCard(card);
      const text = cardText(card);
      expect(text).to.contain('SP-2026-000123').and.contain('SE5, Southwark').and.contain('Near miss').and.contain('interpreter needed');
      for (const identifier of ['Jane', 'Example', '9434765919', '943 476', '8AU', '7946', '1950-03-14']) expect(text).not.to.contain(identifier);
    });
  }

  it('offers Accept only while new, and the owner tools once accepted, to the owner only', () => {
    expect(cardText(serviceReferralCard(base, context))).to.contain('Accept').and.not.contain('Save update');
    const acceptedReferral = { ...base, status: 'accepted' as const, owner: { id: 'k', name: 'Kwame Mensah' } };
    const ownerVerbs = permittedVerbs(caseState(acceptedReferral), { id: 'k', isLinkWorker: true });
    const owners = cardText(serviceReferralCard(acceptedReferral, { ...context, viewer: { id: 'k', verbs: ownerVerbs, isLinkWorker: true } }));
    expect(owners).to.contain('Save update').and.contain('Save SWEMWBS').and.contain('Close referral').and.contain('You own this referral');
    const shared = cardText(serviceReferralCard(acceptedReferral, context));
    expect(shared).not.to.contain('Save update').and.not.to.contain('Close referral').and.not.to.contain('Decline referral');
    expect(shared).to.contain('Owned by Kwame Mensah: only they record its progress and outcomes, or close it.');
  });

  it('shows contact details only when asked, with a notice', () => {
    const card = serviceReferralCard(base, { ...context, showContactDetails: true, notice: 'Shown to you' });
    expectValidTeamsCard(card);
    expect(cardText(card)).to.contain('Jane Example').and.contain('943 476 5919').and.contain('Shown to you');
  });
});

describe('Card refresh (user-specific views)', () => {
  const referral = sampleReferral({ status: 'accepted', owner: { id: '29:k', name: 'Kwame Mensah' }, version: 3 });
  const alertOf = (kind: 'escalation-alert' | 'reminder') => ({
    ...escalationAlert(referral, { id: '0b6f6c1e-8d4a-4b7e-9c15-2a6e0f9d7b31', reason: 'risk', note: 'n', raisedBy: { id: '29:k', name: 'Kwame' }, raisedAt: FIXTURE_TIME }, 'SAIL', FIXTURE_TIME, 'Europe/London'),
    kind,
  });

  it('lists at most 60 people for Teams to refresh automatically', () => {
    const members = Array.from({ length: 75 }, (_, index) => ({ id: `29:m${index}`, name: `Member ${index}` }));
    const card = serviceReferralCard(referral, { serviceName: 'SAIL', members, redirectServices: [], history: [], refreshUserIds: members.map((member) => member.id), manualRefresh: true });
    expectValidTeamsCard(card);
    expect((card.refresh as { userIds: string[] }).userIds).to.have.length(60);
    expect(cardText(card)).to.contain('Show my actions');
  });

  it('refreshes escalation alerts for their reader, and no other staff message', () => {
    const alert = staffMessageCard(alertOf('escalation-alert'), { refreshUserIds: ['29:helen'] });
    expectValidTeamsCard(alert);
    expect(alert.refresh).to.deep.include({ userIds: ['29:helen'] });
    expect(staffMessageCard(alertOf('reminder'), { refreshUserIds: ['29:helen'] })).not.to.have.property('refresh');
    expect(staffMessageCard(alertOf('escalation-alert'))).not.to.have.property('refresh');
  });

  it("refreshes a referrer's update in Teams, never the copy in an email", () => {
    const update = referralUpdate(referral, { verb: 'accept', actorName: 'Kwame Mensah' }, new Map([['sail', 'SAIL']]), null);
    const card = referralUpdateCard(update, { refreshUserIds: ['29:r'], now: 'Now: closed at SAIL.' });
    expectValidTeamsCard(card);
    expect(card.refresh).to.deep.include({ userIds: ['29:r'] });
    expect(cardText(card)).to.contain('Now: closed at SAIL.');
    // Outlook would send an email card's refresh to the actionable-message service, not to Signpost.
    expect(referralUpdateEmail(update, 'originator-id').html).not.to.contain('"refresh"');
  });
});

describe('The "my referrals" card', () => {
  it('is valid empty and with referrals, and counts days since the last update', () => {
    expectValidTeamsCard(myReferralsCard([], new Map(), new Date()));
    const referral = { reference: 'SP-2026-000007', serviceId: 'sail', status: 'accepted', owner: { id: 'k', name: 'Kwame Mensah' }, updatedAt: '2026-11-20T12:00:00Z' };
    const card = myReferralsCard([referral as never], new Map([['sail', 'SAIL']]), new Date('2026-11-24T12:00:00Z'));
    expectValidTeamsCard(card);
    expect(cardText(card)).to.contain('SP-2026-000007').and.contain('Accepted').and.contain('Owner: Kwame Mensah').and.contain('4 days ago');
  });
});

describe('Typed text on cards is shown as text', () => {
  const LINK = '[click](https://evil.example)';
  const hostile = (what: string) => `${what} ${LINK} **bold** {{DATE(2017-02-14T06:08:39Z, SHORT)}}`;

  /** Text that renders Markdown: TextBlocks and FactSet facts (inputs and choice titles do not). */
  function renderedText(card: unknown): string[] {
    const found: string[] = [];
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(visit);
      else if (node && typeof node === 'object') {
        const element = node as Record<string, any>;
        if (element.type === 'TextBlock' && typeof element.text === 'string') found.push(element.text);
        if (element.type === 'FactSet') for (const fact of element.facts ?? []) found.push(fact.title, fact.value);
        Object.values(element).forEach(visit);
      }
    };
    visit(card);
    return found;
  }

  /**
   * Every hostile value shows escaped and reads as typed, none of its markup is live anywhere
   * it renders, and the card is valid. (Our templates' own bold text is meant.)
   */
  function expectShownAsText(card: Record<string, unknown>, values: string[]): void {
    expectValidTeamsCard(card);
    const texts = renderedText(card);
    for (const text of texts.filter((text) => text.includes('evil'))) {
      expect(text).not.to.contain('](').and.not.to.contain('{{').and.not.to.contain('://').and.not.match(/(^|[^\\])\*\*bold/);
    }
    const all = texts.join('\n');
    for (const value of values) {
      expect(all, value).to.contain(escapeCardText(value));
      expect(texts.map(shownText).join('\n'), value).to.contain(value);
    }
  }

  const referral = sampleReferral({
    status: 'accepted',
    whatMatters: hostile('what matters'),
    referrer: { ...sampleReferral().referrer, name: hostile('referrer'), practice: hostile('practice') },
    owner: { id: '29:k', name: hostile('owner') },
    person: {
      ...sampleReferral().person,
      givenName: hostile('given'),
      preferredContactTimes: hostile('times'),
      language: hostile('language'),
      carerInvolved: true,
      carerDetails: hostile('carer'),
    },
    goals: [{ text: hostile('goal'), achieved: true }],
    escalations: [
      {
        id: '7d1f3c1e-8d4a-4b7e-9c15-2a6e0f9d7b31',
        reason: 'clinical-advice',
        note: hostile('escalation note'),
        raisedBy: { id: '29:k', name: hostile('raised by') },
        raisedAt: FIXTURE_TIME,
        resolution: { kind: 'advice-given', by: { id: '29:s', name: hostile('supervisor') }, at: FIXTURE_TIME, note: hostile('advice') },
      },
    ],
  });
  const channelContext = {
    serviceName: 'SAIL',
    members: [{ id: 'k', name: 'Kwame Mensah' }],
    redirectServices: [],
    history: [`24 Nov, 12:00: Referred by ${hostile('history')}`],
    notice: hostile('notice'),
  };

  it('on the link-worker channel card: what matters, names, practice, contact, goals, escalations, history, notice', () => {
    // The owner's view: it has the goal inputs.
    const viewer = { id: referral.owner!.id, verbs: permittedVerbs(caseState(referral), { id: referral.owner!.id, isLinkWorker: true }), isLinkWorker: true };
    const card = serviceReferralCard(referral, { ...channelContext, viewer });
    expectShownAsText(card, [
      referral.whatMatters,
      `${referral.referrer.name}, ${referral.referrer.practice}`,
      referral.owner!.name,
      referral.person.preferredContactTimes!,
      referral.person.language,
      `${referral.goals![0].text} (achieved)`,
      hostile('raised by'),
      hostile('supervisor'),
      hostile('advice'),
      hostile('history'),
      hostile('notice'),
    ]);
    // The goal inputs get the goal as typed, to be edited and saved back unchanged.
    expect(JSON.stringify(card)).to.contain(JSON.stringify(hostile('goal')));
    const withContact = serviceReferralCard(referral, { ...channelContext, showContactDetails: true });
    expectShownAsText(withContact, [`${hostile('given')} ${referral.person.familyName}`, hostile('carer')]);
  });

  it("on the referrer's update card: the service's note, the link worker's name and the activity", () => {
    const names = new Map([['sail', 'SAIL']]);
    const closed = { ...referral, status: 'closed' as const, outcome: { kind: 'closed' as const, reason: 'completed', note: hostile('close note'), at: FIXTURE_TIME } };
    expectShownAsText(referralUpdateCard(referralUpdate(closed, { verb: 'close', actorName: 'Kwame' }, names, null)), [hostile('close note')]);
    const declined = { ...referral, status: 'declined' as const, outcome: { kind: 'declined' as const, reason: 'not-eligible', note: hostile('decline note'), at: FIXTURE_TIME } };
    expectShownAsText(referralUpdateCard(referralUpdate(declined, { verb: 'decline', actorName: 'Kwame' }, names, null)), [hostile('decline note')]);
    const connected = { ...referral, status: 'connected-to-activity' as const };
    const update = referralUpdate(connected, { verb: 'update', actorName: hostile('actor'), activity: hostile('activity') }, names, null);
    expectShownAsText(referralUpdateCard(update), [hostile('actor'), hostile('activity')]);
    // The email's plain-text part is not Markdown: it keeps the words exactly. What the link
    // worker typed (the activity) stays in Teams: the email says where to read it.
    const email = referralUpdateEmail(update, 'originator').text;
    expect(email).to.contain(hostile('actor'));
    expect(email).not.to.contain(hostile('activity'));
    expect(email).to.contain('shown only in Teams');
  });

  it('on staff message cards: alert lines, the private note, sections, answers and notices', () => {
    const alert = escalationAlert(referral, referral.escalations![0], 'SAIL', FIXTURE_TIME, 'Europe/London');
    const card = staffMessageCard(
      { ...alert, sections: [{ title: hostile('section'), lines: [hostile('digest line')] }] },
      { answer: hostile('answer'), notice: hostile('staff notice') },
    );
    expectShownAsText(card, [hostile('raised by'), hostile('owner'), hostile('escalation note'), hostile('section'), hostile('digest line'), hostile('answer'), hostile('staff notice')]);
  });

  it('on the summary card, "my referrals" and the welcome card', () => {
    const sections = summarySections(
      {
        referrer: { name: hostile('referrer'), email: 'a@p.example', practice: hostile('practice') },
        needs: { referralRoute: 'gp', whatMatters: hostile('what matters') },
      } as never,
      'SAIL',
    );
    const summary = referralStepCard('summary', { step: 'referral.step.summary', token: 't', values: {}, errors: {}, sections });
    expectShownAsText(summary, [hostile('referrer'), hostile('practice'), hostile('what matters')]);

    const mine = myReferralsCard([{ ...referral, owner: { id: 'k', name: hostile('owner') } }], new Map([['sail', 'SAIL']]), new Date(FIXTURE_TIME));
    expectShownAsText(mine, [`Owner: ${hostile('owner')}`]);

    expectShownAsText(welcomeCard({ firstName: '[Amira](https://evil.example)' }), ['Hello [Amira](https://evil.example)']);
  });

  it('shows a forged object value on a step card as empty rather than failing', () => {
    const card = referralStepCard('person', {
      step: 'referral.step.person',
      token: 't',
      values: { givenName: { toString: 'x' }, familyName: Object.create(null), language: ['English'], interpreterNeeded: true },
      errors: { givenName: 'Enter their first name' },
    });
    expectValidTeamsCard(card);
    expect(JSON.stringify(card)).to.match(/"id":"givenName"[^}]*"value":""/);
    expect(JSON.stringify(card)).to.match(/"id":"interpreterNeeded"[^}]*"value":"yes"/);
  });
});

describe('Prepared card templates', () => {
  it('render exactly what a freshly parsed template renders, for every status and every render', () => {
    const spy = sinon.spy(renderModule, 'renderCard');
    try {
      const referral = sampleReferral();
      const context = { serviceName: 'SAIL', members: [{ id: 'k', name: 'Kwame Mensah' }], redirectServices: [{ id: 'sail-care-navigation', name: 'SAIL CN' }], history: ['24 Nov, 12:00: Referred'] };
      for (const status of ['submitted', 'accepted', 'contacted', 'connected-to-activity', 'declined', 'closed'] as const) {
        for (const showContactDetails of [false, true]) {
          const owner = status === 'submitted' ? undefined : { id: 'k', name: 'Kwame Mensah' };
          serviceReferralCard({ ...referral, status, owner }, { ...context, notice: `Now ${status}`, showContactDetails });
        }
      }
      staffMessageCard(escalationAlert(referral, referral.escalations?.[0] ?? { id: '0b6f6c1e-8d4a-4b7e-9c15-2a6e0f9d7b31', reason: 'risk', note: 'n', raisedBy: { id: 'k', name: 'Kwame' }, raisedAt: FIXTURE_TIME }, 'SAIL', FIXTURE_TIME, 'Europe/London'));
      welcomeCard({ firstName: 'Amira', inChannel: false });
      expect(spy.callCount).to.be.greaterThan(12);
      for (const call of spy.getCalls()) {
        const [template, data] = call.args;
        expect(call.returnValue).to.deep.equal(new Template(template).expand({ $root: data }));
      }
    } finally {
      spy.restore();
    }
  });
});

describe('Card templates parsed when Signpost starts', () => {
  it('lists every template file under cards/, as the very objects the cards render', () => {
    const cardsDir = path.join(__dirname, '..', '..', '..', 'cards');
    const files = readdirSync(cardsDir, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.json'))
      .map((file) => file.split(path.sep).join('/'))
      .sort();
    expect(Object.keys(CARD_TEMPLATES).sort()).to.deep.equal(files);
    for (const file of files) expect(CARD_TEMPLATES[file], file).to.deep.equal(JSON.parse(readFileSync(path.join(cardsDir, file), 'utf8')));
    // The same objects, so what was parsed at start is what a render finds.
    expect(CARD_TEMPLATES['referral/referrer.json']).to.equal(REFERRAL_STEP_TEMPLATES.referrer);
  });

  it('are not parsed again by a render once prepared', () => {
    // Template.prepare is the parse a Template's constructor does (private in its typings).
    const parse = sinon.spy(Template as unknown as { prepare(node: unknown): unknown }, 'prepare');
    try {
      renderModule.prepareTemplates(Object.values(CARD_TEMPLATES));
      const before = parse.callCount;
      welcomeCard({ firstName: 'Amira', inChannel: false });
      referralStepCard('referrer', { step: 'referrer', token: 't', values: {}, errors: {} });
      expect(parse.callCount).to.equal(before);
      // A template never seen is parsed once, on its first use.
      const unseen = { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: '${name}' }] };
      renderModule.prepareTemplates([unseen]);
      expect(parse.callCount).to.be.greaterThan(before);
      const after = parse.callCount;
      expect(renderModule.renderCard(unseen, { name: 'Amira' })).to.deep.include({ body: [{ type: 'TextBlock', text: 'Amira' }] });
      expect(parse.callCount).to.equal(after);
    } finally {
      parse.restore();
    }
  });
});
