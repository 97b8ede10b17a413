/**
 * TOTP second factor (RFC 6238) and recovery codes: enrolment, verification with replay protection,
 * and removal. No HTTP in here; the sign-in pages, the Authenticate API and the admin API call it.
 *
 * The one-time-password arithmetic is otplib's (RFC 4226 dynamic truncation, RFC 6238 time steps,
 * constant-time comparison); this file decides the policy around it: which steps are accepted, that a
 * step is accepted once, how the shared secret is kept at rest, and how recovery codes are stored.
 */
import { randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import type { Clock } from '../core/clock.js';
import type { MasterKey } from '../crypto/masterkey.js';
import type { MfaRepository } from '../storage/ports.js';
import type { UserDisabledReason, UserLifecycleHook } from './users.js';

/** RFC 6238 §5.2 recommends a 30-second step; SHA-1 and 6 digits are what every authenticator app supports. */
export const TOTP_PERIOD = 30;
export const TOTP_DIGITS = 6;
export const TOTP_ALGORITHM = 'sha1';
/** RFC 4226 §4 R6 asks for at least 128 bits of shared secret and recommends 160. */
const SECRET_BYTES = 20;
const RECOVERY_CODE_COUNT = 10;
/** An enrolment started through the API must be confirmed within this time, or started again. */
export const TOTP_ENROLMENT_TTL_MS = 10 * 60_000;
/**
 * Crockford's base32 alphabet: no i, l, o or u, so a code read off paper cannot be mistyped as a
 * look-alike; on input o/i/l are read as 0/1 (see {@link normaliseRecoveryCode}). 32 symbols, so one
 * random byte masked to 5 bits picks a symbol without bias.
 */
const RECOVERY_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** 10 symbols x 5 bits = 50 bits per code, shown as xxxx-xxxx-xx. */
const RECOVERY_CODE_LENGTH = 10;

export interface TotpEnrolment {
  /** Base32, for manual entry. */
  secret: string;
  /** Key URI format (otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=...). */
  otpauthUri: string;
  /** The URI as an inline `<svg>` QR code: generated here, with no text from the request in it. */
  qrSvg: string;
}

export interface TotpServiceDeps {
  mfa: MfaRepository;
  masterKey: MasterKey;
  clock: Clock;
}

const SIX_DIGITS = /^[0-9]{6}$/;
const BASE32_SECRET = /^[A-Z2-7]{26,}$/;

/** Lower case, no separators, and Crockford's reading of look-alikes (o -> 0, i/l -> 1); undefined when not a well-formed code. */
export function normaliseRecoveryCode(code: string): string | undefined {
  const c = code.toLowerCase().replace(/[\s\-_]/g, '').replace(/o/g, '0').replace(/[il]/g, '1');
  if (c.length !== RECOVERY_CODE_LENGTH) return undefined;
  for (const ch of c) if (!RECOVERY_ALPHABET.includes(ch)) return undefined;
  return c;
}

export class TotpService {
  constructor(private readonly d: TotpServiceDeps) {}

  /** A new shared secret: 160 random bits, base32 (what authenticator apps expect). */
  newSecret(): string {
    return generateSecret({ length: SECRET_BYTES });
  }

  /**
   * What the user needs to add the secret to an authenticator app. The Key URI format forbids a colon
   * in the issuer and the account name (it separates them in the label), and both are only shown to
   * the user, so a colon becomes a space rather than failing the enrolment page.
   */
  async enrolment(secret: string, accountName: string, issuerName: string): Promise<TotpEnrolment> {
    assertSecret(secret);
    const account = accountName.replaceAll(':', ' ').trim();
    const issuer = issuerName.replaceAll(':', ' ').trim();
    if (!account || !issuer) throw new RangeError('a TOTP enrolment needs a non-empty account name and issuer');
    // otplib leaves out parameters equal to the defaults; they are spelled out so that an app with
    // other defaults still derives the same codes.
    const otpauthUri = `${generateURI({ issuer, label: account, secret, algorithm: TOTP_ALGORITHM, digits: TOTP_DIGITS, period: TOTP_PERIOD })}`
      + `&algorithm=SHA1&digits=${TOTP_DIGITS}&period=${TOTP_PERIOD}`;
    const qrSvg = await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    return { secret, otpauthUri, qrSvg: qrSvg.trim() };
  }

  /** The AAD names purpose, domain and user, so a ciphertext copied to another user's row does not decrypt. */
  private static aad(domainId: string, userId: string): string {
    return JSON.stringify(['tessera/mfa/totp/v1', domainId, userId]);
  }

  encryptSecret(domainId: string, userId: string, secret: string): string {
    return this.d.masterKey.encrypt(secret, TotpService.aad(domainId, userId));
  }

  /** Throws when the ciphertext was made for another user or under another master key. */
  decryptSecret(domainId: string, userId: string, secretEnc: string): string {
    return this.d.masterKey.decrypt(secretEnc, TotpService.aad(domainId, userId));
  }

  /**
   * The time step a code belongs to, if it is one of the accepted steps and later than `afterStep`.
   * RFC 6238 §5.2: one step back and one ahead are allowed for transmission delay and clock drift,
   * never more (a wider window gives a guesser more valid codes per attempt).
   */
  private async matchStep(secret: string, code: string, afterStep: number | undefined): Promise<number | undefined> {
    // RFC 4226 §5.3: the value is exactly Digit decimal digits; anything else cannot match.
    if (typeof code !== 'string' || !SIX_DIGITS.test(code)) return undefined;
    const epoch = Math.floor(this.d.clock.now() / 1000);
    const current = Math.floor(epoch / TOTP_PERIOD);
    // Every step in the window was accepted before: nothing can match (and otplib refuses an afterTimeStep past the window).
    if (afterStep !== undefined && afterStep >= current + 1) return undefined;
    const r = await verify({
      secret, token: code, epoch, algorithm: TOTP_ALGORITHM, digits: TOTP_DIGITS, period: TOTP_PERIOD,
      // In seconds: with a 30 s period, ±30 s covers exactly the steps current-1 .. current+1.
      epochTolerance: TOTP_PERIOD,
      ...(afterStep !== undefined && afterStep >= 0 ? { afterTimeStep: afterStep } : {}),
    });
    // The functional API's result type also covers HOTP; a TOTP match always carries its time step.
    return r.valid && 'timeStep' in r ? r.timeStep : undefined;
  }

  /**
   * Completes enrolment: the user proves the app holds `secret` by entering a current code. Only then
   * is the factor stored, with that code's step already marked used so it cannot sign in right after.
   */
  async confirmEnrolment(domainId: string, userId: string, secret: string, code: string): Promise<boolean> {
    assertSecret(secret);
    const step = await this.matchStep(secret, code, undefined);
    if (step === undefined) return false;
    // RFC 6238 §5.2: the verifier must not accept the same code twice. lastStep is written with the
    // factor in one statement (the same effect as mfa.useStep, with no window between the two writes).
    await this.d.mfa.putFactor({
      domainId, userId, type: 'totp', secretEnc: this.encryptSecret(domainId, userId, secret), lastStep: step, createdAt: this.d.clock.now(),
    });
    return true;
  }

  /**
   * Checks a code for the user's enrolled factor. RFC 6238 §5.2: "the verifier MUST NOT accept the
   * second attempt of the OTP after the successful validation has been issued for the first OTP":
   * a step is accepted only if it is later than every step accepted before, decided atomically in
   * the store, so two nodes racing with the same code let exactly one through.
   */
  async verify(domainId: string, userId: string, code: string): Promise<boolean> {
    if (typeof code !== 'string' || !SIX_DIGITS.test(code)) return false;
    const f = await this.d.mfa.getFactor(domainId, userId, 'totp');
    if (!f) return false;
    const secret = this.decryptSecret(domainId, userId, f.secretEnc);
    const step = await this.matchStep(secret, code, f.lastStep);
    if (step === undefined) return false;
    return this.d.mfa.useStep(domainId, userId, 'totp', step);
  }

  /**
   * Starts an enrolment that lives in the store until confirmed (the account page's, where no sign-in
   * flow holds the secret): a new secret replaces any earlier pending one, and the enrolled factor, if
   * any, keeps working until the new one is confirmed.
   */
  async startPendingEnrolment(domainId: string, userId: string, accountName: string, issuerName: string): Promise<TotpEnrolment & { expiresAt: number }> {
    const secret = this.newSecret();
    const enrolment = await this.enrolment(secret, accountName, issuerName);
    const now = this.d.clock.now();
    await this.d.mfa.putPendingFactor({ domainId, userId, type: 'totp', secretEnc: this.encryptSecret(domainId, userId, secret), createdAt: now });
    return { ...enrolment, expiresAt: now + TOTP_ENROLMENT_TTL_MS };
  }

  /** When the pending enrolment (if any, and not expired) expires. */
  async pendingEnrolment(domainId: string, userId: string): Promise<{ expiresAt: number } | undefined> {
    const p = await this.d.mfa.getPendingFactor(domainId, userId, 'totp');
    const expiresAt = p ? p.createdAt + TOTP_ENROLMENT_TTL_MS : 0;
    return p && expiresAt > this.d.clock.now() ? { expiresAt } : undefined;
  }

  /**
   * Confirms the pending enrolment with a current code: 'none' when there is none (never started, expired,
   * or confirmed already), 'wrong' when the code does not match. The code's step is recorded as used, and
   * the store makes the confirmation single-use.
   */
  async confirmPendingEnrolment(domainId: string, userId: string, code: string): Promise<'confirmed' | 'wrong' | 'none'> {
    const p = await this.d.mfa.getPendingFactor(domainId, userId, 'totp');
    const now = this.d.clock.now();
    if (!p || p.createdAt + TOTP_ENROLMENT_TTL_MS <= now) return 'none';
    const step = await this.matchStep(this.decryptSecret(domainId, userId, p.secretEnc), code, undefined);
    if (step === undefined) return 'wrong';
    return (await this.d.mfa.confirmPendingFactor(domainId, userId, 'totp', p.secretEnc, step, now)) ? 'confirmed' : 'none';
  }

  async listFactors(domainId: string, userId: string): Promise<{ type: 'totp'; createdAt: number }[]> {
    return (await this.d.mfa.listFactors(domainId, userId)).map((f) => ({ type: f.type, createdAt: f.createdAt }));
  }

  async hasFactor(domainId: string, userId: string): Promise<boolean> {
    return (await this.d.mfa.getFactor(domainId, userId, 'totp')) !== undefined;
  }

  /**
   * Recovery codes are 50-bit values: too few bits for a plain SHA-256 to resist an offline search of a
   * database dump, so they are stored as HMACs under the master key's pepper, salted with the user
   * (the same code for two users hashes differently, and a hash cannot be moved to another user).
   */
  private recoveryHash(domainId: string, userId: string, normalised: string): string {
    return `rc1$${this.d.masterKey.hmac(JSON.stringify(['tessera/mfa/recovery/v1', domainId, userId]), normalised).toString('base64url')}`;
  }

  /** Ten new single-use codes, replacing any earlier ones; the raw codes are returned this once only. */
  async newRecoveryCodes(domainId: string, userId: string): Promise<string[]> {
    const codes = new Set<string>();
    while (codes.size < RECOVERY_CODE_COUNT) {
      const bytes = randomBytes(RECOVERY_CODE_LENGTH);
      let c = '';
      for (const b of bytes) c += RECOVERY_ALPHABET[b & 31];
      codes.add(c);
    }
    const raw = [...codes];
    await this.d.mfa.replaceRecoveryCodes(domainId, userId, raw.map((c) => this.recoveryHash(domainId, userId, c)));
    return raw.map((c) => `${c.slice(0, 4)}-${c.slice(4, 8)}-${c.slice(8)}`);
  }

  /** Spends one recovery code (case, dashes and spaces do not matter); false when unknown or already used. */
  async useRecoveryCode(domainId: string, userId: string, code: string): Promise<boolean> {
    if (typeof code !== 'string' || code.length > 64) return false;
    const c = normaliseRecoveryCode(code);
    if (!c) return false;
    // Single use is the store's conditional update (used_at from NULL), so a race spends it once.
    return this.d.mfa.useRecoveryCode(domainId, userId, this.recoveryHash(domainId, userId, c), this.d.clock.now());
  }

  async remainingRecoveryCodes(domainId: string, userId: string): Promise<number> {
    return this.d.mfa.remainingRecoveryCodes(domainId, userId);
  }

  /** Removes every factor and recovery code of the user; returns how many factors went. */
  async reset(domainId: string, userId: string): Promise<number> {
    return this.d.mfa.deleteAll(domainId, userId);
  }
}

/** A pending secret comes from server-side state, so a malformed one is a bug: fail loudly. */
function assertSecret(secret: string): void {
  // RFC 4226 §4 R6: at least 128 bits (26 base32 characters).
  if (typeof secret !== 'string' || !BASE32_SECRET.test(secret)) throw new TypeError('a TOTP secret must be unpadded upper-case base32 of at least 128 bits');
}

/** Deleting a user removes their factors and recovery codes (a deactivated user keeps them for when they return). */
export class DeleteUserFactorsHook implements UserLifecycleHook {
  readonly name = 'delete-mfa-factors';
  constructor(private readonly mfa: MfaRepository) {}
  async userDisabled(domainId: string, userId: string, reason: UserDisabledReason): Promise<void> {
    if (reason === 'deleted') await this.mfa.deleteAll(domainId, userId);
  }
}
