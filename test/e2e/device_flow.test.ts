import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { generate } from 'otplib';
import type { FixedClock } from '../../src/core/clock.js';
import type { AuditEventRecord } from '../../src/core/types.js';
import { lookupHash } from '../../src/crypto/secrets.js';
import { APP_SCHEMA, adminToken, assertOAuthError, basic, harness, ISSUER, post, scim, type Harness } from '../helpers.js';
import { Browser, createUser, formOf, PASSWORD } from '../signin.js';
import { DEVICE_GRANT, tvApp } from '../device.js';
import { openDatabase } from '../../src/storage/db.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from '../contract/pg.js';

/**
 * RFC 8628 end to end, as a TV app and a phone: the TV asks for a code and polls the token endpoint;
 * the phone (a cookie-keeping client over inject) enters the code, signs in, approves. Every refusal
 * of the device endpoint, the token endpoint and the verification page with its status and error.
 */
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

const deviceRequest = (h: Harness, body: Record<string, string> | string, headers: Record<string, string> = {}) => post(h, '/oauth2/v1/device', body, headers);
const poll = (h: Harness, clientId: string, deviceCode: string) => post(h, '/oauth2/v1/token', { grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: clientId });

function assertPage(r: LightMyRequestResponse, status: number, text?: RegExp): void {
  assert.equal(r.statusCode, status, r.body.slice(0, 400));
  assert.match(String(r.headers['content-type']), /^text\/html/);
  assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/);
  assert.equal(r.headers['x-frame-options'], 'DENY');
  assert.equal(r.headers['cache-control'], 'no-store');
  if (text) assert.match(r.body, text);
}

/** The verification page's form: the CSRF token and the pre-filled user code. */
function entryForm(html: string) {
  const f = formOf(html);
  const value = /<input type="text" id="user_code" name="user_code"[^>]*value="([^"]*)"/.exec(html);
  assert.ok(value, 'the page has a user_code field');
  return { action: f.action, csrf: f.fields.csrf!, userCode: value[1]! };
}

/** The phone: open verification_uri_complete, submit the code; returns the response of the submission. */
async function enterCode(b: Browser, url: string, code?: string) {
  const page = await b.get(url);
  assertPage(page, 200);
  const f = entryForm(page.body);
  return b.post(f.action, { csrf: f.csrf, user_code: code ?? f.userCode });
}

/** After the code: sign in on the login page (if shown); returns the confirmation page. */
async function signInToConfirm(b: Browser, r: LightMyRequestResponse, userName: string) {
  assert.equal(r.statusCode, 303, r.body.slice(0, 300));
  let page = await b.get(r.headers.location!);
  if (/name="op" value="credSubmit"/.test(page.body)) {
    const login = formOf(page.body, 'credSubmit');
    const next = await b.post(login.action, { ...login.fields, username: userName, password: PASSWORD });
    assert.equal(next.statusCode, 303, next.body.slice(0, 300));
    page = await b.get(next.headers.location!);
  }
  return page;
}

async function decide(b: Browser, confirm: LightMyRequestResponse, decision: 'allow' | 'deny') {
  assertPage(confirm, 200, /Approve/);
  const f = formOf(confirm.body, 'consent');
  return b.post(f.action, { ...f.fields, decision });
}

async function startDevice(h: Harness, clientId: string, scope: string) {
  const r = await deviceRequest(h, { client_id: clientId, scope });
  assert.equal(r.statusCode, 200, r.body);
  return r.json() as { device_code: string; user_code: string; verification_uri: string; verification_uri_complete: string; expires_in: number; interval: number };
}

