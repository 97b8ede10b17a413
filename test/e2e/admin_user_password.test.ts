import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEventRecord } from '../../src/core/types.js';
import { adminToken, assertScimError, grantRole, harness, scim, type Harness } from '../helpers.js';
import { PASSWORD, createUser } from '../signin.js';

const SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:UserPasswordChanger';
const RESET = 'urn:opc:idm:t.user.resetpassword';
const NEW = 'a fresh passphrase 41 meadow';

/** PUT /admin/v1/UserPasswordChanger/{id}: an administrator's (help desk's) password reset. */
describe('admin: UserPasswordChanger (password reset by an administrator)', () => {
  let h: Harness;
  let admin: string;
  let helpDesk: string;
  let usersRead: string;
  const events: AuditEventRecord[] = [];

  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    helpDesk = await adminToken(h, `${RESET} urn:opc:idm:t.users.read`);
    usersRead = await adminToken(h, 'urn:opc:idm:t.users.read');
    h.t.services.events.on((e) => events.push(e));
  });
  after(() => h.close());

  const verify = async (id: string, pw: string) => {
    const u = await h.t.services.repos.users.get((await h.t.services.repos.domains.getByName('default'))!.id, id);
    return h.t.services.users.verifyPassword(u!, pw);
  };

  test('the resetpassword scope alone sets the password: 200, exact body, old password stops working, audited', async () => {
    const u = await createUser(h, admin, 'pw-reset-ok');
    const r = await scim(h, 'PUT', `/admin/v1/UserPasswordChanger/${u.id}`, helpDesk, { schemas: [SCHEMA], password: NEW });
    assert.equal(r.statusCode, 200, r.body);
    const b = r.json();
    assert.deepEqual(Object.keys(b).sort(), ['id', 'meta', 'schemas']);
    assert.deepEqual(b.schemas, [SCHEMA]);
    assert.equal(b.id, u.id);
    assert.equal(b.meta.resourceType, 'UserPasswordChanger');
    assert.ok(await verify(u.id, NEW));
    assert.equal(await verify(u.id, PASSWORD), false);
    assert.ok(events.some((e) => e.eventId === 'user.password.changed' && e.targetId === u.id && e.details?.reset === true));
    assert.equal(JSON.stringify(events).includes(NEW), false, 'the password is never in an event');
  });

  test('the password policy applies: 400 invalidValue naming the rule, password unchanged', async () => {
    const u = await createUser(h, admin, 'pw-reset-weak');
    const r = await scim(h, 'PUT', `/admin/v1/UserPasswordChanger/${u.id}`, helpDesk, { schemas: [SCHEMA], password: 'password' });
    assertScimError(r, 400, 'invalidValue');
    assert.match(r.json().detail, /password policy \((common|minLength)\)/);
    const short = await scim(h, 'PUT', `/admin/v1/UserPasswordChanger/${u.id}`, helpDesk, { schemas: [SCHEMA], password: 'x1' });
    assertScimError(short, 400, 'invalidValue');
    assert.match(short.json().detail, /\(minLength\)/);
    assert.ok(await verify(u.id, PASSWORD));
  });

  test('users.read alone is 403; no token is 401', async () => {
    const u = await createUser(h, admin, 'pw-reset-read');
    assertScimError(await scim(h, 'PUT', `/admin/v1/UserPasswordChanger/${u.id}`, usersRead, { schemas: [SCHEMA], password: NEW }), 403);
    const anon = await h.t.app.inject({ method: 'PUT', url: `/admin/v1/UserPasswordChanger/${u.id}`, headers: { 'content-type': 'application/scim+json' }, payload: JSON.stringify({ schemas: [SCHEMA], password: NEW }) });
    assert.equal(anon.statusCode, 401);
    assert.ok(await verify(u.id, PASSWORD));
  });

  test('escalation: a help desk caller cannot reset the password of a user who holds scopes it lacks (403)', async () => {
    const u = await createUser(h, admin, 'pw-reset-ida');
    await grantRole(h, admin, 'User Administrator', 'User', u.id);
    const r = await scim(h, 'PUT', `/admin/v1/UserPasswordChanger/${u.id}`, helpDesk, { schemas: [SCHEMA], password: NEW });
    assertScimError(r, 403);
    assert.match(r.json().detail, /only a caller holding urn:opc:idm:t\.users may change a user who holds it/);
    assert.ok(await verify(u.id, PASSWORD));
    // The full administrator may.
    assert.equal((await scim(h, 'PUT', `/admin/v1/UserPasswordChanger/${u.id}`, admin, { schemas: [SCHEMA], password: NEW })).statusCode, 200);
  });

  test('bad bodies and unknown users: 400 invalidSyntax / invalidValue, 404', async () => {
    const u = await createUser(h, admin, 'pw-reset-bad');
    const url = `/admin/v1/UserPasswordChanger/${u.id}`;
    assertScimError(await scim(h, 'PUT', url, admin, { password: NEW }), 400, 'invalidSyntax');
    assertScimError(await scim(h, 'PUT', url, admin, { schemas: [SCHEMA] }), 400, 'invalidValue');
    assertScimError(await scim(h, 'PUT', url, admin, { schemas: [SCHEMA], password: 42 }), 400, 'invalidValue');
    assertScimError(await scim(h, 'PUT', url, admin, { schemas: [SCHEMA], password: NEW, oldPassword: 'x' }), 400, 'invalidValue');
    assertScimError(await scim(h, 'PUT', url, admin, { schemas: [SCHEMA], password: 'y'.repeat(5000) }), 400, 'invalidValue');
    assertScimError(await scim(h, 'PUT', '/admin/v1/UserPasswordChanger/0000000000000000', admin, { schemas: [SCHEMA], password: NEW }), 404);
    assertScimError(await scim(h, 'PUT', `/admin/v1/UserPasswordChanger/${'a'.repeat(200)}`, admin, { schemas: [SCHEMA], password: NEW }), 404);
    assert.ok(await verify(u.id, PASSWORD));
  });
});
