import { newClientId, newSecret } from '../core/ids.js';
import {
  GRANT_TYPES, MFA_POLICIES, type MfaPolicy, MAX_ACCESS_TOKEN_LIFETIME, MIN_ACCESS_TOKEN_LIFETIME, type AppRecord, type ClientType, type ScopeDef,
  type SigningAlg, type TokenEndpointAuthMethod, usesSecret,
} from '../core/types.js';
import { TLS_SUBJECT_ATTRIBUTES, tlsSubjectProblem, type TlsSubjectField } from '../clientauth/certificate.js';
import { algsOfJwk, secretAad, ASYMMETRIC_ALGS, HMAC_ALGS } from '../clientauth/assertion.js';
import { jwksUriProblem } from '../clientauth/jwks_fetcher.js';
import { CertificateProblem, certificateJwk, parseCertificates } from '../identity/trusted_issuers.js';
import { SUPPORTED_GRANT_TYPES } from '../grants/index.js';
import { hashSecret } from '../crypto/secrets.js';
import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';
import { adminAudience } from '../identity/catalog.js';
import { newApp } from '../identity/domains.js';
import { redirectUriProblem } from '../identity/redirect_uris.js';
import { OIDC_SCOPES } from '../identity/scopes.js';
import { ScimError } from '../scim/errors.js';
import { AppSchema } from '../scim/resources.js';
import type { AdminCaller } from './auth.js';
import { adminScopesOf, assertMayManage, assertNoEscalation } from './guard.js';
import { compact, meta, type ResourceType, type Scim } from './resource.js';

const bad = (detail: string) => new ScimError(400, 'invalidValue', detail);
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/;
const RESERVED_SCOPE = /^urn:opc:(idm|resource):/;

interface AppView { rolesById: Map<string, { displayName: string; appId: string }>; grantsByApp: Map<string, string[]>; adminAppId?: string }

/** The client and resource-server settings of an App; shared by the admin API and dynamic client registration. */
export type ClientFields = Pick<AppRecord,
  | 'displayName' | 'description' | 'active' | 'isOAuthClient' | 'clientType' | 'tokenEndpointAuthMethod' | 'tokenEndpointAuthSigningAlg'
  | 'allowedGrants' | 'redirectUris' | 'postLogoutRedirectUris' | 'jwks' | 'jwksUri' | 'certificates' | 'allowedScopes' | 'defaultScopes'
  | TlsSubjectField | 'tlsClientCertificateBoundAccessTokens'
  | 'accessTokenExpiry' | 'refreshTokenExpiry' | 'pkceRequired' | 'bypassConsent' | 'allowOffline' | 'claimsInIdToken' | 'mfaPolicy' | 'isOAuthResource' | 'audience' | 'scopes' | 'accessTokenFormat' | 'accessTokenSigningAlg'>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

export function lifetime(name: string, v: number | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min || v > max) throw bad(`${name} must be an integer between ${min} and ${max} seconds`);
  return v;
}

