import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import Fastify from 'fastify';
import { generate } from 'otplib';
import type { FixedClock } from '../../src/core/clock.js';
import type { DomainRecord } from '../../src/core/types.js';
import { CONSOLE_CLIENT_ID } from '../../src/identity/builtins.js';
import { WEB_CSP, webApps } from '../../src/http/web.js';
import { ISSUER, adminToken, assertScimError, basic, grantRole, harness, post, scim, type Harness } from '../helpers.js';
import { authorizeUrl, Browser, callbackParams, createUser, createWebApp, formOf, PASSWORD, pkce, REDIRECT, signIn } from '../signin.js';
import { createPortal, ME_SCOPE, type Portal } from '../account.js';
import { ensureWebBuild } from '../web_build.js';

/**
 * Red team of the console and account surfaces (issue 11): the built-in clients at the authorization
 * endpoint, the serving of the apps, and the self-service checks of the current password and of
 * one-time codes under parallel guessing.
 */
const S = (n: string) => `urn:ietf:params:scim:schemas:oracle:idcs:${n}`;
const MAX_FAILURES = 3;
/** loginLockoutSeconds (default 900 s). */
const LOCKOUT_MS = 900_000;

describe('red team: password and code checks of the self-service API under parallel guessing', () => {
  let h: Harness;
  let admin: string;
  let portal: Portal;
  let domain: DomainRecord;
  before(async () => {
    // A high address limit: every request here comes from one address, and the account's limit is what is tested.
    h = await harness({ config: { loginMaxFailures: MAX_FAILURES, loginIpMaxFailures: 100_000 } });
    admin = await adminToken(h);
    portal = await createPortal(h, admin);
    domain = (await h.t.services.repos.domains.getByName('default'))!;
  });
  after(() => h.close());

  const newUser = async () => {
    const u = await createUser(h, admin);
    const s = h.t.services;
    const client = (await s.repos.apps.getByClientId(domain.id, portal.clientId))!;
    const adminRs = [...(await s.catalogs.catalog(domain)).scopes.values()].find((x) => x.builtIn)!;
    const token = (await s.accessTokens.issue({ domain, issuer: ISSUER, client, sub: u.id, subType: 'user', userId: u.id, scopes: [ME_SCOPE], resourceServers: [adminRs] })).token;
    return { ...u, token };
  };
  const start = (token: string, password: string) => scim(h, 'POST', '/admin/v1/MyAuthenticationFactorInitiator', token, { schemas: [S('MyAuthenticationFactorInitiator')], authFactor: 'TOTP', password });
  const confirm = (token: string, otpCode: string) => scim(h, 'POST', '/admin/v1/MyAuthenticationFactorValidator', token, { schemas: [S('MyAuthenticationFactorValidator')], authFactor: 'TOTP', otpCode });
  /** Counts the calls of one service method while `fn` runs. */
  async function counting<T extends object>(o: T, name: keyof T & string, fn: () => Promise<unknown>): Promise<number> {
    const orig = o[name] as unknown as (...a: unknown[]) => Promise<unknown>;
    let calls = 0;
    (o as Record<string, unknown>)[name] = async (...a: unknown[]) => { calls++; return orig.apply(o, a); };
    try { await fn(); } finally { (o as Record<string, unknown>)[name] = orig; }
    return calls;
  }

  const passwordEndpoints = [
    ['MyAuthenticationFactorInitiator', (t: string, p: string) => start(t, p)],
    ['MyBypassCodesRegenerator', (t: string, p: string) => scim(h, 'POST', '/admin/v1/MyBypassCodesRegenerator', t, { schemas: [S('MyBypassCodesRegenerator')], password: p })],
    ['MyAuthenticationFactorsRemover', (t: string, p: string) => scim(h, 'POST', '/admin/v1/MyAuthenticationFactorsRemover', t, { schemas: [S('MyAuthenticationFactorsRemover')], authFactor: 'TOTP', password: p })],
    ['MePasswordChanger', (t: string, p: string) => scim(h, 'PUT', '/admin/v1/MePasswordChanger', t, { schemas: [S('MePasswordChanger')], oldPassword: p, password: 'a new passphrase 12345' })],
  ] as const;

  for (const [name, call] of passwordEndpoints) {
    test(`${name}: 20 parallel wrong passwords check at most ${MAX_FAILURES}, then the account is locked (the right one is refused)`, async () => {
      const u = await newUser();
      const checks = await counting(h.t.services.users, 'verifyPassword', async () => {
        const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => call(u.token, `wrong guess ${i}`)));
        for (const r of rs) assertScimError(r, 400, 'invalidValue');
      });
      assert.ok(checks <= MAX_FAILURES, `${checks} passwords were checked; the limit is ${MAX_FAILURES}`);
      assert.equal(await h.t.services.throttle.locked(domain.id, u.id, '127.0.0.1'), true);
      assertScimError(await call(u.token, PASSWORD), 400, 'invalidValue');
    });
  }

  test('MyAuthenticationFactorValidator: 20 parallel wrong codes check at most the limit, then the right code is refused', async () => {
    const u = await newUser();
    const st = await start(u.token, PASSWORD);
    assert.equal(st.statusCode, 201, st.body);
    const checks = await counting(h.t.services.totp, 'confirmPendingEnrolment', async () => {
      const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => confirm(u.token, String(100000 + i))));
      for (const r of rs) assertScimError(r, 400, 'invalidValue');
    });
    assert.ok(checks <= MAX_FAILURES, `${checks} codes were checked; the limit is ${MAX_FAILURES}`);
    (h.clock as FixedClock).advance(30_000);
    assertScimError(await confirm(u.token, await generate({ secret: st.json().secret, epoch: Math.floor(h.clock.now() / 1000) })), 400, 'invalidValue');
  });

  test('sequential guesses still lock after the limit; a right password in between clears the count (as sign-in does)', async () => {
    const u = await newUser();
    for (let i = 0; i < MAX_FAILURES - 1; i++) assertScimError(await start(u.token, 'nope'), 400, 'invalidValue');
    assert.equal((await start(u.token, PASSWORD)).statusCode, 201);
    for (let i = 0; i < MAX_FAILURES - 1; i++) assertScimError(await start(u.token, 'nope'), 400, 'invalidValue');
    assert.equal(await h.t.services.throttle.locked(domain.id, u.id, '127.0.0.1'), false);
    assertScimError(await start(u.token, 'nope'), 400, 'invalidValue');
    assert.equal(await h.t.services.throttle.locked(domain.id, u.id, '127.0.0.1'), true);
    assertScimError(await start(u.token, PASSWORD), 400, 'invalidValue');
  });

  test('a confirm with no enrolment in progress does not clear the count of wrong passwords', async () => {
    const u = await newUser();
    for (let i = 0; i < MAX_FAILURES - 1; i++) assertScimError(await start(u.token, 'nope'), 400, 'invalidValue');
    // No enrolment was started (the wrong passwords started none): 400, and the count stays.
    assertScimError(await confirm(u.token, '123456'), 400, 'invalidValue');
    assertScimError(await start(u.token, 'nope'), 400, 'invalidValue');
    assert.equal(await h.t.services.throttle.locked(domain.id, u.id, '127.0.0.1'), true);
  });

  test('held: three parallel confirms of one enrolment with the right code: one 201 with bypass codes, the others 400', async () => {
    const u = await newUser();
    const st = await start(u.token, PASSWORD);
    (h.clock as FixedClock).advance(30_000);
    const code = await generate({ secret: st.json().secret, epoch: Math.floor(h.clock.now() / 1000) });
    const rs = await Promise.all([1, 2, 3].map(() => confirm(u.token, code)));
    assert.deepEqual(rs.map((r) => r.statusCode).sort(), [201, 400, 400]);
    const ok = rs.find((r) => r.statusCode === 201)!;
    assert.equal(ok.json().bypassCodes.length, 10);
    const f = await scim(h, 'GET', '/admin/v1/MyAuthenticationFactors', u.token);
    assert.equal(f.json().bypassCodesRemaining, 10);
    assert.equal(f.json().factors.length, 1);
  });

  /** Counts the password checks of a known account (checkCredentials with a user) while `fn` runs. */
  async function credentialChecks(fn: () => Promise<void>): Promise<number> {
    const svc = h.t.services.authn as unknown as { d: { userService: { checkCredentials: (u: unknown, p: string) => Promise<boolean> } } };
    let checks = 0;
    const orig = svc.d.userService.checkCredentials;
    svc.d.userService.checkCredentials = async (user, p) => { if (user) checks++; return orig.call(svc.d.userService, user, p); };
    try { await fn(); } finally { svc.d.userService.checkCredentials = orig; }
    return checks;
  }

  // The same race was in AuthnService.checkPassword (sign-in pages, Authenticate API, password grant) and its
  // one-time-code checks: read "not locked", check, count after. They claim their place now too.
  test('password grant: 20 parallel wrong passwords check at most the limit, then the right one is refused', async () => {
    const u = await newUser();
    const app = await createWebApp(h, admin, { allowedGrants: ['password'] });
    const grant = (password: string) => post(h, '/oauth2/v1/token', { grant_type: 'password', username: u.userName, password, scope: 'openid' }, { authorization: basic(app.clientId, app.secret!) });
    const checks = await credentialChecks(async () => {
      const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => grant(`bad ${i}`)));
      for (const r of rs) assert.equal(r.json().error, 'invalid_grant');
    });
    assert.ok(checks <= MAX_FAILURES, `${checks} passwords were checked; the limit is ${MAX_FAILURES}`);
    assert.equal((await grant(PASSWORD)).json().error, 'invalid_grant');
  });

  test('sign-in pages: parallel wrong passwords from many browsers check at most the limit', async () => {
    const u = await newUser();
    const web = await createWebApp(h, admin);
    const forms = await Promise.all(Array.from({ length: 12 }, async () => {
      const b = new Browser(h);
      const r = await b.get(authorizeUrl({ response_type: 'code', client_id: web.clientId, redirect_uri: REDIRECT, scope: 'openid', state: 's', code_challenge: pkce().challenge, code_challenge_method: 'S256' }));
      const p = await b.get(r.headers.location!);
      return { b, f: formOf(p.body, 'credSubmit') };
    }));
    const checks = await credentialChecks(async () => {
      const rs = await Promise.all(forms.map(({ b, f }, i) => b.post(f.action, { ...f.fields, username: u.userName, password: `bad ${i}` })));
      for (const r of rs) assert.ok(r.statusCode < 500, r.body);
    });
    assert.ok(checks <= MAX_FAILURES, `${checks} passwords were checked; the limit is ${MAX_FAILURES}`);
    const st = await h.t.services.repos.throttle.get(domain.id, `u:${u.id}`);
    assert.ok(st?.lockedUntil, 'the account is locked');
    // A right password in a fresh browser is refused while locked.
    const b = new Browser(h);
    const r = await b.get(authorizeUrl({ response_type: 'code', client_id: web.clientId, redirect_uri: REDIRECT, scope: 'openid', state: 's', code_challenge: pkce().challenge, code_challenge_method: 'S256' }));
    const p = await b.get(r.headers.location!);
    const f = formOf(p.body, 'credSubmit');
    const ok = await b.post(f.action, { ...f.fields, username: u.userName, password: PASSWORD });
    assert.doesNotMatch(String(ok.headers.location ?? ''), /code=/, 'no code for a locked account');
  });

  test('after a lockout runs out, parallel guesses again check at most the limit; the right password then works', async () => {
    const u = await newUser();
    const app = await createWebApp(h, admin, { allowedGrants: ['password'] });
    const grant = (password: string) => post(h, '/oauth2/v1/token', { grant_type: 'password', username: u.userName, password, scope: 'openid' }, { authorization: basic(app.clientId, app.secret!) });
    for (let i = 0; i < MAX_FAILURES; i++) assert.equal((await grant('nope')).json().error, 'invalid_grant');
    assert.equal(await h.t.services.throttle.locked(domain.id, u.id, '127.0.0.1'), true);
    (h.clock as FixedClock).advance(LOCKOUT_MS + 1000);
    const checks = await credentialChecks(async () => {
      const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => grant(`bad ${i}`)));
      for (const r of rs) assert.equal(r.json().error, 'invalid_grant');
    });
    assert.ok(checks <= MAX_FAILURES, `${checks} passwords were checked after the lockout; the limit is ${MAX_FAILURES}`);
    assert.equal(await h.t.services.throttle.locked(domain.id, u.id, '127.0.0.1'), true);
    (h.clock as FixedClock).advance(LOCKOUT_MS + 1000);
    assert.equal((await grant(PASSWORD)).statusCode, 200);
  });

  test('a right password before a second factor leaves the count as it was: wrong codes after it lock at the limit as before', async () => {
    const u = await newUser();
    const app = await createWebApp(h, admin, { allowedGrants: ['password'] });
    const grant = (password: string) => post(h, '/oauth2/v1/token', { grant_type: 'password', username: u.userName, password, scope: 'openid' }, { authorization: basic(app.clientId, app.secret!) });
    for (let i = 0; i < MAX_FAILURES - 1; i++) assert.equal((await grant('nope')).json().error, 'invalid_grant');
    await h.t.services.authn.checkPassword(domain.id, u.userName, PASSWORD, '127.0.0.1', {});
    assert.equal((await h.t.services.repos.throttle.get(domain.id, `u:${u.id}`))?.failures, MAX_FAILURES - 1, 'the claim of the right password was taken back');
    assert.equal((await grant('nope')).json().error, 'invalid_grant');
    assert.equal(await h.t.services.throttle.locked(domain.id, u.id, '127.0.0.1'), true);
  });

  test('held: a User Administrator cannot unlock an Identity Domain Administrator; an Application Administrator cannot take over a Me or Signin client\'s secret', async () => {
    const tokenOf = async (role: string) => {
      const app = await createWebApp(h, admin, { allowedGrants: ['client_credentials'] });
      await grantRole(h, admin, role, 'App', app.id);
      const r = await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'urn:opc:idm:__myscopes__' }, { authorization: basic(app.clientId, app.secret!) });
      assert.equal(r.statusCode, 200, r.body);
      return { id: app.id, token: r.json().access_token as string };
    };
    const ida = await newUser();
    await grantRole(h, admin, 'Identity Domain Administrator', 'User', ida.id);
    const ua = await tokenOf('User Administrator');
    assertScimError(await scim(h, 'PUT', `/admin/v1/UserLockedStateChanger/${ida.id}`, ua.token, { schemas: [S('UserLockedStateChanger')], locked: { on: false } }), 403);
    const aa = await tokenOf('Application Administrator');
    for (const role of ['Me', 'Signin', 'User Administrator']) {
      const victim = await tokenOf(role);
      assertScimError(await scim(h, 'POST', '/admin/v1/AppClientSecretRegenerator', aa.token, { schemas: [S('AppClientSecretRegenerator')], appId: victim.id }), 403);
    }
  });

  test('held: wrong passwords lock only the caller\'s own account, never another user\'s', async () => {
    const [a, b] = [await newUser(), await newUser()];
    for (let i = 0; i < MAX_FAILURES + 2; i++) assertScimError(await start(a.token, 'nope'), 400, 'invalidValue');
    assert.equal(await h.t.services.throttle.locked(domain.id, b.id, '198.51.100.7'), false);
    assert.equal((await start(b.token, PASSWORD)).statusCode, 201);
  });
});

