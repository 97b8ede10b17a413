import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseFilter } from '../../../src/scim/filter.js';
import { listResources, parseListQuery, type ListQuery } from '../../../src/scim/query.js';
import { AppSchema, AuditEventSchema } from '../../../src/scim/resources.js';
import { assertScimError, ENTERPRISE_ID, TestUserBundle, TestUserSchema } from './helpers.js';

const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

describe('parseListQuery: GET query strings', () => {
  test('defaults', () => {
    assert.deepEqual(parseListQuery({}), { startIndex: 1, count: 100, sortOrder: 'ascending' });
  });

  test('all parameters', () => {
    const q = parseListQuery({
      filter: 'userName eq "bjensen"', startIndex: '11', count: '5', sortBy: 'meta.lastModified', sortOrder: 'Descending', attributes: 'userName, emails.value ,,',
    });
    assert.deepEqual(q, {
      filter: { op: 'eq', attrPath: 'userName', compValue: 'bjensen' },
      startIndex: 11, count: 5, sortBy: 'meta.lastModified', sortOrder: 'descending', attributes: ['userName', 'emails.value'],
    });
  });

  test('parameter names are matched case-insensitively', () => {
    const q = parseListQuery({ FILTER: 'a pr', STARTINDEX: '2', Count: '3', SORTBY: 'x', sortorder: 'ascending', ExcludedAttributes: 'meta' });
    assert.equal(q.startIndex, 2);
    assert.equal(q.count, 3);
    assert.equal(q.sortBy, 'x');
    assert.deepEqual(q.excludedAttributes, ['meta']);
    assert.ok(q.filter);
  });

  const clamps: [string, Record<string, unknown>, Partial<ListQuery>][] = [
    // RFC 7644 §3.4.2.4: startIndex < 1 is interpreted as 1
    ['startIndex 0 -> 1', { startIndex: '0' }, { startIndex: 1 }],
    ['startIndex -7 -> 1', { startIndex: '-7' }, { startIndex: 1 }],
    // RFC 7644 §3.4.2.4: a negative count is interpreted as 0
    ['count -1 -> 0', { count: '-1' }, { count: 0 }],
    ['count 0 stays 0', { count: '0' }, { count: 0 }],
    // capped at maxCount (1000)
    ['count 1001 -> 1000', { count: '1001' }, { count: 1000 }],
    ['count 1000000 -> 1000', { count: '1000000' }, { count: 1000 }],
    ['count 1000 stays', { count: '1000' }, { count: 1000 }],
    ['whitespace around numbers', { count: ' 5 ', startIndex: ' 3' }, { count: 5, startIndex: 3 }],
    ['a repeated parameter with one value', { count: ['5'] }, { count: 5 }],
    ['empty filter is no filter', { filter: '  ' }, { filter: undefined }],
  ];
  for (const [what, input, want] of clamps) {
    test(what, () => {
      const q = parseListQuery(input);
      for (const [k, v] of Object.entries(want)) assert.deepEqual(q[k as keyof ListQuery], v, k);
    });
  }

  test('maxCount and defaultCount options', () => {
    assert.equal(parseListQuery({}, { defaultCount: 20 }).count, 20);
    assert.equal(parseListQuery({}, { defaultCount: 20, maxCount: 10 }).count, 10);
    assert.equal(parseListQuery({ count: '50' }, { maxCount: 10 }).count, 10);
  });

  test('attributes wins over excludedAttributes when both are given', () => {
    const q = parseListQuery({ attributes: 'userName', excludedAttributes: 'emails' });
    assert.deepEqual(q.attributes, ['userName']);
    assert.equal(q.excludedAttributes, undefined);
  });

  test('attribute lists are de-duplicated; repeated GET parameters are merged', () => {
    assert.deepEqual(parseListQuery({ attributes: ['a,b', 'b,c'] }).attributes, ['a', 'b', 'c']);
  });

  test('filter limits are passed through', () => {
    assertScimError(() => parseListQuery({ filter: 'a pr and b pr' }, { filter: { maxLength: 5 } }), 400, 'invalidFilter', /longer than 5/);
  });

  const invalid: [string, Record<string, unknown>, RegExp][] = [
    ['non-numeric count', { count: 'ten' }, /count must be an integer/],
    ['fractional count', { count: '1.5' }, /count must be an integer/],
    ['empty count', { count: '' }, /count must be an integer/],
    ['hex count', { count: '0x10' }, /count must be an integer/],
    ['boolean count', { count: true }, /count must be an integer/],
    ['NaN count', { count: Number.NaN }, /count must be an integer/],
    ['non-numeric startIndex', { startIndex: 'first' }, /startIndex must be an integer/],
    ['huge startIndex', { startIndex: '99999999999999999999' }, /startIndex must be an integer/],
    ['fractional startIndex number', { startIndex: 2.5 }, /startIndex must be an integer/],
    ['repeated count', { count: ['1', '2'] }, /more than once/],
    ['bad sortOrder', { sortOrder: 'up' }, /sortOrder/],
    ['numeric sortOrder', { sortOrder: 1 }, /sortOrder/],
    ['bad sortBy', { sortBy: 'a b' }, /sortBy/],
    ['non-string sortBy', { sortBy: 5 }, /sortBy/],
    ['non-string attributes', { attributes: 5 }, /attributes/],
    ['attribute name with spaces', { attributes: 'user name' }, /not an attribute name/],
    ['too many attribute names', { attributes: Array.from({ length: 201 }, (_, i) => `a${i}`).join(',') }, /too many/],
  ];
  for (const [what, input, detail] of invalid) {
    test(`invalidValue: ${what}`, () => assertScimError(() => parseListQuery(input), 400, 'invalidValue', detail));
  }

  // A name given twice in different case (a SearchRequest body) is ambiguous, as Operations/operations in PATCH.
  for (const [what, input] of [
    ['count', { count: '1', COUNT: '2' }],
    ['filter', { filter: 'userName eq "a"', Filter: 'userName eq "b"' }],
    ['schemas', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], Schemas: ['x'] }],
  ] as [string, Record<string, unknown>][]) {
    test(`invalidSyntax: ${what} given twice in different case`, () => assertScimError(() => parseListQuery(input), 400, 'invalidSyntax', /given more than once/));
  }

  test('invalidFilter: bad filter syntax', () => {
    assertScimError(() => parseListQuery({ filter: 'userName eq' }), 400, 'invalidFilter');
    assertScimError(() => parseListQuery({ filter: 42 }), 400, 'invalidFilter');
  });

  test('a non-object input is invalidSyntax', () => {
    assertScimError(() => parseListQuery(null as unknown as Record<string, unknown>), 400, 'invalidSyntax');
    assertScimError(() => parseListQuery([] as unknown as Record<string, unknown>), 400, 'invalidSyntax');
  });
});

