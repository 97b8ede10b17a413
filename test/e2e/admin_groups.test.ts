import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminToken, assertScimError, harness, ISSUER, scim, setupClient, type Harness } from '../helpers.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const GRANT = 'urn:ietf:params:scim:schemas:oracle:idcs:Grant';
const ROLE = 'urn:ietf:params:scim:schemas:oracle:idcs:AppRole';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ADMIN = `${ISSUER}/admin/v1`;
const q = (filter: string) => `filter=${encodeURIComponent(filter)}`;
const patchOp = (...Operations: Record<string, unknown>[]) => ({ schemas: [PATCH], Operations });

describe('admin Groups', () => {
  let h: Harness;
  let admin: string;
  let alice: { id: string };
  let bob: { id: string };
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    alice = (await scim(h, 'POST', '/admin/v1/Users', admin, { schemas: [USER], userName: 'alice', displayName: 'Alice A' })).json();
    bob = (await scim(h, 'POST', '/admin/v1/Users', admin, { schemas: [USER], userName: 'bob' })).json();
  });
  after(() => h.close());
  const create = (o: Record<string, unknown>) => scim(h, 'POST', '/admin/v1/Groups', admin, { schemas: [GROUP], ...o });

  test('201 with members rendered (value, type, display, $ref); displayName unique case-insensitively', async () => {
    const r = await create({ displayName: 'Team', members: [{ value: alice.id, type: 'User' }, { value: bob.id }] });
    assert.equal(r.statusCode, 201, r.body);
    const b = r.json();
    assert.equal(r.headers.location, `${ADMIN}/Groups/${b.id}`);
    assert.deepEqual(b.members.sort((x: { value: string }, y: { value: string }) => x.value.localeCompare(y.value)),
      [{ value: alice.id, type: 'User', display: 'Alice A', $ref: `${ADMIN}/Users/${alice.id}` }, { value: bob.id, type: 'User', display: 'bob', $ref: `${ADMIN}/Users/${bob.id}` }]
        .sort((x, y) => x.value.localeCompare(y.value)));
    assertScimError(await create({ displayName: 'TEAM' }), 409, 'uniqueness');
  });

  const bad: [string, () => Record<string, unknown>][] = [
    ['an unknown member', () => ({ displayName: 'g-unknown', members: [{ value: 'nobody' }] })],
    ['a member of the wrong type', () => ({ displayName: 'g-type', members: [{ value: alice.id, type: 'Group' }] })],
    ['a member type that is not User or Group', () => ({ displayName: 'g-type2', members: [{ value: alice.id, type: 'App' }] })],
    ['no displayName', () => ({ members: [] })],
  ];
  for (const [name, body] of bad) {
    test(`400 invalidValue: ${name}`, async () => { assertScimError(await create(body()), 400, 'invalidValue'); });
  }

  test('PATCH add/remove members; nested groups; users see their direct groups; filter by members.value', async () => {
    const g = (await create({ displayName: 'Patchers' })).json();
    const inner = (await create({ displayName: 'Inner', members: [{ value: bob.id }] })).json();
    const add = await scim(h, 'PATCH', `/admin/v1/Groups/${g.id}`, admin, patchOp({ op: 'add', path: 'members', value: [{ value: alice.id }, { value: inner.id, type: 'Group' }] }));
    assert.equal(add.statusCode, 200, add.body);
    assert.equal(add.json().members.length, 2);
    assert.equal(add.headers.etag, 'W/"2"');
    const self = await scim(h, 'PATCH', `/admin/v1/Groups/${g.id}`, admin, patchOp({ op: 'add', path: 'members', value: [{ value: g.id, type: 'Group' }] }));
    assertScimError(self, 400, 'invalidValue');
    const list = await scim(h, 'GET', `/admin/v1/Groups?${q(`members.value eq "${alice.id}"`)}&sortBy=displayName`, admin);
    assert.deepEqual(list.json().Resources.map((x: { displayName: string }) => x.displayName), ['Patchers', 'Team']);
    const aliceGroups = (await scim(h, 'GET', `/admin/v1/Users/${alice.id}`, admin)).json().groups.map((x: { display: string }) => x.display);
    assert.deepEqual(aliceGroups, ['Patchers', 'Team']);
    const rm = await scim(h, 'PATCH', `/admin/v1/Groups/${g.id}`, admin, patchOp({ op: 'remove', path: `members[value eq "${alice.id}"]` }));
    assert.equal(rm.statusCode, 200, rm.body);
    assert.deepEqual(rm.json().members.map((m: { value: string }) => m.value), [inner.id]);
    assert.deepEqual((await scim(h, 'GET', `/admin/v1/Users/${alice.id}`, admin)).json().groups.map((x: { display: string }) => x.display), ['Team']);
    const noMembers = await scim(h, 'GET', `/admin/v1/Groups?${q('displayName eq "patchers"')}&excludedAttributes=members`, admin);
    assert.equal(noMembers.json().Resources[0].members, undefined);
    assertScimError(await scim(h, 'GET', `/admin/v1/Groups?${q('members.display eq "x"')}`, admin), 400, 'invalidFilter');
  });

  test('grants to users and groups: the grantee must exist; AppRole members show them', async () => {
    const c = await setupClient(h, { admin, scopes: ['docs.read'] });
    const role = await scim(h, 'POST', '/admin/v1/AppRoles', admin, { schemas: [ROLE], displayName: 'Doc Reader', app: { value: c.rs.id }, scopes: [{ value: 'docs.read' }] });
    assert.equal(role.statusCode, 201, role.body);
    const team = (await scim(h, 'GET', `/admin/v1/Groups?${q('displayName eq "Team"')}`, admin)).json().Resources[0];
    const grant = (type: string, value: string) => scim(h, 'POST', '/admin/v1/Grants', admin, {
      schemas: [GRANT], app: { value: c.rs.id }, entitlement: { attributeName: 'appRoles', attributeValue: role.json().id },
      grantMechanism: type === 'User' ? 'ADMINISTRATOR_TO_USER' : 'ADMINISTRATOR_TO_GROUP', grantee: { type, value },
    });
    const gu = await grant('User', alice.id);
    assert.equal(gu.statusCode, 201, gu.body);
    assert.deepEqual(gu.json().grantee, { value: alice.id, type: 'User', display: 'Alice A' });
    assert.equal((await grant('Group', team.id)).statusCode, 201);
    assertScimError(await grant('User', team.id), 400, 'invalidValue');
    assertScimError(await grant('Group', 'no-such-group'), 400, 'invalidValue');
    const members = (await scim(h, 'GET', `/admin/v1/AppRoles/${role.json().id}?attributes=members`, admin)).json().members;
    assert.deepEqual(members.map((m: Record<string, string>) => [m.type, m.value, m.display]).sort(),
      [['Group', team.id, 'Team'], ['User', alice.id, 'Alice A']].sort());
    // deleting the grantee removes its grants
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Groups/${team.id}`, admin)).statusCode, 204);
    const after_ = (await scim(h, 'GET', `/admin/v1/AppRoles/${role.json().id}?attributes=members`, admin)).json().members;
    assert.deepEqual(after_.map((m: { type: string }) => m.type), ['User']);
  });

  test('description: stored, returned, replaced by PATCH, removed; not a number', async () => {
    const r = await create({ displayName: 'Described', description: 'The people who sign off releases' });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.json().description, 'The people who sign off releases');
    const id = r.json().id as string;
    const p = await scim(h, 'PATCH', `/admin/v1/Groups/${id}`, admin, patchOp({ op: 'replace', value: { displayName: 'Described 2', description: 'Release approvers' } }));
    assert.equal(p.statusCode, 200, p.body);
    assert.equal(p.json().displayName, 'Described 2');
    assert.equal((await scim(h, 'GET', `/admin/v1/Groups/${id}`, admin)).json().description, 'Release approvers');
    const rm = await scim(h, 'PATCH', `/admin/v1/Groups/${id}`, admin, patchOp({ op: 'remove', path: 'description' }));
    assert.equal(rm.statusCode, 200, rm.body);
    assert.equal(rm.json().description, undefined);
    assertScimError(await create({ displayName: 'Described 3', description: 42 }), 400, 'invalidValue');
  });
});
