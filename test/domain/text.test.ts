import { expect } from 'chai';
import { cleanText, escapeCardText, plainText } from '../../domain/text';
import { STATUS_LABELS } from '../../domain/referral/lifecycle';
import directory from '../../domain/directory/southwark-services.json';
import { liveMarkup, shownText } from '../cards/markdown';

const HOSTILE = [
  '[click](https://evil.example)',
  '![pixel](https://evil.example/p.png)',
  '**urgent** _call_ *now* __please__',
  '# Heading\n## Another',
  '- item\n+ item\n* item\n1. first\n2) second',
  'Title\n===\nSubtitle\n---',
  '`code` and ```fenced```',
  '{{DATE(2017-02-14T06:08:39Z, SHORT)}} at {{TIME(2017-02-14T06:08:39Z)}}',
  '<https://evil.example> <at>Kwame</at>',
  'see https://evil.example/a_b?c=1 or www.evil.example',
  '> quoted\n    indented code',
  '~~struck~~ a | b',
  '[ref]: https://evil.example\n\n[ref]',
  'C:\\Users\\jane \\*not bold\\*',
  '&#91;x&#93;(https://evil.example) &amp;',
  'line one\r\n- line two\r* line three',
];

describe('Free text is data (pure)', () => {
  describe('escapeCardText', () => {
    for (const text of HOSTILE) {
      it(`neutralises ${JSON.stringify(text)} and keeps it readable`, () => {
        const escaped = escapeCardText(text);
        expect(liveMarkup(escaped), escaped).to.deep.equal([]);
        // Leading indentation is the one thing dropped (it would make a code block).
        expect(shownText(escaped)).to.equal(text.replace(/^[ \t]+/gm, ''));
      });
    }

    it('escapes a Markdown link as CommonMark expects, and breaks "](" for renderers that ignore escapes', () => {
      expect(escapeCardText('[click](https://evil.example)')).to.equal('\\[click\\]\\(https:/\u200B/evil.example)');
    });

    it('keeps {{DATE()}} and {{TIME()}} from being evaluated', () => {
      const escaped = escapeCardText('{{DATE(2017-02-14T06:08:39Z, SHORT)}}');
      // The Adaptive Cards date/time pattern needs "{{" followed by the function name.
      expect(escaped).not.to.match(/\{\{(DATE|TIME)\(/);
      expect(escaped).to.equal('{\\{DATE(2017-02-14T06:08:39Z, SHORT)}}');
    });

    it('leaves ordinary sentences, names and our own labels as they are', () => {
      for (const text of [
        "O'Neill (née Smith), 20-30 mins; call after 2pm.",
        'Amira Patel, Lordship Lane Surgery',
        'Meets: requires age over 50; person is 76',
        'Wait: about 6 weeks',
        'Mr. Smith & family',
        ...Object.values(STATUS_LABELS),
        ...directory.services.map((service: { name: string }) => service.name),
      ]) {
        expect(escapeCardText(text), text).to.equal(text);
      }
    });

    it('is idempotent in what it shows: escaping twice shows the once-escaped text', () => {
      const once = escapeCardText('[a](b) *c*');
      expect(shownText(escapeCardText(once))).to.equal(once);
    });
  });

  describe('plainText and cleanText', () => {
    it('strips C0 (but tab and newline), DEL, C1 and bidi controls, and trims', () => {
      const controls = [
        ...Array.from({ length: 32 }, (_, code) => code).filter((code) => code !== 9 && code !== 10 && code !== 13),
        0x7f,
        ...Array.from({ length: 32 }, (_, index) => 0x80 + index),
        0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
      ];
      for (const code of controls) {
        const character = String.fromCharCode(code);
        expect(cleanText(`Ja${character}ne`), `U+${code.toString(16).padStart(4, '0')}`).to.equal('Jane');
      }
      expect(cleanText('  a\tb\nc  ')).to.equal('a\tb\nc');
      expect(cleanText('one\r\ntwo\rthree')).to.equal('one\ntwo\nthree');
      // Right-to-left text itself, and the invisible marks that do not override order, stay.
      expect(cleanText('مرحبا \u200Fok')).to.equal('مرحبا \u200Fok');
    });

    it('checks length after cleaning, and empty after cleaning is missing', () => {
      const schema = plainText({ max: 5, required: 'Enter a name', tooLong: 'Too long' });
      expect(schema.parse(`\u0000Jane\u202E `)).to.equal('Jane');
      expect(schema.safeParse('\u0000\u001B[31m').success).to.equal(true); // ESC goes, "[31m" is text
      expect(schema.safeParse('\u0000 \u202E').error?.issues[0].message).to.equal('Enter a name');
      expect(schema.safeParse('Janette').error?.issues[0].message).to.equal('Too long');
      expect(schema.safeParse(`Jane${'\u0000'.repeat(50)}`).success).to.equal(true);
    });

    it('refuses anything but a string with its own message, never throwing', () => {
      const schema = plainText({ max: 50, notText: 'Enter text' });
      for (const value of [{ toString: 'x' }, { toString: () => 'x' }, ['x'], 42, true, null, Object.create(null)]) {
        const result = schema.safeParse(value);
        expect(result.success, JSON.stringify(value)).to.equal(false);
        expect(result.error?.issues[0].message).to.equal('Enter text');
      }
    });
  });
});
