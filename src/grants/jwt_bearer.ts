/**
 * RFC 7523 §2.1: a signed JWT as an authorization grant. Two kinds of issuer:
 * - a trusted issuer of the domain (another IdP): the client authenticates as usual, the assertion names a
 *   user of the domain through the issuer's subjectAttribute, and the issuer caps the scopes;
 * - a client of the domain, signing with its registered keys (the seeds' gateway case): the signature is the
 *   client's authentication (RFC 7523 §3.1, no other credentials needed). `sub` = its own client_id yields a
 *   client token as client_credentials would; `sub` = a userName yields a user token only for a client an
 *   administrator marked `allowUserAssertions` (Oracle's trusted client).
 * Keys come only from registrations (RFC 8725 §3.10): the JWT's jwk, jku, x5u and x5c headers are ignored.
 * The claims are checked here (RFC 7523 §3), the signature with node:crypto (crypto/jws_verify.ts).
 */
import { createHash } from 'node:crypto';
import { algsOfJwk, ASYMMETRIC_ALGS, ClientKeysUnavailable, registeredClientKeys } from '../clientauth/assertion.js';
import { InvalidClient, InvalidGrant, InvalidRequest, OAuthError, UnauthorizedClient } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { PublicKeyCache, verifyJws } from '../crypto/jws_verify.js';
import { GRANT_TYPES, type AppRecord, type Jwk, type TrustedIssuerRecord } from '../core/types.js';
import { resolveClientScopes, splitScope } from '../identity/scopes.js';
import { userRoleIds } from '../identity/user_roles.js';
import { issuedAfterCut } from '../identity/users.js';
import { CertificateProblem } from '../identity/trusted_issuers.js';
import { decodeJwt } from '../tokens/jwt.js';
import { assertedUser, assertIssuerAllowsClient, assertionScopes, unknownSubject, useAssertionOnce } from './assertion_grant.js';
import { issueForUser, wantsRefresh } from './user_grant.js';
import {
  assertGrantAllowed, type GrantServices, type GrantTypeInfo, type OptionalClientGrantHandler, type OptionalClientGrantRequest, type TokenResponse,
} from './types.js';

/** Larger JWTs are refused before parsing (a certificate chain in the header still fits). */
const MAX_ASSERTION = 16384;
const MAX_CLAIM = 1024;
const MAX_KID = 256;
/** Keys tried for one signature when the header selects none in particular (a JWK Set without kids). */
const MAX_TRIES = 10;
/**
 * RFC 8725 §3.11: only a plain JWT may be an authorization grant. RFC 7523 defines no typ; `JWT` (RFC 7519
 * §5.1, with or without `application/`) or none is what partners send. Explicitly typed JWTs of other kinds
 * are refused: access tokens (`at+jwt`, RFC 9068), client authentication JWTs (`client-authentication+jwt`,
 * RFC 10070), request objects (`oauth-authz-req+jwt`), logout tokens, ...
 */
const PLAIN_JWT_TYP = /^(application\/)?jwt$/i;
/**
 * Claims only an OpenID Connect ID token carries (OIDC Core §2, §3.1.3.6, §3.3.2.11): an ID token has typ
 * JWT too, and one issued to a client whose id is a trusted issuer's `audience` would pass the audience
 * rule, so its shape refuses it (RFC 8725 §3.12). `auth_time` and `azp` are not on the list: assertions
 * legitimately carry them.
 */
const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash', 's_hash'] as const;

const bad = (description: string, debug?: string): InvalidGrant => new InvalidGrant(description, debug);

/** A claim that names something (iss, sub): a non-empty bounded string that PostgreSQL can compare (no U+0000). */
function nameClaim(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0) throw bad(`the assertion has no ${name} (RFC 7523 §3)`);
  if (v.length > MAX_CLAIM || v.includes('\0')) throw bad(`the assertion's ${name} is not usable`);
  return v;
}

/** The base64url SHA-1 / SHA-256 thumbprint of a JWK's certificate (its first x5c), or its own member. */
function thumbprint(k: Jwk, alg: 'sha1' | 'sha256'): string | undefined {
  const own = k[alg === 'sha1' ? 'x5t' : 'x5t#S256'];
  if (typeof own === 'string') return own;
  const der = Array.isArray(k.x5c) && typeof k.x5c[0] === 'string' ? Buffer.from(k.x5c[0], 'base64') : undefined;
  return der && der.length > 0 ? createHash(alg).update(der).digest('base64url') : undefined;
}

/** Who vouches for the assertion, and the rules that come with it. */
type Source =
  | { kind: 'client'; client: AppRecord }
  | { kind: 'issuer'; client: AppRecord; issuer: TrustedIssuerRecord };

