import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import Fastify from 'fastify';
import { ACCOUNT_CLIENT_ID, CONSOLE_CLIENT_ID } from '../../src/identity/builtins.js';
import { WEB_CSP, WEB_DIST, webApps } from '../../src/http/web.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { openDatabase } from '../../src/storage/db.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from '../contract/pg.js';
import { APP_SCHEMA, ISSUER, adminToken, basic, assertOAuthError, assertScimError, clientToken, decode, harness, post, scim, type Harness } from '../helpers.js';
import { Browser, authorizeUrl, callbackParams, createUser, pkce, signIn } from '../signin.js';
import { ensureWebBuild } from '../web_build.js';

/**
 * Issue 11: serving the console and account SPAs, and the built-in public clients behind them
 * (tessera-console, tessera-account) with the attacks on them: no other grant, no change through
 * the Apps, AppRoles, Grants or registration APIs, and tokens carrying only what the user holds.
 */
const GRANT = 'urn:ietf:params:scim:schemas:oracle:idcs:Grant';
const ROLE = 'urn:ietf:params:scim:schemas:oracle:idcs:AppRole';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const S = {
  users: 'urn:opc:idm:t.users', usersRead: 'urn:opc:idm:t.users.read', groups: 'urn:opc:idm:t.groups', groupsRead: 'urn:opc:idm:t.groups.read',
  apps: 'urn:opc:idm:t.apps', settings: 'urn:opc:idm:t.settings', me: 'urn:opc:idm:t.user.me',
};

interface ScimApp { id: string; name?: string; isBuiltIn: boolean; clientType?: string; allowedGrants?: string[]; redirectUris?: string[]; postLogoutRedirectUris?: string[]; active: boolean }

async function builtinApp(h: Harness, admin: string, clientId: string, prefix = ''): Promise<ScimApp> {
  const r = await scim(h, 'GET', `${prefix}/admin/v1/Apps?count=200`, admin);
  assert.equal(r.statusCode, 200, r.body);
  const app = (r.json().Resources as ScimApp[]).find((a) => a.name === clientId);
  assert.ok(app, `no app ${clientId}`);
  return app;
}

async function roleId(h: Harness, admin: string, name: string): Promise<{ id: string; appId: string }> {
  const r = await scim(h, 'GET', `/admin/v1/AppRoles?filter=${encodeURIComponent(`displayName eq "${name}"`)}`, admin);
  assert.equal(r.statusCode, 200, r.body);
  const role = r.json().Resources[0] as { id: string; app: { value: string } };
  return { id: role.id, appId: role.app.value };
}

async function grantUser(h: Harness, admin: string, role: string, userId: string): Promise<void> {
  const { id, appId } = await roleId(h, admin, role);
  const r = await scim(h, 'POST', '/admin/v1/Grants', admin, {
    schemas: [GRANT], app: { value: appId }, entitlement: { attributeName: 'appRoles', attributeValue: id },
    grantMechanism: 'ADMINISTRATOR_TO_USER', grantee: { value: userId, type: 'User' },
  });
  assert.equal(r.statusCode, 201, r.body);
}

/** Signs `userName` in to a built-in client through the pages (no consent page expected) and redeems the code. */
async function codeFlow(h: Harness, clientId: string, path: string, userName: string, scope: string, prefix = '') {
  const b = new Browser(h);
  const { verifier, challenge } = pkce();
  const redirectUri = `${ISSUER}${prefix}${path}`;
  const r = await signIn(b, authorizeUrl({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope, state: 'st', nonce: 'nn', code_challenge: challenge, code_challenge_method: 'S256',
  }, prefix), userName);
  assert.ok(r.headers.location?.startsWith(redirectUri), `expected a redirect to ${redirectUri} without a consent page, got ${r.statusCode} ${r.headers.location}`);
  const code = callbackParams(r).get('code');
  assert.ok(code, r.headers.location);
  const t = await post(h, `${prefix}/oauth2/v1/token`, { grant_type: 'authorization_code', client_id: clientId, code, redirect_uri: redirectUri, code_verifier: verifier });
  assert.equal(t.statusCode, 200, t.body);
  return t.json() as { access_token: string; id_token: string; scope: string; refresh_token?: string };
}