/** Consistency rules for OAuth client and resource server settings; throws a 400 naming the attribute. */
export function checkClientFields(f: ClientFields, o: { allowPrivateFetch: boolean }, fail: (detail: string) => Error = bad): void {
  if (f.isOAuthClient) {
    for (const g of f.allowedGrants) if (!SUPPORTED_GRANT_TYPES.includes(g)) throw fail(`allowedGrants: unsupported grant type ${g.slice(0, 100)}`);
    if (new Set(f.allowedGrants).size !== f.allowedGrants.length) throw fail('allowedGrants: duplicate value');
    if (f.clientType === 'public') {
      if (f.tokenEndpointAuthMethod !== 'none') throw fail('a public client uses tokenEndpointAuthMethod none');
      // RFC 6749 §4.4 / §4.3 (BCP §2.4): no client credentials for a client that cannot keep a secret; nor a
      // signing key, nor a bearer assertion presented under a client_id that authenticates nothing.
      if (f.allowedGrants.includes('client_credentials')) throw fail('a public client may not use client_credentials');
      if (f.allowedGrants.includes(GRANT_TYPES.jwtBearer)) throw fail(`a public client may not use ${GRANT_TYPES.jwtBearer}`);
    } else if (f.tokenEndpointAuthMethod === 'none') {
      throw fail('a confidential client must authenticate (tokenEndpointAuthMethod none is for public clients)');
    }
    const certificates = f.certificates ?? [];
    const hasKeys = f.jwks !== undefined || f.jwksUri !== undefined || certificates.length > 0;
    if (f.jwks && f.jwksUri) throw fail('jwks and jwksUri exclude each other');
    if (f.tokenEndpointAuthMethod === 'private_key_jwt' || f.tokenEndpointAuthMethod === 'self_signed_tls_client_auth') {
      // RFC 8705 §2.2.2: the self-signed certificate's key is registered as jwks or jwks_uri.
      if (!hasKeys) throw fail(`${f.tokenEndpointAuthMethod} needs jwks, jwksUri or certificates`);
    } else if (hasKeys && !f.allowedGrants.includes(GRANT_TYPES.jwtBearer)) {
      // Keys verify the client's own JWTs: client assertions (private_key_jwt) and jwt-bearer grant assertions.
      throw fail(`jwks, jwksUri and certificates are only used with private_key_jwt, self_signed_tls_client_auth or the ${GRANT_TYPES.jwtBearer} grant`);
    }
    // RFC 8705 §2.1.2: a tls_client_auth client registers exactly one certificate name, and only such a client does.
    const names = TLS_SUBJECT_ATTRIBUTES.filter((a) => f[a] !== undefined);
    if (f.tokenEndpointAuthMethod === 'tls_client_auth') {
      if (names.length !== 1) throw fail(`tls_client_auth needs exactly one of ${TLS_SUBJECT_ATTRIBUTES.join(', ')}`);
      const p = tlsSubjectProblem(names[0]!, f[names[0]!]!);
      if (p) throw fail(`${names[0]} ${p}`);
    } else if (names.length > 0) {
      throw fail(`${names[0]} is only used with tokenEndpointAuthMethod tls_client_auth`);
    }
    // A token from the authorization endpoint (implicit) reaches the client through the browser: no certificate to bind it to.
    if (f.tlsClientCertificateBoundAccessTokens && f.allowedGrants.includes('implicit')) throw fail('certificate-bound access tokens cannot be issued by the implicit grant');
    const keyAlgs = new Set<string>();
    if (f.jwks) {
      if (!Array.isArray(f.jwks.keys) || f.jwks.keys.length === 0 || f.jwks.keys.length > 20) throw fail('jwks.keys must hold 1 to 20 keys');
      for (const k of f.jwks.keys) {
        if (typeof k !== 'object' || !k || typeof k.kty !== 'string') throw fail('jwks: every key needs kty');
        if ('d' in k || 'p' in k || 'k' in k) throw fail('jwks must hold public keys only');
      }
      // A key set that verifies nothing would be a client that can never authenticate.
      for (const a of f.jwks.keys.flatMap(algsOfJwk)) keyAlgs.add(a);
      if (keyAlgs.size === 0) throw fail('jwks holds no signing key for client assertions (RSA, EC P-256/P-384/P-521 or Ed25519/Ed448)');
    }
    if (certificates.length > 0) {
      if (certificates.length > 10) throw fail('certificates: at most 10');
      if (certificates.some((pem) => typeof pem !== 'string' || pem.length > 20_000)) throw fail('certificates: each is one PEM certificate of at most 20000 characters');
      let parsed;
      try { parsed = parseCertificates(certificates); } catch (e) {
        if (e instanceof CertificateProblem) throw fail(e.message);
        throw e;
      }
      parsed.forEach((c, i) => {
        const algs = algsOfJwk(certificateJwk(c));
        if (algs.length === 0) throw fail(`certificates[${i}] holds no signing key (RSA, EC P-256/P-384/P-521 or Ed25519/Ed448)`);
        for (const a of algs) keyAlgs.add(a);
      });
    }
    // The pinned algorithm must be one a registered key can verify (keys from jwksUri are only known when fetched).
    if (f.tokenEndpointAuthSigningAlg && keyAlgs.size > 0 && !f.jwksUri && !keyAlgs.has(f.tokenEndpointAuthSigningAlg)) {
      throw fail(`no key in jwks or certificates can verify tokenEndpointAuthSigningAlg ${f.tokenEndpointAuthSigningAlg}`);
    }
    if (f.jwksUri) {
      const p = jwksUriProblem(f.jwksUri, o.allowPrivateFetch);
      if (p) throw fail(`jwksUri ${p}`);
    }
    if (f.tokenEndpointAuthSigningAlg !== undefined) {
      const ok = f.tokenEndpointAuthMethod === 'client_secret_jwt' ? HMAC_ALGS : f.tokenEndpointAuthMethod === 'private_key_jwt' ? ASYMMETRIC_ALGS : [];
      if (!ok.includes(f.tokenEndpointAuthSigningAlg)) throw fail(`tokenEndpointAuthSigningAlg ${f.tokenEndpointAuthSigningAlg} does not fit ${f.tokenEndpointAuthMethod}`);
    }
    for (const uri of [...f.redirectUris, ...f.postLogoutRedirectUris]) {
      const p = redirectUriProblem(uri);
      if (p) throw fail(`redirect URI ${JSON.stringify(uri).slice(0, 100)} ${p}`);
    }
    // RFC 9700 §2.1.1: PKCE may only be relaxed for a client that authenticates at the token endpoint.
    if (f.pkceRequired === false && f.clientType === 'public') throw fail('a public client must use PKCE (pkceRequired cannot be false)');
    if (f.mfaPolicy !== undefined && !MFA_POLICIES.includes(f.mfaPolicy)) throw fail(`mfaPolicy must be one of ${MFA_POLICIES.join(', ')}`);
    const redirecting = f.allowedGrants.includes('authorization_code') || f.allowedGrants.includes('implicit');
    if (redirecting && f.redirectUris.length === 0) throw fail('authorization_code and implicit need at least one redirect URI');
  }
  if (f.isOAuthResource) {
    const seen = new Set<string>();
    for (const sc of f.scopes) {
      if (!SCOPE_TOKEN.test(sc.value)) throw fail(`scope ${JSON.stringify(sc.value).slice(0, 80)} has invalid characters (RFC 6749 §3.3)`);
      if (RESERVED_SCOPE.test(sc.value) || ['openid', 'offline_access', 'profile', 'email', 'address', 'phone', 'groups', 'approles'].includes(sc.value)) {
        throw fail(`scope ${sc.value} is reserved`);
      }
      if (seen.has(sc.value)) throw fail(`scope ${sc.value} is listed twice`);
      seen.add(sc.value);
    }
  }
}

