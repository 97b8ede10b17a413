import { SIGNING_ALGS, type SigningAlg } from '../config/schema.js';

export type { SigningAlg };
export const SIGNING_ALGS_LIST: readonly SigningAlg[] = SIGNING_ALGS;

/** A domain's password rules; every field optional (defaults in identity/passwords.ts). */
export interface PasswordPolicySettings {
  minLength?: number;
  maxLength?: number;
  /** How many previous passwords (the current one included) may not be reused; 0 turns the rule off. */
  historyCount?: number;
  /** Refuse passwords found in the common/breached password list. */
  rejectCommon?: boolean;
}

/**
 * When a second factor is required at sign-in. A user who has enrolled a factor is always asked for it;
 * the policy decides whether a user without one must enrol first: `always`, `requested` (only when the
 * app asks with acr_values=urn:tessera:acr:mfa) or `never`.
 */
export type MfaPolicy = 'never' | 'always' | 'requested';
export const MFA_POLICIES: readonly MfaPolicy[] = ['never', 'always', 'requested'];

export interface DomainSettings {
  /** The domain's sign-on policy for second factors (default `requested`). */
  mfaPolicy?: MfaPolicy;
  passwordPolicy?: PasswordPolicySettings;
  /** Overrides the JWKS visibility (config `jwksPublic`). */
  jwksPublic?: boolean;
  /** Default access-token lifetime for the domain, seconds. */
  accessTokenTtl?: number;
}

export interface DomainRecord {
  id: string;
  name: string;
  displayName: string;
  settings: DomainSettings;
  createdAt: number;
  updatedAt: number;
}

export const DEFAULT_DOMAIN = 'default';
/** Seeds: access token lifetimes range from 60 s to one year. */
export const MAX_ACCESS_TOKEN_LIFETIME = 31_536_000;
export const MIN_ACCESS_TOKEN_LIFETIME = 60;

export type ClientType = 'confidential' | 'public';
export const TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none', 'tls_client_auth', 'self_signed_tls_client_auth'] as const;
/** RFC 8705 §2: the methods that authenticate with the TLS client certificate (no secret). */
export const MTLS_AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ['tls_client_auth', 'self_signed_tls_client_auth'];
/** Does a confidential client with this method get a client secret? Not when it authenticates with a key or a certificate. */
export const usesSecret = (m: TokenEndpointAuthMethod): boolean => m !== 'private_key_jwt' && !MTLS_AUTH_METHODS.includes(m);
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];

/** Grant type names used in code; which ones are served is the grant registry's business (src/grants/registry.ts). */
export const GRANT_TYPES = {
  authorizationCode: 'authorization_code',
  implicit: 'implicit',
  password: 'password',
  clientCredentials: 'client_credentials',
  refreshToken: 'refresh_token',
  jwtBearer: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
  tokenExchange: 'urn:ietf:params:oauth:grant-type:token-exchange',
  deviceCode: 'urn:ietf:params:oauth:grant-type:device_code',
} as const;

export interface ScopeDef {
  value: string;
  description?: string;
  requiresConsent?: boolean;
}

export interface Jwk { kty: string; kid?: string; alg?: string; use?: string; [k: string]: unknown }

/** An App: an OAuth client and/or a resource server (the Oracle identity domain model). */
export interface AppRecord {
  id: string;
  domainId: string;
  displayName: string;
  description?: string;
  active: boolean;
  isBuiltIn: boolean;
  // OAuth client
  isOAuthClient: boolean;
  clientId?: string;
  clientType: ClientType;
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  tokenEndpointAuthSigningAlg?: string;
  allowedGrants: string[];
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  jwks?: { keys: Jwk[] };
  jwksUri?: string;
  /**
   * PEM X.509 certificates whose public keys verify the client's JWTs (private_key_jwt, jwt-bearer assertions),
   * beside or instead of jwks / jwksUri; a JWT selects one by `kid` or `x5t#S256` (both the SHA-256 thumbprint) or `x5t`.
   * Set by an administrator only (RFC 7591 has no such metadata).
   */
  certificates?: string[];
  /**
   * The client may sign JWT-bearer assertions for any user of the domain (`sub` = a userName), and get tokens
   * as that user (Oracle's trusted client). Set through the admin API only, by a caller holding every admin scope.
   */
  allowUserAssertions?: boolean;
  /**
   * RFC 8693 §1.1 impersonation: the client may exchange a subject token without an actor token for a token that
   * carries no `act` naming it (it then acts as the subject itself). Set through the admin API only, by a caller
   * holding every admin scope; without it a token exchange is always delegation (`act` names the actor).
   */
  allowTokenExchangeImpersonation?: boolean;
  /**
   * tls_client_auth (RFC 8705 §2.1.2): exactly one of these names the certificate field the client is known by
   * (subject DN in RFC 4514 string form, or a subjectAltName entry); its certificate must chain to TESSERA_TLS_CLIENT_CA.
   */
  tlsClientAuthSubjectDn?: string;
  tlsClientAuthSanDns?: string;
  tlsClientAuthSanUri?: string;
  tlsClientAuthSanIp?: string;
  tlsClientAuthSanEmail?: string;
  /** RFC 8705 §3: access tokens carry `cnf.x5t#S256` of the client's TLS certificate (and a public client's refresh tokens are bound to it). */
  tlsClientCertificateBoundAccessTokens?: boolean;
  allowedScopes: string[];
  defaultScopes: string[];
  accessTokenExpiry?: number;
  refreshTokenExpiry?: number;
  /** PKCE (S256) on the authorization code flow; default true. Only a confidential client may turn it off. */
  pkceRequired?: boolean;
  /** A first-party app whose users are not asked for consent (Oracle `bypassConsent`). */
  bypassConsent?: boolean;
  /** Issue a refresh token in user flows even without `offline_access` (Oracle `allowOffline`). */
  allowOffline?: boolean;
  /**
   * Put the granted scopes' claims (profile, email, ...) in the ID token even when an access token is issued,
   * for relying parties that read the profile from the ID token only (express-openid-connect, passport).
   */
  claimsInIdToken?: boolean;
  /** When this app asks for a second factor; overrides the domain's sign-on policy. */
  mfaPolicy?: MfaPolicy;
  // resource server
  isOAuthResource: boolean;
  audience?: string;
  scopes: ScopeDef[];
  accessTokenFormat: 'jwt' | 'opaque';
  accessTokenSigningAlg?: SigningAlg;
  // secrets (never raw)
  secretHash?: string;
  secretEnc?: string;
  registrationTokenHash?: string;
  /** Extra client metadata kept verbatim (RFC 7591 client_name, logo_uri, contacts, ...). */
  metadata: Record<string, unknown>;
  /** Access tokens issued before this (epoch ms) are refused: set when the client is switched off, so switching it on again does not revive them. */
  tokensValidAfter?: number;
  version: number;
  createdAt: number;
  updatedAt: number;
}

