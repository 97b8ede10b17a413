import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ALL_RESOURCE_TYPES, ALL_SCHEMAS, AppResourceType, AppRoleSchema, AppSchema, AuditEventSchema, GrantSchema, schemaForResourceType,
} from '../../../src/scim/resources.js';
import {
  COMMON_ATTRIBUTES, defineAttribute, defineSchema, findAttribute, ID_ATTRIBUTE, isSchemaBundle, META_ATTRIBUTE, resourceTypeToScim, schemaBundle, schemaToScim,
  serviceProviderConfig, type AttributeDef, type ResourceTypeDef,
} from '../../../src/scim/schema.js';
import { ENTERPRISE_ID, EnterpriseSchema, TestUserBundle, TestUserSchema, USER_ID } from './helpers.js';

const BASE = 'https://idp.example.com/admin/v1';

describe('defineAttribute', () => {
  test('fills the RFC 7643 §2.2 defaults', () => {
    assert.deepEqual(defineAttribute({ name: 'nickName' }), {
      name: 'nickName', type: 'string', multiValued: false, description: '', required: false, caseExact: false,
      mutability: 'readWrite', returned: 'default', uniqueness: 'none',
    });
  });

  test('references and binary are caseExact by default; references get referenceTypes', () => {
    const r = defineAttribute({ name: 'profileUrl', type: 'reference' });
    assert.equal(r.caseExact, true);
    assert.deepEqual(r.referenceTypes, ['external']);
    assert.equal(defineAttribute({ name: 'photo', type: 'binary' }).caseExact, true);
  });

  test('subAttributes imply complex', () => {
    assert.equal(defineAttribute({ name: 'name', subAttributes: [{ name: 'givenName' }] }).type, 'complex');
  });

  const bad: [string, Parameters<typeof defineAttribute>[0]][] = [
    ['a name starting with a digit', { name: '1abc' }],
    ['a name with a dot', { name: 'a.b' }],
    ['a name with a colon', { name: 'urn:x' }],
    ['an empty name', { name: '' }],
    ['complex without sub-attributes', { name: 'x', type: 'complex' }],
    ['sub-attributes on a string', { name: 'x', type: 'string', subAttributes: [{ name: 'y' }] }],
    ['a sub-attribute defined twice (case-insensitively)', { name: 'x', subAttributes: [{ name: 'y' }, { name: 'Y' }] }],
  ];
  for (const [what, init] of bad) {
    test(`refuses ${what}`, () => {
      assert.throws(() => defineAttribute(init));
    });
  }

  test('accepts $ref (RFC 7643 §2.3.7)', () => {
    assert.equal(defineAttribute({ name: '$ref', type: 'reference' }).name, '$ref');
  });
});

describe('defineSchema', () => {
  test('refuses an attribute defined twice case-insensitively', () => {
    assert.throws(() => defineSchema({ id: 'urn:x', name: 'x', description: '', attributes: [defineAttribute({ name: 'a' }), defineAttribute({ name: 'A' })] }));
  });
});

describe('common attributes (RFC 7643 §3.1)', () => {
  test('id is readOnly, always returned, caseExact, server-unique', () => {
    assert.equal(ID_ATTRIBUTE.mutability, 'readOnly');
    assert.equal(ID_ATTRIBUTE.returned, 'always');
    assert.equal(ID_ATTRIBUTE.caseExact, true);
    assert.equal(ID_ATTRIBUTE.uniqueness, 'server');
  });

  test('meta is readOnly with the five RFC 7643 §3.1 sub-attributes', () => {
    assert.equal(META_ATTRIBUTE.mutability, 'readOnly');
    assert.deepEqual(META_ATTRIBUTE.subAttributes?.map((s) => [s.name, s.type, s.mutability]), [
      ['resourceType', 'string', 'readOnly'],
      ['created', 'dateTime', 'readOnly'],
      ['lastModified', 'dateTime', 'readOnly'],
      ['location', 'reference', 'readOnly'],
      ['version', 'string', 'readOnly'],
    ]);
  });

  test('COMMON_ATTRIBUTES is id, externalId, meta', () => {
    assert.deepEqual(COMMON_ATTRIBUTES.map((a) => a.name), ['id', 'externalId', 'meta']);
  });
});

