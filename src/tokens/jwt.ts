import { constants, sign, verify, type KeyObject } from 'node:crypto';
import type { SigningAlg } from '../core/types.js';
import type { SigningKey, VerificationKey } from '../crypto/keystore.js';

/**
 * JWS compact serialisation with node:crypto KeyObjects: signing is the hot path of the token
 * endpoint and node's synchronous sign is measurably faster than WebCrypto-based libraries.
 * This covers our own tokens only; JWTs from other parties (client assertions) are verified with `jose`.
 */
const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

function signOpts(alg: SigningAlg, key: KeyObject) {
  switch (alg) {
    case 'RS256': return { algorithm: 'sha256', key: { key } };
    case 'PS256': return { algorithm: 'sha256', key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } };
    case 'ES256': return { algorithm: 'sha256', key: { key, dsaEncoding: 'ieee-p1363' as const } };
    case 'EdDSA': return { algorithm: null, key: { key } };
  }
}

export function signJwt(typ: string, payload: Record<string, unknown>, k: SigningKey): string {
  const input = `${b64({ alg: k.alg, typ, kid: k.kid })}.${b64(payload)}`;
  const o = signOpts(k.alg, k.privateKey);
  const sig = sign(o.algorithm, Buffer.from(input), o.key);
  return `${input}.${sig.toString('base64url')}`;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Structural decode; never throws (undefined for anything that is not a well-formed JWS). */
export function decodeJwt(token: string, maxLength = 16384): DecodedJwt | undefined {
  if (typeof token !== 'string' || token.length > maxLength) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  if (!h || !p || !s || !B64URL.test(h) || !B64URL.test(p) || !B64URL.test(s)) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    const payload: unknown = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    if (!isObject(header) || !isObject(payload)) return undefined;
    return { header, payload, signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 8725 §3.1: the key decides the algorithm; a header naming another alg (or `none`) fails. */
export function verifySignature(d: DecodedJwt, k: VerificationKey): boolean {
  if (d.header.alg !== k.alg) return false;
  const o = signOpts(k.alg, k.publicKey);
  try {
    return verify(o.algorithm, Buffer.from(d.signingInput), o.key, d.signature);
  } catch {
    return false;
  }
}
