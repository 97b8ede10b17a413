import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { projectResource } from '../../../src/scim/project.js';
import { AppRoleSchema, AppSchema } from '../../../src/scim/resources.js';
import { ENTERPRISE_ID, sampleUser, TestUserBundle, TestUserSchema, USER_ID } from './helpers.js';

const keys = (o: Record<string, unknown>) => Object.keys(o);

describe('projectResource: default set (RFC 7643 §7 returned)', () => {
  const out = projectResource(sampleUser(), TestUserBundle);

  test('never is dropped: password, secretQuestion.answer', () => {
    assert.ok(!('password' in out));
    assert.deepEqual(out.secretQuestion, { question: 'pet?' });
  });

  test('request is dropped unless named: title', () => {
    assert.ok(!('title' in out));
  });

  test('default and always are kept, with schemas and extensions', () => {
    for (const k of ['schemas', 'id', 'externalId', 'userName', 'name', 'emails', 'groups', 'meta', ENTERPRISE_ID]) assert.ok(k in out, k);
    assert.deepEqual(out[ENTERPRISE_ID], sampleUser()[ENTERPRISE_ID]);
  });

  test('input is not modified', () => {
    const u = sampleUser();
    projectResource(u, TestUserBundle, ['userName'], ['emails']);
    assert.deepEqual(u, sampleUser());
  });
});

describe('projectResource: attributes (RFC 7644 §3.4.2.5)', () => {
  test('only the named attributes, plus always ones (id) and schemas', () => {
    assert.deepEqual(projectResource(sampleUser(), TestUserBundle, ['userName']), { schemas: [USER_ID, ENTERPRISE_ID], id: '2819c223', userName: 'bjensen' });
  });

  test('names are case-insensitive; output keeps the resource spelling', () => {
    const res = { schemas: [USER_ID], ID: 'x', UserName: 'u', Name: { GivenName: 'B', familyName: 'J' } };
    assert.deepEqual(projectResource(res, TestUserSchema, ['USERNAME', 'name.givenname']), { schemas: [USER_ID], ID: 'x', UserName: 'u', Name: { GivenName: 'B' } });
  });

  test('sub-attribute paths', () => {
    const out = projectResource(sampleUser(), TestUserBundle, ['name.givenName', 'meta.version', 'emails.value']);
    assert.deepEqual(out.name, { givenName: 'Barbara' });
    assert.deepEqual(out.meta, { version: 'W/"3694e05e9dff590"' });
    assert.deepEqual(out.emails, [{ value: 'bjensen@example.com' }, { value: 'babs@jensen.org' }]);
    assert.ok(!('userName' in out));
  });

  test('a parent and its sub-attribute: the whole parent', () => {
    const out = projectResource(sampleUser(), TestUserBundle, ['name.givenName', 'name']);
    assert.deepEqual(out.name, sampleUser().name);
    const out2 = projectResource(sampleUser(), TestUserBundle, ['name', 'name.givenName']);
    assert.deepEqual(out2.name, sampleUser().name);
  });

  test('fully qualified URNs: core and extension', () => {
    const out = projectResource(sampleUser(), TestUserBundle, [`${USER_ID}:userName`, `${ENTERPRISE_ID}:manager.value`]);
    assert.deepEqual(out, { schemas: [USER_ID, ENTERPRISE_ID], id: '2819c223', userName: 'bjensen', [ENTERPRISE_ID]: { manager: { value: 'm-1' } } });
    const whole = projectResource(sampleUser(), TestUserBundle, [ENTERPRISE_ID]);
    assert.deepEqual(whole[ENTERPRISE_ID], sampleUser()[ENTERPRISE_ID]);
  });

  test('App: urn:…:App:displayName', () => {
    const app = { schemas: [AppSchema.id], id: 'a', displayName: 'D', description: 'x' };
    assert.deepEqual(projectResource(app, AppSchema, [`${AppSchema.id}:displayName`]), { schemas: [AppSchema.id], id: 'a', displayName: 'D' });
  });

  test('request attributes are returned when named', () => {
    assert.equal(projectResource(sampleUser(), TestUserBundle, ['title']).title, 'Tour Guide');
    const role = { schemas: [AppRoleSchema.id], id: 'r', displayName: 'R', members: [{ value: 'm', type: 'App' }] };
    assert.ok(!('members' in projectResource(role, AppRoleSchema)));
    assert.deepEqual(projectResource(role, AppRoleSchema, ['members']).members, [{ value: 'm', type: 'App' }]);
    assert.deepEqual(projectResource(role, AppRoleSchema, ['members.value']).members, [{ value: 'm' }]);
  });

  test('never attributes are dropped even when requested', () => {
    const out = projectResource(sampleUser(), TestUserBundle, ['password', 'secretQuestion.answer', 'userName']);
    assert.ok(!('password' in out));
    assert.ok(!('secretQuestion' in out));
    assert.deepEqual(projectResource(sampleUser(), TestUserBundle, ['secretQuestion']).secretQuestion, { question: 'pet?' });
    const app = { schemas: [AppSchema.id], id: 'a', clientSecret: 'shh' };
    assert.deepEqual(projectResource(app, AppSchema, ['clientSecret']), { schemas: [AppSchema.id], id: 'a' });
  });

  test('unknown names select nothing', () => {
    assert.deepEqual(projectResource(sampleUser(), TestUserBundle, ['nope', 'name.nope', 'urn:x:y']), { schemas: [USER_ID, ENTERPRISE_ID], id: '2819c223' });
  });

  test('an empty attributes list means the default set', () => {
    assert.deepEqual(projectResource(sampleUser(), TestUserBundle, []), projectResource(sampleUser(), TestUserBundle));
  });

  test('attributes wins over excludedAttributes', () => {
    assert.deepEqual(projectResource(sampleUser(), TestUserBundle, ['userName'], ['userName']), { schemas: [USER_ID, ENTERPRISE_ID], id: '2819c223', userName: 'bjensen' });
  });
});

