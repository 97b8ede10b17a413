import type { Clock } from '../core/clock.js';
import { newJti, newSecret } from '../core/ids.js';
import type { AppRecord, DomainRecord, SigningAlg, SubjectType } from '../core/types.js';
import type { KeyStore } from '../crypto/keystore.js';
import { lookupHash } from '../crypto/secrets.js';
import type { ResourceServerInfo } from '../identity/catalog.js';
import type { TokenRepository } from '../storage/ports.js';
import type { Act } from './act.js';
import { signJwt } from './jwt.js';
import type { Confirmation } from './confirmation.js';
import { InvalidRequest } from '../core/errors.js';

export interface AccessTokenRequest {
  domain: DomainRecord;
  issuer: string;
  client: AppRecord;
  sub: string;
  subType: SubjectType;
  scopes: string[];
  resourceServers: ResourceServerInfo[];
  /** Requested shorter lifetime, seconds. */
  expiry?: number;
  grantId?: string;
  userId?: string;
  /** The SSO session it was issued in (stored with opaque tokens so logout can revoke them). */
  sessionId?: string;
  /** The user's token cut-off (UserRecord.tokensValidAfter), for a user's token. */
  userTokensValidAfter?: number;
  /** RFC 8693 §4.1: the actor of a delegated token (token exchange). */
  act?: Act;
  /** Token exchange: the jtis of the tokens this one was exchanged from, newest first (see tokens/act.ts). */
  exchangedFrom?: string[];
  /** RFC 8705 §3: the certificate the token is bound to (tokens/confirmation.ts confirmationFor). */
  cnf?: Confirmation;
}

export interface IssuedAccessToken {
  token: string;
  format: 'jwt' | 'opaque';
  jti: string;
  expiresIn: number;
  expiresAt: number;
  aud: string[];
}

export interface IssuerDeps {
  keys: KeyStore;
  tokens: TokenRepository;
  clock: Clock;
  defaultTtl: number;
  defaultAlg: SigningAlg;
}

/** Access tokens: RFC 9068 JWTs by default, opaque (random, stored hashed) when every resource server asks for it. */
export class AccessTokenIssuer {
  constructor(private deps: IssuerDeps) {}

  /** Seeds: effective lifetime = min(resource app expiry, client override or domain default, custom expiry). */
  lifetime(r: Pick<AccessTokenRequest, 'domain' | 'client' | 'resourceServers' | 'expiry'>): number {
    let ttl = r.client.accessTokenExpiry ?? r.domain.settings.accessTokenTtl ?? this.deps.defaultTtl;
    for (const rs of r.resourceServers) if (rs.accessTokenExpiry !== undefined) ttl = Math.min(ttl, rs.accessTokenExpiry);
    if (r.expiry !== undefined) ttl = Math.min(ttl, r.expiry);
    return Math.max(1, ttl);
  }

  private alg(rs: ResourceServerInfo[]): SigningAlg {
    const algs = new Set(rs.map((r) => r.signingAlg).filter((a): a is SigningAlg => a !== undefined));
    return algs.size === 1 ? [...algs][0]! : this.deps.defaultAlg;
  }

  async issue(r: AccessTokenRequest): Promise<IssuedAccessToken> {
    // A grant that did not pass the binding on must not hand a bound client a bearer token.
    if (r.client.tlsClientCertificateBoundAccessTokens === true && !r.cnf) throw new InvalidRequest('this client\'s tokens are bound to its TLS client certificate, and this grant cannot bind them');
    const now = this.deps.clock.now();
    // Tokens issued before a cut-off (a new password, a deactivation) are refused by `iat * 1000 < cut`; one issued
    // after it but within its second is stamped with the next second, so it is not taken for one issued before.
    const cut = Math.max(r.client.tokensValidAfter ?? 0, r.userTokensValidAfter ?? 0);
    const iat = Math.max(Math.floor(now / 1000), Math.ceil(cut / 1000));
    const expiresIn = this.lifetime(r);
    const exp = iat + expiresIn;
    // A user token for OpenID Connect scopes only is meant for the userinfo endpoint: its audience is the issuer.
    const aud = r.resourceServers.length > 0 ? r.resourceServers.map((s) => s.audience) : [r.issuer];
    const jti = newJti();
    const scope = r.scopes.join(' ');
    const opaque = r.resourceServers.length > 0 && r.resourceServers.every((s) => s.tokenFormat === 'opaque');
    if (opaque) {
      const token = newSecret();
      await this.deps.tokens.insert({
        hash: lookupHash(token), domainId: r.domain.id, kind: 'access', clientId: r.client.clientId!, sub: r.sub, subType: r.subType,
        scope, aud, jti, grantId: r.grantId, sessionId: r.sessionId, issuedAt: iat * 1000, expiresAt: exp * 1000,
        data: { ...(r.userId ? { user_id: r.userId } : {}), ...(r.act ? { act: r.act } : {}), ...(r.exchangedFrom ? { exchanged_from: r.exchangedFrom } : {}), ...(r.cnf ? { cnf: r.cnf } : {}) },
      });
      return { token, format: 'opaque', jti, expiresIn, expiresAt: exp, aud };
    }
    // A key for an alg new to the domain signs only once verifiers can have it: until then the default alg's key signs.
    const key = await this.deps.keys.signingKey(r.domain.id, this.alg(r.resourceServers), { fallback: this.deps.defaultAlg });
    // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti; scope (§2.2.3); plus Oracle's sub_type / user_id.
    const claims: Record<string, unknown> = {
      iss: r.issuer, sub: r.sub, aud: aud.length === 1 ? aud[0] : aud, client_id: r.client.clientId, scope,
      iat, exp, jti, sub_type: r.subType,
    };
    if (r.userId) claims.user_id = r.userId;
    if (r.grantId) claims.gid = r.grantId;
    // The SSO session the token was issued in (OIDC Front-Channel Logout §3's `sid`), so the account page can tell the caller's own session.
    if (r.sessionId) claims.sid = r.sessionId;
    if (r.act) claims.act = r.act;
    if (r.exchangedFrom) claims.exchanged_from = r.exchangedFrom;
    // RFC 8705 §3.1 / RFC 7800 §3.1.
    if (r.cnf) claims.cnf = r.cnf;
    return { token: signJwt('at+jwt', claims, key), format: 'jwt', jti, expiresIn, expiresAt: exp, aud };
  }
}