export interface AppRoleRecord {
  id: string;
  domainId: string;
  appId: string;
  displayName: string;
  description?: string;
  scopes: string[];
  isBuiltIn: boolean;
  version: number;
  createdAt: number;
  updatedAt: number;
}

export type GranteeType = 'App' | 'User' | 'Group';
export const GRANT_MECHANISMS = {
  App: 'ADMINISTRATOR_TO_APP',
  User: 'ADMINISTRATOR_TO_USER',
  Group: 'ADMINISTRATOR_TO_GROUP',
} as const satisfies Record<GranteeType, string>;

export interface GrantRecord {
  id: string;
  domainId: string;
  appId: string;
  appRoleId: string;
  granteeType: GranteeType;
  granteeId: string;
  mechanism: string;
  version: number;
  createdAt: number;
  updatedAt: number;
}

export type SubjectType = 'client' | 'user';

/** A stored (opaque) token. Only the SHA-256 of the token value is kept. */
export interface TokenRecord {
  hash: string;
  domainId: string;
  kind: 'access' | 'refresh';
  clientId: string;
  sub: string;
  subType: SubjectType;
  scope: string;
  aud: string[];
  jti: string;
  grantId?: string;
  /** The SSO session the token was issued in (user flows); logout revokes the session's refresh tokens. */
  sessionId?: string;
  issuedAt: number;
  expiresAt: number;
  revokedAt?: number;
  data: Record<string, unknown>;
}

export type KeyStatus = 'next' | 'active' | 'retired';
export interface SigningKeyRecord {
  kid: string;
  domainId: string;
  alg: SigningAlg;
  status: KeyStatus;
  publicJwk: Jwk;
  privateJwkEnc: string;
  createdAt: number;
  activatedAt?: number;
  retiredAt?: number;
  expiresAt?: number;
}

export interface AuditEventRecord {
  id: string;
  domainId: string;
  ts: number;
  eventId: string;
  outcome: 'success' | 'failure';
  actorType?: string;
  actorId?: string;
  actorName?: string;
  clientIp?: string;
  targetType?: string;
  targetId?: string;
  message?: string;
  details?: Record<string, unknown>;
}

/** How assertions from a trusted issuer are made: JWTs (RFC 7523) or SAML 2.0 assertions (RFC 7522). */
export type TrustedIssuerProtocol = 'jwt' | 'saml2';
export const TRUSTED_ISSUER_PROTOCOLS: readonly TrustedIssuerProtocol[] = ['jwt', 'saml2'];
/** Which user attribute an assertion's subject (JWT `sub`, SAML `NameID`) is matched against. */
export type SubjectAttribute = 'userName' | 'email' | 'externalId' | 'id';
export const SUBJECT_ATTRIBUTES: readonly SubjectAttribute[] = ['userName', 'email', 'externalId', 'id'];
/** Default and largest accepted assertion lifetime (exp - now, NotOnOrAfter - now), seconds. */
export const DEFAULT_ASSERTION_LIFETIME = 300;
export const MAX_ASSERTION_LIFETIME = 3600;
/** Shortest maxAssertionLifetime an administrator may set: below it, clock skew and network time alone fail assertions. */
export const MIN_ASSERTION_LIFETIME = 30;

/**
 * A party whose signed assertions the domain accepts at the token endpoint (JWT bearer, SAML 2.0
 * bearer): another IdP, a SAML federation partner. Keys come only from here, never from the assertion.
 */
export interface TrustedIssuerRecord {
  id: string;
  domainId: string;
  /** The JWT `iss` or the SAML `Issuer` entity ID; unique per domain and protocol. */
  issuer: string;
  protocol: TrustedIssuerProtocol;
  active: boolean;
  displayName?: string;
  description?: string;
  /** Verification keys: an inline JWK Set, a jwks_uri, or PEM X.509 certificates (for SAML, certificates only). */
  jwks?: { keys: Jwk[] };
  jwksUri?: string;
  certificates: string[];
  subjectAttribute: SubjectAttribute;
  /** A cap on the scopes its assertions can yield, OIDC scopes included (empty: they yield none). */
  allowedScopes: string[];
  /** Client ids that may present its assertions; empty means any client of the domain. */
  allowedClients: string[];
  /** An extra accepted audience value besides the issuer and the token endpoint URL. */
  audience?: string;
  maxAssertionLifetime: number;
  version: number;
  createdAt: number;
  updatedAt: number;
}
