import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import type { AuditEventRecord } from '../../src/core/types.js';
import {
  adminToken, APP_SCHEMA, assertOAuthError, assertScimError, clientToken, grantRole, harness, ISSUER, post, scim, setupClient, type Harness,
} from '../helpers.js';
import { createWebApp } from '../signin.js';

const REGEN = 'urn:ietf:params:scim:schemas:oracle:idcs:AppClientSecretRegenerator';
const URL_ = '/admin/v1/AppClientSecretRegenerator';
const APPS = 'urn:opc:idm:t.apps';
const REALM = `Bearer realm="${ISSUER}"`;

describe('admin AppClientSecretRegenerator', () => {
  let h: Harness;
  let admin: string;
  let appsOnly: string;
  const events: AuditEventRecord[] = [];

  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    appsOnly = await adminToken(h, APPS);
    h.t.services.events.on((e) => events.push(e));
  });
  after(() => h.close());

  const regen = (token: string, appId: unknown) => scim(h, 'POST', URL_, token, { schemas: [REGEN], appId });

  test('a new secret, shown once: the old one is invalid_client at once, the new one works (basic and post); audited', async () => {
    const c = await setupClient(h, { admin, scopes: ['sec.read'] });
    assert.equal((await clientToken(h, c.clientId, c.secret, 'sec.read')).statusCode, 200);
    const before = events.length;
    const r = await regen(appsOnly, c.app.id);
    assert.equal(r.statusCode, 201, r.body);
    assert.match(String(r.headers['content-type']), /^application\/scim\+json/);
    assert.equal(r.headers['cache-control'], 'no-store');
    const b = r.json();
    assert.deepEqual(Object.keys(b).sort(), ['appId', 'clientId', 'clientSecret', 'meta', 'schemas']);
    assert.deepEqual([b.schemas, b.appId, b.clientId], [[REGEN], c.app.id, c.clientId]);
    assert.equal(b.meta.location, `${ISSUER}/admin/v1/Apps/${c.app.id}`);
    assert.ok(typeof b.clientSecret === 'string' && b.clientSecret.length >= 32 && b.clientSecret !== c.secret);
    assertOAuthError(await clientToken(h, c.clientId, c.secret, 'sec.read'), 401, 'invalid_client');
    assertOAuthError(await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'sec.read', client_id: c.clientId, client_secret: c.secret }), 401, 'invalid_client');
    assert.equal((await clientToken(h, c.clientId, b.clientSecret, 'sec.read')).statusCode, 200);
    const viaPost = await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'sec.read', client_id: c.clientId, client_secret: b.clientSecret });
    assert.equal(viaPost.statusCode, 200, viaPost.body);
    // Never shown again, never stored in the clear.
    const got = await scim(h, 'GET', `/admin/v1/Apps/${c.app.id}`, admin);
    assert.ok(!got.body.includes(b.clientSecret));
    const domain = (await h.t.services.repos.domains.getByName('default'))!;
    const stored = await h.t.services.repos.apps.get(domain.id, c.app.id);
    assert.ok(stored?.secretHash && !stored.secretHash.includes(b.clientSecret));
    const ev = events.slice(before).filter((e) => e.eventId === 'client.secret_regenerated');
    assert.equal(ev.length, 1);
    assert.deepEqual([ev[0]!.outcome, ev[0]!.actorType, ev[0]!.actorId, ev[0]!.targetType, ev[0]!.targetId, ev[0]!.details?.client_id], ['success', 'client', 'bootstrap-admin', 'App', c.app.id, c.clientId]);
    assert.ok(!JSON.stringify(events.slice(before)).includes(b.clientSecret), 'the secret is in no event');
    // Twice in a row: each secret replaces the one before.
    const again = (await regen(appsOnly, c.app.id)).json().clientSecret as string;
    assertOAuthError(await clientToken(h, c.clientId, b.clientSecret, 'sec.read'), 401, 'invalid_client');
    assert.equal((await clientToken(h, c.clientId, again, 'sec.read')).statusCode, 200);
  });

  test('client_secret_jwt: assertions keyed with the old secret fail, with the new one pass', async () => {
    const c = await setupClient(h, { admin, scopes: ['hs.read'], client: { tokenEndpointAuthMethod: 'client_secret_jwt' } });
    const assertion = (secret: string) => new SignJWT({ iss: c.clientId, sub: c.clientId, aud: ISSUER, jti: `j-${Math.random()}` })
      .setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(h.t.services.clock.now() / 1000) + 60).sign(new TextEncoder().encode(secret));
    const tokenWith = async (secret: string) => post(h, '/oauth2/v1/token', {
      grant_type: 'client_credentials', scope: 'hs.read', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await assertion(secret),
    });
    assert.equal((await tokenWith(c.secret)).statusCode, 200);
    const r = await regen(admin, c.app.id);
    assert.equal(r.statusCode, 201, r.body);
    assertOAuthError(await tokenWith(c.secret), 401, 'invalid_client');
    assert.equal((await tokenWith(r.json().clientSecret)).statusCode, 200);
  });

  test('refused for the built-in app, public clients, clients without a secret and non-clients; unknown 404', async () => {
    const apps = await scim(h, 'GET', `/admin/v1/Apps?filter=${encodeURIComponent('isBuiltIn eq true')}`, admin);
    const builtIn = apps.json().Resources[0].id as string;
    assertScimError(await regen(admin, builtIn), 400, 'mutability');
    const pub = await createWebApp(h, admin, { clientType: 'public', tokenEndpointAuthMethod: 'none', allowedGrants: ['authorization_code'] });
    assertScimError(await regen(admin, pub.id), 400, 'invalidValue');
    const { publicKey } = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', publicKey);
    const jwk = { kty, crv, x, y, kid: 'k1', alg: 'ES256' };
    const pkj = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: 'pkj', isOAuthClient: true, clientType: 'confidential', tokenEndpointAuthMethod: 'private_key_jwt',
      allowedGrants: ['client_credentials'], jwks: { keys: [jwk] },
    });
    assert.equal(pkj.statusCode, 201, pkj.body);
    assertScimError(await regen(admin, pkj.json().id), 400, 'invalidValue');
    const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: 'rs-only', isOAuthResource: true, audience: 'https://rs-only.example.com', scopes: [{ value: 'only.read' }] });
    assert.equal(rs.statusCode, 201, rs.body);
    assertScimError(await regen(admin, rs.json().id), 400, 'invalidValue');
    assertScimError(await regen(admin, 'f'.repeat(32)), 404);
  });

  test('an Application Administrator cannot take over a client holding Identity Domain Administrator (escalation guard)', async () => {
    const c = await setupClient(h, { admin, scopes: ['boss.read'] });
    await grantRole(h, admin, 'Identity Domain Administrator', 'App', c.app.id);
    const before = events.length;
    const r = await regen(appsOnly, c.app.id);
    assertScimError(r, 403);
    assert.match(r.json().detail, /only a caller holding urn:opc:idm:t\.\S+ may change an app that holds it/);
    assert.equal((await clientToken(h, c.clientId, c.secret, 'boss.read')).statusCode, 200, 'the secret is unchanged');
    assert.ok(events.slice(before).some((e) => e.eventId === 'admin.access_denied'));
    assert.ok(!events.slice(before).some((e) => e.eventId === 'client.secret_regenerated'));
    // A client holding admin scopes directly (allowedScopes) is as protected.
    const direct = await setupClient(h, { admin, scopes: ['d.read'], client: { allowedScopes: [{ fqs: 'd.read' }, { fqs: 'urn:opc:idm:t.users' }] } });
    assertScimError(await regen(appsOnly, direct.app.id), 403);
    // A caller holding every admin scope may.
    const ok = await regen(admin, c.app.id);
    assert.equal(ok.statusCode, 201, ok.body);
    assertOAuthError(await clientToken(h, c.clientId, c.secret, 'boss.read'), 401, 'invalid_client');
  });

  test('wrong scope 403, no token 401, a user token 403', async () => {
    const c = await setupClient(h, { admin, scopes: ['w.read'] });
    const denied = await regen(await adminToken(h, 'urn:opc:idm:t.users'), c.app.id);
    assertScimError(denied, 403);
    assert.equal(denied.headers['www-authenticate'], `${REALM}, error="insufficient_scope", scope="${APPS}"`);
    const none = await h.inject({ method: 'POST', url: URL_, headers: { 'content-type': 'application/scim+json' }, payload: JSON.stringify({ schemas: [REGEN], appId: c.app.id }) });
    assertScimError(none, 401);
    assertScimError(await regen(await adminToken(h, 'urn:opc:idm:t.user.me'), c.app.id), 403);
    assert.equal((await clientToken(h, c.clientId, c.secret, 'w.read')).statusCode, 200);
  });

  test('bad bodies get SCIM 400s', async () => {
    const cases: [unknown, string][] = [
      [[], 'invalidSyntax'], ['x', 'invalidSyntax'], [{ appId: 'x' }, 'invalidSyntax'], [{ schemas: ['urn:x'], appId: 'x' }, 'invalidSyntax'],
      [{ schemas: [REGEN] }, 'invalidValue'], [{ schemas: [REGEN], appId: 7 }, 'invalidValue'], [{ schemas: [REGEN], appId: '' }, 'invalidValue'],
      [{ schemas: [REGEN], appId: 'x'.repeat(500) }, 'invalidValue'], [{ schemas: [REGEN], appId: 'x', clientSecret: 'mine' }, 'invalidValue'],
      [{ schemas: [REGEN], appId: 'x', APPID: 'y' }, 'invalidSyntax'],
    ];
    for (const [body, scimType] of cases) assertScimError(await scim(h, 'POST', URL_, admin, body), 400, scimType);
    assertScimError(await h.inject({ method: 'POST', url: URL_, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/scim+json' }, payload: '{' }), 400, 'invalidSyntax');
  });
});
