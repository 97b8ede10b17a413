import { InvalidClient, InvalidRequest } from '../core/errors.js';
import { decodeJwt } from '../tokens/jwt.js';
import { ClientSecretBasicAuthenticator } from './client_secret_basic.js';
import { ClientSecretJwtAuthenticator } from './client_secret_jwt.js';
import { ClientSecretPostAuthenticator } from './client_secret_post.js';
import { NoneAuthenticator } from './none.js';
import { PrivateKeyJwtAuthenticator } from './private_key_jwt.js';
import { SelfSignedTlsClientAuthAuthenticator } from './self_signed_tls_client_auth.js';
import { TlsClientAuthAuthenticator } from './tls_client_auth.js';
import type { AuthDeps, AuthenticatedClient, RequestParts } from './types.js';
import type { TokenEndpointAuthMethod } from '../core/types.js';

export * from './types.js';

const basic = new ClientSecretBasicAuthenticator();
const post = new ClientSecretPostAuthenticator();
const secretJwt = new ClientSecretJwtAuthenticator();
const privateKeyJwt = new PrivateKeyJwtAuthenticator();
const none = new NoneAuthenticator();
const tls = new TlsClientAuthAuthenticator();
const selfSignedTls = new SelfSignedTlsClientAuthAuthenticator();

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
  if (none.matches(req)) {
    // RFC 8705 §2: with mutual TLS only client_id is in the request; the registered method says how the certificate counts.
    const registered = (await deps.findClient(req.params.client_id!))?.tokenEndpointAuthMethod;
    if (registered === 'tls_client_auth') return tls.authenticate(req, deps);
    if (registered === 'self_signed_tls_client_auth') return selfSignedTls.authenticate(req, deps);
    return none.authenticate(req, deps);
  }
  throw new InvalidClient('client authentication is required');
}

export const SUPPORTED_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'] as const;
/** RFC 8705 §2.1.1, §2.2.1: served (and advertised) only where certificates can arrive (config mtlsEnabled). */
export const MTLS_SUPPORTED_AUTH_METHODS = ['tls_client_auth', 'self_signed_tls_client_auth'] as const;
/** The client authentication methods this server serves. */
export const authMethodsSupported = (mtls: boolean): TokenEndpointAuthMethod[] => [...SUPPORTED_AUTH_METHODS, ...(mtls ? MTLS_SUPPORTED_AUTH_METHODS : [])];
