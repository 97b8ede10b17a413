import { buildApp } from '../http/app.js';
import { startMaintenance } from '../maintenance.js';
import { config } from './common.js';

export async function serve(opts: { port?: string; host?: string }): Promise<void> {
  const cfg = config({
    ...(opts.port !== undefined ? { port: Number(opts.port) } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
  });
  const t = await buildApp({ config: cfg });
  const stop = startMaintenance(t.services, cfg.purgeIntervalSeconds);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    t.app.log.info(`${signal}: finishing in-flight requests`);
    stop();
    // A hard deadline so a stuck connection cannot keep the process alive forever.
    const deadline = setTimeout(() => { t.app.log.error('shutdown timed out'); process.exit(1); }, 15_000);
    deadline.unref();
    t.close().then(() => process.exit(0), (err) => { t.app.log.error({ err }, 'shutdown failed'); process.exit(1); });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  const address = await t.app.listen({ port: cfg.port, host: cfg.host });
  t.app.log.info(`Tessera listening on ${address}; issuer ${cfg.publicUrl}`);
}
