import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileFilter, parseFilter, stringifyFilter, type Filter } from '../../../src/scim/filter.js';
import { AppRoleSchema, AppSchema, AuditEventSchema, GrantSchema } from '../../../src/scim/resources.js';
import { assertScimError, ENTERPRISE_ID, sampleUser, TestUserBundle, TestUserSchema, USER_ID } from './helpers.js';

describe('parseFilter: syntax', () => {
  test('precedence: and binds tighter than or; not applies to its parentheses', () => {
    assert.deepEqual(parseFilter('a pr or b pr and not (c eq "x")'), {
      op: 'or',
      filters: [{ op: 'pr', attrPath: 'a' }, { op: 'and', filters: [{ op: 'pr', attrPath: 'b' }, { op: 'not', filter: { op: 'eq', attrPath: 'c', compValue: 'x' } }] }],
    });
  });

  test('parentheses override precedence', () => {
    assert.deepEqual(parseFilter('(a pr or b pr) and c pr'), {
      op: 'and', filters: [{ op: 'or', filters: [{ op: 'pr', attrPath: 'a' }, { op: 'pr', attrPath: 'b' }] }, { op: 'pr', attrPath: 'c' }],
    });
  });

  test('value path', () => {
    assert.deepEqual(parseFilter('emails[type eq "work" and value co "@example.com"]'), {
      op: '[]', attrPath: 'emails',
      valFilter: { op: 'and', filters: [{ op: 'eq', attrPath: 'type', compValue: 'work' }, { op: 'co', attrPath: 'value', compValue: '@example.com' }] },
    });
  });

  const values: [string, unknown][] = [
    ['a eq "x"', 'x'],
    ['a eq ""', ''],
    ['a eq "a\\\\b"', 'a\\b'],
    ['a eq "line\\nbreak"', 'line\nbreak'],
    ['a eq "quote \\" inside"', 'quote " inside'],
    ['a eq "\\u00e9t\\u00e9"', 'été'],
    ['a eq "paren ) and ] inside"', 'paren ) and ] inside'],
    ['a eq 42', 42],
    ['a eq -5', -5],
    ['a eq 1.5e3', 1500],
    ['a eq 0', 0],
    ['a eq true', true],
    ['a eq false', false],
    ['a eq null', null],
  ];
  for (const [text, v] of values) {
    test(`value: ${text}`, () => assert.deepEqual(parseFilter(text), { op: 'eq', attrPath: 'a', compValue: v }));
  }

  test('negative number before a closing parenthesis', () => {
    assert.deepEqual(parseFilter('(x gt -5)'), { op: 'gt', attrPath: 'x', compValue: -5 });
  });

  test('operators and logical keywords are case-insensitive; attribute spelling is kept', () => {
    assert.deepEqual(parseFilter('UserName EQ "x" AND Active Pr'), {
      op: 'and', filters: [{ op: 'eq', attrPath: 'UserName', compValue: 'x' }, { op: 'pr', attrPath: 'Active' }],
    });
  });

  test('attribute paths: sub-attributes, URNs, $ref', () => {
    assert.equal((parseFilter('meta.lastModified pr') as { attrPath: string }).attrPath, 'meta.lastModified');
    assert.equal((parseFilter(`${ENTERPRISE_ID}:manager.value pr`) as { attrPath: string }).attrPath, `${ENTERPRISE_ID}:manager.value`);
    assert.deepEqual(parseFilter('members[$ref eq "x"]'), { op: '[]', attrPath: 'members', valFilter: { op: 'eq', attrPath: '$ref', compValue: 'x' } });
  });

  test('whitespace is flexible', () => {
    assert.deepEqual(parseFilter('  (a   eq\t"x")  '), { op: 'eq', attrPath: 'a', compValue: 'x' });
    assert.deepEqual(parseFilter('emails [type eq "w"]'), parseFilter('emails[type eq "w"]'));
  });

  test('shape used by src/admin/audit.ts', () => {
    const f = parseFilter('timestamp ge "2024-01-01T00:00:00Z" and eventId eq "token.issued"');
    assert.equal(f.op, 'and');
    assert.ok(f.op === 'and' && f.filters.every((x) => 'attrPath' in x && 'compValue' in x));
  });

  const errors: [string, string, RegExp?][] = [
    ['empty', '', /empty/],
    ['whitespace only', '   ', /empty/],
    ['attribute only', 'userName', /ends too early/],
    ['operator without value', 'userName eq', /ends too early/],
    ['missing attribute', 'eq "x"', /expected an attribute/],
    ['trailing token', 'a eq "x" b', /expected 'and', 'or'/],
    ['unclosed parenthesis', '(a pr', /missing '\)'/],
    ['stray closing parenthesis', 'a pr)', /unbalanced/],
    ['unclosed bracket', 'emails[type pr', /missing '\]'/],
    ['mismatched brackets', 'emails[type pr)', /does not close/],
    ['not without parentheses', 'not a pr', /followed by '\('/],
    ['upper-case literal', 'a eq TRUE', /lower-case/],
    ['bare word value', 'a eq bob', /comparison value/],
    ['single-quoted string', "a eq 'x'", /unexpected character/],
    ['unterminated string', 'a eq "abc', /unterminated/],
    ['invalid escape', 'a eq "bad \\q"', /invalid string/],
    ['raw control character in string', 'a eq "a\u0001b"', /invalid string/],
    ['leading zero', 'a eq 01', /invalid number/],
    ['dangling decimal point', 'a eq 1.', /invalid number/],
    ['double minus', 'a eq --1', /invalid number/],
    ['number too large', 'a eq 1e999', /out of range/],
    ['nested value filter', 'a[b[c pr]]', /cannot be nested/],
    ['sub-attribute after value filter', 'emails[type eq "work"].value eq "x"', /only allowed in PATCH paths/],
    ['dangling and', 'a pr and', /ends too early/],
    ['leading and', 'and a pr', /expected an attribute/],
    ['double or', 'a pr or or b pr', /expected an attribute/],
    ['unknown operator', 'a ~ "x"', /unexpected character/],
    ['unknown word operator', 'a like "x"', /expected an operator/],
    ['attribute starting with a digit', '1abc pr', /invalid number/],
    ['empty path segment', 'a..b pr', /invalid attribute path/],
    ['trailing dot', 'a.b. pr', /invalid attribute path/],
    ['empty parentheses', '()', /expected an attribute/],
    ['empty brackets', 'a[]', /expected an attribute/],
    ['pr with a value', 'a pr "x"', /expected 'and', 'or'/],
    ['keyword as attribute', 'and eq "x"', /expected an attribute/],
  ];
  for (const [what, text, detail] of errors) {
    test(`invalidFilter: ${what} (${JSON.stringify(text)})`, () => {
      assertScimError(() => parseFilter(text), 400, 'invalidFilter', detail);
    });
  }

  test('non-string input is invalidFilter', () => {
    assertScimError(() => parseFilter(42 as unknown as string), 400, 'invalidFilter');
  });
});

