/**
 * The checks of a signed JWT from another party that a grant accepts (RFC 7523 §3 with RFC 8725): shared by the
 * JWT bearer grant (an assertion) and token exchange (a trusted issuer's JWT as subject or actor token, RFC 8693
 * §3 `urn:ietf:params:oauth:token-type:jwt`). Every refusal is an InvalidGrant naming the check; a grant whose
 * protocol names another code (RFC 8693 §2.2.2: invalid_request) maps it.
 */
import { createHash } from 'node:crypto';
import { algsOfJwk, ASYMMETRIC_ALGS } from '../clientauth/assertion.js';
import { InvalidGrant } from '../core/errors.js';
import type { Jwk } from '../core/types.js';
import { verifyJws, type PublicKeyCache } from '../crypto/jws_verify.js';
import type { DecodedJwt } from '../tokens/jwt.js';

/** Larger JWTs are refused before parsing (a certificate chain in the header still fits). */
export const MAX_ASSERTION = 16384;
const MAX_CLAIM = 1024;
const MAX_KID = 256;
/** Keys tried for one signature when the header selects none in particular (a JWK Set without kids). */
const MAX_TRIES = 10;
/**
 * RFC 8725 §3.11: only a plain JWT may be an authorization grant. RFC 7523 defines no typ; `JWT` (RFC 7519
 * §5.1, with or without `application/`) or none is what partners send. Explicitly typed JWTs of other kinds
 * are refused: access tokens (`at+jwt`, RFC 9068), client authentication JWTs (`client-authentication+jwt`,
 * RFC 10070), request objects (`oauth-authz-req+jwt`), logout tokens, ...
 */
const PLAIN_JWT_TYP = /^(application\/)?jwt$/i;
/**
 * Claims only an OpenID Connect ID token carries (OIDC Core §2, §3.1.3.6, §3.3.2.11): an ID token has typ
 * JWT too, and one issued to a client whose id is a trusted issuer's `audience` would pass the audience
 * rule, so its shape refuses it (RFC 8725 §3.12). `auth_time` and `azp` are not on the list: assertions
 * legitimately carry them.
 */
const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash', 's_hash'] as const;

const bad = (description: string, debug?: string): InvalidGrant => new InvalidGrant(description, debug);

/** A claim that names something (iss, sub): a non-empty bounded string that PostgreSQL can compare (no U+0000). */
export function nameClaim(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0) throw bad(`the assertion has no ${name} (RFC 7523 §3)`);
  if (v.length > MAX_CLAIM || v.includes('\0')) throw bad(`the assertion's ${name} is not usable`);
  return v;
}

/** Header: RFC 8725 §3.1 / §3.11, RFC 7515 §4.1.11; and no ID token claims (RFC 8725 §3.12). Returns the alg and kid. */
export function checkAssertionHeader(d: DecodedJwt): { alg: string; kid: string | undefined } {
  const { header: h, payload: p } = d;
  if (h.typ !== undefined && (typeof h.typ !== 'string' || !PLAIN_JWT_TYP.test(h.typ))) {
    throw bad(`an assertion of typ ${String(h.typ).slice(0, 60)} is refused: only a plain JWT may be a grant (RFC 8725 §3.11)`);
  }
  const alg = typeof h.alg === 'string' ? h.alg : '';
  if (!ASYMMETRIC_ALGS.includes(alg)) throw bad(`assertion alg ${alg.slice(0, 20) || '(none)'} is refused: RS, PS, ES or EdDSA only`);
  if (h.crit !== undefined) throw bad('the assertion names critical header parameters this server does not understand (RFC 7515 §4.1.11)');
  if (h.kid !== undefined && (typeof h.kid !== 'string' || h.kid.length === 0 || h.kid.length > MAX_KID)) throw bad('the assertion kid is not usable');
  for (const c of ID_TOKEN_CLAIMS) if (p[c] !== undefined) throw bad(`the assertion carries ${c}: an OpenID Connect ID token is not a grant (RFC 8725 §3.12)`);
  return { alg, kid: typeof h.kid === 'string' ? h.kid : undefined };
}

