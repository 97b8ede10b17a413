import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError, safeDescription, StoreUnavailable } from '../core/errors.js';
import { isRefusedValue, isStoreUnavailable, toStoreUnavailable } from '../storage/errors.js';
import { boundText } from '../events/emitter.js';
import { errorPage } from '../ui/html.js';
import { UnknownDomain } from './context.js';

/**
 * Turn anything thrown into an OAuthError: our own pass through; Fastify's 4xx (bad media type,
 * body too large, broken JSON) become invalid_request with their status; store outages become 503;
 * everything else is a detail-free server_error (the cause goes to the log only).
 */
export function toOAuthError(err: unknown, req: FastifyRequest): OAuthError {
  if (err instanceof OAuthError) return err;
  if (err instanceof UnknownDomain) return new OAuthError('invalid_request', 'unknown identity domain', 404);
  if (isStoreUnavailable(err)) {
    req.log.error({ err }, 'store unavailable');
    return toStoreUnavailable(err);
  }
  // The last line of defence for values a store cannot hold (U+0000 on PostgreSQL): refused where they
  // enter wherever that is known, and here for the rest.
  if (isRefusedValue(err)) {
    req.log.debug({ code: (err as { code?: unknown }).code }, 'value refused by the store');
    return new OAuthError('invalid_request', 'the request holds a value that cannot be stored (such as a NUL character)', 400);
  }
  // The client went away before its request was complete (aborted upload, request timeout): no
  // one is left to answer and nothing failed here.
  if (req.raw.readableAborted) {
    req.log.debug({ code: (err as { code?: unknown })?.code, method: req.method, url: req.url.split('?')[0]!.slice(0, 200) }, 'request aborted by the client');
    return new OAuthError('invalid_request', 'request aborted', 400);
  }
  const fe = err as FastifyError;
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const status = fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 400 : fe.statusCode;
    const d = fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'request body too large'
      : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported content type'
      : fe.code?.startsWith('FST_ERR_CTP') || fe.code === 'FST_ERR_VALIDATION' ? 'malformed request' : 'bad request';
    return new OAuthError('invalid_request', d, status, fe.message);
  }
  req.log.error({ err }, 'unexpected error');
  return new OAuthError('server_error', 'internal error', 500);
}

/** JSON error per RFC 6749 §5.2 (also used by introspection, revocation, registration, tokeninfo). */
export function oauthErrorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const e = toOAuthError(err, req);
  if (e.debug && !(e instanceof StoreUnavailable)) req.log.debug({ error: e.error, debug: boundText(e.debug, 1024) }, 'oauth error');
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  if (e.headers) for (const [k, v] of Object.entries(e.headers)) reply.header(k, v);
  void reply.status(e.status).type('application/json').send({ error: e.error, error_description: safeDescription(e.description) });
}

/**
 * Browser-facing endpoints (authorization, sign-in pages, logout): whatever escaped the handler's own
 * rendering is an HTML page in the same style, never JSON in a browser tab: a store outage is a 503 page,
 * malformed input a 400 page, anything unexpected a detail-free 500 page.
 */
export function pageErrorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const e = toOAuthError(err, req);
  if (e.status === 503) void errorPage(reply, 503, 'Temporarily unavailable', 'Please try again in a moment.');
  else if (e.status >= 500) void errorPage(reply, 500, 'Something went wrong', 'The request could not be completed.');
  else void errorPage(reply, e.status, 'Invalid request', e.description);
}