describe('red team: password spraying from one address in parallel (loginIpMaxFailures 5)', () => {
  let h: Harness;
  let admin: string;
  before(async () => {
    h = await harness({ config: { loginMaxFailures: MAX_FAILURES, loginIpMaxFailures: 5 } });
    admin = await adminToken(h);
  });
  after(() => h.close());

  test('one wrong password each for 15 accounts, all at once, checks at most the address\'s limit; then the address is refused', async () => {
    const app = await createWebApp(h, admin, { allowedGrants: ['password'] });
    const grant = (username: string, password: string) => post(h, '/oauth2/v1/token', { grant_type: 'password', username, password, scope: 'openid' }, { authorization: basic(app.clientId, app.secret!) });
    const users = await Promise.all(Array.from({ length: 15 }, () => createUser(h, admin)));
    const svc = h.t.services.authn as unknown as { d: { userService: { checkCredentials: (u: unknown, p: string) => Promise<boolean> } } };
    let checks = 0;
    const orig = svc.d.userService.checkCredentials;
    svc.d.userService.checkCredentials = async (user, p) => { if (user) checks++; return orig.call(svc.d.userService, user, p); };
    try {
      const rs = await Promise.all(users.map((u) => grant(u.userName, 'Spring2026!')));
      for (const r of rs) assert.equal(r.json().error, 'invalid_grant');
    } finally { svc.d.userService.checkCredentials = orig; }
    assert.ok(checks <= 5, `${checks} passwords were checked from one address; its limit is 5`);
    assert.equal((await grant(users[0]!.userName, PASSWORD)).json().error, 'invalid_grant', 'the address is locked');
  });

  test('right passwords from one address (an office behind one NAT) never count towards its limit', async () => {
    const app = await createWebApp(h, admin, { allowedGrants: ['password'] });
    const u = await createUser(h, admin);
    (h.clock as FixedClock).advance(LOCKOUT_MS + 1000); // the spray above locked this address
    for (let i = 0; i < 12; i++) {
      const r = await post(h, '/oauth2/v1/token', { grant_type: 'password', username: u.userName, password: PASSWORD, scope: 'openid' }, { authorization: basic(app.clientId, app.secret!) });
      assert.equal(r.statusCode, 200, r.body);
    }
  });
});

