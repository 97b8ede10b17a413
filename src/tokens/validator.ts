import type { Clock } from '../core/clock.js';
import type { DomainRecord, SubjectType } from '../core/types.js';
import type { KeyStore } from '../crypto/keystore.js';
import { lookupHash } from '../crypto/secrets.js';
import type { RevocationRepository, TokenRepository } from '../storage/ports.js';
import { readAct, readExchangedFrom, type Act } from './act.js';
import { decodeJwt, verifySignature } from './jwt.js';
import type { Confirmation } from './confirmation.js';

const confirmation = (v: unknown): Confirmation | undefined => {
  const t = v && typeof v === 'object' ? (v as Record<string, unknown>)['x5t#S256'] : undefined;
  return typeof t === 'string' && t.length > 0 ? { 'x5t#S256': t } : undefined;
};

export interface ValidAccessToken {
  format: 'jwt' | 'opaque';
  /** The value used to revoke it: jti for JWTs, the lookup hash for opaque tokens. */
  jti: string;
  hash?: string;
  clientId: string;
  sub: string;
  subType: SubjectType;
  userId?: string;
  scope: string;
  aud: string[];
  iat: number;
  exp: number;
  grantId?: string;
  /** The SSO session the token was issued in, when there was one (sid). */
  sessionId?: string;
  /** RFC 8693 §4.1: who acts for the subject (a token from a token exchange). */
  act?: Act;
  /** A token from a token exchange: the jtis of the tokens it was exchanged from (tokens/act.ts). */
  exchangedFrom?: string[];
  /** RFC 8705 §3.1: the x5t#S256 of the certificate the token is bound to. */
  cnf?: Confirmation;
}

export interface ValidatorDeps {
  keys: KeyStore;
  tokens: TokenRepository;
  revocations: RevocationRepository;
  clock: Clock;
  /** May this client still use a token issued at `iat` (epoch seconds): exists, active, not switched off since? */
  clientValid: (domain: DomainRecord, clientId: string, iat: number) => Promise<boolean>;
  /**
   * May this user still use a token issued at `iat` (epoch seconds): exists, active, and no password change or
   * deactivation since? Self-contained JWTs are checked here on every use.
   */
  userValid: (domain: DomainRecord, userId: string, iat: number) => Promise<boolean>;
}

const MAX_TOKEN_LENGTH = 8192;

/**
 * Decides whether a string is an active access token of `domain`. Anything else (garbage, another
 * domain's token, an ID token, expired, revoked, a disabled client's) is `undefined`: callers answer
 * `{"active":false}` (RFC 7662 §2.2) or 401 and never say why to the caller.
 */
export class AccessTokenValidator {
  constructor(private deps: ValidatorDeps) {}