describe('projectResource: excludedAttributes (RFC 7644 §3.4.2.5)', () => {
  test('excluded default attributes are dropped', () => {
    const out = projectResource(sampleUser(), TestUserBundle, undefined, ['emails', 'NAME', 'meta']);
    for (const k of ['emails', 'name', 'meta']) assert.ok(!(k in out), k);
    assert.equal(out.userName, 'bjensen');
  });

  test('always attributes cannot be excluded', () => {
    const out = projectResource(sampleUser(), TestUserBundle, undefined, ['id', 'schemas']);
    assert.equal(out.id, '2819c223');
    assert.ok('schemas' in out);
  });

  test('sub-attribute exclusion', () => {
    const out = projectResource(sampleUser(), TestUserBundle, undefined, ['meta.version', 'meta.location', 'emails.primary', `${ENTERPRISE_ID}:manager`]);
    assert.deepEqual(keys(out.meta as Record<string, unknown>), ['resourceType', 'created', 'lastModified']);
    assert.deepEqual(out.emails, [{ value: 'bjensen@example.com', type: 'work' }, { value: 'babs@jensen.org', type: 'home' }]);
    assert.deepEqual(out[ENTERPRISE_ID], { employeeNumber: '701984', costCenter: 'CC1' });
  });

  test('a complex attribute with everything excluded disappears', () => {
    const out = projectResource({ schemas: [USER_ID], id: '1', name: { givenName: 'B' } }, TestUserSchema, undefined, ['name.givenName']);
    assert.ok(!('name' in out));
  });

  test('excluding a request attribute changes nothing; it stays out', () => {
    assert.ok(!('title' in projectResource(sampleUser(), TestUserBundle, undefined, ['title'])));
  });
});

describe('projectResource: what the schema does not define', () => {
  test('unknown top-level and sub-attributes are dropped', () => {
    const res = { schemas: [AppSchema.id], id: 'a', displayName: 'D', secretHash: 'x', internal: { a: 1 }, allowedScopes: [{ fqs: 's', debug: true }] };
    assert.deepEqual(projectResource(res, AppSchema), { schemas: [AppSchema.id], id: 'a', displayName: 'D', allowedScopes: [{ fqs: 's' }] });
  });

  test('non-object values of complex attributes pass through unchanged', () => {
    assert.deepEqual(projectResource({ id: '1', name: 'flat' }, TestUserSchema).name, 'flat');
  });
});