describe('parseListQuery: POST /.search bodies (RFC 7644 §3.4.3)', () => {
  test('numbers and arrays', () => {
    const q = parseListQuery({
      schemas: [SEARCH], attributes: ['displayName', 'meta.version'], excludedAttributes: ['x'], filter: 'displayName sw "A"', startIndex: 1, count: 10, sortBy: 'displayName',
    });
    assert.deepEqual(q.attributes, ['displayName', 'meta.version']);
    assert.equal(q.excludedAttributes, undefined);
    assert.equal(q.count, 10);
    assert.equal(q.startIndex, 1);
    assert.equal(q.sortBy, 'displayName');
  });

  test('clamps apply to body numbers too', () => {
    const q = parseListQuery({ schemas: [SEARCH], startIndex: -3, count: 5000 });
    assert.equal(q.startIndex, 1);
    assert.equal(q.count, 1000);
  });

  const badSchemas: [string, unknown][] = [
    ['a wrong URN', ['urn:ietf:params:scim:api:messages:2.0:ListResponse']],
    ['a string instead of an array', SEARCH],
    ['an empty array', []],
    ['an extra URN', [SEARCH, 'urn:x']],
    ['null', null],
  ];
  for (const [what, schemas] of badSchemas) {
    test(`invalidSyntax: schemas is ${what}`, () => assertScimError(() => parseListQuery({ schemas, count: 1 }), 400, 'invalidSyntax', /SearchRequest/));
  }

  test('searchRequest option: a body without schemas is invalidSyntax', () => {
    assertScimError(() => parseListQuery({ count: 1 }, { searchRequest: true }), 400, 'invalidSyntax');
    assert.doesNotThrow(() => parseListQuery({ schemas: [SEARCH] }, { searchRequest: true }));
  });

  test('non-string entries in an attribute array are invalidValue', () => {
    assertScimError(() => parseListQuery({ schemas: [SEARCH], attributes: ['a', 3] }), 400, 'invalidValue');
  });
});

