/**
 * RFC 8693: OAuth 2.0 Token Exchange. A confidential client presents a token it holds for someone (the subject)
 * and gets an access token for that subject, usually for another resource server: the on-behalf-of pattern, where
 * an API calls a downstream API for its caller.
 *
 * Subject and actor tokens are either access tokens of this domain (JWT or opaque,
 * `urn:ietf:params:oauth:token-type:access_token`, checked by the validator that knows revocation and cut-offs)
 * or JWTs from an active trusted issuer with protocol jwt (`urn:ietf:params:oauth:token-type:jwt`, checked as the
 * JWT bearer grant checks an assertion: jwt_assertion.ts, single use by jti, the issuer's subject attribute,
 * allowedClients and allowedScopes).
 *
 * Policy (safe by default):
 * - the client authenticated (confidential) and is allowed this grant, which only an administrator can give
 *   (not self-registrable);
 * - a subject token of this domain must name the client in its audience: the client's own `audience` (an app that
 *   is both client and resource server) or its client id in `aud`. Tessera's tokens carry no `may_act`; a trusted
 *   issuer's JWT may, and then the actor must be named in it;
 * - `audience` (a resource server's audience value, or the client id of an app that is one) and `resource`
 *   (RFC 8707: its audience as an absolute URI) name active resource servers of the domain, not the identity domain
 *   API, whose scopes the client may request; anything else is invalid_target;
 * - scopes: at most what the client may request for the target, for a user only what the role rules allow them,
 *   for a client subject only what that client may have; without a target, never more than the subject token has;
 * - delegation by default: the token carries `act` (RFC 8693 §4.1) naming the actor (the actor token's subject,
 *   or the client itself when it sends none), nested over the subject token's own `act`. Impersonation (no new
 *   `act`) only without an actor token, for a client an administrator allowed it (allowTokenExchangeImpersonation);
 * - access tokens only (requested_token_type refresh_token is refused: no exchanged grant outlives its subject),
 *   living no longer than the subject token of this domain; each carries the subject's grant id and the jtis of
 *   the tokens it came from, so revoking any of them (or the grant, by logout or refresh reuse) ends it too.
 *
 * Errors: RFC 8693 §2.2.2 makes an invalid or unacceptable subject or actor token `invalid_request` (a MUST),
 * and a target no token may be issued for `invalid_target`; the rest is RFC 6749 §5.2.
 */
