import { createHash } from 'node:crypto';
import { InvalidGrant, InvalidRequest } from '../core/errors.js';
import { lookupHash, safeEqual } from '../crypto/secrets.js';
import { revokeGrant } from '../identity/revocation.js';
import { readCodeData } from '../authorize/code_data.js';
import { authStillValid } from '../identity/users.js';
import { issueForUser, wantsRefresh } from './user_grant.js';
import type { ClientGrantHandler, GrantRequest, GrantServices, GrantTypeInfo, TokenResponse } from './types.js';

// RFC 7636 §4.1: code_verifier = 43*128unreserved
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6) and OIDC Core §3.1.3. */
export class AuthorizationCodeGrant implements ClientGrantHandler {
  static readonly info: GrantTypeInfo = { grantType: 'authorization_code', tokenEndpoint: true, responseTypes: ['code'], selfRegistrable: true };
  readonly info = AuthorizationCodeGrant.info;
  readonly parameters = new Set(['code', 'redirect_uri', 'code_verifier']);
  readonly confidentialOnly = false;
  readonly clientAuthentication = 'required' as const;

  constructor(private readonly s: Pick<GrantServices, 'catalogs' | 'userTokens' | 'events' | 'clock' | 'repos'>) {}

  async handle(req: GrantRequest): Promise<TokenResponse> {
    const { code, redirect_uri: redirectUri, code_verifier: verifier } = req.params;
    if (!code) throw new InvalidRequest('code is required');
    if (verifier !== undefined && !VERIFIER.test(verifier)) throw new InvalidRequest('code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)');
    const now = this.s.clock.now();
    // Everything that can be checked is checked before the code is used: a code presented at another
    // domain's endpoint or by another client (a stolen code, a mix-up) is refused without burning it,
    // so it neither locks out the rightful client nor trips its reuse detection.
    const rec = code.length <= 200 ? await this.s.repos.codes.get(lookupHash(code)) : undefined;
    if (!rec || rec.domainId !== req.domain.id) throw new InvalidGrant('the authorization code is invalid');
    // RFC 6749 §4.1.3: bound to the client it was issued to ...
    if (rec.clientId !== req.client.clientId) throw new InvalidGrant('the authorization code was issued to another client');
    if (rec.consumedAt !== undefined) return this.replayed(req, rec.grantId, now);
    if (rec.expiresAt <= now) throw new InvalidGrant('the authorization code has expired');
    const d = readCodeData(rec.data);
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
    const consumed = await this.s.repos.codes.consume(rec.hash, now);
    if (!consumed?.firstUse) return this.replayed(req, rec.grantId, now);
    const user = await this.s.repos.users.get(req.domain.id, d.userId);
    // A code from a sign-in before a new password or a deactivation is worth no more than the session it came from.
    if (!authStillValid(user, d.authTime)) throw new InvalidGrant('the user is no longer active, or their password changed since they signed in');
    const cat = await this.s.catalogs.catalog(req.domain);
    const scopes = d.scopes;
    return issueForUser(this.s, req, {
      cat, scopes, expiry: d.expiry, grantId: rec.grantId, nonce: d.nonce,
      auth: { userId: d.userId, authTime: d.authTime, amr: d.amr, acr: d.acr, sid: d.sid },
      refresh: wantsRefresh(req.client, scopes), tokensValidAfter: user!.tokensValidAfter,
    }, this.info.grantType);
  }

  /** RFC 6749 §4.1.2 / §10.5: the rightful client redeemed the code before; every token issued from it is revoked. */
  private async replayed(req: GrantRequest, grantId: string, now: number): Promise<never> {
    const revoked = await revokeGrant(this.s.repos, req.domain.id, grantId, now);
    this.s.events.emit({
      eventId: 'token.reuse_detected', outcome: 'failure', domainId: req.domain.id, actorType: 'client', actorId: req.client.clientId, clientIp: req.clientIp,
      targetType: 'authorization_code', targetId: grantId, details: { revoked },
    });
    throw new InvalidGrant('the authorization code was already used');
  }
}
