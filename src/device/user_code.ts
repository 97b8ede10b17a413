import { randomInt } from 'node:crypto';
import type { MasterKey } from '../crypto/masterkey.js';

/**
 * RFC 8628 §6.1: user codes a person reads off a TV and types on a phone. Twenty consonants (no
 * vowels, so no words; none of the look-alikes 0/O, 1/I/L are digits here), 8 of them: 20^8 ≈ 2^34.6
 * codes, with at most a few thousand live at a time and guesses throttled per browser and address
 * (§5.1). Shown as XXXX-XXXX; entered in any case, with or without the dash and spaces.
 */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE_LENGTH = 8;
const CODE = new RegExp(`^[${USER_CODE_ALPHABET}]{${USER_CODE_LENGTH}}$`);

/** A new user code (uniform over the alphabet: crypto.randomInt has no modulo bias), without the dash. */
export function newUserCode(): string {
  let out = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) out += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return out;
}

/** XXXX-XXXX, as shown to the user. */
export const formatUserCode = (code: string): string => `${code.slice(0, 4)}-${code.slice(4)}`;

/**
 * What a person typed, as a code: ASCII only (checked before any case mapping, so `ß` or a dotless
 * `ı` never upper-cases into something else), dashes and spaces dropped, upper-cased. Anything that
 * is not then 8 letters of the alphabet is undefined: never looked up.
 */
export function normalizeUserCode(input: unknown): string | undefined {
  if (typeof input !== 'string' || input.length > 64 || !/^[\x20-\x7e\t]*$/.test(input)) return undefined;
  const v = input.replace(/[\s-]+/g, '').toUpperCase();
  return CODE.test(v) ? v : undefined;
}

/**
 * The stored form of a user code: a keyed hash under the master key. A plain hash of 2^34.6 values
 * could be reversed by trying them all; this one needs the key, which the database does not hold.
 */
export const userCodeHash = (mk: MasterKey, code: string): string => mk.hmac('device-user-code', code).toString('base64url');