// The flow on both stores (issue 9: each flow end to end on SQLite and PostgreSQL).
const pgReady = await pgAvailable();
for (const store of ['SQLite', 'PostgreSQL'] as const) describe(`device authorization grant (RFC 8628): a TV app and a phone on ${store}`, { skip: store === 'PostgreSQL' && pgReady !== true ? String(pgReady) : false }, () => {
  const pgSchema = store === 'PostgreSQL' ? schemaName() : undefined;
  let h: Harness;
  let admin: string;
  const events: AuditEventRecord[] = [];
  const clock = () => h.clock as FixedClock;
  before(async () => {
    h = await harness({ database: pgSchema ? await openDatabase(PG_URL, { pgSchema }) : undefined });
    admin = await adminToken(h);
    h.t.services.events.on((e) => events.push(e));
  });
  after(async () => {
    await h.close();
    if (pgSchema) { await h.t.database.close(); await dropSchema(pgSchema); }
  });

  test('discovery lists the device authorization endpoint and the grant', async () => {
    const m = (await h.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json();
    assert.equal(m.device_authorization_endpoint, `${ISSUER}/oauth2/v1/device`);
    assert.ok(m.grant_types_supported.includes(DEVICE_GRANT));
    const d = (await h.inject({ method: 'GET', url: '/domains/nope/.well-known/openid-configuration' }));
    assert.equal(d.statusCode, 404);
  });

  test('TV asks, polls (pending, slow_down, interval grows and is kept), the phone signs in and approves, the TV gets verifiable tokens', async () => {
    const user = await createUser(h, admin);
    const tv = await tvApp(h, admin);
    const r = await deviceRequest(h, { client_id: tv.clientId, scope: `openid profile offline_access ${tv.scope}` });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers['cache-control'], 'no-store');
    const d = r.json();
    assert.deepEqual(Object.keys(d).sort(), ['device_code', 'expires_in', 'interval', 'user_code', 'verification_uri', 'verification_uri_complete']);
    assert.match(d.user_code, USER_CODE);
    assert.ok(Buffer.from(d.device_code, 'base64url').length >= 16, 'device code of at least 128 bits');
    assert.equal(d.verification_uri, `${ISSUER}/ui/v1/device`);
    assert.equal(d.verification_uri_complete, `${ISSUER}/ui/v1/device?user_code=${d.user_code}`);
    assert.equal(d.expires_in, 600);
    assert.equal(d.interval, 5);
    const requested = events.find((e) => e.eventId === 'device.authorization_requested' && e.actorId === tv.clientId);
    assert.ok(requested, 'device authorization audited');

    // Before approval: pending; too soon: slow_down, and the interval is 10 s from then on.
    assertOAuthError(await poll(h, tv.clientId, d.device_code), 400, 'authorization_pending');
    assertOAuthError(await poll(h, tv.clientId, d.device_code), 400, 'slow_down');
    clock().advance(5_000);
    // 5 s later is too soon for the grown 10 s interval: slow_down again, now 15 s.
    assertOAuthError(await poll(h, tv.clientId, d.device_code), 400, 'slow_down');
    clock().advance(14_000);
    assertOAuthError(await poll(h, tv.clientId, d.device_code), 400, 'slow_down');
    clock().advance(20_000);
    assertOAuthError(await poll(h, tv.clientId, d.device_code), 400, 'authorization_pending');
    // Persisted: the stored interval is 5 + 5 + 5 + 5.
    assert.equal((await h.t.services.repos.deviceCodes.get(lookupHash(d.device_code)))?.interval, 20);

    // The phone: the form is pre-filled from verification_uri_complete; sign-in; confirmation names the client and the scopes.
    const phone = new Browser(h);
    const page = await phone.get(d.verification_uri_complete);
    assertPage(page, 200);
    assert.equal(entryForm(page.body).userCode, d.user_code);
    assert.doesNotMatch(page.body, /<script/);
    const confirm = await signInToConfirm(phone, await enterCode(phone, d.verification_uri_complete), user.userName);
    assertPage(confirm, 200, new RegExp(tv.name));
    assert.match(confirm.body, /Watch your films/);
    assert.match(confirm.body, /See your name and profile/);
    assert.match(confirm.body, new RegExp(`Signed in as ${user.userName}`));
    assertOAuthError(await (clock().advance(20_000), poll(h, tv.clientId, d.device_code)), 400, 'authorization_pending');
    const done = await decide(phone, confirm, 'allow');
    assertPage(done, 200, /Device connected/);
    assert.ok(events.find((e) => e.eventId === 'device.approved' && e.actorId === user.id), 'approval audited');

    // The TV's next poll gets the tokens; the ID token and the access token verify.
    clock().advance(20_000);
    const t = await poll(h, tv.clientId, d.device_code);
    assert.equal(t.statusCode, 200, t.body);
    assert.equal(t.headers['cache-control'], 'no-store');
    const tokens = t.json();
    assert.deepEqual(Object.keys(tokens).sort(), ['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type']);
    assert.equal(tokens.token_type, 'Bearer');
    assert.equal(tokens.scope, `openid profile offline_access ${tv.scope}`);
    const jwks = createLocalJWKSet((await h.inject({ method: 'GET', url: '/admin/v1/SigningCert/jwk' })).json());
    const at = await jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, audience: tv.audience, typ: 'at+jwt', currentDate: new Date(clock().now()) });
    assert.equal(at.payload.sub, user.id);
    assert.equal(at.payload.client_id, tv.clientId);
    const id = await jwtVerify(tokens.id_token, jwks, { issuer: ISSUER, audience: tv.clientId, currentDate: new Date(clock().now()) });
    assert.equal(id.payload.sub, user.id);
    assert.deepEqual(id.payload.amr, ['pwd']);
    assert.equal(id.payload.acr, 'urn:tessera:acr:pwd');
    assert.equal(typeof id.payload.sid, 'string');
    assert.equal(id.payload.nonce, undefined);
    // The refresh token works for the public client.
    const rt = await post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: tv.clientId });
    assert.equal(rt.statusCode, 200, rt.body);
    // GR-7: redeemed once.
    clock().advance(15_000);
    assertOAuthError(await poll(h, tv.clientId, d.device_code), 400, 'invalid_grant');
    // The used code at the page: a clear error, no approval again.
    const again = await enterCode(new Browser(h), d.verification_uri_complete);
    assertPage(again, 400, /already used/);
  });

  test('SSO: a signed-in user goes straight to the confirmation; deny gives access_denied and is audited', async () => {
    const user = await createUser(h, admin);
    const tv = await tvApp(h, admin);
    const phone = new Browser(h);
    const first = await startDevice(h, tv.clientId, tv.scope);
    const c1 = await signInToConfirm(phone, await enterCode(phone, first.verification_uri_complete), user.userName);
    await decide(phone, c1, 'allow');
    const second = await startDevice(h, tv.clientId, tv.scope);
    const r = await enterCode(phone, second.verification_uri);
    // verification_uri (not _complete): the user types the code; lower case, spaces, no dash all work.
    assert.equal(r.statusCode, 400);
    const typed = ` ${second.user_code.replace('-', '').toLowerCase()} `;
    const ok = await enterCode(phone, second.verification_uri, typed);
    assert.equal(ok.statusCode, 303);
    const confirm = await phone.get(ok.headers.location!);
    assertPage(confirm, 200, /Approve/);
    assert.doesNotMatch(confirm.body, /name="password"/);
    const denied = await decide(phone, confirm, 'deny');
    assertPage(denied, 200, /denied/);
    assert.ok(events.find((e) => e.eventId === 'device.denied' && e.actorId === user.id), 'denial audited');
    assertOAuthError(await poll(h, tv.clientId, second.device_code), 400, 'access_denied');
    clock().advance(60_000);
    assertOAuthError(await poll(h, tv.clientId, second.device_code), 400, 'access_denied');
  });

  test('two concurrent polls after approval: exactly one gets tokens', async () => {
    const user = await createUser(h, admin);
    const tv = await tvApp(h, admin);
    const d = await startDevice(h, tv.clientId, tv.scope);
    const phone = new Browser(h);
    await decide(phone, await signInToConfirm(phone, await enterCode(phone, d.verification_uri_complete), user.userName), 'allow');
    const results = await Promise.all(Array.from({ length: 8 }, () => poll(h, tv.clientId, d.device_code)));
    assert.equal(results.filter((x) => x.statusCode === 200).length, 1, results.map((x) => x.body).join('\n'));
    for (const x of results.filter((y) => y.statusCode !== 200)) assertOAuthError(x, 400, 'invalid_grant');
  });

  test('GR-7: another client presenting the device code gets invalid_grant and changes nothing', async () => {
    const user = await createUser(h, admin);
    const tv = await tvApp(h, admin);
    const other = await tvApp(h, admin);
    const d = await startDevice(h, tv.clientId, tv.scope);
    assertOAuthError(await poll(h, other.clientId, d.device_code), 400, 'invalid_grant');
    // The other client's polls did not count as the TV's (no slow_down for the TV's first poll).
    assertOAuthError(await poll(h, tv.clientId, d.device_code), 400, 'authorization_pending');
    const phone = new Browser(h);
    await decide(phone, await signInToConfirm(phone, await enterCode(phone, d.verification_uri_complete), user.userName), 'allow');
    assertOAuthError(await poll(h, other.clientId, d.device_code), 400, 'invalid_grant');
    assert.equal((await poll(h, tv.clientId, d.device_code)).statusCode, 200);
  });

  test('expiry: expired_token at the token endpoint, a clear page at the verification page (approval impossible)', async () => {
    const user = await createUser(h, admin);
    const tv = await tvApp(h, admin);
    const d = await startDevice(h, tv.clientId, tv.scope);
    const phone = new Browser(h);
    const confirm = await signInToConfirm(phone, await enterCode(phone, d.verification_uri_complete), user.userName);
    clock().advance(601_000);
    assertOAuthError(await poll(h, tv.clientId, d.device_code), 400, 'expired_token');
    // The confirmation page opened before expiry cannot approve after it.
    const f = formOf(confirm.body, 'consent');
    assertPage(await phone.post(f.action, { ...f.fields, decision: 'allow' }), 400, /expired/);
    assertPage(await enterCode(phone, d.verification_uri_complete), 400, /expired/);
    assertOAuthError(await poll(h, tv.clientId, d.device_code), 400, 'expired_token');
  });

  test('device endpoint refusals: invalid_client (401), unauthorized_client, invalid_scope, invalid_request', async () => {
    const tv = await tvApp(h, admin);
    assertOAuthError(await deviceRequest(h, { client_id: 'no-such-client', scope: tv.scope }), 401, 'invalid_client');
    assertOAuthError(await deviceRequest(h, { scope: tv.scope }), 401, 'invalid_client');
    // A confidential client allowed the grant authenticates as at the token endpoint: a wrong secret is 401 with WWW-Authenticate.
    const conf = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: `conf-${randomBytes(3).toString('hex')}`, isOAuthClient: true, clientType: 'confidential', allowedGrants: [DEVICE_GRANT],
      allowedScopes: [{ fqs: tv.scope }],
    });
    assert.equal(conf.statusCode, 201, conf.body);
    const wrong = await deviceRequest(h, { scope: tv.scope }, { authorization: basic(conf.json().name, 'wrong-secret-0123456789abcdef') });
    assertOAuthError(wrong, 401, 'invalid_client');
    assert.match(String(wrong.headers['www-authenticate']), /^Basic/);
    const good = await deviceRequest(h, { scope: tv.scope }, { authorization: basic(conf.json().name, conf.json().clientSecret) });
    assert.equal(good.statusCode, 200, good.body);
    // Not allowed the grant.
    const web = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: `web-${randomBytes(3).toString('hex')}`, isOAuthClient: true, clientType: 'public', allowedGrants: ['authorization_code'],
      redirectUris: ['https://app.example.com/cb'],
    });
    assertOAuthError(await deviceRequest(h, { client_id: web.json().name, scope: 'openid' }), 400, 'unauthorized_client');
    // Scopes as the code flow checks them for the client.
    assertOAuthError(await deviceRequest(h, { client_id: tv.clientId, scope: 'no.such.scope' }), 400, 'invalid_scope');
    assertOAuthError(await deviceRequest(h, { client_id: tv.clientId, scope: 'bad"scope' }), 400, 'invalid_scope');
    assertOAuthError(await deviceRequest(h, { client_id: tv.clientId }), 400, 'invalid_scope');
    const other = await tvApp(h, admin);
    assertOAuthError(await deviceRequest(h, { client_id: tv.clientId, scope: other.scope }), 400, 'invalid_scope');
    // Duplicate parameters and non-form bodies.
    assertOAuthError(await deviceRequest(h, `client_id=${tv.clientId}&scope=${tv.scope}&scope=openid`), 400, 'invalid_request');
    assertOAuthError(await h.inject({ method: 'POST', url: '/oauth2/v1/device', payload: { client_id: tv.clientId }, headers: { 'content-type': 'application/json' } }), 400, 'invalid_request');
    const get = await h.inject({ method: 'GET', url: '/oauth2/v1/device' });
    assert.equal(get.statusCode, 404);
    assert.equal(get.json().error, 'invalid_request');
    // OIDC scopes only are fine (the access token is then for userinfo).
    assert.equal((await deviceRequest(h, { client_id: tv.clientId, scope: 'openid' })).statusCode, 200);
    // A switched-off client cannot start.
    assert.equal((await scim(h, 'PATCH', `/admin/v1/Apps/${tv.id}`, admin, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }],
    })).statusCode, 200);
    assertOAuthError(await deviceRequest(h, { client_id: tv.clientId, scope: tv.scope }), 401, 'invalid_client');
  });

  test('token endpoint refusals: missing, unknown, oversized and odd device codes; a client not allowed the grant', async () => {
    const tv = await tvApp(h, admin);
    assertOAuthError(await post(h, '/oauth2/v1/token', { grant_type: DEVICE_GRANT, client_id: tv.clientId }), 400, 'invalid_request');
    assertOAuthError(await poll(h, tv.clientId, 'not-a-device-code'), 400, 'invalid_grant');
    assertOAuthError(await poll(h, tv.clientId, 'x'.repeat(60_000)), 400, 'invalid_grant');
    assertOAuthError(await poll(h, tv.clientId, 'ü\u202e\u0000'), 400, 'invalid_grant');
    const d = await startDevice(h, tv.clientId, tv.scope);
    assertOAuthError(await post(h, '/oauth2/v1/token', `grant_type=${encodeURIComponent(DEVICE_GRANT)}&device_code=${d.device_code}&device_code=${d.device_code}&client_id=${tv.clientId}`), 400, 'invalid_request');
    // The user code is not a device code.
    assertOAuthError(await poll(h, tv.clientId, d.user_code), 400, 'invalid_grant');
    const web = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: `web-${randomBytes(3).toString('hex')}`, isOAuthClient: true, clientType: 'public', allowedGrants: ['authorization_code'],
      redirectUris: ['https://app.example.com/cb'],
    });
    assertOAuthError(await poll(h, web.json().name, d.device_code), 400, 'unauthorized_client');
  });

  test('redemption respects the user cut-off, deactivation and a client switched off', async () => {
    const approved = async (tv: { clientId: string; scope: string }, userName: string) => {
      const d = await startDevice(h, tv.clientId, tv.scope);
      const phone = new Browser(h);
      await decide(phone, await signInToConfirm(phone, await enterCode(phone, d.verification_uri_complete), userName), 'allow');
      return d;
    };
    const tv = await tvApp(h, admin);
    // A new password after the approval: the approval is worth no more than the session it came from.
    const u1 = await createUser(h, admin);
    const d1 = await approved(tv, u1.userName);
    clock().advance(2_000);
    assert.equal((await scim(h, 'PATCH', `/admin/v1/Users/${u1.id}`, admin, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'password', value: 'another long passphrase 42' }],
    })).statusCode, 200);
    assertOAuthError(await poll(h, tv.clientId, d1.device_code), 400, 'invalid_grant');
    // Deactivated.
    const u2 = await createUser(h, admin);
    const d2 = await approved(tv, u2.userName);
    assert.equal((await scim(h, 'PATCH', `/admin/v1/Users/${u2.id}`, admin, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }],
    })).statusCode, 200);
    assertOAuthError(await poll(h, tv.clientId, d2.device_code), 400, 'invalid_grant');
    // Client switched off after approval.
    const u3 = await createUser(h, admin);
    const tv3 = await tvApp(h, admin);
    const d3 = await approved(tv3, u3.userName);
    assert.equal((await scim(h, 'PATCH', `/admin/v1/Apps/${tv3.id}`, admin, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }],
    })).statusCode, 200);
    assertOAuthError(await poll(h, tv3.clientId, d3.device_code), 401, 'invalid_client');
  });

  test('user role rules: an identity domain API scope the user does not hold cannot be approved', async () => {
    const user = await createUser(h, admin);
    const tv = await tvApp(h, admin, { allowedScopes: [{ fqs: 'urn:opc:idm:t.users.read' }] });
    const d = await startDevice(h, tv.clientId, 'urn:opc:idm:t.users.read');
    const phone = new Browser(h);
    const confirm = await signInToConfirm(phone, await enterCode(phone, d.verification_uri_complete), user.userName);
    assertPage(confirm, 403, /cannot give/);
    assertOAuthError(await poll(h, tv.clientId, d.device_code), 400, 'authorization_pending');
  });

  test('MFA policy: enrolment on the pages, amr/acr accurate; a password-only session is not enough for an always-MFA app', async () => {
    const user = await createUser(h, admin);
    const plain = await tvApp(h, admin);
    const strict = await tvApp(h, admin, { mfaPolicy: 'always' });
    const phone = new Browser(h);
    // A password-only SSO session from a plain app ...
    await decide(phone, await signInToConfirm(phone, await enterCode(phone, (await startDevice(h, plain.clientId, plain.scope)).verification_uri_complete), user.userName), 'allow');
    // ... does not skip the second factor for the strict app: login, then enrolment.
    const d = await startDevice(h, strict.clientId, `openid ${strict.scope}`);
    let r = await enterCode(phone, d.verification_uri_complete);
    assert.equal(r.statusCode, 303);
    let page = await phone.get(r.headers.location!);
    assert.match(page.body, /name="password"/);
    let f = formOf(page.body, 'credSubmit');
    r = await phone.post(f.action, { ...f.fields, username: user.userName, password: PASSWORD });
    page = await phone.get(r.headers.location!);
    assertPage(page, 200, /Set up two-step verification/);
    const secret = /<code id="secret">([A-Z2-7 ]+)<\/code>/.exec(page.body)![1]!.replace(/ /g, '');
    f = formOf(page.body, 'enroll');
    const otp = await generate({ secret, epoch: Math.floor(clock().now() / 1000), algorithm: 'sha1', digits: 6, period: 30 });
    r = await phone.post(f.action, { ...f.fields, otpCode: otp });
    assertPage(r, 200, /bypass codes/);
    f = formOf(r.body, 'continue');
    r = await phone.post(f.action, f.fields);
    assert.equal(r.statusCode, 303);
    await decide(phone, await phone.get(r.headers.location!), 'allow');
    const t = await poll(h, strict.clientId, d.device_code);
    assert.equal(t.statusCode, 200, t.body);
    const jwks = createLocalJWKSet((await h.inject({ method: 'GET', url: '/admin/v1/SigningCert/jwk' })).json());
    const id = await jwtVerify(t.json().id_token, jwks, { issuer: ISSUER, audience: strict.clientId, currentDate: new Date(clock().now()) });
    assert.deepEqual(id.payload.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(id.payload.acr, 'urn:tessera:acr:mfa');
    // With a factor enrolled, a new sign-in for the plain app asks for it too (no path skips it).
    const b2 = new Browser(h);
    const d2 = await startDevice(h, plain.clientId, plain.scope);
    r = await enterCode(b2, d2.verification_uri_complete);
    page = await b2.get(r.headers.location!);
    f = formOf(page.body, 'credSubmit');
    r = await b2.post(f.action, { ...f.fields, username: user.userName, password: PASSWORD });
    page = await b2.get(r.headers.location!);
    assertPage(page, 200, /Enter your verification code/);
  });

  test('verification page: CSRF missing or wrong, framing headers, unknown and malformed codes, 60 KB and unicode input, cancel', async () => {
    const user = await createUser(h, admin);
    const tv = await tvApp(h, admin);
    const d = await startDevice(h, tv.clientId, tv.scope);
    const b = new Browser(h);
    const page = await b.get('/ui/v1/device');
    assertPage(page, 200, /Enter the code shown on your device/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    const f = entryForm(page.body);
    assert.equal(f.userCode, '');
    // CSRF: missing, wrong, and a token from another browser.
    assertPage(await b.post(f.action, { user_code: d.user_code }), 403, /another site/);
    assertPage(await b.post(f.action, { csrf: 'wrong', user_code: d.user_code }), 403);
    const other = new Browser(h);
    await other.get('/ui/v1/device');
    assertPage(await other.post(f.action, { csrf: f.csrf, user_code: d.user_code }), 403);
    assertPage(await new Browser(h).post(f.action, { csrf: f.csrf, user_code: d.user_code }), 403);
    // Odd input: a clear 4xx page, never a 500; odd values are not echoed into the form.
    const odd = ['BCDF-GHJ', 'AEIOU-123', 'bcdf\u0000ghjk', 'ВCDF-GHJK', '🙂🙂🙂🙂-🙂🙂🙂🙂', 'B'.repeat(60_000), '<script>x</script>'];
    for (const v of odd) {
      const c = new Browser(h);
      const cf = entryForm((await c.get('/ui/v1/device')).body);
      const r = await c.post(cf.action, { csrf: cf.csrf, user_code: v });
      assertPage(r, 400, /not a valid code/);
      assert.doesNotMatch(r.body, /<script>x/);
    }
    const c = new Browser(h);
    const huge = await c.get(`/ui/v1/device?user_code=${'Z'.repeat(6000)}`);
    assertPage(huge, 200);
    assert.equal(entryForm(huge.body).userCode, '');
    const xss = await c.get(`/ui/v1/device?user_code=${encodeURIComponent('"><script>alert(1)</script>')}`);
    assertPage(xss, 200);
    assert.doesNotMatch(xss.body, /<script>alert/);
    const repeated = await c.get(`/ui/v1/device?user_code=A&user_code=B`);
    assertPage(repeated, 200);
    // Cancel at the login page: nothing shared, the device keeps waiting.
    const r = await enterCode(new Browser(h), d.verification_uri_complete);
    const cancelB = new Browser(h);
    const r2 = await enterCode(cancelB, d.verification_uri_complete);
    assert.equal(r.statusCode, 303);
    const login = await cancelB.get(r2.headers.location!);
    assertPage(login, 200, /Sign in/);
    const cancel = formOf(login.body, 'cancel');
    assertPage(await cancelB.post(cancel.action, cancel.fields), 200, /Nothing was shared/);
    assertOAuthError(await poll(h, tv.clientId, d.device_code), 400, 'authorization_pending');
    // The confirmation page of another browser's flow cannot be used here (browser binding).
    const mine = new Browser(h);
    const confirm = await signInToConfirm(mine, await enterCode(mine, d.verification_uri_complete), user.userName);
    assertPage(confirm, 200, /Approve/);
    const stolen = formOf(confirm.body, 'consent');
    assertPage(await new Browser(h).post(stolen.action, { ...stolen.fields, decision: 'allow' }), 400, /another browser/);
    assertPage(await mine.post(stolen.action, { ...stolen.fields, csrf: 'forged', decision: 'allow' }), 403);
    clock().advance(10_000);
    assertOAuthError(await poll(h, tv.clientId, d.device_code), 400, 'authorization_pending');
  });
});

