import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEventRecord } from '../../src/core/types.js';
import { adminToken, assertScimError, grantRole, harness, ISSUER, scim, type Harness } from '../helpers.js';
import { createUser } from '../signin.js';
import { createPortal, refresh, signInTo, silent, type Portal } from '../account.js';

const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const SESSION = 'urn:ietf:params:scim:schemas:tessera:2.0:Session';
const REMOVER = 'urn:ietf:params:scim:schemas:tessera:2.0:SessionsRemover';
const USERS = 'urn:opc:idm:t.users';
const USERS_READ = 'urn:opc:idm:t.users.read';
const REALM = `Bearer realm="${ISSUER}"`;

describe('admin: a user\'s sessions (Sessions, SessionsRemover)', () => {
  let h: Harness;
  let admin: string;
  let usersOnly: string;
  let usersRead: string;
  let appsOnly: string;
  let portal: Portal;
  const events: AuditEventRecord[] = [];

  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    usersOnly = await adminToken(h, USERS);
    usersRead = await adminToken(h, USERS_READ);
    appsOnly = await adminToken(h, 'urn:opc:idm:t.apps');
    portal = await createPortal(h, admin);
    h.t.services.events.on((e) => events.push(e));
  });
  after(() => h.close());

  test('GET /Sessions?userId= lists that user\'s live sessions (users.read suffices); exact keys', async () => {
    const u = await createUser(h, admin, 'as-list');
    const a = await signInTo(h, portal, u.userName);
    const b = await signInTo(h, portal, u.userName);
    await signInTo(h, portal, (await createUser(h, admin, 'as-list-other')).userName);
    const r = await scim(h, 'GET', `/admin/v1/Sessions?userId=${u.id}`, usersRead);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers['cache-control'], 'no-store');
    const body = r.json();
    assert.deepEqual(body.schemas, [LIST]);
    assert.deepEqual(body.Resources.map((x: { id: string }) => x.id).sort(), [a.sid, b.sid].sort());
    const x = body.Resources[0];
    assert.deepEqual(Object.keys(x).sort(), ['acr', 'amr', 'authTime', 'clientIp', 'current', 'expiresAt', 'id', 'meta', 'schemas', 'user', 'userAgent']);
    assert.deepEqual(x.schemas, [SESSION]);
    assert.equal(x.current, false);
    assert.deepEqual(x.user, { value: u.id, $ref: `${ISSUER}/admin/v1/Users/${u.id}` });
    assert.equal(x.meta.location, `${ISSUER}/admin/v1/Sessions/${x.id}`);
  });

  test('listing: a missing or absurd userId 400, an unknown user 404, wrong scope 403, no token 401', async () => {
    assertScimError(await scim(h, 'GET', '/admin/v1/Sessions', usersRead), 400, 'invalidValue');
    assertScimError(await scim(h, 'GET', `/admin/v1/Sessions?userId=${'x'.repeat(200)}`, usersRead), 400, 'invalidValue');
    assertScimError(await scim(h, 'GET', '/admin/v1/Sessions?userId=a&userId=b', usersRead), 400, 'invalidValue');
    assertScimError(await scim(h, 'GET', `/admin/v1/Sessions?userId=${'f'.repeat(32)}`, usersRead), 404);
    const denied = await scim(h, 'GET', `/admin/v1/Sessions?userId=${'f'.repeat(32)}`, appsOnly);
    assertScimError(denied, 403);
    assert.equal(denied.headers['www-authenticate'], `${REALM}, error="insufficient_scope", scope="${USERS} ${USERS_READ}"`);
    assertScimError(await h.inject({ url: '/admin/v1/Sessions?userId=x' }), 401);
  });

  test('DELETE /Sessions/{id} ends the session as logout does (users scope), audited; again 404', async () => {
    const u = await createUser(h, admin, 'as-del');
    const a = await signInTo(h, portal, u.userName);
    const b = await signInTo(h, portal, u.userName);
    assertScimError(await scim(h, 'DELETE', `/admin/v1/Sessions/${a.sid}`, usersRead), 403);
    assertScimError(await scim(h, 'DELETE', `/admin/v1/Sessions/${a.sid}`, appsOnly), 403);
    assert.equal(await silent(a.browser, portal), 'code', 'refused calls ended nothing');
    const before = events.length;
    const r = await scim(h, 'DELETE', `/admin/v1/Sessions/${a.sid}`, usersOnly);
    assert.equal(r.statusCode, 204, r.body);
    assert.equal(await silent(a.browser, portal), 'login_required');
    assert.equal((await refresh(h, portal, a.refresh)).json().error, 'invalid_grant');
    assertScimError(await scim(h, 'GET', '/admin/v1/MySessions', a.access), 401);
    assert.equal(await silent(b.browser, portal), 'code', 'the user\'s other session lives on');
    const ev = events.slice(before).filter((e) => e.eventId === 'user.session.ended');
    assert.equal(ev.length, 1);
    assert.deepEqual([ev[0]!.actorType, ev[0]!.actorId, ev[0]!.targetId, ev[0]!.details?.sid], ['client', 'bootstrap-admin', u.id, a.sid]);
    assertScimError(await scim(h, 'DELETE', `/admin/v1/Sessions/${a.sid}`, usersOnly), 404);
    assertScimError(await scim(h, 'DELETE', `/admin/v1/Sessions/${'e'.repeat(32)}`, usersOnly), 404);
  });

  test('a caller holding only the users scope cannot sign an Identity Domain Administrator out (escalation guard)', async () => {
    const boss = await createUser(h, admin, 'as-boss');
    await grantRole(h, admin, 'Identity Domain Administrator', 'User', boss.id);
    const s = await signInTo(h, portal, boss.userName);
    const before = events.length;
    assertScimError(await scim(h, 'DELETE', `/admin/v1/Sessions/${s.sid}`, usersOnly), 403);
    assertScimError(await scim(h, 'POST', '/admin/v1/SessionsRemover', usersOnly, { schemas: [REMOVER], user: { value: boss.id } }), 403);
    assert.equal(await silent(s.browser, portal), 'code');
    assert.equal((await refresh(h, portal, s.refresh)).statusCode, 200);
    assert.ok(events.slice(before).some((e) => e.eventId === 'admin.access_denied'));
    assert.ok(!events.slice(before).some((e) => e.eventId === 'user.session.ended'));
    // Listing is reading: users.read sees the sessions.
    assert.equal((await scim(h, 'GET', `/admin/v1/Sessions?userId=${boss.id}`, usersRead)).json().totalResults, 1);
    // A caller holding every admin scope may.
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Sessions/${s.sid}`, admin)).statusCode, 204);
    assert.equal(await silent(s.browser, portal), 'login_required');
  });

  test('SessionsRemover ends every session of the user, and only theirs', async () => {
    const u = await createUser(h, admin, 'as-all');
    const other = await createUser(h, admin, 'as-all-other');
    const a = await signInTo(h, portal, u.userName);
    const b = await signInTo(h, portal, u.userName);
    const o = await signInTo(h, portal, other.userName);
    const body = { schemas: [REMOVER], user: { value: u.id } };
    assertScimError(await scim(h, 'POST', '/admin/v1/SessionsRemover', usersRead, body), 403);
    const r = await scim(h, 'POST', '/admin/v1/SessionsRemover', usersOnly, body);
    assert.equal(r.statusCode, 201, r.body);
    assert.deepEqual(r.json(), { schemas: [REMOVER], user: { value: u.id }, removed: 2 });
    for (const x of [a, b]) {
      assert.equal(await silent(x.browser, portal), 'login_required');
      assert.equal((await refresh(h, portal, x.refresh)).json().error, 'invalid_grant');
    }
    assert.equal(await silent(o.browser, portal), 'code');
    assert.deepEqual((await scim(h, 'POST', '/admin/v1/SessionsRemover', usersOnly, body)).json().removed, 0);
  });

  test('another domain\'s user and session are unknown here: 404, and the session lives on', async () => {
    const d = await scim(h, 'POST', '/admin/v1/IdentityDomains', admin, { name: 'other', displayName: 'Other' });
    assert.equal(d.statusCode, 201, d.body);
    const t = await h.inject({
      method: 'POST', url: '/domains/other/oauth2/v1/token', payload: 'grant_type=client_credentials&scope=urn%3Aopc%3Aidm%3A__myscopes__',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${d.json().adminClient.client_id}:${d.json().adminClient.client_secret}`).toString('base64')}` },
    });
    assert.equal(t.statusCode, 200, t.body);
    const otherUser = await createUser(h, t.json().access_token, 'as-elsewhere', {}, '/domains/other');
    const s = h.t.services;
    const otherDomain = (await s.repos.domains.getByName('other'))!;
    const now = s.clock.now();
    const rec = { hash: 'h'.repeat(43), sid: 'a'.repeat(32), domainId: otherDomain.id, userId: otherUser.id, authTime: now, amr: ['pwd'], acr: 'x', createdAt: now, expiresAt: now + 60_000 };
    await s.repos.sessions.create(rec);
    assertScimError(await scim(h, 'GET', `/admin/v1/Sessions?userId=${otherUser.id}`, admin), 404);
    assertScimError(await scim(h, 'DELETE', `/admin/v1/Sessions/${rec.sid}`, admin), 404);
    assertScimError(await scim(h, 'POST', '/admin/v1/SessionsRemover', admin, { schemas: [REMOVER], user: { value: otherUser.id } }), 404);
    assert.deepEqual(await s.repos.sessions.find(rec.hash), rec);
    const there = await scim(h, 'GET', `/domains/other/admin/v1/Sessions?userId=${otherUser.id}`, t.json().access_token);
    assert.deepEqual(there.json().Resources.map((x: { id: string }) => x.id), [rec.sid], 'its own domain sees it');
  });

  test('bad SessionsRemover bodies get SCIM 400s; an unknown user 404', async () => {
    const cases: [unknown, string][] = [
      [[], 'invalidSyntax'], [{ user: { value: 'x' } }, 'invalidSyntax'], [{ schemas: [REMOVER] }, 'invalidValue'],
      [{ schemas: [REMOVER], user: 'x' }, 'invalidValue'], [{ schemas: [REMOVER], user: { value: 7 } }, 'invalidValue'],
      [{ schemas: [REMOVER], user: { value: 'x' }, extra: 1 }, 'invalidValue'],
    ];
    for (const [body, scimType] of cases) assertScimError(await scim(h, 'POST', '/admin/v1/SessionsRemover', usersOnly, body), 400, scimType);
    assertScimError(await scim(h, 'POST', '/admin/v1/SessionsRemover', usersOnly, { schemas: [REMOVER], user: { value: 'f'.repeat(32) } }), 404);
  });
});
