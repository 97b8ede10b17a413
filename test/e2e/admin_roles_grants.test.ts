import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { FixedClock } from '../../src/core/clock.js';
import {
  adminToken, APP_SCHEMA, assertOAuthError, BOOT_ID, BOOT_SECRET, clientToken, decode, harness, ISSUER, post, scim, setupClient,
  type Harness, assertScimError } from '../helpers.js';

const ROLE_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:AppRole';
const GRANT_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:Grant';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ADMIN = `${ISSUER}/admin/v1`;
const S = {
  users: 'urn:opc:idm:t.users', usersRead: 'urn:opc:idm:t.users.read', groups: 'urn:opc:idm:t.groups', groupsRead: 'urn:opc:idm:t.groups.read',
  resetPassword: 'urn:opc:idm:t.user.resetpassword', apps: 'urn:opc:idm:t.apps', auditRead: 'urn:opc:idm:t.audit.read', settings: 'urn:opc:idm:t.settings',
  me: 'urn:opc:idm:t.user.me', signin: 'urn:opc:idm:t.security.signin',
};
const BUILTIN_ROLES: Record<string, string[]> = {
  'Identity Domain Administrator': Object.values(S),
  'User Administrator': [S.users, S.usersRead, S.groups, S.groupsRead],
  'Application Administrator': [S.apps, S.auditRead],
  'Help Desk Administrator': [S.usersRead, S.groupsRead, S.resetPassword],
  'Audit Administrator': [S.auditRead],
  Me: [S.me],
  Signin: [S.signin],
};

const patchOp = (...Operations: Record<string, unknown>[]) => ({ schemas: [PATCH_SCHEMA], Operations });
const q = (filter: string) => `filter=${encodeURIComponent(filter)}`;
const role = (appId: string, displayName: string, scopes: string[], extra: Record<string, unknown> = {}) => ({
  schemas: [ROLE_SCHEMA], displayName, app: { value: appId }, scopes: scopes.map((value) => ({ value })), ...extra,
});
const grant = (appId: string, roleId: string, granteeId: string, o: { type?: string; mechanism?: string } = {}) => ({
  schemas: [GRANT_SCHEMA], app: { value: appId }, entitlement: { attributeName: 'appRoles', attributeValue: roleId },
  grantMechanism: o.mechanism ?? 'ADMINISTRATOR_TO_APP', grantee: { value: granteeId, type: o.type ?? 'App' },
});
const roleScope = (name: string) => `urn:opc:idm:role.${encodeURIComponent(name)}`;

async function builtins(h: Harness, admin: string): Promise<{ adminAppId: string; roles: Record<string, string> }> {
  const apps = await scim(h, 'GET', `/admin/v1/Apps?${q('isBuiltIn eq true and isOAuthResource eq true')}`, admin);
  const adminAppId = apps.json().Resources[0].id as string;
  const r = await scim(h, 'GET', `/admin/v1/AppRoles?${q('isBuiltIn eq true')}`, admin);
  return { adminAppId, roles: Object.fromEntries(r.json().Resources.map((x: { displayName: string; id: string }) => [x.displayName, x.id])) };
}

/** A confidential client_credentials client, optionally holding some roles (granted by `admin`). */
async function newClient(h: Harness, admin: string, o: { roles?: { appId: string; roleId: string }[]; body?: Record<string, unknown> } = {}) {
  const r = await scim(h, 'POST', '/admin/v1/Apps', admin, {
    schemas: [APP_SCHEMA], displayName: `cl-${Math.random().toString(36).slice(2, 10)}`, isOAuthClient: true, clientType: 'confidential',
    allowedGrants: ['client_credentials'], ...(o.body ?? {}),
  });
  assert.equal(r.statusCode, 201, r.body);
  for (const x of o.roles ?? []) {
    const g = await scim(h, 'POST', '/admin/v1/Grants', admin, grant(x.appId, x.roleId, r.json().id));
    assert.equal(g.statusCode, 201, g.body);
  }
  return { id: r.json().id as string, clientId: r.json().name as string, secret: r.json().clientSecret as string };
}

async function tokenFor(h: Harness, c: { clientId: string; secret: string }, scope = 'urn:opc:idm:__myscopes__'): Promise<string> {
  const r = await clientToken(h, c.clientId, c.secret, scope);
  assert.equal(r.statusCode, 200, r.body);
  return r.json().access_token;
}

