import { UnauthorizedClient } from '../core/errors.js';
import type { AppRecord, DomainRecord, TokenEndpointAuthMethod } from '../core/types.js';
import type { Clock } from '../core/clock.js';
import type { MasterKey } from '../crypto/masterkey.js';
import type { SecurityEvents } from '../events/emitter.js';
import type { Authenticator } from '../identity/authn.js';
import type { Catalogs } from '../identity/catalog.js';
import type { LoginThrottle } from '../identity/throttle.js';
import type { TotpService } from '../identity/totp.js';
import type { Repositories } from '../storage/ports.js';
import type { AccessTokenIssuer } from '../tokens/issuer.js';
import type { UserTokens } from '../tokens/user_tokens.js';
import type { JwksFetcher } from '../clientauth/jwks_fetcher.js';
import type { TrustedIssuerKeys } from '../identity/trusted_issuers.js';
import type { AccessTokenValidator } from '../tokens/validator.js';

import type { ResponseType } from '../authorize/response_types.js';
import type { TokenResponse } from '../tokens/response.js';

export type { ResponseType, TokenResponse };

/** What the rest of the server knows about a grant type: discovery, registration and the admin API read it. */
export interface GrantTypeInfo {
  /** The grant_type wire value (or `implicit`, which has none: RFC 6749 §4.2 is served at the authorization endpoint). */
  readonly grantType: string;
  /** Served by a token endpoint handler. */
  readonly tokenEndpoint: boolean;
  /** The authorization endpoint response types this grant serves (RFC 7591 §2.1 pairs them). */
  readonly responseTypes: readonly ResponseType[];
  /** May a client register for it itself (RFC 7591)? Legacy grants (RFC 9700 §2.1.2, §2.4) are for administrators to allow. */
  readonly selfRegistrable: boolean;
}

/**
 * Every service a grant may be built with. Each grant's constructor names the part it uses
 * (`Pick<GrantServices, ...>`); `grantHandlers(services)` passes the server's services.
 */
export interface GrantServices {
  catalogs: Catalogs;
  accessTokens: AccessTokenIssuer;
  userTokens: UserTokens;
  events: SecurityEvents;
  clock: Clock;
  repos: Repositories;
  totp: TotpService;
  throttle: LoginThrottle;
  authn: Authenticator;
  masterKey: MasterKey;
  /** Client keys from jwks_uri (client-signed assertions). */
  jwksFetcher: JwksFetcher;
  /** Keys of trusted issuers (assertion grants). */
  trustedIssuerKeys: TrustedIssuerKeys;
  /** This domain's access tokens as presented (token exchange's subject and actor tokens): revocation and cut-offs included. */
  validator: AccessTokenValidator;
  config: { refreshTokenGraceSeconds: number; clockSkewSeconds: number; clientAssertionMaxLifetime: number; unsafeSamlAllowSha1: boolean };
}

/** One token request, as the token endpoint hands it to a grant: request data only. */
export interface GrantRequest {
  domain: DomainRecord;
  issuer: string;
  /** This domain's token endpoint URL (an assertion's audience may name it). */
  tokenEndpoint: string;
  client: AppRecord;
  /** How the client authenticated. */
  method: TokenEndpointAuthMethod;
  /** Only the parameters the grant declared; everything else was dropped (DESIGN habit 9). */
  params: Record<string, string>;
  clientIp: string;
  /** RFC 8705 §3.1: x5t#S256 of the TLS client certificate the request came with, if any (tokens are bound with tokens/confirmation.ts). */
  certificateThumbprint?: string;
}

/** For a grant whose client authentication is optional: without it, the grant itself identifies the client (RFC 7523 §3.1). */
export type OptionalClientGrantRequest = Omit<GrantRequest, 'client' | 'method'> & { client?: AppRecord; method?: TokenEndpointAuthMethod };

interface GrantHandlerBase {
  readonly info: GrantTypeInfo;
  /** Allow-list of grant parameters (client authentication parameters are handled before). */
  readonly parameters: ReadonlySet<string>;
  /** RFC 6749 §4.4: some grants are for confidential clients that really authenticated. */
  readonly confidentialOnly: boolean;
}

/** A grant for clients that authenticated (or identified themselves, for public clients) at the token endpoint. */
export interface ClientGrantHandler extends GrantHandlerBase {
  readonly clientAuthentication: 'required';
  handle(req: GrantRequest): Promise<TokenResponse>;
}
/** A grant that may be used without client authentication: the grant itself identifies the client (RFC 7523 §3.1). */
export interface OptionalClientGrantHandler extends GrantHandlerBase {
  readonly clientAuthentication: 'optional';
  handle(req: OptionalClientGrantRequest): Promise<TokenResponse>;
}
/** A grant served by the token endpoint. */
export type GrantHandler = ClientGrantHandler | OptionalClientGrantHandler;

/** What grants/index.ts lists: a grant class with its descriptor. */
export interface GrantClass {
  readonly info: GrantTypeInfo;
  new (s: GrantServices): GrantHandler;
}

/** RFC 6749 §5.2 unauthorized_client: the client is not allowed this grant (shared by grants that identify the client themselves). */
export function assertGrantAllowed(client: AppRecord, grant: { readonly info: GrantTypeInfo }): void {
  if (!client.allowedGrants.includes(grant.info.grantType)) throw new UnauthorizedClient(`the client may not use ${grant.info.grantType}`);
}
