import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminToken, assertScimError, basic, harness, post, scim, type Harness } from '../helpers.js';
import { authorizeUrl, Browser, callbackParams, createUser, pkce, REDIRECT, signIn } from '../signin.js';
import { createPortal, ME_SCOPE, type Portal } from '../account.js';

/**
 * "Sign out all other sessions" on the account page (MySessionsRemover keepCurrent): the other sessions' JWT
 * access tokens die with them even with no refresh token (the account page's public client asks for none),
 * the caller's lives on until it signs itself out too. (One session signed out, logout and the administrators'
 * endpoints: session_token_revocation.test.ts.)
 */
const REMOVER = 'urn:ietf:params:scim:schemas:tessera:2.0:MySessionsRemover';

describe('MySessionsRemover revokes the JWT access tokens of the sessions it ends, without a refresh token', () => {
  let h: Harness;
  let admin: string;
  let portal: Portal;
  before(async () => { h = await harness(); admin = await adminToken(h); portal = await createPortal(h, admin); });
  after(() => h.close());

  /** A sign-in with the Me scope and no offline_access: an access token, no refresh token. */
  const signInNoRefresh = async (userName: string, browser = new Browser(h)) => {
    const { verifier, challenge } = pkce();
    const r = await signIn(browser, authorizeUrl({
      client_id: portal.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: `openid ${ME_SCOPE}`, state: 's',
      code_challenge: challenge, code_challenge_method: 'S256',
    }), userName);
    const t = await post(h, '/oauth2/v1/token', { grant_type: 'authorization_code', code: callbackParams(r).get('code')!, redirect_uri: REDIRECT, code_verifier: verifier },
      { authorization: basic(portal.clientId, portal.secret) });
    assert.equal(t.statusCode, 200, t.body);
    assert.equal(t.json().refresh_token, undefined);
    const sid = JSON.parse(Buffer.from(String(t.json().id_token).split('.')[1]!, 'base64url').toString()).sid as string;
    return { browser, access: t.json().access_token as string, sid };
  };
  const me = (token: string) => scim(h, 'GET', '/admin/v1/Me', token);

  test('MySessionsRemover keepCurrent: every other session\'s token 401, this one 200; without keepCurrent this one too', async () => {
    const u = await createUser(h, admin, 'sj-all');
    const here = await signInNoRefresh(u.userName);
    const a = await signInNoRefresh(u.userName);
    const b = await signInNoRefresh(u.userName);
    const r = await scim(h, 'POST', '/admin/v1/MySessionsRemover', here.access, { schemas: [REMOVER], keepCurrent: true });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.json().removed, 2);
    for (const x of [a, b]) assertScimError(await me(x.access), 401);
    assert.equal((await me(here.access)).statusCode, 200);
    assert.equal((await scim(h, 'POST', '/admin/v1/MySessionsRemover', here.access, { schemas: [REMOVER] })).statusCode, 201);
    assertScimError(await me(here.access), 401);
  });
});
