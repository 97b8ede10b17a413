import { resolveClientScopes, splitScope } from '../identity/scopes.js';
import type { GrantHandler, TokenContext, TokenResponse } from './types.js';

/** RFC 6749 §4.4: the client acts on its own behalf; no refresh token (§4.4.3). */
export class ClientCredentialsGrant implements GrantHandler {
  readonly grantType = 'client_credentials';
  readonly parameters = new Set(['scope']);
  readonly confidentialOnly = true;

  async handle(ctx: TokenContext): Promise<TokenResponse> {
    const cat = await ctx.catalogs.catalog(ctx.domain);
    const resolved = resolveClientScopes(cat, ctx.client, splitScope(ctx.params.scope));
    const at = await ctx.accessTokens.issue({
      domain: ctx.domain, issuer: ctx.issuer, client: ctx.client, sub: ctx.client.clientId!, subType: 'client',
      scopes: resolved.scopes, resourceServers: resolved.resourceServers, expiry: resolved.expiry,
    });
    ctx.events.emit({
      eventId: 'token.issued', outcome: 'success', domainId: ctx.domain.id, actorType: 'client', actorId: ctx.client.clientId,
      actorName: ctx.client.displayName, clientIp: ctx.clientIp, targetType: 'access_token', targetId: at.jti,
      details: { grant_type: this.grantType, scope: resolved.scopes.join(' '), format: at.format },
    });
    return { access_token: at.token, token_type: 'Bearer', expires_in: at.expiresIn, scope: resolved.scopes.join(' ') };
  }
}
