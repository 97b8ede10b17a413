import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidClientMetadata, InvalidRedirectUri, OAuthError } from '../core/errors.js';
import { newClientId, newSecret } from '../core/ids.js';
import { usesSecret, type AppRecord, type TokenEndpointAuthMethod } from '../core/types.js';
import { TLS_SUBJECT_FIELDS } from '../clientauth/certificate.js';
import { authMethodsSupported } from '../clientauth/index.js';
import { mtlsEnabled } from '../config/schema.js';

/** A consistency message in RFC 7591 / RFC 8705 metadata names rather than the admin API's attribute names. */
const wireNames = (d: string): string => {
  let out = d.replace(/^jwksUri /, 'jwks_uri ').replace(/jwks, jwksUri or certificates/, 'jwks or jwks_uri').replace(/tokenEndpointAuthMethod/g, 'token_endpoint_auth_method');
  for (const [wire, field] of Object.entries(TLS_SUBJECT_FIELDS)) out = out.replaceAll(field, wire);
  return out;
};
import { secretAad } from '../clientauth/assertion.js';
import { hashSecret, lookupHash, safeEqual, verifySecret } from '../crypto/secrets.js';
import { checkClientFields, type ClientFields } from '../admin/apps.js';
import { adminScopesOf, assertNoEscalation } from '../admin/guard.js';
import { bearerToken } from '../admin/auth.js';
import { ADMIN_SCOPES } from '../identity/builtins.js';
import { adminAudience } from '../identity/catalog.js';
import { currentScopes } from '../identity/token_scopes.js';
import { newApp } from '../identity/domains.js';
import { redirectUriProblem } from '../identity/redirect_uris.js';
import { clientRoleIds, OIDC_SCOPES, roleScopes, splitScope } from '../identity/scopes.js';
import { GRANT_REGISTRY, grantOfResponseType, SELF_REGISTRABLE_GRANT_TYPES, SUPPORTED_GRANT_TYPES } from '../grants/index.js';
import { ScimError } from '../scim/errors.js';
import { Conflict } from '../storage/ports.js';
import { ctx, noStore, type DomainContext } from '../http/context.js';
import { oauthErrorHandler } from '../http/errors.js';
import { UnreadableBody } from '../http/json.js';
import type { Services } from '../http/services.js';

const URI_FIELDS = ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri'] as const;
const KEPT = ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri', 'contacts', 'software_id', 'software_version'] as const;

const challenge = (c: DomainContext, error?: string) => `Bearer realm="${c.issuer}"${error ? `, error="${error}"` : ''}`;

function unauthorized(c: DomainContext, detail: string, error = 'invalid_token', status = 401): OAuthError {
  const e = new OAuthError(error as 'invalid_token', detail, status);
  e.headers = { 'www-authenticate': challenge(c, error) };
  return e;
}

const strOpt = (b: Record<string, unknown>, k: string): string | undefined => {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length > 2000) throw new InvalidClientMetadata(`${k} must be a string`);
  return v;
};
const strList = (b: Record<string, unknown>, k: string, max = 50): string[] | undefined => {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length > max || !v.every((x) => typeof x === 'string')) throw new InvalidClientMetadata(`${k} must be an array of strings`);
  return v as string[];
};

