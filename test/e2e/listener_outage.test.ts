/**
 * Issue 10: PostgreSQL going away and coming back, as one node sees it. The node's connections (pool and
 * listener) go through a TCP relay the test cuts and restores, so the server itself keeps running for
 * everyone else; pg_terminate_backend ends the node's backends for the short kind of outage.
 * Stated behaviour (README, "Running several nodes"):
 * - while the listener is down, cached entries live at most TESSERA_CACHE_FALLBACK_TTL_SECONDS, and every
 *   cache is flushed when it goes down and again when it is back;
 * - requests that need the store answer 503, never a 200 from a cache;
 * - the node recovers without a restart: the listener reconnects (backoff with jitter) and resubscribes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { FixedClock } from '../../src/core/clock.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { openDatabase } from '../../src/storage/db.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from '../contract/pg.js';
import { adminToken, assertOAuthError, basic, clientToken, harness, post, scim, setupClient, type Harness } from '../helpers.js';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** A TCP relay to PostgreSQL that can be cut (every connection reset, new ones refused) and restored. */
class Relay {
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}
  async open(): Promise<void> {
    this.server = createServer((s) => {
      const up = connect(this.target.port, this.target.host);
      for (const x of [s, up]) { this.sockets.add(x); x.on('close', () => this.sockets.delete(x)); x.on('error', () => {}); }
      s.pipe(up).pipe(s);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.server!.address() as { port: number }).port;
  }
  async cut(): Promise<void> {
    await new Promise<void>((r) => { this.server!.close(() => r()); for (const s of this.sockets) s.resetAndDestroy(); });
  }
}