export class AppsResource implements ResourceType<AppRecord, AppView> {
  readonly name = 'Apps' as const;
  readonly resourceType = 'App';
  readonly schema = AppSchema;
  constructor(private s: Services) {}

  async view(c: DomainContext): Promise<AppView> {
    const [roles, grants] = await Promise.all([this.s.repos.appRoles.list(c.domain.id), this.s.repos.grants.list(c.domain.id)]);
    const grantsByApp = new Map<string, string[]>();
    for (const g of grants) if (g.granteeType === 'App') grantsByApp.set(g.granteeId, [...(grantsByApp.get(g.granteeId) ?? []), g.appRoleId]);
    return { rolesById: new Map(roles.map((r) => [r.id, r])), grantsByApp };
  }

  render(c: DomainContext, a: AppRecord, view: AppView): Scim {
    const client = a.isOAuthClient;
    const rs = a.isOAuthResource;
    return compact({
      schemas: [AppSchema.id], id: a.id, displayName: a.displayName, description: a.description, active: a.active, isBuiltIn: a.isBuiltIn,
      isOAuthClient: client,
      name: a.clientId,
      clientType: client ? a.clientType : undefined,
      tokenEndpointAuthMethod: client ? a.tokenEndpointAuthMethod : undefined,
      tokenEndpointAuthSigningAlg: client ? a.tokenEndpointAuthSigningAlg : undefined,
      ...Object.fromEntries(TLS_SUBJECT_ATTRIBUTES.map((k) => [k, client ? a[k] : undefined])),
      tlsClientCertificateBoundAccessTokens: client ? a.tlsClientCertificateBoundAccessTokens === true : undefined,
      allowedGrants: client ? a.allowedGrants : undefined,
      redirectUris: client && a.redirectUris.length ? a.redirectUris : undefined,
      postLogoutRedirectUris: client && a.postLogoutRedirectUris.length ? a.postLogoutRedirectUris : undefined,
      jwks: client ? a.jwks : undefined,
      jwksUri: client ? a.jwksUri : undefined,
      certificates: client && a.certificates?.length ? a.certificates : undefined,
      allowedScopes: client && a.allowedScopes.length ? a.allowedScopes.map((fqs) => ({ fqs })) : undefined,
      defaultScopes: client && a.defaultScopes.length ? a.defaultScopes : undefined,
      accessTokenExpiry: a.accessTokenExpiry,
      refreshTokenExpiry: a.refreshTokenExpiry,
      pkceRequired: client ? a.pkceRequired !== false : undefined,
      bypassConsent: client ? a.bypassConsent === true : undefined,
      claimsInIdToken: client ? a.claimsInIdToken === true : undefined,
      allowOffline: client ? a.allowOffline === true : undefined,
      allowUserAssertions: client ? a.allowUserAssertions === true : undefined,
      allowTokenExchangeImpersonation: client ? a.allowTokenExchangeImpersonation === true : undefined,
      mfaPolicy: client ? a.mfaPolicy : undefined,
      isOAuthResource: rs,
      audience: rs ? (a.isBuiltIn ? adminAudience(c.issuer) : a.audience) : undefined,
      scopes: rs ? a.scopes.map((sc) => compact({ ...sc })) : undefined,
      accessTokenFormat: rs ? a.accessTokenFormat : undefined,
      accessTokenSigningAlg: rs ? a.accessTokenSigningAlg : undefined,
      grantedAppRoles: (view.grantsByApp.get(a.id) ?? []).map((roleId) => {
        const role = view.rolesById.get(roleId);
        return compact({ value: roleId, display: role?.displayName, appId: role?.appId });
      }),
      meta: meta(c, 'App', 'Apps', a),
    });
  }