describe('admin AppRoles', () => {
  let h: Harness;
  let admin: string;
  let b: Awaited<ReturnType<typeof builtins>>;
  let rsId: string;
  let otherRsId: string;
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    b = await builtins(h, admin);
    const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: 'Orders API', isOAuthResource: true, audience: 'https://orders.example', scopes: [{ value: 'orders.read' }, { value: 'orders.write' }],
    });
    assert.equal(rs.statusCode, 201, rs.body);
    rsId = rs.json().id;
    const other = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: 'Stock API', isOAuthResource: true, audience: 'https://stock.example', scopes: [{ value: 'stock.read' }],
    });
    otherRsId = other.json().id;
  });
  after(() => h.close());

  test('the built-in roles are listed, carry the documented scopes and belong to the Identity Domain API', async () => {
    const r = await scim(h, 'GET', `/admin/v1/AppRoles?${q('isBuiltIn eq true')}`, admin);
    assert.equal(r.statusCode, 200, r.body);
    const roles = r.json().Resources as { displayName: string; scopes: { value: string }[]; app: { value: string; display: string; $ref: string }; isBuiltIn: boolean }[];
    assert.deepEqual(roles.map((x) => x.displayName).sort(), Object.keys(BUILTIN_ROLES).sort());
    for (const x of roles) {
      assert.deepEqual(x.scopes.map((s) => s.value).sort(), [...BUILTIN_ROLES[x.displayName]!].sort(), x.displayName);
      assert.equal(x.app.value, b.adminAppId);
      assert.equal(x.app.display, 'Identity Domain API');
      assert.equal(x.app.$ref, `${ADMIN}/Apps/${b.adminAppId}`);
      assert.equal(x.isBuiltIn, true);
    }
  });

  test('built-in roles are immutable: PUT, PATCH and DELETE are 400 mutability', async () => {
    for (const [name, id] of Object.entries(b.roles)) {
      const current = (await scim(h, 'GET', `/admin/v1/AppRoles/${id}`, admin)).json();
      assertScimError(await scim(h, 'PUT', `/admin/v1/AppRoles/${id}`, admin, role(b.adminAppId, name, BUILTIN_ROLES[name]!, { description: 'changed' })), 400, 'mutability');
      assertScimError(await scim(h, 'PATCH', `/admin/v1/AppRoles/${id}`, admin, patchOp({ op: 'replace', path: 'description', value: 'changed' })), 400, 'mutability');
      assertScimError(await scim(h, 'PATCH', `/admin/v1/AppRoles/${id}`, admin, patchOp({ op: 'remove', path: `scopes[value eq "${BUILTIN_ROLES[name]![0]}"]` })), 400, 'mutability');
      assertScimError(await scim(h, 'DELETE', `/admin/v1/AppRoles/${id}`, admin), 400, 'mutability');
      assert.deepEqual((await scim(h, 'GET', `/admin/v1/AppRoles/${id}`, admin)).json(), current, name);
    }
  });

  test('create: 201 with Location, ETag and the app reference', async () => {
    const r = await scim(h, 'POST', '/admin/v1/AppRoles', admin, role(rsId, 'Order Reader', ['orders.read'], { description: 'reads orders' }));
    assert.equal(r.statusCode, 201, r.body);
    const x = r.json();
    assert.equal(r.headers.location, `${ADMIN}/AppRoles/${x.id}`);
    assert.equal(r.headers.etag, 'W/"1"');
    assert.deepEqual(x.schemas, [ROLE_SCHEMA]);
    assert.equal(x.displayName, 'Order Reader');
    assert.equal(x.description, 'reads orders');
    assert.deepEqual(x.app, { value: rsId, display: 'Orders API', $ref: `${ADMIN}/Apps/${rsId}` });
    assert.deepEqual(x.scopes, [{ value: 'orders.read' }]);
    assert.equal(x.isBuiltIn, false);
    assert.equal(x.members, undefined, 'members is returned only on request');
    assert.equal(x.meta.resourceType, 'AppRole');
    assert.equal(x.meta.location, r.headers.location);
  });

  const invalid: [string, () => Record<string, unknown>, number, string][] = [
    ['a scope the app does not define', () => role(rsId, 'r-undef', ['orders.delete']), 400, 'invalidValue'],
    ['a scope another app defines', () => role(rsId, 'r-other', ['stock.read']), 400, 'invalidValue'],
    ['an admin scope on a custom app', () => role(rsId, 'r-admin', [S.settings]), 400, 'invalidValue'],
    ['a scope listed twice', () => role(rsId, 'r-twice', ['orders.read', 'orders.read']), 400, 'invalidValue'],
    ['an unknown app', () => role('no-such-app', 'r-noapp', []), 400, 'invalidValue'],
    ['no app', () => ({ schemas: [ROLE_SCHEMA], displayName: 'r-none', scopes: [] }), 400, 'invalidValue'],
    ['no app.value', () => ({ schemas: [ROLE_SCHEMA], displayName: 'r-none', app: {} }), 400, 'invalidValue'],
    ['no displayName', () => ({ schemas: [ROLE_SCHEMA], app: { value: rsId } }), 400, 'invalidValue'],
    ['a taken displayName', () => role(rsId, 'Order Reader', ['orders.write']), 409, 'uniqueness'],
    ['a built-in role\'s displayName', () => role(rsId, 'Audit Administrator', []), 409, 'uniqueness'],
    ['a built-in role\'s displayName in another case', () => role(rsId, 'audit administrator', []), 409, 'uniqueness'],
    ['a taken displayName in another case', () => role(rsId, 'ORDER READER', []), 409, 'uniqueness'],
    ['the App schema', () => ({ ...role(rsId, 'r-schema', []), schemas: [APP_SCHEMA] }), 400, 'invalidValue'],
    ['an unknown attribute', () => role(rsId, 'r-unknown', [], { members: undefined, colour: 'red' }), 400, 'invalidValue'],
  ];
  for (const [name, body, status, scimType] of invalid) {
    test(`create refused: ${name}`, async () => {
      if (name.startsWith('a taken')) await scim(h, 'POST', '/admin/v1/AppRoles', admin, role(rsId, 'Order Reader', ['orders.read']));
      assertScimError(await scim(h, 'POST', '/admin/v1/AppRoles', admin, body()), status, scimType);
    });
  }

  test('a custom role cannot shadow a built-in role in urn:opc:idm:role.NAME', async () => {
    // whatever the create answers, the bootstrap client must keep its role scope
    await scim(h, 'POST', '/admin/v1/AppRoles', admin, role(rsId, 'identity domain administrator', ['orders.read']));
    const r = await clientToken(h, BOOT_ID, BOOT_SECRET, roleScope('Identity Domain Administrator'));
    assert.equal(r.statusCode, 200, r.body);
    assert.ok(String(r.json().scope).split(' ').includes(S.settings));
  });

  test('filter app.value eq, members on request, and the role following its grants', async () => {
    const r1 = (await scim(h, 'POST', '/admin/v1/AppRoles', admin, role(otherRsId, 'Stock Reader', ['stock.read']))).json();
    const r2 = (await scim(h, 'POST', '/admin/v1/AppRoles', admin, role(otherRsId, 'Stock Nobody', []))).json();
    const list = await scim(h, 'GET', `/admin/v1/AppRoles?${q(`app.value eq "${otherRsId}"`)}&sortBy=displayName`, admin);
    assert.equal(list.statusCode, 200, list.body);
    assert.deepEqual(list.json().Resources.map((x: { id: string }) => x.id), [r2.id, r1.id]);
    assert.ok(list.json().Resources.every((x: Record<string, unknown>) => !('members' in x)));

    const c = await newClient(h, admin);
    const g = await scim(h, 'POST', '/admin/v1/Grants', admin, grant(otherRsId, r1.id, c.id));
    assert.equal(g.statusCode, 201, g.body);
    const withMembers = await scim(h, 'GET', `/admin/v1/AppRoles?${q(`app.value eq "${otherRsId}"`)}&attributes=members,displayName&sortBy=displayName`, admin);
    const [nobody, reader] = withMembers.json().Resources;
    assert.deepEqual(Object.keys(reader).sort(), ['displayName', 'id', 'members', 'schemas']);
    assert.deepEqual(reader.members.map((m: { value: string; type: string }) => ({ value: m.value, type: m.type })), [{ value: c.id, type: 'App' }]);
    assert.deepEqual(nobody.members ?? [], [], 'no members: unassigned or empty (RFC 7643 §2.5)');
    const one = await scim(h, 'GET', `/admin/v1/AppRoles/${r1.id}?attributes=members`, admin);
    assert.deepEqual(one.json().members.map((m: { value: string }) => m.value), [c.id]);
    // members is read-only: written through Grants only
    const p = await scim(h, 'PATCH', `/admin/v1/AppRoles/${r2.id}`, admin, patchOp({ op: 'add', path: 'members', value: [{ value: c.id, type: 'App' }] }));
    assertScimError(p, 400, 'mutability');
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Grants/${g.json().id}`, admin)).statusCode, 204);
    const gone = await scim(h, 'GET', `/admin/v1/AppRoles/${r1.id}?attributes=members`, admin);
    assert.deepEqual(gone.json().members ?? [], []);
  });

  test('PUT and PATCH a custom role; the app cannot change', async () => {
    const x = (await scim(h, 'POST', '/admin/v1/AppRoles', admin, role(rsId, 'Order Writer', ['orders.write']))).json();
    const put = await scim(h, 'PUT', `/admin/v1/AppRoles/${x.id}`, admin, role(rsId, 'Order Writer', ['orders.write', 'orders.read'], { description: 'rw' }));
    assert.equal(put.statusCode, 200, put.body);
    assert.equal(put.headers.etag, 'W/"2"');
    assert.deepEqual(put.json().scopes.map((s: { value: string }) => s.value).sort(), ['orders.read', 'orders.write']);
    assert.equal(put.json().members, undefined, 'RFC 7643 §7 returned "request": not in a PUT response unless asked for');
    const asked = await scim(h, 'PATCH', `/admin/v1/AppRoles/${x.id}?attributes=members,displayName`, admin, patchOp({ op: 'replace', path: 'description', value: 'rw!' }));
    assert.equal(asked.statusCode, 200, asked.body);
    assert.deepEqual(Object.keys(asked.json()).sort().filter((k) => k !== 'members'), ['displayName', 'id', 'schemas']);
    assert.equal((await scim(h, 'PUT', `/admin/v1/AppRoles/${x.id}`, admin, role(rsId, 'Order Writer', ['orders.write', 'orders.read'], { description: 'rw' }))).headers.etag, 'W/"4"');
    assertScimError(await scim(h, 'PUT', `/admin/v1/AppRoles/${x.id}`, admin, role(otherRsId, 'Order Writer', [])), 400, 'mutability');
    assertScimError(await scim(h, 'PATCH', `/admin/v1/AppRoles/${x.id}`, admin, patchOp({ op: 'replace', path: 'app.value', value: otherRsId })), 400, 'mutability');
    assertScimError(await scim(h, 'PATCH', `/admin/v1/AppRoles/${x.id}`, admin, patchOp({ op: 'add', path: 'scopes', value: [{ value: 'stock.read' }] })), 400, 'invalidValue');
    assertScimError(await scim(h, 'PATCH', `/admin/v1/AppRoles/${x.id}`, admin, patchOp({ op: 'replace', path: 'displayName', value: 'Order Reader' })), 409, 'uniqueness');
    const p = await scim(h, 'PATCH', `/admin/v1/AppRoles/${x.id}`, admin, patchOp({ op: 'remove', path: 'scopes[value eq "orders.read"]' }), { 'if-match': 'W/"4"' });
    assert.equal(p.statusCode, 200, p.body);
    assert.deepEqual(p.json().scopes, [{ value: 'orders.write' }]);
    assertScimError(await scim(h, 'PATCH', `/admin/v1/AppRoles/${x.id}`, admin, patchOp({ op: 'replace', path: 'description', value: 'x' }), { 'if-match': 'W/"4"' }), 412);
  });

  test('DELETE a custom role: 204, then 404; its grants go with it', async () => {
    const x = (await scim(h, 'POST', '/admin/v1/AppRoles', admin, role(rsId, 'Short Lived', ['orders.read']))).json();
    const c = await newClient(h, admin, { roles: [{ appId: rsId, roleId: x.id }] });
    assert.equal((await clientToken(h, c.clientId, c.secret, 'orders.read')).statusCode, 200);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/AppRoles/${x.id}`, admin)).statusCode, 204);
    assertScimError(await scim(h, 'GET', `/admin/v1/AppRoles/${x.id}`, admin), 404);
    const grants = await scim(h, 'GET', `/admin/v1/Grants?${q(`grantee.value eq "${c.id}"`)}`, admin);
    assert.equal(grants.json().totalResults, 0);
    assertOAuthError(await clientToken(h, c.clientId, c.secret, 'orders.read'), 400, 'invalid_scope');
    assert.deepEqual((await scim(h, 'GET', `/admin/v1/Apps/${c.id}`, admin)).json().grantedAppRoles ?? [], []);
  });

  test('deleting an app takes its roles with it', async () => {
    const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: 'Temp API', isOAuthResource: true, audience: 'https://temp.example', scopes: [{ value: 'temp.read' }],
    });
    const x = (await scim(h, 'POST', '/admin/v1/AppRoles', admin, role(rs.json().id, 'Temp Reader', ['temp.read']))).json();
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Apps/${rs.json().id}`, admin)).statusCode, 204);
    assertScimError(await scim(h, 'GET', `/admin/v1/AppRoles/${x.id}`, admin), 404);
  });
});

describe('admin Grants', () => {
  let h: Harness;
  let admin: string;
  let b: Awaited<ReturnType<typeof builtins>>;
  let rsId: string;
  let readerId: string;
  let otherRoleId: string;
  let c: Awaited<ReturnType<typeof newClient>>;
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    b = await builtins(h, admin);
    const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: 'Ledger API', isOAuthResource: true, audience: 'https://ledger.example', scopes: [{ value: 'ledger.read' }, { value: 'ledger.write' }],
    });
    rsId = rs.json().id;
    readerId = (await scim(h, 'POST', '/admin/v1/AppRoles', admin, role(rsId, 'Ledger Reader', ['ledger.read', 'ledger.write']))).json().id;
    const other = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: 'Other API', isOAuthResource: true, audience: 'https://other.example', scopes: [{ value: 'other.read' }],
    });
    otherRoleId = (await scim(h, 'POST', '/admin/v1/AppRoles', admin, role(other.json().id, 'Other Reader', ['other.read']))).json().id;
    c = await newClient(h, admin);
  });
  after(() => h.close());

  test('a grant gives the client the role\'s scopes (__myscopes__ and role.NAME), shown as grantedAppRoles; deleting it takes them away', async () => {
    assertOAuthError(await clientToken(h, c.clientId, c.secret, 'urn:opc:idm:__myscopes__'), 400, 'invalid_scope');
    assertOAuthError(await clientToken(h, c.clientId, c.secret, 'ledger.read'), 400, 'invalid_scope');
    const g = await scim(h, 'POST', '/admin/v1/Grants', admin, grant(rsId, readerId, c.id));
    assert.equal(g.statusCode, 201, g.body);
    const x = g.json();
    assert.equal(g.headers.location, `${ADMIN}/Grants/${x.id}`);
    assert.equal(typeof g.headers.etag, 'string');
    assert.deepEqual(x.schemas, [GRANT_SCHEMA]);
    assert.equal(x.app.value, rsId);
    assert.deepEqual(x.entitlement, { attributeName: 'appRoles', attributeValue: readerId });
    assert.equal(x.grantMechanism, 'ADMINISTRATOR_TO_APP');
    assert.equal(x.grantee.value, c.id);
    assert.equal(x.grantee.type, 'App');
    assert.equal(x.meta.resourceType, 'Grant');

    const my = await clientToken(h, c.clientId, c.secret, 'urn:opc:idm:__myscopes__');
    assert.equal(my.statusCode, 200, my.body);
    assert.deepEqual(my.json().scope.split(' ').sort(), ['ledger.read', 'ledger.write']);
    assert.equal(decode(my.json().access_token).payload.aud, 'https://ledger.example');
    const byRole = await clientToken(h, c.clientId, c.secret, roleScope('Ledger Reader'));
    assert.equal(byRole.statusCode, 200, byRole.body);
    assert.deepEqual(byRole.json().scope.split(' ').sort(), ['ledger.read', 'ledger.write']);
    assert.equal((await clientToken(h, c.clientId, c.secret, 'ledger.write')).json().scope, 'ledger.write');
    assertOAuthError(await clientToken(h, c.clientId, c.secret, roleScope('Other Reader')), 400, 'invalid_scope');

    const app = (await scim(h, 'GET', `/admin/v1/Apps/${c.id}`, admin)).json();
    assert.deepEqual(app.grantedAppRoles, [{ value: readerId, display: 'Ledger Reader', appId: rsId }]);
    const byGrantee = await scim(h, 'GET', `/admin/v1/Grants?${q(`grantee.value eq "${c.id}"`)}`, admin);
    assert.deepEqual(byGrantee.json().Resources.map((y: { id: string }) => y.id), [x.id]);
    assert.deepEqual((await scim(h, 'GET', `/admin/v1/Grants/${x.id}`, admin)).json(), x);

    const del = await scim(h, 'DELETE', `/admin/v1/Grants/${x.id}`, admin);
    assert.equal(del.statusCode, 204);
    assertScimError(await scim(h, 'GET', `/admin/v1/Grants/${x.id}`, admin), 404);
    assertOAuthError(await clientToken(h, c.clientId, c.secret, 'urn:opc:idm:__myscopes__'), 400, 'invalid_scope');
    assertOAuthError(await clientToken(h, c.clientId, c.secret, roleScope('Ledger Reader')), 400, 'invalid_scope');
    assertOAuthError(await clientToken(h, c.clientId, c.secret, 'ledger.read'), 400, 'invalid_scope');
    assert.deepEqual((await scim(h, 'GET', `/admin/v1/Apps/${c.id}`, admin)).json().grantedAppRoles ?? [], []);
    assert.equal((await scim(h, 'GET', `/admin/v1/Grants?${q(`grantee.value eq "${c.id}"`)}`, admin)).json().totalResults, 0);
  });

  test('a grant of a built-in role makes the client an administrator of the domain', async () => {
    const d = await newClient(h, admin);
    assertOAuthError(await clientToken(h, d.clientId, d.secret, 'urn:opc:idm:__myscopes__'), 400, 'invalid_scope');
    const g = await scim(h, 'POST', '/admin/v1/Grants', admin, grant(b.adminAppId, b.roles['Audit Administrator']!, d.id));
    assert.equal(g.statusCode, 201, g.body);
    const t = await clientToken(h, d.clientId, d.secret, roleScope('Audit Administrator'));
    assert.equal(t.statusCode, 200, t.body);
    assert.equal(t.json().scope, S.auditRead);
    assert.equal(decode(t.json().access_token).payload.aud, ADMIN);
    assert.equal((await scim(h, 'GET', '/admin/v1/AuditEvents?count=1', t.json().access_token)).statusCode, 200);
  });

  const invalid: [string, () => unknown, number, string | undefined][] = [
    ['a mechanism that does not fit an App grantee', () => grant(rsId, readerId, c.id, { mechanism: 'ADMINISTRATOR_TO_USER' }), 400, 'invalidValue'],
    ['an unknown mechanism', () => grant(rsId, readerId, c.id, { mechanism: 'SELF_SERVICE' }), 400, 'invalidValue'],
    ['a role of another app', () => grant(rsId, otherRoleId, c.id), 400, 'invalidValue'],
    ['an unknown role', () => grant(rsId, 'no-such-role', c.id), 400, 'invalidValue'],
    ['an unknown app', () => grant('no-such-app', readerId, c.id), 400, 'invalidValue'],
    ['an unknown grantee', () => grant(rsId, readerId, 'no-such-app'), 400, 'invalidValue'],
    ['an unknown User grantee', () => grant(rsId, readerId, 'some-user-id', { type: 'User', mechanism: 'ADMINISTRATOR_TO_USER' }), 400, 'invalidValue'],
    ['an unknown Group grantee', () => grant(rsId, readerId, 'some-group-id', { type: 'Group', mechanism: 'ADMINISTRATOR_TO_GROUP' }), 400, 'invalidValue'],
    ['an unknown grantee type', () => grant(rsId, readerId, c.id, { type: 'Robot' }), 400, 'invalidValue'],
    ['an entitlement that is not appRoles', () => ({ ...grant(rsId, readerId, c.id), entitlement: { attributeName: 'groups', attributeValue: readerId } }), 400, 'invalidValue'],
    ['no entitlement', () => ({ ...grant(rsId, readerId, c.id), entitlement: undefined }), 400, 'invalidValue'],
    ['no grantee', () => ({ ...grant(rsId, readerId, c.id), grantee: undefined }), 400, 'invalidValue'],
    ['no grantMechanism', () => ({ ...grant(rsId, readerId, c.id), grantMechanism: undefined }), 400, 'invalidValue'],
    ['no schemas', () => ({ ...grant(rsId, readerId, c.id), schemas: undefined }), 400, 'invalidSyntax'],
    ['an array body', () => [grant(rsId, readerId, c.id)], 400, 'invalidSyntax'],
  ];
  for (const [name, body, status, scimType] of invalid) {
    test(`grant refused: ${name}`, async () => {
      const before_ = (await scim(h, 'GET', '/admin/v1/Grants?count=0', admin)).json().totalResults;
      assertScimError(await scim(h, 'POST', '/admin/v1/Grants', admin, body()), status, scimType);
      assert.equal((await scim(h, 'GET', '/admin/v1/Grants?count=0', admin)).json().totalResults, before_);
    });
  }

  test('the same grant twice: 409 uniqueness', async () => {
    const d = await newClient(h, admin);
    assert.equal((await scim(h, 'POST', '/admin/v1/Grants', admin, grant(rsId, readerId, d.id))).statusCode, 201);
    const again = await scim(h, 'POST', '/admin/v1/Grants', admin, grant(rsId, readerId, d.id));
    assertScimError(again, 409, 'uniqueness');
    assert.equal(again.json().detail, 'app role Ledger Reader is already granted to this app');
  });

  test('grants are immutable: PUT and PATCH are 405', async () => {
    const d = await newClient(h, admin);
    const g = (await scim(h, 'POST', '/admin/v1/Grants', admin, grant(rsId, readerId, d.id))).json();
    assertScimError(await scim(h, 'PUT', `/admin/v1/Grants/${g.id}`, admin, grant(rsId, otherRoleId, d.id)), 405);
    assertScimError(await scim(h, 'PATCH', `/admin/v1/Grants/${g.id}`, admin, patchOp({ op: 'replace', path: 'grantee.value', value: c.id })), 405);
    assert.deepEqual((await scim(h, 'GET', `/admin/v1/Grants/${g.id}`, admin)).json(), g);
  });

  test('deleting the grantee app removes its grants', async () => {
    const d = await newClient(h, admin, { roles: [{ appId: rsId, roleId: readerId }] });
    assert.equal((await scim(h, 'GET', `/admin/v1/Grants?${q(`grantee.value eq "${d.id}"`)}`, admin)).json().totalResults, 1);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Apps/${d.id}`, admin)).statusCode, 204);
    assert.equal((await scim(h, 'GET', `/admin/v1/Grants?${q(`grantee.value eq "${d.id}"`)}`, admin)).json().totalResults, 0);
    const members = (await scim(h, 'GET', `/admin/v1/AppRoles/${readerId}?attributes=members`, admin)).json().members ?? [];
    assert.ok(!members.some((m: { value: string }) => m.value === d.id));
  });
});

