import { resolveClientScopes, splitScope } from '../identity/scopes.js';
import { confirmationFor } from '../tokens/confirmation.js';
import type { ClientGrantHandler, GrantRequest, GrantServices, GrantTypeInfo, TokenResponse } from './types.js';

/** RFC 6749 §4.4: the client acts on its own behalf; no refresh token (§4.4.3). */
export class ClientCredentialsGrant implements ClientGrantHandler {
  static readonly info: GrantTypeInfo = { grantType: 'client_credentials', tokenEndpoint: true, responseTypes: [], selfRegistrable: true };
  readonly info = ClientCredentialsGrant.info;
  readonly parameters = new Set(['scope']);
  readonly confidentialOnly = true;
  readonly clientAuthentication = 'required' as const;

  constructor(private readonly s: Pick<GrantServices, 'catalogs' | 'accessTokens' | 'events'>) {}

  async handle(req: GrantRequest): Promise<TokenResponse> {
    const cat = await this.s.catalogs.catalog(req.domain);
    const resolved = resolveClientScopes(cat, req.client, splitScope(req.params.scope));
    const at = await this.s.accessTokens.issue({
      domain: req.domain, issuer: req.issuer, client: req.client, sub: req.client.clientId!, subType: 'client',
      scopes: resolved.scopes, resourceServers: resolved.resourceServers, expiry: resolved.expiry, cnf: confirmationFor(req.client, req.certificateThumbprint),
    });
    this.s.events.emit({
      eventId: 'token.issued', outcome: 'success', domainId: req.domain.id, actorType: 'client', actorId: req.client.clientId,
      actorName: req.client.displayName, clientIp: req.clientIp, targetType: 'access_token', targetId: at.jti,
      details: { grant_type: this.info.grantType, scope: resolved.scopes.join(' '), format: at.format },
    });
    return { access_token: at.token, token_type: 'Bearer', expires_in: at.expiresIn, scope: resolved.scopes.join(' ') };
  }
}