  get(c: DomainContext, id: string) { return this.s.repos.apps.get(c.domain.id, id); }
  list(c: DomainContext) { return this.s.repos.apps.list(c.domain.id); }

  /** SCIM body -> client/resource-server fields, with defaults and the consistency rules. */
  private async fields(c: DomainContext, b: Scim, caller: AdminCaller, existing?: AppRecord): Promise<ClientFields> {
    const isOAuthClient = b.isOAuthClient === true;
    const isOAuthResource = b.isOAuthResource === true;
    const clientType: ClientType = (str(b.clientType) as ClientType | undefined) ?? existing?.clientType ?? 'confidential';
    if (existing?.isOAuthClient && existing.clientType !== clientType) throw new ScimError(400, 'mutability', 'clientType cannot change');
    const method = (str(b.tokenEndpointAuthMethod) as TokenEndpointAuthMethod | undefined) ?? (clientType === 'public' ? 'none' : 'client_secret_basic');
    const scopes: ScopeDef[] = Array.isArray(b.scopes)
      ? (b.scopes as Scim[]).map((sc) => compact({ value: String(sc.value ?? ''), description: str(sc.description), requiresConsent: typeof sc.requiresConsent === 'boolean' ? sc.requiresConsent : undefined }) as unknown as ScopeDef)
      : [];
    const f: ClientFields = {
      displayName: String(b.displayName), description: str(b.description), active: b.active !== false,
      isOAuthClient, clientType, tokenEndpointAuthMethod: method, tokenEndpointAuthSigningAlg: str(b.tokenEndpointAuthSigningAlg),
      allowedGrants: strs(b.allowedGrants), redirectUris: strs(b.redirectUris), postLogoutRedirectUris: strs(b.postLogoutRedirectUris),
      jwks: b.jwks as ClientFields['jwks'], jwksUri: str(b.jwksUri), certificates: strs(b.certificates).length ? strs(b.certificates) : undefined,
      ...Object.fromEntries(TLS_SUBJECT_ATTRIBUTES.map((k) => [k, str(b[k])])),
      tlsClientCertificateBoundAccessTokens: b.tlsClientCertificateBoundAccessTokens === true ? true : undefined,
      allowedScopes: Array.isArray(b.allowedScopes) ? (b.allowedScopes as Scim[]).map((x) => String(x.fqs ?? '')) : [],
      defaultScopes: strs(b.defaultScopes),
      accessTokenExpiry: lifetime('accessTokenExpiry', num(b.accessTokenExpiry), MIN_ACCESS_TOKEN_LIFETIME, MAX_ACCESS_TOKEN_LIFETIME),
      refreshTokenExpiry: lifetime('refreshTokenExpiry', num(b.refreshTokenExpiry), 60, 31_536_000 * 5),
      pkceRequired: b.pkceRequired === false ? false : undefined,
      bypassConsent: b.bypassConsent === true ? true : undefined,
      claimsInIdToken: b.claimsInIdToken === true ? true : undefined,
      allowOffline: b.allowOffline === true ? true : undefined,
      mfaPolicy: str(b.mfaPolicy) as MfaPolicy | undefined,
      isOAuthResource, audience: str(b.audience), scopes,
      accessTokenFormat: (str(b.accessTokenFormat) as 'jwt' | 'opaque' | undefined) ?? 'jwt',
      accessTokenSigningAlg: str(b.accessTokenSigningAlg) as SigningAlg | undefined,
    };
    if (!isOAuthClient && !isOAuthResource) {
      // A plain App (no OAuth role) is allowed: it can still own app roles.
    }
    checkClientFields(f, { allowPrivateFetch: this.s.config.unsafeAllowPrivateFetch });
    if (isOAuthResource && !f.audience) throw bad('a resource server (isOAuthResource) needs an audience');
    if (f.audience && (f.audience === adminAudience(c.issuer) || f.audience.length > 1000)) throw bad('audience is reserved or too long');
    // allowedScopes / defaultScopes must name scopes defined in this domain (by another app, or by this one);
    // allowedScopes may also list the OpenID Connect scopes, which any client may ask for in a user flow.
    const cat = await this.s.catalogs.catalog(c.domain, { fresh: true });
    const own = new Set(isOAuthResource ? scopes.map((x) => x.value) : []);
    for (const sc of f.allowedScopes) {
      if (!cat.scopes.has(sc) && !own.has(sc) && !OIDC_SCOPES.has(sc)) throw bad(`scope ${sc} is not defined by any resource server of this domain`);
    }
    for (const sc of f.defaultScopes) {
      if (!cat.scopes.has(sc) && !own.has(sc)) throw bad(`scope ${sc} is not defined by any resource server of this domain`);
    }
    assertNoEscalation(caller, adminScopesOf(cat), f.allowedScopes.filter((x) => !existing?.allowedScopes.includes(x)));
    return f;
  }

