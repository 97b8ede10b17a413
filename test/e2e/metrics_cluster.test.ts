/** Issue 10: with node:cluster workers, the primary serves every worker's metrics summed (prom-client AggregatorRegistry.aggregate), with its own process metrics. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parse, value } from '../prom_text.js';

const freePort = () => new Promise<number>((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });

test('two workers: counters summed on the primary\'s metrics port and on a worker\'s public /metrics; process metrics one series per worker', async () => {
  const port = await freePort();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../cluster_metrics.ts')], {
    env: { PATH: process.env.PATH ?? '', METRICS_PORT: String(port), METRICS_TOKEN: 'cluster-metrics-0123456789abcdefghij' }, encoding: 'utf8', timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { status: number; direct: string; viaWorker: string; workers: number[] };
  assert.equal(out.status, 200);
  assert.deepEqual(out.workers, [1, 2]);
  const [status, ...rest] = out.viaWorker.split('\n');
  assert.equal(status, '200', out.viaWorker.slice(0, 300));
  for (const text of [out.direct, rest.join('\n')]) {
    const s = parse(text);
    // Worker 1 issued one token and worker 2 two (plus nothing else): summed, with no worker label.
    const issued = s.filter((x) => x.name === 'tessera_tokens_issued_total');
    assert.deepEqual(issued.map((x) => x.labels), [{ grant_type: 'client_credentials', domain: 'default' }]);
    assert.equal(issued[0]!.value, 3);
    assert.equal(value(s, 'tessera_http_requests_total', { method: 'POST', route: '/oauth2/v1/token', status: '200' }), 3);
    assert.equal(value(s, 'tessera_http_request_duration_seconds_count', { method: 'POST', route: '/oauth2/v1/token', status: '200' }), 3);
    // Process metrics stay per worker, and the primary's own process is there too.
    const cpu = s.filter((x) => x.name === 'process_cpu_user_seconds_total');
    assert.deepEqual(cpu.map((x) => x.labels.worker).sort(), ['1', '2', 'primary']);
    const lag = s.filter((x) => x.name === 'nodejs_eventloop_lag_p99_seconds');
    assert.deepEqual(lag.map((x) => x.labels.worker).sort(), ['1', '2', 'primary']);
    const rss = s.filter((x) => x.name === 'process_resident_memory_bytes');
    assert.deepEqual(rss.map((x) => x.labels.worker).sort(), ['1', '2', 'primary']);
    assert.ok(rss.every((x) => x.value > 10e6), 'real resident sizes');
  }
});

test('a worker that does not answer is left out of the scrape after the timeout; the others and the primary are still there', async () => {
  const port = await freePort();
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../cluster_metrics.ts')], {
    env: { PATH: process.env.PATH ?? '', METRICS_PORT: String(port), METRICS_TOKEN: 'cluster-metrics-0123456789abcdefghij', SILENT_WORKER: '1' }, encoding: 'utf8', timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(Date.now() - started < 55_000);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { status: number; direct: string };
  assert.equal(out.status, 200);
  const s = parse(out.direct);
  assert.equal(s.find((x) => x.name === 'tessera_tokens_issued_total')?.value, 3);
  assert.deepEqual(s.filter((x) => x.name === 'process_cpu_user_seconds_total').map((x) => x.labels.worker).sort(), ['1', '2', 'primary']);
});
