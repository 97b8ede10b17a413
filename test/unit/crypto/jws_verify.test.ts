import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSecretKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { PublicKeyCache, verifyJws } from '../../../src/crypto/jws_verify.js';
import { decodeJwt } from '../../../src/tokens/jwt.js';

const pairs = {
  rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
  rsa1024: generateKeyPairSync('rsa', { modulusLength: 1024 }),
  p256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  p384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  p521: generateKeyPairSync('ec', { namedCurve: 'P-521' }),
  ed25519: generateKeyPairSync('ed25519'),
  ed448: generateKeyPairSync('ed448'),
};
type Pair = keyof typeof pairs;
const FOR: Record<string, Pair> = {
  RS256: 'rsa', RS384: 'rsa', RS512: 'rsa', PS256: 'rsa', PS384: 'rsa', PS512: 'rsa', ES256: 'p256', ES384: 'p384', ES512: 'p521', EdDSA: 'ed25519',
};

async function jws(alg: string, key: KeyObject) {
  const d = decodeJwt(await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg }).sign(key))!;
  return d;
}
/** For what jose will not sign (Ed448, RSA-1024): node:crypto directly. */
function nodeJws(alg: string, hash: string | null, key: KeyObject) {
  const input = `${Buffer.from(JSON.stringify({ alg })).toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}`;
  return { signingInput: input, signature: sign(hash, Buffer.from(input), key) };
}

test('every supported alg verifies a JWS that jose signed with its key type; the other key types never do', async () => {
  for (const [alg, pair] of Object.entries(FOR)) {
    const d = await jws(alg, pairs[pair].privateKey);
    assert.equal(verifyJws(d.signingInput, d.signature, alg, pairs[pair].publicKey), true, alg);
    for (const other of Object.keys(pairs) as Pair[]) {
      if (other === pair || (alg === 'EdDSA' && other === 'ed448')) continue;
      assert.equal(verifyJws(d.signingInput, d.signature, alg, pairs[other].publicKey), false, `${alg} with a ${other} key`);
    }
  }
  const ed448 = nodeJws('EdDSA', null, pairs.ed448.privateKey);
  assert.equal(verifyJws(ed448.signingInput, ed448.signature, 'EdDSA', pairs.ed448.publicKey), true, 'Ed448');
});

test('the alg decides with the key: RS256 bytes are not PS256, ES256 not ES384, a tampered input or signature fails', async () => {
  const rs = await jws('RS256', pairs.rsa.privateKey);
  assert.equal(verifyJws(rs.signingInput, rs.signature, 'PS256', pairs.rsa.publicKey), false);
  assert.equal(verifyJws(rs.signingInput, rs.signature, 'RS384', pairs.rsa.publicKey), false);
  assert.equal(verifyJws(`${rs.signingInput}x`, rs.signature, 'RS256', pairs.rsa.publicKey), false);
  assert.equal(verifyJws(rs.signingInput, Buffer.concat([rs.signature, Buffer.from([0])]), 'RS256', pairs.rsa.publicKey), false);
  const es = await jws('ES256', pairs.p256.privateKey);
  assert.equal(verifyJws(es.signingInput, es.signature, 'ES384', pairs.p256.publicKey), false);
  assert.equal(verifyJws(es.signingInput, es.signature.subarray(1), 'ES256', pairs.p256.publicKey), false, 'a short ES256 signature');
  assert.equal(verifyJws(es.signingInput, Buffer.alloc(0), 'ES256', pairs.p256.publicKey), false);
});

test('never none, HMAC or unknown algs, never a secret or private key, never RSA below 2048 bits', async () => {
  const rs = await jws('RS256', pairs.rsa.privateKey);
  for (const alg of ['none', 'HS256', 'HS512', '', 'rs256', 'RSA-OAEP', '__proto__', 'toString']) {
    assert.equal(verifyJws(rs.signingInput, rs.signature, alg, pairs.rsa.publicKey), false, alg);
  }
  assert.equal(verifyJws(rs.signingInput, rs.signature, 'RS256', pairs.rsa.privateKey), false, 'a private key is not a verification key');
  assert.equal(verifyJws(rs.signingInput, rs.signature, 'RS256', createSecretKey(Buffer.alloc(32))), false);
  const small = nodeJws('RS256', 'sha256', pairs.rsa1024.privateKey);
  assert.equal(verifyJws(small.signingInput, small.signature, 'RS256', pairs.rsa1024.publicKey), false, 'RSA-1024');
});

test('PublicKeyCache: public members only, one import per key, undefined for what is not a public key', () => {
  const cache = new PublicKeyCache(2);
  const jwk = { ...pairs.p256.publicKey.export({ format: 'jwk' }), kid: 'a' } as never;
  const k1 = cache.of(jwk);
  assert.ok(k1);
  assert.equal(k1.type, 'public');
  assert.equal(cache.of({ ...(jwk as object), kid: 'b', use: 'sig' } as never), k1, 'the same key under another kid is one import');
  const priv = pairs.p256.privateKey.export({ format: 'jwk' }) as never;
  assert.equal(cache.of(priv)?.type, 'public', 'a private JWK gives only its public key');
  assert.equal(cache.of({ kty: 'oct', k: 'c2VjcmV0' }), undefined);
  // node reads a broken modulus leniently (48 bits here): such a key never verifies anything.
  const weird = cache.of({ kty: 'RSA', n: 'not base64', e: 'AQAB' });
  const rs = nodeJws('RS256', 'sha256', pairs.rsa.privateKey);
  assert.ok(weird === undefined || !verifyJws(rs.signingInput, rs.signature, 'RS256', weird));
  assert.equal(cache.of({ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }), undefined);
});
