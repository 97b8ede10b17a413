/**
 * Password hashing (Argon2id) and the per-domain password policy.
 *
 * Hashing is deliberately slow: callers hash before opening any database transaction. Clear-text
 * passwords are never stored, logged or put in errors.
 */
import { hash as argonHash, verify as argonVerify } from '@node-rs/argon2';

/** `Algorithm.Argon2id` of @node-rs/argon2 (an ambient const enum, which verbatimModuleSyntax cannot import). */
const ARGON2ID = 2;
import { dictionary } from '@zxcvbn-ts/language-common';

import type { PasswordPolicySettings } from '../core/types.js';

export type { PasswordPolicySettings };
export type PasswordPolicy = Required<PasswordPolicySettings>;

/** NIST SP 800-63B §5.1.1.2: at least 8 characters, allow at least 64; check against breached lists. */
export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = { minLength: 8, maxLength: 256, historyCount: 5, rejectCommon: true };

/** The domain's policy: `settings.passwordPolicy` over the defaults, with out-of-range values clamped. */
export function passwordPolicyOf(settings: object): PasswordPolicy {
  const s = ((settings as { passwordPolicy?: PasswordPolicySettings }).passwordPolicy ?? {}) as PasswordPolicySettings;
  const int = (v: unknown, d: number, lo: number, hi: number) => (typeof v === 'number' && Number.isInteger(v) ? Math.min(hi, Math.max(lo, v)) : d);
  const minLength = int(s.minLength, DEFAULT_PASSWORD_POLICY.minLength, 1, 256);
  return {
    minLength,
    maxLength: int(s.maxLength, DEFAULT_PASSWORD_POLICY.maxLength, minLength, 1024),
    historyCount: int(s.historyCount, DEFAULT_PASSWORD_POLICY.historyCount, 0, 24),
    rejectCommon: typeof s.rejectCommon === 'boolean' ? s.rejectCommon : DEFAULT_PASSWORD_POLICY.rejectCommon,
  };
}

export type PasswordRule = 'minLength' | 'maxLength' | 'common' | 'userName' | 'history';

/** A password that breaks a rule; `message` names the rule and never contains the password. */
export class PasswordPolicyViolation extends Error {
  constructor(readonly rule: PasswordRule, message: string) { super(message); this.name = 'PasswordPolicyViolation'; }
}

/**
 * NIST SP 800-63B §5.1.1.2: passwords are Unicode and SHOULD be normalised (NFKC) before hashing, so
 * the same password typed on two keyboards verifies. Length is counted in code points.
 */
export const normalizePassword = (pw: string): string => pw.normalize('NFKC');

/** Argon2id with OWASP's first recommended parameters (m = 19 MiB, t = 2, p = 1). */
export class PasswordHasher {
  constructor(private readonly params: { memoryCost: number; timeCost: number; parallelism: number } = { memoryCost: 19_456, timeCost: 2, parallelism: 1 }) {}
  hash(password: string): Promise<string> {
    return argonHash(normalizePassword(password), { algorithm: ARGON2ID, ...this.params });
  }
  /** Constant-time comparison inside the library; false (never a throw) for a malformed hash. */
  async verify(hash: string, password: string): Promise<boolean> {
    try { return await argonVerify(hash, normalizePassword(password)); } catch { return false; }
  }
}

/**
 * The common/breached password list: the ~49k most common passwords from breach corpora, as shipped
 * by the maintained `@zxcvbn-ts/language-common` package (its `passwords-common` dictionary, lower-case).
 * Built into a Set on first use, once per instance.
 */
export class CommonPasswords {
  private set: Set<string> | undefined;
  has(password: string): boolean {
    this.set ??= new Set(dictionary['passwords-common']);
    return this.set.has(normalizePassword(password).toLowerCase());
  }
}

/** Checks a new password against a domain's policy; the history rule needs the stored hashes. */
export class PasswordPolicyChecker {
  constructor(private readonly hasher: PasswordHasher, private readonly common: CommonPasswords) {}

  /** The rules that need no stored state, cheapest first. Throws {@link PasswordPolicyViolation}. */
  checkStatic(password: string, policy: PasswordPolicy, userName?: string): void {
    const n = [...normalizePassword(password)].length;
    if (n < policy.minLength) throw new PasswordPolicyViolation('minLength', `password must be at least ${policy.minLength} characters long`);
    if (n > policy.maxLength) throw new PasswordPolicyViolation('maxLength', `password must be at most ${policy.maxLength} characters long`);
    // NIST SP 800-63B §5.1.1.2: refuse context-specific words such as the user name.
    if (userName && normalizePassword(password).toLowerCase() === userName.toLowerCase()) {
      throw new PasswordPolicyViolation('userName', 'password must not be the user name');
    }
    if (policy.rejectCommon && this.common.has(password)) {
      throw new PasswordPolicyViolation('common', 'password is too common (it appears in a list of breached or commonly used passwords)');
    }
  }

  /** The history rule: the new password may not match any of the last `historyCount` hashes. */
  async checkHistory(password: string, policy: PasswordPolicy, history: readonly string[]): Promise<void> {
    for (const h of history.slice(0, policy.historyCount)) {
      if (await this.hasher.verify(h, password)) {
        throw new PasswordPolicyViolation('history', `password must differ from the last ${policy.historyCount} passwords`);
      }
    }
  }
}