describe('findAttribute', () => {
  const cases: [string, string | undefined][] = [
    ['displayName', 'displayName'],
    ['DISPLAYNAME', 'displayName'],
    ['meta.lastModified', 'lastModified'],
    ['META.LASTMODIFIED', 'lastModified'],
    ['allowedScopes.fqs', 'fqs'],
    ['jwks.keys.kid', 'kid'],
    ['urn:ietf:params:scim:schemas:oracle:idcs:App:displayName', 'displayName'],
    ['URN:IETF:PARAMS:SCIM:SCHEMAS:ORACLE:IDCS:APP:meta.version', 'version'],
  ];
  for (const [path, name] of cases) {
    test(`${path} -> ${name}`, () => assert.equal(findAttribute(AppSchema, path)?.name, name));
  }

  const unknown = [
    'nope', 'displayName.x', 'meta.', '.meta', '', 'urn:ietf:params:scim:schemas:oracle:idcs:App', 'urn:ietf:params:scim:schemas:oracle:idcs:AppRole:displayName',
    'urn:other:displayName', 'meta..version', 'allowedScopes.nope',
  ];
  for (const path of unknown) {
    test(`unknown: ${JSON.stringify(path)}`, () => assert.equal(findAttribute(AppSchema, path), undefined));
  }

  test('extension attributes in a bundle, by URN', () => {
    assert.equal(findAttribute(TestUserBundle, `${ENTERPRISE_ID}:employeeNumber`)?.name, 'employeeNumber');
    assert.equal(findAttribute(TestUserBundle, `${ENTERPRISE_ID.toLowerCase()}:manager.VALUE`)?.name, 'value');
    assert.equal(findAttribute(TestUserBundle, ENTERPRISE_ID)?.type, 'complex');
    // The core URN prefix is longer-match-safe against an extension of the same family.
    assert.equal(findAttribute(TestUserBundle, `${USER_ID}:userName`)?.name, 'userName');
    // Without the URN, extension attributes are not top-level attributes.
    assert.equal(findAttribute(TestUserBundle, 'employeeNumber'), undefined);
    assert.equal(findAttribute(TestUserSchema, `${ENTERPRISE_ID}:employeeNumber`), undefined);
  });
});

describe('schemaToScim', () => {
  const doc = schemaToScim(AppSchema, `${BASE}/`);

  test('has the Schema schema, id, name, description and meta (trailing slash of the base trimmed)', () => {
    assert.deepEqual(doc.schemas, ['urn:ietf:params:scim:schemas:core:2.0:Schema']);
    assert.equal(doc.id, AppSchema.id);
    assert.equal(doc.name, 'App');
    assert.deepEqual(doc.meta, { resourceType: 'Schema', location: `${BASE}/Schemas/${AppSchema.id}` });
  });

  test('every attribute carries every RFC 7643 §7 characteristic', () => {
    const check = (a: (typeof doc.attributes)[number]) => {
      for (const k of ['name', 'type', 'multiValued', 'description', 'required', 'caseExact', 'mutability', 'returned', 'uniqueness'] as const) {
        assert.ok(a[k] !== undefined, `${a.name}.${k}`);
      }
      if (a.type === 'complex') assert.ok(a.subAttributes && a.subAttributes.length > 0, `${a.name}.subAttributes`);
      else assert.equal(a.subAttributes, undefined);
      if (a.type === 'reference') assert.ok(a.referenceTypes, `${a.name}.referenceTypes`);
      a.subAttributes?.forEach(check);
    };
    doc.attributes.forEach(check);
  });

  test('canonicalValues and clientSecret characteristics come through', () => {
    const ct = doc.attributes.find((a) => a.name === 'clientType');
    assert.deepEqual(ct?.canonicalValues, ['confidential', 'public']);
    assert.equal(ct?.mutability, 'immutable');
    const secret = doc.attributes.find((a) => a.name === 'clientSecret');
    assert.equal(secret?.returned, 'never');
    assert.equal(secret?.mutability, 'readOnly');
  });

  test('is plain JSON', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
  });
});

