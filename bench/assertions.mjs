// JWT-bearer assertions for bench/run.mjs: every request of the jwt-bearer scenario needs its own (each jti
// is accepted once), so the harness signs them all before a load run, while the servers are idle, on every
// core (worker threads running this same file). The load generator then sends one per request.
//
// How many: the server pinned to one core signs one RS256 access token per request, so it cannot answer more
// requests per second than one core can make RS256 signatures. A calibration measures that rate here, and
// the harness signs rate x (warm-up + duration) x 1.2 assertions: enough, unless the server core is much
// faster than this one; an exhausted pool shows as non-2xx answers (the ⚠ flag), never as a silent reuse.
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** One form body: grant_type, scope and an RS256 assertion (iss = sub = the client, aud = the issuer, fresh jti). */
function body(key, o, now) {
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: o.kid })}.${b64({
    iss: o.clientId, sub: o.clientId, aud: o.audience, iat: now, exp: now + o.lifetime, jti: randomBytes(16).toString('base64url'),
  })}`;
  const jwt = `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
  return new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', scope: o.scope, assertion: jwt }).toString();
}

function bodies(o, count) {
  const key = createPrivateKey(o.pem);
  const now = Math.floor(Date.now() / 1000);
  const out = new Array(count);
  for (let i = 0; i < count; i++) out[i] = body(key, o, now);
  return out;
}

if (!isMainThread && workerData?.assertions) {
  parentPort.postMessage(bodies(workerData.assertions, workerData.count));
}

/** RS256 signatures per second on one core of this machine (the bound on the server's jwt-bearer rate). */
export function signaturesPerSecond(o) {
  const key = createPrivateKey(o.pem);
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < 20; i++) body(key, o, now);
  const n = 200;
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) body(key, o, now);
  return n / (Number(process.hrtime.bigint() - t) / 1e9);
}

/**
 * `count` distinct form bodies, signed on every core.
 * o: { pem (PKCS#8 private key), kid, clientId, audience, scope, lifetime (s) }
 */
export async function makeAssertionBodies(o, count) {
  const workers = Math.max(1, Math.min(8, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length));
  const share = Math.ceil(count / workers);
  const parts = await Promise.all(Array.from({ length: workers }, (_, i) => new Promise((resolve, reject) => {
    const n = Math.max(0, Math.min(share, count - i * share));
    if (n === 0) { resolve([]); return; }
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: { assertions: o, count: n } });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => { if (code !== 0) reject(new Error(`assertion worker exited with code ${code}`)); });
  })));
  return parts.flat();
}
