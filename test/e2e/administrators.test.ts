import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DOMAIN, type GranteeType } from '../../src/core/types.js';
import { newId } from '../../src/core/ids.js';
import { hasAdministrator } from '../../src/identity/administrators.js';
import { IDENTITY_DOMAIN_ADMINISTRATOR } from '../../src/identity/builtins.js';
import { adminToken, APP_SCHEMA, BOOT_ID, harness, scim, type Harness } from '../helpers.js';
import { createUser } from '../signin.js';

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

async function defaultDomain(h: Harness) {
  const d = await h.t.services.repos.domains.getByName(DEFAULT_DOMAIN);
  assert.ok(d);
  return d;
}

test('a domain with no bootstrap client and nothing granted has no administrator; the bootstrap client is one', async () => {
  const none = await harness({ config: { bootstrapClientId: undefined, bootstrapClientSecret: undefined } });
  try {
    assert.equal(await hasAdministrator(none.t.services.repos, (await defaultDomain(none)).id), false);
  } finally {
    await none.close();
  }
  const boot = await harness();
  try {
    assert.equal(await hasAdministrator(boot.t.services.repos, (await defaultDomain(boot)).id), true);
  } finally {
    await boot.close();
  }
});

test('who counts as an administrator: an active client or user holding the role, users also through (nested) groups', async () => {
  const h = await harness();
  try {
    const repos = h.t.services.repos;
    const domain = await defaultDomain(h);
    const admin = await adminToken(h);
    const group = async (displayName: string, members: { value: string; type: 'User' | 'Group' }[]) => {
      const r = await scim(h, 'POST', '/admin/v1/Groups', admin, { schemas: [GROUP], displayName, members });
      assert.equal(r.statusCode, 201, r.body);
      return r.json().id as string;
    };
    const alice = (await createUser(h, admin, 'alice')).id;
    const bob = (await createUser(h, admin, 'bob', { active: false })).id;
    const empty = await group('empty', []);
    const onlyBob = await group('only-bob', [{ value: bob, type: 'User' }]);
    const child = await group('child', [{ value: alice, type: 'User' }]);
    const parent = await group('parent', [{ value: child, type: 'Group' }]);
    const grandparent = await group('grandparent', [{ value: parent, type: 'Group' }]);
    const cl = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: 'helpdesk', isOAuthClient: true, clientType: 'confidential', allowedGrants: ['client_credentials'],
    });
    assert.equal(cl.statusCode, 201, cl.body);
    const helpdesk = cl.json().id as string;
    const idle = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: 'idle', isOAuthClient: true, clientType: 'confidential', allowedGrants: ['client_credentials'], active: false,
    });
    assert.equal(idle.statusCode, 201, idle.body);

    // Now take the bootstrap client out: it is inactive, so it administers nothing.
    const boot = await repos.apps.getByClientId(domain.id, BOOT_ID);
    assert.ok(boot);
    await repos.apps.update({ ...boot, active: false }, boot.version);
    assert.equal(await hasAdministrator(repos, domain.id), false, 'an inactive client holding the role is no administrator');

    const roles = await repos.appRoles.list(domain.id);
    const roleOf = (name: string) => roles.find((r) => r.isBuiltIn && r.displayName === name)!;
    const cases: [string, string, GranteeType, string, boolean][] = [
      ['an active client', IDENTITY_DOMAIN_ADMINISTRATOR, 'App', helpdesk, true],
      ['an inactive client', IDENTITY_DOMAIN_ADMINISTRATOR, 'App', idle.json().id as string, false],
      ['a client holding another admin role', 'User Administrator', 'App', helpdesk, false],
      ['an active user, directly', IDENTITY_DOMAIN_ADMINISTRATOR, 'User', alice, true],
      ['an inactive user, directly', IDENTITY_DOMAIN_ADMINISTRATOR, 'User', bob, false],
      ['a user holding another admin role', 'User Administrator', 'User', alice, false],
      ['a group with an active user', IDENTITY_DOMAIN_ADMINISTRATOR, 'Group', child, true],
      ['a group whose active user is in a nested group', IDENTITY_DOMAIN_ADMINISTRATOR, 'Group', parent, true],
      ['two levels of nesting', IDENTITY_DOMAIN_ADMINISTRATOR, 'Group', grandparent, true],
      ['an empty group', IDENTITY_DOMAIN_ADMINISTRATOR, 'Group', empty, false],
      ['a group of inactive users only', IDENTITY_DOMAIN_ADMINISTRATOR, 'Group', onlyBob, false],
      ['a group holding another admin role', 'Help Desk Administrator', 'Group', child, false],
      ['a grant to a principal that does not exist', IDENTITY_DOMAIN_ADMINISTRATOR, 'User', newId(), false],
    ];
    for (const [what, roleName, granteeType, granteeId, expected] of cases) {
      const role = roleOf(roleName);
      const now = Date.now();
      const id = newId();
      await repos.grants.create({
        id, domainId: domain.id, appId: role.appId, appRoleId: role.id, granteeType, granteeId,
        mechanism: `ADMINISTRATOR_TO_${granteeType.toUpperCase()}`, version: 1, createdAt: now, updatedAt: now,
      });
      assert.equal(await hasAdministrator(repos, domain.id), expected, what);
      assert.ok(await repos.grants.delete(domain.id, id));
    }
    // An administrator of another domain does not count.
    const other = await h.t.services.domains.create('other', 'Other');
    await h.t.services.domains.upsertConfidentialClient(other, h.t.services.masterKey, 'other-admin', 'other-admin-secret-0123456789');
    assert.equal(await hasAdministrator(repos, other.id), true);
    assert.equal(await hasAdministrator(repos, domain.id), false);
  } finally {
    await h.close();
  }
});
