import type { FastifyInstance } from 'fastify';
import { authenticateClient, CLIENT_AUTH_PARAMS } from '../clientauth/index.js';
import { InvalidClient, InvalidRequest, OAuthError, UnauthorizedClient, UnsupportedGrantType } from '../core/errors.js';
import { authDeps, ctx, noStore } from '../http/context.js';
import { formParams } from '../http/form.js';
import type { Services } from '../http/services.js';
import type { AuthenticatedClient, RequestParts } from '../clientauth/types.js';
import type { FastifyRequest } from 'fastify';

/** Authenticate the client of a request and record failures in the audit trail. */
export async function authenticate(s: Services, req: FastifyRequest, parts: RequestParts): Promise<AuthenticatedClient> {
  try {
    return await authenticateClient(parts, authDeps(s, ctx(req)));
  } catch (e) {
    if (e instanceof OAuthError && e.error === 'invalid_client') {
      s.events.emit({
        eventId: 'client_auth.failed', outcome: 'failure', domainId: ctx(req).domain.id, actorType: 'client',
        actorId: parts.params.client_id, clientIp: req.ip, message: e.debug,
      });
    }
    throw e;
  }
}

/** POST /oauth2/v1/token: RFC 6749 §3.2, dispatching on grant_type to one handler per grant. */
export function tokenEndpoint(app: FastifyInstance, s: Services): void {
  app.post('/oauth2/v1/token', async (req, reply) => {
    noStore(reply);
    const params = formParams(req.body);
    const grantType = params.grant_type;
    if (!grantType) throw new InvalidRequest('grant_type is required');
    const handler = s.grants.get(grantType);
    if (!handler) throw new UnsupportedGrantType(`unsupported grant_type: ${grantType.slice(0, 100)}`);
    const { client, method } = await authenticate(s, req, { authorization: req.headers.authorization, params });
    // RFC 6749 §4.4: client credentials are for confidential clients that really authenticated.
    if (handler.confidentialOnly && (client.clientType !== 'confidential' || method === 'none')) {
      throw new InvalidClient('this grant requires client authentication');
    }
    if (!client.allowedGrants.includes(grantType)) throw new UnauthorizedClient(`the client may not use ${grantType}`);
    const grantParams: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(params)) if (handler.parameters.has(k) && !CLIENT_AUTH_PARAMS.has(k)) grantParams[k] = v;
    const c = ctx(req);
    return handler.handle({
      domain: c.domain, issuer: c.issuer, client, params: grantParams, catalogs: s.catalogs, accessTokens: s.accessTokens,
      events: s.events, clientIp: req.ip, clock: s.clock, repos: s.repos, userTokens: s.userTokens, totp: s.totp,
      throttle: s.throttle, authn: s.authn, masterKey: s.masterKey, refreshGraceSeconds: s.config.refreshTokenGraceSeconds,
    });
  });
}
