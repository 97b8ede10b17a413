import type { X509Certificate } from 'node:crypto';
import type { Jwk } from '../core/types.js';
import { ClientKeysUnavailable, registeredClientKeys } from './assertion.js';
import { presented } from './tls_client_auth.js';
import type { AuthDeps, ClientAuthenticator, RequestParts } from './types.js';
import { fail, usableClient } from './util.js';

const MEMBERS: Record<string, string[]> = { RSA: ['n', 'e'], EC: ['crv', 'x', 'y'], OKP: ['crv', 'x'] };

/** Is `jwk` the certificate's public key (same type and key members)? */
function sameKey(cert: X509Certificate, jwk: Jwk): boolean {
  let mine: Record<string, unknown>;
  try { mine = cert.publicKey.export({ format: 'jwk' }) as Record<string, unknown>; } catch { return false; }
  const members = MEMBERS[String(mine.kty)];
  return members !== undefined && jwk.kty === mine.kty && members.every((m) => typeof jwk[m] === 'string' && jwk[m] === mine[m]);
}

/**
 * RFC 8705 §2.2: self-signed certificate mutual-TLS client authentication. No chain is built; the certificate's
 * public key must be one of the client's registered keys (jwks, jwks_uri, or its registered certificates).
 * The TLS handshake has proved the client holds the private key.
 */
export class SelfSignedTlsClientAuthAuthenticator implements ClientAuthenticator {
  readonly method = 'self_signed_tls_client_auth' as const;
  matches(req: RequestParts): boolean { return req.params.client_id !== undefined; }
  async authenticate(req: RequestParts, deps: AuthDeps) {
    const id = req.params.client_id!;
    const client = await deps.findClient(id);
    if (!usableClient(client, this.method)) throw fail(`client ${id.slice(0, 100)} is not registered for self_signed_tls_client_auth`);
    const cert = presented(req);
    let keys: Jwk[];
    try { keys = (await registeredClientKeys(client, deps.jwksFetcher, undefined)).keys; } catch (e) {
      if (e instanceof ClientKeysUnavailable) throw fail(e.message);
      throw e;
    }
    let ok = keys.some((k) => sameKey(cert.cert, k));
    // A key rotated into jwks_uri since it was cached: fetch once more (the fetcher rate-limits refetches).
    if (!ok && client.jwksUri) {
      try { ok = (await deps.jwksFetcher.get(client.jwksUri, true)).keys.some((k) => sameKey(cert.cert, k as Jwk)); } catch { ok = false; }
    }
    if (!ok) throw fail('the TLS client certificate\'s public key is not one of the client\'s registered keys');
    return { client, method: this.method };
  }
}
