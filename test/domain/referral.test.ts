import { expect } from 'chai';
import { formatNhsNumber, isValidNhsNumber, nhsCheckDigit, normaliseNhsNumber } from '../../domain/referral/nhsNumber';
import { normalisePostcode, postcodeDistrict } from '../../domain/referral/postcode';
import { formatReference, parseReference } from '../../domain/referral/reference';
import { initials } from '../../domain/referral/referral';

describe('Referral rules (pure)', () => {
  describe('NHS number (Modulus 11)', () => {
    for (const valid of ['9434765919', '943 476 5919', '943-476-5919', '4010232137']) {
      it(`accepts ${valid}`, () => expect(isValidNhsNumber(valid)).to.equal(true));
    }
    for (const invalid of ['9434765918', '943476591', '94347659190', 'abcdefghij', '', '1000000010']) {
      it(`rejects "${invalid}"`, () => expect(isValidNhsNumber(invalid)).to.equal(false));
    }
    it('has no valid check digit when 11 minus the remainder is 10', () => {
      // 100000001: 1x10 + 1x2 = 12, remainder 1, 11 - 1 = 10: no number starting so is valid.
      expect(nhsCheckDigit('100000001')).to.equal(null);
      for (let digit = 0; digit <= 9; digit += 1) expect(isValidNhsNumber(`100000001${digit}`)).to.equal(false);
    });
    it('maps a result of 11 to check digit 0', () => {
      // 000000000 sums to 0, remainder 0, and 11 - 0 = 11, which becomes 0.
      expect(nhsCheckDigit('000000000')).to.equal(0);
      expect(isValidNhsNumber('0000000000')).to.equal(true);
    });
    it('normalises and formats', () => {
      expect(normaliseNhsNumber(' 943 476 5919 ')).to.equal('9434765919');
      expect(normaliseNhsNumber('943 476 591')).to.equal(null);
      expect(formatNhsNumber('9434765919')).to.equal('943 476 5919');
    });
  });

  describe('UK postcodes', () => {
    const cases: Array<[string, string | null]> = [
      ['se5 8au', 'SE5 8AU'],
      ['SE58AU', 'SE5 8AU'],
      ['  se1   7eh ', 'SE1 7EH'],
      ['EC1A 1BB', 'EC1A 1BB'],
      ['W1A 0AX', 'W1A 0AX'],
      ['M1 1AE', 'M1 1AE'],
      ['gir0aa', 'GIR 0AA'],
      ['SE5', null],
      ['SE5 8CU', null], // C is never used in the inward code
      ['12345', null],
      ['SE5 8AUX', null],
    ];
    for (const [input, expected] of cases) {
      it(`"${input}" -> ${expected}`, () => expect(normalisePostcode(input)).to.equal(expected));
    }
    it('gives the district only', () => {
      expect(postcodeDistrict('se5 8au')).to.equal('SE5');
      expect(postcodeDistrict('nonsense')).to.equal(null);
    });
  });

  describe('references', () => {
    it('formats and parses SP-YYYY-NNNNNN', () => {
      expect(formatReference(2026, 123)).to.equal('SP-2026-000123');
      expect(parseReference('sp-2026-000123')).to.deep.equal({ year: 2026, sequence: 123 });
      expect(parseReference('SP-2026-000000')).to.equal(null);
      expect(parseReference('SP-26-123')).to.equal(null);
      expect(() => formatReference(2026, 1_000_000)).to.throw(RangeError);
    });
  });

  it('reduces a name to initials', () => {
    expect(initials({ givenName: 'jane', familyName: "O'Neill" })).to.equal('J.O.');
  });
});
