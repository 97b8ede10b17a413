import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminToken, assertScimError, clientToken, harness, ISSUER, scim, setupClient, type Harness } from '../helpers.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ADMIN = `${ISSUER}/admin/v1`;
const q = (filter: string) => `filter=${encodeURIComponent(filter)}`;
const patchOp = (...Operations: Record<string, unknown>[]) => ({ schemas: [PATCH], Operations });
const GOOD_PW = 'correct horse battery staple 42';

describe('admin Users', () => {
  let h: Harness;
  let admin: string;
  before(async () => { h = await harness(); admin = await adminToken(h); });
  after(() => h.close());
  const create = (o: Record<string, unknown>) => scim(h, 'POST', '/admin/v1/Users', admin, { schemas: [USER], ...o });

  test('201 with Location, ETag, meta; password never returned; groups absent', async () => {
    const r = await create({ userName: 'ada@example.com', name: { givenName: 'Ada', familyName: 'Lovelace' }, emails: [{ value: 'ada@example.com', primary: true }], password: GOOD_PW });
    assert.equal(r.statusCode, 201, r.body);
    const b = r.json();
    assert.equal(r.headers.location, `${ADMIN}/Users/${b.id}`);
    assert.equal(r.headers.etag, 'W/"1"');
    assert.deepEqual(b.schemas, [USER]);
    assert.equal(b.userName, 'ada@example.com');
    assert.equal(b.active, true);
    assert.equal(b.meta.resourceType, 'User');
    assert.equal('password' in b, false);
    for (const qs of ['', '?attributes=password', '?attributes=password,userName']) {
      const g = await scim(h, 'GET', `/admin/v1/Users/${b.id}${qs}`, admin);
      assert.equal(g.statusCode, 200);
      assert.equal('password' in g.json(), false, qs);
    }
    assert.ok(!r.body.includes(GOOD_PW));
  });

  test('a user without a password may be created', async () => {
    assert.equal((await create({ userName: 'nopassword' })).statusCode, 201);
  });

  test('userName is unique case-insensitively: 409 uniqueness, on create and on replace', async () => {
    assert.equal((await create({ userName: 'Grace' })).statusCode, 201);
    assertScimError(await create({ userName: 'GRACE' }), 409, 'uniqueness');
    const other = (await create({ userName: 'grace2' })).json();
    assertScimError(await scim(h, 'PUT', `/admin/v1/Users/${other.id}`, admin, { schemas: [USER], userName: 'grace' }), 409, 'uniqueness');
  });

  const policy: [string, string, RegExp][] = [
    ['too short', 'Ab1!xyz', /minLength/],
    ['too long', 'x'.repeat(257), /maxLength/],
    ['common (breached list)', 'password1', /common/],
    ['common, any case', 'PassWord123', /common/],
    ['the user name', 'policy-user-name', /userName/],
  ];
  for (const [name, pw, rule] of policy) {
    test(`password policy: ${name} -> 400 invalidValue naming the rule`, async () => {
      const r = await create({ userName: 'policy-user-name', password: pw });
      assertScimError(r, 400, 'invalidValue');
      assert.match(r.json().detail, rule);
      assert.ok(!r.body.includes(pw), 'the password is not echoed');
    });
  }

  test('password history: the last 5 passwords cannot be reused; PUT without password keeps it', async () => {
    const u = (await create({ userName: 'history', password: 'first long password 1' })).json();
    const setPw = (pw: string) => scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, admin, patchOp({ op: 'replace', path: 'password', value: pw }));
    const again = await setPw('first long password 1');
    assertScimError(again, 400, 'invalidValue');
    assert.match(again.json().detail, /history/);
    for (let i = 2; i <= 6; i++) assert.equal((await setPw(`next long password ${i}`)).statusCode, 200);
    assert.equal((await setPw('first long password 1')).statusCode, 200, 'six passwords ago: allowed again');
    const put = await scim(h, 'PUT', `/admin/v1/Users/${u.id}`, admin, { schemas: [USER], userName: 'history', displayName: 'H' });
    assert.equal(put.statusCode, 200, put.body);
    assert.equal(put.json().displayName, 'H');
    const stored = await h.t.services.repos.users.get((await h.t.services.repos.domains.getByName("default"))!.id, u.id);
    assert.match(stored!.passwordHash!, /^\$argon2id\$/);
    assert.equal(await h.t.services.users.verifyPassword(stored!, 'first long password 1'), true);
    assert.equal(await h.t.services.users.verifyPassword(stored!, 'next long password 6'), false);
  });

  test('filters in SQL: eq/co/sw/pr/and/or/not; password and unmapped attributes are 400 invalidFilter', async () => {
    await create({ userName: 'f-one', displayName: 'Filter One', emails: [{ value: 'one@f.example' }, { value: 'alt@f.example' }] });
    await create({ userName: 'f-two', active: false, displayName: 'Filter Two' });
    const names = async (f: string) => {
      const r = await scim(h, 'GET', `/admin/v1/Users?${q(f)}&sortBy=userName`, admin);
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json().schemas, [LIST]);
      return r.json().Resources.map((x: { userName: string }) => x.userName);
    };
    assert.deepEqual(await names('userName sw "F-"'), ['f-one', 'f-two']);
    assert.deepEqual(await names('userName sw "f-" and active eq false'), ['f-two']);
    assert.deepEqual(await names('emails.value eq "ALT@f.example"'), ['f-one']);
    assert.deepEqual(await names('displayName co "one" or displayName ew "TWO"'), ['f-one', 'f-two']);
    assert.deepEqual(await names('userName sw "f-" and not (active eq true)'), ['f-two']);
    assert.deepEqual(await names('userName co "%"'), []);
    for (const f of ['password eq "x"', 'password pr', 'nickName eq "x"', 'groups.value eq "x"']) {
      assertScimError(await scim(h, 'GET', `/admin/v1/Users?${q(f)}`, admin), 400, 'invalidFilter');
    }
    assertScimError(await scim(h, 'GET', '/admin/v1/Users?sortBy=password', admin), 400, 'invalidValue');
    const s = await scim(h, 'POST', '/admin/v1/Users/.search', admin, { schemas: [SEARCH], filter: 'userName sw "f-"', attributes: ['userName'], count: 1, startIndex: 2, sortBy: 'userName' });
    assert.equal(s.statusCode, 200, s.body);
    assert.equal(s.json().totalResults, 2);
    assert.equal(s.json().startIndex, 2);
    assert.deepEqual(s.json().Resources, [{ schemas: [USER], id: s.json().Resources[0].id, userName: 'f-two' }]);
  });

  test('ETags: If-Match mismatch is 412; If-None-Match is 304', async () => {
    const u = (await create({ userName: 'etag-user' })).json();
    assertScimError(await scim(h, 'PUT', `/admin/v1/Users/${u.id}`, admin, { schemas: [USER], userName: 'etag-user' }, { 'if-match': 'W/"9"' }), 412);
    assert.equal((await scim(h, 'GET', `/admin/v1/Users/${u.id}`, admin, undefined, { 'if-none-match': 'W/"1"' })).statusCode, 304);
  });

  test('groups is read-only and derived from group memberships', async () => {
    const u = (await create({ userName: 'member-user', groups: [{ value: 'ignored' }] })).json();
    assert.equal(u.groups, undefined, 'readOnly groups in the request is ignored');
    const g = (await scim(h, 'POST', '/admin/v1/Groups', admin, { schemas: [GROUP], displayName: 'Readers', members: [{ value: u.id }] })).json();
    const got = (await scim(h, 'GET', `/admin/v1/Users/${u.id}`, admin)).json();
    assert.deepEqual(got.groups, [{ value: g.id, $ref: `${ADMIN}/Groups/${g.id}`, display: 'Readers', type: 'direct' }]);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Groups/${g.id}`, admin)).statusCode, 204);
    assert.equal((await scim(h, 'GET', `/admin/v1/Users/${u.id}`, admin)).json().groups, undefined);
  });

  test('active false and delete go through the UserService hook: the user\'s tokens are revoked', async () => {
    const u = (await create({ userName: 'token-holder' })).json();
    const domainId = (await h.t.services.repos.domains.getByName('default'))!.id;
    const now = h.clock.now();
    const tok = { domainId, kind: 'refresh' as const, clientId: 'c', sub: u.id, subType: 'user' as const, scope: 'openid', aud: [], issuedAt: now, expiresAt: now + 3600_000, data: {} };
    await h.t.services.repos.tokens.insert({ ...tok, hash: `h-${u.id}-1`, jti: `j-${u.id}-1` });
    const p = await scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, admin, patchOp({ op: 'replace', path: 'active', value: false }));
    assert.equal(p.statusCode, 200, p.body);
    assert.equal(p.json().active, false);
    assert.ok((await h.t.services.repos.tokens.find(`h-${u.id}-1`))?.revokedAt !== undefined);
    await h.t.services.repos.tokens.insert({ ...tok, hash: `h-${u.id}-2`, jti: `j-${u.id}-2` });
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Users/${u.id}`, admin)).statusCode, 204);
    assert.ok((await h.t.services.repos.tokens.find(`h-${u.id}-2`))?.revokedAt !== undefined);
    assertScimError(await scim(h, 'GET', `/admin/v1/Users/${u.id}`, admin), 404);
  });

  test('the audit trail records user writes without the password', async () => {
    await create({ userName: 'audited', password: 'audited long password 1' });
    await h.t.services.events.flush();
    const rows = await h.t.services.repos.audit.query((await h.t.services.repos.domains.getByName('default'))!.id, { eventId: 'admin.created', offset: 0, limit: 1000, descending: true });
    assert.ok(rows.items.some((e) => e.targetType === 'User'));
    assert.ok(!JSON.stringify(rows.items).includes('audited long password 1'));
  });

  test('Help Desk Administrator reads users but cannot write them; Application Administrator cannot read', async () => {
    const role = async (name: string) => {
      const c = await setupClient(h, { admin, scopes: [`s-${Math.random().toString(36).slice(2, 8)}.read`] });
      const roles = (await scim(h, 'GET', `/admin/v1/AppRoles?${q(`displayName eq "${name}"`)}`, admin)).json().Resources;
      const g = await scim(h, 'POST', '/admin/v1/Grants', admin, {
        schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:Grant'], app: { value: roles[0].app.value }, entitlement: { attributeName: 'appRoles', attributeValue: roles[0].id },
        grantMechanism: 'ADMINISTRATOR_TO_APP', grantee: { type: 'App', value: c.app.id },
      });
      assert.equal(g.statusCode, 201, g.body);
      const t = await clientToken(h, c.clientId, c.secret, 'urn:opc:idm:__myscopes__');
      assert.equal(t.statusCode, 200, t.body);
      return t.json().access_token as string;
    };
    const helpDesk = await role('Help Desk Administrator');
    assert.equal((await scim(h, 'GET', '/admin/v1/Users', helpDesk)).statusCode, 200);
    assertScimError(await scim(h, 'POST', '/admin/v1/Users', helpDesk, { schemas: [USER], userName: 'x-helpdesk' }), 403);
    const appAdmin = await role('Application Administrator');
    assertScimError(await scim(h, 'GET', '/admin/v1/Users', appAdmin), 403);
  });
});
