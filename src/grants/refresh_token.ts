import { InvalidGrant, InvalidRequest, InvalidScope } from '../core/errors.js';
import type { TokenRecord } from '../core/types.js';
import { lookupHash } from '../crypto/secrets.js';
import { resolveUserFlowScopes, splitScope } from '../identity/scopes.js';
import { revokeGrant } from '../identity/revocation.js';
import { userRoleIds } from '../identity/user_roles.js';
import { authStillValid } from '../identity/users.js';
import { readRefreshData, type RefreshTokenData } from '../tokens/user_tokens.js';
import { confirmationFor } from '../tokens/confirmation.js';
import { assertClientStillAssertsUsers, assertIssuerStillAllows } from './assertion_grant.js';
import type { ClientGrantHandler, GrantRequest, GrantServices, GrantTypeInfo, TokenResponse } from './types.js';

const aad = (r: TokenRecord) => `refresh-next:${r.domainId}:${r.hash}`;

/**
 * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): every use returns a new refresh token and retires the
 * old one; presenting a retired one revokes the whole family (grant) and its access tokens. With a
 * grace window (off by default) a retry within seconds gets the same new refresh token instead.
 */
export class RefreshTokenGrant implements ClientGrantHandler {
  static readonly info: GrantTypeInfo = { grantType: 'refresh_token', tokenEndpoint: true, responseTypes: [], selfRegistrable: true };
  readonly info = RefreshTokenGrant.info;
  readonly parameters = new Set(['refresh_token', 'scope']);
  readonly confidentialOnly = false;
  readonly clientAuthentication = 'required' as const;

  constructor(private readonly s: Pick<GrantServices, 'catalogs' | 'userTokens' | 'events' | 'clock' | 'repos' | 'masterKey' | 'config'>) {}

  async handle(req: GrantRequest): Promise<TokenResponse> {
    const raw = req.params.refresh_token;
    if (!raw) throw new InvalidRequest('refresh_token is required');
    const rec = raw.length <= 200 ? await this.s.repos.tokens.find(lookupHash(raw)) : undefined;
    if (!rec || rec.kind !== 'refresh' || rec.domainId !== req.domain.id) throw new InvalidGrant('the refresh token is invalid');
    // RFC 6749 §6: bound to the client it was issued to.
    if (rec.clientId !== req.client.clientId) throw new InvalidGrant('the refresh token was issued to another client');
    const now = this.s.clock.now();
    const d = readRefreshData(rec.data);
    // RFC 8705 §4: a public client's bound refresh token is used only with the certificate it was bound to
    // (checked first: a retired one from another certificate must neither get the grace result nor revoke the family).
    if (d.x5tS256 !== undefined && req.certificateThumbprint !== d.x5tS256) throw new InvalidGrant('the refresh token is bound to another TLS client certificate');
    if (rec.revokedAt !== undefined) {
      // Only a token retired by rotation coming back is reuse; one revoked by logout, /revoke, a new password or a
      // deactivation is simply no longer valid (no alarm, nothing more to revoke).
      if (d.rotatedAt !== undefined) return this.reused(req, rec, now);
      throw new InvalidGrant('the refresh token is no longer valid');
    }
    if (rec.expiresAt <= now) throw new InvalidGrant('the refresh token has expired');
    const cnf = confirmationFor(req.client, req.certificateThumbprint);

    const user = await this.s.repos.users.get(req.domain.id, rec.sub);
    if (!authStillValid(user, d.authTime)) throw new InvalidGrant('the user is no longer active, or their password changed since they signed in');
    const family = rec.scope.split(' ').filter(Boolean);
    let requested = family;
    if (req.params.scope !== undefined) {
      requested = splitScope(req.params.scope);
      // RFC 6749 §6: may narrow, never widen.
      const extra = requested.filter((x) => !family.includes(x));
      if (extra.length > 0) throw new InvalidScope(`scope exceeds the original grant: ${extra.join(' ').slice(0, 200)}`);
    }
    // A grant that came from a trusted issuer's assertion lasts as long as the domain trusts that issuer, and no wider than it now allows.
    if (d.trustedIssuerId !== undefined) await assertIssuerStillAllows(this.s.repos, req.domain.id, d.trustedIssuerId, req.client, family, requested);
    if (d.assertedByClient === true) assertClientStillAssertsUsers(req.client);
    // What the user and client may still have (roles revoked since are dropped with an error rather than silently kept).
    const cat = await this.s.catalogs.catalog(req.domain);
    const resolved = resolveUserFlowScopes(cat, req.client, await userRoleIds(this.s.repos, req.domain.id, rec.sub), requested);

    const auth = { userId: rec.sub, authTime: d.authTime, amr: d.amr, acr: d.acr, sid: d.sid, trustedIssuerId: d.trustedIssuerId, assertedByClient: d.assertedByClient };
    const tokens = {
      domain: req.domain, issuer: req.issuer, client: req.client, cat, auth, scopes: resolved.scopes, expiry: resolved.expiry, grantId: rec.grantId!,
      refresh: false, familyExpiresAt: d.familyExpiresAt, refreshScope: family, tokensValidAfter: user!.tokensValidAfter, cnf,
    };
    const next = this.s.userTokens.refreshRecord(tokens, now);
    const oldData: RefreshTokenData = { ...d, rotatedAt: now, nextHash: next.record.hash };
    if (this.s.config.refreshTokenGraceSeconds > 0) oldData.nextEnc = this.s.masterKey.encrypt(next.token, aad(rec));
    if (!(await this.s.repos.tokens.rotate(rec.hash, oldData, next.record, now))) {
      // Another request rotated it first: a concurrent reuse (TK-3) gets the grace result or revokes the family.
      const again = await this.s.repos.tokens.find(rec.hash);
      if (!again || readRefreshData(again.data).rotatedAt === undefined) throw new InvalidGrant('the refresh token is no longer valid');
      return this.reused(req, again!, now);
    }
    const issued = await this.s.userTokens.issue(tokens);
    issued.response.refresh_token = next.token;
    this.audit(req, rec, issued.accessTokenJti, resolved.scopes);
    return issued.response;
  }

