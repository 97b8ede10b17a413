import cluster from 'node:cluster';
import type { Config } from '../config/schema.js';
import { DEFAULT_DOMAIN } from '../core/types.js';
import { buildApp, type Tessera } from '../http/app.js';
import { hasAdministrator, hasAdministratorUser } from '../identity/administrators.js';
import { IDENTITY_DOMAIN_ADMINISTRATOR } from '../identity/builtins.js';
import { startMaintenance } from '../maintenance.js';
import { poolBudget } from '../cluster/pool_budget.js';
import { isPrimaryMessage, Supervisor } from '../cluster/supervisor.js';
import { listenMetrics, startPrimaryMetrics, type MetricsServer } from '../http/metrics.js';
import { config } from './common.js';

/** A worker gets this long to drain in-flight requests and flush its audit batch after SIGTERM. */
const DRAIN_DEADLINE_MS = 15_000;

/**
 * `tessera serve`. TESSERA_WORKERS=1: one process does everything (migrations, built-ins, requests,
 * background duties). More: this process becomes the cluster primary (see cluster/supervisor.ts); it
 * migrates and bootstraps the store once, then forks the workers, which serve requests on one port.
 */
export async function serve(opts: { port?: string; host?: string }): Promise<void> {
  const cfg = config({
    ...(opts.port !== undefined ? { port: Number(opts.port) } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
  });
  if (cluster.isWorker) return serveRequests(cfg, 'worker');
  if (cfg.workers > 1) return supervise(cfg);
  return serveRequests(cfg, 'single');
}

async function serveRequests(cfg: Config, role: 'single' | 'worker'): Promise<void> {
  const t = await buildApp({ config: cfg, prepared: role === 'worker' });
  // Purge and key rotation by age: a single process runs them itself; in a cluster only the worker
  // the primary names does, so they run once per node (they are also safe across nodes, see maintenance.ts).
  let stopping = false;
  let metricsServer: MetricsServer | undefined;
  let stop = role === 'single' ? startMaintenance(t.services, cfg.purgeIntervalSeconds) : () => {};
  if (role === 'worker') {
    process.on('message', (m: unknown) => {
      if (!isPrimaryMessage(m) || stopping) return;
      stop();
      stop = startMaintenance(t.services, cfg.purgeIntervalSeconds);
      t.app.log.info(`worker ${process.pid} runs the background duties (purge, key rotation)`);
    });
  }
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    t.app.log.info(`${signal}: finishing in-flight requests`);
    stop();
    // A hard deadline so a stuck connection cannot keep the process alive forever.
    const deadline = setTimeout(() => { t.app.log.error('shutdown timed out'); process.exit(1); }, DRAIN_DEADLINE_MS);
    deadline.unref();
    // close(): stop accepting, let in-flight requests finish, then flush this process's audit batch.
    Promise.all([metricsServer?.close(), t.close()]).then(() => process.exit(0), (err) => { t.app.log.error({ err }, 'shutdown failed'); process.exit(1); });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  if (role === 'worker') {
    await t.app.listen({ port: cfg.port, host: cfg.host });
    return;
  }
  // Looked up before listening, so that the lines below are written together and a signal cannot
  // close the database under the lookup.
  const announce = await startupNotes(t);
  const address = await t.app.listen({ port: cfg.port, host: cfg.host });
  // TESSERA_METRICS_PORT, one process: this process's metrics on their own listener. In a cluster the
  // primary listens there instead (startPrimaryMetrics), summing every worker.
  const m = t.metrics;
  if (m && cfg.metricsPort !== undefined) {
    metricsServer = await listenMetrics(cfg, () => m.text(), m.contentType);
    t.app.log.info(`metrics on http://${cfg.metricsHost}:${metricsServer.port}/metrics`);
  }
  announce(address);
}

async function supervise(cfg: Config): Promise<void> {
  // Once, before any worker exists: migrations, the default domain and its keys, built-in roles, the
  // bootstrap client, the generated master key file. Workers start on a prepared store.
  const t = await buildApp({ config: cfg });
  const log = t.app.log;
  let announce: (address: string) => void;
  try {
    announce = await startupNotes(t);
    const budget = await poolBudget(t.database, cfg.workers, cfg.databasePoolSize);
    if (budget && budget.wanted > budget.free) {
      log.warn(`this node may open ${cfg.workers} workers x (${cfg.databasePoolSize} + 1 for LISTEN) = ${budget.wanted} PostgreSQL connections, but only ${budget.free}`
        + ` of max_connections ${budget.maxConnections} are free: lower TESSERA_DATABASE_POOL_SIZE or TESSERA_WORKERS, or raise max_connections`);
    }
  } finally {
    await t.close();
  }
  const supervisor = new Supervisor({
    workers: cfg.workers,
    log: { info: (m) => log.info(m), warn: (m) => log.warn(m), error: (m) => log.error(m) },
    onListening: (address, n) => { log.info(`${n} workers listening on ${address}`); announce(address); },
    // The workers' own deadline, plus time for them to exit and be reaped.
    stopTimeoutMs: DRAIN_DEADLINE_MS + 2_000,
    https: cfg.tlsCert !== undefined && cfg.tlsKey !== undefined,
  });
  // The node's metrics, summed over the workers (prom-client's AggregatorRegistry over cluster IPC): on
  // TESSERA_METRICS_PORT here, and for the workers' public /metrics (with TESSERA_METRICS_TOKEN) on request.
  const metrics = await startPrimaryMetrics(cfg);
  if (metrics.port !== undefined) log.info(`metrics on http://${cfg.metricsHost}:${metrics.port}/metrics`);
  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string) => {
    stopping ??= (async () => {
      log.info(`${signal}: asking ${cfg.workers} workers to finish their in-flight requests`);
      const code = await supervisor.stop();
      await metrics.close();
      process.exit(code);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    await supervisor.start();
  } catch (e) {
    await supervisor.stop();
    throw e;
  }
}

/**
 * What a new user needs first: the issuer to give client libraries, the console, and, while the domain
 * has no administrator user, how to make one (the welcome page on this machine, the CLI, or the
 * bootstrap variables). With no administrator at all (no client either) it is a warning.
 */
async function startupNotes(t: Tessera): Promise<(address: string) => void> {
  const domain = await t.services.domains.ensureDefault();
  const issuer = t.services.issuerOf(domain);
  const discovery = `${issuer}/.well-known/openid-configuration`;
  const repos = t.services.repos;
  const noAdmin = !(await hasAdministrator(repos, domain.id));
  const noAdminUser = noAdmin || !(await hasAdministratorUser(repos, domain.id));
  const cfg = t.services.config;
  return (address) => {
    t.app.log.info({ address, issuer, discovery }, `Tessera listening on ${address}; issuer for client libraries: ${issuer} (discovery: ${discovery})`);
    t.app.log.info(`admin console: ${issuer}/console/ (account page: ${issuer}/myaccount/)`);
    if (!noAdminUser) return;
    const local = welcomeOnThisMachine(cfg, address);
    const how = `${local ? `open ${local} in a browser on this machine to create one, or ` : ''}run: npx tessera user create --admin --username NAME --password-stdin,`
      + ' or set TESSERA_BOOTSTRAP_ADMIN_USERNAME and TESSERA_BOOTSTRAP_ADMIN_PASSWORD and restart';
    if (noAdmin) {
      t.app.log.warn(`no administrator in the ${DEFAULT_DOMAIN} identity domain yet: ${how}.`
        + ` For a client instead: set TESSERA_BOOTSTRAP_CLIENT_ID and TESSERA_BOOTSTRAP_CLIENT_SECRET and restart, or run: npx tessera client create --name admin --role "${IDENTITY_DOMAIN_ADMINISTRATOR}"`);
    } else {
      t.app.log.info(`no administrator user in the ${DEFAULT_DOMAIN} identity domain yet (only clients): to sign in to the console, ${how}`);
    }
  };
}

/**
 * The welcome page as a browser on this machine reaches it: the listener must take loopback
 * connections (a wildcard or loopback host). `address` is what the server printed (port 0 resolved).
 */
function welcomeOnThisMachine(cfg: Config, address: string): string | undefined {
  const host = cfg.host.replace(/^\[(.*)\]$/, '$1');
  const loopbackOrAny = ['0.0.0.0', '::', 'localhost', '::1'].includes(host) || /^127\./.test(host);
  if (!loopbackOrAny) return undefined;
  const port = /:(\d+)$/.exec(address)?.[1] ?? String(cfg.port);
  return `${cfg.tlsCert !== undefined ? 'https' : 'http'}://localhost:${port}/`;
}
