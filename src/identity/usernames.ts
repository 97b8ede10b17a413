/**
 * User names as PRECIS identifiers (RFC 8265 §3.3 UsernameCaseMapped over the IdentifierClass of
 * RFC 8264 §4.2), so that two names that look alike are one name, and names with invisible parts
 * cannot be created.
 *
 * Two forms of a name:
 * - the stored form, shown back to clients: NFKC of what was given, case kept. NFKC goes beyond
 *   PRECIS's width mapping (RFC 8265 §3.3.1 step 1): a ligature "ﬁ" or a Kelvin sign "K" becomes
 *   "fi" / "K" instead of being refused as HasCompat (RFC 8264 §9.17), which suits a provisioning API
 *   whose clients paste names from anywhere;
 * - the key, used for uniqueness and sign-in lookup: the stored form lower-cased with Unicode
 *   toLowerCase (RFC 8265 §3.3.1 step 3, which prefers it to case folding: "ß" stays "ß", so
 *   "ß" and "ss" are two names, and Turkish "ı" stays distinct from "i"), then NFKC again
 *   (lower-casing can leave a string unnormalised).
 *
 * No npm package implements PRECIS today (the one JavaScript implementation, precis-js, targets
 * the obsolete RFC 7564, is unmaintained and is not on the registry), so the class is derived here
 * from the Unicode properties JavaScript regular expressions expose; the one property they lack,
 * Bidi_Class (for the Bidi Rule, RFC 5893 §2), comes from bidi-js.
 *
 * Stricter than PRECIS on purpose: ZERO WIDTH JOINER / NON-JOINER (CONTEXTJ in RFC 5892) are
 * refused outright, whatever their context: they are invisible, and the classic way to make a
 * second "ada". Spaces are refused anywhere (PRECIS IdentifierClass has none; a space-separated
 * name would need per-part rules, RFC 8265 §3.5, and invites "ada" vs "ada " vs "a da").
 */
import bidiJs from 'bidi-js';

export const MAX_USER_NAME = 256;

export type UserNameRule =
  | 'empty' | 'length' | 'surrogate' | 'space' | 'control' | 'invisible' | 'unassigned' | 'symbol' | 'disallowed' | 'context' | 'bidi';

/** A name RFC 8265 refuses; `message` names the rule and the code point (never the raw character, which may be invisible). */
export class UserNameRefused extends Error {
  constructor(readonly rule: UserNameRule, message: string) {
    super(message);
    this.name = 'UserNameRefused';
  }
}

export interface PreparedUserName {
  /** NFKC, case preserved: what is stored and shown. */
  stored: string;
  /** Lower-cased and normalised again: unique per domain, and what sign-in looks up. */
  key: string;
}

// bidi-js is CommonJS whose typings declare an ES default export: at run time the import is the factory itself.
type BidiFactory = typeof bidiJs.default;
const bidiFactory = ((bidiJs as unknown as { default?: BidiFactory }).default ?? (bidiJs as unknown as BidiFactory));
const bidi = bidiFactory();

const u = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

// RFC 5892 §2.6 (Exceptions, used by RFC 8264 §9.1).
const EXCEPTION_PVALID = new Set([0x00df, 0x03c2, 0x06fd, 0x06fe, 0x0f0b, 0x3007]);
const EXCEPTION_CONTEXTO = new Set([0x00b7, 0x0375, 0x05f3, 0x05f4, 0x30fb, ...range(0x0660, 0x0669), ...range(0x06f0, 0x06f9)]);
const EXCEPTION_DISALLOWED = new Set([0x0640, 0x07fa, 0x302e, 0x302f, ...range(0x3031, 0x3035), 0x303b]);
function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

