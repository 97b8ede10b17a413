import type { FastifyReply } from 'fastify';
import { OAuthError } from '../core/errors.js';
import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';
import { AuthnError } from '../identity/authn.js';
import { isStoreUnavailable } from '../storage/errors.js';
import { errorPage, unavailablePage } from '../ui/html.js';
import { AuthorizePageError, AuthorizeRedirectError, type AuthorizeRequest } from './request.js';
import { errorParams, sendAuthorizationResponse } from './response.js';

/** Renders an authorization error: page errors here, protocol errors to the client (RFC 9207 `iss` included). */
export function authorizeError(s: Pick<Services, 'log'>, c: DomainContext, reply: FastifyReply, e: unknown, status: 302 | 303, request?: AuthorizeRequest): FastifyReply {
  if (e instanceof AuthorizePageError) return errorPage(reply, e.status, e.title, e.detail);
  if (e instanceof AuthorizeRedirectError) {
    return sendAuthorizationResponse(reply, { redirectUri: e.request.redirectUri, responseMode: e.request.responseMode, issuer: c.issuer, params: errorParams(e, e.request.state), status });
  }
  if (e instanceof OAuthError && request && e.status < 500) {
    return sendAuthorizationResponse(reply, { redirectUri: request.redirectUri, responseMode: request.responseMode, issuer: c.issuer, params: errorParams(e, request.state), status });
  }
  if (e instanceof AuthnError) return errorPage(reply, e.status, 'Sign-in failed', e.message);
  // A store error in the middle of a step (a connection cut, a pool timeout) is an outage, not a bug: 503.
  if ((e instanceof OAuthError && e.status === 503) || isStoreUnavailable(e)) return unavailablePage(reply);
  s.log.error({ err: e }, 'authorization failed');
  return errorPage(reply, 500, 'Something went wrong', 'The request could not be completed.');
}