export class JwtBearerGrant implements OptionalClientGrantHandler {
  static readonly info: GrantTypeInfo = { grantType: GRANT_TYPES.jwtBearer, tokenEndpoint: true, responseTypes: [], selfRegistrable: true };
  readonly info = JwtBearerGrant.info;
  readonly parameters = new Set(['assertion', 'scope']);
  /**
   * Confidential clients only. A client-signed assertion needs registered keys, which only a confidential
   * client may have; an assertion from a trusted issuer is a bearer credential, and a public client's
   * client_id authenticates nothing, so anyone holding a stolen assertion could present it in that client's name.
   */
  readonly confidentialOnly = true;
  // RFC 7523 §3.1: client authentication is optional; a client-signed assertion authenticates its client.
  readonly clientAuthentication = 'optional' as const;

  /** RFC 8725 §3.1 with node:crypto (crypto/jws_verify.ts says why not jose here): keys imported once. */
  private readonly keys = new PublicKeyCache();

  constructor(private readonly s: Pick<GrantServices, 'catalogs' | 'accessTokens' | 'userTokens' | 'events' | 'clock' | 'repos' | 'jwksFetcher' | 'trustedIssuerKeys' | 'config'>) {}

  async handle(req: OptionalClientGrantRequest): Promise<TokenResponse> {
    const raw = req.params.assertion;
    // RFC 7521 §4.1: the assertion parameter is required (one value: repeated parameters were refused before).
    if (!raw) throw new InvalidRequest('assertion is required');
    const requested = splitScope(req.params.scope);
    // RFC 7521 §4.1.1: an assertion that is not valid is invalid_grant, whatever is wrong with it.
    if (raw.length > MAX_ASSERTION) throw bad(`the assertion is larger than ${MAX_ASSERTION} characters`);
    const segments = raw.split('.').length;
    if (segments === 5) throw bad('encrypted (JWE) assertions are not supported; send a signed JWT');
    const d = decodeJwt(raw, MAX_ASSERTION);
    if (!d) throw bad('the assertion is not a JWT (three base64url parts, JSON header and claims)');
    const { header: h, payload: p } = d;

    // Header: RFC 8725 §3.1 / §3.11, RFC 7515 §4.1.11.
    if (h.typ !== undefined && (typeof h.typ !== 'string' || !PLAIN_JWT_TYP.test(h.typ))) {
      throw bad(`an assertion of typ ${String(h.typ).slice(0, 60)} is refused: only a plain JWT may be a grant (RFC 8725 §3.11)`);
    }
    const alg = typeof h.alg === 'string' ? h.alg : '';
    if (!ASYMMETRIC_ALGS.includes(alg)) throw bad(`assertion alg ${alg.slice(0, 20) || '(none)'} is refused: RS, PS, ES or EdDSA only`);
    if (h.crit !== undefined) throw bad('the assertion names critical header parameters this server does not understand (RFC 7515 §4.1.11)');
    if (h.kid !== undefined && (typeof h.kid !== 'string' || h.kid.length === 0 || h.kid.length > MAX_KID)) throw bad('the assertion kid is not usable');
    for (const c of ID_TOKEN_CLAIMS) if (p[c] !== undefined) throw bad(`the assertion carries ${c}: an OpenID Connect ID token is not a grant (RFC 8725 §3.12)`);

    const iss = nameClaim(p.iss, 'iss');
    const sub = nameClaim(p.sub, 'sub');
    const source = await this.source(req, iss);
    // A client that registered the alg of its JWTs (token_endpoint_auth_signing_alg) signs its assertions with it too.
    // (An HMAC alg pins client_secret_jwt's secret, not these keys.)
    const pinned = source.kind === 'client' ? source.client.tokenEndpointAuthSigningAlg : undefined;
    if (pinned !== undefined && ASYMMETRIC_ALGS.includes(pinned) && alg !== pinned) throw bad(`assertion alg ${alg} is not the client's registered ${pinned}`);
    const cap = source.kind === 'issuer' ? source.issuer.maxAssertionLifetime : this.s.config.clientAssertionMaxLifetime;
    this.checkClaims(req, p, source, cap);

    // Keys, and the algorithms they can verify (RFC 8725 §3.1: the key decides, never the header alone).
    const kid = typeof h.kid === 'string' ? h.kid : undefined;
    let keys: Jwk[];
    try {
      keys = source.kind === 'issuer'
        ? (await this.s.trustedIssuerKeys.jwtKeys(source.issuer, kid)).keys
        : (await registeredClientKeys(source.client, this.s.jwksFetcher, kid)).keys;
    } catch (e) {
      if (e instanceof ClientKeysUnavailable || e instanceof CertificateProblem) throw bad('the issuer\'s registered keys cannot be used', e.message);
      if (e instanceof OAuthError) throw e;
      throw bad('the issuer\'s jwks_uri cannot be read', (e as Error).message);
    }
    let candidates = keys.filter((k) => algsOfJwk(k).includes(alg));
    // RFC 7515 §4.1.7-8: a certificate thumbprint selects among the registered certificates' keys.
    for (const [member, hash] of [['x5t#S256', 'sha256'], ['x5t', 'sha1']] as const) {
      const t = h[member];
      if (t === undefined) continue;
      if (typeof t !== 'string') throw bad(`the assertion ${member} is not usable`);
      candidates = candidates.filter((k) => thumbprint(k, hash) === t);
    }
    if (kid !== undefined) candidates = candidates.filter((k) => k.kid === kid);
    if (candidates.length === 0) throw bad(`no registered key of the issuer verifies ${alg}${kid !== undefined ? ' with this kid' : ''}`);
    // Each candidate the header could mean is tried (a set without kids), a bounded number of them.
    if (!candidates.slice(0, MAX_TRIES).some((k) => {
      const key = this.keys.of(k);
      return key !== undefined && verifyJws(d.signingInput, d.signature, alg, key);
    })) {
      throw bad('the assertion signature does not verify with the issuer\'s registered keys');
    }
    const now = this.s.clock.now();
    if (source.kind === 'client') {
      // Only now is a client that sent no other credentials authenticated (RFC 6749 §5.2 unauthorized_client is for those).
      if (!req.client) assertGrantAllowed(source.client, this);
      if (sub !== source.client.clientId && source.client.allowUserAssertions !== true) {
        throw new UnauthorizedClient('this client may assert only itself (sub = its client_id); an administrator must allow it user assertions (allowUserAssertions)');
      }
    }
    // RFC 7523 §3 item 7 (adopted: jti required): single use until it expires, across nodes. A client's own
    // assertions share the namespace of its client authentication assertions (clientauth/assertion.ts), so a
    // JWT spent as one cannot be spent again as the other.
    const ns = source.kind === 'issuer' ? `jwt:${source.issuer.id}` : source.client.clientId!;
    await useAssertionOnce(this.s.repos, req.domain.id, ns, p.jti as string, ((p.exp as number) + this.s.config.clockSkewSeconds) * 1000, now);

    const client = source.client;
    const cat = await this.s.catalogs.catalog(req.domain);
    const target = { ...req, client };
    const auditIssuer = source.kind === 'issuer' ? { assertion_issuer: source.issuer.issuer, trusted_issuer_id: source.issuer.id } : { assertion_issuer: iss };
    if (source.kind === 'client' && sub === client.clientId) {
      // RFC 7523 §3 item 2: sub = the client itself; a client token as client_credentials gives (no refresh, RFC 6749 §4.4.3).
      const resolved = resolveClientScopes(cat, client, requested);
      const at = await this.s.accessTokens.issue({
        domain: req.domain, issuer: req.issuer, client, sub: client.clientId!, subType: 'client',
        scopes: resolved.scopes, resourceServers: resolved.resourceServers, expiry: resolved.expiry,
      });
      this.s.events.emit({
        eventId: 'token.issued', outcome: 'success', domainId: req.domain.id, actorType: 'client', actorId: client.clientId,
        actorName: client.displayName, clientIp: req.clientIp, targetType: 'access_token', targetId: at.jti,
        details: { grant_type: this.info.grantType, scope: resolved.scopes.join(' '), format: at.format, ...auditIssuer },
      });
      return { access_token: at.token, token_type: 'Bearer', expires_in: at.expiresIn, scope: resolved.scopes.join(' ') };
    }

    // A user: through the trusted issuer's subject attribute, or a trusted client's userName. One answer for
    // every subject that is not exactly one active user (JB-2: no oracle for who exists).
    const user = await assertedUser(this.s.repos, req.domain.id, source.kind === 'issuer' ? source.issuer.subjectAttribute : 'userName', sub);
    // The user's tokens were cut off (deactivation, new password) after the assertion was made: it is spent, as a SAML
    // one is. Without iat, it was made no earlier than exp minus the longest lifetime allowed (checkClaims).
    const madeAt = Math.min(typeof p.iat === 'number' ? p.iat : (p.exp as number) - cap, now / 1000);
    if (!user || !issuedAfterCut(madeAt, user.tokensValidAfter)) throw unknownSubject();
    const resolved = assertionScopes(cat, client, await userRoleIds(this.s.repos, req.domain.id, user.id), source.kind === 'issuer' ? source.issuer.allowedScopes : undefined, requested);
    return issueForUser(this.s, target, {
      cat, scopes: resolved.scopes, expiry: resolved.expiry, grantId: newId(), refresh: wantsRefresh(client, resolved.scopes), tokensValidAfter: user.tokensValidAfter,
      // The user did not authenticate here: no amr or acr is claimed for them (an ID token then carries neither).
      auth: { userId: user.id, authTime: now, amr: [], acr: '', ...(source.kind === 'issuer' ? { trustedIssuerId: source.issuer.id } : { assertedByClient: true }) },
    }, this.info.grantType, auditIssuer);
  }