/** RFC 7523 §3 items 3-7 with RFC 8725 §3.8-3.9; the signature is checked after, with the same rules. */
export function checkAssertionClaims(p: Record<string, unknown>, o: { audiences: string[]; now: number; skewSeconds: number; maxLifetime: number }): void {
  // Item 3: aud identifies this server: the issuer or the token endpoint URL (or the trusted issuer's configured
  // audience). One value only: an array naming others too could be replayed at them (RFC 10070's audience injection).
  const aud = Array.isArray(p.aud) && p.aud.length === 1 ? p.aud[0] : p.aud;
  if (typeof aud !== 'string' || !o.audiences.includes(aud)) throw bad('the assertion\'s aud must be one value: this issuer or its token endpoint URL');
  const now = Math.floor(o.now / 1000);
  const skew = o.skewSeconds;
  const maxLifetime = o.maxLifetime;
  const time = (name: string): number | undefined => {
    const v = p[name];
    if (v === undefined) return undefined;
    // RFC 7519 §2 NumericDate: a JSON number (a string date is refused, not parsed).
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`the assertion's ${name} is not a NumericDate`);
    return v;
  };
  // Item 4: exp required; it must not be past, nor further ahead than the issuer's maximum lifetime.
  const exp = time('exp');
  if (exp === undefined) throw bad('the assertion has no exp (RFC 7523 §3)');
  if (exp <= now - skew) throw bad('the assertion has expired');
  if (exp - now > maxLifetime + skew) throw bad(`the assertion lives too long: exp may be at most ${maxLifetime} s ahead`);
  // Item 5: nbf; item 6: iat not in the future, and not from longer ago than an assertion may live.
  const nbf = time('nbf');
  if (nbf !== undefined && nbf > now + skew) throw bad('the assertion is not valid yet (nbf)');
  const iat = time('iat');
  if (iat !== undefined && iat > now + skew) throw bad('the assertion was issued in the future (iat)');
  if (iat !== undefined && exp - iat > maxLifetime + skew) throw bad(`the assertion lives too long: exp - iat may be at most ${maxLifetime} s`);
  if (typeof p.jti !== 'string' || p.jti.length === 0) throw bad('the assertion has no jti (required here: each assertion is used once)');
  if (p.jti.length > 256 || p.jti.includes('\0')) throw bad('the assertion\'s jti is not usable');
}

/** The base64url SHA-1 / SHA-256 thumbprint of a JWK's certificate (its first x5c), or its own member. */
function thumbprint(k: Jwk, alg: 'sha1' | 'sha256'): string | undefined {
  const own = k[alg === 'sha1' ? 'x5t' : 'x5t#S256'];
  if (typeof own === 'string') return own;
  const der = Array.isArray(k.x5c) && typeof k.x5c[0] === 'string' ? Buffer.from(k.x5c[0], 'base64') : undefined;
  return der && der.length > 0 ? createHash(alg).update(der).digest('base64url') : undefined;
}

/**
 * The signature, by one of the issuer's registered keys that can verify `alg` (RFC 8725 §3.1: the key decides,
 * never the header alone), selected by kid or certificate thumbprint (RFC 7515 §4.1.7-8).
 */
export function verifyAssertionSignature(keys: Jwk[], d: DecodedJwt, alg: string, kid: string | undefined, cache: PublicKeyCache): void {
  const h = d.header;
  let candidates = keys.filter((k) => algsOfJwk(k).includes(alg));
  for (const [member, hash] of [['x5t#S256', 'sha256'], ['x5t', 'sha1']] as const) {
    const t = h[member];
    if (t === undefined) continue;
    if (typeof t !== 'string') throw bad(`the assertion ${member} is not usable`);
    candidates = candidates.filter((k) => thumbprint(k, hash) === t);
  }
  if (kid !== undefined) candidates = candidates.filter((k) => k.kid === kid);
  if (candidates.length === 0) throw bad(`no registered key of the issuer verifies ${alg}${kid !== undefined ? ' with this kid' : ''}`);
  // Each candidate the header could mean is tried (a set without kids), a bounded number of them.
  if (!candidates.slice(0, MAX_TRIES).some((k) => {
    const key = cache.of(k);
    return key !== undefined && verifyJws(d.signingInput, d.signature, alg, key);
  })) {
    throw bad('the assertion signature does not verify with the issuer\'s registered keys');
  }
}
