import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FixedClock } from '../../src/core/clock.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { openDatabase } from '../../src/storage/db.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from '../contract/pg.js';
import { adminToken, basic, clientToken, decode, harness, post, scim, setupClient, type Harness } from '../helpers.js';

/**
 * Two stateless nodes on one PostgreSQL database (the production shape): whatever one node writes,
 * the other sees; nothing lives only in a node's memory (security checklist RL-1, RL-3).
 */
describe('two nodes sharing one PostgreSQL database', async () => {
  const available = await pgAvailable();
  const schema = schemaName();
  let a: Harness;
  let b: Harness;

  before(async () => {
    if (available !== true) return;
    const mk = new MasterKey(randomBytes(32));
    // cacheTtlSeconds 0: every request sees the database as it is (production default: 5 s).
    const config = { cacheTtlSeconds: 0 };
    a = await harness({ config, masterKey: mk, database: await openDatabase(PG_URL, { pgSchema: schema }) });
    b = await harness({ config, masterKey: mk, database: await openDatabase(PG_URL, { pgSchema: schema }) });
  });
  after(async () => {
    if (available !== true) return;
    for (const h of [a, b]) { await h.close(); await h.t.database.close(); }
    await dropSchema(schema);
  });

  test('a client created on node A gets tokens from node B; both publish the same keys', { skip: available === true ? false : String(available) }, async () => {
    const admin = await adminToken(a);
    const c = await setupClient(a, { admin, scopes: ['mn.read'] });
    const r = await clientToken(b, c.clientId, c.secret, 'mn.read');
    assert.equal(r.statusCode, 200, r.body);
    const ja = (await a.inject({ url: '/admin/v1/SigningCert/jwk' })).json();
    const jb = (await b.inject({ url: '/admin/v1/SigningCert/jwk' })).json();
    assert.deepEqual(ja, jb);
  });

  test('a token revoked on node B is inactive on node A at once; so is an opaque token issued on A', { skip: available === true ? false : String(available) }, async () => {
    const admin = await adminToken(b);
    const c = await setupClient(b, { admin, scopes: ['mn.rev'] });
    const at = (await clientToken(a, c.clientId, c.secret, 'mn.rev')).json().access_token;
    const intro = (h: Harness) => post(h, '/oauth2/v1/introspect', { token: at }, { authorization: basic(c.clientId, c.secret) });
    assert.equal((await intro(a)).json().active, true);
    assert.equal((await post(b, '/oauth2/v1/revoke', { token: at }, { authorization: basic(c.clientId, c.secret) })).statusCode, 200);
    assert.deepEqual((await intro(a)).json(), { active: false });

    const o = await setupClient(a, { admin, scopes: ['mn.opaque'], rs: { accessTokenFormat: 'opaque' } });
    const ot = (await clientToken(a, o.clientId, o.secret, 'mn.opaque')).json().access_token;
    const oi = await post(b, '/oauth2/v1/introspect', { token: ot }, { authorization: basic(o.clientId, o.secret) });
    assert.equal(oi.json().active, true);
  });

  test('an assertion jti used on one node is refused on the other', { skip: available === true ? false : String(available) }, async () => {
    const repos = [a.t.services.repos, b.t.services.repos];
    const d = (await repos[0]!.domains.getByName('default'))!;
    const exp = Date.now() + 60_000;
    const both = await Promise.all(repos.map((r) => r.assertionJtis.consume(d.id, 'c', 'shared-jti', exp, Date.now())));
    assert.deepEqual(both.sort(), [false, true]);
  });

  test('a key for a new alg published through node A: both nodes sign with the default alg until the delay passes, then promote it at once, together', { skip: available === true ? false : String(available) }, async () => {
    const admin = await adminToken(a);
    const c = await setupClient(a, { admin, scopes: ['mn.new'], rs: { accessTokenSigningAlg: 'EdDSA' } });
    const tok = async (h: Harness) => { const r = await clientToken(h, c.clientId, c.secret, 'mn.new'); assert.equal(r.statusCode, 200, r.body); return decode(r.json().access_token).header; };
    for (const h of [a, b]) assert.equal((await tok(h)).alg, 'RS256');
    const delay = a.t.services.config.keyPublishDelaySeconds * 1000;
    assert.equal(delay, 300_000, 'the JWKS max-age plus a cache TTL of 0');
    for (const h of [a, b]) (h.clock as FixedClock).advance(delay);
    const headers = await Promise.all([a, b, a, b, a, b, a, b].map(tok));
    assert.deepEqual(new Set(headers.map((x) => x.alg)), new Set(['EdDSA']));
    assert.equal(new Set(headers.map((x) => x.kid)).size, 1, 'one key signs on both nodes');
    const d = (await a.t.services.repos.domains.getByName('default'))!;
    const ed = (await a.t.services.repos.keys.list(d.id)).filter((k) => k.alg === 'EdDSA');
    assert.deepEqual(ed.map((k) => k.status).sort(), ['active', 'next'], 'exactly one active and one next key');
    assert.equal(ed.find((k) => k.status === 'active')!.kid, headers[0]!.kid);
  });

  test('keys rotated through node A sign on node B; tokens from before stay valid everywhere', { skip: available === true ? false : String(available) }, async () => {
    const admin = await adminToken(a);
    const c = await setupClient(a, { admin, scopes: ['mn.rot'] });
    const before = (await clientToken(b, c.clientId, c.secret, 'mn.rot')).json().access_token;
    const rot = await scim(a, 'POST', '/admin/v1/SigningKeys/rotate', admin, { alg: 'RS256' });
    assert.equal(rot.statusCode, 200, rot.body);
    const afterTok = (await clientToken(b, c.clientId, c.secret, 'mn.rot')).json().access_token;
    assert.equal(decode(afterTok).header.kid, rot.json().active);
    assert.notEqual(decode(before).header.kid, rot.json().active);
    for (const h of [a, b]) {
      for (const t of [before, afterTok]) {
        const r = await post(h, '/oauth2/v1/introspect', { token: t }, { authorization: basic(c.clientId, c.secret) });
        assert.equal(r.json().active, true);
      }
    }
    const jwks = (await b.inject({ url: '/admin/v1/SigningCert/jwk' })).json().keys.map((k: { kid: string }) => k.kid);
    assert.ok(jwks.includes(rot.json().next), 'the new next key is published before it signs');
    assert.ok(jwks.includes(decode(before).header.kid), 'the retired key stays published');
  });
});
