import { AuthorizationCodeGrant } from './authorization_code.js';
import { ClientCredentialsGrant } from './client_credentials.js';
import { PasswordGrant } from './password.js';
import { RefreshTokenGrant } from './refresh_token.js';
import { GRANT_REGISTRY } from './registry.js';
import type { GrantHandler } from './types.js';

export * from './types.js';
export * from './registry.js';

/** Every grant the token endpoint dispatches to. A new grant is a file, one line here and its entry in registry.ts. */
export function grantHandlers(): Map<string, GrantHandler> {
  const handlers: GrantHandler[] = [
    new ClientCredentialsGrant(),
    new AuthorizationCodeGrant(),
    new RefreshTokenGrant(),
    new PasswordGrant(),
  ];
  const map = new Map(handlers.map((h) => [h.grantType, h]));
  // The registry and the handlers must name the same token endpoint grants (metadata is derived from the registry).
  const listed = GRANT_REGISTRY.filter((g) => g.tokenEndpoint).map((g) => g.grantType).sort();
  if (listed.join(' ') !== [...map.keys()].sort().join(' ')) throw new Error(`grant registry (${listed}) and handlers (${[...map.keys()]}) disagree`);
  return map;
}