describe('listResources', () => {
  const apps = [
    { schemas: [AppSchema.id], id: '1', displayName: 'beta', accessTokenExpiry: 300, meta: { lastModified: '2024-01-02T00:00:00Z' }, clientSecret: 's1' },
    { schemas: [AppSchema.id], id: '2', displayName: 'Alpha', accessTokenExpiry: 60, meta: { lastModified: '2024-01-01T23:00:00-02:00' } },
    { schemas: [AppSchema.id], id: '3', displayName: 'gamma', meta: { lastModified: '2024-01-01T00:00:00Z' } },
    { schemas: [AppSchema.id], id: '4', displayName: 'alpha', accessTokenExpiry: 300 },
    { schemas: [AppSchema.id], id: '5', displayName: 'Delta', accessTokenExpiry: 3600, meta: { lastModified: '2024-01-03T00:00:00Z' } },
  ];
  const q = (over: Partial<ListQuery> = {}): ListQuery => ({ startIndex: 1, count: 100, sortOrder: 'ascending', ...over });
  const ids = (r: { Resources: Record<string, unknown>[] }) => r.Resources.map((x) => x.id);

  test('ListResponse envelope (RFC 7644 §3.4.2)', () => {
    const r = listResources(apps, q(), AppSchema);
    assert.deepEqual(r.schemas, ['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
    assert.equal(r.totalResults, 5);
    assert.equal(r.startIndex, 1);
    assert.equal(r.itemsPerPage, 5);
    assert.deepEqual(ids(r), ['1', '2', '3', '4', '5']);
  });

  test('filter, then count totals', () => {
    const r = listResources(apps, q({ filter: parseFilter('displayName sw "A"') }), AppSchema);
    assert.deepEqual(ids(r), ['2', '4']);
    assert.equal(r.totalResults, 2);
  });

  test('sort: case-insensitive strings, stable (ties keep input order)', () => {
    assert.deepEqual(ids(listResources(apps, q({ sortBy: 'displayName' }), AppSchema)), ['2', '4', '1', '5', '3']);
    assert.deepEqual(ids(listResources(apps, q({ sortBy: 'DISPLAYNAME', sortOrder: 'descending' }), AppSchema)), ['3', '5', '1', '2', '4']);
  });

  test('sort: numbers, missing values last in both orders', () => {
    assert.deepEqual(ids(listResources(apps, q({ sortBy: 'accessTokenExpiry' }), AppSchema)), ['2', '1', '4', '5', '3']);
    assert.deepEqual(ids(listResources(apps, q({ sortBy: 'accessTokenExpiry', sortOrder: 'descending' }), AppSchema)), ['5', '1', '4', '2', '3']);
  });

  test('sort: by sub-attribute; dateTimes as instants', () => {
    // id 2's Jan 1 23:00-02:00 is Jan 2 01:00Z: after id 1 (Jan 2 00:00Z), though it sorts before it as text.
    assert.deepEqual(ids(listResources(apps, q({ sortBy: 'meta.lastModified' }), AppSchema)), ['3', '1', '2', '5', '4']);
  });

  test('sort: by a qualified URN path', () => {
    assert.deepEqual(ids(listResources(apps, q({ sortBy: `${AppSchema.id}:displayName` }), AppSchema)), ['2', '4', '1', '5', '3']);
  });

  test('sort: multi-valued attributes use the primary value, else the first (RFC 7644 §3.4.2.3)', () => {
    const users = [
      { id: 'a', userName: 'a', emails: [{ value: 'z@x' }, { value: 'a@x', primary: true }] },
      { id: 'b', userName: 'b', emails: [{ value: 'm@x' }] },
      { id: 'c', userName: 'c' },
    ];
    assert.deepEqual(ids(listResources(users, q({ sortBy: 'emails' }), TestUserSchema)), ['a', 'b', 'c']);
    assert.deepEqual(ids(listResources(users, q({ sortBy: 'emails.value', sortOrder: 'descending' }), TestUserSchema)), ['b', 'a', 'c']);
  });

  test('paging: startIndex is 1-based, count limits, itemsPerPage is the page size', () => {
    const r = listResources(apps, q({ sortBy: 'displayName', startIndex: 2, count: 2 }), AppSchema);
    assert.deepEqual(ids(r), ['4', '1']);
    assert.equal(r.totalResults, 5);
    assert.equal(r.startIndex, 2);
    assert.equal(r.itemsPerPage, 2);
  });

  test('paging past the end and count 0', () => {
    const past = listResources(apps, q({ startIndex: 10 }), AppSchema);
    assert.equal(past.totalResults, 5);
    assert.equal(past.itemsPerPage, 0);
    assert.deepEqual(past.Resources, []);
    const zero = listResources(apps, q({ count: 0 }), AppSchema);
    assert.equal(zero.totalResults, 5);
    assert.deepEqual(zero.Resources, []);
  });

  test('projection: returned never is dropped, attributes / excludedAttributes apply', () => {
    const all = listResources(apps, q(), AppSchema);
    assert.ok(all.Resources.every((r) => !('clientSecret' in r)));
    const some = listResources(apps, q({ attributes: ['displayName'] }), AppSchema);
    assert.deepEqual(some.Resources[0], { schemas: [AppSchema.id], id: '1', displayName: 'beta' });
    const ex = listResources(apps, q({ excludedAttributes: ['meta', 'accessTokenExpiry'] }), AppSchema);
    assert.deepEqual(ex.Resources[0], { schemas: [AppSchema.id], id: '1', displayName: 'beta' });
  });

  test('does not modify its input', () => {
    const input = structuredClone(apps);
    listResources(input, q({ sortBy: 'displayName', sortOrder: 'descending', attributes: ['id'] }), AppSchema);
    assert.deepEqual(input, apps);
  });

  test('extension attributes can be filtered and sorted on', () => {
    const users = [
      { id: 'a', userName: 'a', [ENTERPRISE_ID]: { employeeNumber: '2' } },
      { id: 'b', userName: 'b', [ENTERPRISE_ID]: { employeeNumber: '1' } },
      { id: 'c', userName: 'c' },
    ];
    const r = listResources(users, q({ sortBy: `${ENTERPRISE_ID}:employeeNumber`, filter: parseFilter(`${ENTERPRISE_ID}:employeeNumber pr`) }), TestUserBundle);
    assert.deepEqual(ids(r), ['b', 'a']);
  });

  const badSort: [string, string, RegExp][] = [
    ['unknown attribute', 'nope', /unknown attribute/],
    ['returned never', 'clientSecret', /cannot be used for sorting/],
    ['complex without value', 'meta', /complex/],
  ];
  for (const [what, sortBy, detail] of badSort) {
    test(`sortBy ${what} is invalidValue`, () => assertScimError(() => listResources(apps, q({ sortBy }), AppSchema), 400, 'invalidValue', detail));
  }

  test('sortBy a forbidden attribute is invalidValue', () => {
    assertScimError(() => listResources(apps, q({ sortBy: 'displayName' }), AppSchema, { forbidden: (p) => p === 'displayName' }), 400, 'invalidValue');
  });

  test('filter errors surface as invalidFilter', () => {
    assertScimError(() => listResources(apps, q({ filter: parseFilter('clientSecret eq "s1"') }), AppSchema), 400, 'invalidFilter');
    assertScimError(() => listResources(apps, q({ filter: parseFilter('nope pr') }), AppSchema), 400, 'invalidFilter');
    assertScimError(() => listResources(apps, q({ filter: parseFilter('displayName pr') }), AppSchema, { forbidden: () => true }), 400, 'invalidFilter');
  });

  test('an empty list', () => {
    const r = listResources([], q({ filter: parseFilter('eventId eq "x"'), sortBy: 'timestamp' }), AuditEventSchema);
    assert.deepEqual(r, { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
  });
});
