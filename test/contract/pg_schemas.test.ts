/**
 * Two Tesseras in one PostgreSQL database, each in its own schema (search_path): migrating the second must
 * neither skip creating its own migration tables because the first's are visible nor touch the first's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { migrate, openDatabase } from '../../src/storage/db.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from './pg.js';

const pg = await pgAvailable();

test('a second schema in the same database migrates on its own', { skip: pg === true ? false : String(pg) }, async () => {
  const [a, b] = [schemaName(), schemaName()];
  const first = await openDatabase(PG_URL, { pgSchema: a });
  const second = await openDatabase(PG_URL, { pgSchema: b });
  try {
    const quiet = { log: () => {} };
    const appliedA = await migrate(first.db, quiet);
    assert.ok(appliedA.length > 0);
    // Before the fix Kysely found schema a's kysely_migration_lock and failed with 42P01 on schema b's.
    assert.deepEqual(await migrate(second.db, quiet), appliedA);
    assert.deepEqual(await migrate(first.db, quiet), [], 'schema a is up to date and untouched');
    const tables = async (schema: string) => (await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = ${schema} and table_name like 'kysely_migration%'`.execute(first.db)).rows[0]!.n;
    assert.equal(await tables(a), 2);
    assert.equal(await tables(b), 2);
  } finally {
    await first.close(); await second.close();
    await dropSchema(a); await dropSchema(b);
  }
});