describe('admin API: authentication and the permission table', () => {
  const clock = new FixedClock(Date.now());
  let h: Harness;
  let admin: string;
  let b: Awaited<ReturnType<typeof builtins>>;
  const tokens: Record<string, string> = {};
  let rsToken: string;
  before(async () => {
    h = await harness({ clock });
    admin = await adminToken(h);
    b = await builtins(h, admin);
    for (const name of Object.keys(BUILTIN_ROLES)) {
      const c = await newClient(h, admin, { roles: [{ appId: b.adminAppId, roleId: b.roles[name]! }] });
      tokens[name] = await tokenFor(h, c);
    }
    const rc = await setupClient(h, { admin, scopes: ['perm.read'] });
    rsToken = await tokenFor(h, rc, 'perm.read');
  });
  after(() => h.close());

  const challenge = (r: LightMyRequestResponse) => String(r.headers['www-authenticate'] ?? '');

  test('no token: 401 with a Bearer challenge', async () => {
    for (const url of ['/admin/v1/Apps', '/admin/v1/AppRoles', '/admin/v1/Grants', '/admin/v1/AuditEvents', '/admin/v1/SigningKeys', '/admin/v1/IdentityDomains', '/admin/v1/Apps/x', '/admin/v1/Nope']) {
      const r = await h.inject({ url });
      assertScimError(r, 401);
      assert.match(challenge(r), /^Bearer realm="http:\/\/localhost:8080"/, url);
    }
    const p = await h.inject({ method: 'POST', url: '/admin/v1/Apps', payload: '{}', headers: { 'content-type': 'application/scim+json' } });
    assertScimError(p, 401);
  });

  test('garbage, Basic, a foreign audience, an expired or revoked token: 401 invalid_token', async () => {
    const cases: [string, string][] = [
      ['garbage', 'Bearer not-a-token'],
      ['a JWT-looking garbage', 'Bearer aaa.bbb.ccc'],
      ['Basic credentials', `Basic ${Buffer.from(`${BOOT_ID}:${BOOT_SECRET}`).toString('base64')}`],
      ['a token for a resource server', `Bearer ${rsToken}`],
      ['a tampered admin token', `Bearer ${admin.slice(0, -4)}AAAA`],
      ['an admin token with a changed payload', `Bearer ${(() => { const [x, , z] = admin.split('.'); const p = decode(admin).payload; return `${x}.${Buffer.from(JSON.stringify({ ...p, scope: `${p.scope} x` })).toString('base64url')}.${z}`; })()}`],
    ];
    for (const [name, authorization] of cases) {
      const r = await h.inject({ url: '/admin/v1/Apps', headers: { authorization } });
      assertScimError(r, 401);
      if (authorization.startsWith('Bearer')) assert.match(challenge(r), /error="invalid_token"/, name);
      else assert.match(challenge(r), /^Bearer /, name);
    }
    // expired: move the clock past the token's lifetime
    const short = await tokenFor(h, { clientId: BOOT_ID, secret: BOOT_SECRET }, 'urn:opc:idm:__myscopes__ urn:opc:resource:expiry=60');
    assert.equal((await scim(h, 'GET', '/admin/v1/Apps?count=0', short)).statusCode, 200);
    clock.advance(61_000);
    const r = await scim(h, 'GET', '/admin/v1/Apps?count=0', short);
    assertScimError(r, 401);
    assert.match(challenge(r), /error="invalid_token"/);
    // revoked
    const rev = await tokenFor(h, { clientId: BOOT_ID, secret: BOOT_SECRET });
    assert.equal((await post(h, '/oauth2/v1/revoke', { token: rev }, { authorization: `Basic ${Buffer.from(`${BOOT_ID}:${BOOT_SECRET}`).toString('base64')}` })).statusCode, 200);
    assertScimError(await scim(h, 'GET', '/admin/v1/Apps?count=0', rev), 401);
  });

  type Row = [role: string, method: 'GET' | 'POST', url: string, status: number];
  const appBody = () => ({ schemas: [APP_SCHEMA], displayName: `perm-${Math.random().toString(36).slice(2, 8)}` });
  const table: Row[] = [
    ['Audit Administrator', 'GET', '/admin/v1/AuditEvents', 200],
    ['Audit Administrator', 'GET', '/admin/v1/Apps', 403],
    ['Audit Administrator', 'POST', '/admin/v1/Apps', 403],
    ['Audit Administrator', 'GET', '/admin/v1/AppRoles', 403],
    ['Audit Administrator', 'GET', '/admin/v1/Grants', 403],
    ['Audit Administrator', 'GET', '/admin/v1/SigningKeys', 403],
    ['Audit Administrator', 'GET', '/admin/v1/IdentityDomains', 403],
    ['Application Administrator', 'GET', '/admin/v1/Apps', 200],
    ['Application Administrator', 'POST', '/admin/v1/Apps', 201],
    ['Application Administrator', 'GET', '/admin/v1/AppRoles', 200],
    ['Application Administrator', 'GET', '/admin/v1/Grants', 200],
    ['Application Administrator', 'GET', '/admin/v1/AuditEvents', 200],
    ['Application Administrator', 'GET', '/admin/v1/SigningKeys', 403],
    ['Application Administrator', 'POST', '/admin/v1/SigningKeys/rotate', 403],
    ['Application Administrator', 'GET', '/admin/v1/IdentityDomains', 403],
    ['Application Administrator', 'POST', '/admin/v1/IdentityDomains', 403],
    ['User Administrator', 'GET', '/admin/v1/Apps', 403],
    ['User Administrator', 'POST', '/admin/v1/Apps/.search', 403],
    ['User Administrator', 'GET', '/admin/v1/AuditEvents', 403],
    ['User Administrator', 'GET', '/admin/v1/SigningKeys', 403],
    ['Help Desk Administrator', 'GET', '/admin/v1/Apps', 403],
    ['Help Desk Administrator', 'GET', '/admin/v1/AppRoles', 403],
    ['Help Desk Administrator', 'GET', '/admin/v1/AuditEvents', 403],
    ['Identity Domain Administrator', 'GET', '/admin/v1/Apps', 200],
    ['Identity Domain Administrator', 'GET', '/admin/v1/AuditEvents', 200],
    ['Identity Domain Administrator', 'GET', '/admin/v1/SigningKeys', 200],
    ['Identity Domain Administrator', 'GET', '/admin/v1/IdentityDomains', 200],
  ];
  for (const [name, method, url, status] of table) {
    test(`${name}: ${method} ${url} -> ${status}`, async () => {
      const body = method === 'POST'
        ? url.endsWith('.search') ? { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'] }
          : url.endsWith('rotate') ? { alg: 'RS256' } : url.endsWith('IdentityDomains') ? { name: 'permtest' } : appBody()
        : undefined;
      const r = await scim(h, method, url, tokens[name]!, body);
      assert.equal(r.statusCode, status, r.body);
      if (status === 403) {
        assertScimError(r, 403);
        assert.match(challenge(r), /^Bearer realm="[^"]+", error="insufficient_scope"/);
      }
    });
  }

  test('the 403s change nothing', async () => {
    const keys = (await scim(h, 'GET', '/admin/v1/SigningKeys', admin)).json();
    assert.ok(keys.Resources.every((k: { status: string }) => k.status !== 'retired'), 'no rotation happened');
    const domains = (await scim(h, 'GET', '/admin/v1/IdentityDomains', admin)).json();
    assert.ok(!domains.Resources.some((d: { name: string }) => d.name === 'permtest'));
  });

  test('a token asking for one role only carries that role\'s permissions', async () => {
    const c = await newClient(h, admin, { roles: [{ appId: b.adminAppId, roleId: b.roles['Application Administrator']! }, { appId: b.adminAppId, roleId: b.roles['Audit Administrator']! }] });
    const audit = await tokenFor(h, c, roleScope('Audit Administrator'));
    assert.equal((await scim(h, 'GET', '/admin/v1/AuditEvents?count=1', audit)).statusCode, 200);
    assertScimError(await scim(h, 'GET', '/admin/v1/Apps', audit), 403);
    const apps = await tokenFor(h, c, S.apps);
    assert.equal((await scim(h, 'GET', '/admin/v1/Apps?count=1', apps)).statusCode, 200);
    assertScimError(await scim(h, 'GET', '/admin/v1/AuditEvents', apps), 403);
  });
});

describe('admin API: no escalation of admin scopes', () => {
  let h: Harness;
  let admin: string;
  let b: Awaited<ReturnType<typeof builtins>>;
  let appAdmin: string;
  let appAdminClient: Awaited<ReturnType<typeof newClient>>;
  let target: Awaited<ReturnType<typeof newClient>>;
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    b = await builtins(h, admin);
    appAdminClient = await newClient(h, admin, { roles: [{ appId: b.adminAppId, roleId: b.roles['Application Administrator']! }] });
    appAdmin = await tokenFor(h, appAdminClient);
    assert.deepEqual(String(decode(appAdmin).payload.scope).split(' ').sort(), [S.apps, S.auditRead].sort());
    target = await newClient(h, admin);
  });
  after(() => h.close());

  test('an Application Administrator cannot grant a role with admin scopes it lacks; the Identity Domain Administrator can', async () => {
    for (const name of ['Identity Domain Administrator', 'User Administrator', 'Help Desk Administrator']) {
      assertScimError(await scim(h, 'POST', '/admin/v1/Grants', appAdmin, grant(b.adminAppId, b.roles[name]!, target.id)), 403);
      assertScimError(await scim(h, 'POST', '/admin/v1/Grants', appAdmin, grant(b.adminAppId, b.roles[name]!, appAdminClient.id)), 403);
    }
    assertOAuthError(await clientToken(h, target.clientId, target.secret, 'urn:opc:idm:__myscopes__'), 400, 'invalid_scope');
    // roles whose scopes it holds are fine
    for (const name of ['Application Administrator', 'Audit Administrator']) {
      const r = await scim(h, 'POST', '/admin/v1/Grants', appAdmin, grant(b.adminAppId, b.roles[name]!, target.id));
      assert.equal(r.statusCode, 201, r.body);
    }
    const ida = await scim(h, 'POST', '/admin/v1/Grants', admin, grant(b.adminAppId, b.roles['Identity Domain Administrator']!, target.id));
    assert.equal(ida.statusCode, 201, ida.body);
  });

  test('an Application Administrator cannot create a role on the built-in app with admin scopes it lacks', async () => {
    for (const scopes of [[S.settings], [S.apps, S.users], [S.resetPassword]]) {
      assertScimError(await scim(h, 'POST', '/admin/v1/AppRoles', appAdmin, role(b.adminAppId, `esc-${scopes.join('-')}`, scopes)), 403);
    }
    const own = await scim(h, 'POST', '/admin/v1/AppRoles', appAdmin, role(b.adminAppId, 'Apps Only', [S.apps]));
    assert.equal(own.statusCode, 201, own.body);
    // ... nor add one later
    assertScimError(await scim(h, 'PATCH', `/admin/v1/AppRoles/${own.json().id}`, appAdmin, patchOp({ op: 'add', path: 'scopes', value: [{ value: S.settings }] })), 403);
    assertScimError(await scim(h, 'PUT', `/admin/v1/AppRoles/${own.json().id}`, appAdmin, role(b.adminAppId, 'Apps Only', [S.apps, S.settings])), 403);
    const idaRole = await scim(h, 'POST', '/admin/v1/AppRoles', admin, role(b.adminAppId, 'Settings Only', [S.settings]));
    assert.equal(idaRole.statusCode, 201, idaRole.body);
    // ... nor grant the one the Identity Domain Administrator made
    assertScimError(await scim(h, 'POST', '/admin/v1/Grants', appAdmin, grant(b.adminAppId, idaRole.json().id, appAdminClient.id)), 403);
    assert.equal((await scim(h, 'POST', '/admin/v1/Grants', admin, grant(b.adminAppId, idaRole.json().id, target.id))).statusCode, 201);
  });

  test('an Application Administrator cannot give a client allowedScopes with admin scopes it lacks', async () => {
    const body = (scopes: string[]) => ({
      schemas: [APP_SCHEMA], displayName: `esc-client-${Math.random().toString(36).slice(2, 8)}`, isOAuthClient: true, clientType: 'confidential',
      allowedGrants: ['client_credentials'], allowedScopes: scopes.map((fqs) => ({ fqs })),
    });
    assertScimError(await scim(h, 'POST', '/admin/v1/Apps', appAdmin, body([S.settings])), 403);
    assertScimError(await scim(h, 'POST', '/admin/v1/Apps', appAdmin, body([S.auditRead, S.users])), 403);
    const ok = await scim(h, 'POST', '/admin/v1/Apps', appAdmin, body([S.apps, S.auditRead]));
    assert.equal(ok.statusCode, 201, ok.body);
    const id = ok.json().id;
    assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${id}`, appAdmin, patchOp({ op: 'add', path: 'allowedScopes', value: [{ fqs: S.settings }] })), 403);
    assertScimError(await scim(h, 'PUT', `/admin/v1/Apps/${id}`, appAdmin, { ...body([S.apps, S.usersRead]), displayName: 'x' }), 403);
    // the client really gets no more than it was given
    assertOAuthError(await clientToken(h, ok.json().name, ok.json().clientSecret, S.settings), 400, 'invalid_scope');
    // the Identity Domain Administrator may
    const ida = await scim(h, 'POST', '/admin/v1/Apps', admin, body([S.settings]));
    assert.equal(ida.statusCode, 201, ida.body);
    const t = await clientToken(h, ida.json().name, ida.json().clientSecret, S.settings);
    assert.equal(t.statusCode, 200, t.body);
    // and an Application Administrator may not touch a client more powerful than itself at all
    const rename = await scim(h, 'PATCH', `/admin/v1/Apps/${ida.json().id}`, appAdmin, patchOp({ op: 'replace', path: 'displayName', value: 'renamed by app admin' }));
    assertScimError(rename, 403);
  });

  test('an Application Administrator cannot take over a more powerful client by replacing its keys', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'attacker', alg: 'ES256', use: 'sig' };
    const boot = (await scim(h, 'GET', `/admin/v1/Apps?${q(`name eq "${BOOT_ID}"`)}`, admin)).json().Resources[0];
    const takeover = patchOp(
      { op: 'replace', path: 'tokenEndpointAuthMethod', value: 'private_key_jwt' },
      { op: 'replace', path: 'tokenEndpointAuthSigningAlg', value: 'ES256' },
      { op: 'add', path: 'jwks', value: { keys: [jwk] } },
    );
    assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${boot.id}`, appAdmin, takeover), 403);
    const viaUri = patchOp(
      { op: 'replace', path: 'tokenEndpointAuthMethod', value: 'private_key_jwt' },
      { op: 'add', path: 'jwksUri', value: 'https://attacker.example/jwks.json' },
    );
    assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${boot.id}`, appAdmin, viaUri), 403);
    // a client allowed an admin scope it lacks, too
    const strong = await newClient(h, admin, { body: { allowedScopes: [{ fqs: S.settings }] } });
    assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${strong.id}`, appAdmin, takeover), 403);
    // had it worked, this assertion would have made the attacker an Identity Domain Administrator
    const assertion = await new SignJWT({ iss: BOOT_ID, sub: BOOT_ID, aud: ISSUER, jti: `j-${Date.now()}` })
      .setProtectedHeader({ alg: 'ES256', kid: 'attacker' }).setIssuedAt(Math.floor(h.clock.now() / 1000)).setExpirationTime(Math.floor(h.clock.now() / 1000) + 60).sign(privateKey);
    const r = await post(h, '/oauth2/v1/token', {
      grant_type: 'client_credentials', scope: 'urn:opc:idm:__myscopes__',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
    });
    assertOAuthError(r, 401, 'invalid_client');
    assert.equal((await clientToken(h, BOOT_ID, BOOT_SECRET, 'urn:opc:idm:__myscopes__')).statusCode, 200, 'the bootstrap client is untouched');
    // a client holding only what the caller holds can be re-keyed by it
    const weak = await newClient(h, admin);
    const rekey = await scim(h, 'PATCH', `/admin/v1/Apps/${weak.id}`, appAdmin, takeover);
    assert.equal(rekey.statusCode, 200, rekey.body);
    // the Identity Domain Administrator may re-key anything
    const byIda = await scim(h, 'PATCH', `/admin/v1/Apps/${strong.id}`, admin, takeover);
    assert.equal(byIda.statusCode, 200, byIda.body);
  });
});
