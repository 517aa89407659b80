import { expect } from 'chai';
import {
  formatNhsNumber,
  isValidNhsNumber,
  NHS_NUMBER_ALL_SAME_DIGIT,
  NHS_NUMBER_CHECK_DIGIT_FAILS,
  NHS_NUMBER_NOT_TEN_DIGITS,
  nhsCheckDigit,
  nhsNumberProblem,
  normaliseNhsNumber,
} from '../../domain/referral/nhsNumber';
import { isValidPostcode, normalisePostcode, postcodeDistrict } from '../../domain/referral/postcode';
import { formatReference, parseReference } from '../../domain/referral/reference';
import { SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING, SNOMED_SOCIAL_PRESCRIBING_DECLINED } from '../../domain/referral/snomed';
import {
  ageOn,
  auditEventSchema,
  initials,
  parseReferral,
  personSchema,
  REFERRAL_STATUSES,
  referralSchema,
} from '../../domain/referral/referral';
import { sampleReferral } from '../support/fixtures';

/** Verhoeff check (SNOMED CT identifiers end in one), written out here independently of the code under test. */
function verhoeffValid(digits: string): boolean {
  const d = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
  ];
  const p = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
  ];
  let check = 0;
  [...digits].reverse().forEach((digit, index) => (check = d[check][p[index % 8][Number(digit)]]));
  return check === 0;
}

