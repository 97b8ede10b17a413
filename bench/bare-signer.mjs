// The physical limit for the rs256 scenario: a bare node:http server that answers every POST with an
// RS256-signed JWT (node:crypto KeyObject, synchronous), no client authentication, no store. bench/run.mjs
// measures it beside Tessera and uses it to choose how Tessera uses several cores:
//
//   node bench/bare-signer.mjs --port P                 one process, signing on the main thread
//   node bench/bare-signer.mjs --port P --workers 2     node:cluster, 2 worker processes on one port
//   node bench/bare-signer.mjs --port P --threads 2     one process, signing on 2 worker_threads
//
// Ready: sends { type: 'ready' } over IPC (and prints BARE_READY) once every process listens.
import cluster from 'node:cluster';
import { createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const b64 = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
function jwt(key) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: 'RS256', typ: 'at+jwt', kid: 'bare' });
  const body = b64({ iss: 'http://bare', sub: 'bench-client', aud: 'https://rs-rs256.bench.example', iat: now, exp: now + 3600, jti: randomUUID(), scope: 'bench.rs256', client_id: 'bench-client' });
  const input = `${head}.${body}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

if (!isMainThread) {
  // A signing thread: gets the key once, signs on request.
  const key = createPrivateKey(workerData.pem);
  parentPort.on('message', (id) => parentPort.postMessage({ id, token: jwt(key) }));
} else {
  const { values: o } = parseArgs({ options: { port: { type: 'string' }, workers: { type: 'string', default: '1' }, threads: { type: 'string', default: '0' } } });
  const workers = Number(o.workers);
  const threads = Number(o.threads);
  if (process.channel && !cluster.isWorker) { process.on('disconnect', () => process.exit(0)); process.channel.unref(); }

  if (workers > 1 && cluster.isPrimary) {
    let up = 0;
    cluster.on('listening', () => { if (++up === workers) { process.send?.({ type: 'ready' }); console.log('BARE_READY'); } });
    for (let i = 0; i < workers; i++) cluster.fork();
    for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => { for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM'); process.exit(0); });
  } else {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    const key = createPrivateKey(pem);
    let tokenFor;
    if (threads > 0) {
      const pool = Array.from({ length: threads }, () => new Worker(new URL(import.meta.url), { workerData: { pem } }));
      const waiting = new Map();
      let next = 0;
      for (const w of pool) w.on('message', ({ id, token }) => { waiting.get(id)(token); waiting.delete(id); });
      tokenFor = () => new Promise((resolve) => { const id = next++; waiting.set(id, resolve); pool[id % threads].postMessage(id); });
    } else {
      tokenFor = async () => jwt(key);
    }
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        tokenFor().then((token) => {
          const body = JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600, scope: 'bench.rs256' });
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        });
      });
    });
    server.keepAliveTimeout = 65_000;
    server.listen(Number(o.port), '127.0.0.1', () => {
      if (!cluster.isWorker) { process.send?.({ type: 'ready' }); console.log('BARE_READY'); }
    });
    process.on('SIGTERM', () => process.exit(0));
  }
}
