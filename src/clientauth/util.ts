import { InvalidClient } from '../core/errors.js';
import type { AppRecord, TokenEndpointAuthMethod } from '../core/types.js';

/** A client that may authenticate with `method` at all: exists, active, an OAuth client, registered for that method. */
export function usableClient(client: AppRecord | undefined, method: TokenEndpointAuthMethod): client is AppRecord {
  if (!client || !client.active || !client.isOAuthClient) return false;
  const registered = client.tokenEndpointAuthMethod;
  if (registered === method) return true;
  // Basic and post carry the same secret; RFC 6749 §2.3.1 lets a server support both for a secret client.
  const secretMethods: TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post'];
  return secretMethods.includes(registered) && secretMethods.includes(method);
}

export const fail = (debug: string, d = 'client authentication failed'): InvalidClient => new InvalidClient(d, debug);
