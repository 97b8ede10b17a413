import type { FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from '../core/errors.js';
import type { AppRecord } from '../core/types.js';
import { lookupHash } from '../crypto/secrets.js';
import { browserBinding, signinUrl } from '../http/browser_session.js';
import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';
import type { Flow, FlowState } from '../identity/authn.js';
import type { Authentication } from '../tokens/user_tokens.js';
import { isBuiltinClient } from '../identity/builtins.js';
import { consentCovers, grantedScopes, type GrantedScopes } from './consent.js';
import { issueAuthorizationResponse } from './issue.js';
import type { AuthorizeRequest } from './request.js';

/**
 * After authentication: consent (remembered per user, client and scope set), then the response.
 * `flow` is the sign-in flow when there is one (it is reused for the consent step, then dropped).
 * `granted` is passed when the caller already resolved the scopes with the user's roles in this request.
 */
export async function continueAuthorization(
  s: Services, c: DomainContext, req: FastifyRequest, reply: FastifyReply, client: AppRecord, request: AuthorizeRequest, auth: Authentication,
  o: { flow?: Flow; requestState?: string; status: 302 | 303; consented?: boolean; granted?: GrantedScopes },
): Promise<FastifyReply> {
  const { flow, status } = o;
  const granted = o.granted ?? await grantedScopes(s, c, client, request.scopes, auth.userId);
  // Tessera's own console and account page are first party: no consent page. A narrow rule for the
  // built-in clients (which nobody can change), not a switch an administrator could set on another app.
  if (!o.consented && !client.bypassConsent && !isBuiltinClient(client)) {
    const covered = await consentCovers(s, c, auth.userId, client, granted.resolved.scopes);
    if (!covered || request.prompt.includes('consent')) {
      if (request.prompt.includes('none')) throw new OAuthError('consent_required', 'the user has not consented to this request');
      const state: FlowState = flow?.state ?? {
        kind: 'authorize', clientId: client.clientId!, request, step: 'consent', amr: auth.amr, mfaRequested: false, userId: auth.userId, authTime: auth.authTime,
      };
      state.step = 'consent';
      state.sid = auth.sid;
      state.userId = auth.userId;
      if (flow) {
        await s.authn.save(flow);
        return reply.status(303).header('location', signinUrl(c, o.requestState ?? '')).send();
      }
      const binding = browserBinding(req, reply, c);
      state.browser = lookupHash(binding);
      const started = await s.authn.start(c.domain.id, state);
      return reply.status(303).header('cache-control', 'no-store').header('location', signinUrl(c, started.requestState)).send();
    }
  }
  if (flow) await s.authn.drop(flow);
  return issueAuthorizationResponse(s, c, reply, req.ip, client, request, auth, granted, status);
}
