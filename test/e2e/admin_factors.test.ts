import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generate } from 'otplib';
import { DEFAULT_DOMAIN, type AuditEventRecord } from '../../src/core/types.js';
import { adminToken, assertScimError, BOOT_ID, BOOT_SECRET, clientToken, harness, scim, type Harness } from '../helpers.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const REMOVER = 'urn:ietf:params:scim:schemas:oracle:idcs:AuthenticationFactorsRemover';
const URL_ = '/admin/v1/AuthenticationFactorsRemover';

describe('admin AuthenticationFactorsRemover', () => {
  let h: Harness;
  let admin: string;
  let usersRead: string;
  const events: AuditEventRecord[] = [];

  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    // The bootstrap client holds every admin scope; asking for one read scope gives a token with just that.
    const t = await clientToken(h, BOOT_ID, BOOT_SECRET, 'urn:opc:idm:t.users.read');
    assert.equal(t.statusCode, 200, t.body);
    assert.equal(t.json().scope, 'urn:opc:idm:t.users.read');
    usersRead = t.json().access_token;
    h.t.services.events.on((e) => events.push(e));
  });
  after(() => h.close());

  async function newUser(userName: string): Promise<string> {
    const r = await scim(h, 'POST', '/admin/v1/Users', admin, { schemas: [USER], userName });
    assert.equal(r.statusCode, 201, r.body);
    return r.json().id as string;
  }

  /** Enrols a TOTP factor and recovery codes the way the sign-in pages do: confirm with a current code. */
  async function enrol(dId: string, userId: string): Promise<void> {
    const totp = h.t.services.totp;
    const secret = totp.newSecret();
    const code = await generate({ secret, epoch: Math.floor(h.t.services.clock.now() / 1000) });
    assert.equal(await totp.confirmEnrolment(dId, userId, secret, code), true);
    await totp.newRecoveryCodes(dId, userId);
    assert.equal(await totp.hasFactor(dId, userId), true);
  }

  async function defaultDomainId(): Promise<string> {
    const d = await h.t.services.catalogs.domainByName(DEFAULT_DOMAIN);
    assert.ok(d, 'the default domain exists');
    return d.id;
  }

  test('removes the factor and recovery codes of the named user: 201, request echoed with the count, audited', async () => {
    const dId = await defaultDomainId();
    const alice = await newUser('factors-alice');
    const bob = await newUser('factors-bob');
    await enrol(dId, alice);
    await enrol(dId, bob);
    const body = { schemas: [REMOVER], user: { value: alice } };
    const r = await scim(h, 'POST', URL_, admin, body);
    assert.equal(r.statusCode, 201, r.body);
    assert.match(String(r.headers['content-type']), /^application\/scim\+json/);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.deepEqual(r.json(), { ...body, removed: 1 });
    assert.equal(await h.t.services.totp.hasFactor(dId, alice), false);
    assert.equal(await h.t.services.totp.remainingRecoveryCodes(dId, alice), 0);
    assert.equal(await h.t.services.totp.hasFactor(dId, bob), true, 'other users keep theirs');
    assert.equal(await h.t.services.totp.remainingRecoveryCodes(dId, bob), 10);
    const ev = events.filter((e) => e.eventId === 'user.mfa.reset');
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.outcome, 'success');
    assert.equal(ev[0]!.targetType, 'User');
    assert.equal(ev[0]!.targetId, alice);
    assert.equal(ev[0]!.actorId, BOOT_ID);
    assert.equal(ev[0]!.domainId, dId);
    assert.deepEqual(ev[0]!.details, { removed: 1 });
    // Nothing left: a second call is still 201, with nothing removed.
    const again = await scim(h, 'POST', URL_, admin, body);
    assert.equal(again.statusCode, 201, again.body);
    assert.equal(again.json().removed, 0);
  });

  test('403 insufficient_scope with only urn:opc:idm:t.users.read; nothing removed', async () => {
    const dId = await defaultDomainId();
    const carol = await newUser('factors-carol');
    await enrol(dId, carol);
    const before = events.length;
    const r = await scim(h, 'POST', URL_, usersRead, { schemas: [REMOVER], user: { value: carol } });
    assertScimError(r, 403);
    assert.match(String(r.headers['www-authenticate']), /error="insufficient_scope"/);
    assert.match(String(r.headers['www-authenticate']), /scope="urn:opc:idm:t\.users"/);
    assert.equal(await h.t.services.totp.hasFactor(dId, carol), true);
    assert.ok(!events.slice(before).some((e) => e.eventId === 'user.mfa.reset'));
    assert.ok(events.slice(before).some((e) => e.eventId === 'admin.access_denied'), 'the denial is audited');
  });

  test('401 without a token', async () => {
    const r = await h.inject({ method: 'POST', url: URL_, headers: { 'content-type': 'application/scim+json' }, payload: JSON.stringify({ schemas: [REMOVER], user: { value: 'x' } }) });
    assertScimError(r, 401);
  });

  test('404 for an unknown user, and for a user of another identity domain', async () => {
    assertScimError(await scim(h, 'POST', URL_, admin, { schemas: [REMOVER], user: { value: 'ffffffffffffffffffffffffffffffff' } }), 404);
    const d = await scim(h, 'POST', '/admin/v1/IdentityDomains', admin, { name: 'factors', displayName: 'Factors' });
    assert.equal(d.statusCode, 201, d.body);
    const { client_id, client_secret } = d.json().adminClient as { client_id: string; client_secret: string };
    const t = await clientToken(h, client_id, client_secret, 'urn:opc:idm:__myscopes__', '/domains/factors');
    assert.equal(t.statusCode, 200, t.body);
    const other = await scim(h, 'POST', '/domains/factors/admin/v1/Users', t.json().access_token, { schemas: [USER], userName: 'elsewhere' });
    assert.equal(other.statusCode, 201, other.body);
    const otherDomainId = (await h.t.services.catalogs.domainByName('factors'))!.id;
    await enrol(otherDomainId, other.json().id);
    assertScimError(await scim(h, 'POST', URL_, admin, { schemas: [REMOVER], user: { value: other.json().id } }), 404);
    assert.equal(await h.t.services.totp.hasFactor(otherDomainId, other.json().id), true, 'the other domain is untouched');
  });

  test('400 invalidValue without user.value; 400 invalidSyntax without the schema or a JSON object', async () => {
    for (const body of [
      { schemas: [REMOVER] },
      { schemas: [REMOVER], user: {} },
      { schemas: [REMOVER], user: { value: '' } },
      { schemas: [REMOVER], user: { value: 42 } },
      { schemas: [REMOVER], user: 'someone' },
      { schemas: [REMOVER], user: [{ value: 'x' }] },
      { schemas: [REMOVER], user: { value: 'x'.repeat(1000) } },
    ]) {
      assertScimError(await scim(h, 'POST', URL_, admin, body), 400, 'invalidValue');
    }
    for (const body of [{ user: { value: 'x' } }, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], user: { value: 'x' } }, [], 'x']) {
      assertScimError(await scim(h, 'POST', URL_, admin, body), 400, 'invalidSyntax');
    }
  });

  test('only POST: other methods are 404 in the SCIM shape', async () => {
    assertScimError(await scim(h, 'GET', URL_, admin), 404);
  });

  test('deleting a user removes their factors (DeleteUserFactorsHook)', async () => {
    const dId = await defaultDomainId();
    const dave = await newUser('factors-dave');
    await enrol(dId, dave);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Users/${dave}`, admin)).statusCode, 204);
    assert.equal(await h.t.services.totp.hasFactor(dId, dave), false);
    assert.equal(await h.t.services.totp.remainingRecoveryCodes(dId, dave), 0);
  });
});
