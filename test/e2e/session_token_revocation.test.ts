import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ME_SCOPE, createPortal, type Portal } from '../account.js';
import { adminToken, basic, harness, post, scim, type Harness } from '../helpers.js';
import { Browser, PASSWORD, REDIRECT, authorizeUrl, callbackParams, createUser, pkce, signIn } from '../signin.js';

/**
 * A JWT access token from a code flow without offline_access is stored nowhere: when its sign-in session
 * ends (logout, signed out from the account page, or by an administrator), only its `sid` can tell. Such
 * tokens must stop working with the session, at every endpoint that validates tokens, and tokens of the
 * user's other sessions must not.
 */
interface Session { browser: Browser; access: string; idToken: string; sid: string }

async function signInWithoutRefresh(h: Harness, portal: Portal, userName: string): Promise<Session> {
  const browser = new Browser(h);
  const { verifier, challenge } = pkce();
  const r = await signIn(browser, authorizeUrl({
    client_id: portal.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: `openid ${ME_SCOPE}`, state: 'st',
    code_challenge: challenge, code_challenge_method: 'S256',
  }), userName, PASSWORD);
  const code = callbackParams(r).get('code');
  assert.ok(code, r.body);
  const t = await post(h, '/oauth2/v1/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, { authorization: basic(portal.clientId, portal.secret) });
  assert.equal(t.statusCode, 200, t.body);
  const b = t.json();
  assert.equal(b.refresh_token, undefined, 'no refresh token: nothing of this sign-in is stored');
  const sid = (JSON.parse(Buffer.from(String(b.id_token).split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;
  return { browser, access: b.access_token, idToken: b.id_token, sid };
}

describe('ending a sign-in session ends the JWT access tokens issued in it', () => {
  let h: Harness;
  let admin: string;
  let portal: Portal;
  before(async () => {
    h = await harness({ config: { cacheTtlSeconds: 0 } });
    admin = await adminToken(h);
    portal = await createPortal(h, admin);
  });
  after(() => h.close());

  const me = (token: string) => scim(h, 'GET', '/admin/v1/Me', token);
  const userinfo = (token: string) => h.inject({ url: '/oauth2/v1/userinfo', headers: { authorization: `Bearer ${token}` } });
  const introspect = async (token: string) => (await post(h, '/oauth2/v1/introspect', { token }, { authorization: basic(portal.clientId, portal.secret) })).json();

  async function assertDead(token: string, what: string) {
    assert.equal((await me(token)).statusCode, 401, `${what}: /Me`);
    assert.equal((await userinfo(token)).statusCode, 401, `${what}: userinfo`);
    assert.deepEqual(await introspect(token), { active: false }, `${what}: introspection`);
  }
  async function assertAlive(token: string, what: string) {
    assert.equal((await me(token)).statusCode, 200, `${what}: /Me`);
    assert.equal((await userinfo(token)).statusCode, 200, `${what}: userinfo`);
    assert.equal((await introspect(token)).active, true, `${what}: introspection`);
  }

  test('signed out from another session on the account page (DELETE /MySessions/{id}): the ended session\'s JWT is refused, the caller\'s lives', async () => {
    const u = await createUser(h, admin);
    const a = await signInWithoutRefresh(h, portal, u.userName);
    const b = await signInWithoutRefresh(h, portal, u.userName);
    await assertAlive(a.access, 'before');
    const r = await scim(h, 'DELETE', `/admin/v1/MySessions/${encodeURIComponent(a.sid)}`, b.access);
    assert.equal(r.statusCode, 204, r.body);
    await assertDead(a.access, 'session A ended');
    await assertAlive(b.access, 'session B untouched');
  });

  test('logout at the end-session endpoint: the JWT of that session is refused', async () => {
    const u = await createUser(h, admin);
    const a = await signInWithoutRefresh(h, portal, u.userName);
    const other = await signInWithoutRefresh(h, portal, u.userName);
    const out = await a.browser.get(`/oauth2/v1/userlogout?${new URLSearchParams({ id_token_hint: a.idToken })}`);
    assert.ok(out.statusCode < 400, `${out.statusCode} ${out.body.slice(0, 200)}`);
    await assertDead(a.access, 'after logout');
    await assertAlive(other.access, 'another session of the same user');
  });

  test('an administrator revokes one session (DELETE /Sessions/{id}) or all (SessionsRemover): their JWTs are refused', async () => {
    const u = await createUser(h, admin);
    const a = await signInWithoutRefresh(h, portal, u.userName);
    const b = await signInWithoutRefresh(h, portal, u.userName);
    const c = await signInWithoutRefresh(h, portal, u.userName);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Sessions/${encodeURIComponent(a.sid)}`, admin)).statusCode, 204);
    await assertDead(a.access, 'one session revoked');
    await assertAlive(b.access, 'the others live');
    const all = await scim(h, 'POST', '/admin/v1/SessionsRemover', admin, { schemas: ['urn:ietf:params:scim:schemas:tessera:2.0:SessionsRemover'], user: { value: u.id } });
    assert.equal(all.statusCode, 201, all.body);
    await assertDead(b.access, 'all sessions revoked (b)');
    await assertDead(c.access, 'all sessions revoked (c)');
  });

  test('the revocation is keyed by `sid:`: a revoked jti that equals a session id ends nothing', async () => {
    const u = await createUser(h, admin);
    const a = await signInWithoutRefresh(h, portal, u.userName);
    await h.t.services.repos.revocations.revokeJti((await h.t.services.repos.domains.getByName('default'))!.id, a.sid, Date.now() + 60_000);
    await assertAlive(a.access, 'a bare id equal to the sid revokes nothing');
  });
});