  /** Who issued the assertion: the authenticated client itself, a trusted issuer, or (without client authentication) the client it names. */
  private async source(req: OptionalClientGrantRequest, iss: string): Promise<Source> {
    if (req.client) {
      // RFC 7523 §3.1: a client that also authenticates must be the client that signed.
      if (iss === req.client.clientId) return { kind: 'client', client: req.client };
      const t = await this.s.repos.trustedIssuers.getByIssuer(req.domain.id, 'jwt', iss);
      // JB-1 (Keycloak CVE-2026-1486): a disabled trusted issuer is no issuer at all.
      if (!t || !t.active) throw bad('the assertion\'s issuer is not a trusted issuer of this identity domain (nor the authenticated client)');
      assertIssuerAllowsClient(t, req.client);
      return { kind: 'issuer', client: req.client, issuer: t };
    }
    const client = await this.s.catalogs.client(req.domain.id, iss);
    // RFC 6749 §5.2: without client authentication the assertion must be the client's own; anything else is an unknown client.
    if (!client || !client.active || !client.isOAuthClient || client.clientType !== 'confidential') {
      throw new InvalidClient('client authentication is required: the assertion\'s iss is not a client of this identity domain (assertions from a trusted issuer need the client to authenticate)',
        `jwt-bearer: no usable client ${iss.slice(0, 100)}`);
    }
    return { kind: 'client', client };
  }

