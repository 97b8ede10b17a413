import { TLS_SUBJECT_ATTRIBUTES, certificateMatches } from './certificate.js';
import type { AuthDeps, ClientAuthenticator, RequestParts } from './types.js';
import { fail, usableClient } from './util.js';

/** The certificate a request presented, or the InvalidClient that says why there is none. */
export function presented(req: RequestParts) {
  if (req.certificate) return req.certificate;
  throw fail(`no TLS client certificate${req.certificateProblem ? ` (${req.certificateProblem})` : ''}`);
}

/**
 * RFC 8705 §2.1: PKI mutual-TLS client authentication. The certificate must chain to a configured CA
 * (TESSERA_TLS_CLIENT_CA) and carry the one subject DN or subjectAltName value the client registered.
 */
export class TlsClientAuthAuthenticator implements ClientAuthenticator {
  readonly method = 'tls_client_auth' as const;
  // RFC 8705 §2: the client_id parameter identifies the client (nothing else in the request does).
  matches(req: RequestParts): boolean { return req.params.client_id !== undefined; }
  async authenticate(req: RequestParts, deps: AuthDeps) {
    const id = req.params.client_id!;
    const client = await deps.findClient(id);
    if (!usableClient(client, this.method)) throw fail(`client ${id.slice(0, 100)} is not registered for tls_client_auth`);
    const cert = presented(req);
    // RFC 8705 §2.1.1: the chain is validated against the trust anchors the server is configured with.
    if (!cert.trusted) throw fail('the TLS client certificate does not chain to a trusted CA (TESSERA_TLS_CLIENT_CA) or is outside its validity period');
    // RFC 8705 §2.1.2: exactly one of the five names is registered (checked at registration); it must match.
    const field = TLS_SUBJECT_ATTRIBUTES.find((f) => client[f] !== undefined);
    if (!field || !certificateMatches(cert.cert, field, client[field]!)) throw fail(`the TLS client certificate does not match the client's registered ${field ?? 'subject'}`);
    return { client, method: this.method };
  }
}
