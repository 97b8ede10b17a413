import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Migration, type MigrationProvider } from 'kysely';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { DB } from './schema.js';
import { markingStoreErrors } from './store_errors.js';
import * as m0001 from './migrations/0001_initial.js';
import * as m0002 from './migrations/0002_users_groups.js';
import * as m0003 from './migrations/0003_signin.js';
import * as m0004 from './migrations/0004_usernames.js';
import type { MigrationLog } from './migrations/0004_usernames.js';
import * as m0005 from './migrations/0005_token_cutoff.js';
import * as m0006 from './migrations/0006_trusted_issuers.js';
import * as m0007 from './migrations/0007_device_codes.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Database_ {
  db: Kysely<DB>;
  dialect: Dialect;
  close(): Promise<void>;
}

/** Every migration, in order. Append only. Data migrations report through `log` what they left alone. */
const MIGRATIONS = (log: MigrationLog): Record<string, Migration> => ({
  '0001_initial': m0001,
  '0002_users_groups': m0002,
  '0003_signin': m0003,
  '0004_usernames': m0004.migration(log),
  '0005_token_cutoff': m0005,
  '0006_trusted_issuers': m0006,
  '0007_device_codes': m0007,
});
class StaticMigrations implements MigrationProvider {
  constructor(private readonly log: MigrationLog) {}
  async getMigrations(): Promise<Record<string, Migration>> { return MIGRATIONS(this.log); }
}

export interface MigrateOptions {
  /** Default: stderr. */
  log?: MigrationLog;
  /** Stop after this migration (tests of a data migration start from the state before it). */
  to?: string;
}

export interface OpenOptions {
  /** PostgreSQL only: use (and create) this schema; the tests isolate runs this way. */
  pgSchema?: string;
}

export async function openDatabase(url: string, opts: OpenOptions = {}): Promise<Database_> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    const memory = path === ':memory:';
    if (!memory) mkdirSync(dirname(resolve(path)), { recursive: true });
    const sqlite = new Database(memory ? ':memory:' : path);
    if (!memory) sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    const db = new Kysely<DB>({ dialect: markingStoreErrors(new SqliteDialect({ database: cachingStatements(sqlite) })) });
    return { db, dialect: 'sqlite', close: () => db.destroy() };
  }
  const int8 = 20;
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === int8 ? (v: string) => Number(v) : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format),
  };
  if (opts.pgSchema) {
    if (!/^[a-z_][a-z0-9_]*$/.test(opts.pgSchema)) throw new Error('bad schema name');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try { await c.query(`CREATE SCHEMA IF NOT EXISTS ${opts.pgSchema}`); } finally { await c.end(); }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    types: types as pg.CustomTypesConfig,
    ...(opts.pgSchema ? { options: `-c search_path=${opts.pgSchema}` } : {}),
  });
  // An idle client's error (database restart) must not crash the process; the next query fails with 503.
  pool.on('error', () => {});
  const db = new Kysely<DB>({ dialect: markingStoreErrors(new PostgresDialect({ pool })) });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}

/**
 * Kysely's SQLite driver prepares every statement anew; preparing costs more than running a
 * point query. Queries of one shape compile to the same SQL, so reuse their prepared statements
 * (bounded; Kysely runs each statement to completion before the next, so sharing is safe).
 */
function cachingStatements(sqlite: Database.Database): Database.Database {
  const cache = new Map<string, Database.Statement>();
  const prepare = sqlite.prepare.bind(sqlite);
  return new Proxy(sqlite, {
    get(target, prop) {
      if (prop !== 'prepare') {
        // Native methods (close, pragma, transaction...) must run on the real instance, not the proxy.
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      return (source: string) => {
        let st = cache.get(source);
        if (!st) {
          st = prepare(source);
          if (cache.size >= 500) cache.delete(cache.keys().next().value!);
          cache.set(source, st);
        }
        return st;
      };
    },
  });
}

export async function migrate(db: Kysely<DB>, opts: MigrateOptions = {}): Promise<string[]> {
  const log = opts.log ?? ((m: string) => { process.stderr.write(`tessera: ${m}\n`); });
  const migrator = new Migrator({ db, provider: new StaticMigrations(log) });
  const { error, results } = opts.to ? await migrator.migrateTo(opts.to) : await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** The name of every migration this code knows, in order (readiness compares them with the migration table). */
export const knownMigrations = (): string[] => Object.keys(MIGRATIONS(() => {}));
