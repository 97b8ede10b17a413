import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminToken, assertOAuthError, basic, BOOT_ID, BOOT_SECRET, clientToken, decode, harness, ISSUER, post, scim, setupClient, type Harness } from '../helpers.js';

describe('identity domains: separate issuers, keys, apps; nothing crosses', () => {
  let h: Harness;
  let rootAdmin: string;
  let acmeAdmin: string;
  let acme: { client_id: string; client_secret: string };
  const P = '/domains/acme';

  before(async () => {
    h = await harness();
    rootAdmin = await adminToken(h);
    const r = await scim(h, 'POST', '/admin/v1/IdentityDomains', rootAdmin, { name: 'acme', displayName: 'Acme' });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.json().issuer, `${ISSUER}/domains/acme`);
    acme = r.json().adminClient;
    const t = await clientToken(h, acme.client_id, acme.client_secret, 'urn:opc:idm:__myscopes__', P);
    assert.equal(t.statusCode, 200, t.body);
    acmeAdmin = t.json().access_token;
  });
  after(() => h.close());

  test('domain names are validated and unique', async () => {
    for (const name of ['Acme', 'a b', '-x', '', 'x'.repeat(64), '../etc']) {
      const r = await scim(h, 'POST', '/admin/v1/IdentityDomains', rootAdmin, { name });
      assert.equal(r.statusCode, 400, `${name}: ${r.body}`);
      assert.equal(r.json().scimType, 'invalidValue');
    }
    const dup = await scim(h, 'POST', '/admin/v1/IdentityDomains', rootAdmin, { name: 'acme' });
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().scimType, 'uniqueness');
    const list = await scim(h, 'GET', '/admin/v1/IdentityDomains', rootAdmin);
    assert.deepEqual(list.json().Resources.map((d: { name: string }) => d.name), ['acme', 'default']);
    // only through the default domain
    assert.equal((await scim(h, 'GET', `${P}/admin/v1/IdentityDomains`, acmeAdmin)).statusCode, 404);
  });

  test('discovery: each domain has its own issuer and endpoints; RFC 8414 path-inserted metadata', async () => {
    const root = (await h.inject({ url: '/.well-known/openid-configuration' })).json();
    assert.equal(root.issuer, ISSUER);
    assert.equal(root.token_endpoint, `${ISSUER}/oauth2/v1/token`);
    for (const url of [`${P}/.well-known/openid-configuration`, `${P}/.well-known/oauth-authorization-server`,
      '/.well-known/oauth-authorization-server/domains/acme', '/.well-known/openid-configuration/domains/acme']) {
      const r = await h.inject({ url });
      assert.equal(r.statusCode, 200, url);
      const m = r.json();
      assert.equal(m.issuer, `${ISSUER}/domains/acme`, url);
      assert.equal(m.token_endpoint, `${ISSUER}/domains/acme/oauth2/v1/token`);
      assert.equal(m.jwks_uri, `${ISSUER}/domains/acme/admin/v1/SigningCert/jwk`);
    }
    assertOAuthError(await h.inject({ url: '/domains/nope/.well-known/openid-configuration' }), 404, 'invalid_request');
    assertOAuthError(await h.inject({ url: '/.well-known/oauth-authorization-server/domains/nope' }), 404, 'invalid_request');
    assert.equal((await h.inject({ url: '/domains/ACME/.well-known/openid-configuration' })).statusCode, 404);
  });

  test('issue 7: the default domain lives at the root only; /domains/default/... is 404 in every protocol', async () => {
    // Warm the cache first: the fast lane must refuse it too.
    assert.equal((await h.inject({ url: '/.well-known/openid-configuration' })).statusCode, 200);
    for (const url of ['/domains/default/.well-known/openid-configuration', '/.well-known/openid-configuration/domains/default',
      '/.well-known/oauth-authorization-server/domains/default', '/domains/default/admin/v1/SigningCert/jwk']) {
      assertOAuthError(await h.inject({ url }), 404, 'invalid_request');
    }
    const tok = await h.inject({ method: 'POST', url: '/domains/default/oauth2/v1/token', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(BOOT_ID, BOOT_SECRET) }, payload: 'grant_type=client_credentials' });
    assertOAuthError(tok, 404, 'invalid_request');
    const admin = await h.inject({ url: '/domains/default/admin/v1/Users', headers: { authorization: `Bearer ${await adminToken(h)}` } });
    assert.equal(admin.statusCode, 404, admin.body);
    const page = await h.inject({ url: '/domains/default/oauth2/v1/authorize?client_id=x' });
    assert.equal(page.statusCode, 404, page.body);
  });

  test('each domain signs with its own keys', async () => {
    const k1 = (await h.inject({ url: '/admin/v1/SigningCert/jwk' })).json().keys.map((k: { kid: string }) => k.kid);
    const k2 = (await h.inject({ url: `${P}/admin/v1/SigningCert/jwk` })).json().keys.map((k: { kid: string }) => k.kid);
    assert.ok(k1.length >= 2 && k2.length >= 2);
    assert.equal(k1.filter((k: string) => k2.includes(k)).length, 0);
    assert.ok(k2.includes(decode(acmeAdmin).header.kid));
    assert.equal(decode(acmeAdmin).payload.iss, `${ISSUER}/domains/acme`);
    assert.equal(decode(acmeAdmin).payload.aud, `${ISSUER}/domains/acme/admin/v1`);
  });

  test('a client of one domain gets no token from another', async () => {
    assertOAuthError(await clientToken(h, BOOT_ID, BOOT_SECRET, 'urn:opc:idm:__myscopes__', P), 401, 'invalid_client');
    assertOAuthError(await clientToken(h, acme.client_id, acme.client_secret, 'urn:opc:idm:__myscopes__'), 401, 'invalid_client');
  });

  test('a token of one domain is refused by the other domain\'s admin API, introspection, tokeninfo and revocation', async () => {
    const r = await scim(h, 'GET', '/admin/v1/Apps', acmeAdmin);
    assert.equal(r.statusCode, 401);
    assert.match(String(r.headers['www-authenticate']), /error="invalid_token"/);
    assert.equal((await scim(h, 'GET', `${P}/admin/v1/Apps`, rootAdmin)).statusCode, 401);
    assert.equal((await scim(h, 'GET', `${P}/admin/v1/Apps`, acmeAdmin)).statusCode, 200);

    const rootClient = await setupClient(h, { admin: rootAdmin, scopes: ['x.read'] });
    const acmeClient = await setupClient(h, { admin: acmeAdmin, prefix: P, scopes: ['x.read'] });
    const acmeToken = (await clientToken(h, acmeClient.clientId, acmeClient.secret, 'x.read', P)).json().access_token;
    // introspection at the root domain by a root client: inactive
    assert.deepEqual((await post(h, '/oauth2/v1/introspect', { token: acmeToken }, { authorization: basic(rootClient.clientId, rootClient.secret) })).json(), { active: false });
    // tokeninfo at root: invalid
    assertOAuthError(await h.inject({ url: `/oauth2/v1/tokeninfo?access_token=${acmeToken}` }), 400, 'invalid_token');
    // revocation at root: 200 (unknown there) and the token stays active in acme
    assert.equal((await post(h, '/oauth2/v1/revoke', { token: acmeToken }, { authorization: basic(rootClient.clientId, rootClient.secret) })).statusCode, 200);
    const still = await post(h, `${P}/oauth2/v1/introspect`, { token: acmeToken }, { authorization: basic(acmeClient.clientId, acmeClient.secret) });
    assert.equal(still.json().active, true);
    assert.equal(still.json().iss, `${ISSUER}/domains/acme`);
  });

  test('opaque tokens do not cross domains either', async () => {
    const acmeRs = await setupClient(h, { admin: acmeAdmin, prefix: P, scopes: ['op.read'], rs: { accessTokenFormat: 'opaque' } });
    const at = (await clientToken(h, acmeRs.clientId, acmeRs.secret, 'op.read', P)).json().access_token;
    assertOAuthError(await h.inject({ url: `/oauth2/v1/tokeninfo?access_token=${at}` }), 400, 'invalid_token');
    assert.equal((await h.inject({ url: `${P}/oauth2/v1/tokeninfo?access_token=${at}` })).statusCode, 200);
  });

  test('apps and roles are per domain', async () => {
    const rootApps = (await scim(h, 'GET', '/admin/v1/Apps?count=1000', rootAdmin)).json();
    const acmeApps = (await scim(h, 'GET', `${P}/admin/v1/Apps?count=1000`, acmeAdmin)).json();
    const rootIds = new Set(rootApps.Resources.map((a: { id: string }) => a.id));
    assert.ok(acmeApps.Resources.every((a: { id: string }) => !rootIds.has(a.id)));
    const someRootApp = rootApps.Resources[0].id;
    assert.equal((await scim(h, 'GET', `${P}/admin/v1/Apps/${someRootApp}`, acmeAdmin)).statusCode, 404);
  });
});

