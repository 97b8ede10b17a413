// Load generator for bench/run.mjs: one autocannon run (after an optional warm-up) in its own process,
// so the harness can pin it to a different core (`taskset -c 1 node bench/load.mjs '<json>'`).
//
// Argument: one JSON object
//   { "url": "http://127.0.0.1:4000/token", "method": "POST", "headers": {...}, "body": "...",
//     "connections": 16, "duration": 10, "warmup": 5, "timeout": 10 }
// With "bodiesFile" (a file of one request body per line), every request sends the next body instead of
// "body" (the jwt-bearer scenario: each assertion is accepted once); when they run out the last one repeats,
// and the server's refusals show as non-2xx.
// Output: the summary of the measured run, sent over IPC ({ type: 'result', result }) when the harness
// spawned us with a channel, and always printed as the last stdout line `LOAD_RESULT {json}`.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const spec = JSON.parse(process.argv[2] ?? '{}');
for (const k of ['url', 'connections', 'duration']) {
  if (spec[k] === undefined) {
    console.error(`load.mjs: missing "${k}" in ${process.argv[2]}`);
    process.exit(2);
  }
}

// Leave with the harness.
if (process.channel) {
  process.on('disconnect', () => process.exit(1));
  process.channel.unref();
}

let current;
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    current?.stop?.();
    process.exit(1);
  });
}

const bodies = spec.bodiesFile ? readFileSync(spec.bodiesFile, 'utf8').split('\n').filter(Boolean) : undefined;
let nextBody = 0;
const perRequest = bodies
  ? { requests: [{ setupRequest: (req) => ({ ...req, body: bodies[Math.min(nextBody++, bodies.length - 1)] }) }] }
  : {};

function run(duration) {
  return new Promise((resolve, reject) => {
    current = autocannon({
      url: spec.url,
      method: spec.method ?? 'GET',
      headers: spec.headers ?? {},
      body: spec.body,
      ...perRequest,
      connections: spec.connections,
      pipelining: 1,
      duration,
      timeout: spec.timeout ?? 10,
    }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

function summary(r) {
  return {
    duration: r.duration,
    connections: r.connections,
    requestsTotal: r.requests.total,
    requestsAverage: r.requests.average,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    // Successful responses per second over the whole measured window.
    okPerSec: r.duration > 0 ? r['2xx'] / r.duration : 0,
    latency: {
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
      mean: r.latency.average,
    },
    statusCodeStats: r.statusCodeStats,
  };
}

try {
  let warm;
  if (spec.warmup > 0) warm = summary(await run(spec.warmup));
  // Tell the harness the measured phase starts, so it can read the server's CPU time now.
  if (process.send) await new Promise((res) => process.send({ type: 'measuring' }, res));
  const result = summary(await run(spec.duration));
  if (bodies) result.bodies = { available: bodies.length, used: Math.min(nextBody, bodies.length), exhausted: nextBody > bodies.length };
  result.warmup = warm ? { duration: warm.duration, ok: warm.ok, non2xx: warm.non2xx, errors: warm.errors, timeouts: warm.timeouts } : null;
  if (process.send) await new Promise((res) => process.send({ type: 'result', result }, res));
  console.log(`LOAD_RESULT ${JSON.stringify(result)}`);
  process.exit(0);
} catch (err) {
  console.error(`load.mjs: ${err?.stack ?? err}`);
  process.exit(1);
}
