import cluster from 'node:cluster';
import { DEFAULT_DOMAIN } from '../core/types.js';
import { buildApp, type Tessera } from '../http/app.js';
import { hasAdministrator } from '../identity/administrators.js';
import { IDENTITY_DOMAIN_ADMINISTRATOR } from '../identity/builtins.js';
import { startMaintenance } from '../maintenance.js';
import { listenMetrics, type MetricsServer } from '../http/metrics.js';
import { config } from './common.js';

export async function serve(opts: { port?: string; host?: string }): Promise<void> {
  const cfg = config({
    ...(opts.port !== undefined ? { port: Number(opts.port) } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
  });
  const t = await buildApp({ config: cfg });
  const stop = startMaintenance(t.services, cfg.purgeIntervalSeconds);
  let metricsServer: MetricsServer | undefined;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    t.app.log.info(`${signal}: finishing in-flight requests`);
    stop();
    // A hard deadline so a stuck connection cannot keep the process alive forever.
    const deadline = setTimeout(() => { t.app.log.error('shutdown timed out'); process.exit(1); }, 15_000);
    deadline.unref();
    Promise.all([metricsServer?.close(), t.close()]).then(() => process.exit(0), (err) => { t.app.log.error({ err }, 'shutdown failed'); process.exit(1); });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Looked up before listening, so that the lines below are written together and a signal cannot
  // close the database under the lookup.
  const announce = await startupNotes(t);
  const address = await t.app.listen({ port: cfg.port, host: cfg.host });
  // TESSERA_METRICS_PORT, one process: this process's metrics on their own listener. A cluster worker never
  // listens there: the primary does (startPrimaryMetrics), summing every worker.
  const m = t.metrics;
  if (m && cfg.metricsPort !== undefined && !cluster.isWorker) {
    metricsServer = await listenMetrics(cfg, () => m.text(), m.contentType);
    t.app.log.info(`metrics on http://${cfg.metricsHost}:${metricsServer.port}/metrics`);
  }
  announce(address);
}

/** What a new user needs first: the issuer to give client libraries and, while there is none, how to make an administrator. */
async function startupNotes(t: Tessera): Promise<(address: string) => void> {
  const domain = await t.services.domains.ensureDefault();
  const issuer = t.services.issuerOf(domain);
  const discovery = `${issuer}/.well-known/openid-configuration`;
  const noAdmin = !(await hasAdministrator(t.services.repos, domain.id));
  return (address) => {
    t.app.log.info({ address, issuer, discovery }, `Tessera listening on ${address}; issuer for client libraries: ${issuer} (discovery: ${discovery})`);
    if (noAdmin) {
      t.app.log.warn(`no administrator in the ${DEFAULT_DOMAIN} identity domain yet: set TESSERA_BOOTSTRAP_CLIENT_ID and TESSERA_BOOTSTRAP_CLIENT_SECRET`
        + ` and restart, or run: npx tessera client create --name admin --role "${IDENTITY_DOMAIN_ADMINISTRATOR}"`);
    }
  };
}
