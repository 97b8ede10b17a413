/**
 * The one list of grant types Tessera serves. Discovery (`grant_types_supported`,
 * `response_types_supported`), dynamic registration's allow-list, the admin API's `allowedGrants`
 * validation and its SCIM canonical values all read it, so they cannot disagree: a grant type is
 * advertised or accepted exactly when something serves it. The token endpoint's handlers are built
 * from the same entries (grants/index.ts).
 */
export type ResponseType = 'code' | 'token' | 'id_token' | 'id_token token';

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

export const GRANT_REGISTRY: readonly GrantTypeInfo[] = [
  { grantType: 'authorization_code', tokenEndpoint: true, responseTypes: ['code'], selfRegistrable: true },
  { grantType: 'implicit', tokenEndpoint: false, responseTypes: ['token', 'id_token', 'id_token token'], selfRegistrable: false },
  { grantType: 'refresh_token', tokenEndpoint: true, responseTypes: [], selfRegistrable: true },
  { grantType: 'client_credentials', tokenEndpoint: true, responseTypes: [], selfRegistrable: true },
  { grantType: 'password', tokenEndpoint: true, responseTypes: [], selfRegistrable: false },
];

/** Every grant type a client may be allowed (`allowedGrants`) and discovery lists. */
export const SUPPORTED_GRANT_TYPES: readonly string[] = GRANT_REGISTRY.map((g) => g.grantType);
/** Grant types a client may register for dynamically. */
export const SELF_REGISTRABLE_GRANT_TYPES: ReadonlySet<string> = new Set(GRANT_REGISTRY.filter((g) => g.selfRegistrable).map((g) => g.grantType));
/** Response types of the authorization endpoint, from the grants that serve them. */
export const RESPONSE_TYPES: readonly ResponseType[] = GRANT_REGISTRY.flatMap((g) => g.responseTypes);
/** The grant a response type belongs to (RFC 7591 §2.1: grant_types and response_types must agree). */
export const grantOfResponseType = (rt: string): GrantTypeInfo | undefined => GRANT_REGISTRY.find((g) => (g.responseTypes as readonly string[]).includes(rt));
