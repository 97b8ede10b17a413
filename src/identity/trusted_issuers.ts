import { createHash, X509Certificate } from 'node:crypto';
import type { JwksFetcher } from '../clientauth/jwks_fetcher.js';
import type { Jwk, TrustedIssuerRecord } from '../core/types.js';

export class CertificateProblem extends Error {}

/** PEM X.509 certificates (one or more in each string), parsed; throws CertificateProblem naming the one that is not. */
export function parseCertificates(pems: readonly string[]): X509Certificate[] {
  const out: X509Certificate[] = [];
  pems.forEach((pem, i) => {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
    if (!blocks || blocks.length === 0) throw new CertificateProblem(`certificates[${i}] is not a PEM certificate`);
    for (const b of blocks) {
      try { out.push(new X509Certificate(b)); } catch { throw new CertificateProblem(`certificates[${i}] is not a valid X.509 certificate`); }
    }
  });
  return out;
}

/** RFC 7517 §4.9 / RFC 7515 §4.1.8: the base64url SHA-256 thumbprint of the DER certificate. */
export const x5tS256 = (c: X509Certificate): string => createHash('sha256').update(c.raw).digest('base64url');

/** A certificate's public key as a JWK, selectable by `kid` or `x5t#S256` (both the thumbprint). */
export function certificateJwk(c: X509Certificate): Jwk {
  const jwk = c.publicKey.export({ format: 'jwk' }) as Jwk;
  const t = x5tS256(c);
  return { ...jwk, kid: t, 'x5t#S256': t, x5c: [c.raw.toString('base64')] };
}

/**
 * The verification keys of a trusted issuer. Keys come only from its registration (inline JWKS,
 * its jwks_uri, its certificates), never from an assertion (RFC 8725 §3.10; XML-DSig KeyInfo is ignored).
 */
export class TrustedIssuerKeys {
  constructor(private readonly fetcher: JwksFetcher) {}

  /**
   * For JWT assertions: one JWK Set of every registered key. A `kid` not found in a fetched jwks_uri set
   * refetches it once (JwksFetcher rate-limits refetches), so a partner's key rotation works without an admin.
   */
  async jwtKeys(t: TrustedIssuerRecord, kid?: string): Promise<{ keys: Jwk[] }> {
    const keys: Jwk[] = [...(t.jwks?.keys ?? []), ...parseCertificates(t.certificates).map(certificateJwk)];
    if (t.jwksUri) {
      let set = await this.fetcher.get(t.jwksUri);
      if (kid !== undefined && !set.keys.some((k) => (k as Jwk).kid === kid) && !keys.some((k) => k.kid === kid)) set = await this.fetcher.get(t.jwksUri, true);
      keys.push(...(set.keys as Jwk[]));
    }
    return { keys };
  }

  /** For SAML assertions: the issuer's certificates (a signature verifies with one of them or not at all). */
  samlCertificates(t: TrustedIssuerRecord): X509Certificate[] {
    return parseCertificates(t.certificates);
  }
}
