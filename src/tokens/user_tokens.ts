import type { Clock } from '../core/clock.js';
import { bool, num, object, opt, read, str, strs } from '../core/shape.js';
import { newJti, newSecret } from '../core/ids.js';
import type { AppRecord, DomainRecord, TokenRecord } from '../core/types.js';
import { lookupHash } from '../crypto/secrets.js';
import type { DomainCatalog, ResourceServerInfo } from '../identity/catalog.js';
import type { TokenResponse } from './response.js';
import type { TokenRepository } from '../storage/ports.js';
import type { IdTokenIssuer } from './id_token.js';
import type { AccessTokenIssuer } from './issuer.js';
import type { Confirmation } from './confirmation.js';

/** What a stored refresh token carries besides its columns (written here and by rotation, read back with readRefreshData). */
export type RefreshTokenData = {
  /** The family's absolute end, epoch ms, kept across rotations. */
  familyExpiresAt: number;
  authTime: number;
  amr: string[];
  acr: string;
  sid?: string;
  /** See Authentication.trustedIssuerId. */
  trustedIssuerId?: string;
  /** See Authentication.assertedByClient. */
  assertedByClient?: boolean;
  /** Set when rotated: when, and the token that replaced it (encrypted, only with a grace window). */
  rotatedAt?: number;
  nextHash?: string;
  nextEnc?: string;
  /** RFC 8705 §4: a public client's refresh token is bound to its TLS certificate (this thumbprint). */
  x5tS256?: string;
};

const REFRESH_DATA = object<RefreshTokenData>({
  familyExpiresAt: num, authTime: num, amr: strs, acr: str, sid: opt(str), trustedIssuerId: opt(str), assertedByClient: opt(bool), rotatedAt: opt(num), nextHash: opt(str), nextEnc: opt(str), x5tS256: opt(str),
});
export const readRefreshData = (data: unknown): RefreshTokenData => read(REFRESH_DATA, data, 'refresh token');

/** How a user authenticated (carried from the session into codes, refresh tokens and ID tokens). */
export interface Authentication {
  userId: string;
  /** epoch ms */
  authTime: number;
  amr: string[];
  acr: string;
  /** The SSO session, when there is one (not for the password grant). */
  sid?: string;
  /** The trusted issuer whose assertion stood for the authentication (assertion grants): its refresh tokens end with it. */
  trustedIssuerId?: string;
  /**
   * The client's own assertion stood for the authentication (a client an administrator allowed user assertions,
   * RFC 7523 with sub = a user): its refresh tokens end when the client may no longer assert users.
   */
  assertedByClient?: boolean;
}

export interface UserTokenRequest {
  domain: DomainRecord;
  issuer: string;
  client: AppRecord;
  cat: DomainCatalog;
  auth: Authentication;
  /** The granted scopes (already resolved), OIDC scopes included. */
  scopes: string[];
  expiry?: number;
  /** Every token of one authorization (a code and its refresh family) shares this id. */
  grantId: string;
  nonce?: string;
  /** Issue a refresh token (the caller decided: client allows it and offline_access or allowOffline). */
  refresh: boolean;
  /** The family's absolute end (epoch ms), kept across rotations. */
  familyExpiresAt?: number;
  /** The scope the refresh token keeps (RFC 6749 §6: identical across rotation even if the access token is narrower). */
  refreshScope?: string[];
  /** ID token: issued when `openid` is granted, unless this is false (refresh without openid). */
  idToken?: boolean;
  /** The user's token cut-off (UserRecord.tokensValidAfter); see AccessTokenIssuer. */
  tokensValidAfter?: number;
  /** RFC 8705 §3: the certificate the access token (and a public client's refresh token) is bound to. */
  cnf?: Confirmation;
}

export interface IssuedUserTokens {
  response: TokenResponse;
  accessTokenJti: string;
  refresh?: { token: string; record: TokenRecord };
}

export interface UserTokenDeps {
  /** The claims of the granted scopes about a user (identity/claims.ts claimsOf), for apps that want them in the ID token. */
  claims: (domain: DomainRecord, userId: string, scopes: ReadonlySet<string>) => Promise<Record<string, unknown> | undefined>;
  accessTokens: AccessTokenIssuer;
  idTokens: IdTokenIssuer;
  tokens: TokenRepository;
  clock: Clock;
  refreshTtl: number;
  refreshIdle: number;
}

