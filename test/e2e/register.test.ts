import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { exportJWK, generateKeyPair } from 'jose';
import { FixedClock } from '../../src/core/clock.js';
import {
  adminToken, APP_SCHEMA, assertOAuthError, basic, BOOT_ID, BOOT_SECRET, clientToken, decode, harness, ISSUER, scim, setupClient, type Harness,
} from '../helpers.js';

const REGISTER = '/oauth2/v1/register';
const GRANT_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:Grant';
const q = (filter: string) => `filter=${encodeURIComponent(filter)}`;

function reg(h: Harness, token: string | undefined, body: unknown, method: 'POST' | 'PUT' | 'GET' | 'DELETE' = 'POST', url = REGISTER, type = 'application/json') {
  return h.inject({
    method, url,
    headers: { ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': type } : {}) },
    ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
}

function assertChallenge(r: LightMyRequestResponse, error?: string): void {
  const c = String(r.headers['www-authenticate'] ?? '');
  assert.match(c, /^Bearer realm="http:\/\/localhost:8080"/, c);
  if (error) assert.match(c, new RegExp(`error="${error}"`), c);
}

const ccClient = (o: Record<string, unknown> = {}) => ({
  client_name: 'registered job', grant_types: ['client_credentials'], response_types: [], scope: 'dcr.read', ...o,
});
const webClient = (o: Record<string, unknown> = {}) => ({
  client_name: 'registered web app', grant_types: ['authorization_code'], response_types: ['code'], redirect_uris: ['https://app.example.com/cb'], ...o,
});

async function roleToken(h: Harness, admin: string, roleName: string): Promise<string> {
  const app = await scim(h, 'POST', '/admin/v1/Apps', admin, {
    schemas: [APP_SCHEMA], displayName: `holder-${roleName}`, isOAuthClient: true, clientType: 'confidential', allowedGrants: ['client_credentials'],
  });
  const roles = await scim(h, 'GET', `/admin/v1/AppRoles?${q(`displayName eq "${roleName}"`)}`, admin);
  const r = roles.json().Resources[0];
  const g = await scim(h, 'POST', '/admin/v1/Grants', admin, {
    schemas: [GRANT_SCHEMA], app: { value: r.app.value }, entitlement: { attributeName: 'appRoles', attributeValue: r.id },
    grantMechanism: 'ADMINISTRATOR_TO_APP', grantee: { value: app.json().id, type: 'App' },
  });
  assert.equal(g.statusCode, 201, g.body);
  const t = await clientToken(h, app.json().name, app.json().clientSecret, 'urn:opc:idm:__myscopes__');
  assert.equal(t.statusCode, 200, t.body);
  return t.json().access_token;
}

describe('dynamic client registration (RFC 7591): the initial access token', () => {
  let h: Harness;
  let admin: string;
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    await setupClient(h, { admin, scopes: ['dcr.read'] });
  });
  after(() => h.close());

  test('no token: 401 invalid_token with a Bearer challenge', async () => {
    const r = await reg(h, undefined, ccClient());
    assertOAuthError(r, 401, 'invalid_token');
    assertChallenge(r);
  });

  test('a token that is not an initial access token: 401 invalid_token', async () => {
    const c = await setupClient(h, { admin, scopes: ['other.read'] });
    const rsToken = (await clientToken(h, c.clientId, c.secret, 'other.read')).json().access_token;
    for (const [name, token] of [['garbage', 'garbage'], ['a JWT-shaped garbage', 'a.b.c'], ['a resource server token', rsToken], ['a tampered admin token', `${admin.slice(0, -4)}AAAA`]]) {
      const r = await reg(h, token, ccClient());
      assertOAuthError(r, 401, 'invalid_token');
      assertChallenge(r, 'invalid_token');
      assert.ok(r.statusCode === 401, name);
    }
    const basicAuth = await h.inject({ method: 'POST', url: REGISTER, payload: JSON.stringify(ccClient()), headers: { 'content-type': 'application/json', authorization: basic(BOOT_ID, BOOT_SECRET) } });
    assertOAuthError(basicAuth, 401, 'invalid_token');
  });

  test('an admin token without urn:opc:idm:t.apps: 403 insufficient_scope', async () => {
    const audit = await roleToken(h, admin, 'Audit Administrator');
    const r = await reg(h, audit, ccClient());
    assertOAuthError(r, 403, 'insufficient_scope');
    assertChallenge(r, 'insufficient_scope');
    const settingsOnly = (await clientToken(h, BOOT_ID, BOOT_SECRET, 'urn:opc:idm:t.settings')).json().access_token;
    assertOAuthError(await reg(h, settingsOnly, ccClient()), 403, 'insufficient_scope');
  });

  test('an expired initial access token: 401', async () => {
    const clock = new FixedClock(Date.now());
    const h2 = await harness({ clock });
    try {
      const a = await adminToken(h2, 'urn:opc:idm:t.apps urn:opc:resource:expiry=60');
      clock.advance(61_000);
      assertOAuthError(await reg(h2, a, webClient()), 401, 'invalid_token');
    } finally { await h2.close(); }
  });

  test('the Application Administrator role is enough', async () => {
    const apps = await roleToken(h, admin, 'Application Administrator');
    const r = await reg(h, apps, ccClient());
    assert.equal(r.statusCode, 201, r.body);
  });
});

describe('dynamic client registration (RFC 7591): success', () => {
  const clock = new FixedClock(Date.parse('2031-05-05T10:00:00.000Z'));
  let h: Harness;
  let admin: string;
  before(async () => {
    h = await harness({ clock });
    admin = await adminToken(h);
    await setupClient(h, { admin, scopes: ['dcr.read', 'dcr.write'] });
  });
  after(() => h.close());

  test('issue 7: the OpenID Connect scopes are registrable as generic clients send them, and kept in the client\'s allowedScopes', async () => {
    const r = await reg(h, admin, webClient({ scope: 'openid profile email address phone offline_access groups approles' }));
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.json().scope, 'openid profile email address phone offline_access groups approles');
    const mixed = await reg(h, admin, webClient({ scope: 'openid email dcr.read' }));
    assert.equal(mixed.statusCode, 201, mixed.body);
    const app = (await scim(h, 'GET', `/admin/v1/Apps?${q(`name eq "${mixed.json().client_id}"`)}`, admin)).json().Resources[0];
    assert.deepEqual(app.allowedScopes.map((x: { fqs: string }) => x.fqs), ['openid', 'email', 'dcr.read']);
    // Read back through RFC 7592, and still refused: a scope nobody defines.
    const back = await h.inject({ url: `/oauth2/v1/register/${mixed.json().client_id}`, headers: { authorization: `Bearer ${mixed.json().registration_access_token}` } });
    assert.equal(back.json().scope, 'openid email dcr.read');
    assertOAuthError(await reg(h, admin, webClient({ scope: 'openid nope.read' })), 400, 'invalid_client_metadata');
    // The admin API accepts them in allowedScopes too (not in defaultScopes: those are for client flows).
    const viaAdmin = await scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: 'oidc-scoped', isOAuthClient: true, allowedGrants: ['authorization_code'],
      redirectUris: ['https://app.example.com/cb'], allowedScopes: [{ fqs: 'openid' }, { fqs: 'profile' }] });
    assert.equal(viaAdmin.statusCode, 201, viaAdmin.body);
    const badDefault = await scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: 'oidc-default', isOAuthClient: true, allowedGrants: ['client_credentials'], defaultScopes: ['openid'] });
    assert.equal(badDefault.statusCode, 400, badDefault.body);
  });

  test('a confidential client_credentials client: 201 with its credentials; it can get a token', async () => {
    const r = await reg(h, admin, ccClient({ client_id: 'chosen-by-me', client_secret: 'chosen-secret-0123456789', scope: 'dcr.read dcr.write', contacts: ['ops@example.com'] }));
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.match(String(r.headers['content-type']), /^application\/json/);
    const b = r.json();
    assert.equal(typeof b.client_id, 'string');
    assert.notEqual(b.client_id, 'chosen-by-me', 'the client_id is generated by the server');
    assert.equal(typeof b.client_secret, 'string');
    assert.notEqual(b.client_secret, 'chosen-secret-0123456789');
    assert.ok(Buffer.from(b.client_secret, 'base64url').length >= 32);
    assert.equal(b.client_id_issued_at, Math.floor(clock.now() / 1000));
    assert.equal(b.client_secret_expires_at, 0);
    assert.equal(typeof b.registration_access_token, 'string');
    assert.ok(b.registration_access_token.length >= 32);
    assert.equal(b.registration_client_uri, `${ISSUER}/oauth2/v1/register/${b.client_id}`);
    assert.deepEqual(b.grant_types, ['client_credentials']);
    assert.deepEqual(b.response_types, []);
    assert.equal(b.token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(b.client_name, 'registered job');
    assert.equal(b.scope, 'dcr.read dcr.write');
    assert.deepEqual(b.contacts, ['ops@example.com']);

    const t = await clientToken(h, b.client_id, b.client_secret, 'dcr.read');
    assert.equal(t.statusCode, 200, t.body);
    assert.equal(decode(t.json().access_token).payload.client_id, b.client_id);
    assertOAuthError(await clientToken(h, b.client_id, 'chosen-secret-0123456789', 'dcr.read'), 401, 'invalid_client');

    // it is an App of the domain, with the secret never shown
    const apps = await scim(h, 'GET', `/admin/v1/Apps?${q(`name eq "${b.client_id}"`)}`, admin);
    assert.equal(apps.json().totalResults, 1);
    assert.equal(apps.json().Resources[0].clientSecret, undefined);
    // audited
    const ev = await scim(h, 'GET', `/admin/v1/AuditEvents?${q('eventId eq "client.registered"')}`, admin);
    assert.ok(ev.json().Resources.some((e: { targetId: string; actorId: string }) => e.targetId === apps.json().Resources[0].id && e.actorId === BOOT_ID));
  });

  test('the registration access token is not an access token', async () => {
    const b = (await reg(h, admin, ccClient())).json();
    const r = await scim(h, 'GET', '/admin/v1/Apps', b.registration_access_token);
    assert.equal(r.statusCode, 401);
    assertOAuthError(await reg(h, b.registration_access_token, ccClient()), 401, 'invalid_token');
  });

  test('a public client (none, authorization_code) gets no secret', async () => {
    const r = await reg(h, admin, webClient({ token_endpoint_auth_method: 'none', redirect_uris: ['https://spa.example/cb', 'http://127.0.0.1:8765/cb', 'com.example.app:/cb'] }));
    assert.equal(r.statusCode, 201, r.body);
    const b = r.json();
    assert.equal(b.client_secret, undefined);
    assert.equal(b.client_secret_expires_at, undefined);
    assert.equal(b.token_endpoint_auth_method, 'none');
    assert.deepEqual(b.grant_types, ['authorization_code']);
    assert.deepEqual(b.response_types, ['code']);
    assert.deepEqual(b.redirect_uris, ['https://spa.example/cb', 'http://127.0.0.1:8765/cb', 'com.example.app:/cb']);
    assert.equal(typeof b.registration_access_token, 'string');
    const app = (await scim(h, 'GET', `/admin/v1/Apps?${q(`name eq "${b.client_id}"`)}`, admin)).json().Resources[0];
    assert.equal(app.clientType, 'public');
    // a public client cannot use client_credentials
    const t = await h.inject({ method: 'POST', url: '/oauth2/v1/token', payload: `grant_type=client_credentials&client_id=${b.client_id}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.ok(t.statusCode === 400 || t.statusCode === 401, t.body);
  });

  test('defaults (RFC 7591 §2): authorization_code, code, client_secret_basic', async () => {
    const r = await reg(h, admin, { redirect_uris: ['https://default.example/cb'] });
    assert.equal(r.statusCode, 201, r.body);
    const b = r.json();
    assert.deepEqual(b.grant_types, ['authorization_code']);
    assert.deepEqual(b.response_types, ['code']);
    assert.equal(b.token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(typeof b.client_secret, 'string');
  });

  test('private_key_jwt with a public jwks: no secret', async () => {
    const { publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const r = await reg(h, admin, ccClient({ token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256', jwks: { keys: [jwk] } }));
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.json().client_secret, undefined);
    assert.deepEqual(r.json().jwks, { keys: [jwk] });
  });

  test('each registration gets its own client_id and tokens', async () => {
    const a = (await reg(h, admin, ccClient())).json();
    const b = (await reg(h, admin, ccClient())).json();
    assert.notEqual(a.client_id, b.client_id);
    assert.notEqual(a.client_secret, b.client_secret);
    assert.notEqual(a.registration_access_token, b.registration_access_token);
  });
});

describe('dynamic client registration (RFC 7591 §3.2.2): errors', () => {
  let h: Harness;
  let admin: string;
  let appAdmin: string;
  let jwk: Record<string, unknown>;
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    await setupClient(h, { admin, scopes: ['dcr.read'] });
    appAdmin = await roleToken(h, admin, 'Application Administrator');
    const { publicKey } = await generateKeyPair('ES256');
    jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
  });
  after(() => h.close());

  const pkj = { token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256' };
  const cases: [string, () => unknown, string][] = [
    ['redirect URI javascript:', () => webClient({ redirect_uris: ['javascript:alert(1)'] }), 'invalid_redirect_uri'],
    ['redirect URI data:', () => webClient({ redirect_uris: ['data:text/html,hi'] }), 'invalid_redirect_uri'],
    ['redirect URI with a fragment', () => webClient({ redirect_uris: ['https://app.example.com/cb#x'] }), 'invalid_redirect_uri'],
    ['redirect URI plain http, not loopback', () => webClient({ redirect_uris: ['http://app.example.com/cb'] }), 'invalid_redirect_uri'],
    ['redirect URI relative', () => webClient({ redirect_uris: ['/cb'] }), 'invalid_redirect_uri'],
    ['one bad redirect URI among good ones', () => webClient({ redirect_uris: ['https://ok.example/cb', 'javascript:alert(1)'] }), 'invalid_redirect_uri'],
    ['post-logout redirect URI javascript:', () => webClient({ post_logout_redirect_uris: ['javascript:alert(1)'] }), 'invalid_redirect_uri'],
    ['authorization_code without code', () => webClient({ response_types: [] }), 'invalid_client_metadata'],
    ['code without authorization_code', () => ccClient({ response_types: ['code'] }), 'invalid_client_metadata'],
    ['response type token (implicit)', () => webClient({ response_types: ['code', 'token'] }), 'invalid_client_metadata'],
    ['response type id_token', () => webClient({ response_types: ['code', 'id_token'] }), 'invalid_client_metadata'],
    ['grant type password', () => ccClient({ grant_types: ['password'] }), 'invalid_client_metadata'],
    ['grant type implicit', () => webClient({ grant_types: ['implicit', 'authorization_code'] }), 'invalid_client_metadata'],
    ['an unknown grant type', () => ccClient({ grant_types: ['magic'] }), 'invalid_client_metadata'],
    ['an unsupported auth method', () => ccClient({ token_endpoint_auth_method: 'tls_client_auth' }), 'invalid_client_metadata'],
    ['none with client_credentials', () => ccClient({ token_endpoint_auth_method: 'none' }), 'invalid_client_metadata'],
    ['private_key_jwt without keys', () => ccClient(pkj), 'invalid_client_metadata'],
    ['both jwks and jwks_uri', () => ccClient({ ...pkj, jwks: { keys: [jwk] }, jwks_uri: 'https://keys.example.com/jwks' }), 'invalid_client_metadata'],
    ['jwks with a private key', () => ccClient({ ...pkj, jwks: { keys: [{ ...jwk, d: 'jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI' }] } }), 'invalid_client_metadata'],
    ['jwks that is not a JWK Set', () => ccClient({ ...pkj, jwks: [jwk] }), 'invalid_client_metadata'],
    ['jwks for a secret client', () => ccClient({ jwks: { keys: [jwk] } }), 'invalid_client_metadata'],
    ['jwks_uri at 127.0.0.1', () => ccClient({ ...pkj, jwks_uri: 'https://127.0.0.1/jwks' }), 'invalid_client_metadata'],
    ['jwks_uri at the metadata address', () => ccClient({ ...pkj, jwks_uri: 'https://169.254.169.254/latest/meta-data' }), 'invalid_client_metadata'],
    ['jwks_uri at 10.x', () => ccClient({ ...pkj, jwks_uri: 'https://10.1.2.3/jwks' }), 'invalid_client_metadata'],
    ['jwks_uri at 192.168.x', () => ccClient({ ...pkj, jwks_uri: 'https://192.168.0.10/jwks' }), 'invalid_client_metadata'],
    ['jwks_uri at [::1]', () => ccClient({ ...pkj, jwks_uri: 'https://[::1]/jwks' }), 'invalid_client_metadata'],
    ['jwks_uri at localhost', () => ccClient({ ...pkj, jwks_uri: 'https://localhost/jwks' }), 'invalid_client_metadata'],
    ['jwks_uri over http', () => ccClient({ ...pkj, jwks_uri: 'http://keys.example.com/jwks' }), 'invalid_client_metadata'],
    ['jwks_uri not a URL', () => ccClient({ ...pkj, jwks_uri: 'keys' }), 'invalid_client_metadata'],
    ['an undefined scope', () => ccClient({ scope: 'dcr.read nope.read' }), 'invalid_client_metadata'],
    ['a malformed scope', () => ccClient({ scope: 'dcr.read "quoted"' }), 'invalid_client_metadata'],
    ['a scope that is not a string', () => ccClient({ scope: ['dcr.read'] }), 'invalid_client_metadata'],
    ['grant_types not an array', () => ccClient({ grant_types: 'client_credentials' }), 'invalid_client_metadata'],
    ['redirect_uris not an array', () => webClient({ redirect_uris: 'https://app.example.com/cb' }), 'invalid_client_metadata'],
    ['redirect_uris with a non-string', () => webClient({ redirect_uris: [42] }), 'invalid_client_metadata'],
    ['client_name not a string', () => ccClient({ client_name: { en: 'x' } }), 'invalid_client_metadata'],
    ['logo_uri javascript:', () => ccClient({ logo_uri: 'javascript:alert(1)' }), 'invalid_client_metadata'],
    ['client_uri over http', () => ccClient({ client_uri: 'http://example.com' }), 'invalid_client_metadata'],
    ['contacts not an array of strings', () => ccClient({ contacts: 'ops@example.com' }), 'invalid_client_metadata'],
    ['an array body', () => [ccClient()], 'invalid_client_metadata'],
    ['a JSON string body', () => JSON.stringify('client'), 'invalid_client_metadata'],
    ['a JSON null body', () => 'null', 'invalid_client_metadata'],
  ];
  for (const [name, body, error] of cases) {
    test(`400 ${error}: ${name}`, async () => {
      const before_ = (await scim(h, 'GET', '/admin/v1/Apps?count=0', admin)).json().totalResults;
      assertOAuthError(await reg(h, admin, body()), 400, error);
      assert.equal((await scim(h, 'GET', '/admin/v1/Apps?count=0', admin)).json().totalResults, before_, 'nothing was registered');
    });
  }

  test('400 invalid_client_metadata: a body that is not JSON', async () => {
    for (const [payload, type] of [['{', 'application/json'], ['not json', 'application/json'], ['client_name=x&grant_types=client_credentials', 'application/x-www-form-urlencoded'], ['client_name', 'text/plain']]) {
      const r = await reg(h, admin, payload, 'POST', REGISTER, type);
      assertOAuthError(r, 400, 'invalid_client_metadata');
    }
    const none = await h.inject({ method: 'POST', url: REGISTER, headers: { authorization: `Bearer ${admin}` } });
    assertOAuthError(none, 400, 'invalid_client_metadata');
  });

  test('admin scopes: only a caller holding them may register a client with them', async () => {
    for (const scope of ['urn:opc:idm:t.settings', 'urn:opc:idm:t.apps urn:opc:idm:t.users']) {
      assertOAuthError(await reg(h, appAdmin, ccClient({ scope })), 400, 'invalid_client_metadata');
    }
    const held = await reg(h, appAdmin, ccClient({ scope: 'urn:opc:idm:t.apps' }));
    assert.equal(held.statusCode, 201, held.body);
    const byIda = await reg(h, admin, ccClient({ scope: 'urn:opc:idm:t.settings' }));
    assert.equal(byIda.statusCode, 201, byIda.body);
    const t = await clientToken(h, byIda.json().client_id, byIda.json().client_secret, 'urn:opc:idm:t.settings');
    assert.equal(t.statusCode, 200, t.body);
  });
});

describe('client configuration endpoint (RFC 7592)', () => {
  let h: Harness;
  let admin: string;
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    await setupClient(h, { admin, scopes: ['cfg.read', 'cfg.write'] });
  });
  after(() => h.close());

  const register = async (o: Record<string, unknown> = {}) => {
    const r = await reg(h, admin, ccClient({ scope: 'cfg.read', ...o }));
    assert.equal(r.statusCode, 201, r.body);
    return r.json() as Record<string, unknown> & { client_id: string; client_secret: string; registration_access_token: string; registration_client_uri: string };
  };
  const path = (c: { client_id: string }) => `${REGISTER}/${c.client_id}`;

  test('GET with the registration access token: the metadata, without the secret', async () => {
    const c = await register();
    assert.equal(c.registration_client_uri, `${ISSUER}${path(c)}`);
    const r = await reg(h, c.registration_access_token, undefined, 'GET', path(c));
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers['cache-control'], 'no-store');
    const b = r.json();
    assert.equal(b.client_secret, undefined);
    assert.ok(!r.body.includes(c.client_secret));
    assert.ok(!r.body.includes(c.registration_access_token));
    const { client_secret: _s, registration_access_token: _t, client_secret_expires_at: _e, ...rest } = c;
    for (const [k, v] of Object.entries(rest)) assert.deepEqual(b[k], v, k);
  });

  test('GET with a wrong token, another client\'s token, an access token or none: 401', async () => {
    const c = await register();
    const d = await register();
    for (const token of ['wrong-token', d.registration_access_token, admin, undefined]) {
      const r = await reg(h, token, undefined, 'GET', path(c));
      assertOAuthError(r, 401, 'invalid_token');
      assertChallenge(r);
    }
    // an unknown client looks the same as a wrong token
    assertOAuthError(await reg(h, c.registration_access_token, undefined, 'GET', `${REGISTER}/no-such-client`), 401, 'invalid_token');
    // a client made through the admin API has no registration access token
    const adminMade = await setupClient(h, { admin, scopes: ['x.read'] });
    assertOAuthError(await reg(h, c.registration_access_token, undefined, 'GET', `${REGISTER}/${adminMade.clientId}`), 401, 'invalid_token');
  });

  test('PUT updates redirect URIs and the name; the secret keeps working', async () => {
    const c = await register({ grant_types: ['client_credentials', 'authorization_code'], response_types: ['code'], redirect_uris: ['https://old.example/cb'] });
    const r = await reg(h, c.registration_access_token, {
      client_id: c.client_id, client_name: 'new name', grant_types: ['client_credentials', 'authorization_code'], response_types: ['code'],
      redirect_uris: ['https://new.example/cb', 'https://new.example/cb2'], scope: 'cfg.read cfg.write',
    }, 'PUT', path(c));
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.json().client_name, 'new name');
    assert.deepEqual(r.json().redirect_uris, ['https://new.example/cb', 'https://new.example/cb2']);
    assert.equal(r.json().client_id, c.client_id);
    assert.equal(r.json().client_secret, undefined);
    const g = (await reg(h, c.registration_access_token, undefined, 'GET', path(c))).json();
    assert.equal(g.client_name, 'new name');
    assert.deepEqual(g.redirect_uris, ['https://new.example/cb', 'https://new.example/cb2']);
    const t = await clientToken(h, c.client_id, c.client_secret, 'cfg.write');
    assert.equal(t.statusCode, 200, t.body);
    const ev = await scim(h, 'GET', `/admin/v1/AuditEvents?${q('eventId eq "client.registration_updated"')}`, admin);
    assert.ok(ev.json().totalResults >= 1);
  });

  test('PUT cannot re-enable a client an administrator disabled, nor reset what the administrator set', async () => {
    const c = await register();
    const app = (await scim(h, 'GET', `/admin/v1/Apps?${q(`name eq "${c.client_id}"`)}`, admin)).json().Resources[0];
    const p = await scim(h, 'PATCH', `/admin/v1/Apps/${app.id}`, admin, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'active', value: false }, { op: 'add', path: 'defaultScopes', value: ['cfg.read'] }],
    });
    assert.equal(p.statusCode, 200, p.body);
    assertOAuthError(await clientToken(h, c.client_id, c.client_secret, 'cfg.read'), 401, 'invalid_client');
    const put = await reg(h, c.registration_access_token, { client_id: c.client_id, client_name: 'back again', grant_types: ['client_credentials'], response_types: [], scope: 'cfg.read' }, 'PUT', path(c));
    assert.equal(put.statusCode, 200, put.body);
    assertOAuthError(await clientToken(h, c.client_id, c.client_secret, 'cfg.read'), 401, 'invalid_client');
    const now = (await scim(h, 'GET', `/admin/v1/Apps/${app.id}`, admin)).json();
    assert.equal(now.active, false);
    assert.deepEqual(now.defaultScopes, ['cfg.read']);
    assert.equal(now.displayName, 'back again');
  });

  test('PUT may echo the current client_secret (RFC 7592 §2.2), never set another', async () => {
    const c = await register();
    const body = { client_id: c.client_id, client_name: 'echo', grant_types: ['client_credentials'], response_types: [], scope: 'cfg.read' };
    const echo = await reg(h, c.registration_access_token, { ...body, client_secret: c.client_secret }, 'PUT', path(c));
    assert.equal(echo.statusCode, 200, echo.body);
    assertOAuthError(await reg(h, c.registration_access_token, { ...body, client_secret: 'my-own-secret-0123456789abcdef' }, 'PUT', path(c)), 400, 'invalid_client_metadata');
    assert.equal((await clientToken(h, c.client_id, c.client_secret, 'cfg.read')).statusCode, 200);
    assertOAuthError(await clientToken(h, c.client_id, 'my-own-secret-0123456789abcdef', 'cfg.read'), 401, 'invalid_client');
  });

  const badPuts: [string, (c: { client_id: string }) => unknown, string][] = [
    ['a different client_id', () => ({ ...ccClient({ scope: 'cfg.read' }), client_id: 'someone-else' }), 'invalid_client_metadata'],
    ['no client_id', () => ccClient({ scope: 'cfg.read' }), 'invalid_client_metadata'],
    ['a changed token_endpoint_auth_method', (c) => ({ ...ccClient({ scope: 'cfg.read' }), client_id: c.client_id, token_endpoint_auth_method: 'client_secret_post' }), 'invalid_client_metadata'],
    ['a bad redirect URI', (c) => ({ ...webClient({ redirect_uris: ['javascript:alert(1)'] }), client_id: c.client_id }), 'invalid_redirect_uri'],
    ['an undefined scope', (c) => ({ ...ccClient({ scope: 'nope.read' }), client_id: c.client_id }), 'invalid_client_metadata'],
    ['an admin scope', (c) => ({ ...ccClient({ scope: 'cfg.read urn:opc:idm:t.apps' }), client_id: c.client_id }), 'invalid_client_metadata'],
    ['the password grant', (c) => ({ ...ccClient({ scope: 'cfg.read', grant_types: ['password'] }), client_id: c.client_id }), 'invalid_client_metadata'],
    ['an array body', (c) => [{ ...ccClient(), client_id: c.client_id }], 'invalid_client_metadata'],
  ];
  for (const [name, body, error] of badPuts) {
    test(`PUT refused (400 ${error}): ${name}`, async () => {
      const c = await register();
      const before_ = (await reg(h, c.registration_access_token, undefined, 'GET', path(c))).json();
      assertOAuthError(await reg(h, c.registration_access_token, body(c), 'PUT', path(c)), 400, error);
      assert.deepEqual((await reg(h, c.registration_access_token, undefined, 'GET', path(c))).json(), before_, 'nothing changed');
    });
  }

  test('PUT with a wrong or another client\'s token: 401', async () => {
    const c = await register();
    const d = await register();
    for (const token of ['wrong', d.registration_access_token, admin]) {
      assertOAuthError(await reg(h, token, { ...ccClient({ scope: 'cfg.read' }), client_id: c.client_id, client_name: 'hijacked' }, 'PUT', path(c)), 401, 'invalid_token');
    }
    assert.equal((await reg(h, c.registration_access_token, undefined, 'GET', path(c))).json().client_name, 'registered job');
  });

  test('DELETE: 204; then no tokens (invalid_client) and the registration is gone (401)', async () => {
    const c = await register();
    assert.equal((await clientToken(h, c.client_id, c.client_secret, 'cfg.read')).statusCode, 200);
    assertOAuthError(await reg(h, 'wrong', undefined, 'DELETE', path(c)), 401, 'invalid_token');
    assert.equal((await clientToken(h, c.client_id, c.client_secret, 'cfg.read')).statusCode, 200, 'a refused DELETE deletes nothing');
    const r = await reg(h, c.registration_access_token, undefined, 'DELETE', path(c));
    assert.equal(r.statusCode, 204, r.body);
    assert.equal(r.body, '');
    assertOAuthError(await clientToken(h, c.client_id, c.client_secret, 'cfg.read'), 401, 'invalid_client');
    assertOAuthError(await reg(h, c.registration_access_token, undefined, 'GET', path(c)), 401, 'invalid_token');
    assertOAuthError(await reg(h, c.registration_access_token, undefined, 'DELETE', path(c)), 401, 'invalid_token');
    assert.equal((await scim(h, 'GET', `/admin/v1/Apps?${q(`name eq "${c.client_id}"`)}`, admin)).json().totalResults, 0);
  });

  test('DELETE also ends the client\'s role grants', async () => {
    const c = await register();
    const app = (await scim(h, 'GET', `/admin/v1/Apps?${q(`name eq "${c.client_id}"`)}`, admin)).json().Resources[0];
    // A role of an ordinary resource server (a client holding admin-API roles is managed through the admin API only).
    const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: 'del-rs', isOAuthResource: true, audience: 'https://del.example', scopes: [{ value: 'del.read' }] });
    const role = (await scim(h, 'POST', '/admin/v1/AppRoles', admin, { schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:AppRole'], displayName: 'Deleter', app: { value: rs.json().id }, scopes: [{ value: 'del.read' }] })).json();
    const g = await scim(h, 'POST', '/admin/v1/Grants', admin, {
      schemas: [GRANT_SCHEMA], app: { value: role.app.value }, entitlement: { attributeName: 'appRoles', attributeValue: role.id },
      grantMechanism: 'ADMINISTRATOR_TO_APP', grantee: { value: app.id, type: 'App' },
    });
    assert.equal(g.statusCode, 201, g.body);
    assert.equal((await reg(h, c.registration_access_token, undefined, 'DELETE', path(c))).statusCode, 204);
    assert.equal((await scim(h, 'GET', `/admin/v1/Grants?${q(`grantee.value eq "${app.id}"`)}`, admin)).json().totalResults, 0);
  });
});

describe('dynamic client registration in another identity domain', () => {
  let h: Harness;
  let rootAdmin: string;
  let acmeAdmin: string;
  const P = '/domains/acme';
  before(async () => {
    h = await harness();
    rootAdmin = await adminToken(h);
    const d = await scim(h, 'POST', '/admin/v1/IdentityDomains', rootAdmin, { name: 'acme' });
    assert.equal(d.statusCode, 201, d.body);
    const t = await clientToken(h, d.json().adminClient.client_id, d.json().adminClient.client_secret, 'urn:opc:idm:__myscopes__', P);
    acmeAdmin = t.json().access_token;
  });
  after(() => h.close());

  test('registration and its management stay in their domain', async () => {
    assertOAuthError(await reg(h, rootAdmin, webClient(), 'POST', `${P}${REGISTER}`), 401, 'invalid_token');
    assertOAuthError(await reg(h, acmeAdmin, webClient()), 401, 'invalid_token');
    const r = await reg(h, acmeAdmin, webClient(), 'POST', `${P}${REGISTER}`);
    assert.equal(r.statusCode, 201, r.body);
    const c = r.json();
    assert.equal(c.registration_client_uri, `${ISSUER}${P}${REGISTER}/${c.client_id}`);
    assert.equal((await reg(h, c.registration_access_token, undefined, 'GET', `${P}${REGISTER}/${c.client_id}`)).statusCode, 200);
    assertOAuthError(await reg(h, c.registration_access_token, undefined, 'GET', `${REGISTER}/${c.client_id}`), 401, 'invalid_token');
    assertOAuthError(await reg(h, c.registration_access_token, undefined, 'DELETE', `${REGISTER}/${c.client_id}`), 401, 'invalid_token');
    assert.equal((await reg(h, c.registration_access_token, undefined, 'GET', `${P}${REGISTER}/${c.client_id}`)).statusCode, 200);
  });
});
