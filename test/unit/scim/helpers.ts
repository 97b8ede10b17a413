import assert from 'node:assert/strict';
import { ScimError, type ScimType } from '../../../src/scim/errors.js';
import { defineAttribute as attr, defineSchema, EXTERNAL_ID_ATTRIBUTE, ID_ATTRIBUTE, META_ATTRIBUTE, type SchemaBundle, type SchemaDef } from '../../../src/scim/schema.js';

/** Assert that `fn` throws a ScimError with this status and scimType (and, optionally, a detail matching `detail`). */
export function assertScimError(fn: () => unknown, status: number, scimType: ScimType | undefined, detail?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, 'expected a ScimError, nothing was thrown');
  assert.ok(caught instanceof ScimError, `expected a ScimError, got ${String(caught)}`);
  assert.equal(caught.status, status, `status (detail: ${caught.detail})`);
  assert.equal(caught.scimType, scimType, `scimType (detail: ${caught.detail})`);
  if (detail) assert.match(caught.detail, detail);
}

export const USER_ID = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_ID = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** A cut-down RFC 7643 §4.1 User, to exercise what the admin schemas do not have. */
export const TestUserSchema: SchemaDef = defineSchema({
  id: USER_ID,
  name: 'User',
  description: 'Test user',
  attributes: [
    ID_ATTRIBUTE,
    EXTERNAL_ID_ATTRIBUTE,
    attr({ name: 'userName', required: true, uniqueness: 'server' }),
    attr({ name: 'name', type: 'complex', subAttributes: [{ name: 'givenName' }, { name: 'familyName' }, { name: 'formatted', mutability: 'readOnly' }] }),
    attr({ name: 'nickName' }),
    attr({ name: 'title', returned: 'request' }),
    attr({ name: 'password', mutability: 'writeOnly', returned: 'never' }),
    attr({ name: 'active', type: 'boolean' }),
    attr({ name: 'loginCount', type: 'integer' }),
    attr({ name: 'score', type: 'decimal' }),
    attr({ name: 'birthday', type: 'dateTime' }),
    attr({ name: 'photo', type: 'binary' }),
    attr({ name: 'profileUrl', type: 'reference', referenceTypes: ['external'] }),
    attr({ name: 'userType', canonicalValues: ['Employee', 'Contractor'] }),
    attr({ name: 'serial', caseExact: true, mutability: 'immutable' }),
    attr({ name: 'tags', multiValued: true }),
    attr({
      name: 'emails',
      type: 'complex',
      multiValued: true,
      subAttributes: [
        { name: 'value', required: true },
        { name: 'type', canonicalValues: ['work', 'home', 'other'] },
        { name: 'primary', type: 'boolean' },
        { name: 'display', mutability: 'readOnly' },
      ],
    }),
    attr({
      name: 'groups',
      type: 'complex',
      multiValued: true,
      mutability: 'readOnly',
      subAttributes: [{ name: 'value', mutability: 'readOnly', caseExact: true }, { name: 'display', mutability: 'readOnly' }],
    }),
    attr({ name: 'secretQuestion', type: 'complex', returned: 'default', subAttributes: [{ name: 'question' }, { name: 'answer', returned: 'never', mutability: 'writeOnly' }] }),
    META_ATTRIBUTE,
  ],
});

export const EnterpriseSchema: SchemaDef = defineSchema({
  id: ENTERPRISE_ID,
  name: 'EnterpriseUser',
  description: 'Enterprise user extension',
  attributes: [
    attr({ name: 'employeeNumber' }),
    attr({ name: 'costCenter', mutability: 'immutable' }),
    attr({ name: 'manager', type: 'complex', subAttributes: [{ name: 'value', caseExact: true }, { name: 'displayName', mutability: 'readOnly' }] }),
  ],
});

export const TestUserBundle: SchemaBundle = { core: TestUserSchema, extensions: [{ schema: EnterpriseSchema, required: false }] };

export function sampleUser(): Record<string, unknown> {
  return {
    schemas: [USER_ID, ENTERPRISE_ID],
    id: '2819c223',
    externalId: 'ext-1',
    userName: 'bjensen',
    name: { givenName: 'Barbara', familyName: 'Jensen', formatted: 'Ms. Barbara Jensen' },
    nickName: 'Babs',
    title: 'Tour Guide',
    password: 'hunter2',
    active: true,
    loginCount: 7,
    score: 2.5,
    birthday: '1990-05-01T10:00:00+02:00',
    userType: 'Employee',
    serial: 'S-1',
    tags: ['a', 'b'],
    emails: [
      { value: 'bjensen@example.com', type: 'work', primary: true },
      { value: 'babs@jensen.org', type: 'home' },
    ],
    groups: [{ value: 'g1', display: 'Tour Guides' }],
    secretQuestion: { question: 'pet?', answer: 'rex' },
    [ENTERPRISE_ID]: { employeeNumber: '701984', costCenter: 'CC1', manager: { value: 'm-1', displayName: 'John Smith' } },
    meta: { resourceType: 'User', created: '2010-01-23T04:56:22Z', lastModified: '2011-05-13T04:42:34Z', version: 'W/"3694e05e9dff590"', location: 'https://example.com/v2/Users/2819c223' },
  };
}

export const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const patchBody = (...Operations: unknown[]) => ({ schemas: [PATCH], Operations });
