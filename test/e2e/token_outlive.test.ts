/**
 * Issue 7, "Tokens outliving the reason they were issued": after a password change (admin or
 * self-service) and after a deactivation (even one followed by a reactivation), access tokens issued
 * before stop working at once, JWTs included; role and grant removal take effect at the admin API at
 * once (see admin_escalation.test.ts for that half).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FixedClock } from '../../src/core/clock.js';
import { adminToken, APP_SCHEMA, basic, grantRole, harness, post, scim, type Harness } from '../helpers.js';
import { authorizeUrl, Browser, callbackParams, createUser, createWebApp, PASSWORD, pkce, REDIRECT, signIn } from '../signin.js';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ME_PW = 'urn:ietf:params:scim:schemas:oracle:idcs:MePasswordChanger';
const NEW_PASSWORD = 'another long passphrase 77';
const patchOp = (...Operations: Record<string, unknown>[]) => ({ schemas: [PATCH], Operations });

describe('access tokens do not outlive a new password or a deactivation', () => {
  let h: Harness;
  let root: string;
  let legacy: { clientId: string; secret: string };
  let web: { clientId: string; secret?: string };
  const clock = () => h.clock as FixedClock;

  before(async () => {
    h = await harness();
    root = await adminToken(h);
    // A password-grant client holding the Me role, so its user tokens reach /admin/v1/Me.
    const c = await scim(h, 'POST', '/admin/v1/Apps', root, { schemas: [APP_SCHEMA], displayName: 'legacy', isOAuthClient: true, allowedGrants: ['password'] });
    await grantRole(h, root, 'Me', 'App', c.json().id);
    legacy = { clientId: c.json().name, secret: c.json().clientSecret };
    web = await createWebApp(h, root, { bypassConsent: true });
  });
  after(() => h.close());

  const passwordToken = async (userName: string, password = PASSWORD) => {
    const r = await post(h, '/oauth2/v1/token', { grant_type: 'password', username: userName, password, scope: 'openid urn:opc:idm:t.user.me' },
      { authorization: basic(legacy.clientId, legacy.secret) });
    assert.equal(r.statusCode, 200, r.body);
    return r.json().access_token as string;
  };
  /** Code flow tokens with a refresh token (the grant is stored) for a fresh browser. */
  const codeTokens = async (userName: string, password = PASSWORD) => {
    const pk = pkce();
    const r = await signIn(new Browser(h), authorizeUrl({
      response_type: 'code', client_id: web.clientId, redirect_uri: REDIRECT, scope: 'openid offline_access', state: 's', nonce: 'n',
      code_challenge: pk.challenge, code_challenge_method: 'S256',
    }), userName, password);
    const code = callbackParams(r).get('code')!;
    const t = await post(h, '/oauth2/v1/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: pk.verifier },
      { authorization: basic(web.clientId, web.secret!) });
    assert.equal(t.statusCode, 200, t.body);
    return t.json() as { access_token: string; refresh_token: string };
  };
  const userinfo = (token: string) => h.inject({ url: '/oauth2/v1/userinfo', headers: { authorization: `Bearer ${token}` } });
  const introspect = (token: string) => post(h, '/oauth2/v1/introspect', { token }, { authorization: basic(legacy.clientId, legacy.secret) });
  const assertDead = async (token: string, what: string) => {
    assert.equal((await userinfo(token)).statusCode, 401, `${what}: userinfo`);
    assert.deepEqual((await introspect(token)).json(), { active: false }, `${what}: introspection`);
    assert.equal((await h.inject({ url: '/admin/v1/Me', headers: { authorization: `Bearer ${token}` } })).statusCode, 401, `${what}: Me`);
  };

  test('an administrator sets a new password: JWTs issued before are refused everywhere; a new sign-in works', async () => {
    const u = await createUser(h, root);
    const before = await passwordToken(u.userName);
    assert.equal((await userinfo(before)).statusCode, 200);
    assert.equal((await introspect(before)).json().active, true);
    clock().advance(1000);
    const r = await scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, root, patchOp({ op: 'replace', path: 'password', value: NEW_PASSWORD }));
    assert.equal(r.statusCode, 200, r.body);
    await assertDead(before, 'after the admin reset');
    clock().advance(1000);
    assert.equal((await userinfo(await passwordToken(u.userName, NEW_PASSWORD))).statusCode, 200);
  });

  test('self-service (MePasswordChanger): the token that changed it and every older one are refused', async () => {
    const u = await createUser(h, root);
    const other = await passwordToken(u.userName);
    const mine = await passwordToken(u.userName);
    clock().advance(1000);
    const r = await h.inject({
      method: 'PUT', url: '/admin/v1/MePasswordChanger', headers: { authorization: `Bearer ${mine}`, 'content-type': 'application/scim+json' },
      payload: JSON.stringify({ schemas: [ME_PW], oldPassword: PASSWORD, password: NEW_PASSWORD }),
    });
    assert.equal(r.statusCode, 200, r.body);
    await assertDead(mine, 'the changing token');
    await assertDead(other, 'another session');
  });

  test('a stored grant (refresh token family) dies even within the same second, through its grant id', async () => {
    const u = await createUser(h, root);
    const t = await codeTokens(u.userName);
    const r = await scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, root, patchOp({ op: 'replace', path: 'password', value: NEW_PASSWORD }));
    assert.equal(r.statusCode, 200, r.body);
    await assertDead(t.access_token, 'same-second JWT of a refresh family');
    const rt = await post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token }, { authorization: basic(web.clientId, web.secret!) });
    assert.equal(rt.statusCode, 400, rt.body);
    assert.equal(rt.json().error, 'invalid_grant');
  });

  test('deactivation, then reactivation: tokens from before stay refused, new ones work', async () => {
    const u = await createUser(h, root);
    const jwt = await passwordToken(u.userName);
    const code = await codeTokens(u.userName);
    clock().advance(1000);
    assert.equal((await scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, root, patchOp({ op: 'replace', path: 'active', value: false }))).statusCode, 200);
    await assertDead(jwt, 'while inactive');
    assert.equal((await scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, root, patchOp({ op: 'replace', path: 'active', value: true }))).statusCode, 200);
    await assertDead(jwt, 'after reactivation (password grant JWT)');
    await assertDead(code.access_token, 'after reactivation (code flow JWT)');
    clock().advance(1000);
    assert.equal((await userinfo(await passwordToken(u.userName))).statusCode, 200, 'a new sign-in works');
  });

  test('within the same second: the token from before the change dies, one issued right after it works (its iat is the next second)', async () => {
    const u = await createUser(h, root);
    clock().set(Math.floor(clock().now() / 1000) * 1000 + 100);
    const before = await passwordToken(u.userName);
    clock().advance(300);
    assert.equal((await scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, root, patchOp({ op: 'replace', path: 'password', value: NEW_PASSWORD }))).statusCode, 200);
    clock().advance(300);
    const after = await passwordToken(u.userName, NEW_PASSWORD);
    await assertDead(before, 'same second, before');
    assert.equal((await userinfo(after)).statusCode, 200, 'same second, after');
    const iat = (t: string) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()).iat as number;
    assert.equal(iat(after), iat(before) + 1);
  });

  test('a client switched off and on again does not get its old tokens back', async () => {
    const c = await scim(h, 'POST', '/admin/v1/Apps', root, { schemas: [APP_SCHEMA], displayName: 'flip', isOAuthClient: true, allowedGrants: ['client_credentials'] });
    await grantRole(h, root, 'Audit Administrator', 'App', c.json().id);
    const tok = async () => (await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'urn:opc:idm:__myscopes__' }, { authorization: basic(c.json().name, c.json().clientSecret) })).json().access_token as string;
    const old = await tok();
    const audit = (t: string) => scim(h, 'GET', '/admin/v1/AuditEvents?count=1', t);
    assert.equal((await audit(old)).statusCode, 200);
    const flip = (active: boolean) => scim(h, 'PATCH', `/admin/v1/Apps/${c.json().id}`, root, patchOp({ op: 'replace', path: 'active', value: active }));
    assert.equal((await flip(false)).statusCode, 200);
    assert.equal((await audit(old)).statusCode, 401);
    assert.equal((await flip(true)).statusCode, 200);
    assert.equal((await audit(old)).statusCode, 401, 'the old token stays dead');
    assert.equal((await audit(await tok())).statusCode, 200, 'a new one works at once');
  });

  test('an unrelated change (a new display name) keeps the tokens', async () => {
    const u = await createUser(h, root);
    const jwt = await passwordToken(u.userName);
    clock().advance(1000);
    assert.equal((await scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, root, patchOp({ op: 'replace', path: 'displayName', value: 'Someone' }))).statusCode, 200);
    assert.equal((await userinfo(jwt)).statusCode, 200);
    assert.equal((await introspect(jwt)).json().active, true);
  });

  test('opaque access tokens of a user are refused after a new password too', async () => {
    const u = await createUser(h, root);
    const rs = await scim(h, 'POST', '/admin/v1/Apps', root, { schemas: [APP_SCHEMA], displayName: 'opaque-rs', isOAuthResource: true, audience: 'https://opaque.example.com', accessTokenFormat: 'opaque', scopes: [{ value: 'opq.read' }] });
    assert.equal(rs.statusCode, 201, rs.body);
    const c = await scim(h, 'POST', '/admin/v1/Apps', root, { schemas: [APP_SCHEMA], displayName: 'opaque-client', isOAuthClient: true, allowedGrants: ['password'], allowedScopes: [{ fqs: 'opq.read' }] });
    const t = await post(h, '/oauth2/v1/token', { grant_type: 'password', username: u.userName, password: PASSWORD, scope: 'opq.read' }, { authorization: basic(c.json().name, c.json().clientSecret) });
    assert.equal(t.statusCode, 200, t.body);
    const tok = t.json().access_token as string;
    assert.ok(!tok.includes('.'), 'opaque');
    const intro = () => post(h, '/oauth2/v1/introspect', { token: tok }, { authorization: basic(c.json().name, c.json().clientSecret) });
    assert.equal((await intro()).json().active, true);
    await scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, root, patchOp({ op: 'replace', path: 'password', value: NEW_PASSWORD }));
    assert.deepEqual((await intro()).json(), { active: false });
  });
});
