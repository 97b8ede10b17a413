import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidScope } from '../../../src/core/errors.js';
import type { AppRecord, AppRoleRecord } from '../../../src/core/types.js';
import type { DomainCatalog, ResourceServerInfo } from '../../../src/identity/catalog.js';
import { newApp } from '../../../src/identity/domains.js';
import { resolveClientScopes, resolveUserScopes } from '../../../src/identity/scopes.js';

const rs = (appId: string, builtIn = false): ResourceServerInfo => ({ appId, audience: `https://${appId}`, tokenFormat: 'jwt', builtIn });
const role = (id: string, scopes: string[]): AppRoleRecord => ({ id, domainId: 'd', appId: 'api', displayName: id, scopes, isBuiltIn: false, version: 1, createdAt: 0, updatedAt: 0 });

/** The seed's example (Oracle Scopes.htm): client holds Role1-3, user holds Role1, Role2, Role4. */
function fixture() {
  const roles = [role('Role1', ['s1']), role('Role2', ['s2']), role('Role3', ['s3']), role('Role4', ['s4']), role('Admin', ['urn:opc:idm:t.users'])];
  const cat: DomainCatalog = {
    loadedAt: 0, adminAppId: 'admin',
    scopes: new Map([['s1', rs('api')], ['s2', rs('api')], ['s3', rs('api')], ['s4', rs('api')], ['free', rs('other')], ['urn:opc:idm:t.users', rs('admin', true)]]),
    rolesById: new Map(roles.map((r) => [r.id, r])),
    rolesByName: new Map(roles.map((r) => [r.displayName.toLowerCase(), r])),
    appRoleGrants: new Map([['client', new Set(['Role1', 'Role2', 'Role3', 'Admin'])]]), scopeDescriptions: new Map(),
  };
  const client: AppRecord = { ...newApp('d', 0, { displayName: 'c', isOAuthClient: true, clientId: 'cid', allowedScopes: ['free'] }), id: 'client' };
  return { cat, client, user: new Set(['Role1', 'Role2', 'Role4']) };
}

const scopes = (r: { scopes: string[] }) => [...r.scopes].sort();

describe('scope resolution with a user (client ∩ user)', () => {
  test('role.Role1 + role.Role3 yields Role1 only: Role3 is the client\'s alone', () => {
    const { cat, client, user } = fixture();
    assert.deepEqual(scopes(resolveUserScopes(cat, client, user, ['urn:opc:idm:role.Role1', 'urn:opc:idm:role.Role3'])), ['s1']);
  });

  test('__myscopes__ yields the scopes of roles both hold', () => {
    const { cat, client, user } = fixture();
    assert.deepEqual(scopes(resolveUserScopes(cat, client, user, ['urn:opc:idm:__myscopes__'])), ['s1', 's2']);
    // without a user, the client's own roles
    assert.deepEqual(scopes(resolveClientScopes(cat, client, ['urn:opc:idm:__myscopes__'])), ['s1', 's2', 's3', 'urn:opc:idm:t.users']);
  });

  test('a role only the user holds, or nobody holds, is invalid_scope', () => {
    const { cat, client, user } = fixture();
    assert.throws(() => resolveUserScopes(cat, client, user, ['urn:opc:idm:role.Role4']), InvalidScope);
    assert.throws(() => resolveUserScopes(cat, client, user, ['urn:opc:idm:role.Nope']), InvalidScope);
  });

  test('nothing left is invalid_scope', () => {
    const { cat, client } = fixture();
    assert.throws(() => resolveUserScopes(cat, client, new Set(), ['urn:opc:idm:role.Role3']), InvalidScope);
    assert.throws(() => resolveUserScopes(cat, client, new Set(), ['urn:opc:idm:__myscopes__']), InvalidScope);
  });

  test('an admin-API scope needs the user to hold it too; ordinary allowed scopes do not', () => {
    const { cat, client, user } = fixture();
    assert.throws(() => resolveUserScopes(cat, client, user, ['urn:opc:idm:t.users']), InvalidScope);
    assert.deepEqual(scopes(resolveUserScopes(cat, client, new Set([...user, 'Admin']), ['urn:opc:idm:t.users'])), ['urn:opc:idm:t.users']);
    assert.deepEqual(scopes(resolveUserScopes(cat, client, user, ['free', 's3'])), ['free', 's3']);
  });

  test('client flows keep refusing a role the client does not hold', () => {
    const { cat, client } = fixture();
    assert.throws(() => resolveClientScopes(cat, client, ['urn:opc:idm:role.Role4']), InvalidScope);
  });
});
