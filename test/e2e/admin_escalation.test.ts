import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import {
  adminToken, APP_SCHEMA, assertOAuthError, assertScimError, basic, clientToken, grantRole, harness, post, scim, type Harness,
} from '../helpers.js';
import { createUser, PASSWORD, USER_SCHEMA } from '../signin.js';

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const FACTORS = 'urn:ietf:params:scim:schemas:oracle:idcs:AuthenticationFactorsRemover';
const NEW_PASSWORD = 'a brand new password 4 me';
const patchOp = (...Operations: Record<string, unknown>[]) => ({ schemas: [PATCH], Operations });

/**
 * Issue 7 (privilege escalation, high): a caller with only the User Administrator role must not be
 * able to make anyone an Identity Domain Administrator, or take one over, through users, groups,
 * memberships, passwords, factors, status or deletion.
 */
describe('admin API: a User Administrator cannot reach administrators', () => {
  let h: Harness;
  let root: string;
  let ua: string; // a client holding User Administrator only
  let uaClient: { id: string; clientId: string; secret: string };
  let legacy: { clientId: string; secret: string }; // password grant, holds every admin role (so only the user decides)
  let boss: { id: string; userName: string }; // Identity Domain Administrator through the Admins group
  let direct: { id: string; userName: string }; // Identity Domain Administrator by a direct grant
  let nested: { id: string; userName: string }; // member of Inner, which is nested in Admins
  let pat: { id: string; userName: string }; // an ordinary user
  let admins: string;
  let inner: string;
  let plain: string;

  const grant = (roleName: string, type: 'App' | 'User' | 'Group', id: string) => grantRole(h, root, roleName, type, id);
  const app = async (displayName: string, o: Record<string, unknown> = {}) => {
    const r = await scim(h, 'POST', '/admin/v1/Apps', root, { schemas: [APP_SCHEMA], displayName, isOAuthClient: true, allowedGrants: ['client_credentials'], ...o });
    assert.equal(r.statusCode, 201, r.body);
    return { id: r.json().id as string, clientId: r.json().name as string, secret: r.json().clientSecret as string };
  };
  const passwordGrant = (username: string, password: string, scope = 'urn:opc:idm:__myscopes__') =>
    post(h, '/oauth2/v1/token', { grant_type: 'password', username, password, scope }, { authorization: basic(legacy.clientId, legacy.secret) });
  const denied = (r: LightMyRequestResponse, what: string) => {
    assertScimError(r, 403);
    assert.match(r.json().detail, /^only a caller holding urn:opc:idm:t\.\S+ may change a (user who holds|group that gives) it$/, `${what}: ${r.body}`);
  };
  const membersOf = async (groupId: string) => ((await scim(h, 'GET', `/admin/v1/Groups/${groupId}`, root)).json().members ?? []).map((m: { value: string }) => m.value);

  before(async () => {
    h = await harness();
    root = await adminToken(h);
    uaClient = await app('user-admin-client');
    await grant('User Administrator', 'App', uaClient.id);
    ua = (await clientToken(h, uaClient.clientId, uaClient.secret, 'urn:opc:idm:__myscopes__')).json().access_token;

    const l = await app('legacy-password-client', { allowedGrants: ['password'] });
    for (const r of ['Identity Domain Administrator', 'User Administrator']) await grant(r, 'App', l.id);
    legacy = l;

    boss = await createUser(h, root, 'boss');
    direct = await createUser(h, root, 'direct-admin');
    nested = await createUser(h, root, 'nested-admin');
    pat = await createUser(h, root, 'pat');
    const mk = async (displayName: string, members: { value: string; type?: string }[]) => {
      const r = await scim(h, 'POST', '/admin/v1/Groups', root, { schemas: [GROUP], displayName, members });
      assert.equal(r.statusCode, 201, r.body);
      return r.json().id as string;
    };
    inner = await mk('Inner', [{ value: nested.id }]);
    admins = await mk('Admins', [{ value: boss.id }, { value: inner, type: 'Group' }]);
    plain = await mk('Plain', [{ value: pat.id }]);
    await grant('Identity Domain Administrator', 'Group', admins);
    await grant('Identity Domain Administrator', 'User', direct.id);
  });
  after(() => h.close());

  test('the setup holds: boss and nested sign in as administrators, pat does not', async () => {
    for (const u of [boss, nested, direct]) {
      const r = await passwordGrant(u.userName, PASSWORD);
      assert.equal(r.statusCode, 200, r.body);
      assert.ok(r.json().scope.split(' ').includes('urn:opc:idm:t.settings'), r.body);
    }
    assertOAuthError(await passwordGrant(pat.userName, PASSWORD), 400, 'invalid_scope');
  });

  test('membership: cannot add anyone to a group that gives admin scopes, directly or through nesting, nor remove its members', async () => {
    const cases: [string, () => Promise<LightMyRequestResponse>][] = [
      ['add pat to Admins', () => scim(h, 'PATCH', `/admin/v1/Groups/${admins}`, ua, patchOp({ op: 'add', path: 'members', value: [{ value: pat.id }] }))],
      ['add Plain (a group) to Admins', () => scim(h, 'PATCH', `/admin/v1/Groups/${admins}`, ua, patchOp({ op: 'add', path: 'members', value: [{ value: plain, type: 'Group' }] }))],
      ['add pat to Inner (nested in Admins)', () => scim(h, 'PATCH', `/admin/v1/Groups/${inner}`, ua, patchOp({ op: 'add', path: 'members', value: [{ value: pat.id }] }))],
      ['PUT Admins with pat', () => scim(h, 'PUT', `/admin/v1/Groups/${admins}`, ua, { schemas: [GROUP], displayName: 'Admins', members: [{ value: boss.id }, { value: inner, type: 'Group' }, { value: pat.id }] })],
      ['remove boss from Admins', () => scim(h, 'PATCH', `/admin/v1/Groups/${admins}`, ua, patchOp({ op: 'remove', path: `members[value eq "${boss.id}"]` }))],
      ['rename Admins', () => scim(h, 'PATCH', `/admin/v1/Groups/${admins}`, ua, patchOp({ op: 'replace', path: 'displayName', value: 'Mine' }))],
      ['delete Admins', () => scim(h, 'DELETE', `/admin/v1/Groups/${admins}`, ua)],
      ['delete Inner', () => scim(h, 'DELETE', `/admin/v1/Groups/${inner}`, ua)],
    ];
    for (const [what, run] of cases) denied(await run(), what);
    assert.deepEqual((await membersOf(admins)).sort(), [boss.id, inner].sort());
    assert.deepEqual(await membersOf(inner), [nested.id]);
    assertOAuthError(await passwordGrant(pat.userName, PASSWORD), 400, 'invalid_scope');
  });

  test('users: cannot change, reset, deactivate or delete a user who holds admin scopes (directly, through a group, through a nested group)', async () => {
    for (const u of [boss, direct, nested]) {
      const cases: [string, () => Promise<LightMyRequestResponse>][] = [
        ['set password (PATCH)', () => scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, ua, patchOp({ op: 'replace', path: 'password', value: NEW_PASSWORD }))],
        ['set password (PUT)', () => scim(h, 'PUT', `/admin/v1/Users/${u.id}`, ua, { schemas: [USER_SCHEMA], userName: u.userName, password: NEW_PASSWORD })],
        ['rename', () => scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, ua, patchOp({ op: 'replace', path: 'userName', value: `${u.userName}-x` }))],
        ['change email', () => scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, ua, patchOp({ op: 'replace', path: 'emails', value: [{ value: 'attacker@example.com', primary: true }] }))],
        ['deactivate', () => scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, ua, patchOp({ op: 'replace', path: 'active', value: false }))],
        ['delete', () => scim(h, 'DELETE', `/admin/v1/Users/${u.id}`, ua)],
        ['reset MFA', () => scim(h, 'POST', '/admin/v1/AuthenticationFactorsRemover', ua, { schemas: [FACTORS], user: { value: u.id } })],
        ['revoke a consent', () => scim(h, 'DELETE', `/admin/v1/Consents/${u.id}.${legacy.clientId}`, ua)],
      ];
      for (const [what, run] of cases) denied(await run(), `${u.userName}: ${what}`);
      const now = (await scim(h, 'GET', `/admin/v1/Users/${u.id}`, root)).json();
      assert.equal(now.userName, u.userName);
      assert.equal(now.active, true);
      assert.equal(now.emails[0].value, `${u.userName}@example.com`);
    }
  });

  test('the gained rights cannot be used: the old password still works, the new one fails at the password grant and the Authenticate API', async () => {
    denied(await scim(h, 'PATCH', `/admin/v1/Users/${boss.id}`, ua, patchOp({ op: 'replace', path: 'password', value: NEW_PASSWORD })), 'reset');
    assertOAuthError(await passwordGrant(boss.userName, NEW_PASSWORD), 400, 'invalid_grant');
    assert.equal((await passwordGrant(boss.userName, PASSWORD)).statusCode, 200);
    // The Authenticate API, as a custom sign-in page would drive it.
    const pages = await app('custom-pages');
    await grant('Signin', 'App', pages.id);
    const t = (await clientToken(h, pages.clientId, pages.secret, 'urn:opc:idm:t.security.signin')).json().access_token;
    const headers = { authorization: `Bearer ${t}`, 'content-type': 'application/json' };
    const start = await h.inject({ method: 'GET', url: `/sso/v1/sdk/authenticate?appName=${pages.clientId}`, headers: { authorization: headers.authorization } });
    assert.equal(start.statusCode, 200, start.body);
    const r = await h.inject({
      method: 'POST', url: '/sso/v1/sdk/authenticate', headers,
      payload: JSON.stringify({ op: 'credSubmit', requestState: start.json().requestState, credentials: { username: boss.userName, password: NEW_PASSWORD } }),
    });
    assert.equal(r.statusCode, 401, r.body);
    assert.equal(r.json().cause[0].code, 'AUTH-3001');
  });

  test('still manages ordinary users and groups, and may put an administrator into a group that gives nothing', async () => {
    const p = await scim(h, 'PATCH', `/admin/v1/Users/${pat.id}`, ua, patchOp({ op: 'replace', path: 'displayName', value: 'Pat' }));
    assert.equal(p.statusCode, 200, p.body);
    const g = await scim(h, 'POST', '/admin/v1/Groups', ua, { schemas: [GROUP], displayName: 'Lunch', members: [{ value: boss.id }, { value: pat.id }] });
    assert.equal(g.statusCode, 201, g.body);
    const rm = await scim(h, 'PATCH', `/admin/v1/Groups/${g.json().id}`, ua, patchOp({ op: 'remove', path: `members[value eq "${boss.id}"]` }));
    assert.equal(rm.statusCode, 200, rm.body);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Groups/${g.json().id}`, ua)).statusCode, 204);
    const extra = await createUser(h, ua, 'temp-user');
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Users/${extra.id}`, ua)).statusCode, 204);
    // The Identity Domain Administrator may do what the User Administrator may not.
    assert.equal((await scim(h, 'PATCH', `/admin/v1/Groups/${inner}`, root, patchOp({ op: 'add', path: 'members', value: [{ value: pat.id }] }))).statusCode, 200);
    assert.ok((await passwordGrant(pat.userName, PASSWORD)).json().scope.includes('urn:opc:idm:t.settings'));
    assert.equal((await scim(h, 'PATCH', `/admin/v1/Groups/${inner}`, root, patchOp({ op: 'remove', path: `members[value eq "${pat.id}"]` }))).statusCode, 200);
  });

  test('a user holding User Administrator (through a group, via the password grant) is refused the same way', async () => {
    const helper = await createUser(h, root, 'helpdesk-ua');
    const g = await scim(h, 'POST', '/admin/v1/Groups', root, { schemas: [GROUP], displayName: 'User Admins', members: [{ value: helper.id }] });
    await grant('User Administrator', 'Group', g.json().id);
    const t = await passwordGrant(helper.userName, PASSWORD);
    assert.equal(t.statusCode, 200, t.body);
    assert.ok(!t.json().scope.includes('urn:opc:idm:t.settings'));
    const tok = t.json().access_token as string;
    denied(await scim(h, 'PATCH', `/admin/v1/Groups/${admins}`, tok, patchOp({ op: 'add', path: 'members', value: [{ value: helper.id }] })), 'self into Admins');
    denied(await scim(h, 'PATCH', `/admin/v1/Users/${boss.id}`, tok, patchOp({ op: 'replace', path: 'password', value: NEW_PASSWORD })), 'boss password');
    assert.equal((await scim(h, 'PATCH', `/admin/v1/Users/${pat.id}`, tok, patchOp({ op: 'replace', path: 'nickName', value: 'p' }))).statusCode, 200);
  });

  test('denials are audited with the reason', async () => {
    denied(await scim(h, 'DELETE', `/admin/v1/Users/${direct.id}`, ua), 'delete');
    const r = await scim(h, 'GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent('eventId eq "admin.access_denied"')}&count=500`, root);
    const hit = r.json().Resources.find((e: { targetId: string }) => e.targetId === `DELETE /admin/v1/Users/${direct.id}`);
    assert.ok(hit, r.body.slice(0, 500));
    assert.equal(hit.outcome, 'failure');
    assert.equal(hit.actorId, uaClient.clientId);
    assert.match(hit.message, /may change a user who holds it/);
  });
});

