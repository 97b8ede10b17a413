import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CompiledQuery, Kysely, Migrator, PostgresAdapter, PostgresDialect, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type Migration, type MigrationProvider, type SqliteDialectConfig, sql } from 'kysely';
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
import * as m0010 from './migrations/0010_cache_changes.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Database_ {
  db: Kysely<DB>;
  dialect: Dialect;
  /** What it was opened with (the cache change feed opens its own connection to it). */
  url: string;
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
  '0010_cache_changes': m0010,
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
  /** PostgreSQL only: connections in this process's pool (TESSERA_DATABASE_POOL_SIZE; default 10). */
  poolSize?: number;
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
    // Several processes (TESSERA_WORKERS, CLI commands beside the server) write one file: a writer
    // that finds the write lock taken waits up to this long instead of failing with SQLITE_BUSY.
    sqlite.pragma('busy_timeout = 5000');
    const db = new Kysely<DB>({ dialect: markingStoreErrors(new ImmediateSqliteDialect({ database: cachingStatements(sqlite) })) });
    return { db, dialect: 'sqlite', url, close: () => db.destroy() };
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
    max: opts.poolSize ?? 10,
    types: types as pg.CustomTypesConfig,
    ...(opts.pgSchema ? { options: `-c search_path=${opts.pgSchema}` } : {}),
  });
  // An idle client's error (database restart) must not crash the process; the next query fails with 503.
  pool.on('error', () => {});
  // A checked-out client has no error listener (pg-pool listens on idle ones only): a connection reset
  // between two queries of a transaction would be an uncaught 'error' event and end the process. The
  // query in flight fails (503) and pg-pool drops the client when it is released.
  pool.on('connect', (client) => { client.on('error', () => {}); });
  const db = new Kysely<DB>({ dialect: markingStoreErrors(new PostgresDialect({ pool })) });
  return { db, dialect: 'postgres', url, close: () => db.destroy() };
}

/**
 * Transactions take SQLite's write lock when they begin (BEGIN IMMEDIATE), not at their first write.
 * A deferred transaction that reads, then writes, fails at once with SQLITE_BUSY when another process
 * wrote in between (its snapshot is stale; the busy timeout cannot help), which would turn a refresh
 * rotation or a code redemption racing another worker into a 503. An immediate one waits for the lock
 * (busy_timeout) and then reads the current data. Every transaction here writes, so nothing is lost.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}
class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) { super(settings); }
  override createDriver(): Driver { return new ImmediateSqliteDriver(this.settings); }
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

/** PostgreSQL's current schema (undefined on SQLite, which has no schemas). */
async function currentSchema(db: Kysely<DB>): Promise<string | undefined> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return undefined;
  const r = await sql<{ s: string | null }>`select current_schema() as s`.execute(db);
  return r.rows[0]?.s ?? undefined;
}

export async function migrate(db: Kysely<DB>, opts: MigrateOptions = {}): Promise<string[]> {
  const log = opts.log ?? ((m: string) => { process.stderr.write(`tessera: ${m}\n`); });
  // Kysely looks for its migration tables in every schema it can see unless told which: a database holding
  // another Tessera (or a test run) in another schema would make it skip creating its own and then fail on
  // them. On PostgreSQL the tables live in the connection's current schema (the first of search_path).
  const schema = await currentSchema(db);
  const migrator = new Migrator({ db, provider: new StaticMigrations(log), ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = opts.to ? await migrator.migrateTo(opts.to) : await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** The name of every migration this code knows, in order (readiness compares them with the migration table). */
export const knownMigrations = (): string[] => Object.keys(MIGRATIONS(() => {}));
