import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authMethodsSupported } from '../clientauth/index.js';
import { issuerFor } from '../http/services.js';
import { ASYMMETRIC_ALGS, HMAC_ALGS } from '../clientauth/assertion.js';
import { mtlsEnabled, SIGNING_ALGS } from '../config/schema.js';
import { MY_SCOPES } from '../identity/builtins.js';
import { OIDC_SCOPES } from '../identity/scopes.js';
import { ACR_MFA, ACR_PASSWORD, RESPONSE_MODES, RESPONSE_TYPES } from '../authorize/request.js';
import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';
import { SUPPORTED_GRANT_TYPES } from '../grants/index.js';

/** RFC 8414 / OpenID Connect Discovery 1.0 metadata for one identity domain. */
export async function metadata(s: Services, c: DomainContext): Promise<Record<string, unknown>> {
  const cat = await s.catalogs.catalog(c.domain);
  const authAlgs = [...HMAC_ALGS, ...ASYMMETRIC_ALGS];
  const e = c.endpoints;
  const mtls = mtlsEnabled(s.config);
  const SUPPORTED_AUTH_METHODS = authMethodsSupported(mtls);
  const doc: Record<string, unknown> = {
    issuer: c.issuer,
    authorization_endpoint: `${c.issuer}/oauth2/v1/authorize`,
    token_endpoint: e.token,
    userinfo_endpoint: `${c.issuer}/oauth2/v1/userinfo`,
    end_session_endpoint: `${c.issuer}/oauth2/v1/userlogout`,
    jwks_uri: e.jwks,
    registration_endpoint: e.register,
    introspection_endpoint: e.introspect,
    revocation_endpoint: e.revoke,
    tokeninfo_endpoint: e.tokeninfo,
    scopes_supported: [...OIDC_SCOPES, MY_SCOPES, ...[...cat.scopes.keys()].sort()],
    response_types_supported: [...RESPONSE_TYPES],
    response_modes_supported: [...RESPONSE_MODES],
    // RFC 7636 / RFC 9700 §2.1.1: S256 only.
    code_challenge_methods_supported: ['S256'],
    // RFC 9207 §3.
    authorization_response_iss_parameter_supported: true,
    acr_values_supported: [ACR_PASSWORD, ACR_MFA],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'acr', 'amr', 'azp', 'sid', 'at_hash', 'name', 'given_name', 'family_name',
      'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at',
      'email', 'email_verified', 'phone_number', 'phone_number_verified', 'address', 'groups', 'approles'],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    frontchannel_logout_supported: false,
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    // The grant registry: every grant a client can be allowed, implicit included (it serves the token response types).
    grant_types_supported: [...SUPPORTED_GRANT_TYPES],
    token_endpoint_auth_methods_supported: [...SUPPORTED_AUTH_METHODS],
    token_endpoint_auth_signing_alg_values_supported: authAlgs,
    introspection_endpoint_auth_methods_supported: SUPPORTED_AUTH_METHODS.filter((m) => m !== 'none'),
    introspection_endpoint_auth_signing_alg_values_supported: authAlgs,
    revocation_endpoint_auth_methods_supported: [...SUPPORTED_AUTH_METHODS],
    revocation_endpoint_auth_signing_alg_values_supported: authAlgs,
    // RFC 9068 access tokens are signed with these (per resource server).
    access_token_signing_alg_values_supported: [...SIGNING_ALGS],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    userinfo_signing_alg_values_supported: [],
    // RFC 8628 §4.
    device_authorization_endpoint: e.device,
  };
  if (mtls) {
    // RFC 8705 §3.3 and §5: only where certificates can arrive (own HTTPS listener with a client CA, or a trusted proxy's header).
    doc.tls_client_certificate_bound_access_tokens = true;
    doc.mtls_endpoint_aliases = mtlsEndpointAliases(s, c, doc);
  }
  return doc;
}

// Pages a browser opens: a certificate prompt there would only confuse users, and no client needs mTLS at them.
const BROWSER_ENDPOINTS = new Set(['authorization_endpoint', 'end_session_endpoint']);

/**
 * RFC 8705 §5: every endpoint of the metadata a client calls directly, at the mTLS base URL (TESSERA_MTLS_PUBLIC_URL,
 * default the public URL). Derived from the metadata itself, so an endpoint added there is aliased too.
 */
export function mtlsEndpointAliases(s: Services, c: DomainContext, doc: Record<string, unknown>): Record<string, string> {
  const base = issuerFor(s.config.mtlsPublicUrl ?? s.config.publicUrl, c.domain.name);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (k.endsWith('_endpoint') && !BROWSER_ENDPOINTS.has(k) && typeof v === 'string' && v.startsWith(`${c.issuer}/`)) out[k] = base + v.slice(c.issuer.length);
  }
  return out;
}

const cors = (reply: FastifyReply) => reply.header('access-control-allow-origin', '*');

export function discoveryEndpoints(app: FastifyInstance, s: Services): void {
  const handler = async (req: { tessera: DomainContext }, reply: FastifyReply) => {
    cors(reply).header('cache-control', 'public, max-age=300');
    return metadata(s, req.tessera);
  };
  app.get('/.well-known/openid-configuration', handler);
  app.get('/.well-known/oauth-authorization-server', handler);
  // The seeds' Oracle document: `secure_token_endpoint` is the token endpoint clients use with mutual TLS.
  app.get('/.well-known/idcs-configuration', async (req: FastifyRequest, reply: FastifyReply) => {
    cors(reply).header('cache-control', 'public, max-age=300');
    const c = req.tessera;
    const doc: Record<string, unknown> = { issuer: c.issuer, token_endpoint: c.endpoints.token };
    if (mtlsEnabled(s.config)) doc.secure_token_endpoint = mtlsEndpointAliases(s, c, { token_endpoint: c.endpoints.token }).token_endpoint;
    return doc;
  });
}