describe('parseFilter: limits', () => {
  test('longer than maxLength (default 4096)', () => {
    const ok = `a eq "${'x'.repeat(4096 - 7)}"`;
    assert.equal(ok.length, 4096);
    assert.doesNotThrow(() => parseFilter(ok));
    assertScimError(() => parseFilter(`a eq "${'x'.repeat(4096 - 6)}"`), 400, 'invalidFilter', /longer than 4096/);
    assertScimError(() => parseFilter('a pr', { maxLength: 3 }), 400, 'invalidFilter', /longer than 3/);
  });

  test('a 100 KB filter is refused quickly', () => {
    const huge = Array.from({ length: 8000 }, (_, i) => `attr${i} eq "v"`).join(' or ');
    assert.ok(huge.length > 100_000);
    const t0 = performance.now();
    assertScimError(() => parseFilter(huge), 400, 'invalidFilter', /longer than/);
    assert.ok(performance.now() - t0 < 50, 'should be refused before any parsing');
  });

  test('a 100 KB filter within a raised maxLength still parses in linear time', () => {
    const huge = Array.from({ length: 8000 }, (_, i) => `attr${i} eq "v"`).join(' or ');
    const t0 = performance.now();
    const f = parseFilter(huge, { maxLength: 200_000 });
    assert.ok(performance.now() - t0 < 2000);
    assert.equal(f.op === 'or' && f.filters.length, 8000);
  });

  test('200 levels of parentheses: invalidFilter, no stack overflow', () => {
    const deep = `${'('.repeat(200)}a pr${')'.repeat(200)}`;
    assertScimError(() => parseFilter(deep), 400, 'invalidFilter', /nested more than 16/);
  });

  test('100 000 levels of parentheses with every limit lifted: still invalidFilter, never a RangeError', () => {
    const n = 100_000;
    const deep = `${'('.repeat(n)}a pr${')'.repeat(n)}`;
    assertScimError(() => parseFilter(deep, { maxLength: 1e7, maxDepth: 1e7 }), 400, 'invalidFilter');
  });

  test('unbalanced deep nesting is reported without recursion', () => {
    assertScimError(() => parseFilter('('.repeat(5000), { maxLength: 1e6, maxDepth: 1e6 }), 400, 'invalidFilter', /ends too early/);
  });

  const nestAndOr = (levels: number): string => {
    // levels of alternating and/or, each level opening a parenthesis
    let s = 'z pr';
    for (let i = 0; i < levels - 1; i++) s = `a${i} pr ${i % 2 ? 'and' : 'or'} (${s})`;
    return levels === 0 ? s : `q pr and (${s})`;
  };

  test('16 levels of and/or nesting is accepted, 17 is not', () => {
    assert.doesNotThrow(() => parseFilter(nestAndOr(15)));
    assertScimError(() => parseFilter(nestAndOr(17)), 400, 'invalidFilter', /nested more than 16/);
  });

  test('not/[] count as levels: maxDepth applies to them', () => {
    assert.doesNotThrow(() => parseFilter('not (not (a pr))', { maxDepth: 2 }));
    assertScimError(() => parseFilter('not (not (not (a pr)))', { maxDepth: 2 }), 400, 'invalidFilter', /nested more than 2/);
    assertScimError(() => parseFilter('a pr and emails[type pr or value pr]', { maxDepth: 2 }), 400, 'invalidFilter', /nested more than 2/);
  });
});