/** Issue 7: the admin API checks the caller's roles as they are now, not as they were at issuance. */
describe('admin API: roles taken away apply to tokens already issued', () => {
  let h: Harness;
  let root: string;
  before(async () => {
    h = await harness();
    root = await adminToken(h);
  });
  after(() => h.close());

  test('a client whose admin role grant is deleted is refused at once with its old token', async () => {
    const c = await scim(h, 'POST', '/admin/v1/Apps', root, { schemas: [APP_SCHEMA], displayName: 'temp-admin', isOAuthClient: true, allowedGrants: ['client_credentials'] });
    const grantId = await grantRole(h, root, 'User Administrator', 'App', c.json().id);
    const tok = (await clientToken(h, c.json().name, c.json().clientSecret, 'urn:opc:idm:__myscopes__')).json().access_token as string;
    assert.equal((await scim(h, 'GET', '/admin/v1/Users', tok)).statusCode, 200);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Grants/${grantId}`, root)).statusCode, 204);
    assertScimError(await scim(h, 'GET', '/admin/v1/Users', tok), 403);
    assertScimError(await scim(h, 'POST', '/admin/v1/Users', tok, { schemas: [USER_SCHEMA], userName: 'after-revoke' }), 403);
  });

  test('a user removed from the group that made them an administrator is refused at once', async () => {
    const u = await createUser(h, root, 'former-admin');
    const grp = await scim(h, 'POST', '/admin/v1/Groups', root, { schemas: [GROUP], displayName: 'Temp Admins', members: [{ value: u.id }] });
    await grantRole(h, root, 'User Administrator', 'Group', grp.json().id);
    const client = await scim(h, 'POST', '/admin/v1/Apps', root, { schemas: [APP_SCHEMA], displayName: 'pw-client', isOAuthClient: true, allowedGrants: ['password'] });
    await grantRole(h, root, 'User Administrator', 'App', client.json().id);
    const t = await post(h, '/oauth2/v1/token', { grant_type: 'password', username: u.userName, password: PASSWORD, scope: 'urn:opc:idm:__myscopes__' },
      { authorization: basic(client.json().name, client.json().clientSecret) });
    assert.equal(t.statusCode, 200, t.body);
    const tok = t.json().access_token as string;
    assert.equal((await scim(h, 'GET', '/admin/v1/Users', tok)).statusCode, 200);
    const rm = await scim(h, 'PATCH', `/admin/v1/Groups/${grp.json().id}`, root, patchOp({ op: 'remove', path: 'members' }));
    assert.equal(rm.statusCode, 200, rm.body);
    assertScimError(await scim(h, 'GET', '/admin/v1/Users', tok), 403);
  });
});
