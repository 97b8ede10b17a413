import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppRoleSchema, AppSchema, GrantSchema } from '../../../src/scim/resources.js';
import { validateResource } from '../../../src/scim/validate.js';
import { assertScimError, ENTERPRISE_ID, TestUserBundle, TestUserSchema, USER_ID } from './helpers.js';

const APP = AppSchema.id;
const app = (extra: Record<string, unknown> = {}) => ({ schemas: [APP], displayName: 'Orders', ...extra });

describe('validateResource: create', () => {
  test('normalises key case to the schema and orders keys as the schema does', () => {
    const out = validateResource({ DISPLAYNAME: 'Orders', schemas: [APP], isoauthclient: true, ClientType: 'confidential' }, AppSchema, 'create');
    assert.deepEqual(out, { schemas: [APP], displayName: 'Orders', isOAuthClient: true, clientType: 'confidential' });
    assert.deepEqual(Object.keys(out), ['schemas', 'displayName', 'isOAuthClient', 'clientType']);
  });

  test('readOnly attributes supplied by the client are dropped (RFC 7644 §3.3)', () => {
    const out = validateResource(app({ id: 'mine', name: 'my-client-id', clientSecret: 'x', isBuiltIn: true, meta: { version: 'v' }, grantedAppRoles: [{ value: 'r' }] }), AppSchema, 'create');
    assert.deepEqual(out, { schemas: [APP], displayName: 'Orders' });
  });

  test('readOnly sub-attributes are dropped too', () => {
    const out = validateResource(app({ allowedScopes: [{ fqs: 'a', idOfDefiningApp: 'x' }] }), AppSchema, 'create');
    assert.deepEqual(out.allowedScopes, [{ fqs: 'a' }]);
  });

  test('null and empty arrays are unassigned (RFC 7643 §2.5) and left out', () => {
    const out = validateResource(app({ description: null, redirectUris: [], jwks: null }), AppSchema, 'create');
    assert.deepEqual(out, { schemas: [APP], displayName: 'Orders' });
  });

  test('strings: U+0000 and unpaired surrogates are refused (RFC 7493 §2.1; PostgreSQL text cannot hold U+0000); pairs and other text pass', () => {
    assert.throws(() => validateResource(app({ displayName: 'a\u0000b' }), AppSchema, 'create'), /must not contain U\+0000/);
    assert.throws(() => validateResource(app({ displayName: 'a\ud800b' }), AppSchema, 'create'), /unpaired surrogate U\+D800/);
    assert.throws(() => validateResource(app({ description: '\udc01' }), AppSchema, 'create'), /unpaired surrogate U\+DC01/);
    assert.equal(validateResource(app({ displayName: 'Orders 😀 é' }), AppSchema, 'create').displayName, 'Orders 😀 é');
  });

  test('canonical values: matched under caseExact, canonical spelling kept', () => {
    assert.equal(validateResource(app({ clientType: 'PUBLIC' }), AppSchema, 'create').clientType, 'public');
    assert.equal(validateResource(app({ accessTokenFormat: 'JWT' }), AppSchema, 'create').accessTokenFormat, 'jwt');
    assert.deepEqual(validateResource(app({ allowedGrants: ['client_credentials', 'refresh_token'] }), AppSchema, 'create').allowedGrants,
      ['client_credentials', 'refresh_token']);
    // Only the grant types the server serves (the grant registry) are canonical.
    assert.throws(() => validateResource(app({ allowedGrants: ['urn:example:grant-type:custom'] }), AppSchema, 'create'), /must be one of/);
  });

  test('a full App', () => {
    const body = app({
      description: 'd', active: true, isOAuthClient: true, clientType: 'confidential', tokenEndpointAuthMethod: 'private_key_jwt', tokenEndpointAuthSigningAlg: 'RS256',
      allowedGrants: ['client_credentials'], redirectUris: ['https://a/cb'], postLogoutRedirectUris: ['https://a/out'],
      jwks: { keys: [{ kty: 'RSA', kid: 'k1', use: 'sig', alg: 'RS256', n: 'abc', e: 'AQAB' }, { kty: 'OKP', crv: 'Ed25519', x: 'xyz' }] },
      allowedScopes: [{ fqs: 'urn:x:read' }], defaultScopes: ['urn:x:read'], accessTokenExpiry: 3600, refreshTokenExpiry: 86400,
      isOAuthResource: true, audience: 'https://api', scopes: [{ value: 'read', description: 'Read', requiresConsent: false }], accessTokenFormat: 'jwt', accessTokenSigningAlg: 'ES256',
      externalId: 'e1',
    });
    const out = validateResource(body, AppSchema, 'create');
    const { schemas: _s, ...rest } = body;
    for (const [k, v] of Object.entries(rest)) assert.deepEqual(out[k], v, k);
  });

  test('extensions: validated, keyed by URN, listed in schemas', () => {
    const out = validateResource({ schemas: [USER_ID, ENTERPRISE_ID], userName: 'u', [ENTERPRISE_ID.toUpperCase()]: { EMPLOYEENUMBER: '7', manager: { value: 'm', displayName: 'ro' } } }, TestUserBundle, 'create');
    assert.deepEqual(out, { schemas: [USER_ID, ENTERPRISE_ID], userName: 'u', [ENTERPRISE_ID]: { employeeNumber: '7', manager: { value: 'm' } } });
    const none = validateResource({ schemas: [USER_ID, ENTERPRISE_ID], userName: 'u' }, TestUserBundle, 'create');
    assert.deepEqual(none.schemas, [USER_ID]);
  });

  test('a required extension must be present', () => {
    const bundle = { core: TestUserSchema, extensions: [{ schema: TestUserBundle.extensions[0]!.schema, required: true }] };
    assertScimError(() => validateResource({ schemas: [USER_ID], userName: 'u' }, bundle, 'create'), 400, 'invalidValue', /required/);
  });

  test('all value types', () => {
    const out = validateResource({
      schemas: [USER_ID], userName: 'u', active: false, loginCount: 0, score: -1.5, birthday: '2000-02-29T12:00:00.123+05:30', photo: 'aGVsbG8=', profileUrl: 'https://x.example/u',
      userType: 'employee', tags: ['a', 'b'], emails: [{ value: 'a@x', type: 'work', primary: true }, { value: 'b@x', primary: false }],
    }, TestUserSchema, 'create');
    assert.equal(out.userType, 'Employee');
    assert.equal(out.birthday, '2000-02-29T12:00:00.123+05:30');
  });

  test('requireSchemas: false fills schemas in', () => {
    assert.deepEqual(validateResource({ displayName: 'x' }, AppSchema, 'create', undefined, { requireSchemas: false }), { schemas: [APP], displayName: 'x' });
  });
});