/** Resource servers behind a set of granted scopes (OIDC scopes, and scopes whose server went away, have none). */
export function resourceServersOf(cat: DomainCatalog, scopes: readonly string[]): ResourceServerInfo[] {
  const rs = new Map<string, ResourceServerInfo>();
  for (const s of scopes) {
    const info = cat.scopes.get(s);
    if (info) rs.set(info.appId, info);
  }
  return [...rs.values()];
}

/**
 * Access, refresh and ID tokens for a signed-in user; shared by the authorization code, refresh,
 * password and implicit flows so that every path issues the same claims.
 */
export class UserTokens {
  constructor(private deps: UserTokenDeps) {}

  /** A new refresh token record for a family (not stored: the caller inserts or rotates it in). */
  refreshRecord(r: UserTokenRequest, now: number): { token: string; record: TokenRecord } {
    const token = newSecret();
    const familyEnd = r.familyExpiresAt ?? now + (r.client.refreshTokenExpiry ?? this.deps.refreshTtl) * 1000;
    return {
      token,
      record: {
        hash: lookupHash(token), domainId: r.domain.id, kind: 'refresh', clientId: r.client.clientId!, sub: r.auth.userId, subType: 'user',
        scope: (r.refreshScope ?? r.scopes).join(' '), aud: [], jti: newJti(), grantId: r.grantId, sessionId: r.auth.sid, issuedAt: now,
        // Idle and absolute lifetimes: each rotation extends to now + idle, never past the family's end.
        expiresAt: Math.min(now + this.deps.refreshIdle * 1000, familyEnd),
        data: { familyExpiresAt: familyEnd, authTime: r.auth.authTime, amr: r.auth.amr, acr: r.auth.acr, ...(r.auth.sid ? { sid: r.auth.sid } : {}),
          ...(r.auth.trustedIssuerId ? { trustedIssuerId: r.auth.trustedIssuerId } : {}), ...(r.auth.assertedByClient ? { assertedByClient: true } : {}),
          // RFC 8705 §4: a confidential client's refresh token is bound by its authentication; a public client has only the certificate.
          ...(r.cnf && r.client.clientType === 'public' ? { x5tS256: r.cnf['x5t#S256'] } : {}) } satisfies RefreshTokenData,
      },
    };
  }

  /** Issues the access token, the ID token when `openid` is granted, and a stored refresh token when `refresh`. */
  async issue(r: UserTokenRequest): Promise<IssuedUserTokens> {
    const now = this.deps.clock.now();
    const resourceServers = resourceServersOf(r.cat, r.scopes);
    const at = await this.deps.accessTokens.issue({
      domain: r.domain, issuer: r.issuer, client: r.client, sub: r.auth.userId, subType: 'user', userId: r.auth.userId,
      scopes: r.scopes, resourceServers, expiry: r.expiry, grantId: r.grantId, sessionId: r.auth.sid, userTokensValidAfter: r.tokensValidAfter, cnf: r.cnf,
    });
    const response: TokenResponse = { access_token: at.token, token_type: 'Bearer', expires_in: at.expiresIn, scope: r.scopes.join(' ') };
    let refresh: IssuedUserTokens['refresh'];
    if (r.refresh) {
      refresh = this.refreshRecord(r, now);
      await this.deps.tokens.insert(refresh.record);
      response.refresh_token = refresh.token;
    }
    if (r.scopes.includes('openid') && r.idToken !== false) {
      // OIDC Core §5.4 puts the scopes' claims at userinfo when an access token is issued; relying parties that
      // read the profile from the ID token only (express-openid-connect, passport) need the app's claimsInIdToken.
      const claims = r.client.claimsInIdToken ? await this.deps.claims(r.domain, r.auth.userId, new Set(r.scopes)) : undefined;
      response.id_token = await this.deps.idTokens.issue({
        domain: r.domain, issuer: r.issuer, client: r.client, userId: r.auth.userId, authTime: r.auth.authTime, nonce: r.nonce,
        amr: r.auth.amr, acr: r.auth.acr, sid: r.auth.sid, accessToken: at.token, claims,
      });
    }
    return { response, accessTokenJti: at.jti, refresh };
  }
}
