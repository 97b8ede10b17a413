import { sql } from 'kysely';
import type { Database_ } from '../storage/db.js';

export interface PoolBudget {
  /** Connections this node may open: workers x (pool size + the LISTEN connection each worker holds). */
  wanted: number;
  /** max_connections minus the superuser reserve minus what is connected now (other nodes, tools). */
  free: number;
  maxConnections: number;
}

/**
 * PostgreSQL refuses connections beyond max_connections (53300 too_many_connections); each worker has
 * a pool of TESSERA_DATABASE_POOL_SIZE and one connection for LISTEN (cache/invalidation.ts), so a node may
 * open workers x (pool size + 1). Read once by the primary at
 * start-up so an operator learns of an overbooked server before the first busy minute, not during it.
 * The count of current connections includes this check's own and the other nodes' pools (they may not
 * be full yet, so it is a lower bound of what the others will use).
 */
export async function poolBudget(database: Database_, workers: number, poolSize: number): Promise<PoolBudget | undefined> {
  if (database.dialect !== 'postgres') return undefined;
  const { rows } = await sql<{ max: number; reserved: number; used: number }>`
    select current_setting('max_connections')::int as max,
           current_setting('superuser_reserved_connections')::int as reserved,
           (select count(*)::int from pg_stat_activity where backend_type = 'client backend') as used`.execute(database.db);
  const r = rows[0]!;
  return { wanted: workers * (poolSize + 1), free: r.max - r.reserved - r.used, maxConnections: r.max };
}
