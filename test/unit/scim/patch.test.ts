import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyPatch } from '../../../src/scim/patch.js';
import { AppRoleSchema, AppSchema, GrantSchema } from '../../../src/scim/resources.js';
import { assertScimError, ENTERPRISE_ID, PATCH, patchBody, sampleUser, TestUserBundle, TestUserSchema, USER_ID } from './helpers.js';

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

const app = (): Record<string, unknown> => deepFreeze({
  schemas: [AppSchema.id], id: 'a1', displayName: 'Orders', active: true, isBuiltIn: false, name: 'client-1', clientType: 'confidential',
  redirectUris: ['https://a.example/cb', 'https://b.example/cb'],
  allowedScopes: [{ fqs: 'urn:x:read', idOfDefiningApp: 'rs1' }, { fqs: 'urn:x:write', idOfDefiningApp: 'rs1' }],
  scopes: [{ value: 'orders.read', description: 'Read' }, { value: 'orders.write' }],
  grantedAppRoles: [{ value: 'role1', display: 'Readers', appId: 'rs1' }],
  meta: { resourceType: 'App', version: 'W/"1"', lastModified: '2024-01-01T00:00:00Z' },
});
const user = (): Record<string, unknown> => deepFreeze(sampleUser());
const patchApp = (...ops: unknown[]) => applyPatch(app(), patchBody(...ops), AppSchema);
const patchUser = (...ops: unknown[]) => applyPatch(user(), patchBody(...ops), TestUserBundle);

describe('applyPatch: the PatchOp message (RFC 7644 §3.5.2)', () => {
  const syntax: [string, unknown, RegExp][] = [
    ['body is null', null, /JSON object/],
    ['body is an array', [{ op: 'add' }], /JSON object/],
    ['body is a string', 'x', /JSON object/],
    ['schemas missing', { Operations: [{ op: 'add', path: 'displayName', value: 'x' }] }, /schemas must be/],
    ['schemas wrong', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], Operations: [{ op: 'add', path: 'displayName', value: 'x' }] }, /schemas must be/],
    ['schemas with an extra URN', { schemas: [PATCH, AppSchema.id], Operations: [{ op: 'add', path: 'displayName', value: 'x' }] }, /schemas must be/],
    ['schemas a string', { schemas: PATCH, Operations: [{ op: 'add', path: 'displayName', value: 'x' }] }, /schemas must be/],
    ['Operations missing', { schemas: [PATCH] }, /non-empty array/],
    ['Operations empty', { schemas: [PATCH], Operations: [] }, /non-empty array/],
    ['Operations an object', { schemas: [PATCH], Operations: { op: 'add' } }, /non-empty array/],
    ['an operation that is not an object', patchBody('add'), /Operations\[0\] must be an object/],
    ['op missing', patchBody({ path: 'displayName', value: 'x' }), /op must be/],
    ['op unknown', patchBody({ op: 'move', path: 'displayName', value: 'x' }), /op must be/],
    ['op not a string', patchBody({ op: 1, path: 'displayName', value: 'x' }), /op must be/],
    ['add without value', patchBody({ op: 'add', path: 'displayName' }), /needs a "value"/],
    ['replace without value', patchBody({ op: 'replace', path: 'displayName' }), /needs a "value"/],
    ['second operation bad', patchBody({ op: 'replace', path: 'displayName', value: 'x' }, { op: 'copy' }), /Operations\[1\]/],
  ];
  for (const [what, body, detail] of syntax) {
    test(`invalidSyntax: ${what}`, () => assertScimError(() => applyPatch(app(), body, AppSchema), 400, 'invalidSyntax', detail));
  }

  test('tooMany: more than 1000 operations', () => {
    const ops = Array.from({ length: 1001 }, () => ({ op: 'replace', path: 'displayName', value: 'x' }));
    assertScimError(() => applyPatch(app(), patchBody(...ops), AppSchema), 400, 'tooMany', /1000/);
    assert.equal(applyPatch(app(), patchBody(...ops.slice(1)), AppSchema).displayName, 'x');
    assertScimError(() => applyPatch(app(), patchBody(...ops.slice(0, 3)), AppSchema, { maxOperations: 2 }), 400, 'tooMany');
  });

  test('noTarget: remove without a path (RFC 7644 §3.5.2.2)', () => {
    assertScimError(() => patchApp({ op: 'remove' }), 400, 'noTarget', /needs a "path"/);
    assertScimError(() => patchApp({ op: 'Remove', value: { displayName: 'x' } }), 400, 'noTarget');
  });

  const badPaths: [string, unknown][] = [['a number', 5], ['an empty string', ''], ['blank', '  '], ['an object', { a: 1 }]];
  for (const [what, path] of badPaths) {
    test(`invalidPath: path is ${what}`, () => assertScimError(() => patchApp({ op: 'replace', path, value: 'x' }), 400, 'invalidPath'));
  }

  test('op and member names are case-insensitive (Azure AD sends "Replace")', () => {
    const out = applyPatch(app(), { SCHEMAS: [PATCH.toUpperCase()], operations: [{ OP: 'Replace', Path: 'displayName', Value: 'X' }, { op: 'ADD', path: 'description', value: 'd' }] }, AppSchema);
    assert.equal(out.displayName, 'X');
    assert.equal(out.description, 'd');
  });
});