import { ClientKeysUnavailable } from '../clientauth/assertion.js';
import { InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget, OAuthError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { GRANT_TYPES, type AppRecord, type TrustedIssuerRecord } from '../core/types.js';
import { PublicKeyCache } from '../crypto/jws_verify.js';
import type { DomainCatalog, ResourceServerInfo } from '../identity/catalog.js';
import { OIDC_SCOPES, clientRoleIds, resolveClientScopes, resolveUserFlowScopes, roleScopes, splitScope, stillGranted, type ResolvedScopes } from '../identity/scopes.js';
import { currentScopes } from '../identity/token_scopes.js';
import { CertificateProblem } from '../identity/trusted_issuers.js';
import { userRoleIds } from '../identity/user_roles.js';
import { authStillValid } from '../identity/users.js';
import type { UserRecord } from '../storage/ports.js';
import { actDepth, MAX_DELEGATION_DEPTH, readAct, type Act } from '../tokens/act.js';
import { decodeJwt } from '../tokens/jwt.js';
import { confirmationFor } from '../tokens/confirmation.js';
import { resourceServersOf } from '../tokens/user_tokens.js';
import type { ValidAccessToken } from '../tokens/validator.js';
import { assertedUser, assertionScopes, assertIssuerAllowsClient, useAssertionOnce } from './assertion_grant.js';
import { checkAssertionClaims, checkAssertionHeader, MAX_ASSERTION, nameClaim, verifyAssertionSignature } from './jwt_assertion.js';
import type { ClientGrantHandler, GrantRequest, GrantServices, GrantTypeInfo, TokenResponse } from './types.js';

/** RFC 8693 §3 token type identifiers. */
export const TOKEN_TYPES = {
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  refreshToken: 'urn:ietf:params:oauth:token-type:refresh_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
} as const;
const ACCEPTED_TYPES: readonly string[] = [TOKEN_TYPES.accessToken, TOKEN_TYPES.jwt];

/** No token this server accepts is longer (its own tokens are at most 8192, a partner's JWT at most MAX_ASSERTION). */
const MAX_TOKEN = MAX_ASSERTION;
const MAX_TARGET = 1000;

/** RFC 8693 §2.2.2: an invalid or unacceptable subject or actor token is invalid_request. */
const refused = (description: string, debug?: string): InvalidRequest => new InvalidRequest(description, debug);

/** RFC 8693 §4.4 may_act: who may act for the subject (the members Tessera compares). */
interface MayAct { sub?: string; iss?: string; client_id?: string }

/** The party a token is about, with what bounds the new token. */
interface Subject {
  sub: string;
  subType: 'user' | 'client';
  user?: UserRecord;
  /** A client subject's app (its own rights bound the new token). */
  subjectClient?: AppRecord;
  /** The subject token's scopes as they stand now (a domain token); undefined for a trusted issuer's JWT. */
  scopes?: string[];
  act?: Act;
  mayAct?: MayAct;
  /** A domain token: its jti and the tokens it came from; its grant; its end (epoch s). */
  chain: string[];
  grantId?: string;
  exp?: number;
  trustedIssuer?: TrustedIssuerRecord;
  /** A trusted issuer's JWT: records its single use. */
  useOnce?: () => Promise<void>;
  /** For the audit trail. */
  tokenClientId?: string;
}

/** A verified trusted issuer JWT, its single use still to be recorded (after every other check passed). */
interface IssuerJwt { issuer: TrustedIssuerRecord; claims: Record<string, unknown>; sub: string; useOnce: () => Promise<void> }

export class TokenExchangeGrant implements ClientGrantHandler {
  // Not self-registrable: exchanging other parties' tokens is for clients an administrator allowed it.
  static readonly info: GrantTypeInfo = { grantType: GRANT_TYPES.tokenExchange, tokenEndpoint: true, responseTypes: [], selfRegistrable: false };
  readonly info = TokenExchangeGrant.info;
  readonly parameters = new Set(['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'audience', 'resource', 'scope']);
  // A public client's client_id proves nothing: anyone holding a leaked token could exchange it in its name.
  readonly confidentialOnly = true;
  readonly clientAuthentication = 'required' as const;

  private readonly keys = new PublicKeyCache();

  constructor(private readonly s: Pick<GrantServices, 'catalogs' | 'accessTokens' | 'events' | 'clock' | 'repos' | 'trustedIssuerKeys' | 'config' | 'validator'>) {}

  async handle(req: GrantRequest): Promise<TokenResponse> {
    const p = req.params;
    // RFC 8693 §2.1: subject_token and subject_token_type are REQUIRED; actor_token_type is REQUIRED with actor_token, and only with it.
    if (!p.subject_token) throw new InvalidRequest('subject_token is required');
    if (!p.subject_token_type) throw new InvalidRequest('subject_token_type is required');
    if (!ACCEPTED_TYPES.includes(p.subject_token_type)) throw new InvalidRequest(`subject_token_type must be ${ACCEPTED_TYPES.join(' or ')}`);
    if (p.actor_token !== undefined && !p.actor_token_type) throw new InvalidRequest('actor_token_type is required with actor_token');
    if (p.actor_token === undefined && p.actor_token_type !== undefined) throw new InvalidRequest('actor_token_type was sent without actor_token');
    if (p.actor_token_type !== undefined && !ACCEPTED_TYPES.includes(p.actor_token_type)) throw new InvalidRequest(`actor_token_type must be ${ACCEPTED_TYPES.join(' or ')}`);
    // Access tokens only; a refresh token would let an exchanged grant outlive the token it came from (documented policy).
    if (p.requested_token_type !== undefined && p.requested_token_type !== TOKEN_TYPES.accessToken) {
      throw new InvalidRequest(p.requested_token_type === TOKEN_TYPES.refreshToken
        ? 'token exchange issues access tokens only: a refresh token is never issued'
        : `requested_token_type must be ${TOKEN_TYPES.accessToken}`);
    }
    for (const [name, v] of [['subject_token', p.subject_token], ['actor_token', p.actor_token]] as const) {
      if (v !== undefined && v.length > MAX_TOKEN) throw refused(`the ${name} is longer than ${MAX_TOKEN} characters`);
    }
    if (p.actor_token !== undefined && p.actor_token === p.subject_token) throw refused('the actor_token is the subject_token: an actor acts for someone else');
    const requested = splitScope(p.scope);
    if (requested.includes('offline_access')) throw new InvalidScope('token exchange issues no refresh token (offline_access)');

    const cat = await this.s.catalogs.catalog(req.domain);
    const targets = await this.targets(req, cat);
    const subject = p.subject_token_type === TOKEN_TYPES.accessToken
      ? await this.domainSubject(req, p.subject_token)
      : await this.issuerSubject(req, p.subject_token);
    const { act, impersonation, useOnce: actorOnce } = await this.actor(req, subject);
    if (actDepth(act) > MAX_DELEGATION_DEPTH || subject.chain.length > MAX_DELEGATION_DEPTH) {
      throw refused(`a delegation chain may name at most ${MAX_DELEGATION_DEPTH} actors`);
    }
    const resolved = await this.scopes(req, cat, subject, targets, requested);

    // Last, so a request refused for its scope or target can be retried: the trusted issuer's JWT is used once.
    await subject.useOnce?.();
    await actorOnce?.();
    const nowS = Math.floor(this.s.clock.now() / 1000);
    // A token exchanged from one of ours lives no longer than it: the cascade below lasts exactly as long as needed.
    const remaining = subject.exp !== undefined ? Math.max(1, subject.exp - nowS) : undefined;
    const expiry = resolved.expiry === undefined ? remaining : remaining === undefined ? resolved.expiry : Math.min(resolved.expiry, remaining);
    const resourceServers = resourceServersOf(cat, resolved.scopes);
    const at = await this.s.accessTokens.issue({
      domain: req.domain, issuer: req.issuer, client: req.client, sub: subject.sub, subType: subject.subType,
      ...(subject.subType === 'user' ? { userId: subject.sub, userTokensValidAfter: subject.user?.tokensValidAfter } : {}),
      scopes: resolved.scopes, resourceServers, expiry,
      // The subject's grant: revoking it (logout, a reused refresh token, a replayed code) revokes this token too.
      grantId: subject.grantId ?? newId(),
      ...(act ? { act } : {}),
      ...(subject.chain.length > 0 ? { exchangedFrom: subject.chain } : {}),
      // RFC 8705 §3: a client whose tokens are bound gets this one bound to its certificate too.
      cnf: confirmationFor(req.client, req.certificateThumbprint),
    });
    this.s.events.emit({
      eventId: 'token.issued', outcome: 'success', domainId: req.domain.id, actorType: subject.subType, actorId: subject.sub, clientIp: req.clientIp,
      targetType: 'access_token', targetId: at.jti,
      details: {
        grant_type: this.info.grantType, client_id: req.client.clientId, scope: resolved.scopes.join(' '), format: at.format,
        subject_token_type: p.subject_token_type, ...(p.actor_token_type ? { actor_token_type: p.actor_token_type } : {}),
        ...(subject.tokenClientId ? { subject_client_id: subject.tokenClientId } : {}),
        ...(subject.trustedIssuer ? { assertion_issuer: subject.trustedIssuer.issuer, trusted_issuer_id: subject.trustedIssuer.id } : {}),
        ...(act ? { act: act.sub } : {}), impersonation, aud: at.aud,
      },
    });
    // RFC 8693 §2.2.1: issued_token_type is REQUIRED; token_type Bearer for an access token.
    return { access_token: at.token, issued_token_type: TOKEN_TYPES.accessToken, token_type: 'Bearer', expires_in: at.expiresIn, scope: resolved.scopes.join(' ') };
  }

  /**
   * RFC 8693 §2.1 audience / RFC 8707 resource: the resource servers the token is for (undefined: the subject
   * token's own). One of each at most (a repeated parameter was refused before); both must be usable.
   */
  private async targets(req: GrantRequest, cat: DomainCatalog): Promise<ResourceServerInfo[] | undefined> {
    const { audience, resource } = req.params;
    if (audience === undefined && resource === undefined) return undefined;
    const servers = new Map<string, ResourceServerInfo>();
    for (const rs of cat.scopes.values()) servers.set(rs.appId, rs);
    const byAudience = (v: string) => [...servers.values()].find((rs) => rs.audience === v);
    const out = new Map<string, ResourceServerInfo>();
    if (resource !== undefined) {
      // RFC 8707 §2: an absolute URI without a fragment.
      let ok = resource.length <= MAX_TARGET && !resource.includes('#');
      if (ok) { try { ok = new URL(resource).protocol.length > 1; } catch { ok = false; } }
      if (!ok) throw new InvalidTarget('resource must be an absolute URI without a fragment (RFC 8707 §2)');
      const rs = byAudience(resource);
      if (!rs) throw new InvalidTarget('resource names no resource server of this identity domain');
      out.set(rs.appId, rs);
    }
    if (audience !== undefined) {
      if (audience.length > MAX_TARGET) throw new InvalidTarget('audience names no resource server of this identity domain');
      let rs = byAudience(audience);
      if (!rs) {
        // The logical name of an app that is a resource server: its client id (RFC 8693 §2.1 leaves the form to the server).
        const app = await this.s.catalogs.client(req.domain.id, audience);
        rs = app && app.active && app.isOAuthResource ? servers.get(app.id) : undefined;
      }
      if (!rs) throw new InvalidTarget('audience names no resource server of this identity domain');
      out.set(rs.appId, rs);
    }
    const allowed = new Set([...req.client.allowedScopes, ...roleScopes(cat, clientRoleIds(cat, req.client))]);
    for (const rs of out.values()) {
      // The identity domain API is administered with tokens its administrators obtain themselves, never by exchange.
      if (rs.builtIn) throw new InvalidTarget('the identity domain API is not a token exchange target');
      const scopes = [...cat.scopes].filter(([, info]) => info.appId === rs.appId).map(([s]) => s);
      if (!scopes.some((s) => allowed.has(s))) throw new InvalidTarget('the client may request none of the target\'s scopes');
    }
    return [...out.values()];
  }

  /** A subject token of this domain: active (not expired, revoked or cut off), and the client in its audience. */
  private async domainSubject(req: GrantRequest, raw: string): Promise<Subject> {
    const v = await this.s.validator.validate(req.domain, req.issuer, raw);
    if (!v) throw refused('the subject_token is not an active access token of this identity domain');
    // The on-behalf-of rule: only a party the token was meant for may exchange it.
    if (!inAudience(v, req.client)) throw refused('the subject_token was not issued for this client (its audience names neither the client\'s audience nor its client id)');
    const scopes = await currentScopes(this.s, req.domain, v);
    if (scopes.length === 0 && v.scope !== '') throw refused('the subject_token allows nothing any more');
    const base = { sub: v.sub, scopes, chain: [v.jti, ...(v.exchangedFrom ?? [])], grantId: v.grantId, exp: v.exp, tokenClientId: v.clientId, ...(v.act ? { act: v.act } : {}) };
    if (v.subType === 'user') {
      const user = await this.s.repos.users.get(req.domain.id, v.userId ?? v.sub);
      if (!user || !user.active) throw refused('the subject_token is not an active access token of this identity domain');
      return { ...base, sub: user.id, subType: 'user', user };
    }
    const subjectClient = await this.s.catalogs.client(req.domain.id, v.sub);
    if (!subjectClient || !subjectClient.active) throw refused('the subject_token is not an active access token of this identity domain');
    return { ...base, subType: 'client', subjectClient };
  }

  /** A trusted issuer's JWT about a user of the domain, checked as a JWT bearer assertion is. */
  private async issuerSubject(req: GrantRequest, raw: string): Promise<Subject> {
    const j = await this.issuerJwt(req, raw, 'subject_token');
    const user = await assertedUser(this.s.repos, req.domain.id, j.issuer.subjectAttribute, j.sub);
    const iat = typeof j.claims.iat === 'number' ? j.claims.iat * 1000 : this.s.clock.now();
    // A new password or a deactivation after the issuer vouched for the user spends what it said.
    if (!user || !authStillValid(user, iat)) throw refused('the subject_token does not name an active user of this identity domain');
    const act = readAct(j.claims.act);
    if (act === null) throw refused('the subject_token has an act claim this server cannot read');
    const mayAct = readMayAct(j.claims.may_act);
    if (mayAct === null) throw refused('the subject_token has a may_act claim this server cannot read');
    return {
      sub: user.id, subType: 'user', user, chain: [], trustedIssuer: j.issuer, useOnce: j.useOnce,
      ...(act ? { act } : {}), ...(mayAct ? { mayAct } : {}),
    };
  }

  /** A JWT from an active trusted issuer (protocol jwt) this client may present: header, claims, signature (jwt_assertion.ts). */
  private async issuerJwt(req: GrantRequest, raw: string, name: string): Promise<IssuerJwt> {
    try {
      if (raw.split('.').length === 5) throw new InvalidGrant('encrypted (JWE) tokens are not supported; send a signed JWT');
      const d = decodeJwt(raw, MAX_ASSERTION);
      if (!d) throw new InvalidGrant('it is not a JWT (three base64url parts, JSON header and claims)');
      const { alg, kid } = checkAssertionHeader(d);
      const p = d.payload;
      const iss = nameClaim(p.iss, 'iss');
      const sub = nameClaim(p.sub, 'sub');
      const t = await this.s.repos.trustedIssuers.getByIssuer(req.domain.id, 'jwt', iss);
      // Checklist JB-1: a disabled trusted issuer is no issuer at all.
      if (!t || !t.active) throw new InvalidGrant('its issuer is not an active trusted issuer of this identity domain');
      assertIssuerAllowsClient(t, req.client);
      checkAssertionClaims(p, {
        audiences: [req.issuer, req.tokenEndpoint, ...(t.audience ? [t.audience] : [])],
        now: this.s.clock.now(), skewSeconds: this.s.config.clockSkewSeconds, maxLifetime: t.maxAssertionLifetime,
      });
      let keys;
      try { keys = (await this.s.trustedIssuerKeys.jwtKeys(t, kid)).keys; } catch (e) {
        if (e instanceof ClientKeysUnavailable || e instanceof CertificateProblem) throw new InvalidGrant('the issuer\'s registered keys cannot be used', e.message);
        if (e instanceof OAuthError) throw e;
        throw new InvalidGrant('the issuer\'s jwks_uri cannot be read', (e as Error).message);
      }
      verifyAssertionSignature(keys, d, alg, kid, this.keys);
      const until = ((p.exp as number) + this.s.config.clockSkewSeconds) * 1000;
      // The namespace the JWT bearer grant uses for this issuer: a JWT spent as an assertion is spent here too.
      const useOnce = async () => {
        try { await useAssertionOnce(this.s.repos, req.domain.id, `jwt:${t.id}`, p.jti as string, until, this.s.clock.now()); } catch (e) {
          throw e instanceof InvalidGrant ? refused(`the ${name} is not acceptable: ${e.description}`) : e;
        }
      };
      return { issuer: t, claims: p, sub, useOnce };
    } catch (e) {
      // jwt_assertion.ts refuses with invalid_grant (the JWT bearer grant's code); RFC 8693 §2.2.2 wants invalid_request.
      if (e instanceof InvalidGrant) throw refused(`the ${name} is not acceptable: ${e.description}`, e.debug);
      throw e;
    }
  }

  /**
   * Who acts (RFC 8693 §1.1): the actor token's subject, which must be the client itself or named in the subject's
   * may_act; without one, the client (delegation) or nobody new (impersonation, for clients allowed it).
   */
  private async actor(req: GrantRequest, subject: Subject): Promise<{ act: Act | undefined; impersonation: boolean; useOnce?: () => Promise<void> }> {
    const { actor_token: raw, actor_token_type: type } = req.params;
    const nest = (a: Act): Act => (subject.act ? { ...a, act: subject.act } : a);
    if (raw === undefined) {
      // A subject's may_act names who may act for it: the client, when it acts itself.
      if (subject.mayAct && !mayActNames(subject.mayAct, { sub: req.client.clientId!, iss: req.issuer, clientId: req.client.clientId! })) {
        throw refused('the subject_token\'s may_act does not name this client');
      }
      if (req.client.allowTokenExchangeImpersonation === true) return { act: subject.act, impersonation: true };
      return { act: nest({ sub: req.client.clientId! }), impersonation: false };
    }
    if (type === TOKEN_TYPES.accessToken) {
      const v = await this.s.validator.validate(req.domain, req.issuer, raw);
      if (!v) throw refused('the actor_token is not an active access token of this identity domain');
      const actor = { sub: v.sub, iss: req.issuer, ...(v.subType === 'client' ? { clientId: v.clientId } : {}) };
      // With a may_act, the subject says who may act; without one, only the client itself (its own client token).
      const allowed = subject.mayAct
        ? mayActNames(subject.mayAct, actor)
        : v.subType === 'client' && v.sub === req.client.clientId && v.clientId === req.client.clientId;
      if (!allowed) throw refused('the actor_token is neither the client\'s own token nor names an actor the subject_token\'s may_act allows');
      return { act: nest({ sub: v.sub }), impersonation: false };
    }
    const j = await this.issuerJwt(req, raw, 'actor_token');
    if (!subject.mayAct || !mayActNames(subject.mayAct, { sub: j.sub, iss: j.issuer.issuer })) {
      throw refused('the actor_token names an actor the subject_token\'s may_act does not allow');
    }
    return { act: nest({ sub: j.sub, iss: j.issuer.issuer }), impersonation: false, useOnce: j.useOnce };
  }

  /** The scopes of the new token (see the policy above). */
  private async scopes(req: GrantRequest, cat: DomainCatalog, subject: Subject, targets: ResourceServerInfo[] | undefined, requested: string[]): Promise<ResolvedScopes> {
    const targetIds = targets ? new Set(targets.map((t) => t.appId)) : undefined;
    const inTarget = (s: string) => OIDC_SCOPES.has(s) || (targetIds !== undefined && targetIds.has(cat.scopes.get(s)?.appId ?? ''));
    // The resource servers the subject token is already for: exchanging for one of them is no change of audience.
    const sameAudience = new Set(resourceServersOf(cat, subject.scopes ?? []).map((rs) => rs.appId));
    let wanted = requested;
    if (wanted.length === 0) {
      if (!targetIds) wanted = (subject.scopes ?? []).filter((s) => s !== 'offline_access');
      else {
        // For a new target, what the client may request there; for one the subject token is already for, what it has there.
        // The subject's OpenID Connect scopes stay only if asked for.
        const allowed = new Set([...req.client.allowedScopes, ...roleScopes(cat, clientRoleIds(cat, req.client))]);
        const had = new Set(subject.scopes ?? []);
        wanted = [...cat.scopes.keys()].filter((s) => {
          const app = cat.scopes.get(s)!.appId;
          return targetIds.has(app) && (sameAudience.has(app) ? had.has(s) : allowed.has(s));
        });
      }
      if (wanted.length === 0) throw new InvalidScope('no scope requested, and the subject_token has none to keep');
    }
    let r: ResolvedScopes;
    if (subject.subType === 'user') {
      const roles = await userRoleIds(this.s.repos, req.domain.id, subject.sub);
      r = subject.trustedIssuer
        ? assertionScopes(cat, req.client, roles, subject.trustedIssuer.allowedScopes, wanted)
        : resolveUserFlowScopes(cat, req.client, roles, wanted);
    } else {
      r = resolveClientScopes(cat, req.client, wanted);
      // A client subject cannot be given what it could not get itself.
      const own = new Set(stillGranted(cat, subject.subjectClient!, undefined, r.scopes));
      const extra = r.scopes.filter((s) => !own.has(s));
      if (extra.length > 0) throw new InvalidScope(`the subject client may not have scope ${extra.join(' ').slice(0, 200)}`);
    }
    if (targetIds) {
      const outside = r.scopes.filter((s) => !inTarget(s));
      if (outside.length > 0) throw new InvalidScope(`scope ${outside.join(' ').slice(0, 200)} is not a scope of the requested audience or resource`);
      if (!r.scopes.some((s) => !OIDC_SCOPES.has(s))) throw new InvalidScope('the request yields no scope of the requested audience or resource');
    }
    if (subject.scopes) {
      // OpenID Connect scopes are never widened; nor, without a change of audience, any other scope.
      const had = new Set(subject.scopes);
      const wider = r.scopes.filter((s) => !had.has(s) && (!targetIds || OIDC_SCOPES.has(s) || sameAudience.has(cat.scopes.get(s)?.appId ?? '')));
      if (wider.length > 0) throw new InvalidScope(`scope exceeds the subject_token: ${wider.join(' ').slice(0, 200)}`);
    }
    return r;
  }
}

/** Is the client one the token was meant for: its resource-server audience, or its client id, in `aud`? */
function inAudience(v: ValidAccessToken, client: AppRecord): boolean {
  if (client.isOAuthResource && client.audience !== undefined && v.aud.includes(client.audience)) return true;
  return client.clientId !== undefined && v.aud.includes(client.clientId);
}

function readMayAct(v: unknown): MayAct | undefined | null {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const out: MayAct = {};
  for (const k of ['sub', 'iss', 'client_id'] as const) {
    if (o[k] === undefined) continue;
    if (typeof o[k] !== 'string' || (o[k] as string).length === 0 || (o[k] as string).length > 1024) return null;
    out[k] = o[k] as string;
  }
  return out.sub === undefined && out.client_id === undefined ? null : out;
}

/** RFC 8693 §4.4: may_act names the actor by its sub (with its iss, when given) or, for a client, its client_id. */
function mayActNames(m: MayAct, actor: { sub: string; iss: string; clientId?: string }): boolean {
  if (m.sub !== undefined && m.sub === actor.sub && (m.iss === undefined || m.iss === actor.iss)) return true;
  return m.client_id !== undefined && actor.clientId !== undefined && m.client_id === actor.clientId && m.sub === undefined;
}
