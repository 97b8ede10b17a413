import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { loadConfig, ConfigError } from '../../src/config/load.js';
import { DEFAULT_DOMAIN } from '../../src/core/types.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { hasAdministratorUser } from '../../src/identity/administrators.js';
import { firstRunSlot } from '../../src/identity/first_admin.js';
import { openDatabase } from '../../src/storage/db.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from '../contract/pg.js';
import { isLoopbackAddress } from '../../src/endpoints/welcome.js';
import { csrfToken } from '../../src/http/browser_session.js';
import { adminToken, basic, grantRole, harness, ISSUER, post, scim, type Harness } from '../helpers.js';
import { Browser, authorizeUrl, callbackParams, createUser, createWebApp, formOf, pkce, REDIRECT, signIn } from '../signin.js';

interface AuditEvent { targetType: string; targetId: string; outcome: string; clientIp?: string; details: string }

const GOOD = 'first-run admin passphrase 42';
const REMOTE = '203.0.113.7';

/** A browser with a cookie jar whose requests come from `remoteAddress` (inject's default is 127.0.0.1). */
class Visitor {
  cookies = new Map<string, string>();
  constructor(private h: Harness, private remoteAddress = '127.0.0.1', private extra: Record<string, string> = {}) {}
  private store(r: LightMyRequestResponse) {
    const set = r.headers['set-cookie'];
    for (const c of (Array.isArray(set) ? set : set ? [set] : [])) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
  }
  private cookie() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
  async get(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
    const r = await this.h.inject({ method, url, remoteAddress: this.remoteAddress, headers: { cookie: this.cookie(), ...this.extra, ...headers } });
    this.store(r);
    return r;
  }
  async post(url: string, form: Record<string, string> | string, headers: Record<string, string> = {}) {
    const r = await this.h.inject({
      method: 'POST', url, remoteAddress: this.remoteAddress, payload: typeof form === 'string' ? form : new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: this.cookie(), ...this.extra, ...headers },
    });
    this.store(r);
    return r;
  }
  /** GET the page, then post its form with these fields (csrf from the page). */
  async submit(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    const page = await this.get(url);
    assert.equal(page.statusCode, 200, page.body);
    const f = formOf(page.body);
    return this.post(f.action.replace(ISSUER, ''), { ...f.fields, ...fields }, headers);
  }
}

const hasForm = (html: string) => /<form method="post"/.test(html);
const adminFields = (username: string, password = GOOD) => ({ username, password, password2: password });

function assertPageHeaders(r: LightMyRequestResponse) {
  assert.match(String(r.headers['content-type']), /^text\/html; charset=utf-8/);
  const csp = String(r.headers['content-security-policy']);
  assert.match(csp, /(^|;)\s*default-src 'none'\s*(;|$)/);
  assert.match(csp, /(^|;)\s*frame-ancestors 'none'\s*(;|$)/);
  assert.match(csp, /style-src 'sha256-[A-Za-z0-9+/=]+'/);
  assert.doesNotMatch(csp, /script-src/, 'no script on the welcome pages');
  assert.equal(r.headers['x-frame-options'], 'DENY');
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal(r.headers['referrer-policy'], 'no-referrer');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.doesNotMatch(r.body, /<script/);
}

async function defaultDomainId(h: Harness) { return (await h.t.services.repos.domains.getByName(DEFAULT_DOMAIN))!.id; }

/** The users holding the Identity Domain Administrator role through a grant, by user name. */
async function adminUsers(h: Harness, token: string): Promise<string[]> {
  const roles = await scim(h, 'GET', `/admin/v1/AppRoles?filter=${encodeURIComponent('displayName eq "Identity Domain Administrator"')}`, token);
  const roleId = roles.json().Resources[0].id as string;
  const grants = (await scim(h, 'GET', '/admin/v1/Grants?count=500', token)).json().Resources as { entitlement: { attributeValue: string }; grantee: { type: string; display?: string } }[];
  return grants.filter((g) => g.entitlement.attributeValue === roleId && g.grantee.type === 'User').map((g) => g.grantee.display!).sort();
}

