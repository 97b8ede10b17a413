import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { FixedClock } from '../../src/core/clock.js';
import {
  adminToken, APP_SCHEMA, assertOAuthError, basic, BOOT_ID, BOOT_SECRET, clientToken, decode, harness, ISSUER, post, scim, setupClient,
  type Harness,
} from '../helpers.js';

describe('token endpoint: client_credentials', () => {
  let h: Harness;
  let admin: string;
  let c: Awaited<ReturnType<typeof setupClient>>;
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    c = await setupClient(h, { admin, scopes: ['orders.read', 'orders.write'] });
  });
  after(() => h.close());

  test('issues an RFC 9068 JWT access token that verifies against the JWKS', async () => {
    const r = await clientToken(h, c.clientId, c.secret, 'orders.read');
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.headers.pragma, 'no-cache');
    const b = r.json();
    assert.deepEqual(Object.keys(b).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(b.token_type, 'Bearer');
    assert.equal(b.expires_in, 3600);
    assert.equal(typeof b.expires_in, 'number');
    assert.equal(b.scope, 'orders.read');
    assert.equal(b.refresh_token, undefined, 'RFC 6749 §4.4.3: no refresh token');
    const { header, payload } = decode(b.access_token);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.alg, 'RS256');
    assert.equal(typeof header.kid, 'string');
    const jwks = (await h.inject({ url: '/admin/v1/SigningCert/jwk' })).json();
    const v = await jwtVerify(b.access_token, createLocalJWKSet(jwks), { issuer: ISSUER, audience: c.audience, typ: 'at+jwt', currentDate: new Date(h.clock.now()) });
    assert.equal(v.payload.sub, c.clientId);
    assert.equal(v.payload.client_id, c.clientId);
    assert.equal(v.payload.sub_type, 'client');
    assert.equal(v.payload.scope, 'orders.read');
    assert.equal(typeof v.payload.jti, 'string');
    assert.equal(payload.exp, (payload.iat as number) + 3600);
    assert.equal(payload.user_id, undefined);
  });

  test('scope separators: space, comma and plus', async () => {
    for (const scope of ['orders.read orders.write', 'orders.read,orders.write', 'orders.read+orders.write']) {
      const r = await post(h, '/oauth2/v1/token', `grant_type=client_credentials&scope=${encodeURIComponent(scope)}`, { authorization: basic(c.clientId, c.secret) });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().scope, 'orders.read orders.write');
    }
  });

  test('urn:opc:resource:expiry asks for a shorter lifetime, never a longer one', async () => {
    const short = await clientToken(h, c.clientId, c.secret, 'orders.read urn:opc:resource:expiry=300');
    assert.equal(short.json().expires_in, 300);
    const p = decode(short.json().access_token).payload;
    assert.equal((p.exp as number) - (p.iat as number), 300);
    assert.equal(p.scope, 'orders.read', 'the expiry pseudo-scope is not granted');
    const long = await clientToken(h, c.clientId, c.secret, 'orders.read urn:opc:resource:expiry=999999');
    assert.equal(long.json().expires_in, 3600);
    for (const bad of ['urn:opc:resource:expiry=abc', 'urn:opc:resource:expiry=0', 'urn:opc:resource:expiry=-5']) {
      assertOAuthError(await clientToken(h, c.clientId, c.secret, `orders.read ${bad}`), 400, 'invalid_scope');
    }
  });

  test('__myscopes__ expands to the scopes of the client app roles; the admin audience is ISSUER/admin/v1', async () => {
    const r = await clientToken(h, BOOT_ID, BOOT_SECRET, 'urn:opc:idm:__myscopes__');
    assert.equal(r.statusCode, 200, r.body);
    const p = decode(r.json().access_token).payload;
    assert.equal(p.aud, `${ISSUER}/admin/v1`);
    const scopes = String(p.scope).split(' ').sort();
    assert.ok(scopes.includes('urn:opc:idm:t.apps') && scopes.includes('urn:opc:idm:t.settings') && scopes.includes('urn:opc:idm:t.audit.read'));
    // a client without roles gets nothing from __myscopes__
    assertOAuthError(await clientToken(h, c.clientId, c.secret, 'urn:opc:idm:__myscopes__'), 400, 'invalid_scope');
  });

  test('urn:opc:idm:role.NAME yields one role\'s scopes, only for a role the client holds', async () => {
    const r = await clientToken(h, BOOT_ID, BOOT_SECRET, 'urn:opc:idm:role.Identity%20Domain%20Administrator');
    assert.equal(r.statusCode, 200, r.body);
    assertOAuthError(await clientToken(h, BOOT_ID, BOOT_SECRET, 'urn:opc:idm:role.Audit%20Administrator'), 400, 'invalid_scope');
    assertOAuthError(await clientToken(h, BOOT_ID, BOOT_SECRET, 'urn:opc:idm:role.No%20Such'), 400, 'invalid_scope');
    assertOAuthError(await clientToken(h, BOOT_ID, BOOT_SECRET, 'urn:opc:idm:role.%E0%A4%A'), 400, 'invalid_scope');
  });

  test('scope errors: unknown, not allowed, none and no default', async () => {
    assertOAuthError(await clientToken(h, c.clientId, c.secret, 'nope.read'), 400, 'invalid_scope');
    assertOAuthError(await clientToken(h, c.clientId, c.secret, 'urn:opc:idm:t.apps'), 400, 'invalid_scope');
    assertOAuthError(await clientToken(h, c.clientId, c.secret), 400, 'invalid_scope');
    assertOAuthError(await clientToken(h, c.clientId, c.secret, 'orders.read bad"quote'), 400, 'invalid_scope');
  });

  test('no scope falls back to the client default scopes', async () => {
    const d = await setupClient(h, { admin, scopes: ['stock.read'], client: { defaultScopes: ['stock.read'] } });
    const r = await clientToken(h, d.clientId, d.secret);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().scope, 'stock.read');
  });

  test('per-app lifetimes: the client override and the resource server cap', async () => {
    const d = await setupClient(h, { admin, scopes: ['life.read'], client: { accessTokenExpiry: 900 } });
    assert.equal((await clientToken(h, d.clientId, d.secret, 'life.read')).json().expires_in, 900);
    const e = await setupClient(h, { admin, scopes: ['cap.read'], rs: { accessTokenExpiry: 120 } });
    assert.equal((await clientToken(h, e.clientId, e.secret, 'cap.read')).json().expires_in, 120);
  });

  test('a resource server may ask for ES256, PS256 or EdDSA tokens: published in the JWKS first, signing after the publish delay', async () => {
    const rss: { alg: string; d: Awaited<ReturnType<typeof setupClient>> }[] = [];
    for (const alg of ['ES256', 'PS256', 'EdDSA']) {
      const d = await setupClient(h, { admin, scopes: [`alg.${alg.toLowerCase()}`], rs: { accessTokenSigningAlg: alg } });
      rss.push({ alg, d });
    }
    const token = async (alg: string, d: (typeof rss)[number]['d']) => {
      const r = await clientToken(h, d.clientId, d.secret, `alg.${alg.toLowerCase()}`);
      assert.equal(r.statusCode, 200, r.body);
      const jwks = (await h.inject({ url: '/admin/v1/SigningCert/jwk' })).json();
      const v = await jwtVerify(r.json().access_token, createLocalJWKSet(jwks), { issuer: ISSUER, audience: d.audience, typ: 'at+jwt', currentDate: new Date(h.clock.now()) });
      return { alg: v.protectedHeader.alg, kid: v.protectedHeader.kid, published: jwks.keys.filter((k: { alg: string }) => k.alg === alg).map((k: { kid: string }) => k.kid) as string[] };
    };
    const waiting: Record<string, string> = {};
    for (const { alg, d } of rss) {
      const t = await token(alg, d);
      assert.equal(t.alg, 'RS256', `${alg}: signed with the default alg while its key is new`);
      assert.equal(t.published.length, 1, `${alg}: its key is published already`);
      waiting[alg] = t.published[0]!;
    }
    (h.clock as FixedClock).advance(h.t.services.config.keyPublishDelaySeconds * 1000);
    for (const { alg, d } of rss) {
      const t = await token(alg, d);
      assert.equal(t.alg, alg);
      assert.equal(t.kid, waiting[alg], `${alg}: the key published first is the one that signs`);
      assert.equal(t.published.length, 2, `${alg}: and a next key is published behind it`);
    }
  });

  test('a resource server may ask for opaque tokens (256 bits, not a JWT)', async () => {
    const d = await setupClient(h, { admin, scopes: ['opaque.read'], rs: { accessTokenFormat: 'opaque' } });
    const r = await clientToken(h, d.clientId, d.secret, 'opaque.read');
    assert.equal(r.statusCode, 200, r.body);
    const at = r.json().access_token as string;
    assert.match(at, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(at, 'base64url').length, 32);
  });

  test('client_secret_post works; a client_id in the body must match Basic', async () => {
    const r = await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'orders.read', client_id: c.clientId, client_secret: c.secret });
    assert.equal(r.statusCode, 200, r.body);
    const m = await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'orders.read', client_id: 'other' }, { authorization: basic(c.clientId, c.secret) });
    assertOAuthError(m, 401, 'invalid_client');
  });

  test('wrong secret with Basic: 401 invalid_client with a Basic challenge', async () => {
    const r = await clientToken(h, c.clientId, 'wrong-secret', 'orders.read');
    assertOAuthError(r, 401, 'invalid_client');
    assert.match(String(r.headers['www-authenticate']), /^Basic realm="/);
    const u = await clientToken(h, 'no-such-client', 'whatever', 'orders.read');
    assertOAuthError(u, 401, 'invalid_client');
  });

  test('a disabled client gets nothing', async () => {
    const d = await setupClient(h, { admin, scopes: ['dis.read'] });
    const put = await scim(h, 'PATCH', `/admin/v1/Apps/${d.app.id}`, admin, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }],
    });
    assert.equal(put.statusCode, 200, put.body);
    assertOAuthError(await clientToken(h, d.clientId, d.secret, 'dis.read'), 401, 'invalid_client');
  });

  test('a confidential client without client_credentials in allowedGrants: unauthorized_client', async () => {
    const d = await setupClient(h, { admin, scopes: ['ng.read'], client: { allowedGrants: [] } });
    assertOAuthError(await clientToken(h, d.clientId, d.secret, 'ng.read'), 400, 'unauthorized_client');
  });

  test('a public client cannot use client_credentials (invalid_client), and cannot be given it', async () => {
    const bad = await scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: 'pub', isOAuthClient: true, clientType: 'public', allowedGrants: ['client_credentials'] });
    assert.equal(bad.statusCode, 400, bad.body);
    const pub = await scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: 'pub', isOAuthClient: true, clientType: 'public', allowedGrants: [] });
    assert.equal(pub.statusCode, 201, pub.body);
    assert.equal(pub.json().clientSecret, undefined);
    const r = await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', client_id: pub.json().name });
    assertOAuthError(r, 401, 'invalid_client');
  });
});

