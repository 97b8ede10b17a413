import { AuthorizationCodeGrant } from './authorization_code.js';
import { ClientCredentialsGrant } from './client_credentials.js';
import { PasswordGrant } from './password.js';
import { RefreshTokenGrant } from './refresh_token.js';
import type { GrantHandler } from './types.js';

export * from './types.js';

/** Every grant the token endpoint dispatches to. A new grant is a file plus one line here. */
export function grantHandlers(): Map<string, GrantHandler> {
  const handlers: GrantHandler[] = [
    new ClientCredentialsGrant(),
    new AuthorizationCodeGrant(),
    new RefreshTokenGrant(),
    new PasswordGrant(),
  ];
  return new Map(handlers.map((h) => [h.grantType, h]));
}
