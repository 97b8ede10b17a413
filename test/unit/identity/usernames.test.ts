import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_USER_NAME, prepareUserName, signInKey, userNameKey, UserNameRefused, type UserNameRule } from '../../../src/identity/usernames.js';

describe('user names (RFC 8265 §3.3 UsernameCaseMapped)', () => {
  // [input, stored form, key]
  const accepted: [string, string, string, string][] = [
    ['plain ASCII', 'ada', 'ada', 'ada'],
    ['case kept in the stored form, folded in the key', 'ADA', 'ADA', 'ada'],
    ['fullwidth letters (width mapping)', 'ａｄａ', 'ada', 'ada'],
    ['Kelvin sign U+212A', '\u212A', 'K', 'k'],
    ['ligature ﬁ U+FB01', '\uFB01', 'fi', 'fi'],
    ['combining acute becomes precomposed é', 'e\u0301', '\u00E9', '\u00E9'],
    ['precomposed é', '\u00E9', '\u00E9', '\u00E9'],
    ['Turkish dotless ı stays itself', '\u0131', '\u0131', '\u0131'],
    ['capital İ lower-cases to i + U+0307, not to i', '\u0130', '\u0130', 'i\u0307'],
    ['ß is not folded to ss (toLowerCase, RFC 8265 §3.3.1)', 'ß', 'ß', 'ß'],
    ['capital ẞ lower-cases to ß', '\u1E9E', '\u1E9E', 'ß'],
    ['ASCII punctuation and symbols (ASCII7)', 'a_b-c.d@e+f%g\\h', 'a_b-c.d@e+f%g\\h', 'a_b-c.d@e+f%g\\h'],
    ['email address', 'Alice@Example.COM', 'Alice@Example.COM', 'alice@example.com'],
    ['CJK', '日本語', '日本語', '日本語'],
    ['Hebrew (right-to-left, Bidi Rule holds)', 'אבג', 'אבג', 'אבג'],
    ['Hebrew ending in a digit', 'אב1', 'אב1', 'אב1'],
    ['Greek, final sigma by context', 'ΟΔΟΣ', 'ΟΔΟΣ', 'οδος'],
    ['Catalan middle dot between l and l (CONTEXTO)', 'col·lega', 'col·lega', 'col·lega'],
    ['circled digit is its digit (NFKC)', '\u2460', '1', '1'],
    ['exactly the length limit', 'a'.repeat(MAX_USER_NAME), 'a'.repeat(MAX_USER_NAME), 'a'.repeat(MAX_USER_NAME)],
  ];
  for (const [name, input, stored, key] of accepted) {
    test(`accepted: ${name}`, () => {
      assert.deepEqual(prepareUserName(input), { stored, key });
      assert.equal(signInKey(input), key);
      assert.equal(userNameKey(stored), key, 'the key is a function of the stored form');
    });
  }

  const refused: [string, string, UserNameRule, RegExp?][] = [
    ['empty', '', 'empty'],
    ['too long', 'a'.repeat(MAX_USER_NAME + 1), 'length'],
    ['too long once normalised (U+FDFA is 18 characters)', '\uFDFA'.repeat(15), 'length'],
    ['leading space', ' ada', 'space', /U\+0020/],
    ['trailing space', 'ada ', 'space'],
    ['inner space', 'a da', 'space'],
    ['no-break space (NFKC makes it a space)', 'ada\u00A0', 'space'],
    ['ideographic space', 'ada\u3000', 'space'],
    ['line separator', 'a\u2028b', 'space'],
    ['tab', 'a\tb', 'control'],
    ['NUL', 'a\u0000', 'control', /U\+0000/],
    ['DEL', 'a\u007f', 'control'],
    ['C1 control', 'a\u0085', 'control'],
    ['zero width space', 'ada\u200B', 'invisible', /U\+200B/],
    ['zero width joiner', 'a\u200Dda', 'invisible'],
    ['zero width non-joiner', 'a\u200Cda', 'invisible'],
    ['word joiner', 'a\u2060da', 'invisible'],
    ['soft hyphen', 'a\u00ADda', 'invisible'],
    ['byte order mark', '\uFEFFada', 'invisible'],
    ['combining grapheme joiner', 'a\u034Fda', 'invisible'],
    ['variation selector', 'a\uFE0F', 'invisible'],
    ['Hangul filler', '\u3164ada', 'invisible'],
    ['left-to-right mark', 'ada\u200E', 'invisible'],
    ['right-to-left mark', 'ada\u200F', 'invisible'],
    ['Arabic letter mark', 'ada\u061C', 'invisible'],
    ['right-to-left override', 'a\u202Eb', 'invisible', /U\+202E/],
    ['left-to-right embedding', 'a\u202Ab', 'invisible'],
    ['pop directional formatting', 'a\u202Cb', 'invisible'],
    ['first strong isolate', 'a\u2068b', 'invisible'],
    ['pop directional isolate', 'a\u2069b', 'invisible'],
    ['tag character', 'a\u{E0041}', 'invisible'],
    ['unpaired high surrogate', 'ada\uD800', 'surrogate', /U\+D800/],
    ['unpaired low surrogate', '\uDC00ada', 'surrogate', /U\+DC00/],
    ['private use', 'a\uE000', 'unassigned'],
    ['supplementary private use', 'a\u{F0000}', 'unassigned'],
    ['noncharacter', 'a\uFFFF', 'unassigned'],
    ['unassigned code point', 'a\u0378', 'unassigned', /U\+0378/],
    ['euro sign (non-ASCII symbol)', 'a€', 'symbol'],
    ['math symbol', 'a∞', 'symbol'],
    ['emoji', 'ada\u{1F600}', 'symbol'],
    ['non-ASCII punctuation (fullwidth-looking ideographic full stop)', 'ada\u3002', 'symbol'],
    ['replacement character', 'ada\uFFFD', 'symbol'],
    ['left double quotation mark', '\u201Cada', 'symbol'],
    ['middle dot outside l·l', 'a\u00B7b', 'context'],
    ['Hebrew geresh after Latin', 'a\u05F3', 'context'],
    ['mixed Arabic-Indic digits', '\u0661\u06F1', 'context'],
    ['Arabic tatweel (RFC 5892 exception)', '\u0628\u0640\u0628', 'disallowed'],
    ['enclosing mark', 'a\u20DD', 'disallowed'],
    ['conjoining Hangul jamo (OldHangulJamo)', '\u1100', 'disallowed'],
    ['Hebrew then Latin (Bidi Rule)', 'אבגa', 'bidi'],
    ['Latin then Hebrew (Bidi Rule)', 'aאבג', 'bidi'],
    ['digit first in a right-to-left name (Bidi Rule)', '1אב', 'bidi'],
  ];
  for (const [name, input, rule, detail] of refused) {
    test(`refused (${rule}): ${name}`, () => {
      assert.throws(() => prepareUserName(input), (e: unknown) => {
        assert.ok(e instanceof UserNameRefused);
        assert.equal(e.rule, rule);
        assert.match(e.message, /^userName .*RFC 8265/);
        if (detail) assert.match(e.message, detail);
        // The detail never carries the raw invisible character back.
        assert.doesNotMatch(e.message, /[\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/);
        return true;
      });
      assert.equal(signInKey(input), undefined, 'no sign-in lookup for a refused name');
    });
  }

  test('look-alikes share one key; distinct letters do not', () => {
    const same = [['ada', 'ADA', 'ａｄａ', 'Ａｄａ'], ['k', 'K', '\u212A'], ['fi', 'FI', '\uFB01'], ['\u00E9', 'e\u0301', '\u00C9', 'E\u0301'], ['ß', '\u1E9E']];
    for (const group of same) assert.equal(new Set(group.map((n) => prepareUserName(n).key)).size, 1, group.join(' '));
    const distinct = [['i', '\u0131', '\u0130'], ['ß', 'ss'], ['ada', 'ada1', 'adá']];
    for (const group of distinct) assert.equal(new Set(group.map((n) => prepareUserName(n).key)).size, group.length, group.join(' '));
  });

  test('userNameKey is total: a name stored before these rules still gets a key', () => {
    assert.equal(userNameKey('Ada Lovelace'), 'ada lovelace');
    assert.equal(userNameKey('ＡＤＡ\u200B'), 'ada\u200B');
  });
});
