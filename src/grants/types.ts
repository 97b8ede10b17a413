import type { AppRecord, DomainRecord } from '../core/types.js';
import type { SecurityEvents } from '../events/emitter.js';
import type { Catalogs } from '../identity/catalog.js';
import type { AccessTokenIssuer } from '../tokens/issuer.js';
import type { Clock } from '../core/clock.js';
import type { MasterKey } from '../crypto/masterkey.js';
import type { Authenticator } from '../identity/authn.js';
import type { LoginThrottle } from '../identity/throttle.js';
import type { TotpService } from '../identity/totp.js';
import type { Repositories } from '../storage/ports.js';
import type { UserTokens } from '../tokens/user_tokens.js';

export interface TokenContext {
  domain: DomainRecord;
  issuer: string;
  client: AppRecord;
  /** Only the parameters the grant declared; everything else was dropped (DESIGN habit 9). */
  params: Record<string, string>;
  catalogs: Catalogs;
  accessTokens: AccessTokenIssuer;
  events: SecurityEvents;
  clientIp: string;
  // User flows (authorization_code, refresh_token, password):
  clock: Clock;
  repos: Repositories;
  userTokens: UserTokens;
  totp: TotpService;
  throttle: LoginThrottle;
  authn: Authenticator;
  masterKey: MasterKey;
  /** Seconds a rotated refresh token may be retried (0 = reuse always revokes). */
  refreshGraceSeconds: number;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope?: string;
  refresh_token?: string;
  id_token?: string;
}

export interface GrantHandler {
  /** The grant_type wire value. */
  readonly grantType: string;
  /** Allow-list of grant parameters (client authentication parameters are handled before). */
  readonly parameters: ReadonlySet<string>;
  /** RFC 6749 §4.4: some grants are for confidential clients only. */
  readonly confidentialOnly: boolean;
  handle(ctx: TokenContext): Promise<TokenResponse>;
}