describe('welcome page: content, domains, methods', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
    await h.t.services.domains.create('acme', 'Acme Corp');
  });
  after(() => h.close());

  test('GET / names the issuer and links discovery, console and account page, with the first-run form on this machine', async () => {
    const r = await new Visitor(h).get('/');
    assert.equal(r.statusCode, 200, r.body);
    assertPageHeaders(r);
    assert.match(r.body, /<title>Tessera<\/title>/);
    assert.match(r.body, new RegExp(`<code id="issuer">${ISSUER.replace(/[/.]/g, '\\$&')}</code>`));
    for (const href of [`${ISSUER}/.well-known/openid-configuration`, `${ISSUER}/console/`, `${ISSUER}/myaccount/`]) assert.ok(r.body.includes(`href="${href}"`), href);
    assert.ok(hasForm(r.body), 'a client administrator (the bootstrap client) is no administrator user: the form is offered');
    const f = formOf(r.body);
    assert.equal(f.action, `${ISSUER}/`);
    assert.match(f.fields.csrf!, /^[A-Za-z0-9_-]{43}$/);
    for (const name of ['username', 'password', 'password2', 'email']) assert.match(r.body, new RegExp(`name="${name}"`));
    assert.match(r.body, /At least 8 characters/);
    assert.match(String(r.headers['set-cookie']), /^tessera_bind_default=[^;]+; Path=\/; HttpOnly; SameSite=Lax/);
  });

  test('another domain: its page at /domains/NAME/ with its own issuer; /domains/NAME redirects there', async () => {
    const r = await new Visitor(h).get('/domains/acme/');
    assert.equal(r.statusCode, 200, r.body);
    assertPageHeaders(r);
    assert.ok(r.body.includes(`<code id="issuer">${ISSUER}/domains/acme</code>`));
    assert.match(r.body, /Identity domain Acme Corp \(acme\)/);
    for (const href of [`${ISSUER}/domains/acme/.well-known/openid-configuration`, `${ISSUER}/domains/acme/console/`, `${ISSUER}/domains/acme/myaccount/`]) assert.ok(r.body.includes(`href="${href}"`), href);
    assert.equal(formOf(r.body).action, `${ISSUER}/domains/acme/`);
    assert.match(String(r.headers['set-cookie']), /tessera_bind_acme=[^;]+; Path=\/domains\/acme;/);
    const disc = await h.inject({ method: 'GET', url: '/domains/acme/.well-known/openid-configuration' });
    assert.equal(disc.json().issuer, `${ISSUER}/domains/acme`, 'the linked discovery document is the domain\'s');
    const bare = await h.inject({ method: 'GET', url: '/domains/acme' });
    assert.equal(bare.statusCode, 301);
    assert.equal(bare.headers.location, `${ISSUER}/domains/acme/`);
    assert.equal(bare.body, '');
    const bareHead = await h.inject({ method: 'HEAD', url: '/domains/acme' });
    assert.equal(bareHead.statusCode, 301);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'] as const) {
      const r = await h.inject({ method, url: '/domains/acme', payload: 'csrf=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(r.statusCode, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD');
      assertPageHeaders(r);
    }
  });

  test('unknown domains and /domains/default/ are 404 HTML pages', async () => {
    for (const url of ['/domains/nope/', '/domains/nope', '/domains/default/', '/domains/default', '/domains/Bad%20Name/']) {
      const r = await h.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 404, url);
      assert.match(String(r.headers['content-type']), /^text\/html/, url);
      assert.match(r.body, /unknown identity domain/, url);
      const p = await h.inject({ method: 'POST', url, payload: 'csrf=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(p.statusCode, 404, `POST ${url}`);
    }
  });

  test('HEAD is the GET without a body; PUT, DELETE and PATCH are 405 pages with Allow', async () => {
    const head = await new Visitor(h).get('/', {}, 'HEAD');
    assert.equal(head.statusCode, 200);
    assert.equal(head.body, '');
    assert.match(String(head.headers['content-type']), /^text\/html/);
    for (const method of ['PUT', 'DELETE', 'PATCH'] as const) {
      for (const url of ['/', '/domains/acme/']) {
        const r = await h.inject({ method, url });
        assert.equal(r.statusCode, 405, `${method} ${url}`);
        assert.equal(r.headers.allow, 'GET, HEAD, POST');
        assertPageHeaders(r);
      }
    }
  });

  test('loopback addresses: 127.0.0.0/8, ::1 and ::ffff:127.x only', () => {
    for (const a of ['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.2', '0:0:0:0:0:0:0:1']) assert.equal(isLoopbackAddress(a), true, a);
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '0.0.0.0', '::', '192.168.1.1', 'fe80::1', 'localhost', '', undefined, '127.0.0.1.evil']) assert.equal(isLoopbackAddress(a), false, String(a));
  });
});

