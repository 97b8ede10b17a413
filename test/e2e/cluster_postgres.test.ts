/**
 * Issue 10, every core, on PostgreSQL: TESSERA_WORKERS=2 in a fresh schema. Each worker has its own
 * pool of TESSERA_DATABASE_POOL_SIZE connections (the node never holds more than workers x pool),
 * writes from both workers land, audit batches are flushed at SIGTERM, and a node configured past the
 * server's max_connections is told so at start-up.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { adminToken, basic, post, setupClient } from '../helpers.js';
import { startCluster, type Cluster } from '../cluster_world.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from '../contract/pg.js';

describe('tessera serve with TESSERA_WORKERS=2 on PostgreSQL', async () => {
  const available = await pgAvailable();
  const skip = available === true ? false : String(available);
  const schema = schemaName();
  const app = `tessera_cluster_${process.pid}`;
  const url = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}&application_name=${app}`;
  let dir: string;
  let c: Cluster;
  let admin: pg.Client;
  before(async () => {
    if (skip) return;
    dir = mkdtempSync(join(tmpdir(), 'tessera-cluster-pg-'));
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    c = await startCluster({ TESSERA_DATA_DIR: dir, TESSERA_DATABASE_URL: url, TESSERA_DATABASE_POOL_SIZE: '3', TESSERA_AUDIT_FAILURES_PER_MINUTE: '0' });
  });
  after(async () => {
    if (skip) return;
    if (c && c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await admin.end();
    await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  test('pools per worker stay within workers x TESSERA_DATABASE_POOL_SIZE; writes from both workers land; SIGTERM flushes audit', { skip }, async () => {
    const h = c.harness;
    const token = await adminToken(h);
    const cc = await setupClient(h, { admin: token, scopes: ['pg.opaque'], rs: { accessTokenFormat: 'opaque' } });
    const tokens = await Promise.all(Array.from({ length: 80 }, () => post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'pg.opaque' }, { authorization: basic(cc.clientId, cc.secret) })));
    const bad = await Promise.all(Array.from({ length: 40 }, () => post(h, '/oauth2/v1/token', { grant_type: 'client_credentials' }, { authorization: basic(cc.clientId, 'wrong-secret-wrong-secret-wrong') })));
    assert.deepEqual(tokens.map((r) => r.statusCode), tokens.map(() => 200));
    assert.deepEqual(bad.map((r) => r.statusCode), bad.map(() => 401));
    const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [app]);
    // 80 concurrent requests wanted more; each worker's pool capped it at 3, plus its LISTEN connection. The primary's are closed.
    assert.ok(rows.length >= 2 && rows.length <= 8, `${rows.length} connections`);
    const intro = await Promise.all(tokens.map((t) => post(h, '/oauth2/v1/introspect', { token: t.json().access_token as string }, { authorization: basic(cc.clientId, cc.secret) })));
    assert.deepEqual(intro.map((r) => r.json().active), tokens.map(() => true));

    const stopped = await c.stop('SIGTERM');
    assert.equal(stopped.code, 0);
    const count = async (event: string) => Number((await admin.query<{ n: string }>(`select count(*) n from ${schema}.audit_events where event_id = $1`, [event])).rows[0]!.n);
    assert.equal(await count('client_auth.failed'), 40);
    assert.equal(await count('token.issued'), 81);
    const left = await admin.query('select pid from pg_stat_activity where application_name = $1', [app]);
    assert.equal(left.rows.length, 0, 'every pool closed at exit');
  });

  test('a node whose workers x pool size exceeds the free connections says so at start-up, and still serves', { skip }, async () => {
    const big = await startCluster({ TESSERA_DATA_DIR: dir, TESSERA_DATABASE_URL: url, TESSERA_DATABASE_POOL_SIZE: '1000' });
    try {
      const warn = big.logs.find((l) => l.level === 40 && l.msg.includes('PostgreSQL connections'));
      assert.ok(warn, JSON.stringify(big.logs.map((l) => l.msg)));
      assert.match(warn.msg, /2 workers x \(1000 \+ 1 for LISTEN\) = 2002 PostgreSQL connections, but only \d+ of max_connections \d+ are free/);
      assert.equal((await adminToken(big.harness)).length > 0, true);
    } finally {
      assert.equal((await big.stop('SIGTERM')).code, 0);
    }
  });
});
