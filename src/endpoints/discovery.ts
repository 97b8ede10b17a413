import type { FastifyInstance, FastifyReply } from 'fastify';
import { SUPPORTED_AUTH_METHODS } from '../clientauth/index.js';
import { ASYMMETRIC_ALGS, HMAC_ALGS } from '../clientauth/assertion.js';
import { SIGNING_ALGS } from '../config/schema.js';
import { MY_SCOPES } from '../identity/builtins.js';
import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';

/** RFC 8414 / OpenID Connect Discovery 1.0 metadata for one identity domain. */
export async function metadata(s: Services, c: DomainContext): Promise<Record<string, unknown>> {
  const cat = await s.catalogs.catalog(c.domain);
  const grantTypes = [...s.grants.keys()];
  const authAlgs = [...HMAC_ALGS, ...ASYMMETRIC_ALGS];
  const e = c.endpoints;
  return {
    issuer: c.issuer,
    token_endpoint: e.token,
    jwks_uri: e.jwks,
    registration_endpoint: e.register,
    introspection_endpoint: e.introspect,
    revocation_endpoint: e.revoke,
    tokeninfo_endpoint: e.tokeninfo,
    scopes_supported: [MY_SCOPES, ...[...cat.scopes.keys()].sort()],
    // RFC 8414 §2: REQUIRED. The authorization endpoint is not served yet, so no response type is offered.
    response_types_supported: [],
    grant_types_supported: grantTypes,
    token_endpoint_auth_methods_supported: [...SUPPORTED_AUTH_METHODS],
    token_endpoint_auth_signing_alg_values_supported: authAlgs,
    introspection_endpoint_auth_methods_supported: SUPPORTED_AUTH_METHODS.filter((m) => m !== 'none'),
    introspection_endpoint_auth_signing_alg_values_supported: authAlgs,
    revocation_endpoint_auth_methods_supported: [...SUPPORTED_AUTH_METHODS],
    revocation_endpoint_auth_signing_alg_values_supported: authAlgs,
    // RFC 9068 access tokens are signed with these (per resource server).
    access_token_signing_alg_values_supported: [...SIGNING_ALGS],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...SIGNING_ALGS],
  };
}

const cors = (reply: FastifyReply) => reply.header('access-control-allow-origin', '*');

export function discoveryEndpoints(app: FastifyInstance, s: Services): void {
  const handler = async (req: { tessera: DomainContext }, reply: FastifyReply) => {
    cors(reply).header('cache-control', 'public, max-age=300');
    return metadata(s, req.tessera);
  };
  app.get('/.well-known/openid-configuration', handler);
  app.get('/.well-known/oauth-authorization-server', handler);
}