  /**
   * `allowUserAssertions` (RFC 7523 §2.1 with `sub` = any user): the client then acts as any user of the domain,
   * within its own scopes, so setting it, or changing a client that has it (its keys above all), is as good as
   * managing every user: only a caller holding every admin scope of the domain may (the no-escalation rule of
   * admin/guard.ts, for the one principal that could be any user). Never settable by dynamic registration.
   */
  private async userAssertions(c: DomainContext, b: Scim, f: ClientFields, caller: AdminCaller, existing?: AppRecord): Promise<true | undefined> {
    if (b.allowUserAssertions !== true) return undefined;
    if (!f.isOAuthClient || f.clientType !== 'confidential' || !f.allowedGrants.includes(GRANT_TYPES.jwtBearer)) {
      throw bad(`allowUserAssertions needs a confidential client allowed the ${GRANT_TYPES.jwtBearer} grant`);
    }
    if (!f.jwks && !f.jwksUri && !f.certificates?.length) throw bad('allowUserAssertions needs registered keys (jwks, jwksUri or certificates) to verify the assertions');
    const admin = adminScopesOf(await this.s.catalogs.catalog(c.domain, { fresh: true }));
    assertNoEscalation(caller, admin, admin, (sc) => existing?.allowUserAssertions
      ? `only a caller holding every admin scope (${sc} is missing) may change a client that may assert any user`
      : `only a caller holding every admin scope (${sc} is missing) may let a client assert any user`);
    return true;
  }

