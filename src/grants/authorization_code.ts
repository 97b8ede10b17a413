import { createHash } from 'node:crypto';
import { InvalidGrant, InvalidRequest } from '../core/errors.js';
import { lookupHash, safeEqual } from '../crypto/secrets.js';
import { revokeGrant } from '../identity/revocation.js';
import { authStillValid } from '../identity/users.js';
import { issueForUser, wantsRefresh } from './user_grant.js';
import type { GrantHandler, TokenContext, TokenResponse } from './types.js';

// RFC 7636 §4.1: code_verifier = 43*128unreserved
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

interface CodeData {
  userId: string; redirectUri: string; redirectUriSent: boolean; scopes: string[]; expiry?: number; nonce?: string; codeChallenge?: string;
  authTime: number; amr: string[]; acr: string; sid?: string;
}

/** RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6) and OIDC Core §3.1.3. */
export class AuthorizationCodeGrant implements GrantHandler {
  readonly grantType = 'authorization_code';
  readonly parameters = new Set(['code', 'redirect_uri', 'code_verifier']);
  readonly confidentialOnly = false;

  async handle(ctx: TokenContext): Promise<TokenResponse> {
    const { code, redirect_uri: redirectUri, code_verifier: verifier } = ctx.params;
    if (!code) throw new InvalidRequest('code is required');
    if (verifier !== undefined && !VERIFIER.test(verifier)) throw new InvalidRequest('code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)');
    const now = ctx.clock.now();
    // Everything that can be checked is checked before the code is used: a code presented at another
    // domain's endpoint or by another client (a stolen code, a mix-up) is refused without burning it,
    // so it neither locks out the rightful client nor trips its reuse detection.
    const rec = code.length <= 200 ? await ctx.repos.codes.get(lookupHash(code)) : undefined;
    if (!rec || rec.domainId !== ctx.domain.id) throw new InvalidGrant('the authorization code is invalid');
    // RFC 6749 §4.1.3: bound to the client it was issued to ...
    if (rec.clientId !== ctx.client.clientId) throw new InvalidGrant('the authorization code was issued to another client');
    if (rec.consumedAt !== undefined) return this.replayed(ctx, rec.grantId, now);
    if (rec.expiresAt <= now) throw new InvalidGrant('the authorization code has expired');
    const d = rec.data as unknown as CodeData;
    // ... and to the redirect_uri of the authorization request (required here if it was sent there).
    if (d.redirectUriSent ? redirectUri !== d.redirectUri : redirectUri !== undefined && redirectUri !== d.redirectUri) {
      throw new InvalidGrant('redirect_uri does not match the authorization request');
    }
    if (d.codeChallenge) {
      if (!verifier) throw new InvalidGrant('code_verifier is required');
      const computed = createHash('sha256').update(verifier).digest('base64url');
      if (!safeEqual(computed, d.codeChallenge)) throw new InvalidGrant('code_verifier does not match the code_challenge');
    } else if (verifier !== undefined) {
      // RFC 9700 §4.8.2: a verifier for a code issued without a challenge is a downgrade attempt.
      throw new InvalidGrant('code_verifier sent but the authorization request had no code_challenge');
    }
    // The single-use point: of concurrent redemptions by the rightful client, one wins and the rest are replays.
    const consumed = await ctx.repos.codes.consume(rec.hash, now);
    if (!consumed?.firstUse) return this.replayed(ctx, rec.grantId, now);
    const user = await ctx.repos.users.get(ctx.domain.id, d.userId);
    // A code from a sign-in before a new password or a deactivation is worth no more than the session it came from.
    if (!authStillValid(user, d.authTime)) throw new InvalidGrant('the user is no longer active, or their password changed since they signed in');
    const cat = await ctx.catalogs.catalog(ctx.domain);
    const scopes = d.scopes;
    return issueForUser(ctx, {
      cat, scopes, expiry: d.expiry, grantId: rec.grantId, nonce: d.nonce,
      auth: { userId: d.userId, authTime: d.authTime, amr: d.amr, acr: d.acr, sid: d.sid },
      refresh: wantsRefresh(ctx.client, scopes), tokensValidAfter: user!.tokensValidAfter,
    }, this.grantType);
  }

  /** RFC 6749 §4.1.2 / §10.5: the rightful client redeemed the code before; every token issued from it is revoked. */
  private async replayed(ctx: TokenContext, grantId: string, now: number): Promise<never> {
    const revoked = await revokeGrant(ctx.repos, ctx.domain.id, grantId, now);
    ctx.events.emit({
      eventId: 'token.reuse_detected', outcome: 'failure', domainId: ctx.domain.id, actorType: 'client', actorId: ctx.client.clientId, clientIp: ctx.clientIp,
      targetType: 'authorization_code', targetId: grantId, details: { revoked },
    });
    throw new InvalidGrant('the authorization code was already used');
  }
}