describe('validateResource: refused bodies', () => {
  const syntax: [string, unknown][] = [
    ['null', null], ['a string', 'x'], ['an array', [app()]], ['a number', 1], ['undefined', undefined], ['a Date', new Date()],
  ];
  for (const [what, body] of syntax) {
    test(`invalidSyntax: body is ${what}`, () => assertScimError(() => validateResource(body, AppSchema, 'create'), 400, 'invalidSyntax'));
  }

  const schemasSyntax: [string, Record<string, unknown>][] = [
    ['schemas missing', { displayName: 'x' }],
    ['schemas a string', { schemas: APP, displayName: 'x' }],
    ['schemas with a number', { schemas: [APP, 1], displayName: 'x' }],
    ['the same attribute twice in different case', { schemas: [APP], displayName: 'x', DisplayName: 'y' }],
    ['a sub-attribute twice in different case', { schemas: [APP], displayName: 'x', jwks: { keys: [{ kty: 'RSA' }], KEYS: [] } }],
  ];
  for (const [what, body] of schemasSyntax) {
    test(`invalidSyntax: ${what}`, () => assertScimError(() => validateResource(body, AppSchema, 'create'), 400, 'invalidSyntax'));
  }

  const values: [string, Record<string, unknown>, RegExp][] = [
    ['schemas without the core schema', { schemas: ['urn:other'], displayName: 'x' }, /not supported/],
    ['schemas listing only an extension', { schemas: [], displayName: 'x' }, /must include/],
    ['unknown attribute', app({ colour: 'red' }), /unknown attribute "colour"/],
    ['unknown sub-attribute', app({ allowedScopes: [{ fqs: 'a', weight: 1 }] }), /no sub-attribute "weight"/],
    ['unknown JWK member (private key part)', app({ jwks: { keys: [{ kty: 'RSA', d: 'secret' }] } }), /no sub-attribute "d"/],
    ['missing required attribute', { schemas: [APP], description: 'x' }, /required attribute "displayName"/],
    ['required attribute given as null', app({ displayName: null }), /required attribute "displayName"/],
    ['required attribute given as empty string', app({ displayName: '' }), /required attribute "displayName"/],
    ['missing required sub-attribute', app({ allowedScopes: [{ idOfDefiningApp: 'x' }] }), /"allowedScopes.fqs" is required/],
    ['missing required nested sub-attribute', app({ jwks: { keys: [{ kid: 'k' }] } }), /"jwks.keys.kty" is required/],
    ['missing required complex sub-array', app({ jwks: {} }), /"jwks.keys" is required/],
    ['string for a boolean', app({ active: 'true' }), /"active" must be true or false/],
    ['number for a string', app({ displayName: 5 }), /"displayName" must be a string/],
    ['string for an integer', app({ accessTokenExpiry: '3600' }), /must be an integer/],
    ['fraction for an integer', app({ accessTokenExpiry: 1.5 }), /must be an integer/],
    ['unsafe integer', app({ accessTokenExpiry: 2 ** 60 }), /must be an integer/],
    ['array for a singular attribute', app({ displayName: ['a'] }), /single-valued/],
    ['string for a multi-valued attribute', app({ redirectUris: 'https://a/cb' }), /multi-valued and must be an array/],
    ['null inside a multi-valued attribute', app({ redirectUris: [null] }), /must be a single value/],
    ['nested array inside a multi-valued attribute', app({ redirectUris: [['x']] }), /must be a single value/],
    ['string for a complex attribute', app({ jwks: 'x' }), /must be an object/],
    ['array for a complex attribute', app({ jwks: [{ keys: [] }] }), /single-valued/],
    ['non-canonical clientType', app({ clientType: 'secret' }), /must be one of confidential, public/],
    ['non-canonical grant', app({ allowedGrants: ['client_credentials', 'magic'] }), /must be one of/],
    ['caseExact canonical value in the wrong case', app({ accessTokenSigningAlg: 'rs256' }), /must be one of/],
    ['caseExact canonical grant in the wrong case', app({ tokenEndpointAuthMethod: 'NONE' }), /must be one of/],
    ['bad reference', app({ jwksUri: 'not a uri' }), /absolute URI/],
    ['empty reference', app({ jwksUri: '' }), /must not be empty/],
    ['sub-attribute of the wrong type', app({ scopes: [{ value: 'read', requiresConsent: 'no' }] }), /"scopes.requiresConsent" must be true or false/],
  ];
  for (const [what, body, detail] of values) {
    test(`invalidValue: ${what}`, () => assertScimError(() => validateResource(body, AppSchema, 'create'), 400, 'invalidValue', detail));
  }

  const userValues: [string, Record<string, unknown>, RegExp][] = [
    ['dateTime without T', { birthday: '2000-01-01 10:00:00Z' }, /xsd:dateTime/],
    ['dateTime month 13', { birthday: '2000-13-01T10:00:00Z' }, /xsd:dateTime/],
    ['dateTime February 30th', { birthday: '2000-02-30T10:00:00Z' }, /xsd:dateTime/],
    ['dateTime February 29th of a common year', { birthday: '2023-02-29T10:00:00Z' }, /xsd:dateTime/],
    ['dateTime hour 24', { birthday: '2000-01-01T24:00:00Z' }, /xsd:dateTime/],
    ['dateTime with a bad offset', { birthday: '2000-01-01T10:00:00+25:00' }, /xsd:dateTime/],
    ['dateTime as a number', { birthday: 946684800 }, /xsd:dateTime/],
    ['binary that is not base64', { photo: 'not base64!' }, /base64/],
    ['binary with bad padding', { photo: 'abc' }, /base64/],
    ['NaN decimal', { score: Number.NaN }, /must be a number/],
    ['Infinity decimal', { score: Number.POSITIVE_INFINITY }, /must be a number/],
    ['two primary emails (RFC 7643 §2.4)', { emails: [{ value: 'a', primary: true }, { value: 'b', primary: true }] }, /only one value/],
    ['extension attribute at the top level', { employeeNumber: '1' }, /unknown attribute/],
    ['unknown extension attribute', { [ENTERPRISE_ID]: { shoeSize: 9 } }, /no sub-attribute/],
    ['extension container not an object', { [ENTERPRISE_ID]: 'x' }, /must be an object/],
    ['schema listed that the resource type does not have', { schemas: [USER_ID, 'urn:ietf:params:scim:schemas:extension:other:2.0:User'] }, /not supported/],
  ];
  for (const [what, extra, detail] of userValues) {
    test(`invalidValue (User): ${what}`, () => {
      assertScimError(() => validateResource({ schemas: [USER_ID, ENTERPRISE_ID], userName: 'u', ...extra }, TestUserBundle, 'create'), 400, 'invalidValue', detail);
    });
  }
});