describe('resourceTypeToScim', () => {
  test('App', () => {
    assert.deepEqual(resourceTypeToScim(AppResourceType, BASE), {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'App', name: 'App', endpoint: '/Apps', description: AppResourceType.description, schema: AppSchema.id,
      meta: { resourceType: 'ResourceType', location: `${BASE}/ResourceTypes/App` },
    });
  });

  test('with schema extensions', () => {
    const rt: ResourceTypeDef = { id: 'User', name: 'User', endpoint: '/Users', description: 'u', schema: USER_ID, schemaExtensions: [{ schema: ENTERPRISE_ID, required: false }] };
    assert.deepEqual(resourceTypeToScim(rt, BASE).schemaExtensions, [{ schema: ENTERPRISE_ID, required: false }]);
  });
});

describe('schemaBundle', () => {
  const rt: ResourceTypeDef = { id: 'User', name: 'User', endpoint: '/Users', description: 'u', schema: USER_ID, schemaExtensions: [{ schema: ENTERPRISE_ID, required: true }] };
  test('resolves the core and extension schemas', () => {
    const b = schemaBundle(rt, [TestUserSchema, EnterpriseSchema]);
    assert.equal(b.core, TestUserSchema);
    assert.equal(b.extensions[0]?.schema, EnterpriseSchema);
    assert.equal(b.extensions[0]?.required, true);
  });
  test('throws on a missing schema', () => {
    assert.throws(() => schemaBundle(rt, [TestUserSchema]), /not defined/);
  });
});

describe('isSchemaBundle', () => {
  test('tells a bundle from a plain schema', () => {
    assert.equal(isSchemaBundle(TestUserBundle), true);
    assert.equal(isSchemaBundle(TestUserSchema), false);
  });
});