  private audit(req: GrantRequest, rec: TokenRecord, jti: string, scopes: string[]): void {
    this.s.events.emit({
      eventId: 'token.issued', outcome: 'success', domainId: req.domain.id, actorType: 'user', actorId: rec.sub, clientIp: req.clientIp,
      targetType: 'access_token', targetId: jti, details: { grant_type: this.info.grantType, client_id: req.client.clientId, scope: scopes.join(' ') },
    });
  }

  private async reused(req: GrantRequest, rec: TokenRecord, now: number): Promise<TokenResponse> {
    const d = readRefreshData(rec.data);
    const grace = this.s.config.refreshTokenGraceSeconds * 1000;
    if (grace > 0 && d.rotatedAt !== undefined && now - d.rotatedAt <= grace && d.nextEnc && d.nextHash) {
      const successor = await this.s.repos.tokens.find(d.nextHash);
      if (successor && successor.revokedAt === undefined && successor.expiresAt > now) {
        // A retry after a lost response: the same new refresh token and a fresh access token, no new family member.
        const token = this.s.masterKey.decrypt(d.nextEnc, aad(rec));
        const cat = await this.s.catalogs.catalog(req.domain);
        const scopes = successor.scope.split(' ').filter(Boolean);
        // The retry answers as the rotation would now: not once the issuer behind the grant stopped allowing it.
        if (d.trustedIssuerId !== undefined) await assertIssuerStillAllows(this.s.repos, req.domain.id, d.trustedIssuerId, req.client, scopes, scopes);
        if (d.assertedByClient === true) assertClientStillAssertsUsers(req.client);
        const resolved = resolveUserFlowScopes(cat, req.client, await userRoleIds(this.s.repos, req.domain.id, rec.sub), scopes);
        const issued = await this.s.userTokens.issue({
          domain: req.domain, issuer: req.issuer, client: req.client, cat, scopes: resolved.scopes, grantId: rec.grantId!, refresh: false,
          auth: { userId: rec.sub, authTime: d.authTime, amr: d.amr, acr: d.acr, sid: d.sid }, cnf: confirmationFor(req.client, req.certificateThumbprint),
        });
        issued.response.refresh_token = token;
        this.audit(req, rec, issued.accessTokenJti, resolved.scopes);
        return issued.response;
      }
    }
    // RFC 9700 §4.14.2: a retired refresh token came back; either the client or an attacker has a copy. Revoke the family.
    if (rec.grantId) await revokeGrant(this.s.repos, req.domain.id, rec.grantId, now);
    this.s.events.emit({
      eventId: 'token.reuse_detected', outcome: 'failure', domainId: req.domain.id, actorType: 'client', actorId: req.client.clientId, clientIp: req.clientIp,
      targetType: 'refresh_token', targetId: rec.grantId,
    });
    throw new InvalidGrant('the refresh token is no longer valid');
  }
}