describe('stringifyFilter', () => {
  const texts = ['a eq "x"', 'a pr or b pr and c pr', 'not (a eq 1)', 'emails[type eq "work" and value co "@x"]', 'a eq "q\\"uote\\\\"', '(a pr or b pr) and c pr'];
  for (const t of texts) {
    test(`round-trips ${t}`, () => assert.deepEqual(parseFilter(stringifyFilter(parseFilter(t))), parseFilter(t)));
  }
});

describe('compileFilter: evaluation', () => {
  const user = sampleUser();
  const run = (text: string, res: Record<string, unknown> = user) => compileFilter(parseFilter(text), TestUserBundle)(res);

  const cases: [string, boolean][] = [
    // RFC 7643 §2.1: attribute names are case-insensitive.
    ['USERNAME eq "bjensen"', true],
    ['name.GIVENNAME eq "Barbara"', true],
    // RFC 7643 §2.2 / §7: string comparison is case-insensitive unless caseExact.
    ['userName eq "BJENSEN"', true],
    ['userName ne "BJENSEN"', false],
    ['id eq "2819C223"', false], // id is caseExact
    ['id eq "2819c223"', true],
    ['externalId eq "EXT-1"', false],
    ['serial eq "s-1"', false],
    ['serial eq "S-1"', true],
    ['userName co "JENS"', true],
    ['userName sw "BJ"', true],
    ['userName ew "SEN"', true],
    ['userName sw "jensen"', false],
    ['userName gt "a"', true],
    ['userName lt "A"', false],
    ['userName ge "BJENSEN"', true],
    ['userName le "bjensen"', true],
    // numbers
    ['loginCount eq 7', true],
    ['loginCount gt 6', true],
    ['loginCount ge 7', true],
    ['loginCount lt 7', false],
    ['loginCount le 7', true],
    ['loginCount ne 7', false],
    ['score gt 2.25', true],
    ['score lt -1', false],
    // booleans
    ['active eq true', true],
    ['active eq false', false],
    ['active ne false', true],
    // RFC 7644 §3.4.2.2: dateTimes compare as instants. 1990-05-01T10:00+02:00 is 08:00Z.
    ['birthday eq "1990-05-01T08:00:00Z"', true],
    ['birthday gt "1990-05-01T08:30:00Z"', false],
    ['birthday lt "1990-05-01T08:30:00Z"', true],
    ['birthday ge "1990-05-01T09:00:00+01:00"', true],
    ['meta.lastModified gt "2011-05-13T04:42:33Z"', true],
    ['meta.lastModified gt "2011-05-13T04:42:34.001Z"', false],
    ['meta.created le "2010-01-23T04:56:22Z"', true],
    ['meta.lastModified sw "2011-"', true],
    // pr (RFC 7644 §3.4.2.2)
    ['title pr', true],
    ['nickName pr', true],
    ['profileUrl pr', false],
    ['name pr', true],
    ['emails pr', true],
    ['meta pr', true],
    // null is the unassigned state (RFC 7643 §2.5)
    ['profileUrl eq null', true],
    ['profileUrl ne null', false],
    ['userName eq null', false],
    ['userName ne null', true],
    // an unassigned attribute is "not equal" to any value
    ['profileUrl ne "x"', true],
    ['profileUrl eq "x"', false],
    ['profileUrl co "x"', false],
    // multi-valued: any value matches
    ['tags eq "B"', true],
    ['tags eq "c"', false],
    ['tags ne "a"', true],
    ['emails.value ew "@example.com"', true],
    ['emails.type eq "home"', true],
    // a multi-valued complex attribute compared as a whole means its value sub-attribute
    ['emails co "jensen.org"', true],
    ['emails eq "nobody@example.com"', false],
    // complex multi-valued filters: both conditions on the same value
    ['emails[type eq "work" and value co "@example.com"]', true],
    ['emails[type eq "home" and primary eq true]', false],
    ['emails[type eq "WORK" and primary eq true]', true],
    ['emails[not (type eq "work")]', true],
    ['emails[type eq "other"]', false],
    ['emails[primary pr]', true],
    // logical
    ['userName eq "bjensen" and active eq true', true],
    ['userName eq "nobody" or loginCount gt 5', true],
    ['not (userName eq "bjensen")', false],
    ['not (userName eq "nobody") and (emails[type eq "work"] or title pr)', true],
    // extensions, by URN (RFC 7644 §3.10)
    [`${ENTERPRISE_ID}:employeeNumber eq "701984"`, true],
    [`${ENTERPRISE_ID.toUpperCase()}:EMPLOYEENUMBER eq "701984"`, true],
    [`${ENTERPRISE_ID}:manager.value eq "m-1"`, true],
    [`${ENTERPRISE_ID}:manager.value eq "M-1"`, false], // caseExact
    [`${ENTERPRISE_ID} pr`, true],
    // core attributes may be qualified with the core schema URN
    [`${USER_ID}:userName eq "bjensen"`, true],
    [`${USER_ID}:name.familyName eq "jensen"`, true],
  ];
  for (const [text, want] of cases) {
    test(`${text} -> ${want}`, () => assert.equal(run(text), want));
  }

  test('matches resources whose keys are spelled differently from the schema', () => {
    const odd = { USERNAME: 'x', Emails: [{ Type: 'work', VALUE: 'x@y' }], META: { LastModified: '2020-01-01T00:00:00Z' } };
    assert.equal(run('userName eq "X"', odd), true);
    assert.equal(run('emails[type eq "work" and value eq "x@y"]', odd), true);
    assert.equal(run('meta.lastModified ge "2020-01-01T00:00:00Z"', odd), true);
  });

  test('values of the wrong type in the resource never match (and are "not equal")', () => {
    const odd = { userName: 42, loginCount: '7', active: 'true', birthday: 'yesterday' };
    assert.equal(run('userName eq "42"', odd), false);
    assert.equal(run('loginCount eq 7', odd), false);
    assert.equal(run('active eq true', odd), false);
    assert.equal(run('birthday lt "2030-01-01T00:00:00Z"', odd), false);
    assert.equal(run('loginCount ne 7', odd), true);
  });

  test('empty values are not present', () => {
    assert.equal(run('nickName pr', { nickName: '' }), false);
    assert.equal(run('tags pr', { tags: [] }), false);
    assert.equal(run('name pr', { name: {} }), false);
    assert.equal(run('name pr', { name: { givenName: null } }), false);
    assert.equal(run('tags pr', { tags: [null] }), false);
  });

  test('admin schemas: sub-attribute paths used by the admin API', () => {
    const role = { id: 'r1', displayName: 'Readers', app: { value: 'APP-1', display: 'Orders' } };
    assert.equal(compileFilter(parseFilter('app.value eq "APP-1"'), AppRoleSchema)(role), true);
    assert.equal(compileFilter(parseFilter('app.value eq "app-1"'), AppRoleSchema)(role), false);
    assert.equal(compileFilter(parseFilter('displayname eq "READERS"'), AppRoleSchema)(role), true);
    const grant = { grantee: { value: 'g-1', type: 'App' }, app: { value: 'a' } };
    assert.equal(compileFilter(parseFilter('grantee.value eq "g-1" and grantee.type eq "app"'), GrantSchema)(grant), true);
    const app = { allowedGrants: ['client_credentials'], allowedScopes: [{ fqs: 'urn:x:read' }], accessTokenExpiry: 3600, isOAuthClient: true };
    const f = (t: string) => compileFilter(parseFilter(t), AppSchema)(app);
    assert.equal(f('allowedGrants eq "client_credentials"'), true);
    assert.equal(f('allowedScopes[fqs sw "urn:x:"]'), true);
    assert.equal(f('allowedScopes.fqs eq "urn:x:read"'), true);
    assert.equal(f('accessTokenExpiry ge 3600 and isOAuthClient eq true'), true);
    const ev = { eventId: 'token.issued', timestamp: '2024-06-01T12:00:00Z', outcome: 'success' };
    assert.equal(compileFilter(parseFilter('timestamp gt "2024-06-01T13:00:00+02:00" and outcome eq "SUCCESS"'), AuditEventSchema)(ev), true);
  });
});

