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
import { ClientKeysUnavailable, registeredClientKeys, ASYMMETRIC_ALGS } from '../clientauth/assertion.js';
import { InvalidClient, InvalidGrant, InvalidRequest, OAuthError, UnauthorizedClient } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { PublicKeyCache } from '../crypto/jws_verify.js';
import { GRANT_TYPES, type AppRecord, type Jwk, type TrustedIssuerRecord } from '../core/types.js';
import { resolveClientScopes, splitScope } from '../identity/scopes.js';
import { userRoleIds } from '../identity/user_roles.js';
import { issuedAfterCut } from '../identity/users.js';
import { CertificateProblem } from '../identity/trusted_issuers.js';
import { decodeJwt } from '../tokens/jwt.js';
import { confirmationFor } from '../tokens/confirmation.js';
import { assertedUser, assertIssuerAllowsClient, assertionScopes, unknownSubject, useAssertionOnce } from './assertion_grant.js';
import { checkAssertionClaims, checkAssertionHeader, MAX_ASSERTION, nameClaim, verifyAssertionSignature } from './jwt_assertion.js';
import { issueForUser, wantsRefresh } from './user_grant.js';
import {
  assertGrantAllowed, type GrantServices, type GrantTypeInfo, type OptionalClientGrantHandler, type OptionalClientGrantRequest, type TokenResponse,
} from './types.js';

const bad = (description: string, debug?: string): InvalidGrant => new InvalidGrant(description, debug);

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
    const p = d.payload;
    // Header: RFC 8725 §3.1 / §3.11, RFC 7515 §4.1.11 (and no ID token, §3.12).
    const { alg, kid } = checkAssertionHeader(d);

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
    verifyAssertionSignature(keys, d, alg, kid, this.keys);
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
        scopes: resolved.scopes, resourceServers: resolved.resourceServers, expiry: resolved.expiry, cnf: confirmationFor(client, req.certificateThumbprint),
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

  /** RFC 7523 §3 items 3-7 (jwt_assertion.ts), with this grant's audiences. */
  private checkClaims(req: OptionalClientGrantRequest, p: Record<string, unknown>, source: Source, maxLifetime: number): void {
    const audiences = [req.issuer, req.tokenEndpoint, ...(source.kind === 'issuer' && source.issuer.audience ? [source.issuer.audience] : [])];
    checkAssertionClaims(p, { audiences, now: this.s.clock.now(), skewSeconds: this.s.config.clockSkewSeconds, maxLifetime });
  }
}
