import type { FastifyReply } from 'fastify';
import { safeDescription, type OAuthError } from '../core/errors.js';
import { formPostPage } from '../ui/html.js';
import type { ResponseMode } from './request.js';

/**
 * Deliver an authorization response (success or error) to the client. RFC 9207 §2: every response
 * carries `iss`. Query: appended to the redirect URI's own query (RFC 6749 §3.1.2 keeps it).
 * Fragment: tokens never reach the server of the redirect URI. Form post: an HTML form.
 * `status` 303 after a POST (RFC 9700 §4.12: never 307, which would re-send the password).
 */
export function sendAuthorizationResponse(
  reply: FastifyReply, o: { redirectUri: string; responseMode: ResponseMode; issuer: string; params: Record<string, string | undefined>; status?: 302 | 303 },
): FastifyReply {
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.params)) if (v !== undefined) params[k] = v;
  params.iss = o.issuer;
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache').header('referrer-policy', 'no-referrer');
  if (o.responseMode === 'form_post') return formPostPage(reply, o.redirectUri, params);
  const encoded = new URLSearchParams(params).toString();
  let target: string;
  if (o.responseMode === 'fragment') {
    target = `${o.redirectUri}#${encoded}`;
  } else {
    target = o.redirectUri + (o.redirectUri.includes('?') ? '&' : '?') + encoded;
  }
  return reply.status(o.status ?? 302).header('location', target).send();
}

export function errorParams(e: OAuthError, state: string | undefined): Record<string, string | undefined> {
  return { error: e.error, error_description: safeDescription(e.description), state };
}