describe('token endpoint: malformed requests always get a 4xx in OAuth JSON', () => {
  let h: Harness;
  const auth = basic(BOOT_ID, BOOT_SECRET);
  before(async () => { h = await harness({ config: { bodyLimitBytes: 2048 } }); });
  after(() => h.close());

  const cases: { name: string; body: string; headers?: Record<string, string>; status: number; error: string }[] = [
    { name: 'no grant_type', body: 'scope=a', status: 400, error: 'invalid_request' },
    { name: 'empty grant_type', body: 'grant_type=', status: 400, error: 'invalid_request' },
    { name: 'unknown grant_type', body: 'grant_type=magic', status: 400, error: 'unsupported_grant_type' },
    { name: 'duplicate grant_type', body: 'grant_type=client_credentials&grant_type=client_credentials', status: 400, error: 'invalid_request' },
    { name: 'duplicate scope', body: 'grant_type=client_credentials&scope=a&scope=b', status: 400, error: 'invalid_request' },
    { name: 'JSON body', body: '{"grant_type":"client_credentials"}', headers: { 'content-type': 'application/json' }, status: 400, error: 'invalid_request' },
    { name: 'text body', body: 'grant_type=client_credentials', headers: { 'content-type': 'text/plain' }, status: 400, error: 'invalid_request' },
    { name: 'no body', body: '', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 400, error: 'invalid_request' },
    { name: 'oversized body', body: `grant_type=client_credentials&scope=${'a'.repeat(5000)}`, status: 413, error: 'invalid_request' },
    { name: 'broken percent-encoding', body: 'grant_type=client_credentials&scope=%E0%A4%A', headers: { authorization: auth }, status: 400, error: 'invalid_scope' },
    { name: 'Basic with bad base64', body: 'grant_type=client_credentials', headers: { authorization: 'Basic !!!notbase64' }, status: 401, error: 'invalid_client' },
    { name: 'Basic without colon', body: 'grant_type=client_credentials', headers: { authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` }, status: 401, error: 'invalid_client' },
    { name: 'Basic with empty parts', body: 'grant_type=client_credentials', headers: { authorization: `Basic ${Buffer.from(':').toString('base64')}` }, status: 401, error: 'invalid_client' },
    { name: 'Basic with bad percent-encoding', body: 'grant_type=client_credentials', headers: { authorization: `Basic ${Buffer.from('%zz:%zz').toString('base64')}` }, status: 401, error: 'invalid_client' },
    { name: 'Basic with no credentials', body: 'grant_type=client_credentials', headers: { authorization: 'Basic' }, status: 401, error: 'invalid_client' },
    { name: 'no client authentication', body: 'grant_type=client_credentials', status: 401, error: 'invalid_client' },
    { name: 'two authentication methods', body: `grant_type=client_credentials&client_id=${BOOT_ID}&client_secret=${BOOT_SECRET}`, headers: { authorization: auth }, status: 400, error: 'invalid_request' },
    { name: 'malformed client assertion', body: 'grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=not.a.jwt', status: 401, error: 'invalid_client' },
    { name: 'assertion with 2 segments', body: 'grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJhbGciOiJub25lIn0.e30', status: 401, error: 'invalid_client' },
    { name: 'assertion with wrong type', body: 'grant_type=client_credentials&client_assertion_type=saml&client_assertion=x.y.z', status: 400, error: 'invalid_request' },
    { name: 'assertion without type', body: 'grant_type=client_credentials&client_assertion=x.y.z', status: 400, error: 'invalid_request' },
    { name: 'non-UTF-8 bytes', body: 'grant_type=client_credentials&scope=%FF%FE', headers: { authorization: auth }, status: 400, error: 'invalid_scope' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = await h.inject({
        method: 'POST', url: '/oauth2/v1/token', payload: c.body,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(c.headers ?? {}) },
      });
      assertOAuthError(r, c.status, c.error);
    });
  }

  test('GET on the token endpoint is not allowed', async () => {
    const r = await h.inject({ method: 'GET', url: '/oauth2/v1/token' });
    assert.ok(r.statusCode === 404 || r.statusCode === 405, String(r.statusCode));
    assert.equal(r.json().error, 'invalid_request');
  });

  test('a stack trace never leaks: errors are detail-free', async () => {
    const r = await h.inject({ method: 'POST', url: '/oauth2/v1/token', payload: '{', headers: { 'content-type': 'application/json' } });
    assert.ok(r.statusCode >= 400 && r.statusCode < 500);
    assert.doesNotMatch(r.body, /at .*\.ts:\d+|node_modules/);
  });
});

describe('client_secret_basic: encoded (RFC 6749 §2.3.1) and raw (curl -u) credentials', () => {
  const SECRET = 'aB+cD/eF=gH+iJ/kL=mN+oP/qR==';
  let h: Harness;
  before(async () => { h = await harness({ config: { bootstrapClientSecret: SECRET } }); });
  after(() => h.close());

  test('both forms authenticate; a wrong secret does not', async () => {
    const raw = 'Basic ' + Buffer.from(`${BOOT_ID}:${SECRET}`).toString('base64');
    const scope = 'urn:opc:idm:__myscopes__';
    for (const authorization of [raw, basic(BOOT_ID, SECRET)]) {
      const r = await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope }, { authorization });
      assert.equal(r.statusCode, 200, r.body);
    }
    // a secret that differs only where form decoding would change it is still wrong
    const spaced = 'Basic ' + Buffer.from(`${BOOT_ID}:${SECRET.replaceAll('+', ' ')}`).toString('base64');
    assertOAuthError(await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope }, { authorization: spaced }), 401, 'invalid_client');
    assertOAuthError(await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope }, { authorization: basic(BOOT_ID, SECRET + 'x') }), 401, 'invalid_client');
  });
});
