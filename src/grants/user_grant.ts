import { GRANT_TYPES, type AppRecord } from '../core/types.js';
import type { DomainCatalog } from '../identity/catalog.js';
import type { Authentication } from '../tokens/user_tokens.js';
import { confirmationFor } from '../tokens/confirmation.js';
import type { GrantRequest, GrantServices, TokenResponse } from './types.js';

/** A refresh token goes to clients allowed the refresh grant that asked for offline_access (or always, with allowOffline). */
export function wantsRefresh(client: AppRecord, scopes: readonly string[]): boolean {
  return client.allowedGrants.includes(GRANT_TYPES.refreshToken) && (scopes.includes('offline_access') || client.allowOffline === true);
}

/** Issue user tokens from a grant and audit it. */
export async function issueForUser(
  s: Pick<GrantServices, 'userTokens' | 'events'>,
  req: Pick<GrantRequest, 'domain' | 'issuer' | 'client' | 'clientIp' | 'certificateThumbprint'>,
  r: { cat: DomainCatalog; scopes: string[]; expiry?: number; grantId: string; nonce?: string; auth: Authentication; refresh: boolean; tokensValidAfter?: number },
  grantType: string,
  /** More for the audit trail (an assertion grant names the assertion's issuer). */
  auditDetails: Record<string, unknown> = {},
): Promise<TokenResponse> {
  const issued = await s.userTokens.issue({
    domain: req.domain, issuer: req.issuer, client: req.client, cat: r.cat, auth: r.auth, scopes: r.scopes, expiry: r.expiry, grantId: r.grantId,
    nonce: r.nonce, refresh: r.refresh, tokensValidAfter: r.tokensValidAfter, cnf: confirmationFor(req.client, req.certificateThumbprint),
  });
  s.events.emit({
    eventId: 'token.issued', outcome: 'success', domainId: req.domain.id, actorType: 'user', actorId: r.auth.userId, clientIp: req.clientIp,
    targetType: 'access_token', targetId: issued.accessTokenJti,
    details: { grant_type: grantType, client_id: req.client.clientId, scope: r.scopes.join(' '), refresh: issued.refresh !== undefined, ...auditDetails },
  });
  return issued.response;
}