/** RFC 7591 §2 metadata -> client fields, with the consistency rules of §2.1. */
function parseMetadata(s: Services, body: unknown): { fields: ClientFields; extra: Record<string, unknown>; responseTypes: string[] } {
  // RFC 7591 §3.1: the metadata is a JSON object (a parsed form body is an object too, but not JSON).
  if (!body || typeof body !== 'object' || Array.isArray(body) || Object.getPrototypeOf(body) !== Object.prototype) {
    throw new InvalidClientMetadata('the body must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  const method = (strOpt(b, 'token_endpoint_auth_method') ?? 'client_secret_basic') as TokenEndpointAuthMethod;
  // As discovery says: the mutual-TLS methods only where certificates can arrive.
  if (!authMethodsSupported(mtlsEnabled(s.config)).includes(method)) throw new InvalidClientMetadata(`token_endpoint_auth_method ${method.slice(0, 100)} is not supported`);
  const bound = b.tls_client_certificate_bound_access_tokens;
  if (bound !== undefined && typeof bound !== 'boolean') throw new InvalidClientMetadata('tls_client_certificate_bound_access_tokens must be a boolean');
  if (bound === true && !mtlsEnabled(s.config)) throw new InvalidClientMetadata('certificate-bound access tokens are not available: this server receives no TLS client certificates');
  // The grant registry decides: a grant type is registrable exactly when the server serves it and it is not a
  // legacy grant (password and implicit are for administrators to allow: RFC 9700 §2.1.2, §2.4).
  const grants = strList(b, 'grant_types') ?? ['authorization_code'];
  for (const g of grants) {
    if (!SELF_REGISTRABLE_GRANT_TYPES.has(g)) {
      throw new InvalidClientMetadata(`grant type ${g.slice(0, 100)} ${SUPPORTED_GRANT_TYPES.includes(g) ? 'cannot be registered dynamically' : 'is not supported'}`);
    }
  }
  const responseTypes = strList(b, 'response_types') ?? GRANT_REGISTRY.filter((g) => grants.includes(g.grantType)).flatMap((g) => g.responseTypes);
  for (const r of responseTypes) {
    if (!SELF_REGISTRABLE_GRANT_TYPES.has(grantOfResponseType(r)?.grantType ?? '')) throw new InvalidClientMetadata(`response type ${r.slice(0, 100)} is not supported`);
  }
  // RFC 7591 §2.1: grant_types and response_types must agree.
  for (const g of GRANT_REGISTRY) {
    for (const r of g.responseTypes) {
      if (g.selfRegistrable && grants.includes(g.grantType) !== responseTypes.includes(r)) {
        throw new InvalidClientMetadata(`grant type ${g.grantType} and response type ${r} go together`);
      }
    }
  }
  const redirectUris = strList(b, 'redirect_uris') ?? [];
  for (const u of [...redirectUris, ...(strList(b, 'post_logout_redirect_uris') ?? [])]) {
    const p = redirectUriProblem(u);
    if (p) throw new InvalidRedirectUri(`redirect URI ${p}`);
  }
  for (const k of URI_FIELDS) {
    const v = strOpt(b, k);
    if (v !== undefined && redirectUriProblem(v) !== undefined) throw new InvalidClientMetadata(`${k} must be an https URL`);
  }
  const jwksUri = strOpt(b, 'jwks_uri');
  if (b.jwks !== undefined && (typeof b.jwks !== 'object' || b.jwks === null || Array.isArray(b.jwks))) throw new InvalidClientMetadata('jwks must be a JWK Set');
  let scopes: string[];
  try { scopes = splitScope(strOpt(b, 'scope')); } catch { throw new InvalidClientMetadata('scope is malformed'); }
  const fields: ClientFields = {
    displayName: (strOpt(b, 'client_name') ?? '').slice(0, 200) || 'Dynamically registered client', active: true,
    isOAuthClient: true, clientType: method === 'none' ? 'public' : 'confidential', tokenEndpointAuthMethod: method,
    tokenEndpointAuthSigningAlg: strOpt(b, 'token_endpoint_auth_signing_alg'), allowedGrants: grants, redirectUris,
    postLogoutRedirectUris: strList(b, 'post_logout_redirect_uris') ?? [], jwks: b.jwks as ClientFields['jwks'], jwksUri,
    allowedScopes: scopes, defaultScopes: [], isOAuthResource: false, scopes: [], accessTokenFormat: 'jwt',
    // RFC 8705 §2.1.2 and §3.4 metadata.
    ...Object.fromEntries(Object.entries(TLS_SUBJECT_FIELDS).map(([wire, field]) => [field, strOpt(b, wire)])),
    tlsClientCertificateBoundAccessTokens: bound === true ? true : undefined,
  };
  const extra: Record<string, unknown> = {};
  for (const k of KEPT) if (b[k] !== undefined) extra[k] = k === 'contacts' ? strList(b, k, 20) : strOpt(b, k);
  checkClientFields(fields, { allowPrivateFetch: s.config.unsafeAllowPrivateFetch },
    (d) => (d.startsWith('redirect URI') ? new InvalidRedirectUri(d) : new InvalidClientMetadata(wireNames(d))));
  return { fields, extra, responseTypes };
}

function render(c: DomainContext, a: AppRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {
    client_id: a.clientId, client_id_issued_at: Math.floor(a.createdAt / 1000), client_name: a.displayName,
    token_endpoint_auth_method: a.tokenEndpointAuthMethod, grant_types: a.allowedGrants,
    response_types: a.allowedGrants.includes('authorization_code') ? ['code'] : [], redirect_uris: a.redirectUris,
    registration_client_uri: `${c.endpoints.register}/${a.clientId}`,
  };
  if (a.postLogoutRedirectUris.length) out.post_logout_redirect_uris = a.postLogoutRedirectUris;
  if (a.allowedScopes.length) out.scope = a.allowedScopes.join(' ');
  if (a.jwks) out.jwks = a.jwks;
  if (a.jwksUri) out.jwks_uri = a.jwksUri;
  if (a.tokenEndpointAuthSigningAlg) out.token_endpoint_auth_signing_alg = a.tokenEndpointAuthSigningAlg;
  if (a.clientType === 'confidential' && usesSecret(a.tokenEndpointAuthMethod)) out.client_secret_expires_at = 0;
  for (const [wire, field] of Object.entries(TLS_SUBJECT_FIELDS)) if (a[field] !== undefined) out[wire] = a[field];
  if (a.tlsClientCertificateBoundAccessTokens) out.tls_client_certificate_bound_access_tokens = true;
  return { ...a.metadata, ...out };
}

/**
 * RFC 7591 §3.1 / §3.2.2: the request carries JSON metadata; a body that cannot be read as such (broken
 * JSON, another media type) is refused as invalid_client_metadata, not with the generic invalid_request.
 * An oversized body keeps its 413.
 */
function registrationErrorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  if (err instanceof UnreadableBody) return oauthErrorHandler(new InvalidClientMetadata(err.description), req, reply);
  const fe = err as { code?: unknown; statusCode?: unknown };
  const unreadable = typeof fe?.code === 'string' && fe.code.startsWith('FST_ERR_CTP_') && fe.code !== 'FST_ERR_CTP_BODY_TOO_LARGE';
  oauthErrorHandler(unreadable ? new InvalidClientMetadata('the body must be a JSON object (application/json)') : err, req, reply);
}

/** POST /oauth2/v1/register (RFC 7591) and the RFC 7592 management endpoints. */
export function registerEndpoints(app: FastifyInstance, s: Services): void {
  const checkScopes = async (c: DomainContext, f: ClientFields, callerScopes: Set<string> | undefined) => {
    const cat = await s.catalogs.catalog(c.domain, { fresh: true });
    // The OpenID Connect scopes are always registrable (discovery lists them); others must be defined here.
    for (const sc of f.allowedScopes) if (!cat.scopes.has(sc) && !OIDC_SCOPES.has(sc)) throw new OAuthError('invalid_client_metadata', `scope ${sc} is not defined in this domain`);
    const adminScopes = adminScopesOf(cat);
    try {
      assertNoEscalation(callerScopes ? { scopes: callerScopes } as never : undefined, adminScopes, f.allowedScopes);
    } catch (e) {
      if (e instanceof ScimError) throw new OAuthError('invalid_client_metadata', e.detail);
      throw e;
    }
  };

  app.post('/oauth2/v1/register', { errorHandler: registrationErrorHandler }, async (req, reply) => {
    noStore(reply);
    const c = ctx(req);
    const raw = bearerToken(req.headers.authorization);
    if (!raw) throw unauthorized(c, 'an initial access token is required', 'invalid_token');
    const v = await s.validator.validateAtResource(c.domain, c.issuer, raw, s.clientCertificates.of(req).certificate?.thumbprint);
    if (!v || !v.aud.includes(adminAudience(c.issuer))) throw unauthorized(c, 'the initial access token is invalid');
    // What the token allows now (a role taken away since issuance no longer registers clients).
    const scopes = new Set(await currentScopes(s, c.domain, v));
    if (!scopes.has(ADMIN_SCOPES.apps)) throw unauthorized(c, 'the token does not allow client registration', 'insufficient_scope', 403);
    const { fields, extra } = parseMetadata(s, req.body);
    await checkScopes(c, fields, scopes);
    const now = s.clock.now();
    const a = newApp(c.domain.id, now, { ...fields, clientId: newClientId(), metadata: extra });
    const rat = newSecret();
    a.registrationTokenHash = lookupHash(rat);
    let secret: string | undefined;
    if (fields.clientType === 'confidential' && usesSecret(fields.tokenEndpointAuthMethod)) {
      secret = newSecret();
      a.secretHash = hashSecret(s.masterKey, secret);
      if (fields.tokenEndpointAuthMethod === 'client_secret_jwt') a.secretEnc = s.masterKey.encrypt(secret, secretAad(a));
    }
    try { await s.repos.apps.create(a); } catch (e) {
      if (e instanceof Conflict) throw new OAuthError('invalid_client_metadata', 'client identifier clash; retry');
      throw e;
    }
    s.catalogs.invalidate(c.domain.id);
    s.events.emit({ eventId: 'client.registered', outcome: 'success', domainId: c.domain.id, actorType: v.subType, actorId: v.clientId,
      clientIp: req.ip, targetType: 'App', targetId: a.id });
    const body: Record<string, unknown> = { ...render(c, a), registration_access_token: rat };
    if (secret) body.client_secret = secret;
    return reply.status(201).send(body);
  });

  /** RFC 7592 §2: the registration access token authorizes reading, updating and deleting one registration. */
  const managed = async (req: FastifyRequest): Promise<AppRecord> => {
    const c = ctx(req);
    const raw = bearerToken(req.headers.authorization);
    if (!raw) throw unauthorized(c, 'the registration access token is required');
    const clientId = (req.params as { clientId: string }).clientId;
    const a = await s.repos.apps.getByClientId(c.domain.id, clientId);
    // Same answer for an unknown client and a wrong token: no client-id oracle.
    if (!a || !a.registrationTokenHash || !safeEqual(lookupHash(raw), a.registrationTokenHash)) throw unauthorized(c, 'the registration access token is invalid');
    return a;
  };

  /**
   * The registration access token stands for whoever registered the client, not for what the client has been
   * given since: once a client holds admin scopes (an administrator granted it a role), only a caller holding
   * them may change or delete it, through the admin API (the rule of admin/guard.ts).
   */
  const mayManage = async (c: DomainContext, a: AppRecord) => {
    const cat = await s.catalogs.catalog(c.domain, { fresh: true });
    const admin = adminScopesOf(cat);
    const held = [...a.allowedScopes, ...roleScopes(cat, clientRoleIds(cat, a))].filter((sc) => admin.has(sc));
    // RFC 7592 §2.2 / §2.3: a client not allowed to update or delete itself gets 403.
    if (held.length > 0) throw new OAuthError('access_denied', 'this client holds identity domain API scopes; manage it through the admin API', 403);
    // A client that may assert any user (allowUserAssertions) changes only through a caller holding every admin scope.
    if (a.allowUserAssertions) throw new OAuthError('access_denied', 'this client may act as any user (allowUserAssertions); manage it through the admin API', 403);
    if (a.allowTokenExchangeImpersonation) throw new OAuthError('access_denied', 'this client may impersonate through token exchange; manage it through the admin API', 403);
  };

  app.get('/oauth2/v1/register/:clientId', async (req, reply) => {
    noStore(reply);
    return render(ctx(req), await managed(req));
  });

  app.put('/oauth2/v1/register/:clientId', { errorHandler: registrationErrorHandler }, async (req, reply: FastifyReply) => {
    noStore(reply);
    const c = ctx(req);
    const a = await managed(req);
    await mayManage(c, a);
    const b = req.body as Record<string, unknown> | undefined;
    // RFC 7592 §2.2: the body carries the client_id, which must match.
    if (!b || typeof b !== 'object' || b.client_id !== a.clientId) throw new OAuthError('invalid_client_metadata', 'client_id in the body must match');
    // RFC 7592 §2.2: "If the client includes the client_secret in its request, the value of this field
    // MUST match the currently issued client secret"; it can never choose its own.
    if (b.client_secret !== undefined && !(typeof b.client_secret === 'string' && verifySecret(s.masterKey, b.client_secret, a.secretHash))) {
      throw new OAuthError('invalid_client_metadata', 'client_secret must be the currently issued secret; a client cannot set its own');
    }
    const { fields, extra } = parseMetadata(s, Object.fromEntries(Object.entries(b).filter(([k]) => !['client_id', 'client_secret', 'registration_access_token', 'registration_client_uri', 'client_id_issued_at', 'client_secret_expires_at'].includes(k))));
    if (fields.tokenEndpointAuthMethod !== a.tokenEndpointAuthMethod) throw new OAuthError('invalid_client_metadata', 'token_endpoint_auth_method cannot change');
    await checkScopes(c, { ...fields, allowedScopes: fields.allowedScopes.filter((x) => !a.allowedScopes.includes(x)) }, undefined);
    // RFC 7592 §2.2 replaces the client's metadata (RFC 7591 §2), nothing else: whether the client is
    // enabled and what an administrator set beyond that metadata (resource-server settings, default
    // scopes) are not the client's to reset; a disabled client must not re-enable itself.
    const next = await s.repos.apps.update({
      ...a, ...fields, active: a.active, defaultScopes: a.defaultScopes, isOAuthResource: a.isOAuthResource, audience: a.audience,
      scopes: a.scopes, accessTokenFormat: a.accessTokenFormat, accessTokenSigningAlg: a.accessTokenSigningAlg,
      metadata: extra, updatedAt: s.clock.now(),
    }, a.version);
    s.catalogs.invalidate(c.domain.id);
    s.events.emit({ eventId: 'client.registration_updated', outcome: 'success', domainId: c.domain.id, actorType: 'client', actorId: a.clientId,
      clientIp: req.ip, targetType: 'App', targetId: a.id });
    return render(c, next);
  });

  app.delete('/oauth2/v1/register/:clientId', async (req, reply) => {
    noStore(reply);
    const c = ctx(req);
    const a = await managed(req);
    await mayManage(c, a);
    await s.repos.apps.delete(c.domain.id, a.id);
    await s.repos.grants.deleteForGrantee(c.domain.id, 'App', a.id);
    s.catalogs.invalidate(c.domain.id);
    s.events.emit({ eventId: 'client.registration_deleted', outcome: 'success', domainId: c.domain.id, actorType: 'client', actorId: a.clientId,
      clientIp: req.ip, targetType: 'App', targetId: a.id });
    return reply.status(204).send();
  });
}

