import { ClientCredentialsGrant } from './client_credentials.js';
import type { GrantHandler } from './types.js';

export * from './types.js';

/** Every grant the token endpoint dispatches to. A new grant is a file plus one line here. */
export function grantHandlers(): Map<string, GrantHandler> {
  const handlers: GrantHandler[] = [
    new ClientCredentialsGrant(),
  ];
  return new Map(handlers.map((h) => [h.grantType, h]));
}
