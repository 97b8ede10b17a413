import pg from 'pg';

/**
 * The PostgreSQL URL for the contract suite. In CI (CI=true) PostgreSQL must be reachable: the
 * suite fails rather than skip. Locally, without a server, the PostgreSQL half is skipped.
 */
export const PG_URL = process.env.TESSERA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function pgAvailable(): Promise<boolean | string> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('select 1');
    return true;
  } catch (e) {
    if (process.env.CI) throw new Error(`PostgreSQL is required in CI but ${PG_URL} is unreachable: ${(e as Error).message}`, { cause: e });
    return `PostgreSQL not reachable at ${PG_URL}`;
  } finally {
    await c.end().catch(() => {});
  }
}

export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try { await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`); } finally { await c.end(); }
}

export const schemaName = (): string => `tessera_test_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
