import type { Clock } from '../core/clock.js';
import type { LoginThrottleRepository } from '../storage/ports.js';

export interface ThrottleSettings {
  /** Failures of one account (password or one-time code) before it is locked. */
  maxFailures: number;
  /** Failures from one source address, any account, before the address is refused. */
  ipMaxFailures: number;
  windowMs: number;
  lockoutMs: number;
}

/**
 * Brute-force defence for sign-in (RFC 6819 §4.4.3.6, RFC 4226 §7.3): failures are counted per account
 * and per source address in the database, so every node sees them. Past the limit the account (or the
 * address) is locked for a while. Callers answer a locked account exactly as a wrong password, so the
 * lock does not tell an attacker that the guess was right or that the account exists.
 */
export class LoginThrottle {
  constructor(private repo: LoginThrottleRepository, private clock: Clock, private cfg: ThrottleSettings) {}

  private static userKey = (userId: string) => `u:${userId}`;
  private static ipKey = (ip: string) => `ip:${ip}`;

  /** True when sign-in must be refused without checking the credential. */
  async locked(domainId: string, userId: string | undefined, ip: string): Promise<boolean> {
    const now = this.clock.now();
    const [ipState, userState] = await Promise.all([
      this.repo.get(domainId, LoginThrottle.ipKey(ip)),
      userId ? this.repo.get(domainId, LoginThrottle.userKey(userId)) : undefined,
    ]);
    return (ipState?.lockedUntil ?? 0) > now || (userState?.lockedUntil ?? 0) > now;
  }

  /** Counts one failure for the address and (if known) the account; locks either past its limit. Returns true if the account is now locked. */
  async failure(domainId: string, userId: string | undefined, ip: string): Promise<boolean> {
    const now = this.clock.now();
    const ipKey = LoginThrottle.ipKey(ip);
    const ipState = await this.repo.recordFailure(domainId, ipKey, now, this.cfg.windowMs);
    if (ipState.failures >= this.cfg.ipMaxFailures) await this.repo.lock(domainId, ipKey, now + this.cfg.lockoutMs);
    if (!userId) return false;
    const key = LoginThrottle.userKey(userId);
    const st = await this.repo.recordFailure(domainId, key, now, this.cfg.windowMs);
    if (st.failures >= this.cfg.maxFailures) {
      await this.repo.lock(domainId, key, now + this.cfg.lockoutMs);
      return true;
    }
    return false;
  }

  /**
   * Claims one check of a credential before it runs, counted as a failure of the address and (if known) the
   * account until it is released: each count is one atomic statement, so parallel guesses (Promise.all,
   * several nodes) each take a place, and those past a limit are refused without being checked. Reading
   * `locked` first and counting after the slow Argon2 check let every request in flight pass the same
   * "not locked" read. False (refuse, as a wrong credential) when locked or a limit is spent.
   * Then exactly one of: `claimFailed` (wrong), `release` (right).
   */
  async claim(domainId: string, userId: string | undefined, ip: string): Promise<boolean> {
    if (await this.locked(domainId, userId, ip)) return false;
    const keys: [string, number][] = [[LoginThrottle.ipKey(ip), this.cfg.ipMaxFailures]];
    if (userId) keys.push([LoginThrottle.userKey(userId), this.cfg.maxFailures]);
    let ok = true;
    for (const [key, max] of keys) {
      const now = this.clock.now();
      // A lock that has run out lets one check through (the one caller that clears it), as before claims: its
      // count is still at the limit, so a wrong guess locks again at once.
      const afterLock = await this.repo.takeExpiredLock(domainId, key, now);
      const st = await this.repo.recordFailure(domainId, key, now, this.cfg.windowMs);
      if (!afterLock && st.failures > max) {
        await this.repo.lock(domainId, key, now + this.cfg.lockoutMs);
        ok = false;
      }
    }
    return ok;
  }

  /** A claimed check failed (or was refused): the address and the account are locked once their counts reach the limit. */
  async claimFailed(domainId: string, userId: string | undefined, ip: string): Promise<void> {
    const keys: [string, number][] = [[LoginThrottle.ipKey(ip), this.cfg.ipMaxFailures]];
    if (userId) keys.push([LoginThrottle.userKey(userId), this.cfg.maxFailures]);
    for (const [key, max] of keys) {
      const now = this.clock.now();
      const st = await this.repo.get(domainId, key);
      if (st && st.failures >= max && (st.lockedUntil ?? 0) <= now) await this.repo.lock(domainId, key, now + this.cfg.lockoutMs);
    }
  }

  /**
   * A claimed check passed: its claim is taken back from the address and the account. The failures counted
   * before it stay (wrong codes after a right password still lock; `success` clears the account's count
   * once the whole sign-in is done).
   */
  async release(domainId: string, userId: string, ip: string): Promise<void> {
    await this.repo.forgive(domainId, LoginThrottle.ipKey(ip));
    await this.repo.forgive(domainId, LoginThrottle.userKey(userId));
  }

  /** A completed sign-in clears the account's counter (not the address's: one good account must not unlock a spraying source). */
  async success(domainId: string, userId: string): Promise<void> {
    await this.repo.reset(domainId, LoginThrottle.userKey(userId));
  }

  /** An administrator unlocks an account. */
  async unlock(domainId: string, userId: string): Promise<void> {
    await this.repo.reset(domainId, LoginThrottle.userKey(userId));
  }
}

export interface CodeEntrySettings {
  /** Wrong codes from one browser before it is refused for the lockout period. */
  perBrowser: number;
  /** Wrong codes from one source address (any browser) before it is refused. */
  perAddress: number;
  windowMs: number;
  lockoutMs: number;
}

/**
 * Guessing defence for codes a person types that belong to nobody in particular (RFC 8628 §5.1 user
 * codes): wrong entries are counted per browser (its binding cookie) and per source address, in the
 * same shared table as sign-in failures, under keys of their own.
 */
export class CodeEntryThrottle {
  constructor(private repo: LoginThrottleRepository, private clock: Clock, private cfg: CodeEntrySettings, private kind = 'uc') {}

  private keys(browser: string, ip: string) { return { browser: `${this.kind}:b:${browser}`, ip: `${this.kind}:ip:${ip}` }; }

  async locked(domainId: string, browser: string, ip: string): Promise<boolean> {
    const now = this.clock.now();
    const k = this.keys(browser, ip);
    const [b, a] = await Promise.all([this.repo.get(domainId, k.browser), this.repo.get(domainId, k.ip)]);
    return (b?.lockedUntil ?? 0) > now || (a?.lockedUntil ?? 0) > now;
  }

  /** Counts one wrong entry for the browser and the address; locks either past its limit. */
  async failure(domainId: string, browser: string, ip: string): Promise<void> {
    const now = this.clock.now();
    const k = this.keys(browser, ip);
    const b = await this.repo.recordFailure(domainId, k.browser, now, this.cfg.windowMs);
    if (b.failures >= this.cfg.perBrowser) await this.repo.lock(domainId, k.browser, now + this.cfg.lockoutMs);
    const a = await this.repo.recordFailure(domainId, k.ip, now, this.cfg.windowMs);
    if (a.failures >= this.cfg.perAddress) await this.repo.lock(domainId, k.ip, now + this.cfg.lockoutMs);
  }
}
