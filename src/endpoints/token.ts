import type { FastifyInstance } from 'fastify';
import { CLIENT_AUTH_PARAMS } from '../clientauth/index.js';
import { InvalidClient, InvalidRequest, UnsupportedGrantType } from '../core/errors.js';
import { authenticate, presentsClient } from '../http/client_auth.js';
import { ctx, noStore } from '../http/context.js';
import { formParams } from '../http/form.js';
import type { Services } from '../http/services.js';
import { assertGrantAllowed } from '../grants/index.js';
import { confirmationFor } from '../tokens/confirmation.js';

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
