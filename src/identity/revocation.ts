import { MAX_ACCESS_TOKEN_LIFETIME } from '../core/types.js';
import type { Repositories } from '../storage/ports.js';

/** Revokes every token of one grant (a replayed code, a reused refresh token): stored ones and, by `gid`, JWTs. Returns how many stored tokens. */
export async function revokeGrant(repos: Pick<Repositories, 'tokens' | 'revocations'>, domainId: string, grantId: string, now: number): Promise<number> {
  const n = await repos.tokens.revokeGrant(domainId, grantId, now);
  await revokeGrantIds(repos, domainId, [grantId], now);
  return n;
}

/** JWT access tokens carry their grant id (`gid`); a revoked grant is refused until its last token could have expired. */
export async function revokeGrantIds(repos: Pick<Repositories, 'revocations'>, domainId: string, grantIds: Iterable<string>, now: number): Promise<void> {
  for (const g of new Set(grantIds)) await repos.revocations.revokeJti(domainId, `gid:${g}`, now + MAX_ACCESS_TOKEN_LIFETIME * 1000);
}

/**
 * A sign-in session ended (logout, signed out from the account page or by an administrator): the tokens
 * issued in it that are not stored (JWT access tokens of a code flow without offline_access) carry its
 * `sid`, and are refused until the last of them could have expired.
 */
export async function revokeSessionId(repos: Pick<Repositories, 'revocations'>, domainId: string, sid: string, now: number): Promise<void> {
  await repos.revocations.revokeJti(domainId, `sid:${sid}`, now + MAX_ACCESS_TOKEN_LIFETIME * 1000);
}
