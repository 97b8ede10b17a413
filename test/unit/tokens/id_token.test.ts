import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { FixedClock } from '../../../src/core/clock.js';
import type { AppRecord, DomainRecord, SigningAlg, SigningKeyRecord } from '../../../src/core/types.js';
import { KeyStore } from '../../../src/crypto/keystore.js';
import { MasterKey } from '../../../src/crypto/masterkey.js';
import type { SigningKeyRepository } from '../../../src/storage/ports.js';
import { IdTokenIssuer, verifyIdTokenHint } from '../../../src/tokens/id_token.js';
import { signJwt } from '../../../src/tokens/jwt.js';

/** The keystore's repository, in memory: the issuer only needs keys that exist and a JWKS. */
class MemoryKeys implements SigningKeyRepository {
  rows: SigningKeyRecord[] = [];
  async list(domainId: string) { return this.rows.filter((r) => r.domainId === domainId); }
  async insert(rec: SigningKeyRecord) { this.rows.push(rec); }
  async rotate(): Promise<boolean> { throw new Error('not used'); }
  async activate(domainId: string, alg: string, kid: string, newNext: SigningKeyRecord, now: number): Promise<boolean> {
    const k = this.rows.find((r) => r.domainId === domainId && r.kid === kid && r.status === 'next');
    if (!k || this.rows.some((r) => r.domainId === domainId && r.alg === alg && r.status === 'active')) return false;
    Object.assign(k, { status: 'active', activatedAt: now });
    this.rows.push(newNext);
    return true;
  }
  async deleteExpired() { return 0; }
}

const ISSUER = 'https://id.example.com/domains/acme';
const NOW = Date.UTC(2025, 5, 1, 8, 0, 0);
const domain = (id: string): DomainRecord => ({ id, name: id, displayName: id, settings: {}, createdAt: 0, updatedAt: 0 });
const DOMAIN = domain('d-acme');
const OTHER = domain('d-other');

const client = (o: Partial<AppRecord> = {}): AppRecord => ({
  id: 'app1', domainId: DOMAIN.id, displayName: 'web', active: true, isBuiltIn: false, isOAuthClient: true, clientId: 'client-web',
  clientType: 'confidential', tokenEndpointAuthMethod: 'client_secret_basic', allowedGrants: ['authorization_code'], redirectUris: [],
  postLogoutRedirectUris: [], allowedScopes: [], defaultScopes: [], isOAuthResource: false, scopes: [], accessTokenFormat: 'jwt',
  metadata: {}, version: 1, createdAt: 0, updatedAt: 0, ...o,
});

/** OIDC Core §3.1.3.6, computed here independently of the issuer. */
const halfHash = (algo: 'sha256' | 'sha512', v: string) => {
  const d = createHash(algo).update(Buffer.from(v, 'ascii')).digest();
  return d.subarray(0, d.length / 2).toString('base64url');
};

