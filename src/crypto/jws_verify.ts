/**
 * JWS signature verification of other parties' JWTs (jwt-bearer assertions) with node:crypto KeyObjects,
 * synchronously. Measured on the token endpoint (bench jwtbearer row, and an in-process loop of 2,700
 * RS256 assertions): jose's jwtVerify with a local JWK Set costs about 100 µs of CPU per RS256 JWT (210 µs
 * when the set is built per request) and hands the work to libuv's pool, a wall time of about 600 µs per
 * request; a cached KeyObject verifies in about 40 µs on the request's own thread. The claims are checked by
 * the caller; this only answers "did this key sign this input with this alg".
 *
 * RFC 8725 §3.1: the key decides. Each alg names the key type (and curve) it needs, so an RSA key never
 * verifies an ES256 header, and no HMAC or `none` is ever verified here (RFC 7518 §3.1 lists them; they are
 * not in this table). RSA keys must be at least 2048 bits (RFC 7518 §3.3, §3.5).
 */
import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { Jwk } from '../core/types.js';

interface AlgSpec { hash: string | null; kty: 'rsa' | 'ec' | 'okp'; pss?: number; curve?: string }

/** RFC 7518 §3.1 (asymmetric), RFC 8037 §3.1 (EdDSA). */
const ALGS: Record<string, AlgSpec> = {
  RS256: { hash: 'sha256', kty: 'rsa' },
  RS384: { hash: 'sha384', kty: 'rsa' },
  RS512: { hash: 'sha512', kty: 'rsa' },
  // RFC 7518 §3.5: the salt is as long as the hash.
  PS256: { hash: 'sha256', kty: 'rsa', pss: 32 },
  PS384: { hash: 'sha384', kty: 'rsa', pss: 48 },
  PS512: { hash: 'sha512', kty: 'rsa', pss: 64 },
  ES256: { hash: 'sha256', kty: 'ec', curve: 'prime256v1' },
  ES384: { hash: 'sha384', kty: 'ec', curve: 'secp384r1' },
  ES512: { hash: 'sha512', kty: 'ec', curve: 'secp521r1' },
  EdDSA: { hash: null, kty: 'okp' },
};

/**
 * RSA keys whose verification costs what a signature does are refused: keys come from partners' and clients'
 * jwks_uri too, and up to 10 are tried per assertion. A public exponent as long as the modulus (valid RSA, RFC 8017
 * §3.1) makes one verify 70 times slower; FIPS 186-5 §A.1.1 bounds it by 2^256 (65537 in practice), and a modulus
 * over 8192 bits is not a key anyone issues. Shared with the admin API's checks (admin/trusted_issuers.ts).
 */
export const MAX_RSA_BITS = 8192;
export const MAX_RSA_EXPONENT_BITS = 256;
/** Why an RSA public key costs too much to verify with, or undefined. */
export function rsaCostProblem(key: KeyObject): string | undefined {
  const d = key.asymmetricKeyDetails;
  if ((d?.modulusLength ?? 0) > MAX_RSA_BITS) return `is an RSA key of ${d!.modulusLength} bits (at most ${MAX_RSA_BITS})`;
  if (d?.publicExponent !== undefined && d.publicExponent.toString(2).length > MAX_RSA_EXPONENT_BITS) return `has an RSA public exponent over 2^${MAX_RSA_EXPONENT_BITS} (FIPS 186-5 §A.1.1; 65537 is usual)`;
  return undefined;
}

/** Does this public key fit the alg (type, curve, size)? */
function fits(spec: AlgSpec, key: KeyObject): boolean {
  const type = key.asymmetricKeyType;
  if (key.type !== 'public') return false;
  switch (spec.kty) {
    case 'rsa': return type === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 && rsaCostProblem(key) === undefined;
    case 'ec': return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === spec.curve;
    case 'okp': return type === 'ed25519' || type === 'ed448';
  }
}

/** Whether `key` signed `signingInput` (the JWS `header.payload`) with `alg`; false for any mismatch or malformed signature. */
export function verifyJws(signingInput: string, signature: Buffer, alg: string, key: KeyObject): boolean {
  const spec = Object.hasOwn(ALGS, alg) ? ALGS[alg]! : undefined;
  if (!spec || !fits(spec, key)) return false;
  const options = spec.kty === 'ec' ? { key, dsaEncoding: 'ieee-p1363' as const }
    : spec.pss !== undefined ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.pss } : { key };
  try {
    return verify(spec.hash, Buffer.from(signingInput), options, signature);
  } catch {
    return false;
  }
}

const PUBLIC_MEMBERS = ['kty', 'crv', 'n', 'e', 'x', 'y'] as const;

/**
 * Public KeyObjects of JWKs, imported once: a partner's key set is the same from request to request, and
 * importing an RSA JWK costs about as much as verifying with it. Bounded; only the public members are used.
 */
export class PublicKeyCache {
  private readonly keys = new Map<string, KeyObject | null>();
  constructor(private readonly max = 10_000) {}

  /** The key of a JWK, or undefined when it is not a usable public key. */
  of(jwk: Jwk): KeyObject | undefined {
    const pub: Record<string, unknown> = {};
    for (const m of PUBLIC_MEMBERS) if (jwk[m] !== undefined) pub[m] = jwk[m];
    const id = JSON.stringify(pub);
    let k = this.keys.get(id);
    if (k === undefined) {
      try { k = createPublicKey({ key: pub as never, format: 'jwk' }); } catch { k = null; }
      if (this.keys.size >= this.max) this.keys.clear();
      this.keys.set(id, k);
    }
    return k ?? undefined;
  }
}
