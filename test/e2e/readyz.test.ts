/** Issue 10: GET /healthz (alive) and GET /readyz (store, migrations, keys), 503 when not ready. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, sql, type DatabaseConnection, type Driver } from 'kysely';
import type { LightMyRequestResponse } from 'fastify';
import { DEFAULT_DOMAIN } from '../../src/core/types.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { pendingMigrations, ReadinessChecks } from '../../src/http/health.js';
import { openDatabase } from '../../src/storage/db.js';
import type { DB } from '../../src/storage/schema.js';
import { harness } from '../helpers.js';
import { PG_URL, pgAvailable, dropSchema, schemaName } from '../contract/pg.js';

type Checks = Record<'store' | 'migrations' | 'keys', { status: string; detail?: string }>;

function readyz(r: LightMyRequestResponse, status: 200 | 503): Checks {
  assert.equal(r.statusCode, status, r.body);
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.match(String(r.headers['content-type']), /^application\/json/);
  const b = r.json();
  assert.deepEqual(Object.keys(b).sort(), ['checks', 'status']);
  assert.equal(b.status, status === 200 ? 'ready' : 'not_ready');
  assert.deepEqual(Object.keys(b.checks).sort(), ['keys', 'migrations', 'store']);
  for (const c of Object.values(b.checks) as { status: string; detail?: string }[]) {
    assert.ok(c.status === 'ok' ? Object.keys(c).length === 1 : c.status === 'failed' && typeof c.detail === 'string', JSON.stringify(c));
  }
  assert.doesNotMatch(r.body, /destroyed|sqlite|kysely_|SQLITE|ECONN/i, 'no driver internals');
  return b.checks as Checks;
}

describe('health and readiness', () => {
  test('/healthz: 200 {"status":"ok"}, not cached; /readyz: 200 with every check ok', async () => {
    const h = await harness();
    try {
      const live = await h.inject({ url: '/healthz' });
      assert.equal(live.statusCode, 200);
      assert.deepEqual(live.json(), { status: 'ok' });
      assert.equal(live.headers['cache-control'], 'no-store');
      const c = readyz(await h.inject({ url: '/readyz' }), 200);
      assert.deepEqual(c, { store: { status: 'ok' }, migrations: { status: 'ok' }, keys: { status: 'ok' } });
      assert.equal((await h.inject({ method: 'POST', url: '/readyz' })).statusCode, 404);
    } finally { await h.close(); }
  });

  test('store down: /readyz 503 naming the store; /healthz stays 200 (a liveness probe must not restart nodes for an outage)', async () => {
    const h = await harness();
    try {
      readyz(await h.inject({ url: '/readyz' }), 200);
      await h.t.database.db.destroy();
      const c = readyz(await h.inject({ url: '/readyz' }), 503);
      assert.deepEqual(c.store, { status: 'failed', detail: 'the store is unavailable' });
      assert.equal((await h.inject({ url: '/healthz' })).statusCode, 200);
    } finally { await h.close().catch(() => {}); }
  });

  test('store down before the first probe: migrations cannot be confirmed either', async () => {
    const h = await harness();
    try {
      await h.t.database.db.destroy();
      const c = readyz(await h.inject({ url: '/readyz' }), 503);
      assert.equal(c.store.status, 'failed');
      assert.equal(c.migrations.status, 'failed');
    } finally { await h.close().catch(() => {}); }
  });

  test('migrations not current: 503 naming the migration that has not run', async () => {
    const h = await harness();
    try {
      await sql`delete from kysely_migration where name = '0007_device_codes'`.execute(h.t.database.db);
      const c = readyz(await h.inject({ url: '/readyz' }), 503);
      assert.equal(c.migrations.status, 'failed');
      assert.match(c.migrations.detail!, /^1 migration\(s\) not run: 0007_device_codes /);
      assert.equal(c.store.status, 'ok');
      assert.equal(c.keys.status, 'ok');
      await sql`insert into kysely_migration (name, timestamp) values ('0007_device_codes', ${new Date().toISOString()})`.execute(h.t.database.db);
      readyz(await h.inject({ url: '/readyz' }), 200);
    } finally { await h.close(); }
  });

  test('pendingMigrations: all of them on an empty database, without creating the migration table', async () => {
    const d = await openDatabase('sqlite::memory:');
    try {
      const pending = await pendingMigrations(d.db);
      assert.ok(pending.length >= 7 && pending[0] === '0001_initial', pending.join(' '));
      const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(d.db);
      assert.deepEqual(tables.rows, [], 'a probe creates nothing');
    } finally { await d.close(); }
  });

  test('no signing key for the default domain: 503 naming the keys', async () => {
    const h = await harness();
    try {
      const domain = await h.t.services.catalogs.domainByName(DEFAULT_DOMAIN);
      await h.t.database.db.deleteFrom('signing_keys').where('domain_id', '=', domain!.id).execute();
      h.t.services.keys.invalidate(domain!.id);
      const c = readyz(await h.inject({ url: '/readyz' }), 503);
      assert.deepEqual(c.keys, { status: 'failed', detail: 'no active signing key in the default identity domain' });
      assert.equal(c.store.status, 'ok');
    } finally { await h.close(); }
  });

  test('keys that do not decrypt (a node started with another master key): 503, keys cannot be loaded', async () => {
    const h = await harness();
    try {
      readyz(await h.inject({ url: '/readyz' }), 200);
      const other = await harness({ database: h.t.database, masterKey: new MasterKey(randomBytes(32)) });
      try {
        const c = readyz(await other.inject({ url: '/readyz' }), 503);
        assert.deepEqual(c.keys, { status: 'failed', detail: 'the signing keys cannot be loaded' });
      } finally { await other.close(); }
    } finally { await h.close(); }
  });

  test('a store that does not answer: each check gives up after its timeout, and the probe answers 503 in time', async () => {
    const hanging = new Kysely<DB>({
      dialect: {
        createAdapter: () => new SqliteAdapter(),
        createIntrospector: (db) => new SqliteIntrospector(db),
        createQueryCompiler: () => new SqliteQueryCompiler(),
        createDriver: (): Driver => ({
          init: async () => {},
          acquireConnection: async (): Promise<DatabaseConnection> => ({ executeQuery: () => new Promise(() => {}), streamQuery: () => { throw new Error('no'); } }),
          beginTransaction: async () => {}, commitTransaction: async () => {}, rollbackTransaction: async () => {},
          releaseConnection: async () => {}, destroy: async () => {},
        }),
      },
    });
    const h = await harness();
    try {
      const checks = new ReadinessChecks({ ...h.t.services, catalogs: { domainByName: () => new Promise(() => {}) } as never }, hanging, 100);
      const start = Date.now();
      const r = await checks.run();
      assert.ok(Date.now() - start < 1000, `answered in ${Date.now() - start} ms`);
      assert.equal(r.ready, false);
      for (const c of Object.values(r.checks)) assert.deepEqual(c, { status: 'failed', detail: 'no answer within 100 ms' });
    } finally { await h.close(); }
  });

  test('PostgreSQL: ready, and pending migrations read from its migration table', async (t) => {
    const ok = await pgAvailable();
    if (ok !== true) { t.skip(String(ok)); return; }
    const schema = schemaName();
    const d = await openDatabase(PG_URL, { pgSchema: schema });
    try {
      assert.ok((await pendingMigrations(d.db)).length >= 7, 'an empty schema has every migration pending');
      const h = await harness({ database: d });
      try {
        readyz(await h.inject({ url: '/readyz' }), 200);
        assert.deepEqual(await pendingMigrations(d.db), []);
      } finally { await h.close(); }
    } finally { await d.close(); await dropSchema(schema); }
  });
});
