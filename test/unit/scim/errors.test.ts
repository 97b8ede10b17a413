import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { badRequest, isScimError, quote, ScimError, scimErrorBody, SCIM_TYPES } from '../../../src/scim/errors.js';

describe('ScimError', () => {
  test('carries status, scimType and detail, and is an Error', () => {
    const e = new ScimError(400, 'invalidFilter', 'bad filter');
    assert.ok(e instanceof Error);
    assert.equal(e.status, 400);
    assert.equal(e.scimType, 'invalidFilter');
    assert.equal(e.detail, 'bad filter');
    assert.equal(e.message, 'bad filter');
    assert.equal(e.name, 'ScimError');
    assert.ok(isScimError(e));
    assert.ok(!isScimError(new Error('x')));
  });

  test('subclasses keep working (as src/admin/auth.ts does)', () => {
    class AuthError extends ScimError {
      constructor(readonly challenge: string) { super(401, undefined, 'no token'); }
    }
    const e = new AuthError('Bearer');
    assert.ok(e instanceof ScimError);
    assert.equal(e.status, 401);
  });

  test('SCIM_TYPES lists exactly the RFC 7644 §3.12 keywords', () => {
    assert.deepEqual([...SCIM_TYPES].sort(), [
      'invalidFilter', 'invalidPath', 'invalidSyntax', 'invalidValue', 'invalidVers', 'mutability', 'noTarget', 'sensitive', 'tooMany', 'uniqueness',
    ]);
  });
});

describe('scimErrorBody', () => {
  test('400 with scimType: status is a string (RFC 7644 §3.12)', () => {
    assert.deepEqual(scimErrorBody(new ScimError(400, 'mutability', 'id is readOnly')), {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '400',
      scimType: 'mutability',
      detail: 'id is readOnly',
    });
  });

  test('no scimType: the member is absent, not null or undefined', () => {
    const body = scimErrorBody(new ScimError(404, undefined, 'not found'));
    assert.deepEqual(body, { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404', detail: 'not found' });
    assert.ok(!('scimType' in body));
    assert.equal(JSON.stringify(body), '{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"not found"}');
  });

  for (const status of [401, 403, 409, 412, 413, 500, 501]) {
    test(`status ${status} is rendered as the string "${status}"`, () => {
      assert.equal(scimErrorBody(new ScimError(status, undefined, 'x')).status, String(status));
    });
  }
});

describe('helpers', () => {
  test('badRequest is a 400 with the scimType', () => {
    const e = badRequest('noTarget', 'nothing matched');
    assert.ok(e instanceof ScimError);
    assert.equal(e.status, 400);
    assert.equal(e.scimType, 'noTarget');
    assert.equal(e.detail, 'nothing matched');
  });

  test('quote JSON-quotes and bounds client text in details', () => {
    assert.equal(quote('a"b'), '"a\\"b"');
    assert.equal(quote('x'.repeat(100)), JSON.stringify(`${'x'.repeat(80)}…`));
    assert.equal(quote('abcdef', 3), '"abc…"');
  });
});