  async validate(domain: DomainRecord, issuer: string, token: string): Promise<ValidAccessToken | undefined> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined;
    const v = token.includes('.') ? await this.jwt(domain, issuer, token) : await this.opaque(domain, token);
    if (!v) return undefined;
    if (!(await this.deps.clientValid(domain, v.clientId, v.iat))) return undefined;
    if (v.subType === 'user' && !(await this.deps.userValid(domain, v.userId ?? v.sub, v.iat))) return undefined;
    // A client's token exchanged by another client (RFC 8693): the subject client must still be allowed tokens too.
    if (v.subType === 'client' && v.sub !== v.clientId && !(await this.deps.clientValid(domain, v.sub, v.iat))) return undefined;
    // One lookup for every reason the token may have been revoked: itself (JWTs are not stored), its grant
    // (`gid`), the sign-in session it came from (`sid`: logout, a session signed out from the account page or
    // by an administrator), and the tokens it was exchanged from (revoking one ends every token exchanged from it).
    const ids = [...(v.format === 'jwt' ? [v.jti] : []), ...(v.format === 'jwt' && v.grantId ? [`gid:${v.grantId}`] : []),
      ...(v.sessionId ? [`sid:${v.sessionId}`] : []), ...(v.exchangedFrom ?? [])];
    if (await this.deps.revocations.anyRevoked(domain.id, ids)) return undefined;
    return v;
  }

  /**
   * As `validate`, for Tessera's own resource endpoints (admin API, userinfo, ...): RFC 8705 §3 a certificate-bound
   * token counts only when the request came with that certificate (`thumbprint`, from http/client_certificate.ts).
   * Introspection uses `validate`: it reports `cnf` and the resource server checks it.
   */
  async validateAtResource(domain: DomainRecord, issuer: string, token: string, thumbprint: string | undefined): Promise<ValidAccessToken | undefined> {
    const v = await this.validate(domain, issuer, token);
    if (v?.cnf && v.cnf['x5t#S256'] !== thumbprint) return undefined;
    return v;
  }

  private async jwt(domain: DomainRecord, issuer: string, token: string): Promise<ValidAccessToken | undefined> {
    const d = decodeJwt(token, MAX_TOKEN_LENGTH);
    if (!d) return undefined;
    // RFC 9068 §4 / RFC 8725 §3.11: only access tokens (typ at+jwt), never ID tokens or assertions.
    if (d.header.typ !== 'at+jwt' || typeof d.header.kid !== 'string') return undefined;
    // Keys are per domain, so another domain's token finds no key here.
    const key = await this.deps.keys.verificationKey(domain.id, d.header.kid);
    if (!key || !verifySignature(d, key)) return undefined;
    const p = d.payload;
    const now = Math.floor(this.deps.clock.now() / 1000);
    if (p.iss !== issuer || typeof p.exp !== 'number' || p.exp <= now || typeof p.jti !== 'string') return undefined;
    if (typeof p.client_id !== 'string' || typeof p.sub !== 'string') return undefined;
    const act = readAct(p.act);
    const exchangedFrom = readExchangedFrom(p.exchanged_from);
    if (act === null || exchangedFrom === null) return undefined;
    return {
      format: 'jwt', jti: p.jti, clientId: p.client_id, sub: p.sub, subType: p.sub_type === 'user' ? 'user' : 'client',
      userId: typeof p.user_id === 'string' ? p.user_id : undefined, scope: typeof p.scope === 'string' ? p.scope : '',
      aud: Array.isArray(p.aud) ? p.aud.filter((a): a is string => typeof a === 'string') : typeof p.aud === 'string' ? [p.aud] : [],
      iat: typeof p.iat === 'number' ? p.iat : 0, exp: p.exp, grantId: typeof p.gid === 'string' ? p.gid : undefined,
      ...(typeof p.sid === 'string' ? { sessionId: p.sid } : {}),
      cnf: confirmation(p.cnf), ...(act ? { act } : {}), ...(exchangedFrom ? { exchangedFrom } : {}),
    };
  }

  private async opaque(domain: DomainRecord, token: string): Promise<ValidAccessToken | undefined> {
    const hash = lookupHash(token);
    const t = await this.deps.tokens.find(hash);
    if (!t || t.domainId !== domain.id || t.kind !== 'access' || t.revokedAt !== undefined || t.expiresAt <= this.deps.clock.now()) return undefined;
    const act = readAct(t.data.act);
    const exchangedFrom = readExchangedFrom(t.data.exchanged_from);
    if (act === null || exchangedFrom === null) return undefined;
    return {
      format: 'opaque', jti: t.jti, hash, clientId: t.clientId, sub: t.sub, subType: t.subType,
      userId: typeof t.data.user_id === 'string' ? t.data.user_id : undefined, scope: t.scope, aud: t.aud,
      iat: Math.floor(t.issuedAt / 1000), exp: Math.floor(t.expiresAt / 1000), grantId: t.grantId,
      ...(t.sessionId ? { sessionId: t.sessionId } : {}),
      cnf: confirmation(t.data.cnf), ...(act ? { act } : {}), ...(exchangedFrom ? { exchangedFrom } : {}),
    };
  }
}