describe('console and account: serving', () => {
  let h: Harness;
  before(async () => {
    ensureWebBuild();
    h = await harness();
  });
  after(async () => { await h?.close(); });

  for (const path of ['/console/', '/myaccount/', '/domains/second/console/', '/domains/second/myaccount/']) {
    test(`GET ${path}: the built index.html with the strict headers`, async () => {
      if (path.includes('second')) await h.t.services.domains.create('second').catch(() => {});
      const r = await h.inject({ url: path });
      assert.equal(r.statusCode, 200, r.body);
      assert.match(r.headers['content-type'] as string, /^text\/html; charset=utf-8/);
      assert.equal(r.headers['content-security-policy'], WEB_CSP);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['referrer-policy'], 'no-referrer');
      assert.equal(r.headers['x-frame-options'], 'DENY');
      assert.equal(r.headers['cache-control'], 'no-cache');
      assert.match(r.body, /<script type="module" crossorigin src="\.\/assets\/index-[\w-]+\.js"><\/script>/);
      // No inline script or style: every <script> has a src, there is no <style> element and no style attribute.
      assert.equal(/<script(?![^>]*\bsrc=)[^>]*>/.test(r.body), false, 'inline script');
      assert.equal(/<style\b|\sstyle=/.test(r.body), false, 'inline style');
    });
  }

  test('the hashed assets: long cache, CSP, nosniff, the right types; unknown asset 404', async () => {
    for (const app of ['console', 'account']) {
      const prefix = app === 'console' ? '/console/' : '/myaccount/';
      for (const f of readdirSync(`${WEB_DIST}${app}/assets`)) {
        const r = await h.inject({ url: `${prefix}assets/${f}` });
        assert.equal(r.statusCode, 200, `${prefix}assets/${f}`);
        assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
        assert.equal(r.headers['x-content-type-options'], 'nosniff');
        assert.equal(r.headers['content-security-policy'], WEB_CSP);
        assert.match(r.headers['content-type'] as string, f.endsWith('.js') ? /^(text|application)\/javascript/ : /^text\/css/);
      }
      const missing = await h.inject({ url: `${prefix}assets/nope.js` });
      assert.equal(missing.statusCode, 404);
      const traversal = await h.inject({ url: `${prefix}assets/..%2f..%2f..%2fpackage.json` });
      assert.equal(traversal.statusCode, 403, 'path traversal is refused by @fastify/static');
    }
  });

  test('GET /console and /myaccount redirect to the trailing slash (relative, so the domain prefix stays)', async () => {
    for (const [url, loc] of [['/console', './console/'], ['/myaccount', './myaccount/'], ['/domains/second/console', './console/']]) {
      await h.t.services.domains.create('second').catch(() => {});
      const r = await h.inject({ url });
      assert.equal(r.statusCode, 301, url);
      assert.equal(r.headers.location, loc);
    }
  });

  test('config.json per domain: issuer, client id, scope, domain, admin API', async () => {
    await h.t.services.domains.create('second').catch(() => {});
    const cases = [
      ['/console/config.json', { issuer: ISSUER, clientId: CONSOLE_CLIENT_ID, scope: 'openid profile email urn:opc:idm:__myscopes__ urn:opc:idm:t.user.me', domain: 'default', adminApi: `${ISSUER}/admin/v1` }],
      ['/myaccount/config.json', { issuer: ISSUER, clientId: ACCOUNT_CLIENT_ID, scope: 'openid profile email urn:opc:idm:t.user.me', domain: 'default', adminApi: `${ISSUER}/admin/v1` }],
      ['/domains/second/console/config.json', { issuer: `${ISSUER}/domains/second`, clientId: CONSOLE_CLIENT_ID, scope: 'openid profile email urn:opc:idm:__myscopes__ urn:opc:idm:t.user.me', domain: 'second', adminApi: `${ISSUER}/domains/second/admin/v1` }],
    ] as const;
    for (const [url, body] of cases) {
      const r = await h.inject({ url });
      assert.equal(r.statusCode, 200, r.body);
      assert.match(r.headers['content-type'] as string, /^application\/json/);
      assert.equal(r.headers['content-security-policy'], WEB_CSP);
      assert.deepEqual(r.json(), body);
    }
  });

  test('unknown domain, and the default domain under /domains/: 404 HTML page', async () => {
    for (const url of ['/domains/nope/console/', '/domains/nope/console/config.json', '/domains/default/console/', '/domains/nope/myaccount/', '/domains/BAD_NAME/console/']) {
      const r = await h.inject({ url });
      assert.equal(r.statusCode, 404, url);
      assert.match(r.headers['content-type'] as string, /^text\/html/, url);
    }
  });

  test('without a build: 503 HTML page that says to run npm run build', async () => {
    const f = Fastify();
    webApps(f, h.t.services, '/nonexistent/');
    for (const url of ['/console/', '/myaccount/']) {
      const r = await f.inject({ url });
      assert.equal(r.statusCode, 503);
      assert.match(r.headers['content-type'] as string, /^text\/html/);
      assert.equal(r.headers['cache-control'], 'no-store');
      // A server page's CSP (its inline style allowed by hash), not the app's, which would block that style.
      assert.match(r.headers['content-security-policy'] as string, /^default-src 'none'; style-src 'sha256-[^']+';.*frame-ancestors 'none'$/);
      assert.match(r.body, /npm run build/);
      assert.equal((await f.inject({ url: `${url}assets/index.js` })).statusCode, 404);
    }
    await f.close();
  });
});