  /** RFC 7523 §3 items 3-6 with RFC 8725 §3.8-3.9; the signature is checked after, with the same rules. */
  private checkClaims(req: OptionalClientGrantRequest, p: Record<string, unknown>, source: Source, maxLifetime: number): void {
    // Item 3: aud identifies this server: the issuer or the token endpoint URL (or the trusted issuer's configured
    // audience). One value only: an array naming others too could be replayed at them (RFC 10070's audience injection).
    const aud = Array.isArray(p.aud) && p.aud.length === 1 ? p.aud[0] : p.aud;
    const audiences = [req.issuer, req.tokenEndpoint, ...(source.kind === 'issuer' && source.issuer.audience ? [source.issuer.audience] : [])];
    if (typeof aud !== 'string' || !audiences.includes(aud)) throw bad('the assertion\'s aud must be one value: this issuer or its token endpoint URL');
    const now = Math.floor(this.s.clock.now() / 1000);
    const skew = this.s.config.clockSkewSeconds;
    const time = (name: string): number | undefined => {
      const v = p[name];
      if (v === undefined) return undefined;
      // RFC 7519 §2 NumericDate: a JSON number (a string date is refused, not parsed).
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`the assertion's ${name} is not a NumericDate`);
      return v;
    };
    // Item 4: exp required; it must not be past, nor further ahead than the issuer's maximum lifetime.
    const exp = time('exp');
    if (exp === undefined) throw bad('the assertion has no exp (RFC 7523 §3)');
    if (exp <= now - skew) throw bad('the assertion has expired');
    if (exp - now > maxLifetime + skew) throw bad(`the assertion lives too long: exp may be at most ${maxLifetime} s ahead`);
    // Item 5: nbf; item 6: iat not in the future, and not from longer ago than an assertion may live.
    const nbf = time('nbf');
    if (nbf !== undefined && nbf > now + skew) throw bad('the assertion is not valid yet (nbf)');
    const iat = time('iat');
    if (iat !== undefined && iat > now + skew) throw bad('the assertion was issued in the future (iat)');
    if (iat !== undefined && exp - iat > maxLifetime + skew) throw bad(`the assertion lives too long: exp - iat may be at most ${maxLifetime} s`);
    if (typeof p.jti !== 'string' || p.jti.length === 0) throw bad('the assertion has no jti (required here: each assertion is used once)');
    if (p.jti.length > 256 || p.jti.includes('\0')) throw bad('the assertion\'s jti is not usable');
  }
}