const UNASSIGNED = /^\p{Cn}$/u;
const JOIN_CONTROL = /^\p{Join_Control}$/u;
// RFC 8264 §9.7: Hangul_Syllable_Type L, V or T (conjoining jamo); JavaScript has no such property.
const OLD_HANGUL_JAMO = /^[\u1100-\u11FF\uA960-\uA97F\uD7B0-\uD7FF]$/u;
// RFC 8264 §9.8 PrecisIgnorableProperties: Default_Ignorable_Code_Point or Noncharacter_Code_Point.
const IGNORABLE = /^\p{Default_Ignorable_Code_Point}$/u;
const NONCHARACTER = /^\p{Noncharacter_Code_Point}$/u;
const CONTROL = /^\p{Cc}$/u;
const LETTER_DIGITS = /^[\p{Ll}\p{Lu}\p{Lo}\p{Nd}\p{Lm}\p{Mn}\p{Mc}]$/u;
const SPACE = /^[\p{Zs}\p{Zl}\p{Zp}]$/u;
const SYMBOL_PUNCT = /^[\p{S}\p{P}]$/u;
const FORMAT = /^[\p{Cf}]$/u;
const PRIVATE_USE = /^\p{Co}$/u;

/**
 * RFC 8264 §8: the derived property of one code point in IdentifierClass, as the rule that refuses
 * it, or 'valid' / 'contexto'. Order as in §8 (Exceptions first, then Unassigned, ASCII7, ...).
 */
function classify(ch: string, cp: number): UserNameRule | 'valid' | 'contexto' {
  if (EXCEPTION_PVALID.has(cp)) return 'valid';
  if (EXCEPTION_CONTEXTO.has(cp)) return 'contexto';
  if (EXCEPTION_DISALLOWED.has(cp)) return 'disallowed';
  if (UNASSIGNED.test(ch)) return 'unassigned';
  if (cp >= 0x21 && cp <= 0x7e) return 'valid'; // ASCII7 (§9.11): ASCII punctuation and symbols are fine
  if (JOIN_CONTROL.test(ch)) return 'invisible'; // CONTEXTJ in PRECIS; refused here (see above)
  if (NONCHARACTER.test(ch)) return 'unassigned';
  // Before OldHangulJamo (§8 has it the other way round) only so that the Hangul fillers, which are
  // both, are reported as the invisible characters they are.
  if (IGNORABLE.test(ch)) return 'invisible';
  if (OLD_HANGUL_JAMO.test(ch)) return 'disallowed';
  if (CONTROL.test(ch)) return 'control';
  if (ch.normalize('NFKC') !== ch) return 'disallowed'; // HasCompat (§9.17); NFKC input never has one
  if (LETTER_DIGITS.test(ch)) return 'valid';
  if (SPACE.test(ch) || cp === 0x20) return 'space';
  if (SYMBOL_PUNCT.test(ch)) return 'symbol';
  if (FORMAT.test(ch)) return 'invisible'; // bidi controls U+202A-202E, U+2066-2069, U+200E/F, U+061C, ZWSP...
  if (PRIVATE_USE.test(ch)) return 'unassigned';
  return 'disallowed'; // Lt, Nl, No, Me (§9.12 OtherLetterDigits), surrogates
}

const WHY: Record<UserNameRule, string> = {
  empty: 'must not be empty',
  length: `must be at most ${MAX_USER_NAME} characters`,
  surrogate: 'contains an unpaired surrogate (not well-formed Unicode)',
  space: 'must not contain spaces or line separators',
  control: 'must not contain control characters',
  invisible: 'must not contain invisible, formatting or bidirectional control characters',
  unassigned: 'must not contain unassigned, private-use or noncharacter code points',
  symbol: 'must not contain symbols or punctuation other than ASCII',
  disallowed: 'contains a character not allowed in user names',
  context: 'uses a character outside the context it is allowed in',
  bidi: 'mixes right-to-left and left-to-right text in a way that could display misleadingly',
};

const refuse = (rule: UserNameRule, cp?: number): UserNameRefused =>
  new UserNameRefused(rule, `userName ${WHY[rule]}${cp === undefined ? '' : ` (${u(cp)})`} (RFC 8265 §3.3)`);

const scriptOf = (ch: string | undefined, script: 'Greek' | 'Hebrew'): boolean =>
  ch !== undefined && (script === 'Greek' ? /\p{Script=Greek}/u : /\p{Script=Hebrew}/u).test(ch);