async function until(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('PostgreSQL away and back, seen from one node', async () => {
  const available = await pgAvailable();
  const skip = available === true ? false : String(available);
  const schema = schemaName();
  const target = new URL(PG_URL);
  const relay = new Relay({ host: target.hostname, port: Number(target.port || 5432) });
  const viaRelay = () => { const u = new URL(PG_URL); u.hostname = '127.0.0.1'; u.port = String(relay.port); u.searchParams.set('application_name', `outage-${schema}`.slice(0, 60)); return u.toString(); };
  let a: Harness;
  let b: Harness;
  let admin: string;
  let c: { clientId: string; secret: string; app: { id: string } };
  const config = { cacheTtlSeconds: 300, cacheFallbackTtlSeconds: 1 };
  before(async () => {
    if (skip) return;
    await relay.open();
    const mk = new MasterKey(randomBytes(32));
    a = await harness({ config, masterKey: mk, database: await openDatabase(PG_URL, { pgSchema: schema }) });
    b = await harness({ config, masterKey: mk, database: await openDatabase(viaRelay(), { pgSchema: schema }) });
    admin = await adminToken(a);
    c = await setupClient(a, { admin, scopes: ['out.read'] });
  });
  after(async () => {
    if (skip) return;
    for (const h of [a, b]) { await h.close().catch(() => {}); await h.t.database.close().catch(() => {}); }
    await relay.cut().catch(() => {});
    await dropSchema(schema);
  });

  test('pg_terminate_backend of the node\'s listener and pool: it reconnects, resubscribes, flushes, and hears changes again', { skip }, async () => {
    const feed = b.t.services.changes;
    assert.equal(feed.live, true);
    assert.equal((await clientToken(b, c.clientId, c.secret, 'out.read')).statusCode, 200);
    const flushes = feed.stats.flushes;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      const r = await admin.query('select count(*)::int as n from (select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1) t', [`outage-${schema}`.slice(0, 60)]);
      assert.ok(r.rows[0].n >= 2, `the listener and at least one pool connection: ${r.rows[0].n}`);
    } finally { await admin.end(); }
    await until('listener back', 5000, () => feed.live && feed.stats.reconnects >= 1);
    assert.ok(feed.stats.flushes >= flushes + 2, 'flushed when it went down and when it came back');
    // The pool's connections were ended too: the next requests make new ones (at most one 503 on the way, never a 500).
    await until('store back', 5000, async () => (await clientToken(b, c.clientId, c.secret, 'out.read')).statusCode === 200);
    // Resubscribed: a client disabled through node A is refused by B within a second, its 300 s cache notwithstanding.
    assert.equal((await scim(a, 'PATCH', `/admin/v1/Apps/${c.app.id}`, admin0(), { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] })).statusCode, 200);
    await until('disabled on B', 1000, async () => (await clientToken(b, c.clientId, c.secret, 'out.read')).statusCode === 401);
    assertOAuthError(await clientToken(b, c.clientId, c.secret, 'out.read'), 401, 'invalid_client');
    assert.equal((await scim(a, 'PATCH', `/admin/v1/Apps/${c.app.id}`, admin0(), { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: true }] })).statusCode, 200);
    await until('enabled on B', 1000, async () => (await clientToken(b, c.clientId, c.secret, 'out.read')).statusCode === 200);
  });
  const admin0 = () => admin;

  test('the store away: 503 for everything that needs it (a revoked token never validates from a cache), then recovery without restart', { skip }, async () => {
    const feed = b.t.services.changes;
    const auth = basic(c.clientId, c.secret);
    const at = (await clientToken(b, c.clientId, c.secret, 'out.read')).json().access_token as string;
    assert.equal((await post(b, '/oauth2/v1/introspect', { token: at }, { authorization: auth })).json().active, true, 'warm: client, keys and domain cached on B');
    assert.equal((await post(a, '/oauth2/v1/revoke', { token: at }, { authorization: auth })).statusCode, 200);
    await relay.cut();
    await until('listener down', 2000, () => !feed.live);
    // Everything cached was flushed when the listener went down: the token endpoint and introspection need the store.
    assertOAuthError(await post(b, '/oauth2/v1/introspect', { token: at }, { authorization: auth }), 503, 'temporarily_unavailable');
    assertOAuthError(await clientToken(b, c.clientId, c.secret, 'out.read'), 503, 'temporarily_unavailable');
    assertOAuthError(await post(b, '/oauth2/v1/revoke', { token: at }, { authorization: auth }), 503, 'temporarily_unavailable');
    const w = await scim(b, 'GET', '/admin/v1/Apps', admin);
    assert.equal(w.statusCode, 503, w.body);
    // Back: no restart; the listener reconnects by itself (backoff with jitter, at most 5 s apart).
    await relay.open();
    await until('listener back', 8000, () => feed.live);
    await until('store back', 5000, async () => (await clientToken(b, c.clientId, c.secret, 'out.read')).statusCode === 200);
    assert.deepEqual((await post(b, '/oauth2/v1/introspect', { token: at }, { authorization: auth })).json(), { active: false });
  });

  test('a listener that cannot connect while the store stays: cached entries live at most the fallback TTL (1 s here), not the 300 s cache TTL', { skip }, async () => {
    // Node C: its pool reaches the store, its listener an address where nothing listens.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const cfg = { ...config, listenDatabaseUrl: `postgres://postgres@127.0.0.1:${port}/test` };
    const h = await harness({ config: cfg, masterKey: a.t.services.masterKey, database: await openDatabase(PG_URL, { pgSchema: schema }) });
    try {
      assert.equal(h.t.services.changes.live, false);
      const d = await setupClient(a, { admin, scopes: ['out.fb'] });
      assert.equal((await clientToken(h, d.clientId, d.secret, 'out.fb')).statusCode, 200, 'C caches the client as active');
      assert.equal((await scim(a, 'PATCH', `/admin/v1/Apps/${d.app.id}`, admin, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] })).statusCode, 200);
      // C cannot hear it: what it cached stays until the fallback TTL (the stated bound), no longer.
      assert.equal((await clientToken(h, d.clientId, d.secret, 'out.fb')).statusCode, 200, 'within the fallback TTL');
      (h.clock as FixedClock).advance(1000);
      assertOAuthError(await clientToken(h, d.clientId, d.secret, 'out.fb'), 401, 'invalid_client');
    } finally {
      await h.close();
      await h.t.database.close();
    }
  });
});
