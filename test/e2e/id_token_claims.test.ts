/**
 * Issue 7: relying parties that read the profile from the ID token only (express-openid-connect,
 * passport) get it when the app sets `claimsInIdToken`; without it the ID token stays minimal and the
 * claims are at userinfo (OIDC Core §5.4).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminToken, assertScimError, basic, decode, harness, post, scim, type Harness } from '../helpers.js';
import { authorizeUrl, Browser, callbackParams, createUser, createWebApp, pkce, REDIRECT, signIn } from '../signin.js';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const STANDARD = ['acr', 'amr', 'at_hash', 'aud', 'auth_time', 'azp', 'exp', 'iat', 'iss', 'nonce', 'sid', 'sub'];

describe('claimsInIdToken: the granted scopes\' claims in the ID token', () => {
  let h: Harness;
  let root: string;
  let user: { id: string; userName: string };
  before(async () => {
    h = await harness();
    root = await adminToken(h);
    user = await createUser(h, root, 'grace', { phoneNumbers: [{ value: '+1 555 0100', type: 'work' }] });
  });
  after(() => h.close());

  const tokens = async (app: { clientId: string; secret?: string }, scope: string) => {
    const pk = pkce();
    const r = await signIn(new Browser(h), authorizeUrl({
      response_type: 'code', client_id: app.clientId, redirect_uri: REDIRECT, scope, state: 's', nonce: 'n', code_challenge: pk.challenge, code_challenge_method: 'S256',
    }), user.userName);
    const t = await post(h, '/oauth2/v1/token', { grant_type: 'authorization_code', code: callbackParams(r).get('code')!, redirect_uri: REDIRECT, code_verifier: pk.verifier },
      { authorization: basic(app.clientId, app.secret!) });
    assert.equal(t.statusCode, 200, t.body);
    return t.json() as { id_token: string; refresh_token?: string; access_token: string };
  };

  test('off by default: the ID token carries only the standard claims', async () => {
    const app = await createWebApp(h, root, { bypassConsent: true });
    const got = (await scim(h, 'GET', `/admin/v1/Apps/${app.id}`, root)).json();
    assert.equal(got.claimsInIdToken, false);
    const { payload } = decode((await tokens(app, 'openid profile email')).id_token);
    assert.deepEqual(Object.keys(payload).sort(), STANDARD);
  });

  test('on: profile and email claims in the ID token of the code flow and of a refresh; only the scopes granted', async () => {
    const app = await createWebApp(h, root, { bypassConsent: true, claimsInIdToken: true });
    assert.equal((await scim(h, 'GET', `/admin/v1/Apps/${app.id}`, root)).json().claimsInIdToken, true);
    const t = await tokens(app, 'openid profile email offline_access');
    const p = decode(t.id_token).payload;
    assert.equal(p.sub, user.id);
    assert.equal(p.name, 'Ada Lovelace');
    assert.equal(p.given_name, 'Ada');
    assert.equal(p.family_name, 'Lovelace');
    assert.equal(p.preferred_username, 'grace');
    assert.equal(p.email, 'grace@example.com');
    assert.equal(p.email_verified, false);
    assert.equal(p.phone_number, undefined, 'phone was not granted');
    const r = await post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token! }, { authorization: basic(app.clientId, app.secret!) });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(decode(r.json().id_token).payload.email, 'grace@example.com');
    // Only openid: nothing beyond the standard claims (and preferred_username needs profile).
    const bare = decode((await tokens(app, 'openid')).id_token).payload;
    assert.deepEqual(Object.keys(bare).sort(), STANDARD);
    // The claims never override what the issuer sets.
    assert.equal(p.iss, 'http://localhost:8080');
    assert.equal(p.aud, app.clientId);
  });

  test('PATCH turns it on and off; a non-boolean is refused', async () => {
    const app = await createWebApp(h, root, { bypassConsent: true });
    const on = await scim(h, 'PATCH', `/admin/v1/Apps/${app.id}`, root, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'claimsInIdToken', value: true }] });
    assert.equal(on.statusCode, 200, on.body);
    assert.equal(decode((await tokens(app, 'openid email')).id_token).payload.email, 'grace@example.com');
    await scim(h, 'PATCH', `/admin/v1/Apps/${app.id}`, root, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'claimsInIdToken', value: false }] });
    assert.equal(decode((await tokens(app, 'openid email')).id_token).payload.email, undefined);
    assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${app.id}`, root, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'claimsInIdToken', value: 'yes' }] }), 400, 'invalidValue');
  });
});
