/**
 * Negative and abuse tests for the browser sign-in, the authorization endpoint and the user-token
 * grants, one block per item of the security checklist (/work/shared/reference/security-checklist.md):
 * RU-1..RU-12 (redirect URIs, authorization endpoint), AC-1..AC-10 + AC-12 (codes and PKCE),
 * TK-1..TK-6, TK-11, TK-13 (refresh, revocation, introspection, tokeninfo), GR-1..GR-3 (implicit,
 * password) and MF-3..MF-6 (TOTP lockout, amr/acr, session fixation, CSRF).
 *
 * Three servers: `main` (defaults), `strict` (short lockout, short refresh idle time, a refresh grace
 * window) and `ipLimit` (a source address is locked after 3 failures, for the X-Forwarded-For test).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { generate } from 'otplib';
import type { FixedClock } from '../../src/core/clock.js';
import {
  adminToken, APP_SCHEMA, assertOAuthError, assertScimError, basic, clientToken, decode, harness, ISSUER, post, scim, setupClient,
  type Harness,
} from '../helpers.js';
import {
  authorizeUrl, Browser, callbackParams, createUser, createWebApp, followConsent, formOf, PASSWORD, pkce, REDIRECT, signIn,
} from '../signin.js';

type Res = LightMyRequestResponse;
interface Client { clientId: string; secret?: string | undefined; id?: string }

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SESSION = 'tessera_session_default';
const BIND = 'tessera_bind_default';
const STD = 'openid offline_access ss.read ss.write';
const SPA = 'https://spa.example.com/cb';
const NATIVE = 'http://127.0.0.1/cb';
const ACR_MFA = 'urn:tessera:acr:mfa';
/** RFC 6749 §5.2 error_description charset. */
const DESCRIPTION = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

const rnd = (p: string) => `${p}-${randomBytes(6).toString('base64url')}`;
const clockOf = (h: Harness) => h.clock as FixedClock;

/** An authorization URL; `undefined` values are left out (to drop a default). */
function az(params: Record<string, string | undefined>): string {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) clean[k] = v;
  return authorizeUrl(clean);
}

/** Parameters of a valid code request for `app`, with a fresh PKCE pair. */
function codeRequest(app: Client, o: Record<string, string | undefined> = {}) {
  const pk = pkce();
  const params: Record<string, string | undefined> = {
    client_id: app.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: STD, state: rnd('st'), nonce: rnd('n'),
    code_challenge: pk.challenge, code_challenge_method: 'S256', ...o,
  };
  return { params, url: az(params), verifier: pk.verifier };
}

const auth = (app: Client): Record<string, string> => (app.secret ? { authorization: basic(app.clientId, app.secret) } : {});

function tokenRequest(h: Harness, app: Client, body: Record<string, string | undefined>, headers: Record<string, string> = {}): Promise<Res> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (v !== undefined) clean[k] = v;
  if (!app.secret) clean.client_id ??= app.clientId;
  return post(h, '/oauth2/v1/token', clean, { ...auth(app), ...headers });
}

const redeem = (h: Harness, app: Client, code: string, verifier: string | undefined, extra: Record<string, string | undefined> = {}, headers: Record<string, string> = {}) =>
  tokenRequest(h, app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, ...extra }, headers);

const refresh = (h: Harness, app: Client, rt: string, extra: Record<string, string> = {}) =>
  tokenRequest(h, app, { grant_type: 'refresh_token', refresh_token: rt, ...extra });

/** A code from a browser that is signed in and has consented (a direct 302 from /authorize). */
async function codeFor(b: Browser, app: Client, o: Record<string, string | undefined> = {}) {
  const req = codeRequest(app, o);
  const r = await b.get(req.url);
  assert.equal(r.statusCode, 302, `expected a direct code response, got ${r.statusCode} ${r.headers.location ?? r.body.slice(0, 200)}`);
  const p = callbackParams(r);
  const code = p.get('code');
  assert.ok(code, r.headers.location);
  return { code, verifier: req.verifier, params: p, request: req.params, r };
}

async function tokensFor(h: Harness, b: Browser, app: Client, o: Record<string, string | undefined> = {}) {
  const c = await codeFor(b, app, o);
  const t = await redeem(h, app, c.code, c.verifier);
  assert.equal(t.statusCode, 200, t.body);
  return t.json() as { access_token: string; refresh_token?: string; id_token?: string; scope: string; expires_in: number };
}

/** A new browser signed in as `userName` that consented to `app` for STD (the final redirect is checked). */
async function signedIn(h: Harness, app: Client, userName: string, o: Record<string, string | undefined> = {}) {
  const b = new Browser(h);
  const req = codeRequest(app, o);
  const r = await signIn(b, req.url, userName);
  assert.equal(r.statusCode, 303, r.body.slice(0, 300));
  const p = callbackParams(r);
  assert.ok(p.get('code'), r.headers.location);
  return { b, r, params: p, verifier: req.verifier, request: req.params };
}

const introspect = (h: Harness, caller: Client, token: string) => post(h, '/oauth2/v1/introspect', { token }, auth(caller));

async function assertInactive(h: Harness, caller: Client, token: string, msg?: string): Promise<void> {
  const r = await introspect(h, caller, token);
  assert.equal(r.statusCode, 200, r.body);
  assert.deepEqual(r.json(), { active: false }, msg);
}

async function assertActive(h: Harness, caller: Client, token: string): Promise<Record<string, unknown>> {
  const r = await introspect(h, caller, token);
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(r.json().active, true, r.body);
  return r.json();
}

/** RU-7 / RU-8: no framing, no referrer, no caching, no CORS, nothing loaded from or linked to elsewhere. */
function assertPageHeaders(r: Res): void {
  const csp = String(r.headers['content-security-policy'] ?? '');
  assert.match(csp, /frame-ancestors 'none'/, `CSP: ${csp}`);
  assert.match(csp, /default-src 'none'/, `CSP: ${csp}`);
  assert.equal(r.headers['x-frame-options'], 'DENY');
  assert.equal(r.headers['referrer-policy'], 'no-referrer');
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal(r.headers['access-control-allow-origin'], undefined);
  assert.match(String(r.headers['content-type']), /^text\/html; charset=utf-8/);
  // No third-party resources: no external scripts, styles, images, frames; links only to Tessera.
  assert.doesNotMatch(r.body, /<(script|img|link|iframe|frame|object|embed)\b[^>]*\s(src|href|data)\s*=/i, 'an external resource is loaded');
  for (const m of r.body.matchAll(/\shref\s*=\s*"([^"]*)"/gi)) assert.ok(m[1]!.startsWith(ISSUER) || m[1]!.startsWith('#'), `link to ${m[1]}`);
}

/** An HTML page rendered at Tessera: the status, no redirect, the page headers. */
function assertPage(r: Res, status: number, text?: RegExp): void {
  assert.equal(r.statusCode, status, `expected a ${status} page, got ${r.statusCode} ${r.headers.location ?? ''} ${r.body.slice(0, 300)}`);
  assert.equal(r.headers.location, undefined, 'never a redirect');
  assertPageHeaders(r);
  assert.doesNotMatch(r.body, /<form method="post" action="https?:\/\/(?!localhost:8080)/, 'no form posting to another site');
  if (text) assert.match(r.body, text);
}

/** An authorization error sent to the client: status, place (query or fragment), error, iss, state; no credentials. */
function assertErrorRedirect(r: Res, error: string, o: { state?: string; status?: number; mode?: 'query' | 'fragment'; base?: string } = {}): URLSearchParams {
  assert.equal(r.statusCode, o.status ?? 302, `expected a redirect with ${error}, got ${r.statusCode} ${r.body.slice(0, 300)}`);
  const loc = r.headers.location!;
  const base = o.base ?? REDIRECT;
  assert.ok(loc.startsWith(base + (o.mode === 'fragment' ? '#' : '?')), `location ${loc}`);
  const p = callbackParams(r);
  assert.equal(p.get('error'), error, loc);
  assert.equal(p.get('iss'), ISSUER, 'RFC 9207: iss on error responses');
  if (o.state !== undefined) assert.equal(p.get('state'), o.state);
  assert.match(p.get('error_description') ?? '', DESCRIPTION);
  for (const k of ['code', 'access_token', 'id_token', 'refresh_token']) assert.equal(p.get(k), null, `${k} in an error response`);
  return p;
}

/** The login page of a new flow for `url` in browser `b`. */
async function loginPage(b: Browser, url: string) {
  const r = await b.get(url);
  assert.equal(r.statusCode, 303, r.body.slice(0, 300));
  assert.ok(r.headers.location!.startsWith(`${ISSUER}/ui/v1/signin/`), r.headers.location);
  const page = await b.get(r.headers.location!);
  assert.equal(page.statusCode, 200, page.body.slice(0, 300));
  return { page, form: formOf(page.body, 'credSubmit') };
}

/** POST a form with the browser's cookies from a chosen source address (the jar is not updated). */
function postFrom(h: Harness, b: Browser, url: string, form: Record<string, string>, remoteAddress: string, headers: Record<string, string> = {}) {
  return h.inject({
    method: 'POST', url: url.startsWith(ISSUER) ? url.slice(ISSUER.length) : url, remoteAddress, payload: new URLSearchParams(form).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...headers },
  });
}

function setCookies(r: Res): string[] {
  const s = r.headers['set-cookie'];
  return Array.isArray(s) ? s : s ? [s] : [];
}

/** OIDC Core §3.2.2.9: the left half of the SHA-256 of the access token (RS256). */
const halfHash = (v: string) => createHash('sha256').update(v).digest().subarray(0, 16).toString('base64url');

async function createApp(h: Harness, admin: string, body: Record<string, unknown>): Promise<Res> {
  return scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: rnd('app'), isOAuthClient: true, ...body });
}

async function createResourceServer(h: Harness, admin: string): Promise<void> {
  const r = await scim(h, 'POST', '/admin/v1/Apps', admin, {
    schemas: [APP_SCHEMA], displayName: rnd('rs'), isOAuthResource: true, audience: 'https://ss.example.com',
    scopes: [{ value: 'ss.read' }, { value: 'ss.write' }, { value: 'ss.admin' }],
  });
  assert.equal(r.statusCode, 201, r.body);
}
const SS_SCOPES = [{ fqs: 'ss.read' }, { fqs: 'ss.write' }, { fqs: 'ss.admin' }];

/** TOTP for the harness clock (not wall time), as an authenticator app would show it. */
const totpAt = (h: Harness, secret: string, offsetSeconds = 0) =>
  generate({ secret, epoch: Math.floor(h.clock.now() / 1000) + offsetSeconds, algorithm: 'sha1', digits: 6, period: 30 });

