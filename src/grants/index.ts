/**
 * The grants Tessera serves, and the one list of grant types: discovery (`grant_types_supported`,
 * `response_types_supported`), dynamic registration's allow-list, the admin API's `allowedGrants`
 * validation and its SCIM canonical values all read it, so a grant type is advertised or accepted
 * exactly when something serves it. A new grant is one file here plus one line in GRANTS.
 */
import { AuthorizationCodeGrant } from './authorization_code.js';
import { ClientCredentialsGrant } from './client_credentials.js';
import { DeviceCodeGrant } from './device_code.js';
import { JwtBearerGrant } from './jwt_bearer.js';
import { PasswordGrant } from './password.js';
import { RefreshTokenGrant } from './refresh_token.js';
import { Saml2BearerGrant } from './saml2_bearer.js';
import { TokenExchangeGrant } from './token_exchange.js';
import { RESPONSE_TYPES } from '../authorize/response_types.js';
import type { GrantClass, GrantHandler, GrantServices, GrantTypeInfo, ResponseType } from './types.js';

export * from './types.js';

/** Every grant the token endpoint dispatches to. */
const GRANTS: readonly GrantClass[] = [
  AuthorizationCodeGrant,
  RefreshTokenGrant,
  ClientCredentialsGrant,
  PasswordGrant,
  JwtBearerGrant,
  Saml2BearerGrant,
  TokenExchangeGrant,
  DeviceCodeGrant,
];

/** RFC 6749 §4.2: served at the authorization endpoint (opted-in clients only), not at the token endpoint. */
const IMPLICIT: GrantTypeInfo = { grantType: 'implicit', tokenEndpoint: false, responseTypes: ['token', 'id_token', 'id_token token'], selfRegistrable: false };

export const GRANT_REGISTRY: readonly GrantTypeInfo[] = [...GRANTS.map((g) => g.info), IMPLICIT];

/** Every grant type a client may be allowed (`allowedGrants`) and discovery lists. */
export const SUPPORTED_GRANT_TYPES: readonly string[] = GRANT_REGISTRY.map((g) => g.grantType);
/** Grant types a client may register for dynamically. */
export const SELF_REGISTRABLE_GRANT_TYPES: ReadonlySet<string> = new Set(GRANT_REGISTRY.filter((g) => g.selfRegistrable).map((g) => g.grantType));
// The authorization endpoint parses RESPONSE_TYPES; the grants must serve exactly those (no advertised type without a grant).
const served: readonly ResponseType[] = GRANT_REGISTRY.flatMap((g) => g.responseTypes);
if ([...served].sort().join() !== [...RESPONSE_TYPES].sort().join()) throw new Error(`grants serve response types ${served.join(', ')}, the authorization endpoint parses ${RESPONSE_TYPES.join(', ')}`);
export { RESPONSE_TYPES };
/** The grant a response type belongs to (RFC 7591 §2.1: grant_types and response_types must agree). */
export const grantOfResponseType = (rt: string): GrantTypeInfo | undefined => GRANT_REGISTRY.find((g) => (g.responseTypes as readonly string[]).includes(rt));

/** The token endpoint's handlers, each built with the services it uses. */
export function grantHandlers(s: GrantServices): Map<string, GrantHandler> {
  return new Map(GRANTS.map((G) => [G.info.grantType, new G(s)]));
}
