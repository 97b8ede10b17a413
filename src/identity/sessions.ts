import type { Clock } from '../core/clock.js';
import { newJti, newSecret } from '../core/ids.js';
import { lookupHash } from '../crypto/secrets.js';
import { boundText } from '../events/emitter.js';
import type { Repositories, SessionRecord } from '../storage/ports.js';
import { revokeGrantIds, revokeSessionId } from './revocation.js';
import type { UserDisabledReason, UserLifecycleHook } from './users.js';

/** Longest User-Agent kept with a session (it is shown in the user's session list, never trusted). */
const MAX_USER_AGENT = 256;

export interface NewSession { userId: string; authTime: number; amr: string[]; acr: string; userAgent?: string; clientIp?: string }

/**
 * SSO sessions, shared by a domain's apps. The browser holds a random 256-bit value; only its hash is
 * stored. A new value is issued at every sign-in (the old session ends), so a cookie planted before
 * sign-in is worthless after it (session fixation, Keycloak CVE-2025-12390).
 */
export class SessionService {
  constructor(private repos: Pick<Repositories, 'sessions' | 'tokens' | 'revocations'>, private clock: Clock, private ttlMs: number) {}

  async create(domainId: string, s: NewSession, previousCookie?: string): Promise<{ cookie: string; session: SessionRecord }> {
    if (previousCookie) await this.repos.sessions.delete(lookupHash(previousCookie));
    const now = this.clock.now();
    const cookie = newSecret();
    const session: SessionRecord = {
      hash: lookupHash(cookie), sid: newJti(), domainId, userId: s.userId, authTime: s.authTime, amr: s.amr, acr: s.acr,
      ...(s.userAgent ? { userAgent: boundText(s.userAgent, MAX_USER_AGENT) } : {}), ...(s.clientIp ? { clientIp: s.clientIp } : {}),
      createdAt: now, expiresAt: now + this.ttlMs,
    };
    await this.repos.sessions.create(session);
    return { cookie, session };
  }

  /** The live session behind a cookie value, in this domain. */
  async current(domainId: string, cookie: string | undefined): Promise<SessionRecord | undefined> {
    if (!cookie || cookie.length > 100) return undefined;
    const s = await this.repos.sessions.find(lookupHash(cookie));
    if (!s || s.domainId !== domainId || s.expiresAt <= this.clock.now()) return undefined;
    return s;
  }

  /** Logout: the session ends and the tokens issued in it are revoked (RFC 9700 §4.14.2). */
  async end(session: SessionRecord): Promise<void> {
    await this.repos.sessions.delete(session.hash);
    await revokeSessionTokens(this.repos, session.domainId, session.sid, this.clock.now());
  }

  /** The user's live sessions, newest first (the account page and the console list them). */
  async listForUser(domainId: string, userId: string): Promise<SessionRecord[]> {
    return this.repos.sessions.listForUser(domainId, userId, this.clock.now());
  }

  /** Signs one session of the user out from elsewhere, as logout does; undefined when the user has no such session. */
  async endBySid(domainId: string, userId: string, sid: string): Promise<SessionRecord | undefined> {
    const ended = await this.repos.sessions.deleteBySid(domainId, userId, sid);
    if (ended) await revokeSessionTokens(this.repos, domainId, sid, this.clock.now());
    return ended;
  }

  /** Signs every session of the user out (but `keepSid`, when given), as logout does; returns the sids ended. */
  async endAllForUser(domainId: string, userId: string, keepSid?: string): Promise<string[]> {
    const sids = await this.repos.sessions.deleteForUser(domainId, userId, keepSid);
    const now = this.clock.now();
    for (const sid of sids) await revokeSessionTokens(this.repos, domainId, sid, now);
    return sids;
  }
}

/** Revokes stored tokens of a session and, through their grant ids and the session id, its JWT access tokens. */
export async function revokeSessionTokens(repos: Pick<Repositories, 'tokens' | 'revocations'>, domainId: string, sid: string, now: number): Promise<void> {
  const grants = await repos.tokens.revokeForSession(domainId, sid, now);
  await revokeGrantIds(repos, domainId, grants, now);
  await revokeSessionId(repos, domainId, sid, now);
}

/** A user deactivated or deleted loses every session and consent at once (their tokens go through RevokeUserTokensHook). */
export class EndUserSessionsHook implements UserLifecycleHook {
  readonly name = 'end-sessions';
  constructor(private repos: Pick<Repositories, 'sessions' | 'consents'>) {}
  async userDisabled(domainId: string, userId: string, reason: UserDisabledReason): Promise<void> {
    await this.repos.sessions.deleteForUser(domainId, userId);
    // A new password ends sessions but keeps what the user consented to.
    if (reason !== 'password_changed') await this.repos.consents.deleteForUser(domainId, userId);
  }
}