describe('red team: serving the console and account pages', () => {
  let h: Harness;
  before(async () => {
    ensureWebBuild();
    h = await harness();
    await h.t.services.domains.create('second');
  });
  after(() => h.close());

  test('the trailing-slash 301 carries the app\'s CSP and frame headers, and a relative location', async () => {
    for (const [url, loc] of [['/console', './console/'], ['/myaccount', './myaccount/'], ['/domains/second/console', './console/']] as const) {
      const r = await h.inject({ url });
      assert.equal(r.statusCode, 301, url);
      assert.equal(r.headers.location, loc);
      assert.equal(r.headers['content-security-policy'], WEB_CSP, url);
      assert.equal(r.headers['x-frame-options'], 'DENY', url);
    }
  });

  test('any other page under the apps is an HTML 404 under a strict CSP, framing refused, not stored', async () => {
    for (const url of ['/console/nothing', '/console/index.html', '/console/assets', '/myaccount/x/y', '/domains/second/console/..%2f..%2fpackage.json', '/console/config.json/']) {
      const r = await h.inject({ url });
      assert.equal(r.statusCode, 404, url);
      assert.match(r.headers['content-type'] as string, /^text\/html/, url);
      const csp = r.headers['content-security-policy'] as string;
      assert.match(csp, /default-src 'none'/, url);
      assert.match(csp, /frame-ancestors 'none'/, url);
      assert.doesNotMatch(csp, /unsafe-inline/, url);
      assert.equal(r.headers['x-frame-options'], 'DENY', url);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(r.headers['cache-control'], 'no-store', url);
      assert.doesNotMatch(r.body, /"name"\s*:\s*"tessera"/, 'no file outside the build is served');
    }
  });

  test('the 404 and 503 pages\' inline style is allowed by their CSP (by hash), so they show as designed with no CSP violation', async () => {
    const f = Fastify();
    webApps(f, h.t.services, '/nonexistent/');
    for (const r of [await h.inject({ url: '/console/nothing' }), await f.inject({ url: '/console/' }), await f.inject({ url: '/myaccount/' })]) {
      assert.ok(r.statusCode === 404 || r.statusCode === 503, String(r.statusCode));
      const style = /<style>([\s\S]*?)<\/style>/.exec(r.body)?.[1];
      assert.ok(style !== undefined, 'the page has its inline style');
      const hash = `'sha256-${createHash('sha256').update(style).digest('base64')}'`;
      assert.ok((r.headers['content-security-policy'] as string).includes(`style-src ${hash}`), r.headers['content-security-policy'] as string);
      assert.equal(r.headers['x-frame-options'], 'DENY');
    }
    await f.close();
  });

  test('held: traversal, NUL and dot files under assets are refused; the open-redirect shapes do not redirect off site', async () => {
    for (const url of ['/console/assets/..%2f..%2f..%2fpackage.json', '/console/assets/..%252f..%252fpackage.json', '/console/assets/a%00b', '/console/assets/.hidden', '/console/assets/..%5c..%5cindex.html']) {
      const r = await h.inject({ url });
      assert.ok(r.statusCode === 403 || r.statusCode === 404, `${url} ${r.statusCode}`);
      assert.doesNotMatch(r.body, /"dependencies"/, url);
    }
    // A location is only ever the relative "./console/": resolved against the request, it stays on this host.
    for (const url of ['//evil.example/console', '/domains/x%2f%2fevil.example/console', '/\\evil.example/console', '/domains/second/console?x=//evil.example']) {
      const r = await h.inject({ url });
      const loc = r.headers.location;
      if (loc !== undefined) assert.match(String(loc), /^\.\/(console|myaccount)\/$/, url);
    }
  });

  test('held: HEAD answers as GET; config.json for odd domain names is a 404 page', async () => {
    const head = await h.inject({ method: 'HEAD', url: '/console/' });
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-security-policy'], WEB_CSP);
    for (const url of ['/domains/SECOND/console/config.json', '/domains/default/console/config.json', `/domains/${'a'.repeat(70)}/console/config.json`, '/domains/%C3%A9/console/config.json']) {
      const r = await h.inject({ url });
      assert.equal(r.statusCode, 404, url);
      assert.match(r.headers['content-type'] as string, /^text\/html/, url);
    }
  });

  test('an Identity Domain Administrator\'s console token carries no Signin scope: the Authenticate API refuses it', async () => {
    const admin = await adminToken(h);
    const u = await createUser(h, admin);
    await grantRole(h, admin, 'Identity Domain Administrator', 'User', u.id);
    const { verifier, challenge } = pkce();
    const redirect_uri = `${ISSUER}/console/`;
    for (const scope of ['openid urn:opc:idm:__myscopes__ urn:opc:idm:t.user.me', 'openid urn:opc:idm:role.Identity%20Domain%20Administrator']) {
      const r = await signIn(new Browser(h), authorizeUrl({ response_type: 'code', client_id: CONSOLE_CLIENT_ID, redirect_uri, scope, state: 's', code_challenge: challenge, code_challenge_method: 'S256' }), u.userName);
      const t = await post(h, '/oauth2/v1/token', { grant_type: 'authorization_code', client_id: CONSOLE_CLIENT_ID, code: callbackParams(r).get('code')!, redirect_uri, code_verifier: verifier });
      assert.equal(t.statusCode, 200, t.body);
      const scopes = (t.json().scope as string).split(' ');
      assert.ok(scopes.includes('urn:opc:idm:t.settings'), 'the administrator\'s scopes are there');
      assert.equal(scopes.includes('urn:opc:idm:t.security.signin'), false, scope);
      const a = await h.inject({ method: 'GET', url: '/sso/v1/sdk/authenticate?appName=x', headers: { authorization: `Bearer ${t.json().access_token}` } });
      assert.equal(a.statusCode, 403, a.body);
    }
    // Asked for by name: not the console's to have.
    const r = await signIn(new Browser(h), authorizeUrl({ response_type: 'code', client_id: CONSOLE_CLIENT_ID, redirect_uri, scope: 'openid urn:opc:idm:t.security.signin', state: 's', code_challenge: challenge, code_challenge_method: 'S256' }), u.userName);
    assert.equal(callbackParams(r).get('error'), 'invalid_scope');
  });

  test('held: another domain\'s administrator cannot reach this domain\'s built-in clients, nor this one\'s there', async () => {
    const admin = await adminToken(h);
    const d = await scim(h, 'POST', '/admin/v1/IdentityDomains', admin, { name: 'rt11', displayName: 'RT11' });
    assert.equal(d.statusCode, 201, d.body);
    const { client_id, client_secret } = d.json().adminClient as { client_id: string; client_secret: string };
    const other = (await post(h, '/domains/rt11/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'urn:opc:idm:__myscopes__' }, { authorization: basic(client_id, client_secret) })).json().access_token as string;
    const apps = (await scim(h, 'GET', '/admin/v1/Apps?count=200', admin)).json().Resources as { id: string; name?: string }[];
    const consoleApp = apps.find((a) => a.name === CONSOLE_CLIENT_ID)!;
    // Its token at this domain's API: not for this audience.
    assertScimError(await scim(h, 'GET', `/admin/v1/Apps/${consoleApp.id}`, other), 401);
    // This domain's console id at its own API: unknown there.
    assertScimError(await scim(h, 'PATCH', `/domains/rt11/admin/v1/Apps/${consoleApp.id}`, other, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'redirectUris', value: ['https://evil.example/'] }] }), 404);
    assertScimError(await scim(h, 'POST', '/domains/rt11/admin/v1/AppClientSecretRegenerator', other, { schemas: [S('AppClientSecretRegenerator')], appId: consoleApp.id }), 404);
  });

  test('held: the console client at the authorization endpoint: exact redirect URI only, S256 only, code only', async () => {
    const base = { response_type: 'code', client_id: CONSOLE_CLIENT_ID, scope: 'openid', state: 's', code_challenge: pkce().challenge, code_challenge_method: 'S256' };
    // Not registered: an HTML error page, no redirect at all.
    for (const redirect_uri of [`${ISSUER}/console`, `${ISSUER}/Console/`, 'http://LOCALHOST:8080/console/', `${ISSUER}/console/../myaccount/`, `${ISSUER}/x/../console/`,
      `${ISSUER}/console/?x=1`, `${ISSUER}/console/#x`, `${ISSUER}/console//`, `${ISSUER}/domains/second/console/`, 'http://evil@localhost:8080/console/', `${ISSUER}/%63onsole/`, `${ISSUER}/myaccount/`]) {
      const r = await h.inject({ url: authorizeUrl({ ...base, redirect_uri }) });
      assert.equal(r.statusCode, 400, redirect_uri);
      assert.equal(r.headers.location, undefined, redirect_uri);
    }
    // The other domain's console URI at this domain's endpoint, and this one's there.
    const cross = await h.inject({ url: authorizeUrl({ ...base, redirect_uri: `${ISSUER}/console/` }, '/domains/second') });
    assert.equal(cross.statusCode, 400);
    // Registered URI, refused requests: the error goes back to the console, never a code.
    for (const [extra, error] of [
      [{ code_challenge_method: 'plain', code_challenge: 'a'.repeat(43) }, 'invalid_request'],
      [{ code_challenge_method: '' }, 'invalid_request'],
      [{ response_type: 'token' }, 'unauthorized_client'],
      [{ response_type: 'id_token', nonce: 'n' }, 'unauthorized_client'],
      [{ response_type: 'code id_token', nonce: 'n' }, 'unsupported_response_type'],
      [{ response_mode: 'web_message' }, 'invalid_request'],
      [{ prompt: 'none' }, 'login_required'],
    ] as const) {
      const r = await h.inject({ url: authorizeUrl({ ...base, redirect_uri: `${ISSUER}/console/`, ...extra } as Record<string, string>) });
      assert.equal(r.statusCode, 302, JSON.stringify(extra));
      const u = new URL(r.headers.location!);
      assert.equal(`${u.origin}${u.pathname}`, `${ISSUER}/console/`);
      const p = u.hash ? new URLSearchParams(u.hash.slice(1)) : u.searchParams;
      assert.equal(p.get('error'), error, JSON.stringify(extra));
      assert.equal(p.get('code'), null);
    }
  });
});
