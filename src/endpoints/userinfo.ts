import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidRequest, OAuthError } from '../core/errors.js';
import { bearerToken } from '../admin/auth.js';
import { loadClaimsExtra, userClaims } from '../identity/claims.js';
import { ctx, noStore, type DomainContext } from '../http/context.js';
import { FormBody, formParams } from '../http/form.js';
import type { Services } from '../http/services.js';

const PATH = '/oauth2/v1/userinfo';

/**
 * A 401/403 carrying the RFC 6750 §3 challenge. Without `error` it is the §3.1 answer to a request
 * with no token at all: "the resource server SHOULD NOT include an error code".
 */
function challenge(c: DomainContext, status: 401 | 403, description: string, error?: 'invalid_token' | 'insufficient_scope', scope?: string): OAuthError {
  const e = new OAuthError(error ?? 'invalid_token', description, status);
  let h = `Bearer realm="${c.issuer}"`;
  if (error) h += `, error="${error}"`;
  if (scope) h += `, scope="${scope}"`;
  e.headers = { 'www-authenticate': h, ...CORS };
  return e;
}

/**
 * Userinfo is called from browsers (SPAs) with a bearer token and no cookies, so any origin may read
 * it: the token is the credential, and no credentialed CORS is offered. WWW-Authenticate is exposed
 * so a script can tell an expired token from a missing scope.
 */
const CORS = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'WWW-Authenticate' };

/** RFC 6750 §2.1 (header) or §2.2 (form body of a POST); exactly one of them. */
function presentedToken(req: FastifyRequest, c: DomainContext): string {
  const header = req.headers.authorization;
  const fromHeader = bearerToken(header);
  // A Bearer credential that is not a b64token is malformed (RFC 6750 §3.1 invalid_request), not absent.
  if (fromHeader === undefined && typeof header === 'string' && /^bearer(\s|$)/i.test(header)) {
    throw withCors(new InvalidRequest('the Authorization header is not a valid Bearer credential'));
  }
  let fromBody: string | undefined;
  // RFC 6750 §2.2: the body method is for POST with application/x-www-form-urlencoded only.
  if (req.method === 'POST' && req.body instanceof FormBody) {
    let params: Record<string, string>;
    try { params = formParams(req.body); } catch (e) { throw withCors(e as OAuthError); }
    fromBody = params.access_token;
  }
  // RFC 6750 §3.1 invalid_request: "uses more than one method for including an access token".
  if (fromHeader !== undefined && fromBody !== undefined) throw withCors(new InvalidRequest('send the access token in the Authorization header or the body, not both'));
  const token = fromHeader ?? fromBody;
  if (token !== undefined) return token;
  // RFC 6750 §2.3 (URI query) is not offered: URLs end up in logs, histories and Referer headers
  // (RFC 6750 §5.3, RFC 9700 §4.3.2). Such a request has presented no usable token.
  const q = req.query as Record<string, unknown> | undefined;
  if (q && q.access_token !== undefined) throw challenge(c, 401, 'access tokens are not accepted in the URI query; use the Authorization header');
  throw challenge(c, 401, 'an access token is required');
}

function withCors(e: OAuthError): OAuthError {
  e.headers = { ...(e.headers ?? {}), ...CORS };
  return e;
}

/** GET|POST /oauth2/v1/userinfo: OIDC Core §5.3, claims about the user an access token was issued for. */
export function userinfoEndpoint(app: FastifyInstance, s: Services): void {
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    // OIDC Core §5.3.2 / RFC 6750 §5.2: the answer is about a person; no cache may keep it.
    noStore(reply);
    void reply.headers(CORS);
    const c = ctx(req);
    const token = presentedToken(req, c);
    // RFC 8705 §3: a certificate-bound token only with its certificate.
    const v = await s.validator.validateAtResource(c.domain, c.issuer, token, s.clientCertificates.of(req).certificate?.thumbprint);
    // OIDC Core §5.3.3 → RFC 6750 §3.1 invalid_token: expired, revoked, malformed, another domain's.
    if (!v) throw challenge(c, 401, 'the access token is invalid, expired or revoked', 'invalid_token');
    // OIDC Core §5.3.1: the token must come from an OpenID Connect authentication request (the
    // `openid` scope) and be about a user; a client's own token has no end-user to describe. Its
    // audience is not checked: a token asked for with `openid` and an API's scopes names that API,
    // and is still meant to reach userinfo.
    const scopes = new Set(v.scope.split(' ').filter(Boolean));
    if (v.subType !== 'user' || !v.userId || !scopes.has('openid')) {
      throw challenge(c, 403, 'the access token was not issued for an OpenID Connect sign-in (scope openid)', 'insufficient_scope', 'openid');
    }
    const user = await s.repos.users.get(c.domain.id, v.userId);
    // The validator refuses tokens of inactive users; one deactivated or deleted since is refused the same way.
    if (!user || !user.active) throw challenge(c, 401, 'the access token is invalid, expired or revoked', 'invalid_token');
    return { sub: user.id, ...userClaims(user, scopes, await loadClaimsExtra(s, c.domain, user.id, scopes)) };
  };
  app.get(PATH, handler);
  app.post(PATH, handler);
  // CORS preflight (Fetch standard): a script sending Authorization must be allowed to, by name.
  app.options(PATH, async (_req, reply) => {
    void reply.status(204).headers({
      'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'Authorization, Content-Type', 'access-control-max-age': '600',
    });
    return reply.send();
  });
}