describe('Referral rules (pure)', () => {
  describe('NHS number (Modulus 11)', () => {
    for (const valid of ['9434765919', '943 476 5919', '943-476-5919', ' 943 476 5919 ', '4010232137']) {
      it(`accepts "${valid}"`, () => expect(isValidNhsNumber(valid)).to.equal(true));
    }
    for (const invalid of ['9434765918', '9434765910', '943476591', '94347659190', '943 476 591X', 'abcdefghij', '', '1000000010', '943.476.5919']) {
      it(`rejects "${invalid}"`, () => expect(isValidNhsNumber(invalid)).to.equal(false));
    }
    it('computes the check digit from weights 10 down to 2', () => {
      // 9x10 + 4x9 + 3x8 + 4x7 + 7x6 + 6x5 + 5x4 + 9x3 + 1x2 = 299; 299 mod 11 = 2; 11 - 2 = 9.
      expect(nhsCheckDigit('943476591')).to.equal(9);
      // 4x10 + 0 + 1x8 + 0 + 2x6 + 3x5 + 2x4 + 1x3 + 3x2 = 92; 92 mod 11 = 4; 11 - 4 = 7.
      expect(nhsCheckDigit('401023213')).to.equal(7);
    });
    it('has no valid check digit when 11 minus the remainder is 10', () => {
      // 100000001: 1x10 + 1x2 = 12, remainder 1, 11 - 1 = 10: no number starting so is valid.
      expect(nhsCheckDigit('100000001')).to.equal(null);
      for (let digit = 0; digit <= 9; digit += 1) expect(isValidNhsNumber(`100000001${digit}`)).to.equal(false);
    });
    it('maps a result of 11 to check digit 0', () => {
      // 000000000 sums to 0, remainder 0, and 11 - 0 = 11, which becomes 0.
      expect(nhsCheckDigit('000000000')).to.equal(0);
      expect(isValidNhsNumber('0000000000')).to.equal(true);
      expect(isValidNhsNumber('0000000001')).to.equal(false);
    });
    it('refuses a digit repeated ten times, which always passes Modulus 11, with the reason', () => {
      for (let digit = 0; digit <= 9; digit += 1) {
        const repeated = String(digit).repeat(10);
        // 54 (the sum of the weights) is -1 modulo 11, so the check digit is the digit itself.
        expect(isValidNhsNumber(repeated), repeated).to.equal(true);
        expect(nhsNumberProblem(repeated), repeated).to.equal(NHS_NUMBER_ALL_SAME_DIGIT);
        expect(nhsNumberProblem(`${repeated.slice(0, 3)} ${repeated.slice(3, 6)} ${repeated.slice(6)}`)).to.equal(NHS_NUMBER_ALL_SAME_DIGIT);
      }
      expect(NHS_NUMBER_ALL_SAME_DIGIT).to.contain('never have all ten digits the same');
    });
    it('says why any other number is refused, and nothing for a good one', () => {
      expect(nhsNumberProblem('943 476 5919')).to.equal(null);
      expect(nhsNumberProblem('4010232137')).to.equal(null);
      expect(nhsNumberProblem('9434765918')).to.equal(NHS_NUMBER_CHECK_DIGIT_FAILS);
      expect(nhsNumberProblem('943476591')).to.equal(NHS_NUMBER_NOT_TEN_DIGITS);
      expect(nhsNumberProblem('abcdefghij')).to.equal(NHS_NUMBER_NOT_TEN_DIGITS);
    });
    it('normalises and formats', () => {
      expect(normaliseNhsNumber(' 943 476 5919 ')).to.equal('9434765919');
      expect(normaliseNhsNumber('943-476-5919')).to.equal('9434765919');
      expect(normaliseNhsNumber('943 476 591')).to.equal(null);
      expect(formatNhsNumber('9434765919')).to.equal('943 476 5919');
    });
  });

  describe('UK postcodes', () => {
    const cases: Array<[string, string | null]> = [
      ['se5 8au', 'SE5 8AU'],
      ['SE58AU', 'SE5 8AU'],
      ['  se1   7eh ', 'SE1 7EH'],
      ['EC1A 1BB', 'EC1A 1BB'], // AA9A
      ['W1A 0AX', 'W1A 0AX'], // A9A
      ['M1 1AE', 'M1 1AE'], // A9
      ['B33 8TH', 'B33 8TH'], // A99
      ['CR2 6XH', 'CR2 6XH'], // AA9
      ['DN55 1PT', 'DN55 1PT'], // AA99
      ['SE1P 5XX', 'SE1P 5XX'],
      ['N1C 4AG', 'N1C 4AG'],
      ['gir0aa', 'GIR 0AA'],
      ['GIR 0AA', 'GIR 0AA'],
      ['SE5', null], // a district is not a postcode
      ['SE5 8CU', null], // C is never used in the inward code
      ['SE5 8AV', null], // nor V
      ['QE5 8AU', null], // Q never first
      ['XE5 8AU', null], // X never first
      ['SZ5 8AU', null], // Z never second
      ['W1I 0AX', null], // I never third in A9A
      ['EC1Z 1BB', null], // Z never fourth in AA9A
      ['SE5 8A', null],
      ['SE5 8AUX', null],
      ['SE5-8AU', null],
      ['S E5 8AU', null],
      ['12345', null],
      ['', null],
    ];
    for (const [input, expected] of cases) {
      it(`"${input}" -> ${expected}`, () => {
        expect(normalisePostcode(input)).to.equal(expected);
        expect(isValidPostcode(input)).to.equal(expected !== null);
      });
    }
    it('gives the district (outward code) only', () => {
      expect(postcodeDistrict('se5 8au')).to.equal('SE5');
      expect(postcodeDistrict('EC1A1BB')).to.equal('EC1A');
      expect(postcodeDistrict('DN55 1PT')).to.equal('DN55');
      expect(postcodeDistrict('nonsense')).to.equal(null);
      expect(postcodeDistrict('SE5')).to.equal(null);
    });
  });

  describe('references', () => {
    it('formats SP-YYYY-NNNNNN with a six-digit zero-padded sequence', () => {
      expect(formatReference(2026, 123)).to.equal('SP-2026-000123');
      expect(formatReference(2026, 1)).to.equal('SP-2026-000001');
      expect(formatReference(2031, 999_999)).to.equal('SP-2031-999999');
    });
    it('refuses sequences and years that do not fit', () => {
      for (const [year, sequence] of [[2026, 0], [2026, 1_000_000], [2026, 1.5], [2026, -1], [99, 1], [2026, Number.NaN]]) {
        expect(() => formatReference(year, sequence), `${year}/${sequence}`).to.throw(RangeError);
      }
    });
    it('parses strictly and round-trips', () => {
      expect(parseReference('SP-2026-000123')).to.deep.equal({ year: 2026, sequence: 123 });
      expect(parseReference(formatReference(2027, 45_678))).to.deep.equal({ year: 2027, sequence: 45_678 });
      for (const bad of ['SP-2026-000000', 'SP-26-123', 'SP-2026-123', 'SP-2026-0001234', 'XSP-2026-000123', 'SP 2026 000123', 'SP-2026-00012a', '']) {
        expect(parseReference(bad), bad).to.equal(null);
      }
    });
  });

  describe('SNOMED CT codes', () => {
    it('are well-formed UK extension concept ids (Verhoeff check digit, partition 10, UK namespace)', () => {
      for (const snomed of [SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING, SNOMED_SOCIAL_PRESCRIBING_DECLINED]) {
        expect(verhoeffValid(snomed.code), snomed.code).to.equal(true);
        expect(snomed.code.slice(-3, -1), 'partition: extension concept').to.equal('10');
        expect(snomed.code.slice(-10, -3), 'namespace 1000000 (UK)').to.equal('1000000');
      }
      expect(verhoeffValid('871731000000107')).to.equal(false); // the check itself can fail
    });
    it('carry the terms and when to record them', () => {
      expect(SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING).to.include({ code: '871731000000106', term: 'Referral to social prescribing service (procedure)' });
      expect(SNOMED_SOCIAL_PRESCRIBING_DECLINED).to.include({ code: '871711000000103', term: 'Social prescribing declined (situation)' });
      expect(SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING.when).to.match(/accept/i);
      expect(SNOMED_SOCIAL_PRESCRIBING_DECLINED.when).to.match(/declin/i);
    });
  });

  describe('the referral record', () => {
    it('accepts the sample referral and defines every lifecycle status', () => {
      expect(parseReferral(sampleReferral())).to.deep.include({ ok: true });
      expect(REFERRAL_STATUSES).to.deep.equal([
        'submitted', 'accepted', 'declined', 'redirected', 'contacted', 'first-meeting-held',
        'support-plan-agreed', 'waiting-for-activity', 'connected-to-activity', 'closed',
      ]);
    });

    it('lists every bad field at once, by path, without echoing the values', () => {
      const good = sampleReferral();
      const result = parseReferral({
        ...good,
        id: 'not-a-uuid',
        reference: 'SP-2026-12',
        status: 'pending',
        whatMatters: 'x'.repeat(1001),
        person: { ...good.person, givenName: '   ', dateOfBirth: '1950-02-30', nhsNumber: '9434765918', postcode: 'SE5', preferredContactMethod: 'pigeon' },
        consent: { ...good.consent, consentToShare: false },
        referrerConversation: { ...good.referrerConversation, serviceUrl: 'not a url' },
      });
      expect(result.ok).to.equal(false);
      if (result.ok) return;
      expect(result.errors.map((error) => error.field).sort()).to.deep.equal(
        [
          'id', 'reference', 'status', 'whatMatters', 'person.givenName', 'person.dateOfBirth', 'person.nhsNumber',
          'person.postcode', 'person.preferredContactMethod', 'consent.consentToShare', 'referrerConversation.serviceUrl',
        ].sort(),
      );
      const messages = result.errors.map((error) => error.message).join('\n');
      expect(messages).not.to.contain('9434765918').and.not.to.contain('1950-02-30');
    });

    it('stores NHS numbers and postcodes only in normal form', () => {
      const good = sampleReferral();
      for (const person of [
        { ...good.person, nhsNumber: '943 476 5919' },
        { ...good.person, postcode: 'se5 8au' },
        { ...good.person, postcode: 'SE58AU' },
      ]) {
        expect(personSchema.safeParse(person).success, JSON.stringify(person)).to.equal(false);
      }
      const { nhsNumber: _omitted, ...withoutNhs } = good.person;
      expect(personSchema.safeParse(withoutNhs).success, 'NHS number is optional').to.equal(true);
    });

    it('refuses an NHS number of one digit repeated, saying why', () => {
      const person = { ...sampleReferral().person, nhsNumber: '0000000000' };
      const result = personSchema.safeParse(person);
      expect(result.success).to.equal(false);
      expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).to.deep.equal([['nhsNumber', NHS_NUMBER_ALL_SAME_DIGIT]]);
      expect(parseReferral(sampleReferral({ person: { ...sampleReferral().person, nhsNumber: '1111111111' } }))).to.deep.include({ ok: false });
    });

    it('keeps control characters and bidi overrides out of every free-text field, keeping tabs and line breaks', () => {
      const good = sampleReferral();
      const dirty = (text: string) => `\u0000${text.slice(0, 2)}\u001B\u0085${text.slice(2)}\u202E\u2066 `;
      const parsed = referralSchema.parse({
        ...good,
        whatMatters: dirty('Company\tat\r\nlunchtime'),
        person: {
          ...good.person,
          givenName: dirty('Jane'),
          familyName: dirty('Example'),
          phone: dirty('020 7946 0000'),
          preferredContactTimes: dirty('mornings'),
          language: dirty('Polish'),
          carerInvolved: true,
          carerDetails: dirty('Son, Adam'),
        },
        consent: { ...good.consent, recordedBy: { id: '29:r', name: dirty('Amira Patel') } },
        referrer: { ...good.referrer, name: dirty('Amira Patel'), practice: dirty('Lordship Lane Surgery'), role: dirty('Receptionist') },
        owner: { id: '29:k', name: dirty('Kwame Mensah') },
        outcome: { kind: 'closed', reason: 'completed', note: dirty('Joined the\nlunch club'), at: good.createdAt },
      });
      expect(parsed.whatMatters).to.equal('Company\tat\nlunchtime');
      expect(parsed.person).to.include({
        givenName: 'Jane',
        familyName: 'Example',
        phone: '020 7946 0000',
        preferredContactTimes: 'mornings',
        language: 'Polish',
        carerDetails: 'Son, Adam',
      });
      expect(parsed.consent.recordedBy.name).to.equal('Amira Patel');
      expect(parsed.referrer).to.include({ name: 'Amira Patel', practice: 'Lordship Lane Surgery', role: 'Receptionist' });
      expect(parsed.owner?.name).to.equal('Kwame Mensah');
      expect(parsed.outcome?.note).to.equal('Joined the\nlunch club');
      // Nothing but control characters is as good as nothing.
      expect(referralSchema.safeParse({ ...good, whatMatters: '\u0000\u202E\u001B' }).success).to.equal(false);
    });

    it('needs an email address when the person prefers email', () => {
      const person = { ...sampleReferral().person, preferredContactMethod: 'email' as const };
      const missing = personSchema.safeParse(person);
      expect(missing.success).to.equal(false);
      expect(missing.error?.issues.map((issue) => issue.path.join('.'))).to.deep.equal(['email']);
      expect(personSchema.safeParse({ ...person, email: 'jane@example.org' }).success).to.equal(true);
      expect(personSchema.safeParse({ ...person, email: 'not an email' }).success).to.equal(false);
    });

    it('trims free text and limits its length', () => {
      const good = sampleReferral();
      const parsed = referralSchema.parse({
        ...good,
        whatMatters: '  Company at lunchtime \n',
        person: { ...good.person, givenName: ' Jane ', preferredContactTimes: ' mornings ' },
      });
      expect(parsed.whatMatters).to.equal('Company at lunchtime');
      expect(parsed.person!.givenName).to.equal('Jane');
      expect(parsed.person!.preferredContactTimes).to.equal('mornings');
      expect(referralSchema.safeParse({ ...good, whatMatters: 'x'.repeat(1000) }).success).to.equal(true);
      expect(referralSchema.safeParse({ ...good, whatMatters: ' \t ' }).success).to.equal(false);
      expect(referralSchema.safeParse({ ...good, person: { ...good.person, carerDetails: 'x'.repeat(201) } }).success).to.equal(false);
    });

    it('keeps person details out of audit events @safety', () => {
      const event = { referralId: null, at: '2026-11-24T12:00:00.000Z', actor: { id: '29:r', name: 'Amira Patel' }, action: 'referral.stopped-for-safety' };
      expect(auditEventSchema.parse(event).detail).to.deep.equal({});
      expect(auditEventSchema.safeParse({ ...event, detail: { district: 'SE5', serviceId: 'sail', nearMiss: false } }).success).to.equal(true);
      for (const detail of [{ nhsNumber: '0000000000' }, { postcode: 'x' }, { givenName: 'Jane' }, { note: '943 476 5919' }, { note: 'se5 8au' }]) {
        expect(auditEventSchema.safeParse({ ...event, detail }).success, JSON.stringify(detail)).to.equal(false);
      }
      expect(auditEventSchema.safeParse({ ...event, action: 'referral.deleted' }).success).to.equal(false);
    });
  });

  describe('initials', () => {
    it('reduces a name to initials', () => {
      expect(initials({ givenName: 'Jane', familyName: 'Example' })).to.equal('J.E.');
      expect(initials({ givenName: 'jane', familyName: "O'Neill" })).to.equal('J.O.');
      expect(initials({ givenName: '  émile', familyName: ' zola' })).to.equal('É.Z.');
    });
  });

  describe('ageOn', () => {
    it('counts whole years, turning over on the birthday (UTC)', () => {
      expect(ageOn('1950-03-14', new Date('2026-03-13T23:59:59Z'))).to.equal(75);
      expect(ageOn('1950-03-14', new Date('2026-03-14T00:00:00Z'))).to.equal(76);
      expect(ageOn('1950-03-14', new Date('2026-11-24T12:00:00Z'))).to.equal(76);
      expect(ageOn('2026-11-24', new Date('2026-11-24T12:00:00Z'))).to.equal(0);
    });
    it('ages people born on 29 February on 1 March in other years', () => {
      expect(ageOn('2000-02-29', new Date('2027-02-28T12:00:00Z'))).to.equal(26);
      expect(ageOn('2000-02-29', new Date('2027-03-01T00:00:00Z'))).to.equal(27);
      expect(ageOn('2000-02-29', new Date('2028-02-29T00:00:00Z'))).to.equal(28);
    });
    it('refuses dates that do not exist', () => {
      expect(() => ageOn('1950-02-30', new Date())).to.throw(RangeError);
      expect(() => ageOn('14/03/1950', new Date())).to.throw(RangeError);
    });
  });
});