describe('console and account: the built-in public clients', () => {
  let h: Harness;
  let admin: string;
  let consoleApp: ScimApp;
  let accountApp: ScimApp;
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    consoleApp = await builtinApp(h, admin, CONSOLE_CLIENT_ID);
    accountApp = await builtinApp(h, admin, ACCOUNT_CLIENT_ID);
  });
  after(async () => { await h?.close(); });

  test('both exist: built in, public, code grant only, redirect URIs from the issuer', () => {
    for (const [app, path] of [[consoleApp, '/console/'], [accountApp, '/myaccount/']] as const) {
      assert.equal(app.isBuiltIn, true);
      assert.equal(app.active, true);
      assert.equal(app.clientType, 'public');
      assert.deepEqual(app.allowedGrants, ['authorization_code']);
      assert.deepEqual(app.redirectUris, [`${ISSUER}${path}`]);
      assert.deepEqual(app.postLogoutRedirectUris, [`${ISSUER}${path}`]);
    }
  });

  test('a new domain gets them too, with its own issuer', async () => {
    const d = await scim(h, 'POST', '/admin/v1/IdentityDomains', admin, { name: 'third', displayName: 'Third' });
    assert.equal(d.statusCode, 201, d.body);
    const { client_id, client_secret } = d.json().adminClient as { client_id: string; client_secret: string };
    const t = await clientToken(h, client_id, client_secret, 'urn:opc:idm:__myscopes__', '/domains/third');
    assert.equal(t.statusCode, 200, t.body);
    const app = await builtinApp(h, t.json().access_token, CONSOLE_CLIENT_ID, '/domains/third');
    assert.deepEqual(app.redirectUris, [`${ISSUER}/domains/third/console/`]);
  });

  test('no other grant: the client-authenticated grants need a secret they lack (401), the rest are not allowed (400)', async () => {
    for (const clientId of [CONSOLE_CLIENT_ID, ACCOUNT_CLIENT_ID]) {
      for (const [body, status, error] of [
        [{ grant_type: 'client_credentials', scope: 'urn:opc:idm:__myscopes__' }, 401, 'invalid_client'],
        [{ grant_type: 'password', username: 'x', password: 'y', scope: 'openid' }, 401, 'invalid_client'],
        [{ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: 'a.b.c' }, 401, 'invalid_client'],
        [{ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: 'x', subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' }, 401, 'invalid_client'],
        [{ grant_type: 'refresh_token', refresh_token: 'x' }, 400, 'unauthorized_client'],
        [{ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: 'x' }, 400, 'unauthorized_client'],
      ] as const) {
        assertOAuthError(await post(h, '/oauth2/v1/token', { ...body, client_id: clientId }), status, error);
      }
      // A guessed secret does not make it confidential.
      assertOAuthError(await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials' }, { authorization: basic(clientId, 'guess') }), 401, 'invalid_client');
      assertOAuthError(await post(h, '/oauth2/v1/device', { client_id: clientId, scope: 'openid' }), 400, 'unauthorized_client');
    }
  });

  test('the Apps API refuses to change, replace, disable or delete them, even for a full administrator', async () => {
    for (const app of [consoleApp, accountApp]) {
      assertScimError(await scim(h, 'PUT', `/admin/v1/Apps/${app.id}`, admin, { schemas: [APP_SCHEMA], displayName: 'mine', isOAuthClient: true, clientType: 'public', allowedGrants: ['authorization_code'], redirectUris: ['https://evil.example/cb'] }), 400, 'mutability');
      for (const op of [
        { op: 'replace', path: 'redirectUris', value: ['https://evil.example/cb'] },
        { op: 'add', path: 'allowedGrants', value: ['client_credentials'] },
        { op: 'replace', path: 'active', value: false },
      ]) assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${app.id}`, admin, { schemas: [PATCH], Operations: [op] }), 400, 'mutability');
      assertScimError(await scim(h, 'DELETE', `/admin/v1/Apps/${app.id}`, admin), 400, 'mutability');
    }
    const after_ = await builtinApp(h, admin, CONSOLE_CLIENT_ID);
    assert.deepEqual(after_, consoleApp);
  });

  test('the Grants API refuses to add roles to them or take their roles away', async () => {
    const { id, appId } = await roleId(h, admin, 'Signin');
    for (const app of [consoleApp, accountApp]) {
      assertScimError(await scim(h, 'POST', '/admin/v1/Grants', admin, {
        schemas: [GRANT], app: { value: appId }, entitlement: { attributeName: 'appRoles', attributeValue: id }, grantMechanism: 'ADMINISTRATOR_TO_APP', grantee: { value: app.id, type: 'App' },
      }), 400, 'mutability');
      const grants = await scim(h, 'GET', `/admin/v1/Grants?filter=${encodeURIComponent(`grantee.value eq "${app.id}"`)}`, admin);
      assert.equal(grants.statusCode, 200, grants.body);
      const list = grants.json().Resources as { id: string }[];
      assert.ok(list.length >= 1, 'the built-in client holds its roles');
      for (const g of list) assertScimError(await scim(h, 'DELETE', `/admin/v1/Grants/${g.id}`, admin), 400, 'mutability');
    }
  });

  test('the AppRoles API refuses roles on them', async () => {
    assertScimError(await scim(h, 'POST', '/admin/v1/AppRoles', admin, { schemas: [ROLE], displayName: 'sneaky', app: { value: consoleApp.id } }), 400, 'mutability');
  });

  test('dynamic registration management cannot reach them (no registration access token exists)', async () => {
    for (const clientId of [CONSOLE_CLIENT_ID, ACCOUNT_CLIENT_ID]) {
      for (const method of ['GET', 'PUT', 'DELETE'] as const) {
        const r = await h.inject({
          method, url: `/oauth2/v1/register/${clientId}`, headers: { authorization: 'Bearer guessed', ...(method === 'PUT' ? { 'content-type': 'application/json' } : {}) },
          ...(method === 'PUT' ? { payload: JSON.stringify({ client_id: clientId, redirect_uris: ['https://evil.example/cb'] }) } : {}),
        });
        assert.equal(r.statusCode, 401, `${method} ${r.body}`);
        assert.equal(r.json().error, 'invalid_token');
      }
    }
  });

  test('the authorization endpoint requires PKCE and the exact redirect URI', async () => {
    const noPkce = await h.inject({ url: authorizeUrl({ response_type: 'code', client_id: CONSOLE_CLIENT_ID, redirect_uri: `${ISSUER}/console/`, scope: 'openid', state: 's' }) });
    assert.equal(noPkce.statusCode, 302, noPkce.body);
    assert.equal(new URL(noPkce.headers.location!).searchParams.get('error'), 'invalid_request');
    const elsewhere = await h.inject({ url: authorizeUrl({ response_type: 'code', client_id: CONSOLE_CLIENT_ID, redirect_uri: 'https://evil.example/console/', scope: 'openid', state: 's', code_challenge: pkce().challenge, code_challenge_method: 'S256' }) });
    assert.equal(elsewhere.statusCode, 400, 'no redirect to an unregistered URI');
    assert.equal(elsewhere.headers.location, undefined);
  });

  test('the console token carries exactly the admin scopes the user holds, with no consent page and no refresh token', async () => {
    const u = await createUser(h, admin);
    await grantUser(h, admin, 'User Administrator', u.id);
    const t = await codeFlow(h, CONSOLE_CLIENT_ID, '/console/', u.userName, 'openid profile email urn:opc:idm:__myscopes__ urn:opc:idm:t.user.me');
    assert.deepEqual(t.scope.split(' ').sort(), ['email', 'openid', 'profile', S.groups, S.groupsRead, S.me, S.users, S.usersRead].sort());
    assert.equal(t.refresh_token, undefined);
    assert.deepEqual(decode(t.id_token).payload.aud, CONSOLE_CLIENT_ID);
    // Works against the admin API for what the role allows, 403 for the rest.
    assert.equal((await scim(h, 'GET', '/admin/v1/Users?count=0', t.access_token)).statusCode, 200);
    assertScimError(await scim(h, 'GET', '/admin/v1/Apps?count=0', t.access_token), 403);
  });

  test('asking the console for an admin scope the user lacks is refused; a user without roles gets Me only', async () => {
    const plain = await createUser(h, admin);
    const t = await codeFlow(h, CONSOLE_CLIENT_ID, '/console/', plain.userName, 'openid profile email urn:opc:idm:__myscopes__ urn:opc:idm:t.user.me');
    assert.deepEqual(t.scope.split(' ').sort(), ['email', 'openid', 'profile', S.me].sort());
    assertScimError(await scim(h, 'GET', '/admin/v1/Users?count=0', t.access_token), 403);
    // A plain admin scope asked for by name: the user must hold it.
    const b = new Browser(h);
    const r = await signIn(b, authorizeUrl({
      response_type: 'code', client_id: CONSOLE_CLIENT_ID, redirect_uri: `${ISSUER}/console/`, scope: `openid ${S.settings}`, state: 's', code_challenge: pkce().challenge, code_challenge_method: 'S256',
    }), plain.userName);
    assert.equal(callbackParams(r).get('error'), 'invalid_scope');
  });

  test('the account token carries the Me scope only, even for an administrator', async () => {
    const u = await createUser(h, admin);
    await grantUser(h, admin, 'Identity Domain Administrator', u.id);
    const t = await codeFlow(h, ACCOUNT_CLIENT_ID, '/myaccount/', u.userName, 'openid profile email urn:opc:idm:t.user.me');
    assert.deepEqual(t.scope.split(' ').sort(), ['email', 'openid', 'profile', S.me].sort());
    assert.equal((await scim(h, 'GET', '/admin/v1/Me', t.access_token)).statusCode, 200);
    assertScimError(await scim(h, 'GET', '/admin/v1/Users?count=0', t.access_token), 403);
    // __myscopes__ through the account client yields nothing (it holds only the Me role, which no user holds),
    // and an admin scope by name is not the account client's to ask for.
    for (const scope of ['openid urn:opc:idm:__myscopes__', `openid ${S.users}`]) {
      const r = await signIn(new Browser(h), authorizeUrl({
        response_type: 'code', client_id: ACCOUNT_CLIENT_ID, redirect_uri: `${ISSUER}/myaccount/`, scope, state: 's', code_challenge: pkce().challenge, code_challenge_method: 'S256',
      }), u.userName);
      assert.equal(callbackParams(r).get('error'), 'invalid_scope', scope);
    }
  });
});

describe('console and account: brought up to date at start', () => {
  test('a bootstrap client id naming a built-in client is refused at start (it would get a secret and the admin role)', async () => {
    for (const id of [CONSOLE_CLIENT_ID, ACCOUNT_CLIENT_ID]) {
      await assert.rejects(harness({ config: { bootstrapClientId: id } }), /built-in client/);
    }
  });

  test('redirect URIs follow TESSERA_PUBLIC_URL; tampered fields and lost grants are repaired; idempotent', async () => {
    const database = await openDatabase('sqlite::memory:');
    try {
      const first = await harness({ database });
      const domain = (await first.t.services.repos.domains.getByName('default'))!;
      const repos = first.t.services.repos;
      const app = (await repos.apps.getByClientId(domain.id, CONSOLE_CLIENT_ID))!;
      // Someone with database access changed it, and took a grant away.
      await repos.apps.update({ ...app, allowedGrants: ['authorization_code', 'client_credentials'], redirectUris: ['https://evil.example/cb'] }, app.version);
      const grants = await repos.grants.listForGrantee(domain.id, 'App', app.id);
      await repos.grants.delete(domain.id, grants[0]!.id, grants[0]!.version);
      await first.t.close();

      const second = await harness({ database, config: { publicUrl: 'https://id.example.com' } });
      const again = (await repos.apps.getByClientId(domain.id, CONSOLE_CLIENT_ID))!;
      assert.deepEqual(again.redirectUris, ['https://id.example.com/console/']);
      assert.deepEqual(again.postLogoutRedirectUris, ['https://id.example.com/console/']);
      assert.deepEqual(again.allowedGrants, ['authorization_code']);
      assert.equal((await repos.grants.listForGrantee(domain.id, 'App', app.id)).length, grants.length);
      const version = again.version;
      // A second start with nothing to change writes nothing.
      await second.t.services.domains.upgradeBuiltins(domain);
      assert.equal((await repos.apps.getByClientId(domain.id, CONSOLE_CLIENT_ID))!.version, version);
      // Two nodes at once: both finish, one client each.
      await Promise.all([second.t.services.domains.upgradeBuiltins(domain), second.t.services.domains.upgradeBuiltins(domain)]);
      assert.equal((await repos.apps.list(domain.id)).filter((a) => a.clientId === CONSOLE_CLIENT_ID).length, 1);
      await second.t.close();
    } finally {
      await database.close();
    }
  });
});

describe('console and account: two nodes on PostgreSQL race to create the built-in clients', async () => {
  const available = await pgAvailable();
  const skip = available === true ? false : String(available);
  test('both nodes finish; one client of each kind, each role granted once', { skip }, async () => {
    const schema = schemaName();
    const mk = new MasterKey(randomBytes(32));
    const a = await harness({ masterKey: mk, database: await openDatabase(PG_URL, { pgSchema: schema }) });
    const b = await harness({ masterKey: mk, database: await openDatabase(PG_URL, { pgSchema: schema }) });
    try {
      const repos = a.t.services.repos;
      const domain = (await repos.domains.getByName('default'))!;
      for (const id of [CONSOLE_CLIENT_ID, ACCOUNT_CLIENT_ID]) {
        const app = (await repos.apps.getByClientId(domain.id, id))!;
        await repos.grants.deleteForGrantee(domain.id, 'App', app.id);
        assert.equal(await repos.apps.delete(domain.id, app.id, app.version), true);
      }
      // An older release's domain: both nodes start at once and create the clients.
      await Promise.all([a.t.services.domains.upgradeBuiltins(domain), b.t.services.domains.upgradeBuiltins(domain)]);
      const apps = await repos.apps.list(domain.id);
      for (const [id, roles] of [[CONSOLE_CLIENT_ID, 6], [ACCOUNT_CLIENT_ID, 1]] as const) {
        const mine = apps.filter((x) => x.clientId === id);
        assert.equal(mine.length, 1, id);
        assert.equal((await repos.grants.listForGrantee(domain.id, 'App', mine[0]!.id)).length, roles, id);
      }
    } finally {
      for (const h of [a, b]) { await h.close(); await h.t.database.close(); }
      await dropSchema(schema);
    }
  });
});
