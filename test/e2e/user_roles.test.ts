import { test } from 'node:test';
import assert from 'node:assert/strict';
import { userRoleIds } from '../../src/identity/user_roles.js';
import { adminToken, APP_SCHEMA, harness, scim } from '../helpers.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ROLE = 'urn:ietf:params:scim:schemas:oracle:idcs:AppRole';
const GRANT = 'urn:ietf:params:scim:schemas:oracle:idcs:Grant';

test('a user holds the roles granted to them and to their groups, nested groups included; cycles end', async () => {
  const h = await harness();
  try {
    const admin = await adminToken(h);
    const ok = async (r: ReturnType<typeof scim>) => {
      const x = await r;
      assert.ok(x.statusCode === 200 || x.statusCode === 201, x.body);
      return x.json();
    };
    const app = await ok(scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: 'api', isOAuthResource: true, audience: 'https://api', scopes: [{ value: 'a' }, { value: 'b' }, { value: 'c' }, { value: 'd' }] }));
    const mkRole = (name: string, scope: string) => ok(scim(h, 'POST', '/admin/v1/AppRoles', admin, { schemas: [ROLE], displayName: name, app: { value: app.id }, scopes: [{ value: scope }] }));
    const [direct, viaGroup, viaParent, unrelated] = await Promise.all([mkRole('Direct', 'a'), mkRole('ViaGroup', 'b'), mkRole('ViaParent', 'c'), mkRole('Unrelated', 'd')]);
    const user = await ok(scim(h, 'POST', '/admin/v1/Users', admin, { schemas: [USER], userName: 'alice' }));
    const other = await ok(scim(h, 'POST', '/admin/v1/Users', admin, { schemas: [USER], userName: 'bob' }));
    const child = await ok(scim(h, 'POST', '/admin/v1/Groups', admin, { schemas: [GROUP], displayName: 'child', members: [{ value: user.id, type: 'User' }] }));
    const parent = await ok(scim(h, 'POST', '/admin/v1/Groups', admin, { schemas: [GROUP], displayName: 'parent', members: [{ value: child.id, type: 'Group' }] }));
    // a cycle: child also contains parent
    await ok(scim(h, 'PATCH', `/admin/v1/Groups/${child.id}`, admin, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: parent.id, type: 'Group' }] }] }));
    const grant = (roleId: string, type: 'User' | 'Group', id: string) => ok(scim(h, 'POST', '/admin/v1/Grants', admin, {
      schemas: [GRANT], app: { value: app.id }, entitlement: { attributeName: 'appRoles', attributeValue: roleId },
      grantMechanism: type === 'User' ? 'ADMINISTRATOR_TO_USER' : 'ADMINISTRATOR_TO_GROUP', grantee: { value: id, type },
    }));
    await grant(direct.id, 'User', user.id);
    await grant(viaGroup.id, 'Group', child.id);
    await grant(viaParent.id, 'Group', parent.id);
    await grant(unrelated.id, 'User', other.id);

    const domainId = (await h.t.services.repos.domains.getByName('default'))!.id;
    const roles = await userRoleIds(h.t.services.repos, domainId, user.id);
    assert.deepEqual([...roles].sort(), [direct.id, viaGroup.id, viaParent.id].sort());
    assert.deepEqual([...(await userRoleIds(h.t.services.repos, domainId, other.id))], [unrelated.id]);
    assert.deepEqual([...(await userRoleIds(h.t.services.repos, domainId, 'nobody'))], []);
  } finally {
    await h.close();
  }
});