  /**
   * `allowTokenExchangeImpersonation` (RFC 8693 §1.1): the client may exchange any token it is given for one in which
   * it does not appear, acting as the token's subject (a user, possibly an administrator) for every resource server
   * it may reach. As with allowUserAssertions, only a caller holding every admin scope may set it, or change a
   * client that has it. Never settable by dynamic registration.
   */
  private async impersonation(c: DomainContext, b: Scim, f: ClientFields, caller: AdminCaller, existing?: AppRecord): Promise<true | undefined> {
    if (b.allowTokenExchangeImpersonation !== true) {
      if (existing?.allowTokenExchangeImpersonation) await this.fullAdmin(c, caller, 'change a client that may impersonate through token exchange');
      return undefined;
    }
    if (!f.isOAuthClient || f.clientType !== 'confidential' || !f.allowedGrants.includes(GRANT_TYPES.tokenExchange)) {
      throw bad(`allowTokenExchangeImpersonation needs a confidential client allowed the ${GRANT_TYPES.tokenExchange} grant`);
    }
    await this.fullAdmin(c, caller, existing?.allowTokenExchangeImpersonation ? 'change a client that may impersonate through token exchange' : 'let a client impersonate through token exchange');
    return true;
  }

  private async fullAdmin(c: DomainContext, caller: AdminCaller, what: string): Promise<void> {
    const admin = adminScopesOf(await this.s.catalogs.catalog(c.domain, { fresh: true }));
    assertNoEscalation(caller, admin, admin, (sc) => `only a caller holding every admin scope (${sc} is missing) may ${what}`);
  }

  async create(c: DomainContext, b: Scim, caller: AdminCaller) {
    const f = await this.fields(c, b, caller);
    const allowUserAssertions = await this.userAssertions(c, b, f, caller);
    const allowTokenExchangeImpersonation = await this.impersonation(c, b, f, caller);
    const now = this.s.clock.now();
    const app = newApp(c.domain.id, now, { ...f, allowUserAssertions, allowTokenExchangeImpersonation });
    const extra: Scim = {};
    if (f.isOAuthClient) {
      app.clientId = newClientId();
      if (f.clientType === 'confidential' && usesSecret(f.tokenEndpointAuthMethod)) {
        const secret = newSecret();
        app.secretHash = hashSecret(this.s.masterKey, secret);
        // client_secret_jwt verifies an HMAC, which needs the raw secret: keep it encrypted at rest.
        if (f.tokenEndpointAuthMethod === 'client_secret_jwt') app.secretEnc = this.s.masterKey.encrypt(secret, secretAad(app));
        extra.clientSecret = secret; // shown once, in this response only
      }
    }
    await this.s.repos.apps.create(app);
    if (f.isOAuthResource && f.accessTokenSigningAlg) await this.s.keys.ensure(c.domain.id, f.accessTokenSigningAlg);
    return { rec: app, extra };
  }

  async replace(c: DomainContext, existing: AppRecord, b: Scim, caller: AdminCaller) {
    if (existing.isBuiltIn) throw new ScimError(400, 'mutability', 'built-in apps (the identity domain API, the console and account clients) cannot be modified');
    assertMayManage(caller, await this.s.catalogs.catalog(c.domain, { fresh: true }), existing);
    const f = await this.fields(c, b, caller, existing);
    const allowUserAssertions = await this.userAssertions(c, b, f, caller, existing);
    const allowTokenExchangeImpersonation = await this.impersonation(c, b, f, caller, existing);
    const next: AppRecord = { ...existing, ...f, allowUserAssertions, allowTokenExchangeImpersonation, updatedAt: this.s.clock.now() };
    if (existing.active && !f.active) next.tokensValidAfter = next.updatedAt;
    if (f.isOAuthClient && !existing.clientId) next.clientId = newClientId();
    const needsSecretEnc = f.tokenEndpointAuthMethod === 'client_secret_jwt';
    if (needsSecretEnc && !existing.secretEnc) throw bad('switching to client_secret_jwt needs a new secret: create a new app');
    const saved = await this.s.repos.apps.update(next, existing.version);
    if (f.isOAuthResource && f.accessTokenSigningAlg) await this.s.keys.ensure(c.domain.id, f.accessTokenSigningAlg);
    return saved;
  }

  async remove(c: DomainContext, existing: AppRecord, caller: AdminCaller) {
    if (existing.isBuiltIn) throw new ScimError(400, 'mutability', 'built-in apps (the identity domain API, the console and account clients) cannot be deleted');
    assertMayManage(caller, await this.s.catalogs.catalog(c.domain, { fresh: true }), existing);
    if (!(await this.s.repos.apps.delete(c.domain.id, existing.id, existing.version))) throw new ScimError(412, undefined, 'the resource was modified');
    await this.s.repos.grants.deleteForGrantee(c.domain.id, 'App', existing.id);
  }
}
