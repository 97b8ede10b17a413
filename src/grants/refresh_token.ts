import { InvalidGrant, InvalidRequest, InvalidScope } from '../core/errors.js';
import type { TokenRecord } from '../core/types.js';
import { lookupHash } from '../crypto/secrets.js';
import { resolveUserFlowScopes, splitScope } from '../identity/scopes.js';
import { revokeGrant } from '../identity/revocation.js';
import { userRoleIds } from '../identity/user_roles.js';
import { authStillValid } from '../identity/users.js';
import type { GrantHandler, TokenContext, TokenResponse } from './types.js';

interface RefreshData {
  familyExpiresAt: number; authTime: number; amr: string[]; acr: string; sid?: string;
  /** Set when rotated: when, and the token that replaced it (encrypted, only with a grace window). */
  rotatedAt?: number; nextHash?: string; nextEnc?: string;
}

const aad = (r: TokenRecord) => `refresh-next:${r.domainId}:${r.hash}`;

/**
 * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): every use returns a new refresh token and retires the
 * old one; presenting a retired one revokes the whole family (grant) and its access tokens. With a
 * grace window (off by default) a retry within seconds gets the same new refresh token instead.
 */
export class RefreshTokenGrant implements GrantHandler {
  readonly grantType = 'refresh_token';
  readonly parameters = new Set(['refresh_token', 'scope']);
  readonly confidentialOnly = false;

  async handle(ctx: TokenContext): Promise<TokenResponse> {
    const raw = ctx.params.refresh_token;
    if (!raw) throw new InvalidRequest('refresh_token is required');
    const rec = raw.length <= 200 ? await ctx.repos.tokens.find(lookupHash(raw)) : undefined;
    if (!rec || rec.kind !== 'refresh' || rec.domainId !== ctx.domain.id) throw new InvalidGrant('the refresh token is invalid');
    // RFC 6749 §6: bound to the client it was issued to.
    if (rec.clientId !== ctx.client.clientId) throw new InvalidGrant('the refresh token was issued to another client');
    const now = ctx.clock.now();
    const d = rec.data as unknown as RefreshData;
    if (rec.revokedAt !== undefined) {
      // Only a token retired by rotation coming back is reuse; one revoked by logout, /revoke, a new password or a
      // deactivation is simply no longer valid (no alarm, nothing more to revoke).
      if (d.rotatedAt !== undefined) return this.reused(ctx, rec, now);
      throw new InvalidGrant('the refresh token is no longer valid');
    }
    if (rec.expiresAt <= now) throw new InvalidGrant('the refresh token has expired');

    const user = await ctx.repos.users.get(ctx.domain.id, rec.sub);
    if (!authStillValid(user, d.authTime)) throw new InvalidGrant('the user is no longer active, or their password changed since they signed in');
    const family = rec.scope.split(' ').filter(Boolean);
    let requested = family;
    if (ctx.params.scope !== undefined) {
      requested = splitScope(ctx.params.scope);
      // RFC 6749 §6: may narrow, never widen.
      const extra = requested.filter((x) => !family.includes(x));
      if (extra.length > 0) throw new InvalidScope(`scope exceeds the original grant: ${extra.join(' ').slice(0, 200)}`);
    }
    // What the user and client may still have (roles revoked since are dropped with an error rather than silently kept).
    const cat = await ctx.catalogs.catalog(ctx.domain);
    const resolved = resolveUserFlowScopes(cat, ctx.client, await userRoleIds(ctx.repos, ctx.domain.id, rec.sub), requested);

    const auth = { userId: rec.sub, authTime: d.authTime, amr: d.amr, acr: d.acr, sid: d.sid };
    const req = {
      domain: ctx.domain, issuer: ctx.issuer, client: ctx.client, cat, auth, scopes: resolved.scopes, expiry: resolved.expiry, grantId: rec.grantId!,
      refresh: false, familyExpiresAt: d.familyExpiresAt, refreshScope: family, tokensValidAfter: user!.tokensValidAfter,
    };
    const next = ctx.userTokens.refreshRecord(req, now);
    const oldData: RefreshData = { ...d, rotatedAt: now, nextHash: next.record.hash };
    if (ctx.refreshGraceSeconds > 0) oldData.nextEnc = ctx.masterKey.encrypt(next.token, aad(rec));
    if (!(await ctx.repos.tokens.rotate(rec.hash, oldData as unknown as Record<string, unknown>, next.record, now))) {
      // Another request rotated it first: a concurrent reuse (TK-3) gets the grace result or revokes the family.
      const again = await ctx.repos.tokens.find(rec.hash);
      if ((again?.data as RefreshData | undefined)?.rotatedAt === undefined) throw new InvalidGrant('the refresh token is no longer valid');
      return this.reused(ctx, again!, now);
    }
    const issued = await ctx.userTokens.issue(req);
    issued.response.refresh_token = next.token;
    this.audit(ctx, rec, issued.accessTokenJti, resolved.scopes);
    return issued.response;
  }

  private audit(ctx: TokenContext, rec: TokenRecord, jti: string, scopes: string[]): void {
    ctx.events.emit({
      eventId: 'token.issued', outcome: 'success', domainId: ctx.domain.id, actorType: 'user', actorId: rec.sub, clientIp: ctx.clientIp,
      targetType: 'access_token', targetId: jti, details: { grant_type: this.grantType, client_id: ctx.client.clientId, scope: scopes.join(' ') },
    });
  }

  private async reused(ctx: TokenContext, rec: TokenRecord, now: number): Promise<TokenResponse> {
    const d = rec.data as unknown as RefreshData;
    const grace = ctx.refreshGraceSeconds * 1000;
    if (grace > 0 && d.rotatedAt !== undefined && now - d.rotatedAt <= grace && d.nextEnc && d.nextHash) {
      const successor = await ctx.repos.tokens.find(d.nextHash);
      if (successor && successor.revokedAt === undefined && successor.expiresAt > now) {
        // A retry after a lost response: the same new refresh token and a fresh access token, no new family member.
        const token = ctx.masterKey.decrypt(d.nextEnc, aad(rec));
        const cat = await ctx.catalogs.catalog(ctx.domain);
        const scopes = successor.scope.split(' ').filter(Boolean);
        const resolved = resolveUserFlowScopes(cat, ctx.client, await userRoleIds(ctx.repos, ctx.domain.id, rec.sub), scopes);
        const issued = await ctx.userTokens.issue({
          domain: ctx.domain, issuer: ctx.issuer, client: ctx.client, cat, scopes: resolved.scopes, grantId: rec.grantId!, refresh: false,
          auth: { userId: rec.sub, authTime: d.authTime, amr: d.amr, acr: d.acr, sid: d.sid },
        });
        issued.response.refresh_token = token;
        this.audit(ctx, rec, issued.accessTokenJti, resolved.scopes);
        return issued.response;
      }
    }
    // RFC 9700 §4.14.2: a retired refresh token came back; either the client or an attacker has a copy. Revoke the family.
    if (rec.grantId) await revokeGrant(ctx.repos, ctx.domain.id, rec.grantId, now);
    ctx.events.emit({
      eventId: 'token.reuse_detected', outcome: 'failure', domainId: ctx.domain.id, actorType: 'client', actorId: ctx.client.clientId, clientIp: ctx.clientIp,
      targetType: 'refresh_token', targetId: rec.grantId,
    });
    throw new InvalidGrant('the refresh token is no longer valid');
  }
}