describe('domain settings and request headers', () => {
  let h: Harness;
  let admin: string;
  before(async () => { h = await harness(); admin = await adminToken(h); });
  after(() => h.close());

  test('Settings: read, make the JWKS private, change the default token lifetime', async () => {
    const g = await scim(h, 'GET', '/admin/v1/Settings', admin);
    assert.equal(g.statusCode, 200, g.body);
    const defaultPolicy = { minLength: 8, maxLength: 256, historyCount: 5, rejectCommon: true };
    assert.deepEqual(g.json(), { jwksPublic: true, accessTokenTtl: 3600, passwordPolicy: defaultPolicy, mfaPolicy: 'requested' });
    const p = await scim(h, 'PATCH', '/admin/v1/Settings', admin, { jwksPublic: false, accessTokenTtl: 600 });
    assert.equal(p.statusCode, 200, p.body);
    assert.deepEqual(p.json(), { jwksPublic: false, accessTokenTtl: 600, passwordPolicy: defaultPolicy, mfaPolicy: 'requested' });
    const anon = await h.inject({ url: '/admin/v1/SigningCert/jwk' });
    assertOAuthError(anon, 401, 'invalid_token');
    assert.match(String(anon.headers['www-authenticate']), /^Bearer /);
    const withToken = await h.inject({ url: '/admin/v1/SigningCert/jwk', headers: { authorization: `Bearer ${admin}` } });
    assert.equal(withToken.statusCode, 200);
    assert.ok(withToken.json().keys.length >= 2);
    const c = await setupClient(h, { admin, scopes: ['ttl.read'] });
    assert.equal((await clientToken(h, c.clientId, c.secret, 'ttl.read')).json().expires_in, 600);
    for (const bad of [{ jwksPublic: 'no' }, { accessTokenTtl: 5 }, { accessTokenTtl: 1.5 }, { unknown: 1 }, [1],
      { passwordPolicy: { minLength: 4 } }, { passwordPolicy: { maxLength: 10 } }, { passwordPolicy: { historyCount: -1 } },
      { passwordPolicy: { rejectCommon: 'yes' } }, { passwordPolicy: { other: 1 } }, { passwordPolicy: 'strict' }, { mfaPolicy: 'sometimes' },
      { passwordPolicy: { minLength: 200, maxLength: 100 } }]) {
      const r = await scim(h, 'PATCH', '/admin/v1/Settings', admin, bad);
      assert.equal(r.statusCode, 400, JSON.stringify(bad));
    }
  });

  test('the password policy is a domain setting and applies to new passwords', async () => {
    const p = await scim(h, 'PATCH', '/admin/v1/Settings', admin, { passwordPolicy: { minLength: 12, historyCount: 2 } });
    assert.equal(p.statusCode, 200, p.body);
    assert.deepEqual(p.json().passwordPolicy, { minLength: 12, maxLength: 256, historyCount: 2, rejectCommon: true });
    const user = (password: string) => scim(h, 'POST', '/admin/v1/Users', admin, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `u${Math.random().toString(36).slice(2, 8)}`, password,
    });
    const short = await user('Tr0ub4dor&3');
    assert.equal(short.statusCode, 400, short.body);
    assert.equal(short.json().scimType, 'invalidValue');
    assert.doesNotMatch(short.body, /Tr0ub4dor/, 'the password never appears in errors');
    assert.equal((await user('correct horse battery staple')).statusCode, 201);
  });

  test('forged Host / X-Forwarded-Host never change the issuer or endpoints (RFC 9700 §4.13)', async () => {
    const r = await h.inject({ url: '/.well-known/openid-configuration', headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' } });
    assert.equal(r.json().issuer, ISSUER);
    assert.doesNotMatch(r.body, /evil/);
  });
});
