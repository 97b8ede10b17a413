import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { openDatabase } from '../../../src/storage/db.js';
import { isStoreUnavailable } from '../../../src/storage/errors.js';
import { fromStore } from '../../../src/storage/store_errors.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

test('network error codes count as a store outage only when the database driver raised them', async () => {
  // PostgreSQL on a port nobody listens on: the pool's ECONNREFUSED passes through the driver.
  const db = await openDatabase('postgres://postgres@127.0.0.1:1/none');
  try {
    const e = await sql`select 1`.execute(db.db).then(() => undefined, (x: unknown) => x);
    assert.equal((e as { code?: string }).code, 'ECONNREFUSED');
    assert.equal(fromStore(e), true);
    assert.equal(isStoreUnavailable(e), true);
  } finally {
    await db.close();
  }
  // The same codes from anywhere else (a client's aborted request, an outbound fetch) are not.
  for (const e of [withCode('aborted', 'ECONNRESET'), withCode('connect ECONNREFUSED', 'ECONNREFUSED'), withCode('write EPIPE', 'EPIPE'),
    withCode('x', 'ETIMEDOUT'), withCode('x', '08006'), withCode('x', 'SQLITE_BUSY'), new Error('Connection terminated unexpectedly')]) {
    assert.equal(isStoreUnavailable(e), false, `${(e as { code?: string }).code ?? e.message} outside the driver`);
  }
});

test('SQLite errors are marked too; a constraint violation is no outage; a destroyed database is', async () => {
  const db = await openDatabase('sqlite::memory:');
  await sql`create table t (id integer primary key)`.execute(db.db);
  await sql`insert into t values (1)`.execute(db.db);
  const dup = await sql`insert into t values (1)`.execute(db.db).then(() => undefined, (x: unknown) => x);
  assert.equal(fromStore(dup), true);
  assert.equal(isStoreUnavailable(dup), false, 'a unique violation is a conflict, not an outage');
  const bad = await sql`select * from missing`.execute(db.db).then(() => undefined, (x: unknown) => x);
  assert.equal(fromStore(bad), true);
  assert.equal(isStoreUnavailable(bad), false);
  // errors inside a transaction keep their mark through the rollback; our own errors get none
  class Mine extends Error {}
  const inTrx = await db.db.transaction().execute(async (trx) => { await sql`insert into t values (1)`.execute(trx); })
    .then(() => undefined, (x: unknown) => x);
  assert.equal(fromStore(inTrx), true);
  const own = await db.db.transaction().execute(async () => { throw new Mine(); }).then(() => undefined, (x: unknown) => x);
  assert.ok(own instanceof Mine);
  assert.equal(fromStore(own), false);
  await db.close();
  const gone = await sql`select 1`.execute(db.db).then(() => undefined, (x: unknown) => x);
  assert.equal(isStoreUnavailable(gone), true);
});
