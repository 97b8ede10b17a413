import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from '../core/errors.js';
import type { AppRecord } from '../core/types.js';
import { lookupHash } from '../crypto/secrets.js';
import { ACR_MFA, parseAuthorizeRequest, singleParams, type AuthorizeRequest } from '../authorize/request.js';
import { continueAuthorization } from '../authorize/continue.js';
import { authorizeError } from '../authorize/error.js';
import { authOf, browserBinding, sessionOf, signinUrl } from '../http/browser_session.js';
import { ctx, type DomainContext } from '../http/context.js';
import { FormBody } from '../http/form.js';
import type { Services } from '../http/services.js';
import { mfaPolicyOf } from '../identity/authn.js';
import { errorPage } from '../ui/html.js';

function mfaPolicyRequires(c: DomainContext, client: AppRecord, request: AuthorizeRequest): boolean {
  const policy = mfaPolicyOf(c.domain, client);
  return policy === 'always' || (policy === 'requested' && request.acrValues.includes(ACR_MFA));
}

/**
 * GET|POST /oauth2/v1/authorize (RFC 6749 §3.1, OIDC Core §3.1.2). Unknown clients and unregistered
 * redirect URIs get an error page here and never a redirect; other errors go to the client with `iss`.
 */
export function authorizeEndpoint(app: FastifyInstance, s: Services): void {
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const c = ctx(req);
    // No CORS here (RFC 9700 §2.6): this is a browser navigation endpoint.
    let raw: Record<string, unknown>;
    if (req.method === 'POST') {
      if (!(req.body instanceof FormBody)) return errorPage(reply, 400, 'Invalid request', 'The request must be a form submission.');
      raw = { ...req.body.values };
      for (const k of req.body.repeated) raw[k] = [raw[k], raw[k]];
    } else raw = (req.query ?? {}) as Record<string, unknown>;
    const { params, repeated } = singleParams(raw);
    let client: AppRecord | undefined;
    if (params.client_id && params.client_id.length <= 200 && !repeated.includes('client_id')) client = await s.catalogs.client(c.domain.id, params.client_id);
    let parsed: { client: AppRecord; request: AuthorizeRequest };
    try {
      parsed = parseAuthorizeRequest(params, repeated, () => client);
    } catch (e) {
      return authorizeError(s, c, reply, e, 302);
    }
    try {
      return await authorize(s, c, req, reply, parsed.client, parsed.request);
    } catch (e) {
      return authorizeError(s, c, reply, e, 302, parsed.request);
    }
  };
  app.get('/oauth2/v1/authorize', handler);
  app.post('/oauth2/v1/authorize', handler);
}

async function authorize(s: Services, c: DomainContext, req: FastifyRequest, reply: FastifyReply, client: AppRecord, request: AuthorizeRequest): Promise<FastifyReply> {
  const session = await sessionOf(s, c, req);
  const now = s.clock.now();
  const prompt = new Set(request.prompt);
  const mfaNeeded = mfaPolicyRequires(c, client, request);
  const mustLogin = !session
    || prompt.has('login') || prompt.has('select_account')
    // OIDC Core §3.1.2.1 max_age: re-authenticate when the last authentication is older.
    || (request.maxAge !== undefined && now - session.authTime > request.maxAge * 1000)
    || (mfaNeeded && !session.amr.includes('mfa'));
  if (mustLogin) {
    // OIDC Core §3.1.2.6: prompt=none never shows a page.
    if (prompt.has('none')) throw new OAuthError('login_required', session ? 'the user must authenticate again' : 'the user is not signed in');
    const binding = browserBinding(req, reply, c);
    const { requestState } = await s.authn.start(c.domain.id, {
      kind: 'authorize', clientId: client.clientId!, request, browser: lookupHash(binding), step: 'credentials', amr: [],
      mfaRequested: request.acrValues.includes(ACR_MFA),
    });
    return reply.status(303).header('cache-control', 'no-store').header('location', signinUrl(c, requestState)).send();
  }
  return continueAuthorization(s, c, req, reply, client, request, authOf(session), { status: 302 });
}