describe('welcome page: who gets the form', () => {
  let h: Harness;
  before(async () => { h = await harness(); });
  after(() => h.close());

  const cases: [string, string, Record<string, string>][] = [
    ['::1', '::1', {}],
    ['IPv4-mapped loopback', '::ffff:127.0.0.2', {}],
    ['127.x other than .1', '127.3.4.5', {}],
    ['the issuer host', '127.0.0.1', { host: 'localhost:8080' }],
    ['127.0.0.1 host', '127.0.0.1', { host: '127.0.0.1:8080' }],
    ['[::1] host', '::1', { host: '[::1]:8080' }],
    ['same-machine Origin', '127.0.0.1', { origin: 'http://localhost:8080' }],
  ];
  for (const [what, address, headers] of cases) {
    test(`form offered: ${what}`, async () => {
      const r = await new Visitor(h, address, headers).get('/');
      assert.equal(r.statusCode, 200);
      assert.ok(hasForm(r.body), r.body);
    });
  }

  const refusedCases: [string, string, Record<string, string>][] = [
    ['a remote address', REMOTE, {}],
    ['a private LAN address', '192.168.1.20', {}],
    ['a remote address claiming X-Forwarded-For 127.0.0.1', REMOTE, { 'x-forwarded-for': '127.0.0.1' }],
    ['a loopback peer with X-Forwarded-For (a proxy on this machine)', '127.0.0.1', { 'x-forwarded-for': '198.51.100.4' }],
    ['a loopback peer with Forwarded', '127.0.0.1', { forwarded: 'for=198.51.100.4' }],
    ['a loopback peer with X-Real-IP', '127.0.0.1', { 'x-real-ip': '198.51.100.4' }],
    ['a loopback peer with Via', '127.0.0.1', { via: '1.1 proxy' }],
    ['a rebound DNS name (Host not this machine)', '127.0.0.1', { host: 'evil.example:8080' }],
    ['a cross-site Origin', '127.0.0.1', { origin: 'http://evil.example:8080' }],
  ];
  for (const [what, address, headers] of refusedCases) {
    test(`no form for ${what}: the page says how to do it on the machine`, async () => {
      const r = await new Visitor(h, address, headers).get('/');
      assert.equal(r.statusCode, 200);
      assertPageHeaders(r);
      assert.ok(!hasForm(r.body), r.body);
      assert.match(r.body, /only offered on the machine itself/);
      assert.ok(r.body.includes('<code id="cli">npx tessera user create --admin --username NAME --password-stdin</code>'), r.body);
      assert.match(r.body, /TESSERA_BOOTSTRAP_ADMIN_USERNAME/);
      assert.equal(r.headers['set-cookie'], undefined, 'no cookie for visitors who get no form');
    });
  }

  test('TESSERA_TRUST_PROXY does not make a forwarded loopback address local', async () => {
    const p = await harness({ config: { trustProxy: true } });
    try {
      const r = await new Visitor(p, REMOTE, { 'x-forwarded-for': '127.0.0.1' }).get('/');
      assert.ok(!hasForm(r.body));
      const loopProxy = await new Visitor(p, '127.0.0.1', { 'x-forwarded-for': '127.0.0.1' }).get('/');
      assert.ok(!hasForm(loopProxy.body), 'a forwarded request is never local, whatever it claims');
    } finally {
      await p.close();
    }
  });

  test('the other domain\'s remote page names its --domain', async () => {
    await h.t.services.domains.create('beta', 'beta');
    const r = await new Visitor(h, REMOTE).get('/domains/beta/');
    assert.ok(r.body.includes('npx tessera user create --admin --username NAME --password-stdin --domain beta'), r.body);
  });
});