describe('serviceProviderConfig', () => {
  test('RFC 7643 §5 document', () => {
    const doc = serviceProviderConfig(BASE, { changePassword: false });
    assert.deepEqual(doc.schemas, ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig']);
    assert.deepEqual(doc.patch, { supported: true });
    assert.deepEqual(doc.bulk, { supported: false, maxOperations: 0, maxPayloadSize: 0 });
    assert.deepEqual(doc.filter, { supported: true, maxResults: 1000 });
    assert.deepEqual(doc.changePassword, { supported: false });
    assert.deepEqual(doc.sort, { supported: true });
    assert.deepEqual(doc.etag, { supported: true });
    assert.equal(doc.authenticationSchemes.length, 1);
    assert.equal(doc.authenticationSchemes[0]?.type, 'oauthbearertoken');
    assert.equal(doc.authenticationSchemes[0]?.primary, true);
    assert.deepEqual(doc.meta, { resourceType: 'ServiceProviderConfig', location: `${BASE}/ServiceProviderConfig` });
    assert.ok(!('documentationUri' in doc));
  });
  test('options', () => {
    const doc = serviceProviderConfig(BASE, { changePassword: true, maxResults: 50, documentationUri: 'https://docs.example.com' });
    assert.deepEqual(doc.changePassword, { supported: true });
    assert.equal(doc.filter.maxResults, 50);
    assert.equal(doc.documentationUri, 'https://docs.example.com');
  });
});

describe('resources', () => {
  test('ALL_SCHEMAS / ALL_RESOURCE_TYPES line up', () => {
    assert.deepEqual(ALL_SCHEMAS.map((s) => s.name), ['App', 'AppRole', 'Grant', 'AuditEvent', 'User', 'Group', 'TrustedIssuer']);
    for (const rt of ALL_RESOURCE_TYPES) {
      const s = schemaForResourceType(rt.id);
      assert.ok(s, rt.id);
      assert.equal(s.id, rt.schema);
      assert.ok(rt.endpoint.startsWith('/'));
    }
    assert.equal(schemaForResourceType('Nope'), undefined);
  });

  test('schema ids are the Oracle identity domain URNs', () => {
    assert.equal(AppSchema.id, 'urn:ietf:params:scim:schemas:oracle:idcs:App');
    assert.equal(AppRoleSchema.id, 'urn:ietf:params:scim:schemas:oracle:idcs:AppRole');
    assert.equal(GrantSchema.id, 'urn:ietf:params:scim:schemas:oracle:idcs:Grant');
    assert.equal(AuditEventSchema.id, 'urn:ietf:params:scim:schemas:oracle:idcs:AuditEvent');
  });

  test('every schema has id (always) and meta (readOnly)', () => {
    for (const s of ALL_SCHEMAS) {
      assert.equal(findAttribute(s, 'id')?.returned, 'always', s.name);
      assert.equal(findAttribute(s, 'meta')?.mutability, 'readOnly', s.name);
    }
  });

  test('App characteristics from the brief', () => {
    const a = (p: string): AttributeDef => {
      const d = findAttribute(AppSchema, p);
      assert.ok(d, p);
      return d;
    };
    assert.equal(a('displayName').required, true);
    assert.equal(a('name').mutability, 'readOnly');
    assert.equal(a('clientSecret').returned, 'never');
    assert.equal(a('clientType').mutability, 'immutable');
    assert.equal(a('allowedGrants').multiValued, true);
    assert.deepEqual(a('allowedGrants').canonicalValues, ['authorization_code', 'refresh_token', 'client_credentials', 'password', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'urn:ietf:params:oauth:grant-type:saml2-bearer', 'urn:ietf:params:oauth:grant-type:token-exchange', 'urn:ietf:params:oauth:grant-type:device_code', 'implicit']);
    assert.equal(a('certificates').multiValued, true);
    assert.equal(a('allowUserAssertions').type, 'boolean');
    assert.deepEqual(a('accessTokenSigningAlg').canonicalValues, ['RS256', 'PS256', 'ES256', 'EdDSA']);
    assert.equal(a('jwks.keys').multiValued, true);
    assert.equal(a('jwks.keys.kty').required, true);
    assert.equal(a('allowedScopes.fqs').required, true);
    assert.equal(a('allowedScopes.idOfDefiningApp').mutability, 'readOnly');
    assert.equal(a('scopes.requiresConsent').type, 'boolean');
    assert.equal(a('grantedAppRoles').mutability, 'readOnly');
    assert.equal(a('grantedAppRoles.appId').mutability, 'readOnly');
    assert.equal(a('isBuiltIn').mutability, 'readOnly');
    assert.equal(a('accessTokenExpiry').type, 'integer');
  });

  test('AppRole, Grant, AuditEvent characteristics from the brief', () => {
    assert.equal(findAttribute(AppRoleSchema, 'displayName')?.uniqueness, 'server');
    assert.equal(findAttribute(AppRoleSchema, 'app')?.mutability, 'immutable');
    assert.equal(findAttribute(AppRoleSchema, 'app.$ref')?.mutability, 'readOnly');
    assert.equal(findAttribute(AppRoleSchema, 'members')?.returned, 'request');
    assert.deepEqual(findAttribute(AppRoleSchema, 'members.type')?.canonicalValues, ['App', 'User', 'Group']);
    for (const p of ['app', 'entitlement', 'grantMechanism', 'grantee']) {
      assert.equal(findAttribute(GrantSchema, p)?.mutability, 'immutable', p);
      assert.equal(findAttribute(GrantSchema, p)?.required, true, p);
    }
    assert.deepEqual(findAttribute(GrantSchema, 'entitlement.attributeName')?.canonicalValues, ['appRoles']);
    for (const a of AuditEventSchema.attributes) assert.equal(a.mutability, 'readOnly', a.name);
    assert.equal(findAttribute(AuditEventSchema, 'timestamp')?.type, 'dateTime');
  });
});
