import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import * as oauth from 'oauth4webapi';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { generate } from 'otplib';
import { systemClock, type FixedClock } from '../../src/core/clock.js';
import { adminToken, assertScimError, basic, decode, harness, ISSUER, post, scim, type Harness } from '../helpers.js';
import {
  authorizeUrl, Browser, callbackParams, createUser, createWebApp, followConsent, formOf, PASSWORD, pkce, REDIRECT, signIn,
} from '../signin.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}
const insecure = { [oauth.allowInsecureRequests]: true };

/** A web app signing a user in with a standard library (oauth4webapi) against a listening Tessera. */
describe('sign-in with oauth4webapi: code + PKCE, ID token, userinfo, refresh rotation, logout', () => {
  let h: Harness;
  let base: string;
  let admin: string;
  let as: oauth.AuthorizationServer;

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    h = await harness({ config: { publicUrl: base }, clock: systemClock });
    await h.t.app.listen({ port, host: '127.0.0.1' });
    admin = await adminToken(h);
    const issuer = new URL(base);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
  });
  after(() => h.close());

  test('discovery advertises the authorization endpoint, S256 only, and the iss response parameter', () => {
    assert.equal(as.authorization_endpoint, `${base}/oauth2/v1/authorize`);
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
    assert.equal(as.authorization_response_iss_parameter_supported, true);
    assert.ok(as.response_types_supported?.includes('code'));
    assert.equal(as.userinfo_endpoint, `${base}/oauth2/v1/userinfo`);
    assert.equal(as.end_session_endpoint, `${base}/oauth2/v1/userlogout`);
    for (const g of ['authorization_code', 'refresh_token']) assert.ok(as.grant_types_supported?.includes(g), g);
  });

  test('full flow: login, consent, code, ID token (signature, nonce, at_hash), userinfo, refresh rotation and reuse detection, logout', async () => {
    const user = await createUser(h, admin, undefined, { phoneNumbers: [{ value: '+1 555 0100', type: 'work', primary: true }] });
    const app = await createWebApp(h, admin);
    const client: oauth.Client = { client_id: app.clientId };
    const auth = oauth.ClientSecretBasic(app.secret!);
    const browser = new Browser(h, base);
    const { verifier, challenge } = pkce();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const url = new URL(as.authorization_endpoint!);
    for (const [k, v] of Object.entries({
      client_id: app.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid profile email phone offline_access', state, nonce,
      code_challenge: challenge, code_challenge_method: 'S256',
    })) url.searchParams.set(k, v);

    const r = await signIn(browser, url.href, user.userName);
    assert.equal(r.statusCode, 303);
    const sessionCookie = browser.cookies.get('tessera_session_default');
    assert.ok(sessionCookie);
    // The library checks iss (RFC 9207) and state.
    const params = oauth.validateAuthResponse(as, client, new URL(r.headers.location!), state);
    const res = await oauth.authorizationCodeGrantRequest(as, client, auth, params, REDIRECT, verifier, insecure);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, res, { expectedNonce: nonce, requireIdToken: true });
    assert.ok(tokens.refresh_token);
    assert.equal(tokens.scope, 'openid profile email phone offline_access');
    const claims = oauth.getValidatedIdTokenClaims(tokens)!;
    assert.equal(claims.sub, user.id);
    assert.equal(claims.nonce, nonce);
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal(claims.acr, 'urn:tessera:acr:pwd');
    assert.equal(typeof claims.sid, 'string');
    assert.equal(typeof claims.auth_time, 'number');
    // ID token signature against the published JWKS (RS256 with kid).
    const jwks = (await (await fetch(as.jwks_uri!)).json()) as Parameters<typeof createLocalJWKSet>[0];
    const verified = await jwtVerify(tokens.id_token!, createLocalJWKSet(jwks), { issuer: base, audience: app.clientId, algorithms: ['RS256'] });
    assert.equal(verified.protectedHeader.typ, 'JWT');
    assert.ok(verified.protectedHeader.kid);
    // RFC 9068 access token for a user: sub = user id, sub_type user, user_id.
    const at = decode(tokens.access_token).payload;
    assert.equal(at.sub, user.id);
    assert.equal(at.sub_type, 'user');
    assert.equal(at.user_id, user.id);
    assert.equal(at.client_id, app.clientId);

    // userinfo through the library (checks sub).
    const ui = await oauth.processUserInfoResponse(as, client, user.id, await oauth.userInfoRequest(as, client, tokens.access_token, insecure));
    assert.equal(ui.preferred_username, user.userName);
    assert.equal(ui.email, `${user.userName}@example.com`);
    assert.equal(ui.given_name, 'Ada');
    assert.equal(ui.phone_number, '+1 555 0100');

    // Refresh rotation: RT1 -> RT2; RT1 again -> invalid_grant and the whole family (RT2, access tokens) is revoked.
    const rt1 = tokens.refresh_token!;
    const r2 = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, auth, rt1, insecure));
    assert.ok(r2.refresh_token && r2.refresh_token !== rt1);
    assert.equal(oauth.getValidatedIdTokenClaims(r2)?.sub, user.id);
    const narrow = await post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: r2.refresh_token!, scope: 'openid profile' }, { authorization: basic(app.clientId, app.secret!) });
    assert.equal(narrow.statusCode, 200, narrow.body);
    assert.equal(narrow.json().scope, 'openid profile');
    const rt3 = narrow.json().refresh_token as string;
    const wider = await post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: rt3, scope: 'openid profile address' }, { authorization: basic(app.clientId, app.secret!) });
    assert.equal(wider.statusCode, 400);
    assert.equal(wider.json().error, 'invalid_scope');
    const reuse = await post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: rt1 }, { authorization: basic(app.clientId, app.secret!) });
    assert.equal(reuse.statusCode, 400);
    assert.equal(reuse.json().error, 'invalid_grant');
    const after = await post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: rt3 }, { authorization: basic(app.clientId, app.secret!) });
    assert.equal(after.json().error, 'invalid_grant', 'the newest refresh token of the family is revoked too');
    const intro = await post(h, '/oauth2/v1/introspect', { token: narrow.json().access_token }, { authorization: basic(app.clientId, app.secret!) });
    assert.deepEqual(intro.json(), { active: false }, 'access tokens of the family are revoked');

    // SSO: a second authorization in the same browser needs neither login nor consent (remembered).
    const again = await browser.get(authorizeUrl({ client_id: app.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid profile', state: 's2', code_challenge: challenge, code_challenge_method: 'S256' }));
    assert.equal(again.statusCode, 302, again.body);
    assert.ok(callbackParams(again).get('code'));
    assert.equal(callbackParams(again).get('iss'), base);

    // RP-initiated logout with id_token_hint and a registered post_logout_redirect_uri.
    const out = await browser.get(`/oauth2/v1/userlogout?${new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://app.example.com/bye', state: 'bye1' })}`);
    assert.equal(out.statusCode, 302, out.body);
    assert.equal(out.headers.location, 'https://app.example.com/bye?state=bye1');
    assert.equal(browser.cookies.get('tessera_session_default'), undefined);
    const afterLogout = await browser.get(authorizeUrl({ client_id: app.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: 's3', code_challenge: challenge, code_challenge_method: 'S256' }));
    assert.equal(afterLogout.statusCode, 303);
    assert.match(afterLogout.headers.location!, /\/ui\/v1\/signin\//);
    const none = await browser.get(authorizeUrl({ client_id: app.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: 's4', prompt: 'none', code_challenge: challenge, code_challenge_method: 'S256' }));
    assert.equal(callbackParams(none).get('error'), 'login_required');
  });
});

