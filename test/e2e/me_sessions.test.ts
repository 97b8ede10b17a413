import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEventRecord } from '../../src/core/types.js';
import type { FixedClock } from '../../src/core/clock.js';
import { adminToken, assertScimError, harness, ISSUER, scim, type Harness } from '../helpers.js';
import { Browser, createUser } from '../signin.js';
import { createPortal, ME_SCOPE, refresh, signInTo, silent, type Portal } from '../account.js';

const SESSION = 'urn:ietf:params:scim:schemas:tessera:2.0:Session';
const REMOVER = 'urn:ietf:params:scim:schemas:tessera:2.0:MySessionsRemover';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const REALM = `Bearer realm="${ISSUER}"`;

describe('self-service sessions: MySessions and MySessionsRemover', () => {
  let h: Harness;
  let admin: string;
  let portal: Portal;
  const events: AuditEventRecord[] = [];

  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    portal = await createPortal(h, admin);
    h.t.services.events.on((e) => events.push(e));
  });
  after(() => h.close());

  const list = (token: string) => scim(h, 'GET', '/admin/v1/MySessions', token);

  test('lists the signed-in user\'s live sessions only, newest first, marking the caller\'s own; exact keys, no-store', async () => {
    const u = await createUser(h, admin, 'ms-list');
    const other = await createUser(h, admin, 'ms-list-other');
    const first = await signInTo(h, portal, u.userName);
    (h.clock as FixedClock).advance(1000);
    const second = await signInTo(h, portal, u.userName);
    await signInTo(h, portal, other.userName);
    const r = await list(second.access);
    assert.equal(r.statusCode, 200, r.body);
    assert.match(String(r.headers['content-type']), /^application\/scim\+json/);
    assert.equal(r.headers['cache-control'], 'no-store');
    const b = r.json();
    assert.deepEqual(b.schemas, [LIST]);
    assert.equal(b.totalResults, 2);
    assert.equal(b.itemsPerPage, 2);
    assert.deepEqual(b.Resources.map((x: { id: string }) => x.id).sort(), [first.sid, second.sid].sort());
    const mine = b.Resources.find((x: { id: string }) => x.id === second.sid);
    assert.deepEqual(Object.keys(mine).sort(), ['acr', 'amr', 'authTime', 'clientIp', 'current', 'expiresAt', 'id', 'meta', 'schemas', 'user', 'userAgent']);
    assert.deepEqual(mine.schemas, [SESSION]);
    assert.equal(mine.current, true);
    assert.deepEqual(mine.amr, ['pwd']);
    assert.equal(mine.clientIp, '127.0.0.1');
    assert.equal(typeof mine.userAgent, 'string');
    assert.deepEqual(mine.user, { value: u.id, $ref: `${ISSUER}/admin/v1/Users/${u.id}` });
    assert.equal(mine.meta.resourceType, 'Session');
    assert.equal(mine.meta.location, `${ISSUER}/admin/v1/MySessions/${second.sid}`);
    assert.ok(Date.parse(mine.expiresAt) > Date.parse(mine.meta.created));
    assert.equal(b.Resources.find((x: { id: string }) => x.id === first.sid).current, false);
    // The other session's token sees the same list with its own session marked.
    const fromFirst = (await list(first.access)).json();
    assert.equal(fromFirst.Resources.find((x: { id: string }) => x.id === first.sid).current, true);
  });

  test('no token 401; a token without the Me scope 403; a client\'s own token (no user) 403', async () => {
    const none = await h.inject({ url: '/admin/v1/MySessions' });
    assertScimError(none, 401);
    assert.equal(none.headers['www-authenticate'], REALM);
    const usersOnly = await adminToken(h, 'urn:opc:idm:t.users');
    for (const [method, url, body] of [['GET', '/admin/v1/MySessions'], ['DELETE', '/admin/v1/MySessions/x'], ['POST', '/admin/v1/MySessionsRemover', { schemas: [REMOVER] }]] as const) {
      const r = await scim(h, method, url, usersOnly, body);
      assertScimError(r, 403);
      assert.equal(r.headers['www-authenticate'], `${REALM}, error="insufficient_scope", scope="${ME_SCOPE}"`);
      // The bootstrap client holds the Me scope, but a client token has no user to act for.
      const client = await scim(h, method, url, await adminToken(h, ME_SCOPE), body);
      assertScimError(client, 403);
      assert.match(client.json().detail, /signed-in user/);
    }
  });

  test('signing out one of my other sessions ends it as logout does: its refresh token and prompt=none stop working', async () => {
    const u = await createUser(h, admin, 'ms-one');
    const here = await signInTo(h, portal, u.userName);
    const there = await signInTo(h, portal, u.userName);
    assert.equal(await silent(there.browser, portal), 'code');
    const before = events.length;
    const r = await scim(h, 'DELETE', `/admin/v1/MySessions/${there.sid}`, here.access);
    assert.equal(r.statusCode, 204, r.body);
    assert.equal(r.body, '');
    assert.equal(await silent(there.browser, portal), 'login_required');
    const rt = await refresh(h, portal, there.refresh);
    assert.equal(rt.statusCode, 400);
    assert.equal(rt.json().error, 'invalid_grant');
    // That session's access token is revoked with its grant.
    assertScimError(await list(there.access), 401);
    // The caller's session is untouched.
    assert.equal(await silent(here.browser, portal), 'code');
    assert.equal((await refresh(h, portal, here.refresh)).statusCode, 200);
    const l = (await list(here.access)).json();
    assert.deepEqual(l.Resources.map((x: { id: string }) => x.id), [here.sid]);
    const ev = events.slice(before).filter((e) => e.eventId === 'user.session.ended');
    assert.equal(ev.length, 1);
    assert.deepEqual([ev[0]!.outcome, ev[0]!.actorType, ev[0]!.actorId, ev[0]!.targetType, ev[0]!.targetId, ev[0]!.details?.sid], ['success', 'user', u.id, 'User', u.id, there.sid]);
    // Once gone, gone.
    assertScimError(await scim(h, 'DELETE', `/admin/v1/MySessions/${there.sid}`, here.access), 404);
  });

  test('signing out my current session ends it too, and with it the token that asked', async () => {
    const u = await createUser(h, admin, 'ms-current');
    const me = await signInTo(h, portal, u.userName);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/MySessions/${me.sid}`, me.access)).statusCode, 204);
    assert.equal(await silent(me.browser, portal), 'login_required');
    assertScimError(await list(me.access), 401);
    assert.equal((await refresh(h, portal, me.refresh)).json().error, 'invalid_grant');
  });

  test('another user\'s session id, an unknown id, an absurd id: 404, and the other user\'s session lives on', async () => {
    const u = await createUser(h, admin, 'ms-cross');
    const victim = await createUser(h, admin, 'ms-victim');
    const me = await signInTo(h, portal, u.userName);
    const them = await signInTo(h, portal, victim.userName);
    for (const id of [them.sid, 'f'.repeat(32), 'x'.repeat(99), encodeURIComponent('%00')]) {
      const r = await scim(h, 'DELETE', `/admin/v1/MySessions/${id}`, me.access);
      assertScimError(r, 404);
    }
    assert.equal(await silent(them.browser, portal), 'code');
    assert.equal((await refresh(h, portal, them.refresh)).statusCode, 200);
  });

  test('MySessionsRemover signs every session out; keepCurrent keeps the caller\'s own', async () => {
    const u = await createUser(h, admin, 'ms-all');
    const a = await signInTo(h, portal, u.userName);
    const b = await signInTo(h, portal, u.userName);
    const c = await signInTo(h, portal, u.userName);
    const keep = await scim(h, 'POST', '/admin/v1/MySessionsRemover', a.access, { schemas: [REMOVER], keepCurrent: true });
    assert.equal(keep.statusCode, 201, keep.body);
    assert.match(String(keep.headers['content-type']), /^application\/scim\+json/);
    assert.deepEqual(keep.json(), { schemas: [REMOVER], keepCurrent: true, removed: 2 });
    assert.equal(await silent(a.browser, portal), 'code');
    for (const x of [b, c]) {
      assert.equal(await silent(x.browser, portal), 'login_required');
      assert.equal((await refresh(h, portal, x.refresh)).json().error, 'invalid_grant');
    }
    const d = await signInTo(h, portal, u.userName);
    const all = await scim(h, 'POST', '/admin/v1/MySessionsRemover', a.access, { schemas: [REMOVER] });
    assert.equal(all.statusCode, 201, all.body);
    assert.deepEqual(all.json(), { schemas: [REMOVER], keepCurrent: false, removed: 2 });
    for (const x of [a, d]) assert.equal(await silent(x.browser, portal), 'login_required');
    assertScimError(await list(a.access), 401);
  });

  test('keepCurrent with a token from no session is refused; another user\'s sessions are never counted', async () => {
    const u = await createUser(h, admin, 'ms-nosession');
    const other = await createUser(h, admin, 'ms-nosession-other');
    const o = await signInTo(h, portal, other.userName);
    // A refresh keeps the session id; a token minted with no session has none.
    const s = h.t.services;
    const domain = (await s.repos.domains.getByName('default'))!;
    const cat = await s.catalogs.catalog(domain);
    const client = (await s.repos.apps.getByClientId(domain.id, portal.clientId))!;
    const adminRs = [...cat.scopes.values()].find((x) => x.builtIn)!;
    const minted = (await s.accessTokens.issue({ domain, issuer: ISSUER, client, sub: u.id, subType: 'user', userId: u.id, scopes: [ME_SCOPE], resourceServers: [adminRs] })).token;
    const r = await scim(h, 'POST', '/admin/v1/MySessionsRemover', minted, { schemas: [REMOVER], keepCurrent: true });
    assertScimError(r, 400, 'invalidValue');
    const all = await scim(h, 'POST', '/admin/v1/MySessionsRemover', minted, { schemas: [REMOVER] });
    assert.deepEqual(all.json(), { schemas: [REMOVER], keepCurrent: false, removed: 0 });
    assert.equal(await silent(o.browser, portal), 'code');
    assert.deepEqual((await list(minted)).json().Resources, []);
  });

  test('bad MySessionsRemover bodies get SCIM 400s', async () => {
    const u = await createUser(h, admin, 'ms-bad');
    const me = await signInTo(h, portal, u.userName);
    const cases: [unknown, string][] = [
      [[], 'invalidSyntax'], ['x', 'invalidSyntax'], [{}, 'invalidSyntax'], [{ schemas: ['urn:other'] }, 'invalidSyntax'],
      [{ schemas: [REMOVER], keepCurrent: 'yes' }, 'invalidValue'], [{ schemas: [REMOVER], everything: true }, 'invalidValue'],
      [{ schemas: [REMOVER], keepCurrent: true, KeepCurrent: false }, 'invalidSyntax'],
    ];
    for (const [body, scimType] of cases) assertScimError(await scim(h, 'POST', '/admin/v1/MySessionsRemover', me.access, body), 400, scimType);
    const raw = await h.inject({ method: 'POST', url: '/admin/v1/MySessionsRemover', headers: { authorization: `Bearer ${me.access}`, 'content-type': 'application/scim+json' }, payload: '{"schemas":' });
    assertScimError(raw, 400, 'invalidSyntax');
    assert.equal(await silent(me.browser, portal), 'code', 'nothing was ended');
  });

  test('the user agent is kept bounded and without control characters', async () => {
    const u = await createUser(h, admin, 'ms-ua');
    const browser = new Browser(h);
    const ua = `Mozilla/5.0 \u202e\u0007${'x'.repeat(400)}`;
    const orig = browser.get.bind(browser);
    browser.get = (url: string, headers: Record<string, string> = {}) => orig(url, { 'user-agent': ua, ...headers });
    const origPost = browser.post.bind(browser);
    browser.post = (url: string, form: Record<string, string>, headers: Record<string, string> = {}) => origPost(url, form, { 'user-agent': ua, ...headers });
    const me = await signInTo(h, portal, u.userName, { browser });
    const x = (await list(me.access)).json().Resources[0];
    assert.ok(x.userAgent.startsWith('Mozilla/5.0 \uFFFD\uFFFDxxx'), x.userAgent);
    assert.ok(x.userAgent.length < 300);
  });

  test('a browser signed in again gets a new session: the ended one does not come back', async () => {
    const u = await createUser(h, admin, 'ms-again');
    const browser = new Browser(h);
    const first = await signInTo(h, portal, u.userName, { browser });
    assert.equal((await scim(h, 'DELETE', `/admin/v1/MySessions/${first.sid}`, first.access)).statusCode, 204);
    const second = await signInTo(h, portal, u.userName, { browser });
    assert.notEqual(second.sid, first.sid);
    assert.deepEqual((await list(second.access)).json().Resources.map((x: { id: string }) => x.id), [second.sid]);
  });
});