describe('applyPatch: paths', () => {
  const invalid: [string, string, RegExp][] = [
    ['unknown attribute', 'colour', /unknown attribute "colour"/],
    ['unknown sub-attribute', 'meta.colour', /unknown attribute/],
    ['unknown schema URN', 'urn:example:colour', /unknown attribute/],
    ['sub-attribute of a multi-valued attribute without a filter', 'allowedScopes.fqs', /multi-valued; select values/],
    ['filter on a simple attribute', 'displayName[value eq "x"]', /not a multi-valued complex/],
    ['filter on a multi-valued simple attribute', 'redirectUris[value eq "x"]', /not a multi-valued complex/],
    ['missing closing bracket', 'scopes[value eq "x"', /missing '\]'/],
    ['stray closing bracket', 'scopes]', /invalid path/],
    ['filter syntax error', 'scopes[value eq]', /scopes\[value eq\]/],
    ['unknown attribute in the filter', 'scopes[colour eq "x"]', /unknown attribute "colour"/],
    ['garbage after the filter', 'scopes[value eq "x"]description', /expected .subAttribute/],
    ['unknown sub-attribute after the filter', 'scopes[value eq "x"].colour', /no sub-attribute "colour"/],
    ['two levels after the filter', 'scopes[value eq "x"].description.x', /expected .subAttribute/],
    ['nested filter', 'scopes[value[x eq "y"]]', /scopes/],
  ];
  for (const [what, path, detail] of invalid) {
    test(`invalidPath: ${what} (${path})`, () => assertScimError(() => patchApp({ op: 'replace', path, value: 'x' }), 400, 'invalidPath', detail));
  }

  test('invalidPath: remove with an unknown attribute', () => {
    assertScimError(() => patchApp({ op: 'remove', path: 'nope' }), 400, 'invalidPath');
  });

  test('invalidPath: a value filter may not test a never-returned sub-attribute (it would be an oracle)', () => {
    const bundle = {
      core: { ...TestUserSchema, attributes: TestUserSchema.attributes.map((a) => (a.name === 'emails' ? { ...a, subAttributes: [...(a.subAttributes ?? []), { ...a.subAttributes![0]!, name: 'secret', returned: 'never' as const, required: false }] } : a)) },
      extensions: [],
    };
    assertScimError(() => applyPatch(user(), patchBody({ op: 'remove', path: 'emails[secret eq "x"]' }), bundle), 400, 'invalidPath', /cannot be used in a filter/);
  });

  test('a quoted "]" inside the filter does not end it', () => {
    const out = applyPatch(app(), patchBody({ op: 'add', path: 'scopes[value eq "a]b"].description', value: 'odd' }), AppSchema);
    assert.deepEqual((out.scopes as unknown[])[2], { value: 'a]b', description: 'odd' });
  });

  test('paths are case-insensitive and may be qualified with the core schema URN', () => {
    assert.equal(patchApp({ op: 'replace', path: 'DISPLAYNAME', value: 'X' }).displayName, 'X');
    assert.equal(patchApp({ op: 'replace', path: `${AppSchema.id}:displayName`, value: 'Y' }).displayName, 'Y');
    assert.deepEqual((patchApp({ op: 'replace', path: 'SCOPES[VALUE eq "orders.read"].DESCRIPTION', value: 'R' }).scopes as unknown[])[0], { value: 'orders.read', description: 'R' });
  });
});