describe('first-run form: POST', () => {
  let h: Harness;
  let root: string;
  before(async () => {
    h = await harness();
    root = await adminToken(h);
  });
  after(() => h.close());

  const noAdminYet = async () => assert.equal(await hasAdministratorUser(h.t.services.repos, await defaultDomainId(h)), false);

  test('refused from another machine even with a valid CSRF token and binding cookie; audited', async () => {
    const local = new Visitor(h);
    const page = await local.get('/');
    const f = formOf(page.body);
    for (const [address, headers] of [[REMOTE, {}], [REMOTE, { 'x-forwarded-for': '127.0.0.1' }], ['127.0.0.1', { 'x-forwarded-for': REMOTE }], ['127.0.0.1', { host: 'evil.example' }], ['127.0.0.1', { origin: 'https://evil.example' }]] as const) {
      const r = await h.inject({
        method: 'POST', url: '/', remoteAddress: address, payload: new URLSearchParams({ ...f.fields, ...adminFields('mallory') }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: [...local.cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...headers },
      });
      assert.equal(r.statusCode, 403, `${address} ${JSON.stringify(headers)}`);
      assertPageHeaders(r);
      assert.match(r.body, /<h1>Not on this machine<\/h1>/);
      assert.match(r.body, /npx tessera user create --admin/);
    }
    await noAdminYet();
    assert.equal(await h.t.services.repos.users.getByUserName(await defaultDomainId(h), 'mallory'), undefined);
    await h.t.services.events.flush();
    const denied = await scim(h, 'GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent('eventId eq "admin.access_denied"')}`, root);
    const ev = (denied.json().Resources as { targetId: string; clientIp: string; outcome: string }[]).filter((e) => e.targetId === `POST ${ISSUER}/`);
    assert.ok(ev.length >= 1, denied.body);
    assert.ok(ev.some((e) => e.clientIp === REMOTE && e.outcome === 'failure'), denied.body);
  });

  test('missing, wrong or unbound CSRF token: 403, nothing created', async () => {
    const v = new Visitor(h);
    const f = formOf((await v.get('/')).body);
    const other = new Visitor(h);
    const otherToken = formOf((await other.get('/')).body).fields.csrf!;
    const cases: [string, () => Promise<LightMyRequestResponse>][] = [
      ['no token', () => v.post('/', adminFields('eve'))],
      ['empty token', () => v.post('/', { csrf: '', ...adminFields('eve') })],
      ['wrong token', () => v.post('/', { csrf: 'A'.repeat(43), ...adminFields('eve') })],
      ['another browser\'s token', () => v.post('/', { csrf: otherToken, ...adminFields('eve') })],
      ['no binding cookie', () => h.inject({ method: 'POST', url: '/', payload: new URLSearchParams({ ...f.fields, ...adminFields('eve') }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } })],
      ['a JSON body', () => h.inject({ method: 'POST', url: '/', payload: JSON.stringify({ ...f.fields, ...adminFields('eve') }), headers: { 'content-type': 'application/json', cookie: [...v.cookies].map(([k, x]) => `${k}=${x}`).join('; ') } })],
      ['the other domain\'s token on this domain', async () => {
        await h.t.services.domains.create('gamma', 'gamma').catch(() => undefined);
        const g = formOf((await v.get('/domains/gamma/')).body);
        return v.post('/', { csrf: g.fields.csrf!, ...adminFields('eve') });
      }],
    ];
    for (const [what, send] of cases) {
      const r = await send();
      assert.equal(r.statusCode, 403, `${what}: ${r.body}`);
      assert.match(String(r.headers['content-type']), /^text\/html/, what);
      assert.match(r.body, /Request refused/, what);
    }
    await noAdminYet();
  });

  test('bad input is re-rendered with the reason, the name kept and the password never echoed', async () => {
    const secretish = 'Zq9-unique-Password';
    const cases: [string, Record<string, string>, number, RegExp][] = [
      ['common password', adminFields('ada', 'password123'), 400, /password policy \(common\)/],
      ['short password', adminFields('ada', 'Zq9-x'), 400, /password policy \(minLength\): password must be at least 8 characters long/],
      ['password = user name', adminFields('adalovelace', 'adalovelace'), 400, /password policy \(userName\)/],
      ['mismatched passwords', { username: 'ada', password: secretish, password2: `${secretish}!` }, 400, /The two passwords differ/],
      ['no password', { username: 'ada', password: '', password2: '' }, 400, /Enter a password/],
      ['no user name', adminFields(''), 400, /Enter a user name/],
      ['a user name with a space', adminFields('ada lovelace'), 400, /That user name cannot be used/],
      ['a bad email', { ...adminFields('ada', secretish), email: 'not-an-address' }, 400, /not an email address/],
    ];
    for (const [what, fields, status, reason] of cases) {
      const r = await new Visitor(h).submit('/', fields);
      assert.equal(r.statusCode, status, `${what}: ${r.body}`);
      assertPageHeaders(r);
      assert.match(r.body, reason, what);
      assert.ok(hasForm(r.body), `${what}: the form is shown again`);
      assert.match(r.body, /role="alert"/);
      if (fields.password) assert.ok(!r.body.includes(fields.password) || fields.password === fields.username, `${what}: the password is echoed`);
      assert.ok(!r.body.includes(secretish), `${what}: the password is echoed`);
      if (fields.username && what !== 'a user name with a space') assert.ok(r.body.includes(`value="${fields.username}"`), `${what}: the name is kept`);
    }
    const twice = await new Visitor(h).submit('/', { ...adminFields('ada') }, {});
    assert.equal(twice.statusCode, 201, 'sanity: the same browser flow works with good input');
    // Undo, so the next tests start without an administrator.
    const ada = (await h.t.services.repos.users.getByUserName(await defaultDomainId(h), 'ada'))!;
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Users/${ada.id}`, root)).statusCode, 204);
    await noAdminYet();
  });

  test('a repeated field is refused', async () => {
    const v = new Visitor(h);
    const f = formOf((await v.get('/')).body);
    const r = await v.post('/', `${new URLSearchParams({ ...f.fields, ...adminFields('ada') })}&username=other`);
    assert.equal(r.statusCode, 400);
    assert.match(r.body, /sent more than once/);
    await noAdminYet();
  });

  test('a taken user name is re-rendered (409) and creates no administrator', async () => {
    const taken = await createUser(h, root, 'taken-name');
    const r = await new Visitor(h).submit('/', adminFields('TAKEN-name'));
    assert.equal(r.statusCode, 409, r.body);
    assert.match(r.body, /A user named TAKEN-name exists already/);
    assert.ok(hasForm(r.body));
    await noAdminYet();
    assert.deepEqual((await h.t.services.repos.grants.listForGrantee(await defaultDomainId(h), 'User', taken.id)), []);
  });

  test('racing posts (different names, one browser each) make exactly one administrator', async () => {
    const a = new Visitor(h);
    const b = new Visitor(h);
    const c = new Visitor(h);
    const [fa, fb, fc] = await Promise.all([a.get('/'), b.get('/'), c.get('/')].map(async (p) => formOf((await p).body)));
    const rs = await Promise.all([
      a.post('/', { ...fa!.fields, ...adminFields('racer-a') }),
      b.post('/', { ...fb!.fields, ...adminFields('racer-b') }),
      c.post('/', { ...fc!.fields, ...adminFields('racer-c') }),
    ]);
    const codes = rs.map((r) => r.statusCode).sort();
    assert.deepEqual(codes, [201, 409, 409], rs.map((r) => r.body.slice(0, 300)).join('\n'));
    for (const r of rs.filter((x) => x.statusCode === 409)) assert.match(r.body, /Administrator exists/);
    const admins = await adminUsers(h, root);
    assert.equal(admins.length, 1, JSON.stringify(admins));
    const d = await defaultDomainId(h);
    // The losers' users are gone again.
    const present = await Promise.all(['racer-a', 'racer-b', 'racer-c'].map((n) => h.t.services.repos.users.getByUserName(d, n)));
    assert.deepEqual(present.filter(Boolean).map((u) => u!.userName), admins);
  });

  test('once an administrator exists: no form, a POST is refused with 409', async () => {
    const v = new Visitor(h);
    const page = await v.get('/');
    assert.ok(!hasForm(page.body));
    assert.ok(!/No administrator yet/.test(page.body));
    assert.equal(page.headers['set-cookie'], undefined);
    const remote = await new Visitor(h, REMOTE).get('/');
    assert.ok(!/only offered on the machine/.test(remote.body), 'nothing about first run for anyone');
    // A form fetched before the administrator existed, posted now.
    const binding = new Visitor(h);
    binding.cookies.set('tessera_bind_default', 'b'.repeat(43));
    const csrf = csrfToken(h.t.services, 'first-run-administrator', 'b'.repeat(43));
    const r = await binding.post('/', { csrf, ...adminFields('late-comer') });
    assert.equal(r.statusCode, 409, r.body);
    assertPageHeaders(r);
    assert.match(r.body, /already has an administrator/);
    assert.equal(await h.t.services.repos.users.getByUserName(await defaultDomainId(h), 'late-comer'), undefined);
  });
});

describe('first-run form: the administrator it makes', () => {
  let h: Harness;
  before(async () => { h = await harness(); });
  after(() => h.close());

  test('created with the role (Grants API), audited, and signs in through a web app to get an admin token', async () => {
    const root = await adminToken(h);
    const v = new Visitor(h);
    const r = await v.submit('/', { ...adminFields('ada'), email: 'ada@example.com' });
    assert.equal(r.statusCode, 201, r.body);
    assertPageHeaders(r);
    assert.match(r.body, /<h1>Administrator created<\/h1>/);
    assert.match(r.body, /The user <strong>ada<\/strong> is now an Identity Domain Administrator/);
    assert.ok(r.body.includes(`<a href="${ISSUER}/console/" id="open-console">Open the console</a>`));
    assert.ok(!r.body.includes(GOOD));

    const d = await defaultDomainId(h);
    const user = (await h.t.services.repos.users.getByUserName(d, 'ada'))!;
    assert.ok(user.active);
    assert.deepEqual(user.attributes.emails, [{ value: 'ada@example.com', primary: true, type: 'work' }]);
    const grants = (await scim(h, 'GET', '/admin/v1/Grants', root)).json().Resources as { id: string; grantMechanism: string; grantee: { value: string; type: string } }[];
    const mine = grants.filter((g) => g.grantee.value === user.id);
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.grantMechanism, 'ADMINISTRATOR_TO_USER');
    assert.equal(mine[0]!.grantee.type, 'User');
    assert.equal(mine[0]!.id, firstRunSlot(d, 0));
    assert.deepEqual(await adminUsers(h, root), ['ada']);

    await h.t.services.events.flush();
    const audit = (await scim(h, 'GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent('eventId eq "admin.created"')}`, root)).json().Resources as AuditEvent[];
    const userEv = audit.find((e) => e.targetType === 'User' && e.targetId === user.id);
    const grantEv = audit.find((e) => e.targetType === 'Grant' && e.targetId === mine[0]!.id);
    assert.ok(userEv && grantEv, JSON.stringify(audit));
    assert.equal(userEv.outcome, 'success');
    assert.equal(userEv.clientIp, '127.0.0.1');
    assert.deepEqual(JSON.parse(userEv.details), { via: 'welcome_page', userName: 'ada', role: 'Identity Domain Administrator' });
    assert.ok(!JSON.stringify(audit).includes(GOOD), 'the password is not in the audit trail');

    // The code flow of a web app allowed admin scopes: the new user's token may list users.
    const app = await createWebApp(h, root, { allowedScopes: [{ fqs: 'urn:opc:idm:t.users.read' }] });
    const { verifier, challenge } = pkce();
    const cb = await signIn(new Browser(h), authorizeUrl({
      client_id: app.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid urn:opc:idm:t.users.read', state: 's', code_challenge: challenge, code_challenge_method: 'S256',
    }), 'ada', GOOD);
    const code = callbackParams(cb).get('code');
    assert.ok(code, cb.headers.location);
    const tok = await post(h, '/oauth2/v1/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, { authorization: basic(app.clientId, app.secret!) });
    assert.equal(tok.statusCode, 200, tok.body);
    assert.match(tok.json().scope, /urn:opc:idm:t\.users\.read/);
    const users = await scim(h, 'GET', '/admin/v1/Users', tok.json().access_token);
    assert.equal(users.statusCode, 200, users.body);
  });

  test('an administrator user through a group counts; a deactivated one does not, and the form then makes another', async () => {
    const root = await adminToken(h);
    const d = await defaultDomainId(h);
    const ada = (await h.t.services.repos.users.getByUserName(d, 'ada'))!;
    // Deactivate ada: no active administrator user, the form is back.
    const off = await scim(h, 'PATCH', `/admin/v1/Users/${ada.id}`, root, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] });
    assert.equal(off.statusCode, 200, off.body);
    assert.ok(hasForm((await new Visitor(h).get('/')).body));
    // Someone holding the role through a group makes it go away.
    const grace = await createUser(h, root, 'grace');
    const g = await scim(h, 'POST', '/admin/v1/Groups', root, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'admins', members: [{ value: grace.id, type: 'User' }] });
    const grantId = await grantRole(h, root, 'Identity Domain Administrator', 'Group', g.json().id);
    assert.ok(!hasForm((await new Visitor(h).get('/')).body));
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Grants/${grantId}`, root)).statusCode, 204);
    // ada's first-run slot stays taken; the next one is used.
    const r = await new Visitor(h).submit('/', adminFields('linus'));
    assert.equal(r.statusCode, 201, r.body);
    const linus = (await h.t.services.repos.users.getByUserName(d, 'linus'))!;
    assert.deepEqual((await h.t.services.repos.grants.listForGrantee(d, 'User', linus.id)).map((x) => x.id), [firstRunSlot(d, 1)]);
  });

  test('per domain: an administrator of one domain does not close another domain\'s form', async () => {
    await h.t.services.domains.create('delta', 'delta');
    const v = new Visitor(h);
    const r = await v.submit('/domains/delta/', adminFields('delta-admin'));
    assert.equal(r.statusCode, 201, r.body);
    assert.ok(r.body.includes(`href="${ISSUER}/domains/delta/console/"`));
    const delta = (await h.t.services.repos.domains.getByName('delta'))!;
    assert.ok(await h.t.services.repos.users.getByUserName(delta.id, 'delta-admin'));
    assert.equal(await h.t.services.repos.users.getByUserName(await defaultDomainId(h), 'delta-admin'), undefined);
    assert.ok(!hasForm((await v.get('/domains/delta/')).body));
  });
});

describe('TESSERA_BOOTSTRAP_ADMIN_USERNAME / _PASSWORD', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'tessera-bootadmin-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('one without the other is a configuration error naming the missing key; the password is never shown', () => {
    assert.throws(() => loadConfig({ TESSERA_BOOTSTRAP_ADMIN_USERNAME: 'root' }), (e: Error) => e instanceof ConfigError && /^TESSERA_BOOTSTRAP_ADMIN_PASSWORD is not set/.test(e.message));
    assert.throws(() => loadConfig({ TESSERA_BOOTSTRAP_ADMIN_PASSWORD: 'S3cret-pass-phrase' }),
      (e: Error) => e instanceof ConfigError && /^TESSERA_BOOTSTRAP_ADMIN_USERNAME is not set/.test(e.message) && !e.message.includes('S3cret'));
    const ok = loadConfig({ TESSERA_BOOTSTRAP_ADMIN_USERNAME: 'root', TESSERA_BOOTSTRAP_ADMIN_PASSWORD: GOOD });
    assert.equal(ok.bootstrapAdminUsername, 'root');
  });

  test('creates the administrator at start; a restart changes nothing, an existing user keeps its password and roles', async () => {
    const database = await openDatabase(`sqlite:${join(dir, 'a.db')}`);
    const masterKey = new MasterKey(randomBytes(32));
    try {
      const start = (password: string, userName = 'root') => harness({ database, masterKey, config: { bootstrapAdminUsername: userName, bootstrapAdminPassword: password } });
      let h = await start(GOOD);
      const d = await defaultDomainId(h);
      const s = () => h.t.services;
      let root = (await s().repos.users.getByUserName(d, 'root'))!;
      assert.ok(root?.active);
      assert.ok(await s().users.verifyPassword(root, GOOD));
      assert.equal(await hasAdministratorUser(s().repos, d), true);
      assert.ok(!hasForm((await new Visitor(h).get('/')).body), 'the welcome page has nothing to offer');
      await s().events.flush();
      const admin = await adminToken(h);
      const ev = (await scim(h, 'GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent('eventId eq "admin.created"')}`, admin)).json().Resources as AuditEvent[];
      assert.deepEqual(ev.map((e) => [e.targetType, JSON.parse(e.details).via]).sort(), [['Grant', 'bootstrap'], ['User', 'bootstrap']]);
      const version = root.version;
      const grants = await s().repos.grants.listForGrantee(d, 'User', root.id);
      assert.equal(grants.length, 1);
      await h.close();

      // Restart with another password: the user is not touched.
      h = await start('another pass phrase 77');
      root = (await s().repos.users.getByUserName(d, 'root'))!;
      assert.equal(root.version, version);
      assert.ok(await s().users.verifyPassword(root, GOOD), 'the password is not overwritten');
      assert.deepEqual(await s().repos.grants.listForGrantee(d, 'User', root.id), grants);
      // Its role taken away by an administrator stays taken away.
      assert.equal((await scim(h, 'DELETE', `/admin/v1/Grants/${grants[0]!.id}`, await adminToken(h))).statusCode, 204);
      await h.close();
      h = await start(GOOD);
      assert.deepEqual(await s().repos.grants.listForGrantee(d, 'User', root.id), [], 'an existing user is not made administrator');
      await h.close();

      // Another name: that user is created, beside the first.
      h = await start(GOOD, 'carol');
      const carol = (await s().repos.users.getByUserName(d, 'carol'))!;
      assert.equal((await s().repos.grants.listForGrantee(d, 'User', carol.id)).length, 1);
      await h.close();
    } finally {
      await database.close();
    }
  });

  test('an existing user named so before the first start is left as it is', async () => {
    const database = await openDatabase(`sqlite:${join(dir, 'b.db')}`);
    const masterKey = new MasterKey(randomBytes(32));
    try {
      let h = await harness({ database, masterKey });
      const existing = await createUser(h, await adminToken(h), 'dave');
      await h.close();
      h = await harness({ database, masterKey, config: { bootstrapAdminUsername: 'Dave', bootstrapAdminPassword: GOOD } });
      const d = await defaultDomainId(h);
      const dave = (await h.t.services.repos.users.getByUserName(d, 'dave'))!;
      assert.equal(dave.id, existing.id);
      assert.equal(await h.t.services.users.verifyPassword(dave, GOOD), false);
      assert.deepEqual(await h.t.services.repos.grants.listForGrantee(d, 'User', dave.id), []);
      await h.close();
    } finally {
      await database.close();
    }
  });

  test('two nodes starting at once make one user with one grant', async () => {
    const database = await openDatabase(`sqlite:${join(dir, 'c.db')}`);
    const masterKey = new MasterKey(randomBytes(32));
    try {
      const first = await harness({ database, masterKey });
      const d = await defaultDomainId(first);
      await first.close();
      const { bootstrapAdministrator } = await import('../../src/identity/first_admin.js');
      const h = await harness({ database, masterKey });
      const s = h.t.services;
      const domain = (await s.repos.domains.get(d))!;
      const quiet = { info: () => {}, warn: () => {} };
      const outcomes = await Promise.all([1, 2, 3].map(() => bootstrapAdministrator({ ...s, log: quiet }, domain, 'root', GOOD)));
      assert.ok(outcomes.includes('created'));
      const root = (await s.repos.users.getByUserName(d, 'root'))!;
      const allAdminGrants = (await s.repos.grants.list(d)).filter((g) => g.granteeType === 'User');
      assert.deepEqual(allAdminGrants.map((g) => g.granteeId), [root.id], 'no grant is left for a user that lost the race');
      await h.close();
    } finally {
      await database.close();
    }
  });

  test('a user name or password the domain refuses stops start-up, naming the setting and not the password', async () => {
    await assert.rejects(harness({ config: { bootstrapAdminUsername: 'root', bootstrapAdminPassword: 'password1' } }),
      (e: Error) => /^TESSERA_BOOTSTRAP_ADMIN_PASSWORD does not meet the password policy of the default identity domain \(common\)/.test(e.message) && !e.message.includes('password1'));
    await assert.rejects(harness({ config: { bootstrapAdminUsername: 'ro ot', bootstrapAdminPassword: GOOD } }), /^Error: TESSERA_BOOTSTRAP_ADMIN_USERNAME: /);
  });
});