describe('compileFilter: refused filters', () => {
  const refused: [string, string, RegExp][] = [
    ['unknown attribute', 'nope eq "x"', /unknown attribute "nope"/],
    ['unknown sub-attribute', 'name.middle eq "x"', /unknown attribute/],
    ['unknown attribute inside a value filter', 'emails[nope pr]', /unknown attribute "nope" in emails/],
    ['path relative to the outer attribute inside []', 'emails[emails.value pr]', /unknown attribute/],
    ['extension attribute without its URN', 'employeeNumber eq "1"', /unknown attribute/],
    ['unknown schema URN', 'urn:example:other:userName eq "x"', /unknown attribute/],
    // RFC 7643 §7 returned: never / RFC 7644 §7.5.2: no filtering on secrets
    ['password (returned never)', 'password eq "x"', /cannot be used in a filter/],
    ['password pr', 'password pr', /cannot be used in a filter/],
    ['password inside or/not', 'userName pr or not (password sw "h")', /cannot be used in a filter/],
    ['never sub-attribute', 'secretQuestion.answer eq "rex"', /cannot be used in a filter/],
    ['never sub-attribute in a value filter', 'secretQuestion[answer eq "rex"]', /cannot be used in a filter/],
    // RFC 7644 §3.4.2.2: type rules
    ['gt on a boolean', 'active gt true', /cannot be used with the boolean/],
    ['co on a boolean', 'active co true', /cannot be used with the boolean/],
    ['boolean compared with a string', 'active eq "true"', /true or false/],
    ['number compared with a string', 'loginCount eq "7"', /a number/],
    ['co on a number', 'loginCount co 7', /needs a string attribute/],
    ['string compared with a number', 'userName eq 7', /a string/],
    ['string compared with a boolean', 'userName eq true', /a string/],
    ['dateTime that is not one', 'birthday gt "yesterday"', /not an xsd:dateTime/],
    ['dateTime compared with a number', 'birthday gt 5', /date-time/],
    ['ordering on binary', 'photo gt "AAAA"', /binary/],
    ['complex without value sub-attribute', 'name eq "Barbara"', /complex/],
    ['value filter on a simple attribute', 'userName[value eq "x"]', /not complex/],
    ['gt null', 'userName gt null', /null/],
    ['co null', 'userName co null', /null/],
  ];
  for (const [what, text, detail] of refused) {
    test(`invalidFilter: ${what}`, () => {
      assertScimError(() => compileFilter(parseFilter(text), TestUserBundle), 400, 'invalidFilter', detail);
    });
  }

  test('App: clientSecret (returned never) cannot be filtered on', () => {
    assertScimError(() => compileFilter(parseFilter('clientSecret eq "x"'), AppSchema), 400, 'invalidFilter', /cannot be used in a filter/);
    assertScimError(() => compileFilter(parseFilter('CLIENTSECRET pr'), AppSchema), 400, 'invalidFilter');
  });

  test('forbidden(path) is asked with canonical paths and refuses the filter', () => {
    const asked: string[] = [];
    const forbidden = (p: string) => {
      asked.push(p);
      return p === 'emails.value' || p === `${ENTERPRISE_ID}:manager`;
    };
    assert.doesNotThrow(() => compileFilter(parseFilter('USERNAME pr and emails[TYPE eq "work"]'), TestUserBundle, { forbidden }));
    assert.deepEqual(asked, ['userName', 'emails', 'emails.type']);
    assertScimError(() => compileFilter(parseFilter('emails[value eq "x"]'), TestUserBundle, { forbidden }), 400, 'invalidFilter');
    assertScimError(() => compileFilter(parseFilter('emails co "x"'), TestUserBundle, { forbidden }), 400, 'invalidFilter');
    assertScimError(() => compileFilter(parseFilter(`${ENTERPRISE_ID}:manager.value eq "x"`), TestUserBundle, { forbidden }), 400, 'invalidFilter');
  });

  test('a hand-built filter with nested value paths is refused', () => {
    const f: Filter = { op: '[]', attrPath: 'emails', valFilter: { op: '[]', attrPath: 'type', valFilter: { op: 'pr', attrPath: 'x' } } };
    assertScimError(() => compileFilter(f, TestUserSchema), 400, 'invalidFilter', /nested/);
  });

  test('a hand-built, absurdly deep filter is refused without a stack overflow', () => {
    let f: Filter = { op: 'pr', attrPath: 'userName' };
    for (let i = 0; i < 100_000; i++) f = { op: 'not', filter: f };
    assertScimError(() => compileFilter(f, TestUserSchema), 400, 'invalidFilter', /nested/);
  });

  test('errors are raised at compile time, before any resource is evaluated', () => {
    // compileFilter itself throws; no resource is needed to find out.
    assertScimError(() => compileFilter(parseFilter('password eq "x"'), TestUserSchema), 400, 'invalidFilter');
  });
});
