import type { FastifyRequest } from 'fastify';
import { authenticateClient, CLIENT_AUTH_PARAMS } from '../clientauth/index.js';
import type { AuthenticatedClient, RequestParts } from '../clientauth/types.js';
import { OAuthError } from '../core/errors.js';
import { authDeps, ctx } from './context.js';
import type { Services } from './services.js';

/**
 * Client authentication for every endpoint that takes it the token endpoint's way (token,
 * introspection, revocation, device authorization): the same methods, and failures in the audit trail.
 */
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
export const presentsClient = (parts: RequestParts): boolean =>
  parts.authorization !== undefined || [...CLIENT_AUTH_PARAMS].some((k) => parts.params[k] !== undefined);