describe('sign-in: consent, MFA enrolment and TOTP sign-in, password grant, Authenticate API', () => {
  let h: Harness;
  let admin: string;
  before(async () => { h = await harness(); admin = await adminToken(h); });
  after(() => h.close());
  const clock = () => h.clock as FixedClock;
  const totpAt = (secret: string) => generate({ secret, epoch: Math.floor(clock().now() / 1000), algorithm: 'sha1', digits: 6, period: 30 });
  const code = async (app: { clientId: string; secret?: string }, r: { headers: Record<string, unknown> }, verifier: string) => {
    const p = new URL(String(r.headers.location)).searchParams;
    const t = await post(h, '/oauth2/v1/token', { grant_type: 'authorization_code', code: p.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier }, { authorization: basic(app.clientId, app.secret!) });
    assert.equal(t.statusCode, 200, t.body);
    return t.json();
  };

  test('consent is shown once, remembered per scope set, asked again for a new scope, revocable by the user and the admin', async () => {
    const user = await createUser(h, admin);
    const app = await createWebApp(h, admin);
    const b = new Browser(h);
    const { verifier, challenge } = pkce();
    const url = (scope: string) => authorizeUrl({ client_id: app.clientId, redirect_uri: REDIRECT, response_type: 'code', scope, state: 'x', code_challenge: challenge, code_challenge_method: 'S256' });
    let r = await b.get(url('openid profile'));
    r = await b.get(r.headers.location!);
    const login = formOf(r.body, 'credSubmit');
    r = await b.post(login.action, { ...login.fields, username: user.userName, password: PASSWORD });
    assert.equal(r.statusCode, 303);
    const consent = await b.get(r.headers.location!);
    assert.equal(consent.statusCode, 200);
    assert.match(consent.body, /See your name and profile/);
    r = await followConsent(b, r, 'allow');
    await code(app, r, verifier);
    // remembered
    r = await b.get(url('openid profile'));
    assert.equal(r.statusCode, 302);
    // a new scope asks again, prompt=consent asks again
    r = await b.get(url('openid profile email'));
    assert.equal(r.statusCode, 303);
    r = await followConsent(b, r, 'deny');
    assert.equal(callbackParams(r).get('error'), 'access_denied');
    assert.equal(callbackParams(r).get('iss'), ISSUER);
    // admin lists and revokes; the next authorization asks again
    const list = await scim(h, 'GET', `/admin/v1/Consents?userId=${user.id}`, admin);
    assert.equal(list.statusCode, 200, list.body);
    assert.deepEqual(list.json().Resources.map((x: { clientId: string; scopes: string[] }) => [x.clientId, x.scopes]), [[app.clientId, ['openid', 'profile']]]);
    assertScimError(await scim(h, 'GET', '/admin/v1/Consents', admin), 400, 'invalidValue');
    assertScimError(await scim(h, 'DELETE', '/admin/v1/Consents/no-dot', admin), 404);
    assertScimError(await scim(h, 'GET', '/admin/v1/MyConsents', admin), 403);
    assert.equal((await h.inject({ method: 'GET', url: `/admin/v1/Consents?userId=${user.id}` })).statusCode, 401);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Consents/${user.id}.${app.clientId}`, admin)).statusCode, 204);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Consents/${user.id}.${app.clientId}`, admin)).statusCode, 404);
    r = await b.get(url('openid profile'));
    assert.equal(r.statusCode, 303, 'consent asked again after revocation');
  });

  test('MFA: enrolment on the pages (QR, key, first code, bypass codes shown once), then TOTP sign-in; amr/acr say so', async () => {
    const user = await createUser(h, admin);
    const app = await createWebApp(h, admin, { mfaPolicy: 'always' });
    const b = new Browser(h);
    const { verifier, challenge } = pkce();
    const url = authorizeUrl({ client_id: app.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: 'm', nonce: 'n', code_challenge: challenge, code_challenge_method: 'S256' });
    let r = await b.get(url);
    r = await b.get(r.headers.location!);
    let f = formOf(r.body, 'credSubmit');
    r = await b.post(f.action, { ...f.fields, username: user.userName, password: PASSWORD });
    assert.equal(r.statusCode, 303);
    r = await b.get(r.headers.location!);
    assert.equal(r.statusCode, 200);
    assert.match(r.body, /<svg/);
    const secret = /<code id="secret">([A-Z2-7 ]+)<\/code>/.exec(r.body)![1]!.replace(/ /g, '');
    f = formOf(r.body, 'enroll');
    const wrong = await b.post(f.action, { ...f.fields, otpCode: '000000' });
    assert.equal(wrong.statusCode, 401);
    assert.match(wrong.body, /not valid/);
    r = await b.post(f.action, { ...f.fields, otpCode: await totpAt(secret) });
    assert.equal(r.statusCode, 200);
    const codes = [...r.body.matchAll(/([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{2})<br>/g)].map((m) => m[1]!);
    assert.equal(codes.length, 10);
    f = formOf(r.body, 'continue');
    r = await followConsent(b, await b.post(f.action, f.fields));
    let t = await code(app, r, verifier);
    let id = decode(t.id_token).payload;
    assert.deepEqual(id.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(id.acr, 'urn:tessera:acr:mfa');

    // Sign in again in a new browser half a minute later: the MFA page asks for the current code.
    clock().advance(30_000);
    const b2 = new Browser(h);
    r = await b2.get(url);
    r = await b2.get(r.headers.location!);
    f = formOf(r.body, 'credSubmit');
    r = await b2.post(f.action, { ...f.fields, username: user.userName, password: PASSWORD });
    r = await b2.get(r.headers.location!);
    assert.match(r.body, /Enter your verification code/);
    f = formOf(r.body, 'otp');
    r = await followConsent(b2, await b2.post(f.action, { ...f.fields, otpCode: await totpAt(secret) }));
    t = await code(app, r, verifier);
    id = decode(t.id_token).payload;
    assert.deepEqual(id.amr, ['pwd', 'otp', 'mfa']);

    // A bypass code works once.
    const b3 = new Browser(h);
    r = await b3.get(url);
    r = await b3.get(r.headers.location!);
    f = formOf(r.body, 'credSubmit');
    r = await b3.get((await b3.post(f.action, { ...f.fields, username: user.userName, password: PASSWORD })).headers.location!);
    f = formOf(r.body, 'bypass');
    r = await followConsent(b3, await b3.post(f.action, { ...f.fields, bypassCode: codes[0]!.toUpperCase() }));
    t = await code(app, r, verifier);
    assert.deepEqual(decode(t.id_token).payload.amr, ['pwd', 'mfa']);
  });

  test('implicit (opted in): response_type=id_token carries the profile claims (no access token, OIDC Core §5.4), fragment with iss', async () => {
    const user = await createUser(h, admin);
    const app = await createWebApp(h, admin, { allowedGrants: ['implicit'], bypassConsent: true });
    const b = new Browser(h);
    const r = await signIn(b, authorizeUrl({ client_id: app.clientId, redirect_uri: REDIRECT, response_type: 'id_token', scope: 'openid profile', state: 'i', nonce: 'n-i' }), user.userName);
    const u = new URL(r.headers.location!);
    assert.equal(u.search, '');
    const p = new URLSearchParams(u.hash.slice(1));
    assert.equal(p.get('iss'), ISSUER);
    assert.equal(p.get('access_token'), null);
    const id = decode(p.get('id_token')!).payload;
    assert.equal(id.nonce, 'n-i');
    assert.equal(id.preferred_username, user.userName);
    assert.equal(id.given_name, 'Ada');
  });

  test('password grant: opt-in confidential clients only; never for an MFA user', async () => {
    const user = await createUser(h, admin);
    const legacy = await createWebApp(h, admin, { allowedGrants: ['password'], redirectUris: [] });
    const r = await post(h, '/oauth2/v1/token', { grant_type: 'password', username: user.userName, password: PASSWORD, scope: 'openid profile' }, { authorization: basic(legacy.clientId, legacy.secret!) });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(decode(r.json().access_token).payload.sub, user.id);
    assert.deepEqual(decode(r.json().id_token).payload.amr, ['pwd']);
    const web = await createWebApp(h, admin);
    const no = await post(h, '/oauth2/v1/token', { grant_type: 'password', username: user.userName, password: PASSWORD }, { authorization: basic(web.clientId, web.secret!) });
    assert.equal(no.json().error, 'unauthorized_client');
    const d = (await h.t.services.repos.domains.getByName('default'))!;
    const secret = h.t.services.totp.newSecret();
    assert.ok(await h.t.services.totp.confirmEnrolment(d.id, user.id, secret, await totpAt(secret)));
    const mfa = await post(h, '/oauth2/v1/token', { grant_type: 'password', username: user.userName, password: PASSWORD }, { authorization: basic(legacy.clientId, legacy.secret!) });
    assert.equal(mfa.statusCode, 400);
    assert.equal(mfa.json().error, 'invalid_grant');
  });

  test('Authenticate API: requestState / op / nextOp state machine, AUTH-3001, AUTH-1111, authnToken to a session', async () => {
    const user = await createUser(h, admin);
    const d = (await h.t.services.repos.domains.getByName('default'))!;
    const app = await createWebApp(h, admin, { displayName: `Custom Pages ${Date.now()}` });
    // The app serving the custom page holds the Signin role.
    const roles = await scim(h, 'GET', `/admin/v1/AppRoles?filter=${encodeURIComponent('displayName eq "Signin"')}`, admin);
    const role = roles.json().Resources[0];
    const g = await scim(h, 'POST', '/admin/v1/Grants', admin, {
      schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:Grant'], app: { value: role.app.value }, entitlement: { attributeName: 'appRoles', attributeValue: role.id },
      grantMechanism: 'ADMINISTRATOR_TO_APP', grantee: { value: app.id, type: 'App' },
    });
    assert.equal(g.statusCode, 201, g.body);
    await scim(h, 'PATCH', `/admin/v1/Apps/${app.id}`, admin, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'allowedGrants', value: ['client_credentials'] }] });
    h.t.services.catalogs.invalidate(d.id);
    const tok = await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'urn:opc:idm:t.security.signin' }, { authorization: basic(app.clientId, app.secret!) });
    assert.equal(tok.statusCode, 200, tok.body);
    const bearer = { authorization: `Bearer ${tok.json().access_token}` };
    const api = (body: unknown) => h.inject({ method: 'POST', url: '/sso/v1/sdk/authenticate', headers: { ...bearer, 'content-type': 'application/json' }, payload: JSON.stringify(body) });

    assert.equal((await h.inject({ method: 'GET', url: `/sso/v1/sdk/authenticate?appName=x` })).statusCode, 401);
    const start = await h.inject({ method: 'GET', url: `/sso/v1/sdk/authenticate?appName=${encodeURIComponent(app.clientId)}`, headers: bearer });
    assert.equal(start.statusCode, 200, start.body);
    const s0 = start.json();
    assert.deepEqual([s0.status, s0.nextOp, s0.nextAuthFactors, s0.USERNAME_PASSWORD], ['success', ['credSubmit'], ['USERNAME_PASSWORD'], { credentials: ['username', 'password'] }]);
    const bad = await api({ op: 'credSubmit', requestState: s0.requestState, credentials: { username: user.userName, password: 'wrong password here' } });
    assert.equal(bad.statusCode, 401);
    assert.deepEqual(bad.json().cause, [{ code: 'AUTH-3001', message: 'You entered an incorrect username or password.' }]);
    assert.equal(bad.json().status, 'failed');
    const missingOp = await api({ requestState: s0.requestState });
    assert.equal(missingOp.statusCode, 422);
    const expired = await api({ op: 'credSubmit', requestState: 'nope' });
    assert.equal(expired.statusCode, 401);
    assert.equal(expired.json().cause[0].code, 'AUTH-4001');

    // Enrol TOTP so the next sign-in has a second step.
    const secret = h.t.services.totp.newSecret();
    assert.ok(await h.t.services.totp.confirmEnrolment(d.id, user.id, secret, await totpAt(secret)));
    clock().advance(30_000);
    const s1 = (await api({ op: 'credSubmit', requestState: s0.requestState, credentials: { username: user.userName, password: PASSWORD } })).json();
    assert.deepEqual([s1.nextOp, s1.nextAuthFactors], [['credSubmit'], ['TOTP', 'BYPASSCODE']]);
    const badFactor = await api({ op: 'credSubmit', requestState: s0.requestState, authFactor: 'EMAILS', credentials: { otpCode: '123456' } });
    assert.equal(badFactor.statusCode, 400);
    assert.equal(badFactor.json().cause[0].code, 'AUTH-1111');
    assert.match(badFactor.json().cause[0].message, /Invalid value \[EMAILS\] for attribute authFactor/);
    const done = await api({ op: 'credSubmit', requestState: s0.requestState, authFactor: 'TOTP', credentials: { otpCode: await totpAt(secret) } });
    assert.equal(done.statusCode, 200, done.body);
    assert.equal(typeof done.json().authnToken, 'string');
    // The browser turns the authnToken into a session (once).
    const b = new Browser(h);
    const sess = await b.post('/sso/v1/sdk/session', { requestState: s0.requestState, authnToken: done.json().authnToken });
    assert.equal(sess.statusCode, 200, sess.body);
    assert.ok(b.cookies.get('tessera_session_default'));
    const twice = await new Browser(h).post('/sso/v1/sdk/session', { requestState: s0.requestState, authnToken: done.json().authnToken });
    assert.equal(twice.statusCode, 401);
    // That session signs the user in to the app (SSO) without a login page.
    const { challenge } = pkce();
    const r = await b.get(authorizeUrl({ client_id: app.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: 'a', code_challenge: challenge, code_challenge_method: 'S256' }));
    assert.equal(r.statusCode, 303);
    assert.match(r.headers.location!, /\/ui\/v1\/signin\//, 'consent for the new app');
  });
});
