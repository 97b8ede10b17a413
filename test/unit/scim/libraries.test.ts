/**
 * Where the two SCIM libraries get RFC 7643/7644 wrong, and what the wrappers do instead. Each test
 * first pins the library's behaviour (so an upgrade that fixes it shows up here), then checks ours.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { filter as libFilter, parse as libParse } from 'scim2-parse-filter';
import { scimPatch, type ScimPatchOperation, type ScimResource } from 'scim-patch';
import { compileFilter, parseFilter } from '../../../src/scim/filter.js';
import { applyPatch } from '../../../src/scim/patch.js';
import { AppSchema } from '../../../src/scim/resources.js';
import { assertScimError, patchBody, TestUserSchema } from './helpers.js';

const libMatch = (text: string, r: Record<string, unknown>) => libFilter(libParse(text))(r);
const ourMatch = (text: string, r: Record<string, unknown>) => compileFilter(parseFilter(text), TestUserSchema)(r);

describe('scim2-parse-filter vs parseFilter/compileFilter', () => {
  test('string comparison must be case-insensitive unless caseExact (RFC 7643 §2.2)', () => {
    const r = { userName: 'BJensen' };
    assert.equal(libMatch('userName eq "bjensen"', r), false);
    assert.equal(ourMatch('userName eq "bjensen"', r), true);
    // ...and case-sensitive for a caseExact attribute (the library cannot know which is which).
    assert.equal(ourMatch('id eq "abc"', { id: 'ABC' }), false);
  });

  test('dateTimes must compare as instants, not as strings (RFC 7644 §3.4.2.2)', () => {
    // 00:30+02:00 is 22:30Z the day before: earlier than 23:00Z.
    const r = { meta: { lastModified: '2020-01-01T00:30:00+02:00' } };
    assert.equal(libMatch('meta.lastModified gt "2019-12-31T23:00:00Z"', r), true);
    assert.equal(ourMatch('meta.lastModified gt "2019-12-31T23:00:00Z"', r), false);
  });

  test('a negative number before ")" is a number', () => {
    assert.throws(() => libParse('(loginCount gt -5)'));
    assert.deepEqual(parseFilter('(loginCount gt -5)'), { op: 'gt', attrPath: 'loginCount', compValue: -5 });
  });

  test('string escapes are JSON escapes (RFC 7644 §3.4.2.2 refers to RFC 7159 strings)', () => {
    assert.equal((libParse('a eq "x\\\\y"') as { compValue: unknown }).compValue, 'x\\\\y'); // two backslashes
    assert.equal((libParse('a eq "x\\ny"') as { compValue: unknown }).compValue, 'x\\ny'); // not decoded
    assert.equal((parseFilter('a eq "x\\\\y"') as { compValue: unknown }).compValue, 'x\\y');
    assert.equal((parseFilter('a eq "x\\ny"') as { compValue: unknown }).compValue, 'x\ny');
  });

  test('attr[filter].sub is not filter syntax; the library silently changes its meaning', () => {
    // The library reads it as `emails[type eq "work"] and emails.value eq "x"`, which matches a user
    // whose work address is y and whose home address is x.
    const r = { emails: [{ type: 'work', value: 'y' }, { type: 'home', value: 'x' }] };
    assert.equal(libMatch('emails[type eq "work"].value eq "x"', r), true);
    assertScimError(() => parseFilter('emails[type eq "work"].value eq "x"'), 400, 'invalidFilter');
    assert.equal(ourMatch('emails[type eq "work" and value eq "x"]', r), false);
  });

  test('deep nesting overflows the library stack; ours is invalidFilter', () => {
    const deep = `${'('.repeat(20_000)}a pr${')'.repeat(20_000)}`;
    assert.throws(() => libParse(deep), RangeError);
    assertScimError(() => parseFilter(deep, { maxLength: 1e6 }), 400, 'invalidFilter');
  });

  test('$ref is an attribute name (RFC 7643 §2.3.7)', () => {
    assert.throws(() => libParse('members[$ref eq "x"]'));
    assert.doesNotThrow(() => parseFilter('members[$ref eq "x"]'));
  });

  test('"not" takes parentheses (RFC 7644 §3.4.2.2 Figure 1)', () => {
    assert.doesNotThrow(() => libParse('not a pr'));
    assertScimError(() => parseFilter('not a pr'), 400, 'invalidFilter');
  });
});

const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const libPatch = (r: Record<string, unknown>, ops: unknown[]) =>
  scimPatch(r as unknown as ScimResource, ops as ScimPatchOperation[], { mutateDocument: false, treatMissingAsAdd: true }) as unknown as Record<string, unknown>;
const app = () => ({
  schemas: [AppSchema.id], id: 'a1', displayName: 'Orders',
  redirectUris: ['https://a.example/cb', 'https://b.example/cb'],
  scopes: [{ value: 'orders.read' }, { value: 'orders.write' }],
  meta: { resourceType: 'App' },
});

describe('scim-patch vs applyPatch', () => {
  test('attribute names in paths are case-insensitive (RFC 7643 §2.1)', () => {
    const lib = libPatch(app(), [{ op: 'replace', path: 'DisplayName', value: 'New' }]);
    assert.equal(lib.displayName, 'Orders');
    assert.equal(lib.DisplayName, 'New'); // a second key
    const ours = applyPatch(app(), patchBody({ op: 'replace', path: 'DisplayName', value: 'New' }), AppSchema);
    assert.equal(ours.displayName, 'New');
    assert.ok(!('DisplayName' in ours));
  });

  test('op is case-insensitive', () => {
    assert.throws(() => libPatch(app(), [{ op: 'REPLACE', path: 'displayName', value: 'New' }]));
    assert.equal(applyPatch(app(), patchBody({ op: 'REPLACE', path: 'displayName', value: 'New' }), AppSchema).displayName, 'New');
  });

  test('"Remove" without a path is 400 noTarget (RFC 7644 §3.5.2.2), not a TypeError', () => {
    assert.throws(() => libPatch(app(), [{ op: 'Remove' }]), TypeError);
    assertScimError(() => applyPatch(app(), patchBody({ op: 'Remove' }), AppSchema), 400, 'noTarget');
  });

  test('value filters honour caseExact: scope values are caseExact, so "ORDERS.READ" matches nothing', () => {
    assertScimError(() => applyPatch(app(), patchBody({ op: 'remove', path: 'scopes[value eq "ORDERS.READ"]' }), AppSchema), 400, 'noTarget');
  });

  test('value filters on case-insensitive sub-attributes match regardless of case', () => {
    const user = { schemas: ['x'], userName: 'u', emails: [{ type: 'work', value: 'a@x' }, { type: 'home', value: 'b@y' }] };
    const lib = libPatch(user, [{ op: 'remove', path: 'emails[type eq "WORK"]' }]);
    assert.equal((lib.emails as unknown[]).length, 2); // nothing removed
    const ours = applyPatch(user, patchBody({ op: 'remove', path: 'emails[type eq "WORK"]' }), TestUserSchema);
    assert.deepEqual(ours.emails, [{ type: 'home', value: 'b@y' }]);
  });

  test('remove with a filter that matches nothing is 400 noTarget', () => {
    const lib = libPatch(app(), [{ op: 'remove', path: 'scopes[value eq "nope"]' }]);
    assert.equal((lib.scopes as unknown[]).length, 2); // silently nothing
    assertScimError(() => applyPatch(app(), patchBody({ op: 'remove', path: 'scopes[value eq "nope"]' }), AppSchema), 400, 'noTarget');
  });

  test('replace of a multi-valued attribute with a single value replaces all values by that one', () => {
    const lib = libPatch(app(), [{ op: 'replace', path: 'redirectUris', value: 'https://c.example/cb' }]);
    assert.deepEqual(lib.redirectUris, ['https://c.example/cb', 'https://c.example/cb']);
    const ours = applyPatch(app(), patchBody({ op: 'replace', path: 'redirectUris', value: 'https://c.example/cb' }), AppSchema);
    assert.deepEqual(ours.redirectUris, ['https://c.example/cb']);
  });

  test('a path qualified with the core schema URN (RFC 7644 §3.10) names the core attribute', () => {
    const path = `${AppSchema.id}:displayName`;
    const lib = libPatch(app(), [{ op: 'replace', path, value: 'New' }]);
    assert.equal(lib.displayName, 'Orders');
    assert.deepEqual(lib[AppSchema.id], { displayName: 'New' });
    assert.equal(applyPatch(app(), patchBody({ op: 'replace', path, value: 'New' }), AppSchema).displayName, 'New');
  });

  test('the library mutates its input by default; applyPatch never does', () => {
    const a = app();
    scimPatch(a as unknown as ScimResource, [{ op: 'replace', path: 'displayName', value: 'Mutated' }]);
    assert.equal(a.displayName, 'Mutated');
    const b = app();
    const before = structuredClone(b);
    applyPatch(b, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'displayName', value: 'New' }] }, AppSchema);
    assert.deepEqual(b, before);
  });

  test('errors thrown inside the library never escape: they become ScimError', () => {
    // A stored resource whose complex attribute is (wrongly) a string makes the library throw.
    const corrupt = { schemas: ['x'], userName: 'u', name: 'not an object' };
    assert.throws(() => libPatch(corrupt, [{ op: 'add', path: 'name.givenName', value: 'B' }]), TypeError);
    assertScimError(() => applyPatch(corrupt, patchBody({ op: 'add', path: 'name.givenName', value: 'B' }), TestUserSchema), 400, 'invalidValue');
  });
});
