import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminToken, assertOAuthError, basic, clientToken, harness, post, scim, setupClient } from '../helpers.js';
import { DomainService } from '../../src/identity/domains.js';
import { FixedClock } from '../../src/core/clock.js';
import { Conflict, StaleVersion, type Repositories } from '../../src/storage/ports.js';
import { Browser, PASSWORD, REDIRECT, authorizeUrl, createUser, createWebApp, formOf, pkce } from '../signin.js';

/** RFC 7009 / fosite GHSA-7mqr-2v3q-v2wm: when the store fails, fail closed with 503, never a false 200. */
describe('store unavailable: fail closed', () => {
  test('revocation, introspection and admin writes answer 503 when the database is gone', async () => {
    const h = await harness();
    try {
      const admin = await adminToken(h);
      const c = await setupClient(h, { admin, scopes: ['down.read'], rs: { accessTokenFormat: 'opaque' } });
      const at = (await clientToken(h, c.clientId, c.secret, 'down.read')).json().access_token;
      await h.t.database.db.destroy();

      const rev = await post(h, '/oauth2/v1/revoke', { token: at }, { authorization: basic(c.clientId, c.secret) });
      assertOAuthError(rev, 503, 'temporarily_unavailable');
      const intro = await post(h, '/oauth2/v1/introspect', { token: at }, { authorization: basic(c.clientId, c.secret) });
      assertOAuthError(intro, 503, 'temporarily_unavailable');
      // an opaque token cannot be issued without being stored
      assertOAuthError(await clientToken(h, c.clientId, c.secret, 'down.read'), 503, 'temporarily_unavailable');
      const w = await scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:App'], displayName: 'x' });
      assert.equal(w.statusCode, 503, w.body);
      assert.equal(w.json().status, '503');
      assert.doesNotMatch(w.body + rev.body, /destroyed|sqlite|kysely/i, 'no internals leak');
    } finally {
      await h.close().catch(() => {});
    }
  });

  test('issue 7: browser endpoints and the Authenticate API answer 503 (an HTML page, JSON for the API), never a 401 or 409 page', async () => {
    const h = await harness();
    try {
      const admin = await adminToken(h);
      const web = await createWebApp(h, admin);
      const signin = await scim(h, 'GET', `/admin/v1/AppRoles?filter=${encodeURIComponent('displayName eq "Signin"')}`, admin);
      assert.equal(signin.statusCode, 200);
      await h.t.database.db.destroy();
      const page = (r: { statusCode: number; headers: Record<string, unknown>; body: string }, what: string) => {
        assert.equal(r.statusCode, 503, `${what}: ${r.body.slice(0, 200)}`);
        assert.match(String(r.headers['content-type']), /^text\/html/, what);
        assert.match(r.body, /Temporarily unavailable/, what);
        assert.doesNotMatch(r.body, /destroyed|sqlite|kysely/i);
      };
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      page(await h.inject({ method: 'POST', url: '/sso/v1/sdk/session', headers: form, payload: 'requestState=abc&authnToken=def' }), 'session');
      page(await h.inject({ url: '/ui/v1/signin/some-request-state' }), 'sign-in page');
      page(await h.inject({ method: 'POST', url: '/ui/v1/signin/some-request-state', headers: form, payload: 'csrf=x&op=credSubmit' }), 'sign-in post');
      const pk = pkce();
      page(await h.inject({ url: `/oauth2/v1/authorize?${new URLSearchParams({ response_type: 'code', client_id: web.clientId, redirect_uri: REDIRECT, scope: 'openid', code_challenge: pk.challenge, code_challenge_method: 'S256' })}` }), 'authorize');
      page(await h.inject({ url: '/oauth2/v1/userlogout', headers: { cookie: 'tessera_session_default=some-session-cookie' } }), 'logout');
      const api = await h.inject({ url: '/sso/v1/sdk/authenticate?appName=x', headers: { authorization: `Bearer ${admin}` } });
      assertOAuthError(api, 503, 'temporarily_unavailable');
    } finally {
      await h.close().catch(() => {});
    }
  });

  test('a store error in the middle of a sign-in step (a connection cut) is the 503 page, never a 500', async () => {
    const h = await harness();
    try {
      const admin = await adminToken(h);
      const web = await createWebApp(h, admin);
      const user = await createUser(h, admin);
      const pk = pkce();
      const b = new Browser(h);
      const start = await b.get(authorizeUrl({ response_type: 'code', client_id: web.clientId, redirect_uri: REDIRECT, scope: 'openid', code_challenge: pk.challenge, code_challenge_method: 'S256', state: 's' }));
      assert.equal(start.statusCode, 303, start.body);
      const loginPage = await b.get(start.headers.location!);
      const login = formOf(loginPage.body, 'credSubmit');
      // The flow and the user load; opening the session is where the store goes away (as a PostgreSQL
      // connection terminated mid-request does).
      const sessions = h.t.services.repos.sessions;
      const create = sessions.create.bind(sessions);
      sessions.create = () => Promise.reject(Object.assign(new Error('driver has already been destroyed')));
      const r = await b.post(login.action, { ...login.fields, username: user.userName, password: PASSWORD });
      assert.equal(r.statusCode, 503, r.body.slice(0, 300));
      assert.match(String(r.headers['content-type']), /^text\/html/);
      assert.match(r.body, /Temporarily unavailable/);
      sessions.create = create;
      // And once it is back, the same sign-in goes through.
      const again = await b.post(login.action, { ...login.fields, username: user.userName, password: PASSWORD });
      assert.ok([302, 303].includes(again.statusCode), `${again.statusCode} ${again.body.slice(0, 200)}`);
    } finally {
      await h.close().catch(() => {});
    }
  });

  test('issue 7: upgrading built-ins at start-up swallows only the lost races, not an outage', async () => {
    const clock = new FixedClock(Date.now());
    const domain = { id: 'd1', name: 'default', displayName: 'Default', settings: {}, createdAt: 0, updatedAt: 0 };
    const admin = { id: 'a1', isBuiltIn: true, isOAuthResource: true, scopes: [], version: 1 };
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const repos = (update: () => Promise<never>, create: () => Promise<never>) => ({
      apps: { list: async () => [admin], update }, appRoles: { list: async () => [], create },
    }) as unknown as Repositories;
    const lost = new DomainService(repos(async () => { throw new StaleVersion(); }, async () => { throw new Conflict('displayName'); }), clock);
    await lost.upgradeBuiltins(domain);
    await assert.rejects(new DomainService(repos(async () => { throw down; }, async () => { throw new Conflict('x'); }), clock).upgradeBuiltins(domain), /ECONNREFUSED/);
    await assert.rejects(new DomainService(repos(async () => { throw new StaleVersion(); }, async () => { throw down; }), clock).upgradeBuiltins(domain), /ECONNREFUSED/);
  });
});