describe('IdTokenIssuer (OIDC Core §2, §3.1.3.6)', () => {
  let clock: FixedClock;
  let keys: KeyStore;
  let issuer: IdTokenIssuer;
  const verify = async (token: string, aud = 'client-web', domainId = DOMAIN.id) =>
    jwtVerify(token, createLocalJWKSet(await keys.jwks(domainId) as never), { issuer: ISSUER, audience: aud, typ: 'JWT', currentDate: new Date(clock.now()) });

  before(() => {
    clock = new FixedClock(NOW);
    keys = new KeyStore({ repo: new MemoryKeys(), masterKey: new MasterKey(randomBytes(32)), clock, cacheTtlMs: 60_000, publishDelayMs: 305_000 });
    issuer = new IdTokenIssuer({ keys, clock });
  });

  test('RS256 by default: every required claim, hashes of the access token and code, typ JWT and the active kid', async () => {
    const at = 'eyJhbGciOi.access-token-value_0123';
    const code = 'SplxlOBeZQQYbYS6WxSbIA';
    const authTime = NOW - 125_500;
    const t = await issuer.issue({
      domain: DOMAIN, issuer: ISSUER, client: client(), userId: 'user-1', authTime, nonce: 'n-0S6_WzA2Mj', amr: ['pwd', 'otp'],
      acr: 'urn:tessera:acr:mfa', sid: 'sid-1', accessToken: at, code,
    });
    const { payload, protectedHeader } = await verify(t);
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(protectedHeader.typ, 'JWT');
    assert.equal(protectedHeader.kid, (await keys.signingKey(DOMAIN.id, 'RS256')).kid);
    const iat = Math.floor(NOW / 1000);
    assert.deepEqual(payload, {
      iss: ISSUER, sub: 'user-1', aud: 'client-web', exp: iat + 3600, iat, auth_time: Math.floor(authTime / 1000), nonce: 'n-0S6_WzA2Mj',
      amr: ['pwd', 'otp'], acr: 'urn:tessera:acr:mfa', sid: 'sid-1', azp: 'client-web', at_hash: halfHash('sha256', at), c_hash: halfHash('sha256', code),
    });
    assert.equal((payload.at_hash as string).length, 22); // 16 octets, base64url without padding
  });

  test('the OIDC Core §A.3 example: at_hash of the spec example access token', async () => {
    // OIDC Core Appendix A.3 (RS256): access_token jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y -> at_hash 77QmUPtjPfzWtF2AnpK9RQ.
    const t = await issuer.issue({ domain: DOMAIN, issuer: ISSUER, client: client(), userId: 'u', authTime: NOW, amr: [], accessToken: 'jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y' });
    assert.equal((await verify(t)).payload.at_hash, '77QmUPtjPfzWtF2AnpK9RQ');
  });

  test('optional claims are absent when not given: nonce, amr (empty), acr, sid, at_hash, c_hash', async () => {
    const t = await issuer.issue({ domain: DOMAIN, issuer: ISSUER, client: client(), userId: 'user-1', authTime: NOW, amr: [] });
    const { payload } = await verify(t);
    assert.deepEqual(Object.keys(payload).sort(), ['aud', 'auth_time', 'azp', 'exp', 'iat', 'iss', 'sub']);
  });

  const lifetimes: [number | undefined, number][] = [[undefined, 3600], [600, 600], [7200, 3600], [3600, 3600]];
  for (const [expiry, want] of lifetimes) {
    test(`lifetime: client accessTokenExpiry ${expiry ?? 'unset'} -> ${want} s`, async () => {
      const t = await issuer.issue({ domain: DOMAIN, issuer: ISSUER, client: client({ accessTokenExpiry: expiry }), userId: 'u', authTime: NOW, amr: ['pwd'] });
      const { payload } = await verify(t);
      assert.equal(payload.exp! - payload.iat!, want);
    });
  }

  const algs: [SigningAlg, 'sha256' | 'sha512'][] = [['PS256', 'sha256'], ['ES256', 'sha256'], ['EdDSA', 'sha512']];
  for (const [alg, hash] of algs) {
    test(`${alg}: signed with the domain's ${alg} key, at_hash/c_hash with ${hash}`, async () => {
      const t = await issuer.issue({ domain: DOMAIN, issuer: ISSUER, client: client(), userId: 'u', authTime: NOW, amr: ['pwd'], accessToken: 'AT-1', code: 'CODE-1', alg });
      assert.equal(decodeProtectedHeader(t).alg, alg);
      const { payload } = await verify(t);
      assert.equal(payload.at_hash, halfHash(hash, 'AT-1'));
      assert.equal(payload.c_hash, halfHash(hash, 'CODE-1'));
      assert.equal((payload.at_hash as string).length, hash === 'sha512' ? 43 : 22);
    });
  }

  test('user claims are carried, but never replace the claims the issuer sets', async () => {
    const t = await issuer.issue({
      domain: DOMAIN, issuer: ISSUER, client: client(), userId: 'user-1', authTime: NOW, amr: ['pwd'], nonce: 'n1',
      claims: { email: 'a@x.example', email_verified: false, sub: 'admin', iss: 'https://evil.example', aud: 'other', nonce: 'forged', exp: 9999999999, nickname: null },
    });
    const { payload } = await verify(t);
    assert.equal(payload.sub, 'user-1');
    assert.equal(payload.iss, ISSUER);
    assert.equal(payload.aud, 'client-web');
    assert.equal(payload.nonce, 'n1');
    assert.equal(payload.exp, Math.floor(NOW / 1000) + 3600);
    assert.equal(payload.email, 'a@x.example');
    assert.equal(payload.email_verified, false);
    assert.equal('nickname' in payload, false);
  });

  test('a client without a client_id gets no ID token', async () => {
    await assert.rejects(issuer.issue({ domain: DOMAIN, issuer: ISSUER, client: client({ clientId: undefined }), userId: 'u', authTime: NOW, amr: [] }));
  });
});

