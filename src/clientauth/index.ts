import { InvalidClient, InvalidRequest } from '../core/errors.js';
import { decodeJwt } from '../tokens/jwt.js';
import { ClientSecretBasicAuthenticator } from './client_secret_basic.js';
import { ClientSecretJwtAuthenticator } from './client_secret_jwt.js';
import { ClientSecretPostAuthenticator } from './client_secret_post.js';
import { NoneAuthenticator } from './none.js';
import { PrivateKeyJwtAuthenticator } from './private_key_jwt.js';
import type { AuthDeps, AuthenticatedClient, RequestParts } from './types.js';

export * from './types.js';

const basic = new ClientSecretBasicAuthenticator();
const post = new ClientSecretPostAuthenticator();
const secretJwt = new ClientSecretJwtAuthenticator();
const privateKeyJwt = new PrivateKeyJwtAuthenticator();
const none = new NoneAuthenticator();

/**
 * Authenticate the client of a token-style request. RFC 6749 §2.3: a client MUST NOT use more than
 * one authentication method in a request.
 */
export async function authenticateClient(req: RequestParts, deps: AuthDeps): Promise<AuthenticatedClient> {
  const used = [basic, post, secretJwt].filter((a) => a.matches(req));
  if (used.length > 1) throw new InvalidRequest('more than one client authentication method used');
  if (used[0] === basic) return basic.authenticate(req, deps);
  if (used[0] === post) return post.authenticate(req, deps);
  if (used[0] === secretJwt) {
    // The registered method decides which key verifies the assertion.
    const sub = decodeJwt(req.params.client_assertion ?? '')?.payload.sub;
    const client = typeof sub === 'string' ? await deps.findClient(sub) : undefined;
    return (client?.tokenEndpointAuthMethod === 'private_key_jwt' ? privateKeyJwt : secretJwt).authenticate(req, deps);
  }
  if (none.matches(req)) return none.authenticate(req, deps);
  throw new InvalidClient('client authentication is required');
}

export const SUPPORTED_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'] as const;
