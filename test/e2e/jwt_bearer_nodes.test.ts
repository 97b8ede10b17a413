/**
 * The JWT bearer grant on the shapes it runs in: two nodes sharing one SQLite file, and two nodes on
 * PostgreSQL (skipped locally without a server, required in CI). An assertion id is used once across
 * nodes, because the store decides (RFC 7523 §3 item 7).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { openDatabase } from '../../src/storage/db.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from '../contract/pg.js';
import { assertOAuthError, decode, harness, post, type Harness } from '../helpers.js';
import { assertion, grant, world, type World } from '../jwt_bearer_world.js';

/** The flow both backends run: node A and node B answer for one store. */
function flow(nodes: () => [Harness, Harness], skip: string | false) {
  let w: World;
  before(async () => { if (!skip) w = await world(nodes()[0]); });
  const fromIdp = (h: Harness, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    assertion(h, w.idp.signer.key, { iss: w.idp.rec.issuer, sub: w.ada.email, ...claims }, { kid: 'idp-1', ...header });

  test('a trusted issuer\'s assertion on node B for a user and issuer created through node A; its refresh token works on node A', { skip }, async () => {
    const [a, b] = nodes();
    const r = await grant(b, await fromIdp(b), { scope: 'jb.read offline_access', auth: w.partner.auth });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(decode(r.json().access_token).payload.sub, w.ada.id);
    const refreshed = await post(a, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: r.json().refresh_token }, { authorization: w.partner.auth });
    assert.equal(refreshed.statusCode, 200, refreshed.body);
  });

  test('a client-signed assertion, with and without a user: client token and trusted-client user token', { skip }, async () => {
    const [, b] = nodes();
    const own = await grant(b, await assertion(b, w.self.signer.key, { iss: w.self.clientId, sub: w.self.clientId }, { kid: 'self-1' }), { scope: 'jb.read' });
    assert.equal(own.statusCode, 200, own.body);
    assert.equal(decode(own.json().access_token).payload.sub_type, 'client');
    const asUser = await grant(b, await assertion(b, w.trusted.signer.key, { iss: w.trusted.clientId, sub: w.ada.userName }, { alg: 'ES256', kid: 'trusted-1' }), { scope: 'jb.read' });
    assert.equal(asUser.statusCode, 200, asUser.body);
    assert.equal(decode(asUser.json().access_token).payload.sub, w.ada.id);
  });

  test('an assertion used on node A is refused on node B, for a trusted issuer and for a client (jti shared through the store)', { skip }, async () => {
    const [a, b] = nodes();
    const x = await fromIdp(a);
    assert.equal((await grant(a, x, { scope: 'jb.read', auth: w.partner.auth })).statusCode, 200);
    assertOAuthError(await grant(b, x, { scope: 'jb.read', auth: w.partner.auth }), 400, 'invalid_grant');
    const y = await assertion(a, w.self.signer.key, { iss: w.self.clientId, sub: w.self.clientId }, { kid: 'self-1' });
    assert.equal((await grant(b, y, { scope: 'jb.read' })).statusCode, 200);
    assertOAuthError(await grant(a, y, { scope: 'jb.read' }), 400, 'invalid_grant');
  });

  test('concurrent replays on both nodes: exactly one wins', { skip }, async () => {
    const [a, b] = nodes();
    const x = await fromIdp(a);
    const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => grant(i % 2 ? a : b, x, { scope: 'jb.read', auth: w.partner.auth })));
    assert.deepEqual(rs.map((r) => r.statusCode).sort(), [200, 400, 400, 400, 400, 400, 400, 400]);
  });

  test('unknown and disabled users, U+0000 in the names the store looks up: 400, never 500', { skip }, async () => {
    const [a] = nodes();
    for (const sub of ['nobody@example.com', w.bob.email]) assertOAuthError(await grant(a, await fromIdp(a, { sub }), { scope: 'jb.read', auth: w.partner.auth }), 400, 'invalid_grant');
    for (const c of [{ sub: 'a\u0000b' }, { iss: 'a\u0000b' }, { jti: 'a\u0000b' }]) {
      assertOAuthError(await grant(a, await fromIdp(a, c), { scope: 'jb.read', auth: w.partner.auth }), 400, 'invalid_grant');
    }
    assertOAuthError(await grant(a, await fromIdp(a, {}, { kid: 'a\u0000b' }), { scope: 'jb.read', auth: w.partner.auth }), 400, 'invalid_grant');
    // Without client authentication the iss would be looked up as a client id: refused before any lookup.
    assertOAuthError(await grant(a, await fromIdp(a, { iss: 'c\u0000d', sub: 'c\u0000d' }), { scope: 'jb.read' }), 400, 'invalid_grant');
  });
}

describe('JWT bearer grant: two nodes on one SQLite file', () => {
  let a: Harness;
  let b: Harness;
  const dir = mkdtempSync(join(tmpdir(), 'tessera-jb-'));
  before(async () => {
    const mk = new MasterKey(randomBytes(32));
    const file = `sqlite:${join(dir, 'shared.db')}`;
    // cacheTtlSeconds 0: each node sees what the other wrote at once.
    a = await harness({ config: { cacheTtlSeconds: 0 }, masterKey: mk, database: await openDatabase(file) });
    b = await harness({ config: { cacheTtlSeconds: 0 }, masterKey: mk, database: await openDatabase(file) });
  });
  after(async () => {
    for (const h of [a, b]) { await h?.close(); await h?.t.database.close(); }
    rmSync(dir, { recursive: true, force: true });
  });
  flow(() => [a, b], false);
});

describe('JWT bearer grant: two nodes on PostgreSQL', async () => {
  const available = await pgAvailable();
  const skip = available === true ? false : String(available);
  const schema = schemaName();
  let a: Harness;
  let b: Harness;
  before(async () => {
    if (skip) return;
    const mk = new MasterKey(randomBytes(32));
    a = await harness({ config: { cacheTtlSeconds: 0 }, masterKey: mk, database: await openDatabase(PG_URL, { pgSchema: schema }) });
    b = await harness({ config: { cacheTtlSeconds: 0 }, masterKey: mk, database: await openDatabase(PG_URL, { pgSchema: schema }) });
  });
  after(async () => {
    if (skip) return;
    for (const h of [a, b]) { await h.close(); await h.t.database.close(); }
    await dropSchema(schema);
  });
  flow(() => [a, b], skip);
});