describe('verifyIdTokenHint (OIDC RP-Initiated Logout §2)', () => {
  let clock: FixedClock;
  let keys: KeyStore;
  let issuer: IdTokenIssuer;
  let good: string;
  const hint = (token: string, domainRec = DOMAIN, iss = ISSUER) => verifyIdTokenHint(keys, domainRec, iss, token, clock);

  before(async () => {
    clock = new FixedClock(NOW);
    keys = new KeyStore({ repo: new MemoryKeys(), masterKey: new MasterKey(randomBytes(32)), clock, cacheTtlMs: 60_000, publishDelayMs: 305_000 });
    issuer = new IdTokenIssuer({ keys, clock });
    good = await issuer.issue({ domain: DOMAIN, issuer: ISSUER, client: client(), userId: 'user-1', authTime: NOW, amr: ['pwd'], sid: 'sid-9' });
    await keys.ensure(OTHER.id, 'RS256');
  });

  test('an ID token of this domain: sub, aud and sid', async () => {
    assert.deepEqual(await hint(good), { sub: 'user-1', aud: ['client-web'], sid: 'sid-9' });
    const noSid = await issuer.issue({ domain: DOMAIN, issuer: ISSUER, client: client(), userId: 'user-2', authTime: NOW, amr: [], alg: 'ES256' });
    assert.deepEqual(await hint(noSid), { sub: 'user-2', aud: ['client-web'] });
  });

  test('an expired hint is still accepted (RP-Initiated Logout §2)', async () => {
    const c2 = new FixedClock(NOW + 10 * 86_400_000);
    assert.deepEqual(await verifyIdTokenHint(keys, DOMAIN, ISSUER, good, c2), { sub: 'user-1', aud: ['client-web'], sid: 'sid-9' });
  });

  test('refused: another domain, another issuer, an access token, tampering, no kid, unknown kid, alg none, future iat, garbage', async () => {
    const k = await keys.signingKey(DOMAIN.id, 'RS256');
    const otherKey = await keys.signingKey(OTHER.id, 'RS256');
    const iat = Math.floor(NOW / 1000);
    const claims = { iss: ISSUER, sub: 'user-1', aud: 'client-web', iat, exp: iat + 60 };
    const [h, p, sig] = good.split('.') as [string, string, string];
    const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'admin' })).toString('base64url');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT', kid: k.kid })).toString('base64url')}.${p}.`;
    const cases: [string, string, DomainRecord?, string?][] = [
      ['another domain checks it', good, OTHER],
      ['another issuer is expected', good, DOMAIN, 'https://id.example.com/domains/other'],
      ['signed by another domain\'s key', signJwt('JWT', claims, otherKey)],
      ['an access token (typ at+jwt)', signJwt('at+jwt', claims, k)],
      ['a logout token', signJwt('logout+jwt', claims, k)],
      ['wrong iss', signJwt('JWT', { ...claims, iss: 'https://evil.example' }, k)],
      ['no sub', signJwt('JWT', { ...claims, sub: undefined }, k)],
      ['no aud', signJwt('JWT', { ...claims, aud: undefined }, k)],
      ['aud not strings', signJwt('JWT', { ...claims, aud: [1] }, k)],
      ['iat in the future', signJwt('JWT', { ...claims, iat: iat + 3600 }, k)],
      ['no iat', signJwt('JWT', { ...claims, iat: undefined }, k)],
      ['payload changed after signing', `${h}.${forgedPayload}.${sig}`],
      ['header without kid', `${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url')}.${p}.${sig}`],
      ['unknown kid', `${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'nope' })).toString('base64url')}.${p}.${sig}`],
      ['alg none', none],
      ['garbage', 'not-a-jwt'],
      ['empty', ''],
    ];
    for (const [what, token, d, iss] of cases) assert.equal(await hint(token, d ?? DOMAIN, iss ?? ISSUER), undefined, what);
  });
});
