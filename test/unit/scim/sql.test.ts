import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilter } from '../../../src/scim/filter.js';
import { ScimError } from '../../../src/scim/errors.js';
import { filterToSql, likePattern, sortToSql, type SqlColumnMap } from '../../../src/scim/sql.js';
import { UserSchema } from '../../../src/scim/resources.js';
import { USER_COLUMNS } from '../../../src/storage/ports.js';

const M: SqlColumnMap = USER_COLUMNS;
const t = (f: string) => filterToSql(parseFilter(f), UserSchema, M);
const userName = M.userName!.column;
const ext = M.externalId!.column;
const email = M['emails.value']!;

describe('scim/sql: filter translation', () => {
  test('a string that is not caseExact is compared lower-cased; a caseExact one as given', () => {
    assert.deepEqual(t('USERNAME eq "Ann"'), { kind: 'cmp', column: userName, op: 'eq', value: 'ann' });
    assert.deepEqual(t('externalId sw "AB"'), { kind: 'cmp', column: ext, op: 'sw', value: 'AB' });
    assert.deepEqual(t('urn:ietf:params:scim:schemas:core:2.0:User:userName co "X"'), { kind: 'cmp', column: userName, op: 'co', value: 'x' });
  });

  test('booleans, dateTimes and null', () => {
    assert.deepEqual(t('active eq false'), { kind: 'cmp', column: M.active!.column, op: 'eq', value: 0 });
    assert.deepEqual(t('meta.created gt "2030-01-01T00:00:00Z"'), { kind: 'cmp', column: M['meta.created']!.column, op: 'gt', value: Date.parse('2030-01-01T00:00:00Z') });
    assert.deepEqual(t('externalId eq null'), { kind: 'not', item: { kind: 'present', column: ext } });
    assert.deepEqual(t('externalId ne null'), { kind: 'present', column: ext });
  });

  test('ne also matches an unassigned attribute', () => {
    assert.deepEqual(t('externalId ne "x"'), {
      kind: 'or', items: [{ kind: 'not', item: { kind: 'present', column: ext } }, { kind: 'cmp', column: ext, op: 'ne', value: 'x' }],
    });
  });

  test('multi-valued attributes become EXISTS; a value filter is one EXISTS around the whole inner filter', () => {
    assert.deepEqual(t('emails co "@X"'), { kind: 'exists', child: email.child, where: { kind: 'cmp', column: email.column, op: 'co', value: '@x' } });
    assert.deepEqual(t('emails[value sw "a" and not (value ew "b")]'), {
      kind: 'exists', child: email.child, where: {
        kind: 'and', items: [{ kind: 'cmp', column: email.column, op: 'sw', value: 'a' }, { kind: 'not', item: { kind: 'cmp', column: email.column, op: 'ew', value: 'b' } }],
      },
    });
  });

  test('and / or / not keep their shape', () => {
    const w = t('not (userName eq "a") or (displayName pr and name.givenName ge "m")');
    assert.equal(w.kind, 'or');
  });

  const refused: [string, string, RegExp][] = [
    ['password eq "x"', 'password is never filterable', /password/],
    ['password pr', 'not even pr', /password/],
    ['nickName eq "x"', 'an unmapped attribute', /nickName.*filterable: /],
    ['emails[type eq "work"]', 'an unmapped sub-attribute in a value filter', /type/],
    ['emails[value eq "a" or userName eq "b"]', 'a parent attribute inside a value filter', /./],
    ['noSuch eq 1', 'an unknown attribute', /noSuch/],
    ['active gt true', 'gt on a boolean', /boolean/],
    ['active eq "true"', 'a string for a boolean', /boolean/],
    ['meta.created co "2030"', 'co on a dateTime', /dateTime/],
    ['meta.created gt "yesterday"', 'a bad dateTime', /dateTime/],
    ['userName gt null', 'gt null', /null/],
  ];
  for (const [f, why, detail] of refused) {
    test(`400 invalidFilter: ${why}`, () => {
      assert.throws(() => t(f), (e: unknown) => e instanceof ScimError && e.status === 400 && e.scimType === 'invalidFilter' && detail.test(e.detail));
    });
  }
});

describe('scim/sql: sortBy', () => {
  test('a mapped single-valued attribute', () => {
    assert.deepEqual(sortToSql('name.familyName', true, UserSchema, M), { column: M['name.familyName']!.column, descending: true });
    assert.equal(sortToSql(undefined, false, UserSchema, M), undefined);
  });
  for (const a of ['password', 'emails', 'emails.value', 'nickName', 'nope']) {
    test(`400 invalidValue: sortBy ${a}`, () => {
      assert.throws(() => sortToSql(a, false, UserSchema, M), (e: unknown) => e instanceof ScimError && e.status === 400 && e.scimType === 'invalidValue');
    });
  }
});

describe('scim/sql: LIKE patterns', () => {
  test('%, _ and \\ are escaped with \\', () => {
    assert.equal(likePattern('co', 'a%b_c\\d'), '%a\\%b\\_c\\\\d%');
    assert.equal(likePattern('sw', 'x'), 'x%');
    assert.equal(likePattern('ew', 'x'), '%x');
  });
});
