import { InvalidRequest } from '../core/errors.js';
import type { AppRecord } from '../core/types.js';

/** RFC 8705 §3.1: the confirmation claim of a certificate-bound token. */
export interface Confirmation { 'x5t#S256': string }

/**
 * The confirmation a client's tokens carry: its certificate's thumbprint when it registered
 * tls_client_certificate_bound_access_tokens, otherwise none. Such a client presenting no certificate gets
 * no token at all (RFC 8705 §3: a bearer token where it asked for a bound one would be a silent downgrade).
 */
export function confirmationFor(client: Pick<AppRecord, 'tlsClientCertificateBoundAccessTokens'>, thumbprint: string | undefined): Confirmation | undefined {
  if (client.tlsClientCertificateBoundAccessTokens !== true) return undefined;
  if (!thumbprint) throw new InvalidRequest('this client\'s tokens are bound to its TLS client certificate (tls_client_certificate_bound_access_tokens): present one with the request');
  return { 'x5t#S256': thumbprint };
}