describe('validateResource: replace (RFC 7644 §3.5.1)', () => {
  const existingRole = {
    schemas: [AppRoleSchema.id], id: 'r1', displayName: 'Readers', isBuiltIn: false,
    app: { value: 'APP-1', display: 'Orders', $ref: 'https://x/admin/v1/Apps/APP-1' }, scopes: [{ value: 'read' }],
    members: [{ value: 'm', type: 'App' }], meta: { version: 'W/"1"' },
  };

  test('the same immutable value is accepted (readOnly sub-attributes ignored in the comparison)', () => {
    const out = validateResource({ schemas: [AppRoleSchema.id], displayName: 'R2', app: { value: 'APP-1' } }, AppRoleSchema, 'replace', existingRole);
    assert.deepEqual(out, { schemas: [AppRoleSchema.id], displayName: 'R2', app: { value: 'APP-1' } });
  });

  test('the server-rendered resource itself validates against its own schema (PATCH result path)', () => {
    const out = validateResource(existingRole, AppRoleSchema, 'replace', existingRole);
    assert.deepEqual(out, { schemas: [AppRoleSchema.id], displayName: 'Readers', app: { value: 'APP-1' }, scopes: [{ value: 'read' }] });
  });

  test('an omitted immutable value is carried over from the existing resource', () => {
    const out = validateResource({ schemas: [AppRoleSchema.id], displayName: 'R2' }, AppRoleSchema, 'replace', existingRole);
    assert.deepEqual(out.app, { value: 'APP-1' });
  });

  test('changing an immutable value is 400 mutability', () => {
    assertScimError(() => validateResource({ schemas: [AppRoleSchema.id], displayName: 'R', app: { value: 'APP-2' } }, AppRoleSchema, 'replace', existingRole), 400, 'mutability', /"app" is immutable/);
  });

  test('caseExact decides what "the same" immutable value is', () => {
    // app.value is caseExact: a different case is a different value.
    assertScimError(() => validateResource({ schemas: [AppRoleSchema.id], displayName: 'R', app: { value: 'app-1' } }, AppRoleSchema, 'replace', existingRole), 400, 'mutability');
    // clientType is not caseExact (and is normalised to its canonical spelling).
    const existingApp = { schemas: [APP], id: 'a', displayName: 'A', clientType: 'confidential' };
    assert.equal(validateResource(app({ clientType: 'Confidential' }), AppSchema, 'replace', existingApp).clientType, 'confidential');
    assertScimError(() => validateResource(app({ clientType: 'public' }), AppSchema, 'replace', existingApp), 400, 'mutability', /clientType/);
  });

  test('an immutable value may be set when the existing resource has none', () => {
    const existingApp = { schemas: [APP], id: 'a', displayName: 'A' };
    assert.equal(validateResource(app({ clientType: 'public' }), AppSchema, 'replace', existingApp).clientType, 'public');
  });

  test('immutable sub-attributes inside a mutable complex attribute (extension)', () => {
    const existing = { schemas: [USER_ID, ENTERPRISE_ID], id: 'u', userName: 'u', [ENTERPRISE_ID]: { costCenter: 'CC1', employeeNumber: '1' } };
    assert.doesNotThrow(() => validateResource({ schemas: [USER_ID, ENTERPRISE_ID], userName: 'u', [ENTERPRISE_ID]: { costCenter: 'cc1', employeeNumber: '2' } }, TestUserBundle, 'replace', existing));
    assertScimError(() => validateResource({ schemas: [USER_ID, ENTERPRISE_ID], userName: 'u', [ENTERPRISE_ID]: { costCenter: 'CC2' } }, TestUserBundle, 'replace', existing), 400, 'mutability', /costCenter/);
  });

  test('Grant: every attribute is immutable', () => {
    const grant = {
      schemas: [GrantSchema.id], id: 'g', app: { value: 'a', display: 'A' }, entitlement: { attributeName: 'appRoles', attributeValue: 'r' },
      grantMechanism: 'ADMINISTRATOR_TO_APP', grantee: { value: 'c', type: 'App', display: 'C' },
    };
    const same = validateResource({ ...grant, grantMechanism: 'administrator_to_app' }, GrantSchema, 'replace', grant);
    assert.equal(same.grantMechanism, 'ADMINISTRATOR_TO_APP');
    assertScimError(() => validateResource({ ...grant, grantee: { value: 'other', type: 'App' } }, GrantSchema, 'replace', grant), 400, 'mutability', /grantee/);
    assertScimError(() => validateResource({ ...grant, entitlement: { attributeName: 'appRoles', attributeValue: 'r2' } }, GrantSchema, 'replace', grant), 400, 'mutability');
  });

  test('create ignores existing (immutable values are free at creation)', () => {
    assert.doesNotThrow(() => validateResource({ schemas: [AppRoleSchema.id], displayName: 'R', app: { value: 'APP-2' } }, AppRoleSchema, 'create', existingRole));
  });

  test('Grant create: entitlement.attributeName canonical, grantee.type required', () => {
    const g = { schemas: [GrantSchema.id], app: { value: 'a' }, entitlement: { attributeName: 'APPROLES', attributeValue: 'r' }, grantMechanism: 'ADMINISTRATOR_TO_APP', grantee: { value: 'c', type: 'app' } };
    const out = validateResource(g, GrantSchema, 'create');
    assert.deepEqual(out.entitlement, { attributeName: 'appRoles', attributeValue: 'r' });
    assert.deepEqual(out.grantee, { value: 'c', type: 'App' });
    assertScimError(() => validateResource({ ...g, grantee: { value: 'c' } }, GrantSchema, 'create'), 400, 'invalidValue', /grantee.type/);
    assertScimError(() => validateResource({ ...g, grantee: { value: 'c', type: 'Robot' } }, GrantSchema, 'create'), 400, 'invalidValue', /must be one of App, User, Group/);
  });

  test('input is not modified', () => {
    const body = app({ DESCRIPTION: 'd', clientType: 'PUBLIC', name: 'ro' });
    const copy = structuredClone(body);
    validateResource(body, AppSchema, 'create');
    assert.deepEqual(body, copy);
  });
});