describe('applyPatch: mutability (RFC 7643 §7, RFC 7644 §3.5.2)', () => {
  const readOnly: [string, unknown][] = [
    ['replace id', { op: 'replace', path: 'id', value: 'other' }],
    ['replace name (client_id)', { op: 'replace', path: 'name', value: 'other' }],
    ['remove name', { op: 'remove', path: 'name' }],
    ['replace isBuiltIn', { op: 'replace', path: 'isBuiltIn', value: true }],
    ['add clientSecret', { op: 'add', path: 'clientSecret', value: 's' }],
    ['replace meta.version', { op: 'replace', path: 'meta.version', value: 'W/"9"' }],
    ['remove meta', { op: 'remove', path: 'meta' }],
    ['add grantedAppRoles', { op: 'add', path: 'grantedAppRoles', value: [{ value: 'admin' }] }],
    ['remove grantedAppRoles by filter', { op: 'remove', path: 'grantedAppRoles[value eq "role1"]' }],
    ['replace a readOnly sub-attribute through a filter', { op: 'replace', path: 'allowedScopes[fqs eq "urn:x:read"].idOfDefiningApp', value: 'me' }],
    ['add a value carrying a readOnly sub-attribute', { op: 'add', path: 'allowedScopes', value: [{ fqs: 'urn:x:admin', idOfDefiningApp: 'me' }] }],
    ['no-path replace that changes id', { op: 'replace', value: { id: 'other', displayName: 'X' } }],
    ['no-path add of isBuiltIn', { op: 'add', value: { isBuiltIn: true } }],
    ['case-insensitive readOnly name', { op: 'replace', path: 'NAME', value: 'x' }],
  ];
  for (const [what, op] of readOnly) {
    test(`readOnly: ${what}`, () => assertScimError(() => patchApp(op), 400, 'mutability', /readOnly/));
  }

  test('no-path replace that echoes read-only attributes unchanged is accepted', () => {
    const out = patchApp({ op: 'replace', value: { id: 'a1', name: 'client-1', meta: app().meta, displayName: 'X', schemas: [AppSchema.id] } });
    assert.equal(out.displayName, 'X');
    assert.equal(out.id, 'a1');
  });

  const immutable: [string, unknown][] = [
    ['replace clientType', { op: 'replace', path: 'clientType', value: 'public' }],
    ['remove clientType', { op: 'remove', path: 'clientType' }],
    ['no-path replace clientType', { op: 'replace', value: { clientType: 'public' } }],
  ];
  for (const [what, op] of immutable) {
    test(`immutable with a value: ${what}`, () => assertScimError(() => patchApp(op), 400, 'mutability', /clientType" is immutable/));
  }

  test('immutable: replacing with the same value (any case, not caseExact) is not a change', () => {
    assert.equal(patchApp({ op: 'replace', path: 'clientType', value: 'CONFIDENTIAL' }).clientType, 'confidential');
  });

  test('immutable: may be set when it has no value yet', () => {
    const bare: Record<string, unknown> = { schemas: [AppSchema.id], id: 'a', displayName: 'A' };
    assert.equal(applyPatch(bare, patchBody({ op: 'add', path: 'clientType', value: 'public' }), AppSchema).clientType, 'public');
  });

  test('AppRole: app is immutable; members are readOnly', () => {
    const role = { schemas: [AppRoleSchema.id], id: 'r', displayName: 'R', app: { value: 'a1', display: 'A', $ref: 'https://x/Apps/a1' }, scopes: [{ value: 's' }], members: [{ value: 'm', type: 'App' }] };
    assertScimError(() => applyPatch(role, patchBody({ op: 'replace', path: 'app.value', value: 'a2' }), AppRoleSchema), 400, 'mutability', /"app" is immutable/);
    assertScimError(() => applyPatch(role, patchBody({ op: 'replace', path: 'app', value: { value: 'a2' } }), AppRoleSchema), 400, 'mutability');
    assertScimError(() => applyPatch(role, patchBody({ op: 'remove', path: 'app' }), AppRoleSchema), 400, 'mutability');
    assertScimError(() => applyPatch(role, patchBody({ op: 'replace', path: 'app.display', value: 'B' }), AppRoleSchema), 400, 'mutability', /readOnly/);
    assertScimError(() => applyPatch(role, patchBody({ op: 'add', path: 'members', value: [{ value: 'x', type: 'App' }] }), AppRoleSchema), 400, 'mutability', /readOnly/);
    assert.equal(applyPatch(role, patchBody({ op: 'replace', path: 'app.value', value: 'a1' }), AppRoleSchema).displayName, 'R');
    const out = applyPatch(role, patchBody({ op: 'add', path: 'scopes', value: [{ value: 't' }] }), AppRoleSchema);
    assert.deepEqual(out.scopes, [{ value: 's' }, { value: 't' }]);
  });

  test('Grant: nothing can change', () => {
    const grant = { schemas: [GrantSchema.id], id: 'g', app: { value: 'a' }, entitlement: { attributeName: 'appRoles', attributeValue: 'r' }, grantMechanism: 'ADMINISTRATOR_TO_APP', grantee: { value: 'c', type: 'App' } };
    for (const op of [
      { op: 'replace', path: 'grantee.value', value: 'd' },
      { op: 'replace', path: 'grantMechanism', value: 'ADMINISTRATOR_TO_USER' },
      { op: 'replace', path: 'entitlement', value: { attributeValue: 'r2' } },
      { op: 'remove', path: 'grantee.type' },
    ]) {
      assertScimError(() => applyPatch(grant, patchBody(op), GrantSchema), 400, 'mutability');
    }
  });

  test('immutable sub-attribute inside an extension', () => {
    assertScimError(() => patchUser({ op: 'replace', path: `${ENTERPRISE_ID}:costCenter`, value: 'CC2' }), 400, 'mutability', /costCenter/);
    assert.equal((patchUser({ op: 'replace', path: `${ENTERPRISE_ID}:employeeNumber`, value: '9' })[ENTERPRISE_ID] as Record<string, unknown>).employeeNumber, '9');
  });
});

describe('applyPatch: values', () => {
  const invalid: [string, unknown, RegExp][] = [
    ['string to a boolean', { op: 'replace', path: 'active', value: 'false' }, /"active" must be true or false/],
    ['string to an integer', { op: 'add', path: 'accessTokenExpiry', value: '60' }, /must be an integer/],
    ['number to a string', { op: 'replace', path: 'displayName', value: 5 }, /must be a string/],
    ['non-canonical value', { op: 'replace', path: 'accessTokenFormat', value: 'paseto' }, /must be one of jwt, opaque/],
    ['non-canonical value in a multi-valued attribute', { op: 'add', path: 'allowedGrants', value: ['magic'] }, /must be one of/],
    ['object to a string', { op: 'replace', path: 'description', value: { a: 1 } }, /must be a string/],
    ['array to a singular attribute', { op: 'replace', path: 'description', value: ['a'] }, /must be a string, not an array/],
    ['string to a complex attribute', { op: 'add', path: 'jwks', value: 'x' }, /must be an object/],
    ['unknown sub-attribute in a value', { op: 'add', path: 'scopes', value: [{ value: 'x', colour: 'red' }] }, /no sub-attribute "colour"/],
    ['element missing its required sub-attribute', { op: 'add', path: 'allowedScopes', value: [{}] }, /"allowedScopes.fqs" is required/],
    ['filtered merge with a wrongly typed sub-attribute', { op: 'replace', path: 'scopes[value eq "orders.read"]', value: { requiresConsent: 'yes' } }, /true or false/],
    ['filtered sub-attribute with a wrong type', { op: 'replace', path: 'scopes[value eq "orders.read"].requiresConsent', value: 'yes' }, /true or false/],
    ['add null', { op: 'add', path: 'description', value: null }, /needs a value/],
    ['no-path value that is not an object', { op: 'add', value: 'x' }, /object of attributes/],
    ['no-path value that is an array', { op: 'replace', value: [{ displayName: 'x' }] }, /object of attributes/],
    ['removing a required attribute', { op: 'remove', path: 'displayName' }, /required attribute "displayName" cannot be removed/],
    ['replacing a required attribute with null', { op: 'replace', path: 'displayName', value: null }, /cannot be removed/],
    ['removing a required sub-attribute of a value', { op: 'remove', path: 'scopes[value eq "orders.read"].value' }, /"scopes.value" is required/],
    ['remove with a value on a single-valued attribute', { op: 'remove', path: 'description', value: 'x' }, /single-valued/],
  ];
  for (const [what, op, detail] of invalid) {
    test(`invalidValue: ${what}`, () => assertScimError(() => patchApp(op), 400, 'invalidValue', detail));
  }

  test('invalidPath: unknown attribute in a no-path value', () => {
    assertScimError(() => patchApp({ op: 'add', value: { colour: 'red' } }), 400, 'invalidPath', /colour/);
    assertScimError(() => patchApp({ op: 'add', value: { 'scopes[value eq "x"]': {} } }), 400, 'invalidPath', /value filters are not allowed/);
  });

  const noTarget: [string, unknown][] = [
    ['remove with a filter matching nothing', { op: 'remove', path: 'scopes[value eq "nope"]' }],
    ['remove of a sub-attribute with a filter matching nothing', { op: 'remove', path: 'scopes[value eq "nope"].description' }],
    ['replace with a filter matching nothing (RFC 7644 §3.5.2.3)', { op: 'replace', path: 'scopes[value eq "nope"]', value: { description: 'x' } }],
    ['replace of a sub-attribute with a filter matching nothing', { op: 'replace', path: 'scopes[value eq "nope"].description', value: 'x' }],
    ['add through a non-eq filter matching nothing', { op: 'add', path: 'scopes[value co "nope"].description', value: 'x' }],
    ['add through an or filter matching nothing', { op: 'add', path: 'scopes[value eq "a" or value eq "b"].description', value: 'x' }],
    ['remove by value matching nothing', { op: 'remove', path: 'redirectUris', value: ['https://nope'] }],
    ['remove of complex values by value matching nothing', { op: 'remove', path: 'scopes', value: [{ value: 'nope' }] }],
  ];
  for (const [what, op] of noTarget) {
    test(`noTarget: ${what}`, () => assertScimError(() => patchApp(op), 400, 'noTarget'));
  }

  test('noTarget: a filter on an attribute that has no values at all', () => {
    const bare: Record<string, unknown> = { schemas: [AppSchema.id], id: 'a', displayName: 'A' };
    assertScimError(() => applyPatch(bare, patchBody({ op: 'remove', path: 'scopes[value eq "x"]' }), AppSchema), 400, 'noTarget');
  });
});

describe('applyPatch: operations', () => {
  test('add / replace / remove of simple attributes', () => {
    const out = patchApp(
      { op: 'add', path: 'description', value: 'd' },
      { op: 'replace', path: 'displayName', value: 'New' },
      { op: 'replace', path: 'active', value: false },
      { op: 'remove', path: 'redirectUris' },
    );
    assert.equal(out.description, 'd');
    assert.equal(out.displayName, 'New');
    assert.equal(out.active, false);
    assert.ok(!('redirectUris' in out));
  });

  test('add to a multi-valued attribute appends without duplicates; a single value is one value', () => {
    assert.deepEqual(patchApp({ op: 'add', path: 'redirectUris', value: ['https://b.example/cb', 'https://c.example/cb'] }).redirectUris,
      ['https://a.example/cb', 'https://b.example/cb', 'https://c.example/cb']);
    assert.deepEqual(patchApp({ op: 'add', path: 'redirectUris', value: 'https://c.example/cb' }).redirectUris,
      ['https://a.example/cb', 'https://b.example/cb', 'https://c.example/cb']);
  });

  test('replace of a multi-valued attribute replaces all values; an empty array clears it', () => {
    assert.deepEqual(patchApp({ op: 'replace', path: 'redirectUris', value: ['https://z/cb'] }).redirectUris, ['https://z/cb']);
    assert.ok(!('redirectUris' in patchApp({ op: 'replace', path: 'redirectUris', value: [] })));
    assert.deepEqual(patchApp({ op: 'add', path: 'redirectUris', value: [] }).redirectUris, app().redirectUris);
  });

  test('remove a whole multi-valued complex attribute', () => {
    assert.ok(!('scopes' in patchApp({ op: 'remove', path: 'scopes' })));
  });

  test('remove an attribute that is not there: nothing happens', () => {
    assert.deepEqual(patchApp({ op: 'remove', path: 'description' }), app());
  });

  test('value filter: remove the matching values', () => {
    assert.deepEqual(patchApp({ op: 'remove', path: 'scopes[value eq "orders.read"]' }).scopes, [{ value: 'orders.write' }]);
    assert.ok(!('scopes' in patchApp({ op: 'remove', path: 'scopes[value sw "orders."]' })));
  });

  test('value filter: remove a sub-attribute of the matching values', () => {
    assert.deepEqual(patchApp({ op: 'remove', path: 'scopes[value eq "orders.read"].description' }).scopes, [{ value: 'orders.read' }, { value: 'orders.write' }]);
  });

  test('value filter: replace a sub-attribute of the matching values', () => {
    assert.deepEqual(patchApp({ op: 'replace', path: 'scopes[value sw "orders"].description', value: 'All' }).scopes,
      [{ value: 'orders.read', description: 'All' }, { value: 'orders.write', description: 'All' }]);
  });

  test('value filter: replace merges into the matching values', () => {
    assert.deepEqual(patchApp({ op: 'replace', path: 'scopes[value eq "orders.write"]', value: { description: 'Write', requiresConsent: true } }).scopes,
      [{ value: 'orders.read', description: 'Read' }, { value: 'orders.write', description: 'Write', requiresConsent: true }]);
  });

  test('value filter: honours caseExact (emails.type is not caseExact)', () => {
    const out = patchUser({ op: 'replace', path: 'emails[TYPE eq "WORK"].value', value: 'new@example.com' });
    assert.deepEqual(out.emails, [{ value: 'new@example.com', type: 'work', primary: true }, { value: 'babs@jensen.org', type: 'home' }]);
  });

  test('value filter: add creates the value from eq terms when nothing matches (Azure AD style)', () => {
    const out = patchUser({ op: 'add', path: 'emails[type eq "other"].value', value: 'o@example.com' });
    assert.deepEqual((out.emails as unknown[])[2], { type: 'other', value: 'o@example.com' });
    const out2 = patchApp({ op: 'add', path: 'scopes[value eq "orders.admin"]', value: { description: 'Admin' } });
    assert.deepEqual((out2.scopes as unknown[])[2], { value: 'orders.admin', description: 'Admin' });
  });

  test('value filter: add through eq terms must still make a valid value', () => {
    assertScimError(() => patchUser({ op: 'add', path: 'emails[type eq "fax"].value', value: 'x' }), 400, 'invalidValue', /must be one of/);
  });

  test('value filter: add to matched values merges', () => {
    const out = patchApp({ op: 'add', path: 'scopes[value eq "orders.write"].description', value: 'W' });
    assert.deepEqual((out.scopes as unknown[])[1], { value: 'orders.write', description: 'W' });
  });

  test('complex singular: replace and add merge sub-attributes (RFC 7644 §3.5.2.3)', () => {
    assert.deepEqual(patchUser({ op: 'replace', path: 'name', value: { givenName: 'Babs' } }).name, { givenName: 'Babs', familyName: 'Jensen', formatted: 'Ms. Barbara Jensen' });
    assert.deepEqual(patchUser({ op: 'add', path: 'name.familyName', value: 'J' }).name, { givenName: 'Barbara', familyName: 'J', formatted: 'Ms. Barbara Jensen' });
    const bare: Record<string, unknown> = { schemas: [USER_ID], id: 'u', userName: 'u' };
    assert.deepEqual(applyPatch(bare, patchBody({ op: 'add', path: 'name.givenName', value: 'G' }), TestUserSchema).name, { givenName: 'G' });
  });

  test('no path: add merges an object of attributes; replace replaces each named attribute', () => {
    const out = patchApp({ op: 'add', value: { description: 'd', redirectUris: ['https://c/cb'], SCOPES: [{ value: 'x' }] } });
    assert.equal(out.description, 'd');
    assert.deepEqual(out.redirectUris, ['https://a.example/cb', 'https://b.example/cb', 'https://c/cb']);
    assert.equal((out.scopes as unknown[]).length, 3);
    const rep = patchApp({ op: 'replace', value: { redirectUris: ['https://c/cb'], displayName: 'R', description: null } });
    assert.deepEqual(rep.redirectUris, ['https://c/cb']);
    assert.equal(rep.displayName, 'R');
  });

  test('no path: dotted and URN-qualified keys', () => {
    const out = patchUser({ op: 'replace', value: { 'name.givenName': 'B2', [`${ENTERPRISE_ID}:employeeNumber`]: '42', [`${USER_ID}:nickName`]: 'N' } });
    assert.equal((out.name as Record<string, unknown>).givenName, 'B2');
    assert.equal((out[ENTERPRISE_ID] as Record<string, unknown>).employeeNumber, '42');
    assert.equal(out.nickName, 'N');
  });

  test('extensions: paths, whole-extension values, removal', () => {
    assert.deepEqual((patchUser({ op: 'replace', path: `${ENTERPRISE_ID}:manager.value`, value: 'm-2' })[ENTERPRISE_ID] as Record<string, unknown>).manager,
      { value: 'm-2', displayName: 'John Smith' });
    const out = patchUser({ op: 'add', path: ENTERPRISE_ID, value: { employeeNumber: '1' } });
    assert.equal((out[ENTERPRISE_ID] as Record<string, unknown>).employeeNumber, '1');
    const noCost = { ...sampleUser(), [ENTERPRISE_ID]: { employeeNumber: '1' } };
    assert.ok(!(ENTERPRISE_ID in applyPatch(noCost, patchBody({ op: 'remove', path: ENTERPRISE_ID }), TestUserBundle)));
    assertScimError(() => patchUser({ op: 'remove', path: ENTERPRISE_ID }), 400, 'mutability', /costCenter/);
    assertScimError(() => patchUser({ op: 'add', path: `${ENTERPRISE_ID}:manager.displayName`, value: 'x' }), 400, 'mutability');
    assertScimError(() => patchUser({ op: 'add', path: `${ENTERPRISE_ID}:shoeSize`, value: 9 }), 400, 'invalidPath');
  });

  test('replace with null unassigns (RFC 7643 §2.5)', () => {
    assert.ok(!('nickName' in patchUser({ op: 'replace', path: 'nickName', value: null })));
  });

  test('remove with a value (Azure AD style) removes matching values', () => {
    assert.deepEqual(patchApp({ op: 'remove', path: 'redirectUris', value: ['https://a.example/cb'] }).redirectUris, ['https://b.example/cb']);
    assert.deepEqual(patchApp({ op: 'remove', path: 'scopes', value: [{ value: 'orders.read' }] }).scopes, [{ value: 'orders.write' }]);
    assert.ok(!('redirectUris' in patchApp({ op: 'remove', path: 'redirectUris', value: app().redirectUris })));
  });

  test('operations apply in order and see each other', () => {
    const out = patchApp(
      { op: 'add', path: 'scopes', value: [{ value: 'orders.admin' }] },
      { op: 'replace', path: 'scopes[value eq "orders.admin"].description', value: 'Admin' },
      { op: 'remove', path: 'scopes[value eq "orders.read"]' },
    );
    assert.deepEqual(out.scopes, [{ value: 'orders.write' }, { value: 'orders.admin', description: 'Admin' }]);
  });

  test('value filters below a singular complex attribute (jwks.keys[...])', () => {
    const withKeys: Record<string, unknown> = { schemas: [AppSchema.id], id: 'a', displayName: 'A', jwks: { keys: [{ kty: 'RSA', kid: 'k1', x5c: ['c1'] }, { kty: 'EC', kid: 'k2' }] } };
    const p = (...ops: unknown[]) => applyPatch(withKeys, patchBody(...ops), AppSchema);
    assert.deepEqual((p({ op: 'replace', path: 'jwks.keys[kid eq "k1"].use', value: 'sig' }).jwks as { keys: unknown[] }).keys[0], { kty: 'RSA', kid: 'k1', x5c: ['c1'], use: 'sig' });
    // add merges, appending to multi-valued sub-attributes without duplicates
    assert.deepEqual((p({ op: 'add', path: 'jwks.keys[kid eq "k1"]', value: { x5c: ['c1', 'c2'] } }).jwks as { keys: unknown[] }).keys[0], { kty: 'RSA', kid: 'k1', x5c: ['c1', 'c2'] });
    assert.deepEqual((p({ op: 'add', path: 'jwks.keys[kid eq "k1"].x5c', value: 'c3' }).jwks as { keys: unknown[] }).keys[0], { kty: 'RSA', kid: 'k1', x5c: ['c1', 'c3'] });
    assert.deepEqual((p({ op: 'replace', path: 'jwks.keys[kid eq "k1"].x5c', value: ['c9'] }).jwks as { keys: unknown[] }).keys[0], { kty: 'RSA', kid: 'k1', x5c: ['c9'] });
    assert.deepEqual(p({ op: 'remove', path: 'jwks.keys[kid eq "k2"]' }).jwks, { keys: [{ kty: 'RSA', kid: 'k1', x5c: ['c1'] }] });
    // kid is caseExact
    assertScimError(() => p({ op: 'remove', path: 'jwks.keys[kid eq "K2"]' }), 400, 'noTarget');
    // RFC 7644 §3.5.2.2: with no keys left, jwks.keys and so jwks are unassigned
    assert.ok(!('jwks' in p({ op: 'remove', path: 'jwks.keys[kid sw "k"]' })));
    assert.ok(!('jwks' in p({ op: 'remove', path: 'jwks' })));
    assert.ok(!('jwks' in p({ op: 'remove', path: 'jwks.keys' })));
    // a key without its required kty
    assertScimError(() => p({ op: 'add', path: 'jwks.keys', value: [{ kid: 'k3' }] }), 400, 'invalidValue', /kty/);
  });

  test('resources spelled differently are normalised to the schema spelling', () => {
    const odd = { schemas: [AppSchema.id], ID: 'a', DisplayName: 'A', Scopes: [{ Value: 's' }] };
    const out = applyPatch(odd, patchBody({ op: 'replace', path: 'scopes[value eq "s"].description', value: 'S' }), AppSchema);
    assert.deepEqual(out, { schemas: [AppSchema.id], id: 'a', displayName: 'A', scopes: [{ value: 's', description: 'S' }] });
  });
});

describe('applyPatch: purity', () => {
  test('never mutates its input (deep-frozen input, every kind of operation)', () => {
    const input = app();
    const before = structuredClone(input);
    const out = applyPatch(input, patchBody(
      { op: 'replace', path: 'displayName', value: 'X' },
      { op: 'add', path: 'redirectUris', value: ['https://c/cb'] },
      { op: 'remove', path: 'scopes[value eq "orders.read"]' },
      { op: 'replace', path: 'scopes[value eq "orders.write"].description', value: 'W' },
      { op: 'add', path: 'scopes[value eq "new"].description', value: 'N' },
      { op: 'remove', path: 'redirectUris', value: 'https://a.example/cb' },
    ), AppSchema);
    assert.deepEqual(input, before);
    assert.notEqual(out, input);
    assert.notEqual(out.scopes, input.scopes);
  });

  test('returns a fresh copy even for a no-op', () => {
    const input = app();
    const out = applyPatch(input, patchBody({ op: 'remove', path: 'description' }), AppSchema);
    assert.deepEqual(out, input);
    assert.notEqual(out, input);
    assert.notEqual(out.meta, input.meta);
  });

  test('all or nothing: a failing later operation leaves nothing behind', () => {
    const input = { schemas: [AppSchema.id], id: 'a', displayName: 'A', scopes: [{ value: 's' }] };
    const before = structuredClone(input);
    assertScimError(() => applyPatch(input, patchBody({ op: 'replace', path: 'displayName', value: 'B' }, { op: 'remove', path: 'scopes[value eq "x"]' }), AppSchema), 400, 'noTarget');
    assert.deepEqual(input, before);
  });

  test('a non-object resource is a programming error (TypeError)', () => {
    assert.throws(() => applyPatch(null, patchBody({ op: 'add', path: 'displayName', value: 'x' }), AppSchema), TypeError);
  });
});