describe('device verification: wrong user codes are throttled per browser and per address', () => {
  let h: Harness;
  let admin: string;
  before(async () => { h = await harness({ config: { loginMaxFailures: 3, loginIpMaxFailures: 5 } }); admin = await adminToken(h); });
  after(() => h.close());

  const submit = async (b: Browser, code: string, ip: string) => {
    const page = await b.get('/ui/v1/device', { 'x-forwarded-for': ip });
    const f = entryForm(page.body);
    return h.inject({
      method: 'POST', url: '/ui/v1/device', remoteAddress: ip, payload: new URLSearchParams({ csrf: f.csrf, user_code: code }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
  };

  test('per browser: after 3 wrong codes even the right one is refused (429) in that browser, not in another', async () => {
    const tv = await tvApp(h, admin);
    const d = await startDevice(h, tv.clientId, tv.scope);
    const b = new Browser(h);
    for (let i = 0; i < 3; i++) assertPage(await submit(b, 'BCDF-GHJK', '10.0.0.1'), 400, /not known/);
    assertPage(await submit(b, d.user_code, '10.0.0.1'), 429, /Too many wrong codes/);
    assert.equal((await submit(new Browser(h), d.user_code, '10.0.0.1')).statusCode, 303);
  });

  test('per address: 5 wrong codes from fresh browsers lock the address; another address still works', async () => {
    const tv = await tvApp(h, admin);
    const d = await startDevice(h, tv.clientId, tv.scope);
    for (let i = 0; i < 4; i++) assertPage(await submit(new Browser(h), 'ZZZZ-ZZZZ', '10.0.0.2'), 400);
    assertPage(await submit(new Browser(h), 'not a code', '10.0.0.2'), 400, /not a valid code/);
    assertPage(await submit(new Browser(h), d.user_code, '10.0.0.2'), 429);
    assert.equal((await submit(new Browser(h), d.user_code, '10.0.0.3')).statusCode, 303);
  });
});
