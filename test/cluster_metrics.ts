/**
 * A two-worker node:cluster run for test/e2e/metrics_cluster.test.ts. The primary calls startPrimaryMetrics
 * (port + bearer secret); each worker builds a real app (as the cluster code will, buildApp in a worker) with
 * the bearer secret only, issues worker-id tokens, and worker 1 scrapes the public /metrics, which the
 * primary answers over IPC. The primary prints one JSON line: both scrapes, then stops.
 */
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { MasterKey } from '../src/crypto/masterkey.js';
import { buildApp } from '../src/http/app.js';
import { startPrimaryMetrics } from '../src/http/metrics.js';
import { clientToken, testConfig, type Harness, BOOT_ID, BOOT_SECRET } from './helpers.js';
import { FixedClock } from '../src/core/clock.js';

const TOKEN = process.env.METRICS_TOKEN!;

if (cluster.isPrimary) {
  const metrics = await startPrimaryMetrics({ metricsPort: Number(process.env.METRICS_PORT), metricsHost: '127.0.0.1', metricsToken: TOKEN }, 1000);
  const workers = [cluster.fork(), cluster.fork()];
  // With SILENT_WORKER a third worker never answers the primary's gathering (a worker busy or dying).
  const silent = process.env.SILENT_WORKER ? cluster.fork({ SILENT: '1' }) : undefined;
  let done = 0;
  let viaWorker = '';
  const finish = async () => {
    const r = await fetch(`http://127.0.0.1:${metrics.port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const direct = await r.text();
    process.stdout.write(JSON.stringify({ status: r.status, direct, viaWorker, workers: workers.map((w) => w.id) }) + '\n');
    for (const w of workers) w.kill();
    silent?.kill();
    await metrics.close();
  };
  for (const w of workers) {
    w.on('message', (m: { type?: string; text?: string }) => {
      if (m.type === 'done' && ++done === workers.length) workers[0]!.send({ type: 'scrape' });
      if (m.type === 'scraped') { viaWorker = m.text ?? ''; void finish(); }
    });
  }
  setTimeout(() => { process.stderr.write('cluster metrics run timed out\n'); process.exit(1); }, 50_000).unref();
} else if (process.env.SILENT) {
  setInterval(() => {}, 1000);
} else {
  const t = await buildApp({ config: testConfig({ metricsToken: TOKEN }), clock: new FixedClock(Date.now()), masterKey: new MasterKey(randomBytes(32)), logger: false });
  const h: Harness = { t, clock: new FixedClock(Date.now()), inject: t.app.inject.bind(t.app), close: () => t.close() };
  // Worker 1 issues one token, worker 2 two: the primary must show three.
  for (let i = 0; i < cluster.worker!.id; i++) {
    const r = await clientToken(h, BOOT_ID, BOOT_SECRET, 'urn:opc:idm:__myscopes__');
    if (r.statusCode !== 200) throw new Error(r.body);
  }
  process.on('message', (m: { type?: string }) => {
    if (m.type !== 'scrape') return;
    void h.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => process.send!({ type: 'scraped', text: `${r.statusCode}\n${r.body}` }));
  });
  process.send!({ type: 'done' });
}