async function enrolTotp(h: Harness, userId: string): Promise<string> {
  const domain = await h.t.services.repos.domains.getByName('default');
  assert.ok(domain);
  const secret = h.t.services.totp.newSecret();
  assert.equal(await h.t.services.totp.confirmEnrolment(domain.id, userId, secret, await totpAt(h, secret)), true);
  // The enrolment code's time step is spent: sign-ins use the next step.
  clockOf(h).advance(30_000);
  return secret;
}

/** Six-digit codes that are wrong at the current time (none of the steps -1, 0, +1). */
async function wrongCodes(h: Harness, secret: string, n: number): Promise<string[]> {
  const valid = new Set([await totpAt(h, secret, -30), await totpAt(h, secret), await totpAt(h, secret, 30)]);
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const c = String((123457 * (i + 1)) % 1_000_000).padStart(6, '0');
    if (!valid.has(c)) out.push(c);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------

describe('sign-in security (main server, default settings)', () => {
  let h: Harness;
  let admin: string;
  let web: Client;
  let web2: Client;
  let native: Client;
  let spa: Client;
  let alice: { id: string; userName: string };
  /** Alice's browser: signed in, consented to `web` for STD. */
  let b: Browser;

  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    await createResourceServer(h, admin);
    web = await createWebApp(h, admin, { allowedScopes: SS_SCOPES });
    web2 = await createWebApp(h, admin, { allowedScopes: SS_SCOPES, redirectUris: [REDIRECT, 'https://app.example.com/cb2'], postLogoutRedirectUris: ['https://other.example.com/bye'] });
    native = await createWebApp(h, admin, { clientType: 'public', redirectUris: [NATIVE], postLogoutRedirectUris: [] });
    spa = await createWebApp(h, admin, { clientType: 'public', allowedGrants: ['implicit'], redirectUris: [SPA], postLogoutRedirectUris: [] });
    alice = await createUser(h, admin);
    ({ b } = await signedIn(h, web, alice.userName));
  });
  after(() => h.close());

  describe('RU-1 / RU-4 / RU-5: redirect URIs are matched exactly, errors about them stay at Tessera', () => {
    const VARIANTS = [
      'https://app.example.com/cb/x', 'https://app.example.com/CB', 'https://app.example.com/cb/', 'https://app.example.com/cb?a=1',
      'https://app.example.com/cb?', 'https://app.example.com/cb#f', 'https://app.example.com/cb#', 'https://app.example.com:8443/cb',
      'https://app.example.com:443/cb', 'https://app.example.com@evil.example/cb', 'https://evil.example@app.example.com/cb',
      'https://app.example.com\\@evil.example/cb', 'https://app.example.com/x/%2e%2e/cb', 'https://app.example.com/cb/%2e%2e/',
      'https://app.example.com/x/%252e%252e/cb', 'https://app.example.com/cb/..;/x', 'https://app.example.com/x/../cb',
      'https://APP.example.com/cb', 'HTTPS://app.example.com/cb', 'http://app.example.com/cb', 'https://app.example.com./cb',
      'https://app.example.com/cb%20', ' https://app.example.com/cb', 'https://app.example.com/cb\n', '//app.example.com/cb',
      'https://evil.example/cb', 'https://app.example.com.evil.example/cb', 'https://app.example.com/cb%2f..%2f..%2fevil',
    ];

    test('RU-1: every variant of the registered URI gets a 400 page at Tessera (GET and POST, signed in or not)', async () => {
      const fresh = new Browser(h);
      for (const v of VARIANTS) {
        const { params } = codeRequest(web, { redirect_uri: v });
        assertPage(await b.get(az(params)), 400, /Invalid redirect URI/);
        assertPage(await fresh.get(az(params)), 400, /Invalid redirect URI/);
        const clean = Object.fromEntries(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
        assertPage(await b.post('/oauth2/v1/authorize', clean), 400, /Invalid redirect URI/);
      }
      // The registered URI itself works (the table is not refused for another reason).
      assert.equal((await b.get(codeRequest(web).url)).statusCode, 302);
    });

    test('RU-1: other broken parameters with a bad redirect URI still give the page, never a redirect', async () => {
      for (const extra of [
        { response_type: 'token' }, { response_type: 'nonsense' }, { scope: 'no.such.scope' }, { code_challenge_method: 'plain' },
        { response_mode: 'form_post' }, { response_mode: 'fragment' }, { prompt: 'none' }, { prompt: 'bogus' }, { request: 'x.y.z' },
      ]) {
        const r = await b.get(codeRequest(web, { redirect_uri: 'https://evil.example/cb', ...extra }).url);
        assertPage(r, 400, /Invalid redirect URI/);
        assert.doesNotMatch(r.body, /evil\.example/, 'the bad URI is not reflected');
      }
    });

    test('RU-4: unknown, missing, repeated or oversized client_id, repeated or missing redirect_uri: 400 page, no redirect', async () => {
      const good = codeRequest(web).params;
      const cases: [string, RegExp][] = [
        [az({ ...good, client_id: 'no-such-client' }), /Unknown application/],
        [az({ ...good, client_id: 'no-such-client', redirect_uri: 'https://evil.example/cb' }), /Unknown application/],
        [az({ ...good, client_id: undefined }), /no client_id/],
        [az({ ...good, client_id: 'x'.repeat(300) }), /Unknown application/],
        [`${az(good)}&client_id=${encodeURIComponent(web2.clientId)}`, /only once/],
        [`${az(good)}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}`, /only once/],
        [az({ ...codeRequest(web2).params, redirect_uri: undefined }), /no redirect_uri/],
        [az({ ...good, client_id: web2.clientId, redirect_uri: 'https://evil.example/cb' }), /Invalid redirect URI/],
      ];
      for (const [url, text] of cases) {
        assertPage(await b.get(url), 400, text);
        assertPage(await new Browser(h).get(url), 400, text);
      }
    });

    test('RU-5: prompt=none with an unregistered redirect URI shows the page (signed in and signed out)', async () => {
      for (const br of [b, new Browser(h)]) {
        for (const uri of ['https://evil.example/cb', 'https://app.example.com/cb?next=https://evil.example']) {
          assertPage(await br.get(codeRequest(web, { redirect_uri: uri, prompt: 'none' }).url), 400, /Invalid redirect URI/);
        }
      }
    });

    test('RU-5: post_logout_redirect_uri must be registered (exactly) for the named client, else a page and no redirect', async () => {
      const fresh = new Browser(h);
      const bad: Record<string, string>[] = [
        { client_id: web.clientId, post_logout_redirect_uri: 'https://evil.example/bye' },
        { client_id: web.clientId, post_logout_redirect_uri: 'https://app.example.com/bye/x' },
        { client_id: web.clientId, post_logout_redirect_uri: 'https://app.example.com/bye?next=https://evil.example' },
        { client_id: web.clientId, post_logout_redirect_uri: 'https://app.example.com/BYE' },
        { client_id: web.clientId, post_logout_redirect_uri: REDIRECT },
        { client_id: web2.clientId, post_logout_redirect_uri: 'https://app.example.com/bye' },
        { client_id: 'no-such-client', post_logout_redirect_uri: 'https://app.example.com/bye' },
        { post_logout_redirect_uri: 'https://app.example.com/bye' },
        { client_id: web.clientId, id_token_hint: 'not.a.jwt', post_logout_redirect_uri: 'https://app.example.com/bye' },
      ];
      for (const q of bad) {
        assertPage(await fresh.get(`/oauth2/v1/userlogout?${new URLSearchParams({ ...q, state: 's' })}`), 400);
        assertPage(await fresh.post('/oauth2/v1/userlogout', { ...q, state: 's' }), 400);
      }
      // The registered one does redirect (a signed-out browser: nothing to confirm).
      const ok = await fresh.get(`/oauth2/v1/userlogout?${new URLSearchParams({ client_id: web.clientId, post_logout_redirect_uri: 'https://app.example.com/bye', state: 's' })}`);
      assert.equal(ok.statusCode, 302, ok.body);
      assert.equal(ok.headers.location, 'https://app.example.com/bye?state=s');
    });
  });

  describe('RU-2: loopback redirect URIs (RFC 8252 §7.3)', () => {
    test('only the port may vary: the code goes to the requested port and the token request must repeat it', async () => {
      const { b: nb, r, verifier } = await signedIn(h, native, alice.userName, { redirect_uri: 'http://127.0.0.1:51234/cb', scope: 'openid' });
      assert.ok(r.headers.location!.startsWith('http://127.0.0.1:51234/cb?'), r.headers.location);
      const code = callbackParams(r).get('code')!;
      const t = await redeem(h, native, code, verifier, { redirect_uri: 'http://127.0.0.1:51234/cb' });
      assert.equal(t.statusCode, 200, t.body);
      for (const uri of ['http://127.0.0.1:40000/cb', NATIVE, 'http://127.0.0.1:1/cb']) {
        const c = await codeFor(nb, native, { redirect_uri: uri, scope: 'openid' });
        assert.ok(c.r.headers.location!.startsWith(`${uri}?`), c.r.headers.location);
      }
    });

    test('query, path, user-info, host, scheme and localhost variants are refused with a page', async () => {
      for (const uri of [
        'http://127.0.0.1:51234/cb?x=1', 'http://127.0.0.1:51234/cb/', 'http://127.0.0.1:51234/CB', 'http://127.0.0.1:51234/cb#x',
        'http://127.0.0.1:51234/cb/../cb', 'http://127.0.0.1:51234/other', 'http://127.0.0.1:80@evil.example/cb', 'http://127.0.0.1@evil.example/cb',
        'http://evil.example@127.0.0.1:51234/cb', 'http://localhost:1/cb', 'http://localhost/cb', 'http://127.0.0.2:51234/cb', 'http://[::1]:51234/cb',
        'https://127.0.0.1:51234/cb', 'http://127.0.0.1.evil.example:51234/cb', 'http://0x7f.0.0.1:51234/cb', 'http://2130706433:51234/cb',
        'http://127.0.0.1:51234:80/cb', 'http://127.0.0.1:/cb',
      ]) {
        assertPage(await b.get(codeRequest(native, { redirect_uri: uri, scope: 'openid' }).url), 400, /Invalid redirect URI/);
      }
      // A registered `localhost` URI gets no port leeway (it is not a loopback IP literal, RFC 8252 §8.3); [::1] does.
      const other = await createWebApp(h, admin, { clientType: 'public', redirectUris: ['http://localhost/cb', 'http://[::1]/cb'], postLogoutRedirectUris: [] });
      for (const uri of ['http://localhost:5000/cb', 'http://localhost:80/cb', 'http://127.0.0.1:5000/cb', 'http://[::1]:5000/cb?x=1']) {
        assertPage(await b.get(codeRequest(other, { redirect_uri: uri, scope: 'openid' }).url), 400, /Invalid redirect URI/);
      }
      const v6 = await b.get(codeRequest(other, { redirect_uri: 'http://[::1]:5000/cb', scope: 'openid' }).url);
      assert.equal(v6.statusCode, 303, 'accepted: on to the consent page');
    });
  });

  describe('RU-3: unsafe redirect URIs cannot be registered or used', () => {
    const UNSAFE = [
      'javascript:alert(document.domain)', 'JavaScript:alert(1)', 'javascript://app.example.com/%0aalert(1)',
      'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==', 'vbscript:msgbox(1)', 'file:///etc/passwd',
      'https://app.example.com/cb#frag', 'https://app.example.com/cb#', 'http://app.example.com/cb', 'http://evil.example/cb',
      'http://127.0.0.1.nip.io/cb', 'https://user:pw@app.example.com/cb', '/cb', '//app.example.com/cb', ' https://app.example.com/cb',
      'https://app.example.com/c b', 'https://app.example.com/cb\r\nX: y',
    ];

    test('POST /admin/v1/Apps refuses each as a redirect URI and as a post-logout redirect URI (400 invalidValue)', async () => {
      for (const uri of UNSAFE) {
        const r = await createApp(h, admin, { clientType: 'confidential', allowedGrants: ['authorization_code'], redirectUris: [uri] });
        assertScimError(r, 400, 'invalidValue');
        assert.match(r.json().detail, /redirect URI/);
        const r2 = await createApp(h, admin, { clientType: 'confidential', allowedGrants: ['authorization_code'], redirectUris: [REDIRECT], postLogoutRedirectUris: [uri] });
        assertScimError(r2, 400, 'invalidValue');
      }
      // Control: https, loopback http and private-use schemes are accepted.
      const ok = await createApp(h, admin, {
        clientType: 'public', allowedGrants: ['authorization_code'], redirectUris: ['https://app.example.com/cb?x=1', 'http://127.0.0.1/cb', 'http://[::1]/cb', 'com.example.app:/cb'],
      });
      assert.equal(ok.statusCode, 201, ok.body);
    });

    test('authorization requests naming such a URI get the error page', async () => {
      for (const uri of UNSAFE) assertPage(await b.get(codeRequest(web, { redirect_uri: uri }).url), 400, /Invalid redirect URI/);
    });
  });

  describe('RU-6 / RU-7 / RU-8 / RU-9: pages and their redirects', () => {
    test('RU-6: every redirect after a POST to the sign-in pages is 303 (login, consent allow and deny, cancel)', async () => {
      const u = await createUser(h, admin);
      const posts: Res[] = [];
      // login -> consent -> allow
      let br = new Browser(h);
      let req = codeRequest(web);
      const { form } = await loginPage(br, req.url);
      const wrong = await br.post(form.action, { ...form.fields, username: u.userName, password: 'wrong password 123' });
      assertPage(wrong, 401, /incorrect username or password/);
      posts.push(wrong);
      const login = await br.post(form.action, { ...form.fields, username: u.userName, password: PASSWORD });
      posts.push(login);
      assert.equal(login.statusCode, 303);
      assert.ok(login.headers.location!.startsWith(`${ISSUER}/ui/v1/signin/`));
      const consentPage = await br.get(login.headers.location!);
      assert.equal(consentPage.statusCode, 200);
      const cf = formOf(consentPage.body, 'consent');
      const allow = await br.post(cf.action, { ...cf.fields, decision: 'allow' });
      posts.push(allow);
      assert.equal(allow.statusCode, 303);
      assert.ok(callbackParams(allow).get('code'));
      // a new scope: consent again, denied
      req = codeRequest(web, { scope: 'openid email' });
      const again = await br.get(req.url);
      const deny = await followConsent(br, again, 'deny');
      posts.push(deny);
      assertErrorRedirect(deny, 'access_denied', { status: 303, state: req.params.state! });
      // cancel on the login page
      br = new Browser(h);
      req = codeRequest(web);
      const lp = await loginPage(br, req.url);
      const cancel = await br.post(lp.form.action, formOf(lp.page.body, 'cancel').fields);
      posts.push(cancel);
      assertErrorRedirect(cancel, 'access_denied', { status: 303, state: req.params.state! });
      for (const r of posts) {
        assert.ok(![301, 302, 307, 308].includes(r.statusCode), `status ${r.statusCode} after a POST`);
        if (r.headers.location) assert.equal(r.statusCode, 303);
      }
      // POST to the authorization endpoint itself: a redirect, never 307/308.
      const clean = Object.fromEntries(Object.entries(codeRequest(web).params).filter((e): e is [string, string] => e[1] !== undefined));
      const viaPost = await b.post('/oauth2/v1/authorize', clean);
      assert.ok([302, 303].includes(viaPost.statusCode), `${viaPost.statusCode}`);
      assert.ok(callbackParams(viaPost).get('code'));
    });

    test('RU-7 / RU-8: error, login, consent, sign-in error, CSRF, form_post and logout pages: frame-ancestors none, DENY, no-referrer', async () => {
      assertPage(await b.get(az({ client_id: 'nope', redirect_uri: REDIRECT, response_type: 'code' })), 400);
      assertPage(await b.get(codeRequest(web, { redirect_uri: 'https://evil.example/cb' }).url), 400);
      const br = new Browser(h);
      const { page, form } = await loginPage(br, codeRequest(web).url);
      assertPage(page, 200, /<form method="post" action="http:\/\/localhost:8080\/ui\/v1\/signin\//);
      assert.match(page.body, /<meta name="referrer" content="no-referrer">/);
      assertPage(await br.post(form.action, { ...form.fields, csrf: 'forged' }), 403, /Request refused/);
      assertPage(await br.get(`${ISSUER}/ui/v1/signin/${'A'.repeat(43)}`), 400, /Sign-in could not continue/);
      assertPage(await br.get(`${ISSUER}/ui/v1/signin/x`), 400);
      // consent page
      const r = await b.get(codeRequest(web, { scope: 'openid phone' }).url);
      assert.equal(r.statusCode, 303);
      const consent = await b.get(r.headers.location!);
      assertPage(consent, 200, /Allow/);
      // form_post page: a script allowed by hash only, frame-ancestors none
      const fp = await b.get(codeRequest(web, { response_mode: 'form_post' }).url);
      assert.equal(fp.statusCode, 200);
      assertPageHeaders(fp);
      assert.match(String(fp.headers['content-security-policy']), /script-src 'sha256-[A-Za-z0-9+/=]+'/);
      // logout confirmation page
      assertPage(await b.get('/oauth2/v1/userlogout'), 200, /Sign out/);
    });

    test('RU-9: no CORS on the authorization endpoint or the sign-in pages', async () => {
      const origin = { origin: 'https://evil.example' };
      const url = codeRequest(web).url;
      for (const r of [
        await b.get(url, origin),
        await new Browser(h).get(url, origin),
        await h.inject({ method: 'OPTIONS', url, headers: { ...origin, 'access-control-request-method': 'GET' } }),
        await h.inject({ method: 'OPTIONS', url: '/oauth2/v1/authorize', headers: { ...origin, 'access-control-request-method': 'POST' } }),
        await b.get(codeRequest(web, { redirect_uri: 'https://evil.example/cb' }).url, origin),
      ]) {
        assert.equal(r.headers['access-control-allow-origin'], undefined, `ACAO on ${r.statusCode}`);
        assert.equal(r.headers['access-control-allow-credentials'], undefined);
      }
      const start = await new Browser(h).get(url, origin);
      const page = await h.inject({ method: 'GET', url: start.headers.location!.slice(ISSUER.length), headers: origin });
      assert.equal(page.headers['access-control-allow-origin'], undefined);
    });
  });

  describe('RU-10 / RU-11 / RU-12: iss, state and the Host header', () => {
    test('RU-10: iss equals the issuer on success and errors, in the query, the fragment and form_post; metadata says so', async () => {
      const meta = (await h.inject({ url: '/.well-known/openid-configuration' })).json();
      assert.equal(meta.authorization_response_iss_parameter_supported, true);
      assert.equal(meta.issuer, ISSUER);
      // success, query
      const ok = await codeFor(b, web);
      assert.equal(ok.params.get('iss'), ISSUER);
      assert.equal(ok.params.get('state'), ok.request.state);
      // error, query
      const req = codeRequest(web, { code_challenge: undefined, code_challenge_method: undefined });
      assertErrorRedirect(await b.get(req.url), 'invalid_request', { state: req.params.state! });
      // error, fragment (implicit response types default to the fragment)
      const frag = codeRequest(web, { response_type: 'id_token token' });
      assertErrorRedirect(await b.get(frag.url), 'unauthorized_client', { mode: 'fragment', state: frag.params.state! });
      // error, form_post
      const fpErr = codeRequest(web, { response_mode: 'form_post', code_challenge_method: 'plain' });
      const fe = await b.get(fpErr.url);
      assert.equal(fe.statusCode, 200, fe.body);
      const ff = formOf(fe.body);
      assert.equal(ff.action, REDIRECT);
      assert.equal(ff.fields.error, 'invalid_request');
      assert.equal(ff.fields.iss, ISSUER);
      assert.equal(ff.fields.state, fpErr.params.state);
      // success, form_post
      const fpOk = codeRequest(web, { response_mode: 'form_post' });
      const fo = await b.get(fpOk.url);
      const fof = formOf(fo.body);
      assert.ok(fof.fields.code);
      assert.equal(fof.fields.iss, ISSUER);
      assert.equal(fof.fields.state, fpOk.params.state);
      assert.equal((await redeem(h, web, fof.fields.code!, fpOk.verifier)).statusCode, 200);
      // login_required and access_denied carry it too
      assertErrorRedirect(await new Browser(h).get(codeRequest(web, { prompt: 'none' }).url), 'login_required');
    });

    test('RU-11: a 2 KB state is echoed byte-exact (direct, through the sign-in pages, and on errors)', async () => {
      const alphabet = 'aZ09-._~ !"#$%&\'()*+,/:;<=>?@[\\]^`{|}é€😀';
      const chars = [...alphabet];
      let state = '';
      while (state.length < 2048) state += chars[randomBytes(1)[0]! % chars.length];
      state = state.slice(0, 2048).replace(/[\uD800-\uDBFF]$/, 'x');
      assert.equal((await codeFor(b, web, { state })).params.get('state'), state);
      const viaPages = await signedIn(h, web, alice.userName, { state });
      assert.equal(viaPages.params.get('state'), state);
      const err = codeRequest(web, { state, code_challenge: undefined, code_challenge_method: undefined });
      assertErrorRedirect(await b.get(err.url), 'invalid_request', { state });
      const fp = await b.get(codeRequest(web, { state, response_mode: 'form_post' }).url);
      assert.equal(formOf(fp.body).fields.state, state);
    });

    test('RU-11: a "><script> state in form_post is HTML-escaped (success and error)', async () => {
      const state = '"><script>alert(document.cookie)</script><img src=x onerror=alert(1)>\'`&';
      for (const o of [{}, { code_challenge_method: 'plain' }]) {
        const r = await b.get(codeRequest(web, { state, response_mode: 'form_post', ...o }).url);
        assert.equal(r.statusCode, 200, r.body);
        assert.ok(!r.body.includes('<script>alert'), 'the state is not markup');
        assert.ok(!r.body.includes('<img src=x'), 'the state is not markup');
        assert.ok(!r.body.includes('"><script'), 'no attribute break-out');
        assert.ok(r.body.includes('&#34;&#62;&#60;script&#62;'), 'escaped as character references');
        assert.equal(r.body.match(/<script/g)?.length, 1, 'only the auto-submit script');
        assert.equal(formOf(r.body).fields.state, state);
      }
    });

    test('RU-12: forged Host / X-Forwarded-Host / Forwarded do not change the issuer, iss, sign-in URLs or tokens', async () => {
      const forged = {
        host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', 'x-forwarded-for': '6.6.6.6',
        forwarded: 'for=6.6.6.6;host=evil.example;proto=https',
      };
      const meta = (await h.inject({ url: '/.well-known/openid-configuration', headers: forged })).json();
      assert.equal(meta.issuer, ISSUER);
      for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'end_session_endpoint']) assert.ok(String(meta[k]).startsWith(ISSUER), `${k}: ${meta[k]}`);
      const fresh = new Browser(h);
      const start = await fresh.get(codeRequest(web).url, forged);
      assert.equal(start.statusCode, 303);
      assert.ok(start.headers.location!.startsWith(`${ISSUER}/ui/v1/signin/`), start.headers.location);
      const page = await fresh.get(start.headers.location!, forged);
      assert.ok(formOf(page.body, 'credSubmit').action.startsWith(`${ISSUER}/ui/v1/signin/`));
      const req = codeRequest(web);
      const ok = await b.get(req.url, forged);
      assert.equal(callbackParams(ok).get('iss'), ISSUER);
      const t = await redeem(h, web, callbackParams(ok).get('code')!, req.verifier, {}, forged);
      assert.equal(t.statusCode, 200, t.body);
      assert.equal(decode(t.json().id_token).payload.iss, ISSUER);
      assert.equal(decode(t.json().access_token).payload.iss, ISSUER);
      const err = await b.get(codeRequest(web, { code_challenge: undefined }).url, forged);
      assert.equal(callbackParams(err).get('iss'), ISSUER);
    });
  });

  describe('AC-1..AC-10, AC-12: authorization codes and PKCE', () => {
    test('AC-1: a code redeemed twice: 400 invalid_grant, and the first tokens are revoked (immediately and after 30 s)', async () => {
      for (const wait of [0, 30_000]) {
        const c = await codeFor(b, web);
        const first = await redeem(h, web, c.code, c.verifier);
        assert.equal(first.statusCode, 200, first.body);
        const t = first.json();
        assert.ok(t.refresh_token);
        await assertActive(h, web, t.access_token);
        clockOf(h).advance(wait);
        assertOAuthError(await redeem(h, web, c.code, c.verifier), 400, 'invalid_grant');
        await assertInactive(h, web, t.access_token, 'the access token of the first redemption is revoked');
        assertOAuthError(await refresh(h, web, t.refresh_token), 400, 'invalid_grant');
        assertOAuthError(await tokenRequest(h, web, { grant_type: 'refresh_token', refresh_token: t.refresh_token }), 400, 'invalid_grant');
      }
    });

    test('AC-2: 20 parallel redemptions of one code: exactly one 200, the rest invalid_grant', async () => {
      const c = await codeFor(b, web);
      const rs = await Promise.all(Array.from({ length: 20 }, () => redeem(h, web, c.code, c.verifier)));
      assert.equal(rs.filter((r) => r.statusCode === 200).length, 1, rs.map((r) => r.statusCode).join(','));
      for (const r of rs) if (r.statusCode !== 200) assertOAuthError(r, 400, 'invalid_grant');
    });

    test('AC-3: a code issued to client A and redeemed by client B: invalid_grant', async () => {
      const c = await codeFor(b, web);
      assertOAuthError(await redeem(h, web2, c.code, c.verifier), 400, 'invalid_grant');
      // a public client presenting it (no authentication) too
      const c2 = await codeFor(b, web);
      assertOAuthError(await redeem(h, native, c2.code, c2.verifier), 400, 'invalid_grant');
    });

    test('issue 7: a code presented by another client, at another domain or with the wrong redirect_uri is not burnt and trips no reuse detection', async () => {
      const c = await codeFor(b, web);
      assertOAuthError(await redeem(h, web2, c.code, c.verifier), 400, 'invalid_grant');
      assertOAuthError(await redeem(h, native, c.code, c.verifier), 400, 'invalid_grant');
      assertOAuthError(await redeem(h, web, c.code, c.verifier, { redirect_uri: 'https://app.example.com/cb2' }), 400, 'invalid_grant');
      // Another identity domain's token endpoint, with a client of that domain.
      const dom = await scim(h, 'POST', '/admin/v1/IdentityDomains', admin, { name: rnd('ac').toLowerCase().replace(/[^a-z0-9-]/g, '') });
      assert.equal(dom.statusCode, 201, dom.body);
      const prefix = `/domains/${dom.json().name}`;
      const otherAdmin = (await clientToken(h, dom.json().adminClient.client_id, dom.json().adminClient.client_secret, 'urn:opc:idm:__myscopes__', prefix)).json().access_token;
      const otherWeb = await createWebApp(h, otherAdmin, {}, prefix);
      const other = await post(h, `${prefix}/oauth2/v1/token`, { grant_type: 'authorization_code', code: c.code, code_verifier: c.verifier, redirect_uri: REDIRECT },
        { authorization: basic(otherWeb.clientId, otherWeb.secret!) });
      assertOAuthError(other, 400, 'invalid_grant');
      const t = await redeem(h, web, c.code, c.verifier);
      assert.equal(t.statusCode, 200, `the rightful client still redeems it: ${t.body}`);
      await assertActive(h, web, t.json().access_token);
      // Only the rightful client's second redemption is a replay: it revokes what the code gave.
      assertOAuthError(await redeem(h, web2, c.code, c.verifier), 400, 'invalid_grant');
      await assertActive(h, web, t.json().access_token);
      assertOAuthError(await redeem(h, web, c.code, c.verifier), 400, 'invalid_grant');
      await assertInactive(h, web, t.json().access_token, 'the replay by the rightful client revokes the grant');
    });

    test('AC-4: redirect_uri at the token endpoint differs from, or omits, the one of the authorization request: invalid_grant', async () => {
      const c1 = await codeFor(b, web);
      assertOAuthError(await redeem(h, web, c1.code, c1.verifier, { redirect_uri: 'https://app.example.com/cb2' }), 400, 'invalid_grant');
      const c2 = await codeFor(b, web);
      assertOAuthError(await redeem(h, web, c2.code, c2.verifier, { redirect_uri: undefined }), 400, 'invalid_grant');
      const c3 = await codeFor(b, web);
      assertOAuthError(await redeem(h, web, c3.code, c3.verifier, { redirect_uri: `${REDIRECT}/` }), 400, 'invalid_grant');
      // Not sent at /authorize (one URI registered): a different one at the token endpoint is refused too.
      const c4 = await codeFor(b, web, { redirect_uri: undefined });
      assertOAuthError(await redeem(h, web, c4.code, c4.verifier, { redirect_uri: 'https://app.example.com/cb2' }), 400, 'invalid_grant');
      // Control: repeating it works.
      const c5 = await codeFor(b, web);
      assert.equal((await redeem(h, web, c5.code, c5.verifier)).statusCode, 200);
    });

    test('AC-5: a code is good for codeTtl (60 s) and refused after', async () => {
      const young = await codeFor(b, web);
      const old = await codeFor(b, web);
      clockOf(h).advance(59_000);
      assert.equal((await redeem(h, web, young.code, young.verifier)).statusCode, 200);
      clockOf(h).advance(2_000);
      assertOAuthError(await redeem(h, web, old.code, old.verifier), 400, 'invalid_grant');
    });

    test('AC-6: codes are 256-bit base64url values: 1000 distinct, no shared structure', async () => {
      const codes: string[] = [];
      for (let i = 0; i < 20; i++) {
        const batch = await Promise.all(Array.from({ length: 50 }, () => b.get(codeRequest(web).url)));
        for (const r of batch) codes.push(callbackParams(r).get('code')!);
      }
      assert.equal(new Set(codes).size, 1000);
      for (const c of codes) {
        assert.match(c, /^[A-Za-z0-9_-]{43,}$/);
        assert.ok(Buffer.from(c, 'base64url').length >= 32, 'at least 256 bits');
      }
      // No fixed prefix or suffix (a counter or timestamp would show): each position takes many values.
      for (const pos of [0, 1, 2, 21, 41]) assert.ok(new Set(codes.map((c) => c[pos])).size >= 40, `position ${pos}`);
    });

    test('AC-7: a public client without code_challenge: invalid_request to the redirect URI', async () => {
      const req = codeRequest(native, { redirect_uri: NATIVE, scope: 'openid', code_challenge: undefined, code_challenge_method: undefined });
      assertErrorRedirect(await new Browser(h).get(req.url), 'invalid_request', { state: req.params.state!, base: NATIVE });
      assertErrorRedirect(await b.get(req.url), 'invalid_request', { state: req.params.state!, base: NATIVE });
    });

    test('AC-8: plain, a challenge without a method, or a malformed challenge: invalid_request redirect', async () => {
      const v = pkce().verifier;
      const cases: Record<string, string | undefined>[] = [
        { code_challenge: v, code_challenge_method: 'plain' },
        { code_challenge: v, code_challenge_method: undefined },
        { code_challenge_method: undefined },
        { code_challenge_method: 's256' },
        { code_challenge_method: 'S512' },
        { code_challenge: undefined, code_challenge_method: 'S256' },
        { code_challenge: 'short' },
        { code_challenge: `${pkce().challenge}A` },
        { code_challenge: `${pkce().challenge.slice(0, 42)}=` },
      ];
      for (const app of [web, native]) {
        for (const o of cases) {
          const req = codeRequest(app, { ...(app === native ? { redirect_uri: NATIVE, scope: 'openid' } : {}), ...o });
          assertErrorRedirect(await b.get(req.url), 'invalid_request', { state: req.params.state!, base: app === native ? NATIVE : REDIRECT });
        }
      }
    });

    test('AC-9: wrong or missing verifier: invalid_grant (the code is not spent: whoever lacks the verifier cannot burn it); bad length or charset: invalid_request', async () => {
      const c1 = await codeFor(b, web);
      assertOAuthError(await redeem(h, web, c1.code, pkce().verifier), 400, 'invalid_grant');
      assertOAuthError(await redeem(h, web, c1.code, undefined), 400, 'invalid_grant');
      assert.equal((await redeem(h, web, c1.code, c1.verifier)).statusCode, 200, 'the rightful redemption still works');
      assertOAuthError(await redeem(h, web, c1.code, c1.verifier), 400, 'invalid_grant');
      const c2 = await codeFor(b, web);
      assertOAuthError(await redeem(h, web, c2.code, undefined), 400, 'invalid_grant');
      for (const bad of ['a'.repeat(42), 'a'.repeat(129), `${'a'.repeat(42)}+`, `${'a'.repeat(42)}/`, `${'a'.repeat(42)}=`, `${'a'.repeat(42)} `, `${'a'.repeat(42)}é`]) {
        const c = await codeFor(b, web);
        assertOAuthError(await redeem(h, web, c.code, bad), 400, 'invalid_request');
      }
      // A public client: the same rules.
      const nb = new Browser(h);
      const first = await signIn(nb, codeRequest(native, { redirect_uri: NATIVE, scope: 'openid' }).url, alice.userName);
      assert.equal(first.statusCode, 303);
      const pc = await codeFor(nb, native, { redirect_uri: NATIVE, scope: 'openid' });
      assertOAuthError(await redeem(h, native, pc.code, undefined, { redirect_uri: NATIVE }), 400, 'invalid_grant');
      const pc2 = await codeFor(nb, native, { redirect_uri: NATIVE, scope: 'openid' });
      assertOAuthError(await redeem(h, native, pc2.code, pkce().verifier, { redirect_uri: NATIVE }), 400, 'invalid_grant');
    });

    test('AC-10: downgrade: no challenge at /authorize, a code_verifier at the token endpoint: refused', async () => {
      // PKCE is on by default: a confidential client without a challenge is refused at /authorize.
      const req = codeRequest(web, { code_challenge: undefined, code_challenge_method: undefined });
      assertErrorRedirect(await b.get(req.url), 'invalid_request', { state: req.params.state! });
      // A confidential client that opted out of PKCE: a verifier with a challenge-less code is a downgrade.
      const legacy = await createWebApp(h, admin, { pkceRequired: false, allowedScopes: SS_SCOPES });
      const lb = new Browser(h);
      const first = await signIn(lb, codeRequest(legacy, { code_challenge: undefined, code_challenge_method: undefined }).url, alice.userName);
      assert.equal(first.statusCode, 303, first.body);
      const c = await codeFor(lb, legacy, { code_challenge: undefined, code_challenge_method: undefined });
      assertOAuthError(await redeem(h, legacy, c.code, pkce().verifier), 400, 'invalid_grant');
      const ok = await codeFor(lb, legacy, { code_challenge: undefined, code_challenge_method: undefined });
      assert.equal((await redeem(h, legacy, ok.code, undefined)).statusCode, 200, 'control: without a verifier it works');
    });

    test('AC-12: malformed prompt / max_age / response_mode and repeated parameters: invalid_request to the client', async () => {
      const cases: Record<string, string | undefined>[] = [
        { prompt: 'none login' }, { prompt: 'none consent' }, { prompt: 'bogus' }, { max_age: '-1' }, { max_age: 'abc' }, { max_age: '1.5' },
        { response_mode: 'web_message' }, { response_mode: 'query.jwt' },
      ];
      for (const o of cases) {
        const req = codeRequest(web, o);
        assertErrorRedirect(await b.get(req.url), 'invalid_request', { state: req.params.state! });
      }
      const req = codeRequest(web);
      assertErrorRedirect(await b.get(`${req.url}&scope=openid`), 'invalid_request', { state: req.params.state! });
      assertErrorRedirect(await b.get(`${req.url}&code_challenge=${pkce().challenge}`), 'invalid_request', { state: req.params.state! });
      assertErrorRedirect(await b.get(codeRequest(web, { request: 'e30.e30.' }).url), 'request_not_supported');
      assertErrorRedirect(await b.get(codeRequest(web, { request_uri: 'https://evil.example/r' }).url), 'request_uri_not_supported');
    });

    test('AC-12: prompt=none signed out -> login_required (with iss and state)', async () => {
      const req = codeRequest(web, { prompt: 'none' });
      const r = await new Browser(h).get(req.url);
      assertErrorRedirect(r, 'login_required', { state: req.params.state! });
    });

    test('AC-12: max_age=1 after 2 s: the login page again, then a fresh auth_time; the nonce is echoed', async () => {
      const carl = await createUser(h, admin);
      const { b: cb, params, verifier, request } = await signedIn(h, web, carl.userName);
      const t1 = await redeem(h, web, params.get('code')!, verifier);
      const id1 = decode(t1.json().id_token).payload;
      assert.equal(id1.nonce, request.nonce);
      clockOf(h).advance(2_000);
      const req = codeRequest(web, { max_age: '1' });
      const r = await cb.get(req.url);
      assert.equal(r.statusCode, 303, 'sign-in again');
      assert.ok(r.headers.location!.startsWith(`${ISSUER}/ui/v1/signin/`));
      const page = await cb.get(r.headers.location!);
      assert.ok(formOf(page.body, 'credSubmit'), 'the login page, not consent');
      const done = await signIn(cb, req.url, carl.userName);
      assert.equal(done.statusCode, 303);
      const t2 = await redeem(h, web, callbackParams(done).get('code')!, req.verifier);
      assert.equal(t2.statusCode, 200, t2.body);
      const id2 = decode(t2.json().id_token).payload;
      assert.equal(id2.nonce, req.params.nonce);
      assert.ok((id2.auth_time as number) >= (id1.auth_time as number) + 2, `auth_time ${id1.auth_time} -> ${id2.auth_time}`);
      assert.equal(id2.auth_time, Math.floor(h.clock.now() / 1000));
      // Within max_age: no new login.
      const within = await codeFor(cb, web, { max_age: '60' });
      assert.ok(within.code);
    });

    test('AC-12: prompt=none when max_age demands a new login -> login_required (OIDC Core §3.1.2.6)', async () => {
      clockOf(h).advance(2_000);
      const req = codeRequest(web, { prompt: 'none', max_age: '1' });
      assertErrorRedirect(await b.get(req.url), 'login_required', { state: req.params.state! });
    });
  });

  describe('TK-1..TK-6, TK-11, TK-13: refresh tokens, revocation, introspection, tokeninfo', () => {
    test('TK-1 / TK-2: rotation; replaying RT1 is invalid_grant and revokes RT2 and every access token of the family', async () => {
      const t = await tokensFor(h, b, web);
      const rt1 = t.refresh_token!;
      const r2 = await refresh(h, web, rt1);
      assert.equal(r2.statusCode, 200, r2.body);
      const rt2 = r2.json().refresh_token as string;
      assert.ok(rt2 && rt2 !== rt1);
      const at2 = r2.json().access_token as string;
      await assertActive(h, web, at2);
      assertOAuthError(await refresh(h, web, rt1), 400, 'invalid_grant');
      assertOAuthError(await refresh(h, web, rt2), 400, 'invalid_grant');
      await assertInactive(h, web, at2);
      await assertInactive(h, web, t.access_token);
    });

    test('a refresh token revoked by the client (RFC 7009) or by logout is invalid_grant without a reuse alarm; a rotated one raises it', async () => {
      const reuseEvents = async () => (await scim(h, 'GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent('eventId eq "token.reuse_detected"')}`, admin)).json().totalResults as number;
      const before = await reuseEvents();
      const t = await tokensFor(h, b, web);
      assert.equal((await post(h, '/oauth2/v1/revoke', { token: t.refresh_token! }, auth(web))).statusCode, 200);
      assertOAuthError(await refresh(h, web, t.refresh_token!), 400, 'invalid_grant');
      assert.equal(await reuseEvents(), before, 'a revoked token is not a replay');
      const t2 = await tokensFor(h, b, web);
      const r2 = await refresh(h, web, t2.refresh_token!);
      assert.equal(r2.statusCode, 200, r2.body);
      assertOAuthError(await refresh(h, web, t2.refresh_token!), 400, 'invalid_grant');
      assert.equal(await reuseEvents(), before + 1, 'a rotated token coming back is');
    });

    test('TK-3: concurrent refreshes with one RT: at most one success and no forked family', async () => {
      const t = await tokensFor(h, b, web);
      const rs = await Promise.all(Array.from({ length: 5 }, () => refresh(h, web, t.refresh_token!)));
      const ok = rs.filter((r) => r.statusCode === 200);
      assert.ok(ok.length <= 1, `${ok.length} successes`);
      for (const r of rs) if (r.statusCode !== 200) assertOAuthError(r, 400, 'invalid_grant');
      // Whatever came out, no two refresh tokens of the family are usable.
      const usable = [];
      for (const r of ok) if ((await refresh(h, web, r.json().refresh_token)).statusCode === 200) usable.push(r);
      assert.ok(usable.length <= 1);
    });

    test('TK-4: client B presenting client A\'s refresh token: invalid_grant', async () => {
      const t = await tokensFor(h, b, web);
      assertOAuthError(await refresh(h, web2, t.refresh_token!), 400, 'invalid_grant');
      assertOAuthError(await refresh(h, native, t.refresh_token!), 400, 'invalid_grant');
    });

    test('TK-5: a broader scope on refresh is invalid_scope; a narrower one is granted and reflected in the access token', async () => {
      const t = await tokensFor(h, b, web);
      let rt = t.refresh_token!;
      for (const scope of [`${STD} ss.admin`, 'ss.read ss.admin', 'openid profile', 'ss.read email']) {
        assertOAuthError(await refresh(h, web, rt, { scope }), 400, 'invalid_scope');
      }
      const narrow = await refresh(h, web, rt, { scope: 'ss.read' });
      assert.equal(narrow.statusCode, 200, narrow.body);
      assert.equal(narrow.json().scope, 'ss.read');
      assert.equal(decode(narrow.json().access_token).payload.scope, 'ss.read');
      rt = narrow.json().refresh_token;
      // The refresh token keeps the original grant: the full scope may be asked for again.
      const full = await refresh(h, web, rt);
      assert.equal(full.statusCode, 200, full.body);
      assert.equal(full.json().scope, STD);
    });

    test('TK-6: deactivating the user through SCIM revokes their refresh and access tokens and ends the session', async () => {
      const dora = await createUser(h, admin);
      const { b: db, params, verifier } = await signedIn(h, web, dora.userName);
      const t = (await redeem(h, web, params.get('code')!, verifier)).json();
      const patch = (active: boolean) => scim(h, 'PATCH', `/admin/v1/Users/${dora.id}`, admin, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: active }] });
      assert.ok((await patch(false)).statusCode < 300);
      assertOAuthError(await refresh(h, web, t.refresh_token), 400, 'invalid_grant');
      await assertInactive(h, web, t.access_token);
      assert.ok((await patch(true)).statusCode < 300);
      assertOAuthError(await refresh(h, web, t.refresh_token), 400, 'invalid_grant');
      const again = await db.get(codeRequest(web).url);
      assert.equal(again.statusCode, 303, 'the SSO session ended');
      assert.ok(again.headers.location!.includes('/ui/v1/signin/'));
    });

    test('TK-6: RP-initiated logout revokes the refresh tokens (and access tokens) issued in that session', async () => {
      const ed = await createUser(h, admin);
      const { b: eb, params, verifier } = await signedIn(h, web, ed.userName);
      const t = (await redeem(h, web, params.get('code')!, verifier)).json();
      // A rotated refresh token belongs to the same session.
      const rotated = await refresh(h, web, t.refresh_token);
      assert.equal(rotated.statusCode, 200, rotated.body);
      const out = await eb.get(`/oauth2/v1/userlogout?${new URLSearchParams({ id_token_hint: t.id_token, post_logout_redirect_uri: 'https://app.example.com/bye' })}`);
      assert.equal(out.statusCode, 302, out.body);
      assert.equal(out.headers.location, 'https://app.example.com/bye');
      assertOAuthError(await refresh(h, web, rotated.json().refresh_token), 400, 'invalid_grant');
      await assertInactive(h, web, rotated.json().access_token);
      await assertInactive(h, web, t.access_token);
      // The session is over: the next authorization asks for a login.
      assertErrorRedirect(await eb.get(codeRequest(web, { prompt: 'none' }).url), 'login_required');
    });

    test('TK-6: logout through the confirmation page revokes the session\'s refresh tokens too', async () => {
      const fay = await createUser(h, admin);
      const { b: fb, params, verifier } = await signedIn(h, web, fay.userName);
      const t = (await redeem(h, web, params.get('code')!, verifier)).json();
      const page = await fb.get('/oauth2/v1/userlogout');
      assertPage(page, 200, /Sign out/);
      const f = formOf(page.body);
      const out = await fb.post(f.action, { ...f.fields, confirm: 'yes' });
      assertPage(out, 200, /signed out/);
      assertOAuthError(await refresh(h, web, t.refresh_token), 400, 'invalid_grant');
      await assertInactive(h, web, t.access_token);
    });

    test('TK-6: an administrator setting a new password revokes the user\'s refresh tokens', async () => {
      const gus = await createUser(h, admin);
      const { b: gb, params, verifier } = await signedIn(h, web, gus.userName);
      const t = (await redeem(h, web, params.get('code')!, verifier)).json();
      const r = await scim(h, 'PATCH', `/admin/v1/Users/${gus.id}`, admin, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'password', value: 'a completely new passphrase 77' }] });
      assert.equal(r.statusCode, 200, r.body);
      assertOAuthError(await refresh(h, web, t.refresh_token), 400, 'invalid_grant');
      // Whoever held the old password loses the SSO session too.
      assertErrorRedirect(await gb.get(codeRequest(web, { prompt: 'none' }).url), 'login_required');
      // Control: an unrelated attribute change revokes nothing.
      const hal = await createUser(h, admin);
      const other = await signedIn(h, web, hal.userName);
      const t2 = (await redeem(h, web, other.params.get('code')!, other.verifier)).json();
      const r2 = await scim(h, 'PATCH', `/admin/v1/Users/${hal.id}`, admin, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Hal' }] });
      assert.equal(r2.statusCode, 200, r2.body);
      assert.equal((await refresh(h, web, t2.refresh_token)).statusCode, 200);
    });

    test('TK-11: an ID token or a refresh token is not an access token at tokeninfo or introspection', async () => {
      const t = await tokensFor(h, b, web);
      for (const tok of [t.id_token!, t.refresh_token!]) {
        assertOAuthError(await h.inject({ url: `/oauth2/v1/tokeninfo?${new URLSearchParams({ access_token: tok })}` }), 400, 'invalid_token');
        assertOAuthError(await post(h, '/oauth2/v1/tokeninfo', { access_token: tok }), 400, 'invalid_token');
      }
      await assertInactive(h, web, t.id_token!);
      // RFC 7662 covers refresh tokens: the client they were issued to sees one as a refresh_token, never as Bearer.
      assert.equal((await assertActive(h, web, t.refresh_token!)).token_type, 'refresh_token');
      // An ID token re-labelled as an access token (typ changed; the signature no longer covers the header) is refused too.
      const [hd, pl, sig] = t.id_token!.split('.');
      const header = JSON.parse(Buffer.from(hd!, 'base64url').toString());
      const relabelled = `${Buffer.from(JSON.stringify({ ...header, typ: 'at+jwt' })).toString('base64url')}.${pl}.${sig}`;
      assertOAuthError(await post(h, '/oauth2/v1/tokeninfo', { access_token: relabelled }), 400, 'invalid_token');
      await assertInactive(h, web, relabelled);
      // Control: the access token is accepted.
      const ok = await post(h, '/oauth2/v1/tokeninfo', { access_token: t.access_token });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().user_id, alice.id);
    });

    test('issue 7: refresh token introspection (RFC 7662): active for its own client while live; inactive for others, after rotation and revocation', async () => {
      const t = await tokensFor(h, b, web);
      const r = await introspect(h, web, t.refresh_token!);
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json();
      assert.deepEqual(Object.keys(body).sort(), ['active', 'client_id', 'exp', 'iat', 'iss', 'scope', 'sub', 'sub_type', 'token_type', 'user_id']);
      assert.deepEqual([body.active, body.token_type, body.client_id, body.sub, body.sub_type, body.iss], [true, 'refresh_token', web.clientId, alice.id, 'user', ISSUER]);
      assert.equal(body.scope, t.scope);
      assert.ok(body.exp > body.iat);
      // The hint is only a hint.
      assert.equal((await post(h, '/oauth2/v1/introspect', { token: t.refresh_token!, token_type_hint: 'access_token' }, auth(web))).json().active, true);
      await assertInactive(h, web2, t.refresh_token!, 'another client');
      const rotated = await refresh(h, web, t.refresh_token!);
      assert.equal(rotated.statusCode, 200, rotated.body);
      await assertInactive(h, web, t.refresh_token!, 'a rotated refresh token');
      const next = rotated.json().refresh_token as string;
      assert.equal((await assertActive(h, web, next)).token_type, 'refresh_token');
      assert.equal((await post(h, '/oauth2/v1/revoke', { token: next }, auth(web))).statusCode, 200);
      await assertInactive(h, web, next, 'a revoked refresh token');
      await assertInactive(h, web, 'x'.repeat(43), 'garbage');
    });

    test('TK-13: client tokens and user tokens are told apart by sub_type (introspection and the JWT)', async () => {
      const cc = await setupClient(h, { admin, scopes: ['cc.read'] });
      const ct = await clientToken(h, cc.clientId, cc.secret, 'cc.read');
      assert.equal(ct.statusCode, 200, ct.body);
      const ci = await assertActive(h, cc, ct.json().access_token);
      assert.equal(ci.sub_type, 'client');
      assert.equal(ci.sub, cc.clientId);
      assert.equal(ci.user_id, undefined);
      assert.equal(decode(ct.json().access_token).payload.sub_type, 'client');
      const ut = await tokensFor(h, b, web);
      const ui = await assertActive(h, web, ut.access_token);
      assert.equal(ui.sub_type, 'user');
      assert.equal(ui.sub, alice.id);
      assert.equal(ui.user_id, alice.id);
      assert.equal(decode(ut.access_token).payload.sub_type, 'user');
      assert.notEqual(ci.sub, ui.sub);
    });
  });

  describe('GR-1 / GR-2: implicit', () => {
    test('GR-1: token / id_token response types for a client not allowed implicit: unauthorized_client in the fragment', async () => {
      for (const rt of ['token', 'id_token', 'id_token token', 'token id_token']) {
        const req = codeRequest(web, { response_type: rt });
        const r = await b.get(req.url);
        assertErrorRedirect(r, 'unauthorized_client', { mode: 'fragment', state: req.params.state! });
        assert.ok(!r.headers.location!.includes('access_token'));
      }
      for (const rt of ['code token', 'code id_token', 'code id_token token', 'none', 'device_code']) {
        const req = codeRequest(web, { response_type: rt });
        const r = await b.get(req.url);
        assert.equal(callbackParams(r).get('error'), 'unsupported_response_type', `${rt}: ${r.headers.location}`);
        assert.equal(callbackParams(r).get('iss'), ISSUER);
      }
      // And an implicit-only client cannot use the code flow.
      const req = codeRequest(spa, { redirect_uri: SPA, scope: 'openid' });
      assertErrorRedirect(await b.get(req.url), 'unauthorized_client', { base: SPA, state: req.params.state! });
    });

    test('GR-2: implicit: tokens only in the fragment, no refresh token, at_hash and nonce in the ID token, iss and state', async () => {
      const nonce = rnd('nonce');
      const req = az({ client_id: spa.clientId, redirect_uri: SPA, response_type: 'id_token token', scope: 'openid offline_access', state: 'spa-1', nonce });
      const consent = await b.get(req);
      assert.equal(consent.statusCode, 303);
      const r = await followConsent(b, consent, 'allow');
      assert.equal(r.statusCode, 303, r.body);
      const loc = r.headers.location!;
      assert.ok(loc.startsWith(`${SPA}#`), loc);
      assert.equal(new URL(loc).search, '', 'nothing in the query');
      const p = callbackParams(r);
      assert.deepEqual([...p.keys()].sort(), ['access_token', 'expires_in', 'id_token', 'iss', 'scope', 'state', 'token_type']);
      assert.equal(p.get('iss'), ISSUER);
      assert.equal(p.get('state'), 'spa-1');
      assert.equal(p.get('refresh_token'), null);
      assert.equal(p.get('code'), null);
      assert.ok(Number(p.get('expires_in')) <= 3600);
      const id = decode(p.get('id_token')!);
      assert.equal(id.header.alg, 'RS256');
      assert.equal(id.payload.nonce, nonce);
      assert.equal(id.payload.at_hash, halfHash(p.get('access_token')!));
      assert.equal(id.payload.aud, spa.clientId);
      // response_type=token: an access token only; id_token only: an ID token only.
      const tok = callbackParams(await b.get(az({ client_id: spa.clientId, redirect_uri: SPA, response_type: 'token', scope: 'openid offline_access', state: 's2' })));
      assert.ok(tok.get('access_token'));
      assert.equal(tok.get('refresh_token'), null);
      assert.equal(tok.get('id_token'), null);
      const idOnly = callbackParams(await b.get(az({ client_id: spa.clientId, redirect_uri: SPA, response_type: 'id_token', scope: 'openid offline_access', state: 's3', nonce: 'n3' })));
      assert.equal(idOnly.get('access_token'), null);
      assert.equal(decode(idOnly.get('id_token')!).payload.nonce, 'n3');
      assert.equal(decode(idOnly.get('id_token')!).payload.at_hash, undefined);
    });

    test('GR-2: id_token without nonce, tokens in the query, or no openid: invalid_request / invalid_scope in the fragment', async () => {
      for (const rt of ['id_token', 'id_token token']) {
        const r = await b.get(az({ client_id: spa.clientId, redirect_uri: SPA, response_type: rt, scope: 'openid', state: 'nn' }));
        assertErrorRedirect(r, 'invalid_request', { base: SPA, mode: 'fragment', state: 'nn' });
      }
      const q = await b.get(az({ client_id: spa.clientId, redirect_uri: SPA, response_type: 'token', scope: 'openid', state: 'q', response_mode: 'query' }));
      assertErrorRedirect(q, 'invalid_request', { base: SPA, mode: 'fragment', state: 'q' });
      const ns = await b.get(az({ client_id: spa.clientId, redirect_uri: SPA, response_type: 'id_token', scope: 'profile', state: 'ns', nonce: 'x' }));
      assertErrorRedirect(ns, 'invalid_scope', { base: SPA, mode: 'fragment', state: 'ns' });
    });
  });
});

