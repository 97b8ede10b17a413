import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { newId } from '../../src/core/ids.js';
import { migrate, openDatabase, type Database_ } from '../../src/storage/db.js';
import { kyselyRepositories } from '../../src/storage/kysely.js';
import { changeRecorder } from '../../src/cache/changes.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from './pg.js';

/**
 * Migration 0004 (userName keys become RFC 8265 keys) from a database as 0003 left it: keys that
 * were toLowerCase only, some of whose users now are the same name. Run on every backend.
 */
function suite(name: string, open: () => Promise<{ db: Database_; cleanup: () => Promise<void> }>, skip: () => string | false) {
  describe(`migration 0004_usernames: ${name}`, { skip: skip() }, () => {
    let db: Database_;
    let cleanup: () => Promise<void>;
    const logged: string[] = [];
    const d1 = newId();
    const d2 = newId();
    const ids: Record<string, string> = {};
    const t0 = 1_700_000_000_000;

    // [label, domain, userName as stored by 0003's code]
    const rows: [string, string, string][] = [
      ['ada', d1, 'ada'],
      ['fullwidth ADA (same name as ada, newer)', d1, 'ＡＤＡ'],
      ['ligature', d1, '\uFB01ona'],
      ['combining', d1, 'cafe\u0301'],
      ['fullwidth Zoe', d1, 'Ｚｏｅ'],
      ['Kelvin', d1, '\u212Aim'],
      ['space', d1, 'Ada Lovelace'],
      ['invisible', d1, 'bob\u200B'],
      ['fullwidth ADA, other domain', d2, 'ＡＤＡ'],
    ];

    const insert = async (k: Kysely<any>, label: string, domainId: string, userName: string, i: number) => {
      const id = newId();
      ids[label] = id;
      await k.insertInto('users').values({
        id, domain_id: domainId, user_name: userName, user_name_lower: userName.toLowerCase(), external_id: null, active: 1, display_name: null,
        display_name_lower: null, given_name_lower: null, family_name_lower: null, email_lower: null, data: '{}', password_hash: null,
        password_history: '[]', version: 1, created_at: t0 + i, updated_at: t0 + i,
      }).execute();
    };
    const keyOf = async (label: string) =>
      ((await (db.db as Kysely<any>).selectFrom('users').select('user_name_lower').where('id', '=', ids[label]!).executeTakeFirstOrThrow()) as { user_name_lower: string }).user_name_lower;

    before(async () => {
      ({ db, cleanup } = await open());
      assert.deepEqual(await migrate(db.db, { to: '0003_signin' }), ['0001_initial', '0002_users_groups', '0003_signin']);
      const k = db.db as Kysely<any>;
      for (const [id, n] of [[d1, 'one'], [d2, 'two']] as const) {
        await k.insertInto('domains').values({ id, name: n, display_name: n, settings: '{}', created_at: t0, updated_at: t0 }).execute();
      }
      let i = 0;
      for (const [label, domainId, userName] of rows) await insert(k, label, domainId, userName, i++);
      assert.deepEqual((await migrate(db.db, { log: (m) => logged.push(m) }))[0], '0004_usernames');
    });
    after(async () => { await db?.close(); await cleanup?.(); });

    test('keys are recomputed: look-alikes are now found by the names they look like', async () => {
      assert.equal(await keyOf('ligature'), 'fiona');
      assert.equal(await keyOf('combining'), 'caf\u00E9');
      assert.equal(await keyOf('fullwidth Zoe'), 'zoe');
      assert.equal(await keyOf('Kelvin'), 'kim');
      assert.equal(await keyOf('fullwidth ADA, other domain'), 'ada', 'keys are unique per domain only');
      const users = kyselyRepositories(db.db, changeRecorder(db.dialect)).users;
      assert.equal((await users.getByUserName(d1, 'ZOE'))?.id, ids['fullwidth Zoe']);
      assert.equal((await users.getByUserName(d1, 'ﬁona'))?.id, ids.ligature);
      assert.equal((await users.getByUserName(d1, 'CAFÉ'))?.id, ids.combining);
      assert.equal((await users.getByUserName(d2, 'ada'))?.id, ids['fullwidth ADA, other domain']);
      // The stored names are left as they were: only the key changes.
      assert.equal((await users.get(d1, ids['fullwidth Zoe']!))?.userName, 'Ｚｏｅ');
    });

    test('a collision keeps the older user on the name; the newer row is left as it was and logged', async () => {
      assert.equal(await keyOf('ada'), 'ada');
      assert.equal(await keyOf('fullwidth ADA (same name as ada, newer)'), 'ａｄａ');
      assert.equal((await kyselyRepositories(db.db, changeRecorder(db.dialect)).users.getByUserName(d1, 'ＡＤＡ'))?.id, ids.ada);
      assert.ok(logged.some((m) => m.includes(ids['fullwidth ADA (same name as ada, newer)']!) && m.includes(ids.ada!) && /rename/.test(m)), logged.join('\n'));
    });

    test('names the new rules refuse keep a key, are logged, and are not signed in by', async () => {
      assert.equal(await keyOf('space'), 'ada lovelace');
      assert.equal(await keyOf('invisible'), 'bob\u200B');
      for (const label of ['space', 'invisible']) assert.ok(logged.some((m) => m.includes(ids[label]!) && /refused by RFC 8265/.test(m)), label);
      assert.equal(await kyselyRepositories(db.db, changeRecorder(db.dialect)).users.getByUserName(d1, 'bob\u200B'), undefined);
      assert.match(logged.at(-1)!, /1 left unchanged .* 2 names refused/);
    });

    test('a second run applies nothing', async () => {
      assert.deepEqual(await migrate(db.db), []);
    });
  });
}

suite('SQLite', async () => ({ db: await openDatabase('sqlite::memory:'), cleanup: async () => {} }), () => false);

let pgState: boolean | string = await pgAvailable();
const schema = schemaName();
suite('PostgreSQL', async () => {
  if (pgState !== true) pgState = await pgAvailable();
  return { db: await openDatabase(PG_URL, { pgSchema: schema }), cleanup: () => dropSchema(schema) };
}, () => (pgState === true ? false : String(pgState)));
