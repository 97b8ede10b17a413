import type { FastifyInstance } from 'fastify';
import { sql, type Kysely } from 'kysely';
import { DEFAULT_DOMAIN } from '../core/types.js';
import { knownMigrations } from '../storage/db.js';
import { isStoreUnavailable } from '../storage/errors.js';
import type { DB } from '../storage/schema.js';
import type { Services } from './services.js';

export type CheckName = 'store' | 'migrations' | 'keys';
export interface CheckResult { status: 'ok' | 'failed'; detail?: string }
export interface Readiness { ready: boolean; checks: Record<CheckName, CheckResult> }

/**
 * The migrations this code knows that the database has not run (a node must not serve on a schema older than
 * its code). Reads Kysely's migration table (in the connection's schema) and creates nothing:
 * Migrator.getMigrations would create the table on an empty database.
 */
export async function pendingMigrations(db: Kysely<DB>): Promise<string[]> {
  const known = knownMigrations();
  let done: Set<string>;
  try {
    const r = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    done = new Set(r.rows.map((x) => x.name));
  } catch (e) {
    // No migration table at all: nothing has run. Anything else (an outage) is the caller's to report.
    const m = String((e as Error)?.message);
    if (/kysely_migration/.test(m) && /no such table|does not exist/.test(m)) return known;
    throw e;
  }
  return known.filter((n) => !done.has(n));
}

/** Longest a readiness check may take: a probe that hangs is worse than one that says "not ready". */
export const READY_TIMEOUT_MS = 2000;

class TimedOut extends Error {}

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new TimedOut()), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * Is this node fit to take traffic: the store answers a trivial query, every migration this code knows has
 * run, and the default domain has an active signing key that loads (decrypts with this node's master key).
 * Only the default domain's key is loaded, on purpose: it proves the store and this node's master key, which
 * every domain's keys share. A key problem in one tenant's domain is that tenant's, and every node would
 * see it alike: failing readiness for it would take the whole service out of the load balancer.
 * The checks run side by side, each bounded by `timeoutMs`. Failure details name the cause in Tessera's
 * words, never a driver message (the endpoint is public).
 */
export class ReadinessChecks {
  /** Migrations are append-only: once every known one has run, that stays true for this process. */
  private migrationsCurrent = false;
  private lastReady: boolean | undefined;

  constructor(private readonly s: Pick<Services, 'catalogs' | 'keys' | 'log'>, private readonly db: Kysely<DB>, private readonly timeoutMs = READY_TIMEOUT_MS) {}

  async run(): Promise<Readiness> {
    const [store, migrations, keys] = await Promise.all([
      this.check('store', async () => { await sql`select 1`.execute(this.db); return undefined; }),
      this.check('migrations', async () => {
        if (this.migrationsCurrent) return undefined;
        const pending = await pendingMigrations(this.db);
        if (pending.length > 0) return `${pending.length} migration(s) not run: ${pending.join(', ')} (run \`tessera migrate\` or restart a node)`;
        this.migrationsCurrent = true;
        return undefined;
      }),
      this.check('keys', async () => {
        const domain = await this.s.catalogs.domainByName(DEFAULT_DOMAIN);
        if (!domain) return `no ${DEFAULT_DOMAIN} identity domain`;
        const algs = await this.s.keys.activeAlgs(domain.id);
        return algs.length === 0 ? `no active signing key in the ${DEFAULT_DOMAIN} identity domain` : undefined;
      }),
    ]);
    const r: Readiness = { ready: [store, migrations, keys].every((c) => c.status === 'ok'), checks: { store, migrations, keys } };
    // Logged when readiness changes, not on every probe of an outage.
    if (r.ready !== this.lastReady) {
      if (!r.ready) this.s.log.warn({ checks: r.checks }, 'not ready');
      else if (this.lastReady === false) this.s.log.info('ready again');
      this.lastReady = r.ready;
    }
    return r;
  }

  private async check(name: CheckName, f: () => Promise<string | undefined>): Promise<CheckResult> {
    try {
      const problem = await within(f(), this.timeoutMs);
      return problem === undefined ? { status: 'ok' } : { status: 'failed', detail: problem };
    } catch (e) {
      if (e instanceof TimedOut) return { status: 'failed', detail: `no answer within ${this.timeoutMs} ms` };
      if (isStoreUnavailable(e)) return { status: 'failed', detail: 'the store is unavailable' };
      this.s.log.debug({ err: e, check: name }, 'readiness check failed');
      return { status: 'failed', detail: name === 'keys' ? 'the signing keys cannot be loaded' : 'the check failed' };
    }
  }
}

/**
 * GET /healthz: the process is alive (no store access: a liveness probe that fails during a database outage
 * would have every node restarted for nothing). GET /readyz: ReadinessChecks, 200 or 503. Neither may be
 * cached by a proxy.
 */
export function healthEndpoints(app: FastifyInstance, checks: ReadinessChecks): void {
  app.get('/healthz', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });
  app.get('/readyz', async (_req, reply) => {
    const r = await checks.run();
    reply.header('cache-control', 'no-store').status(r.ready ? 200 : 503);
    return { status: r.ready ? 'ready' : 'not_ready', checks: r.checks };
  });
}