// ---------------------------------------------------------------------------------------------------

describe('sign-in security (strict server: lockout 120 s, refresh idle 120 s, refresh grace 10 s)', () => {
  let h: Harness;
  let admin: string;
  let web: Client;
  let pwApp: Client;
  let mfaApp: Client;

  before(async () => {
    h = await harness({ config: { loginLockoutSeconds: 120, refreshTokenIdleSeconds: 120, refreshTokenGraceSeconds: 10 } });
    admin = await adminToken(h);
    await createResourceServer(h, admin);
    web = await createWebApp(h, admin, { allowedScopes: SS_SCOPES });
    mfaApp = await createWebApp(h, admin, { allowedScopes: SS_SCOPES, mfaPolicy: 'always' });
    const pw = await createApp(h, admin, { clientType: 'confidential', allowedGrants: ['password', 'refresh_token'] });
    assert.equal(pw.statusCode, 201, pw.body);
    pwApp = { clientId: pw.json().name, secret: pw.json().clientSecret };
  });
  after(() => h.close());

  const passwordGrant = (app: Client, username: string, password: string, ip = '127.0.0.1') =>
    h.inject({
      method: 'POST', url: '/oauth2/v1/token', remoteAddress: ip,
      payload: new URLSearchParams({ grant_type: 'password', username, password, scope: 'openid', ...(app.secret ? {} : { client_id: app.clientId }) }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth(app) },
    });

  /** Login page -> password -> the MFA page of an MFA user. */
  async function toMfaPage(userName: string, app: Client = web) {
    const br = new Browser(h);
    const req = codeRequest(app);
    const { form } = await loginPage(br, req.url);
    const r = await br.post(form.action, { ...form.fields, username: userName, password: PASSWORD });
    assert.equal(r.statusCode, 303, r.body.slice(0, 300));
    const page = await br.get(r.headers.location!);
    assert.equal(page.statusCode, 200);
    return { br, req, page, form: formOf(page.body, 'otp') };
  }

  describe('TK-3 / TK-6 with a grace window and an idle limit', () => {
    test('TK-3: concurrent refreshes inside the grace window all get the same new refresh token; a replay after it revokes the family', async () => {
      const u = await createUser(h, admin);
      const { b } = await signedIn(h, web, u.userName);
      const t = await tokensFor(h, b, web);
      const rs = await Promise.all(Array.from({ length: 5 }, () => refresh(h, web, t.refresh_token!)));
      const ok = rs.filter((r) => r.statusCode === 200);
      assert.ok(ok.length >= 1);
      for (const r of rs) if (r.statusCode !== 200) assertOAuthError(r, 400, 'invalid_grant');
      const rts = new Set(ok.map((r) => r.json().refresh_token as string));
      assert.equal(rts.size, 1, 'no forked family');
      const [rt2] = [...rts];
      assert.notEqual(rt2, t.refresh_token);
      clockOf(h).advance(11_000);
      assertOAuthError(await refresh(h, web, t.refresh_token!), 400, 'invalid_grant');
      assertOAuthError(await refresh(h, web, rt2!), 400, 'invalid_grant');
      for (const r of ok) await assertInactive(h, web, r.json().access_token);
    });

    test('TK-6: a refresh token idle longer than refreshTokenIdleSeconds expires; each use restarts the idle time', async () => {
      const u = await createUser(h, admin);
      const { b } = await signedIn(h, web, u.userName);
      const t = await tokensFor(h, b, web);
      clockOf(h).advance(100_000);
      const r2 = await refresh(h, web, t.refresh_token!);
      assert.equal(r2.statusCode, 200, r2.body);
      clockOf(h).advance(100_000);
      const r3 = await refresh(h, web, r2.json().refresh_token);
      assert.equal(r3.statusCode, 200, 'used within the idle time: still good');
      clockOf(h).advance(121_000);
      assertOAuthError(await refresh(h, web, r3.json().refresh_token), 400, 'invalid_grant');
    });
  });

  describe('GR-3: password grant', () => {
    test('a public client: 401 invalid_client; a client not opted in: unauthorized_client', async () => {
      const u = await createUser(h, admin);
      const pub = await createApp(h, admin, { clientType: 'public', allowedGrants: ['password'] });
      assert.equal(pub.statusCode, 201, pub.body);
      assertOAuthError(await passwordGrant({ clientId: pub.json().name }, u.userName, PASSWORD), 401, 'invalid_client');
      assertOAuthError(await passwordGrant(web, u.userName, PASSWORD), 400, 'unauthorized_client');
      // Control: the opted-in confidential client gets tokens.
      const ok = await passwordGrant(pwApp, u.userName, PASSWORD);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(decode(ok.json().access_token).payload.sub, u.id);
    });

    test('6 wrong passwords (from 6 addresses) lock the account: the right password then gets the same invalid_grant', async () => {
      const u = await createUser(h, admin);
      let wrongBody: unknown;
      for (let i = 0; i < 6; i++) {
        const r = await passwordGrant(pwApp, u.userName, `wrong password ${i}`, `10.0.0.${i + 1}`);
        assertOAuthError(r, 400, 'invalid_grant');
        wrongBody ??= r.json();
        assert.deepEqual(r.json(), wrongBody);
      }
      const locked = await passwordGrant(pwApp, u.userName, PASSWORD, '10.0.1.1');
      assertOAuthError(locked, 400, 'invalid_grant');
      assert.deepEqual(locked.json(), wrongBody, 'a locked account answers exactly like a wrong password');
      // An unknown user answers the same too.
      assert.deepEqual((await passwordGrant(pwApp, 'nobody-here', PASSWORD, '10.0.1.2')).json(), wrongBody);
      // The lock was the reason: after loginLockoutSeconds the right password works.
      clockOf(h).advance(121_000);
      assert.equal((await passwordGrant(pwApp, u.userName, PASSWORD, '10.0.1.3')).statusCode, 200);
    });

    test('MF-4: a user with a TOTP factor gets no token from the password grant (invalid_grant)', async () => {
      const u = await createUser(h, admin);
      await enrolTotp(h, u.id);
      const r = await passwordGrant(pwApp, u.userName, PASSWORD);
      assertOAuthError(r, 400, 'invalid_grant');
    });
  });

  describe('MF-3 / MF-4 / RU-7: TOTP on the sign-in pages', () => {
    test('MF-4 / RU-6 / RU-7: TOTP sign-in: MFA page headers, 303 after the POST, amr has otp and mfa, acr is mfa', async () => {
      const u = await createUser(h, admin);
      const secret = await enrolTotp(h, u.id);
      const { br, req, page, form } = await toMfaPage(u.userName);
      assertPage(page, 200, /verification code/i);
      assert.doesNotMatch(page.body, new RegExp(secret), 'the secret is not on the page');
      const r = await br.post(form.action, { ...form.fields, otpCode: await totpAt(h, secret) });
      assert.equal(r.statusCode, 303, r.body.slice(0, 300));
      const done = await followConsent(br, r, 'allow');
      assert.equal(done.statusCode, 303);
      const t = await redeem(h, web, callbackParams(done).get('code')!, req.verifier);
      assert.equal(t.statusCode, 200, t.body);
      const id = decode(t.json().id_token).payload;
      assert.ok((id.amr as string[]).includes('otp') && (id.amr as string[]).includes('mfa'), JSON.stringify(id.amr));
      assert.equal(id.acr, ACR_MFA);
      // The password grant still refuses this user (no path around the factor).
      assertOAuthError(await passwordGrant(pwApp, u.userName, PASSWORD), 400, 'invalid_grant');
    });

    test('MF-3: 5 wrong codes (from 5 addresses) lock the account: the right code then fails exactly like a wrong one', async () => {
      const u = await createUser(h, admin);
      const secret = await enrolTotp(h, u.id);
      const { br, form } = await toMfaPage(u.userName);
      let wrongPage: Res | undefined;
      const wrong = await wrongCodes(h, secret, 5);
      for (let i = 0; i < 5; i++) {
        const r = await postFrom(h, br, form.action, { ...form.fields, otpCode: wrong[i]! }, `10.1.0.${i + 1}`);
        assertPage(r, 401, /one-time code is not valid/);
        wrongPage ??= r;
      }
      const right = await postFrom(h, br, form.action, { ...form.fields, otpCode: await totpAt(h, secret) }, '10.1.1.1');
      assertPage(right, 401, /one-time code is not valid/);
      assert.equal(right.body, wrongPage!.body, 'same page as a wrong code');
      assert.equal(setCookies(right).filter((c) => c.startsWith(SESSION)).length, 0, 'no session');
      // Bypass codes are locked as well.
      const bypass = formOf(wrongPage!.body, 'bypass');
      assertPage(await postFrom(h, br, bypass.action, { ...bypass.fields, bypassCode: 'aaaa-bbbb-cc' }, '10.1.1.2'), 401, /not valid/);
      // The lock was the reason: once it ends the right code works.
      clockOf(h).advance(121_000);
      const later = await br.post(form.action, { ...form.fields, otpCode: await totpAt(h, secret) });
      assert.equal(later.statusCode, 303, later.body.slice(0, 300));
    });

    test('RU-7 / RU-6: the enrolment page and the bypass-code page carry the page headers; Continue is a 303', async () => {
      const u = await createUser(h, admin);
      const br = new Browser(h);
      const req = codeRequest(mfaApp);
      const { form } = await loginPage(br, req.url);
      const r = await br.post(form.action, { ...form.fields, username: u.userName, password: PASSWORD });
      assert.equal(r.statusCode, 303);
      const enroll = await br.get(r.headers.location!);
      assertPage(enroll, 200, /two-step verification/);
      const secret = /<code id="secret">([A-Z2-7 ]+)<\/code>/.exec(enroll.body)![1]!.replace(/ /g, '');
      const ef = formOf(enroll.body, 'enroll');
      const codes = await br.post(ef.action, { ...ef.fields, otpCode: await totpAt(h, secret) });
      assertPage(codes, 200, /bypass codes/);
      const cont = formOf(codes.body, 'continue');
      const next = await br.post(cont.action, cont.fields);
      assert.equal(next.statusCode, 303);
    });
  });

  describe('MF-5: session fixation and user switching', () => {
    test('a session cookie planted before login is replaced at login and never becomes the user\'s session', async () => {
      const u = await createUser(h, admin);
      const br = new Browser(h);
      br.cookies.set(SESSION, 'planted-by-attacker-0123456789');
      const req = codeRequest(web);
      const { form } = await loginPage(br, req.url);
      const login = await br.post(form.action, { ...form.fields, username: u.userName, password: PASSWORD });
      assert.equal(login.statusCode, 303);
      const sc = setCookies(login).find((c) => c.startsWith(`${SESSION}=`));
      assert.ok(sc, 'a new session cookie is set at login');
      assert.match(sc, /HttpOnly/i);
      assert.match(sc, /SameSite=Lax/i);
      const after = br.cookies.get(SESSION);
      assert.ok(after && after !== 'planted-by-attacker-0123456789');
      const r = await followConsent(br, login, 'allow');
      assert.equal(r.statusCode, 303);
      const t = await redeem(h, web, callbackParams(r).get('code')!, req.verifier);
      assert.equal(decode(t.json().id_token).payload.sub, u.id);
      const attacker = new Browser(h);
      attacker.cookies.set(SESSION, 'planted-by-attacker-0123456789');
      assertErrorRedirect(await attacker.get(codeRequest(web, { prompt: 'none' }).url), 'login_required');
    });

    test('an attacker\'s own live session planted in the victim\'s browser: the victim\'s login rotates it; the attacker gets nothing', async () => {
      const mallory = await createUser(h, admin);
      const victim = await createUser(h, admin);
      const { b: mb } = await signedIn(h, web, mallory.userName);
      const planted = mb.cookies.get(SESSION)!;
      const vb = new Browser(h);
      vb.cookies.set(SESSION, planted);
      const req = codeRequest(web, { prompt: 'login' });
      const r = await signIn(vb, req.url, victim.userName);
      assert.equal(r.statusCode, 303, r.body.slice(0, 300));
      assert.notEqual(vb.cookies.get(SESSION), planted);
      const t = await redeem(h, web, callbackParams(r).get('code')!, req.verifier);
      assert.equal(decode(t.json().id_token).payload.sub, victim.id);
      // The planted value is dead: it yields neither the victim's nor anyone's code.
      assertErrorRedirect(await mb.get(codeRequest(web, { prompt: 'none' }).url), 'login_required');
    });

    test('logout, or a logout request without cookies, then sign-in as another user: the tokens are the new user\'s', async () => {
      const a = await createUser(h, admin);
      const bUser = await createUser(h, admin);
      const { b: br } = await signedIn(h, web, a.userName);
      const oldCookie = br.cookies.get(SESSION)!;
      // A logout request that carries no cookie ends nothing (and does not break anything).
      const anon = await new Browser(h).get('/oauth2/v1/userlogout');
      assertPage(anon, 200, /signed out/);
      const req = codeRequest(web, { prompt: 'login' });
      const r = await signIn(br, req.url, bUser.userName);
      assert.equal(r.statusCode, 303, r.body.slice(0, 300));
      assert.notEqual(br.cookies.get(SESSION), oldCookie);
      const t = await redeem(h, web, callbackParams(r).get('code')!, req.verifier);
      assert.equal(decode(t.json().id_token).payload.sub, bUser.id);
      assert.equal(decode(t.json().access_token).payload.sub, bUser.id);
      // Proper logout, then user A again.
      const page = await br.get('/oauth2/v1/userlogout');
      const f = formOf(page.body);
      assertPage(await br.post(f.action, { ...f.fields, confirm: 'yes' }), 200, /signed out/);
      assert.equal(br.cookies.get(SESSION), undefined);
      const req2 = codeRequest(web);
      const r2 = await signIn(br, req2.url, a.userName);
      const t2 = await redeem(h, web, callbackParams(r2).get('code')!, req2.verifier);
      assert.equal(decode(t2.json().id_token).payload.sub, a.id);
    });
  });

  describe('MF-6: CSRF on the sign-in pages', () => {
    test('POST without / with a wrong / with another flow\'s csrf token: 403 page; nothing happens; the right token works', async () => {
      const u = await createUser(h, admin);
      const br = new Browser(h);
      const { form } = await loginPage(br, codeRequest(web).url);
      assert.ok(br.cookies.get(BIND));
      const other = new Browser(h);
      const otherForm = (await loginPage(other, codeRequest(web).url)).form;
      const creds = { username: u.userName, password: PASSWORD, op: 'credSubmit' };
      for (const body of [
        creds, { ...creds, csrf: '' }, { ...creds, csrf: 'A'.repeat(43) }, { ...creds, csrf: `${form.fields.csrf}x` }, { ...creds, csrf: otherForm.fields.csrf! },
      ]) {
        const r = await br.post(form.action, body);
        assertPage(r, 403, /Request refused/);
        assert.equal(setCookies(r).filter((c) => c.startsWith(SESSION)).length, 0);
      }
      // The cross-site attacker's own flow and token, posted from the victim's browser (login CSRF): refused.
      const csrfLogin = await br.post(otherForm.action, { ...otherForm.fields, username: u.userName, password: PASSWORD });
      assertPage(csrfLogin, 400, /another browser/);
      // Control: the genuine form submits.
      const ok = await br.post(form.action, { ...form.fields, username: u.userName, password: PASSWORD });
      assert.equal(ok.statusCode, 303, ok.body.slice(0, 300));
      // Consent without the token: 403.
      const consent = await br.get(ok.headers.location!);
      const cf = formOf(consent.body, 'consent');
      assertPage(await br.post(cf.action, { op: 'consent', decision: 'allow' }), 403, /Request refused/);
      assertPage(await br.post(cf.action, { op: 'consent', decision: 'allow', csrf: otherForm.fields.csrf! }), 403);
    });

    test('without the browser-binding cookie the flow cannot be continued (GET or POST); the cookie is HttpOnly and SameSite=Lax', async () => {
      const u = await createUser(h, admin);
      const br = new Browser(h);
      const start = await br.get(codeRequest(web).url);
      const bindCookie = setCookies(start).find((c) => c.startsWith(`${BIND}=`));
      assert.ok(bindCookie);
      assert.match(bindCookie, /HttpOnly/i);
      assert.match(bindCookie, /SameSite=Lax/i);
      const page = await br.get(start.headers.location!);
      const form = formOf(page.body, 'credSubmit');
      const stripped = new Browser(h);
      for (const [k, v] of br.cookies) if (k !== BIND) stripped.cookies.set(k, v);
      const post1 = await stripped.post(form.action, { ...form.fields, username: u.userName, password: PASSWORD });
      assertPage(post1, 400, /another browser/);
      assert.equal(setCookies(post1).filter((c) => c.startsWith(SESSION)).length, 0);
      assertPage(await new Browser(h).get(start.headers.location!), 400, /another browser/);
      // A different browser's binding cookie is no better.
      const foreign = new Browser(h);
      await foreign.get(codeRequest(web).url);
      const post2 = await foreign.post(form.action, { ...form.fields, username: u.userName, password: PASSWORD });
      assertPage(post2, 400, /another browser/);
      // Control: the original browser can.
      assert.equal((await br.post(form.action, { ...form.fields, username: u.userName, password: PASSWORD })).statusCode, 303);
    });
  });
});

