import { expect } from 'chai';
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
import { myReferralsCard } from '../../cards/myReferralsCard';
import { adaptiveCardProblems, cardText, expectValidTeamsCard } from '../support/adaptiveCards';

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
    it(`is a valid card when ${status}, with no direct identifiers`, () => {
      const card = serviceReferralCard({ ...base, status, owner: status === 'submitted' ? undefined : { id: 'k', name: 'Kwame Mensah' } }, context);
      expectValidTeamsCard(card);
      const text = cardText(card);
      expect(text).to.contain('SP-2026-000123').and.contain('SE5, Southwark').and.contain('Near miss').and.contain('interpreter needed');
      for (const identifier of ['Jane', 'Example', '9434765919', '943 476', '8AU', '7946', '1950-03-14']) expect(text).not.to.contain(identifier);
    });
  }

  it('offers Accept only while new, and the owner tools once accepted', () => {
    expect(cardText(serviceReferralCard(base, context))).to.contain('Accept').and.not.contain('Save update');
    const accepted = cardText(serviceReferralCard({ ...base, status: 'accepted', owner: { id: 'k', name: 'Kwame Mensah' } }, context));
    expect(accepted).to.contain('Save update').and.contain('Save SWEMWBS').and.contain('Close referral');
  });

  it('shows contact details only when asked, with a notice', () => {
    const card = serviceReferralCard(base, { ...context, showContactDetails: true, notice: 'Shown to you' });
    expectValidTeamsCard(card);
    expect(cardText(card)).to.contain('Jane Example').and.contain('943 476 5919').and.contain('Shown to you');
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