describe('first run on PostgreSQL: two nodes, one store', async () => {
  const available = await pgAvailable();
  const skip = available === true ? false : String(available);
  const schema = schemaName();
  let a: Harness;
  let b: Harness;
  before(async () => {
    if (available !== true) return;
    const masterKey = new MasterKey(randomBytes(32));
    a = await harness({ masterKey, database: await openDatabase(PG_URL, { pgSchema: schema }) });
    b = await harness({ masterKey, database: await openDatabase(PG_URL, { pgSchema: schema }) });
  });
  after(async () => {
    if (available !== true) return;
    for (const h of [a, b]) { await h.close(); await h.t.database.close(); }
    await dropSchema(schema);
  });

  test('form posts racing through both nodes make exactly one administrator', { skip }, async () => {
    const visitors = [new Visitor(a), new Visitor(b), new Visitor(a), new Visitor(b)];
    const forms = await Promise.all(visitors.map(async (v) => formOf((await v.get('/')).body)));
    const rs = await Promise.all(visitors.map((v, i) => v.post('/', { ...forms[i]!.fields, ...adminFields(`pg-racer-${i}`) })));
    assert.deepEqual(rs.map((r) => r.statusCode).sort(), [201, 409, 409, 409], rs.map((r) => r.body.slice(-300)).join('\n'));
    const root = await adminToken(a);
    assert.equal((await adminUsers(a, root)).length, 1);
    assert.ok(!hasForm((await new Visitor(b).get('/')).body), 'the other node sees the administrator at once');
  });

  test('bootstrap on both nodes at once: one user, one grant', { skip }, async () => {
    const { bootstrapAdministrator } = await import('../../src/identity/first_admin.js');
    const quiet = { info: () => {}, warn: () => {} };
    const domain = (await a.t.services.repos.domains.getByName(DEFAULT_DOMAIN))!;
    const out = await Promise.all([a, b, a, b].map((h) => bootstrapAdministrator({ ...h.t.services, log: quiet }, domain, 'pg-root', GOOD)));
    assert.equal(out.filter((x) => x === 'created').length, 1, JSON.stringify(out));
    const user = (await a.t.services.repos.users.getByUserName(domain.id, 'pg-root'))!;
    const userGrants = (await a.t.services.repos.grants.list(domain.id)).filter((g) => g.granteeType === 'User');
    assert.equal(userGrants.filter((g) => g.granteeId === user.id).length, 1);
    const ids = new Set((await a.t.services.repos.users.query(domain.id, { offset: 0, limit: 100 })).items.map((u) => u.id));
    assert.deepEqual(userGrants.filter((g) => !ids.has(g.granteeId)), [], 'no grant is left to a user that lost the race');
  });
});