// ---------------------------------------------------------------------------------------------------

describe('RU-12: X-Forwarded-For does not change rate-limit keys (server without trustProxy, 3 failures per address)', () => {
  let h: Harness;
  let admin: string;
  let web: Client;
  before(async () => {
    h = await harness({ config: { loginIpMaxFailures: 3 } });
    admin = await adminToken(h);
    web = await createWebApp(h, admin);
  });
  after(() => h.close());

  test('failures sent with different X-Forwarded-For values all count against the real address', async () => {
    const u = await createUser(h, admin);
    const br = new Browser(h);
    const { form } = await loginPage(br, codeRequest(web, { scope: 'openid' }).url);
    for (let i = 0; i < 3; i++) {
      const r = await br.post(form.action, { ...form.fields, username: `nobody-${i}`, password: 'wrong password 1' }, { 'x-forwarded-for': `203.0.113.${i + 1}`, forwarded: `for=203.0.113.${i + 1}` });
      assertPage(r, 401, /incorrect username or password/);
    }
    const locked = await br.post(form.action, { ...form.fields, username: u.userName, password: PASSWORD }, { 'x-forwarded-for': '198.51.100.7' });
    assertPage(locked, 401, /incorrect username or password/);
    // Control: the same credentials from a genuinely different address succeed.
    const ok = await postFrom(h, br, form.action, { ...form.fields, username: u.userName, password: PASSWORD }, '192.0.2.55');
    assert.equal(ok.statusCode, 303, ok.body.slice(0, 300));
  });
});
