import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { migrate, openDatabase, type Database_ } from '../../src/storage/db.js';
import { kyselyRepositories } from '../../src/storage/kysely.js';
import { changeRecorder, parseChange, PG_CHANNEL_SQL, type CacheChange } from '../../src/cache/changes.js';
import { StaleVersion, type Repositories } from '../../src/storage/ports.js';
import { newApp } from '../../src/identity/domains.js';
import { newId } from '../../src/core/ids.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from './pg.js';

/** Every write to cached data announces itself, in its own transaction: committed writes only, one change each. */
function contract(name: string, open: () => Promise<{ db: Database_; heard: () => Promise<CacheChange[]>; cleanup: () => Promise<void> }>, skip: string | false) {
  describe(`cache change announcements: ${name}`, { skip }, () => {
    let db: Database_;
    let r: Repositories;
    let heard: () => Promise<CacheChange[]>;
    let cleanup: () => Promise<void>;
    const now = Date.now();
    const d = { id: newId(), name: `d${Math.floor(Math.random() * 1e6)}`, displayName: 'D', settings: {}, createdAt: now, updatedAt: now };
    before(async () => {
      ({ db, heard, cleanup } = await open());
      await migrate(db.db);
      r = kyselyRepositories(db.db, changeRecorder(db.dialect));
      await heard();
    });
    after(async () => { await db?.close(); await cleanup?.(); });

    test('domains, apps, roles and grants to apps are announced; a user\'s grants and a lost race are not', async () => {
      await r.domains.create(d);
      await r.domains.updateSettings(d.id, { accessTokenTtl: 600 }, now);
      const app = newApp(d.id, now, { displayName: 'c', isOAuthClient: true, clientId: 'cid-a', allowedGrants: ['client_credentials'] });
      await r.apps.create(app);
      const updated = await r.apps.update({ ...app, displayName: 'c2' }, app.version);
      await assert.rejects(r.apps.update({ ...app, displayName: 'c3' }, app.version), StaleVersion);
      const role = { id: newId(), domainId: d.id, appId: app.id, displayName: 'R', scopes: [], isBuiltIn: false, version: 1, createdAt: now, updatedAt: now };
      await r.appRoles.create(role);
      const g = (type: 'App' | 'User') => ({ id: newId(), domainId: d.id, appId: app.id, appRoleId: role.id, granteeType: type, granteeId: newId(), mechanism: 'x', version: 1, createdAt: now, updatedAt: now });
      const [ga, gu] = [g('App'), g('User')];
      await r.grants.create(gu);
      await r.grants.delete(d.id, gu.id);
      await r.grants.create(ga);
      await r.grants.delete(d.id, ga.id);
      assert.equal(await r.apps.delete(d.id, app.id, updated.version), true);
      assert.equal(await r.apps.delete(d.id, app.id), false, 'nothing deleted, nothing announced');
      assert.deepEqual(await heard(), [
        { domainId: d.id, kind: 'domain', id: d.name }, { domainId: d.id, kind: 'domain', id: d.name },
        { domainId: d.id, kind: 'app', id: 'cid-a' }, { domainId: d.id, kind: 'app', id: 'cid-a' },
        { domainId: d.id, kind: 'catalog' }, { domainId: d.id, kind: 'catalog' }, { domainId: d.id, kind: 'catalog' },
        { domainId: d.id, kind: 'app', id: 'cid-a' },
      ]);
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'tessera-cc-'));
contract('SQLite (the change log)', async () => {
  const db = await openDatabase(`sqlite:${join(dir, 'cc.db')}`);
  let cursor = 0;
  return {
    db, cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    heard: async () => {
      const rows = await db.db.withTables<{ cache_changes: { id: number; domain_id: string; kind: string; ref: string | null; at: number } }>()
        .selectFrom('cache_changes').selectAll().where('id', '>', cursor).orderBy('id').execute();
      cursor = rows.at(-1)?.id ?? cursor;
      return rows.map((x) => ({ domainId: x.domain_id, kind: x.kind, ...(x.ref !== null ? { id: x.ref } : {}) }) as CacheChange);
    },
  };
}, false);

const available = await pgAvailable();
const schema = schemaName();
contract('PostgreSQL (NOTIFY at commit)', async () => {
  const db = await openDatabase(PG_URL, { pgSchema: schema });
  const channel = (await sql<{ ch: string }>`select ${PG_CHANNEL_SQL} as ch`.execute(db.db)).rows[0]!.ch;
  const l = new pg.Client({ connectionString: PG_URL });
  await l.connect();
  const got: CacheChange[] = [];
  l.on('notification', (n) => { if (n.channel === channel) got.push(parseChange(n.payload)!); });
  await l.query(`LISTEN "${channel}"`);
  return {
    db, cleanup: async () => { await l.end(); await dropSchema(schema); },
    heard: async () => { await new Promise((res) => setTimeout(res, 200)); return got.splice(0); },
  };
}, available === true ? false : String(available));
