import { expect } from 'chai';
import type { z } from 'zod';
import { buildReferralSteps, ReferralStepContext } from '../../dialogs/referral/steps';
import { inputIds, REFERRAL_STEP_TEMPLATES, ReferralCardStep } from '../../cards/referralCards';
import { consentInput, needsInput, parsePerson, parseStep, referrerInput, safetyInput, serviceChoiceInput } from '../../dialogs/referral/stepInputs';
import { NHS_NUMBER_ALL_SAME_DIGIT } from '../../domain/referral/nhsNumber';
import { FIXED_NOW, VALID } from '../support/referralHarness';

const context: ReferralStepContext = {
  draft: {} as ReferralStepContext['draft'],
  now: FIXED_NOW.toISOString(),
  matches: {
    urgent: false,
    headline: 'One service fits.',
    eligible: [{ serviceId: 'sail', name: 'SAIL', wait: 'Wait: about 6 weeks', unverified: false, verifiedOn: '1 July 2019', reasons: [] }],
    nearMiss: [],
    fallback: null,
    choices: [{ title: 'SAIL', value: 'sail' }],
  },
};

/** A valid submission of each step's card, as Teams sends it (strings only). */
const VALID_SUBMISSIONS: Record<Exclude<ReferralCardStep, 'summary'>, Record<string, unknown>> = {
  ...VALID,
  matches: { serviceId: 'sail' },
};

/** Values a forged submission can hold where a card sends a string. */
const NOT_STRINGS: Array<[string, unknown]> = [
  ['an object with a toString string', { toString: 'x' }],
  ['an object with a toString function', { toString: () => 'yes' }],
  ['an array', ['yes']],
  ['an object without a prototype', Object.create(null)],
  ['a nested object', { value: { $gt: '' } }],
];

/** zod's own wording, which means a field lacks a message of its own. */
const GENERIC = /Invalid input|Expected|Required|received/;

describe('Referral card inputs (pure)', () => {
  const steps = buildReferralSteps();

  for (const [step, valid] of Object.entries(VALID_SUBMISSIONS) as Array<[Exclude<ReferralCardStep, 'summary'>, Record<string, unknown>]>) {
    it(`the valid "${step}" submission parses`, () => {
      expect(steps[step].parse(valid, context)).to.deep.include({ ok: true });
    });

    for (const id of inputIds(REFERRAL_STEP_TEMPLATES[step])) {
      it(`"${step}" refuses a non-string ${id} with the field's own message, never throwing`, () => {
        for (const [what, value] of NOT_STRINGS) {
          const result = steps[step].parse({ ...valid, [id]: value }, context);
          expect(result.ok, `${id} as ${what}`).to.equal(false);
          if (result.ok) continue;
          expect(result.errors[id], `${id} as ${what}`).to.be.a('string').and.not.match(GENERIC);
        }
      });
    }
  }

  it('every schema refuses objects in every field it declares, card or not', () => {
    const schemas: Array<[z.AnyZodObject, Record<string, unknown>]> = [
      [referrerInput, VALID.referrer],
      [consentInput, VALID.consent],
      [safetyInput, VALID.safety],
      [needsInput, VALID.needs],
      [serviceChoiceInput(['sail']), { serviceId: 'sail' }],
    ];
    for (const [schema, valid] of schemas) {
      for (const field of Object.keys(schema.shape)) {
        const result = parseStep(schema, { ...valid, [field]: { toString: 'x' } });
        expect(result.ok, field).to.equal(false);
        if (!result.ok) expect(result.errors[field], field).to.be.a('string').and.not.match(GENERIC);
      }
    }
  });

  it('refuses an NHS number of one digit repeated, beside the field', () => {
    for (const nhsNumber of ['0000000000', '000 000 0000', '9999999999']) {
      const result = parsePerson({ ...VALID.person, nhsNumber }, FIXED_NOW);
      expect(result).to.deep.equal({ ok: false, errors: { nhsNumber: NHS_NUMBER_ALL_SAME_DIGIT } });
    }
  });

  it('cleans control characters and bidi overrides out of names and notes', () => {
    const person = parsePerson(
      { ...VALID.person, givenName: 'Ja\u0000ne\u202E', familyName: '\u001B[2JExample', carerDetails: '\u2066Son\u2069, Adam\u0085' },
      FIXED_NOW,
    );
    expect(person.ok).to.equal(true);
    if (person.ok) expect(person.value).to.include({ givenName: 'Jane', familyName: '[2JExample', carerDetails: 'Son, Adam' });

    const needs = parseStep(needsInput, { ...VALID.needs, whatMatters: 'Company\u0007 at lunch\r\nand the allotment\u202D' });
    expect(needs.ok).to.equal(true);
    if (needs.ok) expect(needs.value.whatMatters).to.equal('Company at lunch\nand the allotment');

    const referrer = parseStep(referrerInput, { ...VALID.referrer, name: '\u0000', practice: 'Lordship\u0000 Lane', role: '\u202E' });
    expect(referrer).to.deep.equal({ ok: false, errors: { name: 'Enter your name' } });
    const cleaned = parseStep(referrerInput, { ...VALID.referrer, practice: 'Lordship\u0000 Lane', role: '\u202E' });
    expect(cleaned).to.deep.include({ ok: true });
    if (cleaned.ok) expect(cleaned.value).to.include({ practice: 'Lordship Lane', role: undefined });
  });
});