/** RFC 5892 Appendix A.3-A.9: the CONTEXTO rules of the exception code points. */
function contextOk(cps: readonly string[], i: number, all: string): boolean {
  const cp = cps[i]!.codePointAt(0)!;
  switch (cp) {
    case 0x00b7: return cps[i - 1] === 'l' && cps[i + 1] === 'l'; // A.3 Catalan "l·l"
    case 0x0375: return scriptOf(cps[i + 1], 'Greek'); // A.4 keraia before Greek
    case 0x05f3: case 0x05f4: return scriptOf(cps[i - 1], 'Hebrew'); // A.5, A.6 geresh after Hebrew
    case 0x30fb: return /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u.test(all); // A.7
    default:
      // A.8 / A.9: Arabic-Indic and extended Arabic-Indic digits do not mix.
      if (cp >= 0x0660 && cp <= 0x0669) return !/[\u06F0-\u06F9]/.test(all);
      return !/[\u0660-\u0669]/.test(all);
  }
}

const RTL = new Set(['R', 'AL', 'AN']);
/** RFC 5893 §2, required by RFC 8265 §3.3.1 step 5 for strings with right-to-left code points. */
function bidiOk(cps: readonly string[]): boolean {
  const types = cps.map((c) => bidi.getBidiCharTypeName(c));
  if (!types.some((t) => RTL.has(t))) return true;
  const first = types[0]!;
  // Rule 1: starts L, R or AL. With an RTL code point present, an LTR string fails rule 5 anyway.
  if (first !== 'R' && first !== 'AL') return false;
  const allowed = new Set(['R', 'AL', 'AN', 'EN', 'ES', 'CS', 'ET', 'ON', 'BN', 'NSM']);
  if (!types.every((t) => allowed.has(t))) return false; // rule 2
  let end = types.length - 1;
  while (end > 0 && types[end] === 'NSM') end--;
  if (!['R', 'AL', 'EN', 'AN'].includes(types[end]!)) return false; // rule 3
  return !(types.includes('EN') && types.includes('AN')); // rule 4
}

/** The first unpaired surrogate code unit (RFC 8264 §9.15: surrogates are never valid), if any. */
function loneSurrogate(s: string): number | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = s.charCodeAt(i + 1);
      if (n >= 0xdc00 && n <= 0xdfff) { i++; continue; }
      return c;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return c;
  }
  return undefined;
}

function checkKey(key: string): void {
  const cps = [...key];
  for (let i = 0; i < cps.length; i++) {
    const ch = cps[i]!;
    const cp = ch.codePointAt(0)!;
    const c = classify(ch, cp);
    if (c === 'valid') continue;
    if (c === 'contexto') {
      if (!contextOk(cps, i, key)) throw refuse('context', cp);
      continue;
    }
    throw refuse(c, cp);
  }
  if (!bidiOk(cps)) throw refuse('bidi');
}

/**
 * Prepare a user name given by a client (SCIM create/replace): the stored form and the key, or
 * UserNameRefused naming the rule. The class (RFC 8264 §4.2) and the Bidi Rule are checked on the
 * key, as RFC 8265 §3.3.2 enforces them after the case mapping.
 */
export function prepareUserName(input: string): PreparedUserName {
  if (input.length === 0) throw refuse('empty');
  // Bound the work before normalising; NFKC can grow a string (U+FDFA is 18 characters).
  if (input.length > MAX_USER_NAME) throw refuse('length');
  const lone = loneSurrogate(input);
  if (lone !== undefined) throw refuse('surrogate', lone);
  const stored = input.normalize('NFKC');
  if (stored.length === 0) throw refuse('empty');
  if (stored.length > MAX_USER_NAME) throw refuse('length');
  const key = userNameKey(stored);
  checkKey(key);
  return { stored, key };
}

/**
 * The key of any string, valid or not: what the store indexes. Total so that rows written before
 * these rules (see migration 0004) still get a key; lookups of client input go through
 * {@link signInKey}.
 */
export function userNameKey(name: string): string {
  return name.normalize('NFKC').toLowerCase().normalize('NFKC');
}

/**
 * The key to look a sign-in name up by, or undefined when no user could have that name (the
 * caller then fails exactly as for an unknown user: same work, same error).
 */
export function signInKey(input: string): string | undefined {
  try {
    return prepareUserName(input).key;
  } catch (e) {
    if (e instanceof UserNameRefused) return undefined;
    throw e;
  }
}
