/**
 * Users: the one place that creates, changes, deactivates and deletes them (no HTTP in here).
 *
 * Deactivation and deletion go through {@link UserService.deactivate} / {@link UserService.delete}
 * (and `update` when `active` turns false), which call every {@link UserLifecycleHook}. That is the
 * hook point for revoking what a user holds: today their tokens; sessions, refresh-token families and
 * consents register their own hook when they arrive.
 */
import type { Clock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { DomainRecord } from '../core/types.js';
import type { GrantRepository, Repositories, UserRecord, UserRepository } from '../storage/ports.js';
import { revokeGrantIds } from './revocation.js';
import { passwordPolicyOf, type PasswordHasher, type PasswordPolicyChecker } from './passwords.js';

/** Why a user's tokens and sessions end: gone, switched off, or a new password (RFC 9700 §4.14.2: refresh tokens do not outlive it). */
export type UserDisabledReason = 'deactivated' | 'deleted' | 'password_changed';

/** Called after a user was deactivated or deleted; must be idempotent (a retry may call it twice). */
export interface UserLifecycleHook {
  readonly name: string;
  userDisabled(domainId: string, userId: string, reason: UserDisabledReason, now: number): Promise<void>;
}

/**
 * Revokes every stored token (refresh tokens, opaque access tokens) of the user and, through their
 * grant ids, the JWT access tokens issued with them (as logout does). JWTs of grants that stored
 * nothing (a code redeemed without a refresh token, the password grant) are refused by the validator
 * through the user's `tokensValidAfter` and, once the user is inactive or gone, through `userActive`.
 */
export class RevokeUserTokensHook implements UserLifecycleHook {
  readonly name = 'revoke-tokens';
  constructor(private readonly repos: Pick<Repositories, 'tokens' | 'revocations'>) {}
  async userDisabled(domainId: string, userId: string, _reason: UserDisabledReason, now: number): Promise<void> {
    await revokeGrantIds(this.repos, domainId, await this.repos.tokens.revokeForSubject(domainId, 'user', userId, now), now);
  }
}

/** Removes a deleted user's app-role grants (a deactivated user keeps them for when they return). */
export class DeleteUserGrantsHook implements UserLifecycleHook {
  readonly name = 'delete-grants';
  constructor(private readonly grants: GrantRepository) {}
  async userDisabled(domainId: string, userId: string, reason: UserDisabledReason): Promise<void> {
    if (reason === 'deleted') await this.grants.deleteForGrantee(domainId, 'User', userId);
  }
}

/**
 * May what came of an authentication at `authTime` (epoch ms: a session, a code, a refresh token, an
 * authnToken) still be used? Not once the user is inactive or gone, nor after a new password or a
 * deactivation that came later (a reactivation does not bring it back).
 */
export function authStillValid(user: Pick<UserRecord, 'active' | 'tokensValidAfter'> | undefined, authTime: number): boolean {
  return user?.active === true && (user.tokensValidAfter === undefined || authTime >= user.tokensValidAfter);
}

/**
 * May a token stamped `iat` (epoch seconds) still be used, given a cut-off in ms? The issuer stamps tokens
 * issued in the cut-off's own second with the next second (see AccessTokenIssuer), so a token with
 * `iat * 1000 < cut` was issued before the cut: refused, even within the same second.
 */
export const issuedAfterCut = (iat: number, cut: number | undefined): boolean => cut === undefined || iat * 1000 >= cut;

export interface NewUser {
  /** Chosen by the caller when something must refer to the user before it exists (a grant made first); otherwise new. */
  id?: string;
  userName: string;
  externalId?: string;
  active: boolean;
  attributes: Record<string, unknown>;
  /** Clear text; absent: the user cannot sign in until one is set. */
  password?: string;
}

export interface UserServiceDeps {
  users: UserRepository;
  clock: Clock;
  hasher: PasswordHasher;
  policy: PasswordPolicyChecker;
  hooks: readonly UserLifecycleHook[];
}

export class UserService {
  constructor(private readonly d: UserServiceDeps) {}

  /** Policy checks, then the slow hash, all before any write (no transaction is held while hashing). */
  private async newPassword(domain: DomainRecord, password: string, userName: string, history: readonly string[]) {
    const policy = passwordPolicyOf(domain.settings);
    this.d.policy.checkStatic(password, policy, userName);
    await this.d.policy.checkHistory(password, policy, history);
    const hash = await this.d.hasher.hash(password);
    return { hash, history: policy.historyCount > 0 ? [hash, ...history].slice(0, policy.historyCount) : [] };
  }

  /** Throws PasswordPolicyViolation, or Conflict('userName') from the store. */
  async create(domain: DomainRecord, u: NewUser): Promise<UserRecord> {
    const pw = u.password !== undefined ? await this.newPassword(domain, u.password, u.userName, []) : undefined;
    const now = this.d.clock.now();
    const rec: UserRecord = {
      id: u.id ?? newId(), domainId: domain.id, userName: u.userName, active: u.active, attributes: u.attributes,
      passwordHistory: pw?.history ?? [], version: 1, createdAt: now, updatedAt: now,
    };
    if (u.externalId !== undefined) rec.externalId = u.externalId;
    if (pw) rec.passwordHash = pw.hash;
    await this.d.users.create(rec);
    return rec;
  }

  /**
   * Replace a user's attributes (and password when given). Turning `active` off runs the hooks.
   * Throws PasswordPolicyViolation, Conflict, StaleVersion.
   */
  async update(domain: DomainRecord, existing: UserRecord, u: NewUser): Promise<UserRecord> {
    const pw = u.password !== undefined ? await this.newPassword(domain, u.password, u.userName, existing.passwordHistory) : undefined;
    const now = this.d.clock.now();
    const next: UserRecord = {
      ...existing, userName: u.userName, active: u.active, attributes: u.attributes, updatedAt: now,
    };
    if (u.externalId !== undefined) next.externalId = u.externalId;
    else delete next.externalId;
    if (pw) { next.passwordHash = pw.hash; next.passwordHistory = pw.history; }
    // A new password or a deactivation ends every access token issued before it (RFC 9700 §4.14.2 spirit):
    // even after a reactivation, tokens from before stay refused.
    if (pw || (existing.active && !u.active)) next.tokensValidAfter = now;
    const saved = await this.d.users.update(next, existing.version);
    if (existing.active && !saved.active) await this.disabled(domain.id, saved.id, 'deactivated', now);
    else if (pw) await this.disabled(domain.id, saved.id, 'password_changed', now);
    return saved;
  }

  /** Set `active: false` and revoke what the user holds. */
  async deactivate(domain: DomainRecord, existing: UserRecord): Promise<UserRecord> {
    if (!existing.active) return existing;
    const now = this.d.clock.now();
    const saved = await this.d.users.update({ ...existing, active: false, tokensValidAfter: now, updatedAt: now }, existing.version);
    await this.disabled(domain.id, saved.id, 'deactivated', now);
    return saved;
  }

  /** Delete the user (and their group memberships) and revoke what they hold; false when the version moved on. */
  async delete(domain: DomainRecord, existing: UserRecord, expectedVersion?: number): Promise<boolean> {
    if (!(await this.d.users.delete(domain.id, existing.id, expectedVersion))) return false;
    await this.disabled(domain.id, existing.id, 'deleted', this.d.clock.now());
    return true;
  }

  /** Constant-time check of a password against the stored Argon2id hash; false when none is set. */
  async verifyPassword(user: UserRecord, password: string): Promise<boolean> {
    if (!user.passwordHash) return false;
    return this.d.hasher.verify(user.passwordHash, password);
  }

  private dummyHash?: Promise<string>;
  /**
   * Sign-in check that costs the same whether or not the account exists or has a password: an
   * unknown user is verified against a dummy Argon2id hash, so timing does not enumerate accounts.
   */
  async checkCredentials(user: UserRecord | undefined, password: string): Promise<boolean> {
    if (user?.passwordHash) return this.d.hasher.verify(user.passwordHash, password);
    this.dummyHash ??= this.d.hasher.hash('dummy password for timing equalisation');
    await this.d.hasher.verify(await this.dummyHash, password);
    return false;
  }

  /** The hook point: every registered hook runs, in order. */
  private async disabled(domainId: string, userId: string, reason: UserDisabledReason, now: number): Promise<void> {
    for (const h of this.d.hooks) await h.userDisabled(domainId, userId, reason, now);
  }
}
