import type { FastifyReply } from 'fastify';
import { newId, newSecret } from '../core/ids.js';
import type { AppRecord } from '../core/types.js';
import { lookupHash } from '../crypto/secrets.js';
import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';
import { claimsOf } from '../identity/claims.js';
import type { Authentication } from '../tokens/user_tokens.js';
import type { CodeData } from './code_data.js';
import type { GrantedScopes } from './consent.js';
import type { AuthorizeRequest } from './request.js';
import { sendAuthorizationResponse } from './response.js';

/**
 * The authorization response once the user is authenticated and has consented: a stored code
 * (RFC 6749 §4.1.2), or for implicit clients the tokens themselves (§4.2.2; OIDC Core §3.2.2.5).
 */
export async function issueAuthorizationResponse(
  s: Services, c: DomainContext, reply: FastifyReply, clientIp: string, client: AppRecord, request: AuthorizeRequest, auth: Authentication,
  granted: GrantedScopes, status: 302 | 303,
): Promise<FastifyReply> {
  const { cat, resolved } = granted;
  const params: Record<string, string | undefined> = { state: request.state };
  if (request.responseType === 'code') {
    const code = newSecret();
    await s.repos.codes.create({
      hash: lookupHash(code), domainId: c.domain.id, clientId: client.clientId!, grantId: newId(), expiresAt: s.clock.now() + s.config.codeTtl * 1000,
      data: {
        userId: auth.userId, redirectUri: request.redirectUri, redirectUriSent: request.redirectUriSent, scopes: resolved.scopes,
        expiry: resolved.expiry, nonce: request.nonce, codeChallenge: request.codeChallenge, authTime: auth.authTime, amr: auth.amr, acr: auth.acr, sid: auth.sid,
      } satisfies CodeData,
    });
    params.code = code;
  } else {
    // Implicit (opted-in clients only; RFC 9700 §2.1.2): tokens in the fragment, never a refresh token.
    const grantId = newId();
    // 'id_token' alone contains "token" too: test the response type exactly.
    if (request.responseType === 'token' || request.responseType === 'id_token token') {
      const user = await s.repos.users.get(c.domain.id, auth.userId);
      const issued = await s.userTokens.issue({
        domain: c.domain, issuer: c.issuer, client, cat, auth, scopes: resolved.scopes, expiry: resolved.expiry, grantId, nonce: request.nonce, refresh: false,
        idToken: request.responseType.includes('id_token'), tokensValidAfter: user?.tokensValidAfter,
      });
      Object.assign(params, {
        access_token: issued.response.access_token, token_type: 'Bearer', expires_in: String(issued.response.expires_in), scope: issued.response.scope,
        id_token: issued.response.id_token,
      });
    } else {
      // OIDC Core §5.4: no access token is issued, so the claims the scopes ask for go in the ID token.
      const claims = await claimsOf(s, c.domain, auth.userId, new Set(resolved.scopes), granted.roles);
      params.id_token = await s.idTokens.issue({
        domain: c.domain, issuer: c.issuer, client, userId: auth.userId, authTime: auth.authTime, nonce: request.nonce, amr: auth.amr, acr: auth.acr, sid: auth.sid,
        claims,
      });
    }
    s.events.emit({
      eventId: 'token.issued', outcome: 'success', domainId: c.domain.id, actorType: 'user', actorId: auth.userId, clientIp,
      details: { client_id: client.clientId, response_type: request.responseType, scope: resolved.scopes.join(' ') },
    });
  }
  return sendAuthorizationResponse(reply, { redirectUri: request.redirectUri, responseMode: request.responseMode, issuer: c.issuer, params, status });
}
