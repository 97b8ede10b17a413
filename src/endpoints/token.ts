import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticateClient, CLIENT_AUTH_PARAMS } from '../clientauth/index.js';
import { InvalidClient, InvalidRequest, OAuthError, UnsupportedGrantType } from '../core/errors.js';
import { authDeps, ctx, noStore } from '../http/context.js';
import { formParams } from '../http/form.js';
import type { Services } from '../http/services.js';
import type { AuthenticatedClient, RequestParts } from '../clientauth/types.js';
import { assertGrantAllowed } from '../grants/index.js';
import { confirmationFor } from '../tokens/confirmation.js';

/** Authenticate the client of a request and record failures in the audit trail. */
export async function authenticate(s: Services, req: FastifyRequest, parts: RequestParts): Promise<AuthenticatedClient> {
  try {
    // RFC 8705 §2: the TLS client certificate, for the mutual-TLS methods.
    const { certificate, problem } = s.clientCertificates.of(req);
    return await authenticateClient({ ...parts, certificate, certificateProblem: problem }, authDeps(s, ctx(req)));
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

/** Does the request carry any client authentication (or a public client's client_id)? */
const presentsClient = (parts: RequestParts): boolean =>
  parts.authorization !== undefined || [...CLIENT_AUTH_PARAMS].some((k) => parts.params[k] !== undefined);

/** POST /oauth2/v1/token: RFC 6749 §3.2, dispatching on grant_type to one handler per grant. */
export function tokenEndpoint(app: FastifyInstance, s: Services): void {
  app.post('/oauth2/v1/token', async (req, reply) => {
    noStore(reply);
    const params = formParams(req.body);
    const grantType = params.grant_type;
    if (!grantType) throw new InvalidRequest('grant_type is required');
    const handler = s.grants.get(grantType);
    if (!handler) throw new UnsupportedGrantType(`unsupported grant_type: ${grantType.slice(0, 100)}`);
    const grantParams: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(params)) if (handler.parameters.has(k) && !CLIENT_AUTH_PARAMS.has(k)) grantParams[k] = v;
    const c = ctx(req);
    const parts = { authorization: req.headers.authorization, params };
    const request = {
      domain: c.domain, issuer: c.issuer, tokenEndpoint: c.endpoints.token, params: grantParams, clientIp: req.ip,
      certificateThumbprint: s.clientCertificates.of(req).certificate?.thumbprint,
    };
    // RFC 7523 §3.1: for some grants client authentication is optional; the grant then identifies the client.
    if (handler.clientAuthentication === 'optional' && !presentsClient(parts)) return handler.handle(request);
    const { client, method } = await authenticate(s, req, parts);
    // RFC 6749 §4.4: client credentials are for confidential clients that really authenticated.
    if (handler.confidentialOnly && (client.clientType !== 'confidential' || method === 'none')) {
      throw new InvalidClient('this grant requires client authentication');
    }
    assertGrantAllowed(client, handler);
    // RFC 8705 §3: a client that asked for bound tokens and presented no certificate is refused before the grant runs (a code is not spent).
    confirmationFor(client, request.certificateThumbprint);
    return handler.handle({ ...request, client, method });
  });
}
