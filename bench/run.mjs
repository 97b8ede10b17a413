#!/usr/bin/env node
// Tessera benchmark harness: Tessera vs. oidc-provider 9.13.3 (the peer), same load, same machine, one run.
// Method (see /work/shared/reference/performance-anchors.md): each server pinned to core 0
// (`taskset -c 0`), autocannon in its own process on core 1 (`taskset -c 1`), loopback, keep-alive,
// warm-up then a measured run. Read bench/README.md for what is measured and how to read the ratios.
//
//   npm run bench                       # build, then this script
//   BENCH_QUICK=1 node bench/run.mjs    # 1 s warm-up, 2 s measured: a smoke run
//   node bench/run.mjs --peer-only      # only the peer (no Tessera build needed)
//   node bench/run.mjs --help
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { makeAssertionBodies, signaturesPerSecond } from './assertions.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
// BENCH_TESSERA_CLI points the harness at another entry point (to test the harness itself).
const TESSERA_CLI = path.resolve(ROOT, process.env.BENCH_TESSERA_CLI || path.join('dist', 'cli', 'index.js'));
const RESULTS_DIR = path.join(BENCH_DIR, 'results');

const TESSERA_START_TIMEOUT_MS = 30_000;
const PEER_START_TIMEOUT_MS = 20_000;
const HTTP_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;

// ---------------------------------------------------------------------------------------------------
// Options

const HELP = `Usage: node bench/run.mjs [options]

Options:
  --peer-only              run only the peer (oidc-provider); no Tessera needed
  --tessera-only           run only Tessera
  --scenarios LIST         comma list of: rs256, es256, introspect, jwtbearer (default: all)
  --connections LIST       comma list of connection counts (default: 16,64)
  --no-cores               skip the all-cores phase (Tessera TESSERA_WORKERS=2 vs 1 vs the peer, unpinned)
  --verbose                echo server output
  -h, --help               this text

Environment:
  BENCH_DURATION=S         measured seconds per run (default 10; 2 with BENCH_QUICK=1)
  BENCH_WARMUP=S           warm-up seconds before each measured run (default 5; 1 with BENCH_QUICK=1)
  BENCH_QUICK=1            smoke run: 1 s warm-up, 2 s measured
  BENCH_REPEAT=N           measured runs per cell, the median (by req/s) is reported (default 1)
  BENCH_NO_PIN=1           do not pin processes with taskset
  BENCH_TESSERA_CLI=PATH   Tessera entry point (default dist/cli/index.js), run as \`node PATH serve\`
`;

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      'peer-only': { type: 'boolean', default: false },
      'tessera-only': { type: 'boolean', default: false },
      scenarios: { type: 'string' },
      connections: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      'no-cores': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (err) {
  console.error(`bench: ${err.message}\n\n${HELP}`);
  process.exit(2);
}
if (args.help) {
  console.log(HELP);
  process.exit(0);
}
if (args['peer-only'] && args['tessera-only']) {
  console.error('bench: --peer-only and --tessera-only exclude each other');
  process.exit(2);
}

function envNumber(name, { min, max, integer = false }) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    console.error(`bench: ${name} must be a${integer ? 'n integer' : ' number'} between ${min} and ${max}, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

const QUICK = ['1', 'true', 'yes', 'on'].includes(String(process.env.BENCH_QUICK ?? '').toLowerCase());
const DURATION = envNumber('BENCH_DURATION', { min: 1, max: 600, integer: true }) ?? (QUICK ? 2 : 10);
const WARMUP = envNumber('BENCH_WARMUP', { min: 0, max: 600, integer: true }) ?? (QUICK ? 1 : 5);
const REPEAT = envNumber('BENCH_REPEAT', { min: 1, max: 9, integer: true }) ?? 1;
const VERBOSE = args.verbose;
const RUN_TESSERA = !args['peer-only'];
const RUN_PEER = !args['tessera-only'];

const ALL_SCENARIOS = [
  { id: 'rs256', title: 'client_credentials, RS256 JWT', kind: 'token', scope: 'bench.rs256', alg: 'RS256' },
  { id: 'es256', title: 'client_credentials, ES256 JWT', kind: 'token', scope: 'bench.es256', alg: 'ES256' },
  { id: 'introspect', title: 'introspection of an opaque token', kind: 'introspect', scope: 'bench.opaque', alg: null },
  // oidc-provider does not serve the jwt-bearer grant: this row's "peer" columns are Tessera's own client_credentials
  // RS256 request, measured in the same cell on the same process (the cost of the assertion over plain client credentials).
  { id: 'jwtbearer', title: 'jwt-bearer, RS256 assertion + RS256 JWT ¹', kind: 'jwt-bearer', scope: 'bench.rs256', alg: 'RS256', reference: 'rs256' },
];
const REFERENCE_NOTE = '¹ oidc-provider does not serve the jwt-bearer grant (RFC 7523): the peer columns of this row are Tessera\'s own client_credentials RS256 request, measured in the same cell on the same Tessera process, so Tessera/peer is the jwt-bearer rate as a share of plain client credentials, and CPU peer/Tessera the same for CPU per request.';
// Assertions live 300 s (TESSERA_CLIENT_ASSERTION_MAX_LIFETIME); they are signed just before each load run.
const ASSERTION_LIFETIME = 300;
const scenarioIds = args.scenarios ? args.scenarios.split(',').map((s) => s.trim()).filter(Boolean) : ALL_SCENARIOS.map((s) => s.id);
for (const id of scenarioIds) {
  if (!ALL_SCENARIOS.some((s) => s.id === id)) {
    console.error(`bench: unknown scenario "${id}" (known: ${ALL_SCENARIOS.map((s) => s.id).join(', ')})`);
    process.exit(2);
  }
}
const SCENARIOS = ALL_SCENARIOS.filter((s) => scenarioIds.includes(s.id) && (!s.reference || !args['peer-only']));
if (SCENARIOS.some((s) => s.kind === 'jwt-bearer') && WARMUP + DURATION > ASSERTION_LIFETIME - 60) {
  console.error(`bench: the jwtbearer scenario needs BENCH_WARMUP + BENCH_DURATION <= ${ASSERTION_LIFETIME - 60} s (its assertions live ${ASSERTION_LIFETIME} s)`);
  process.exit(2);
}
const CONNECTIONS = (args.connections ?? '16,64').split(',').map((s) => Number(s.trim()));
if (CONNECTIONS.some((c) => !Number.isInteger(c) || c < 1 || c > 1024)) {
  console.error(`bench: --connections must be a comma list of integers between 1 and 1024, got "${args.connections}"`);
  process.exit(2);
}

class BenchError extends Error {}

// ---------------------------------------------------------------------------------------------------
// CPU pinning

function detectPinning() {
  if (['1', 'true', 'yes', 'on'].includes(String(process.env.BENCH_NO_PIN ?? '').toLowerCase())) {
    return { pin: false, why: 'BENCH_NO_PIN is set' };
  }
  const cpus = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  if (cpus < 2) return { pin: false, why: `only ${cpus} CPU available` };
  const probe = spawnSync('taskset', ['-c', '1', process.execPath, '-e', ''], { stdio: 'ignore', timeout: 10_000 });
  if (probe.error || probe.status !== 0) {
    return { pin: false, why: probe.error?.code === 'ENOENT' ? 'taskset not found (install util-linux)' : 'taskset -c 1 failed' };
  }
  return { pin: true, why: '' };
}
const PIN = detectPinning();
const SERVER_CPU = 0;
const LOAD_CPU = 1;

// ---------------------------------------------------------------------------------------------------
// Child processes: every one is tracked and stopped on exit, errors and signals.

const live = new Set();
let tmpDir;

function startChild(name, nodeArgs, { env, cpu }) {
  // cpu null: unpinned (the all-cores phase), the process and its workers may use every core.
  const pinned = PIN.pin && cpu !== null;
  const cmd = pinned ? 'taskset' : process.execPath;
  const argv = pinned ? ['-c', String(cpu), process.execPath, ...nodeArgs] : nodeArgs;
  const proc = spawn(cmd, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const h = { name, proc, lines: [], exitInfo: null, exited: null };
  h.exited = new Promise((resolve) => {
    const done = (info) => {
      if (h.exitInfo) return;
      h.exitInfo = info;
      live.delete(h);
      resolve(info);
    };
    proc.once('exit', (code, signal) => done({ code, signal }));
    proc.once('error', (err) => done({ code: null, signal: null, error: err }));
  });
  const keep = (stream, tag) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop();
      for (const line of parts) {
        h.lines.push(`${tag} ${line}`);
        if (h.lines.length > 200) h.lines.shift();
        if (VERBOSE) console.error(`  [${name}] ${line}`);
      }
    });
  };
  keep(proc.stdout, 'out|');
  keep(proc.stderr, 'err|');
  live.add(h);
  return h;
}

function tail(h, n = 30) {
  return h.lines.slice(-n).map((l) => `    ${l}`).join('\n') || '    (no output)';
}

function describeExit(info) {
  if (!info) return 'still running';
  if (info.error) return `could not start: ${info.error.message}`;
  return info.signal ? `killed by ${info.signal}` : `exited with code ${info.code}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function stopChild(h, graceMs = STOP_GRACE_MS) {
  if (h.exitInfo) return;
  try { h.proc.kill('SIGTERM'); } catch { /* already gone */ }
  const gone = await Promise.race([h.exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (gone) return;
  console.error(`bench: ${h.name} did not stop within ${graceMs} ms, killing it`);
  try { h.proc.kill('SIGKILL'); } catch { /* already gone */ }
  await Promise.race([h.exited, sleep(2_000)]);
}

function killAllSync() {
  for (const h of live) {
    try { h.proc.kill('SIGKILL'); } catch { /* already gone */ }
  }
  if (tmpDir) {
    try { rmSync(tmpDir, { recursive: true, force: true }); } catch { /* best effort */ }
    tmpDir = undefined;
  }
}

let shuttingDown = false;
async function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  await Promise.all([...live].map((h) => stopChild(h, 3_000)));
  killAllSync();
  process.exit(code);
}
process.on('exit', killAllSync);
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(sig, () => {
    if (shuttingDown) {
      killAllSync();
      process.exit(code);
    }
    console.error(`\nbench: ${sig}, stopping servers...`);
    shutdown(code);
  });
}
process.on('uncaughtException', (err) => {
  console.error(`bench: unexpected error: ${err?.stack ?? err}`);
  shutdown(1);
});
process.on('unhandledRejection', (err) => {
  console.error(`bench: unexpected error: ${err?.stack ?? err}`);
  shutdown(1);
});

// ---------------------------------------------------------------------------------------------------
// Helpers

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function http(method, url, { headers = {}, body, timeoutMs = HTTP_TIMEOUT_MS } = {}) {
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}

// RFC 6749 §2.3.1: client_id and client_secret are form-urlencoded before they are joined and base64'd.
const formEncode = (s) => new URLSearchParams([['', s]]).toString().slice(1);
const basicAuth = (id, secret) => `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';
const form = (obj) => new URLSearchParams(obj).toString();

function jwtHeader(token) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) return null;
  try {
    const h = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    return h && typeof h === 'object' ? h : null;
  } catch {
    return null;
  }
}

const snippet = (r) => `${r.status} ${r.text.slice(0, 400).replace(/\s+/g, ' ')}`;

function cleanEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    // A TESSERA_* variable from the caller's shell (e.g. TESSERA_CONFIG) would change what is measured.
    if (!k.startsWith('TESSERA_') && !k.startsWith('PEER_') && k !== 'PORT' && k !== 'HOST') env[k] = v;
  }
  return { ...env, ...extra };
}

// ---------------------------------------------------------------------------------------------------
// Servers

async function startTessera({ workers = 1, cpu = SERVER_CPU, name = 'tessera' } = {}) {
  if (!existsSync(TESSERA_CLI)) {
    throw new BenchError(`Tessera is not built: ${path.relative(ROOT, TESSERA_CLI)} is missing. Run \`npm run build\` (or \`npm run bench\`), or use --peer-only.`);
  }
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const adminId = 'bench-admin';
  const adminSecret = randomBytes(32).toString('base64url'); // 43 characters
  const env = cleanEnv({
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    TESSERA_PUBLIC_URL: base,
    TESSERA_DATABASE_URL: `sqlite:${path.join(tmpDir, `${name}.db`)}`,
    // The one-core phase measures one process; the all-cores phase sets 2 (or more).
    TESSERA_WORKERS: String(workers),
    TESSERA_DATA_DIR: tmpDir,
    TESSERA_BOOTSTRAP_CLIENT_ID: adminId,
    TESSERA_BOOTSTRAP_CLIENT_SECRET: adminSecret,
    TESSERA_LOG_LEVEL: 'warn',
    // A fresh database: the ES256 resource server's key is new to the domain and would otherwise be
    // published for a while before it signs (RS256 meanwhile); the benchmark measures ES256 from the start.
    TESSERA_KEY_PUBLISH_DELAY_SECONDS: '0',
  });
  const preload = pathToFileURL(path.join(BENCH_DIR, 'exit-with-parent.mjs')).href;
  const h = startChild(name, ['--import', preload, TESSERA_CLI, 'serve'], { env, cpu });
  const deadline = Date.now() + TESSERA_START_TIMEOUT_MS;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (h.exitInfo) {
      throw new BenchError(`Tessera ${describeExit(h.exitInfo)} before it answered. Its last output:\n${tail(h)}`);
    }
    try {
      const r = await http('GET', `${base}/.well-known/openid-configuration`, { timeoutMs: 2_000 });
      if (r.status === 200) return { h, base, adminId, adminSecret, workers };
      last = `GET /.well-known/openid-configuration answered ${snippet(r)}`;
    } catch (err) {
      last = err.cause?.code ?? err.name ?? String(err);
    }
    await sleep(200);
  }
  throw new BenchError(`Tessera did not answer 200 on ${base}/.well-known/openid-configuration within ${TESSERA_START_TIMEOUT_MS / 1000} s (last: ${last}). Its last output:\n${tail(h)}`);
}

async function startPeer({ cpu = SERVER_CPU } = {}) {
  const port = await freePort();
  const clientId = 'bench-client';
  const clientSecret = randomBytes(32).toString('base64url');
  // The secret goes through the environment, not argv (which any local user can read with ps).
  const env = cleanEnv({ NODE_ENV: 'production', PEER_CLIENT_ID: clientId, PEER_CLIENT_SECRET: clientSecret });
  // One long-lived process serving the three resource servers (selected by the requested scope), like
  // Tessera: a peer restarted per scenario would be measured with a colder JIT than Tessera.
  const h = startChild('peer', [
    path.join(BENCH_DIR, 'peer-oidc-provider.mjs'),
    '--port', String(port), '--format', 'all',
  ], { env, cpu });
  const ready = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ timeout: true }), PEER_START_TIMEOUT_MS);
    h.proc.on('message', (m) => {
      if (m?.type === 'ready') { clearTimeout(timer); resolve({ info: m.info }); }
    });
    h.exited.then(() => { clearTimeout(timer); resolve({ exited: true }); });
  });
  if (!ready.info) {
    await stopChild(h);
    throw new BenchError(`peer (oidc-provider) ${ready.timeout ? `did not become ready within ${PEER_START_TIMEOUT_MS / 1000} s` : describeExit(h.exitInfo)}. Its last output:\n${tail(h)}`);
  }
  return { h, base: `http://127.0.0.1:${port}`, clientId, clientSecret };
}

/** bench/bare-signer.mjs: node:http + one RS256 signature per request, nothing else (the rs256 limit). */
async function startBare({ workers = 1, threads = 0, cpu = SERVER_CPU, name = 'bare' } = {}) {
  const port = await freePort();
  const h = startChild(name, [path.join(BENCH_DIR, 'bare-signer.mjs'), '--port', String(port), '--workers', String(workers), '--threads', String(threads)], { env: cleanEnv({ NODE_ENV: 'production' }), cpu });
  const ready = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), PEER_START_TIMEOUT_MS);
    h.proc.on('message', (m) => { if (m?.type === 'ready') { clearTimeout(timer); resolve(true); } });
    h.exited.then(() => { clearTimeout(timer); resolve(false); });
  });
  if (!ready) throw new BenchError(`${name} did not become ready. Its last output:\n${tail(h)}`);
  const base = `http://127.0.0.1:${port}`;
  const req = { method: 'POST', url: `${base}/token`, headers: { 'content-type': FORM, accept: 'application/json' }, body: form({ grant_type: 'client_credentials', scope: 'bench.rs256' }) };
  const r = await send(req);
  if (r.status !== 200 || jwtHeader(r.json?.access_token)?.alg !== 'RS256') throw new BenchError(`${name}: expected 200 with an RS256 JWT, got ${snippet(r)}`);
  return { h, base, req };
}

// ---------------------------------------------------------------------------------------------------
// Tessera setup through its admin API

async function scimPost(url, bearer, obj) {
  // RFC 7644 §3.1: application/scim+json is the SCIM media type; fall back to application/json on 415.
  let r;
  for (const ct of ['application/scim+json', 'application/json']) {
    r = await http('POST', url, {
      headers: { authorization: `Bearer ${bearer}`, 'content-type': ct, accept: 'application/scim+json, application/json' },
      body: JSON.stringify(obj),
    });
    if (r.status !== 415) break;
  }
  return r;
}

const APP_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:App';

async function setupTessera(t) {
  const tok = await http('POST', `${t.base}/oauth2/v1/token`, {
    headers: { authorization: basicAuth(t.adminId, t.adminSecret), 'content-type': FORM, accept: 'application/json' },
    body: form({ grant_type: 'client_credentials', scope: 'urn:opc:idm:__myscopes__' }),
  });
  if (tok.status !== 200 || typeof tok.json?.access_token !== 'string') {
    throw new BenchError(`Tessera setup: admin token request (bootstrap client bench-admin, scope urn:opc:idm:__myscopes__) answered ${snippet(tok)}`);
  }
  const admin = tok.json.access_token;

  const resourceServers = [
    { displayName: 'bench-rs-rs256', audience: 'https://rs-rs256.bench.example', scope: 'bench.rs256', accessTokenFormat: 'jwt', accessTokenSigningAlg: 'RS256' },
    { displayName: 'bench-rs-es256', audience: 'https://rs-es256.bench.example', scope: 'bench.es256', accessTokenFormat: 'jwt', accessTokenSigningAlg: 'ES256' },
    { displayName: 'bench-rs-opaque', audience: 'https://rs-opaque.bench.example', scope: 'bench.opaque', accessTokenFormat: 'opaque' },
  ];
  for (const rs of resourceServers) {
    const body = {
      schemas: [APP_SCHEMA],
      displayName: rs.displayName,
      isOAuthResource: true,
      audience: rs.audience,
      scopes: [{ value: rs.scope }],
      accessTokenFormat: rs.accessTokenFormat,
      ...(rs.accessTokenSigningAlg ? { accessTokenSigningAlg: rs.accessTokenSigningAlg } : {}),
    };
    const r = await scimPost(`${t.base}/admin/v1/Apps`, admin, body);
    if (r.status !== 201 && r.status !== 200) {
      throw new BenchError(`Tessera setup: creating resource server ${rs.displayName} (POST /admin/v1/Apps) answered ${snippet(r)}`);
    }
  }

  // Several workers each cache the catalog; the change feed tells every worker of a write within
  // TESSERA_CHANGE_POLL_MS (250 ms on SQLite; PostgreSQL's NOTIFY is sooner). Leave it a second.
  if (t.workers > 1) await sleep(1_000);
  const r = await scimPost(`${t.base}/admin/v1/Apps`, admin, {
    schemas: [APP_SCHEMA],
    displayName: 'bench-client',
    isOAuthClient: true,
    clientType: 'confidential',
    tokenEndpointAuthMethod: 'client_secret_basic',
    allowedGrants: ['client_credentials'],
    allowedScopes: resourceServers.map((rs) => ({ fqs: rs.scope })),
  });
  if ((r.status !== 201 && r.status !== 200) || typeof r.json?.name !== 'string' || typeof r.json?.clientSecret !== 'string') {
    throw new BenchError(`Tessera setup: creating the client app (POST /admin/v1/Apps) must answer 201 with "name" (client_id) and "clientSecret"; got ${snippet(r)}`);
  }
  t.clientId = r.json.name;
  t.clientSecret = r.json.clientSecret;
  if (t.workers > 1) await sleep(1_000);

  // The jwt-bearer scenario: a gateway that signs its own assertions (RS256, key registered as a JWK), the Axway
  // way: no other client authentication, sub = its client_id, a client token for bench.rs256.
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'bench-gw-1', alg: 'RS256', use: 'sig' };
  const gw = await scimPost(`${t.base}/admin/v1/Apps`, admin, {
    schemas: [APP_SCHEMA],
    displayName: 'bench-gateway',
    isOAuthClient: true,
    clientType: 'confidential',
    allowedGrants: ['urn:ietf:params:oauth:grant-type:jwt-bearer'],
    allowedScopes: [{ fqs: 'bench.rs256' }],
    jwks: { keys: [jwk] },
  });
  if ((gw.status !== 201 && gw.status !== 200) || typeof gw.json?.name !== 'string') {
    throw new BenchError(`Tessera setup: creating the jwt-bearer gateway client (POST /admin/v1/Apps) answered ${snippet(gw)}`);
  }
  t.assertions = {
    pem: privateKey.export({ format: 'pem', type: 'pkcs8' }), kid: jwk.kid, clientId: gw.json.name, audience: t.base,
    scope: 'bench.rs256', lifetime: ASSERTION_LIFETIME,
  };
}

// ---------------------------------------------------------------------------------------------------
// Requests per server and scenario, verified once before they are measured

function endpoints(server) {
  return server === 'tessera'
    ? { token: '/oauth2/v1/token', introspect: '/oauth2/v1/introspect' }
    : { token: '/token', introspect: '/token/introspection' };
}

function tokenRequest(server, s, scenario) {
  return {
    method: 'POST',
    url: `${s.base}${endpoints(server).token}`,
    headers: { authorization: basicAuth(s.clientId, s.clientSecret), 'content-type': FORM, accept: 'application/json' },
    body: form({ grant_type: 'client_credentials', scope: scenario.scope }),
  };
}

async function send(req) {
  return http(req.method, req.url, { headers: req.headers, body: req.body });
}

const LABEL = { tessera: 'Tessera', peer: 'peer (oidc-provider)', reference: 'Tessera client_credentials RS256 (reference)' };

async function getToken(server, s, scenario) {
  const label = `${LABEL[server]}, ${scenario.title}`;
  const r = await send(tokenRequest(server, s, scenario));
  if (r.status !== 200) throw new BenchError(`${label}: token request answered ${snippet(r)}`);
  const at = r.json?.access_token;
  if (typeof at !== 'string' || at.length === 0) throw new BenchError(`${label}: no access_token in ${snippet(r)}`);
  if (typeof r.json.token_type !== 'string' || r.json.token_type.toLowerCase() !== 'bearer') {
    throw new BenchError(`${label}: token_type should be Bearer: ${snippet(r)}`);
  }
  return { at, response: r.json };
}

function jwtBearerRequest(s) {
  return {
    method: 'POST',
    url: `${s.base}${endpoints('tessera').token}`,
    headers: { 'content-type': FORM, accept: 'application/json' },
    // One body per request, signed before each load run (see runLoad).
    assertions: s.assertions,
  };
}

/** Returns the request to measure for this server and scenario, after checking its answer once. */
async function prepare(server, s, scenario) {
  if (scenario.kind === 'jwt-bearer') {
    if (server === 'reference') return prepare('tessera', s, ALL_SCENARIOS.find((x) => x.id === scenario.reference));
    const label = `${LABEL[server]}, ${scenario.title}`;
    const req = jwtBearerRequest(s);
    const [one] = await makeAssertionBodies(s.assertions, 1);
    const r = await send({ ...req, body: one });
    if (r.status !== 200 || jwtHeader(r.json?.access_token)?.alg !== scenario.alg) throw new BenchError(`${label}: the jwt-bearer request should answer 200 with an ${scenario.alg} JWT; got ${snippet(r)}`);
    // The measured request includes the single-use check: the same assertion again is refused.
    const again = await send({ ...req, body: one });
    if (again.status !== 400 || again.json?.error !== 'invalid_grant') throw new BenchError(`${label}: a replayed assertion should answer 400 invalid_grant; got ${snippet(again)}`);
    return req;
  }
  const label = `${LABEL[server]}, ${scenario.title}`;
  const { at } = await getToken(server, s, scenario);
  const header = jwtHeader(at);
  if (scenario.kind === 'token') {
    if (!header) throw new BenchError(`${label}: the access token is not a JWT: ${at.slice(0, 60)}...`);
    if (header.alg !== scenario.alg) throw new BenchError(`${label}: JWT alg is ${header.alg}, expected ${scenario.alg} (header ${JSON.stringify(header)})`);
    if (typeof header.typ !== 'string' || !/^(application\/)?at\+jwt$/i.test(header.typ)) {
      console.warn(`  warning: ${label}: JWT typ is ${JSON.stringify(header.typ)}, RFC 9068 §2.1 wants "at+jwt"`);
    }
    return tokenRequest(server, s, scenario);
  }
  // introspection of an opaque token issued by the same server
  if (header) throw new BenchError(`${label}: expected an opaque access token for scope ${scenario.scope}, got a JWT (alg ${header.alg})`);
  const req = {
    method: 'POST',
    url: `${s.base}${endpoints(server).introspect}`,
    headers: { authorization: basicAuth(s.clientId, s.clientSecret), 'content-type': FORM, accept: 'application/json' },
    body: form({ token: at }),
  };
  const r = await send(req);
  if (r.status !== 200 || r.json?.active !== true) {
    throw new BenchError(`${label}: introspection should answer 200 {"active":true,...}; got ${snippet(r)}`);
  }
  return req;
}

// ---------------------------------------------------------------------------------------------------
// Load

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout?.trim()) || 100;
})();

/** utime + stime of a process (all its threads), in seconds; undefined off Linux. */
function ownCpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Child pids (Linux /proc/PID/task/TID/children). */
function childrenOf(pid) {
  try {
    const out = [];
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    }
    return out;
  } catch {
    return [];
  }
}

/** CPU seconds of a process and its descendants (a cluster primary and its workers; taskset's child). */
function cpuSeconds(pid) {
  const own = ownCpuSeconds(pid);
  if (own === undefined) return undefined;
  return childrenOf(pid).reduce((sum, c) => sum + (cpuSeconds(c) ?? 0), own);
}

/** Signs enough assertions for one load run (see bench/assertions.mjs) into a file the load generator reads. */
async function assertionFile(label, o) {
  const perSecond = signaturesPerSecond(o);
  const count = Math.ceil(perSecond * (WARMUP + DURATION) * 1.2) + 500;
  const started = Date.now();
  const bodies = await makeAssertionBodies(o, count);
  const file = path.join(tmpDir, `assertions-${label.replace(/[^a-z0-9]+/gi, '-')}.txt`);
  writeFileSync(file, `${bodies.join('\n')}\n`);
  if (VERBOSE) console.error(`  [bench] ${count} assertions for ${label} (one core signs ${Math.round(perSecond)}/s) in ${Date.now() - started} ms`);
  return file;
}

async function runLoad(label, req, connections, serverPid, loadCpu = LOAD_CPU) {
  const spec = { url: req.url, method: req.method, headers: req.headers, body: req.body, connections, duration: DURATION, warmup: WARMUP, timeout: 10 };
  if (req.assertions) spec.bodiesFile = await assertionFile(label, req.assertions);
  const h = startChild(`load ${label}`, [path.join(BENCH_DIR, 'load.mjs'), JSON.stringify(spec)], { env: cleanEnv({}), cpu: loadCpu });
  const limitMs = (WARMUP + DURATION + 60) * 1000;
  let cpuStart;
  const outcome = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ timeout: true }), limitMs);
    h.proc.on('message', (m) => {
      if (m?.type === 'measuring') cpuStart = cpuSeconds(serverPid);
      if (m?.type === 'result') {
        clearTimeout(timer);
        // Server CPU per request over the measured phase: steadier than req/s on a shared machine,
        // because time the host gives to other tenants is not counted.
        const cpuEnd = cpuSeconds(serverPid);
        const n = m.result.ok + (m.result.non2xx ?? 0);
        if (cpuStart !== undefined && cpuEnd !== undefined && n > 0) m.result.cpuUsPerReq = ((cpuEnd - cpuStart) * 1e6) / n;
        resolve({ result: m.result });
      }
    });
    h.exited.then(() => { clearTimeout(timer); resolve({ exited: true }); });
  });
  await stopChild(h, 2_000);
  if (!outcome.result) {
    throw new BenchError(`load generator for ${label} ${outcome.timeout ? `did not finish within ${limitMs / 1000} s` : describeExit(h.exitInfo)}. Its last output:\n${tail(h)}`);
  }
  return outcome.result;
}

function flagsOf(r) {
  const f = [];
  if (r.non2xx) f.push(`${r.non2xx} non-2xx`);
  if (r.errors) f.push(`${r.errors} errors`);
  if (r.timeouts) f.push(`${r.timeouts} timeouts`);
  if (r.bodies?.exhausted) f.push(`ran out of its ${r.bodies.available} assertions`);
  const w = r.warmup;
  if (w && (w.non2xx || w.errors || w.timeouts)) f.push(`warm-up: ${w.non2xx} non-2xx, ${w.errors} errors, ${w.timeouts} timeouts`);
  return f;
}

function median(results) {
  const sorted = [...results].sort((a, b) => a.okPerSec - b.okPerSec);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

// ---------------------------------------------------------------------------------------------------
// Report

const fmtInt = (n) => (n == null ? '—' : Math.round(n).toLocaleString('en-US'));
// autocannon reports whole milliseconds; show decimals only when there are some.
const fmtMs = (n) => (n == null ? '—' : Number.isInteger(n) || n >= 100 ? String(Math.round(n)) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

function cpuModel() {
  try {
    const m = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
    if (m) return m[1].trim();
  } catch { /* not Linux */ }
  return os.cpus()[0]?.model ?? 'unknown';
}

function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

function gitCommit() {
  // Read-only.
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', timeout: 5_000 });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

function table(rows) {
  const head = '| scenario | conns | Tessera req/s | p50 ms | p99 ms | peer req/s | p50 ms | p99 ms | Tessera/peer | CPU µs/req Tessera / peer | CPU peer/Tessera | flags |';
  const sep = '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|';
  const lines = rows.map((row) => {
    const t = row.tessera;
    const p = row.peer;
    const ratio = t && p && p.okPerSec > 0 ? (t.okPerSec / p.okPerSec).toFixed(2) : '—';
    const cpu = `${fmtInt(t?.cpuUsPerReq)} / ${fmtInt(p?.cpuUsPerReq)}`;
    const cpuRatio = t?.cpuUsPerReq && p?.cpuUsPerReq ? (p.cpuUsPerReq / t.cpuUsPerReq).toFixed(2) : '—';
    const flags = [];
    if (t) { const f = flagsOf(t); if (f.length) flags.push(`Tessera: ${f.join(', ')}`); }
    if (p) { const f = flagsOf(p); if (f.length) flags.push(`${row.scenario.reference ? 'reference' : 'peer'}: ${f.join(', ')}`); }
    const warn = (r) => (r && flagsOf(r).length ? ' ⚠' : '');
    return `| ${row.scenario.title} | ${row.connections} | ${fmtInt(t?.okPerSec)}${warn(t)} | ${fmtMs(t?.latency.p50)} | ${fmtMs(t?.latency.p99)} | ${fmtInt(p?.okPerSec)}${warn(p)} | ${fmtMs(p?.latency.p50)} | ${fmtMs(p?.latency.p99)} | ${ratio} | ${cpu} | ${cpuRatio} | ${flags.join('; ')} |`;
  });
  return [head, sep, ...lines].join('\n');
}

function report(rows, meta) {
  const md = [
    '# Tessera benchmark',
    '',
    `- Date: ${meta.date}`,
    `- Node ${process.version} (OpenSSL ${process.versions.openssl}), ${os.platform()} ${os.release()}`,
    `- CPU: ${meta.cpu} (${meta.cpus} logical CPUs)`,
    `- Tessera commit ${meta.commit}; peer: oidc-provider ${pkgVersion('oidc-provider')}; load: autocannon ${pkgVersion('autocannon')}`,
    `- Pinning: ${PIN.pin ? `servers on core ${SERVER_CPU} (taskset -c ${SERVER_CPU}), autocannon on core ${LOAD_CPU} (taskset -c ${LOAD_CPU})` : `NONE (${PIN.why}): numbers are not comparable with pinned runs`}`,
    `- Per cell: ${WARMUP} s warm-up, then ${REPEAT > 1 ? `${REPEAT} measured runs of ${DURATION} s (median by req/s shown)` : `${DURATION} s measured`}; loopback, keep-alive, pipelining 1${QUICK ? '; BENCH_QUICK smoke run' : ''}`,
    `- Servers: ${[RUN_TESSERA && 'Tessera', RUN_PEER && 'peer'].filter(Boolean).join(' and ')}; scenarios: ${SCENARIOS.map((s) => s.id).join(', ')}; connections: ${CONNECTIONS.join(', ')}`,
    '',
    'req/s = 2xx responses per measured second. p50/p99 = autocannon latency percentiles (ms).',
    'CPU µs/req = the server process\'s user+system CPU time (all threads) over the measured phase, divided by the requests answered; CPU peer/Tessera above 1 means Tessera does the same work with less CPU.',
    'Compare ratios from one run; absolute numbers drift 5-25 % between runs on shared machines.',
    '',
    table(rows),
    '',
    ...(rows.some((r) => r.scenario.reference) ? [REFERENCE_NOTE, ''] : []),
  ].join('\n');
  return md;
}

// ---------------------------------------------------------------------------------------------------
// All cores: nothing pinned, the load generator beside the servers on the same cores (as on a real host
// with one core per worker and a busy neighbour). One server runs at a time; RS256 client_credentials
// at the largest connection count. The bare signer's three shapes are how the mechanism was chosen.

const CORE_SERVERS = [
  { key: 'tessera2', label: 'Tessera, TESSERA_WORKERS=2' },
  { key: 'tessera1', label: 'Tessera, TESSERA_WORKERS=1' },
  { key: 'peer', label: 'peer (oidc-provider)' },
  { key: 'bare2', label: 'bare signer, 2 node:cluster workers' },
  { key: 'bareThreads', label: 'bare signer, 1 process + 2 signing threads' },
  { key: 'bare1', label: 'bare signer, 1 process' },
];

async function allCores() {
  const connections = Math.max(...CONNECTIONS);
  const rs256 = ALL_SCENARIOS.find((x) => x.id === 'rs256');
  const out = { connections, cpus: os.availableParallelism(), results: {} };
  console.log(`bench: all cores (${out.cpus}), nothing pinned, rs256 c${connections}`);
  for (const { key, label } of CORE_SERVERS) {
    let server; let req;
    if (key.startsWith('tessera')) {
      server = await startTessera({ workers: key === 'tessera2' ? 2 : 1, cpu: null, name: key });
      await setupTessera(server);
      req = await prepare('tessera', server, rs256);
    } else if (key === 'peer') {
      server = await startPeer({ cpu: null });
      req = await prepare('peer', server, rs256);
    } else {
      server = await startBare({ workers: key === 'bare2' ? 2 : 1, threads: key === 'bareThreads' ? 2 : 0, cpu: null, name: key });
      req = server.req;
    }
    process.stdout.write(`  ${label}: `);
    const r = await runLoad(`${key} c${connections}`, req, connections, server.h.proc.pid, null);
    const f = flagsOf(r);
    console.log(`${fmtInt(r.okPerSec)} req/s, p50 ${fmtMs(r.latency.p50)} ms, p99 ${fmtMs(r.latency.p99)} ms, CPU ${fmtInt(r.cpuUsPerReq)} µs/req${f.length ? `  ⚠ ${f.join(', ')}` : ''}`);
    out.results[key] = r;
    await stopChild(server.h);
  }
  return out;
}

function coresTable(cores) {
  const t1 = cores.results.tessera1?.okPerSec;
  const lines = CORE_SERVERS.map(({ key, label }) => {
    const r = cores.results[key];
    const f = flagsOf(r);
    return `| ${label} | ${fmtInt(r.okPerSec)}${f.length ? ' ⚠' : ''} | ${fmtMs(r.latency.p50)} | ${fmtMs(r.latency.p99)} | ${fmtInt(r.cpuUsPerReq)} | ${t1 ? (r.okPerSec / t1).toFixed(2) : '—'} | ${f.join(', ')} |`;
  });
  return [
    `## All cores: ${cores.cpus} CPUs, nothing pinned, load generator beside the servers; client_credentials RS256, c${cores.connections}`,
    '',
    '| server | req/s | p50 ms | p99 ms | CPU µs/req (all processes) | ÷ Tessera one worker | flags |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...lines,
  ].join('\n');
}

function targets(rows, limits, cores) {
  const cell = (id, c) => rows.find((r) => r.scenario.id === id && r.connections === c);
  const out = [];
  const add = (target, value, min, how) => {
    out.push(`| ${target} | ${value === undefined ? '—' : value.toFixed(2)} | ${min} | ${value === undefined ? 'not measured' : value >= min ? 'met' : 'NOT met'} | ${how} |`);
  };
  for (const c of CONNECTIONS) {
    const rs = cell('rs256', c); const es = cell('es256', c); const intro = cell('introspect', c);
    const ratio = (row) => (row?.tessera && row?.peer && row.peer.okPerSec > 0 ? row.tessera.okPerSec / row.peer.okPerSec : undefined);
    add(`one core, c${c}: RS256 Tessera ÷ bare signer`, rs?.tessera && limits[c] ? rs.tessera.okPerSec / limits[c].okPerSec : undefined, 0.85, 'both pinned to core 0, same load');
    add(`one core, c${c}: RS256 Tessera ÷ peer`, ratio(rs), 1.3, 'both pinned to core 0');
    add(`one core, c${c}: ES256 Tessera ÷ peer`, ratio(es), 2, 'both pinned to core 0');
    add(`one core, c${c}: introspection Tessera ÷ peer`, ratio(intro), 2, 'both pinned to core 0');
  }
  if (cores) {
    const r = cores.results;
    add(`all cores, c${cores.connections}: RS256 Tessera 2 workers ÷ Tessera 1 worker`, r.tessera2.okPerSec / r.tessera1.okPerSec, 1.8, 'unpinned, same run');
    add(`all cores, c${cores.connections}: RS256 Tessera 2 workers ÷ peer`, r.tessera2.okPerSec / r.peer.okPerSec, 1.5, 'unpinned, same run');
  }
  return ['## Targets (issue 10): ratios from this run', '', '| target | measured | at least | | how |', '|---|---:|---:|---|---|', ...out].join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Main

async function main() {
  if (!PIN.pin) console.warn(`bench: WARNING: running unpinned (${PIN.why}); servers and load generator share cores, numbers are not comparable with pinned runs.`);
  tmpDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'));

  const servers = [RUN_TESSERA && 'tessera', RUN_PEER && 'peer'].filter(Boolean);
  // A scenario the peer does not serve runs against Tessera's own reference request instead.
  const serversFor = (scenario) => (scenario.reference ? ['tessera', 'reference'] : servers);
  const cells = SCENARIOS.reduce((n, sc) => n + serversFor(sc).length, 0) * CONNECTIONS.length;
  const est = cells * (WARMUP + DURATION * REPEAT);
  console.log(`bench: ${SCENARIOS.length} scenario(s) x ${CONNECTIONS.length} connection count(s) x ${servers.length} server(s), ` +
    `${WARMUP} s warm-up + ${REPEAT} x ${DURATION} s each: about ${Math.ceil(est / 60)} min of load.`);

  let tessera;
  if (RUN_TESSERA) {
    console.log('bench: starting Tessera...');
    tessera = await startTessera();
    console.log(`bench: Tessera is up on ${tessera.base}; setting up apps through /admin/v1/Apps`);
    await setupTessera(tessera);
  }

  let peer;
  if (RUN_PEER) {
    console.log('bench: starting the peer (oidc-provider)...');
    peer = await startPeer();
    console.log(`bench: peer is up on ${peer.base}`);
  }

  // Verify every scenario on both servers before anything is measured.
  const reqs = {};
  for (const scenario of SCENARIOS) {
    reqs[scenario.id] = {};
    for (const server of serversFor(scenario)) reqs[scenario.id][server] = await prepare(server, server === 'peer' ? peer : tessera, scenario);
  }
  console.log('bench: responses verified on every scenario');

  const rows = [];
  for (const scenario of SCENARIOS) {
    for (const connections of CONNECTIONS) {
      const runs = { tessera: [], peer: [], reference: [] };
      for (let i = 0; i < REPEAT; i++) {
        // Alternate which server goes first so slow drift of the machine does not favour one.
        const order = i % 2 === 0 ? serversFor(scenario) : [...serversFor(scenario)].reverse();
        for (const server of order) {
          const s = server === 'peer' ? peer : tessera;
          const label = `${LABEL[server]} ${scenario.id} c${connections}${REPEAT > 1 ? ` #${i + 1}` : ''}`;
          process.stdout.write(`  ${label}: `);
          const r = await runLoad(label, reqs[scenario.id][server], connections, s.h.proc.pid);
          if (s.h.exitInfo) throw new BenchError(`${LABEL[server]} ${describeExit(s.h.exitInfo)} during the run. Its last output:\n${tail(s.h)}`);
          const f = flagsOf(r);
          console.log(`${fmtInt(r.okPerSec)} req/s, p50 ${fmtMs(r.latency.p50)} ms, p99 ${fmtMs(r.latency.p99)} ms, CPU ${fmtInt(r.cpuUsPerReq)} µs/req${f.length ? `  ⚠ ${f.join(', ')}` : ''}`);
          runs[server].push(r);
        }
      }
      rows.push({
        scenario,
        connections,
        tessera: runs.tessera.length ? median(runs.tessera) : null,
        // The reference (Tessera's client_credentials RS256) takes the peer's columns where the peer has no such grant.
        peer: runs.reference.length ? median(runs.reference) : runs.peer.length ? median(runs.peer) : null,
      });
    }
  }

  // The limit beside the rs256 rows: the bare signer alone on the server core, same load.
  const limits = {};
  if (RUN_TESSERA && SCENARIOS.some((sc) => sc.id === 'rs256')) {
    const bare = await startBare({ name: 'bare signer' });
    for (const connections of CONNECTIONS) {
      process.stdout.write(`  bare RS256 signer, one core, c${connections}: `);
      const r = await runLoad(`bare c${connections}`, bare.req, connections, bare.h.proc.pid);
      console.log(`${fmtInt(r.okPerSec)} req/s, CPU ${fmtInt(r.cpuUsPerReq)} µs/req`);
      limits[connections] = r;
    }
    await stopChild(bare.h);
  }
  if (peer) await stopChild(peer.h);
  if (tessera) await stopChild(tessera.h);

  const cores = RUN_TESSERA && RUN_PEER && !args['no-cores'] && os.availableParallelism() >= 2 ? await allCores() : null;

  const meta = { date: new Date().toISOString(), cpu: cpuModel(), cpus: os.cpus().length, commit: gitCommit() };
  const targetsMd = targets(rows, limits, cores);
  const coresMd = cores ? coresTable(cores) : '';
  const md = `${report(rows, meta)}\n${coresMd}\n${targetsMd}\n`;
  console.log(`\n${table(rows)}\n`);
  if (coresMd) console.log(`${coresMd}\n`);
  console.log(`${targetsMd}\n`);
  if (rows.some((r) => r.scenario.reference)) console.log(`${REFERENCE_NOTE}\n`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, 'latest.md'), md);
  writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify({
    meta: { ...meta, node: process.version, openssl: process.versions.openssl, pinned: PIN.pin, warmup: WARMUP, duration: DURATION, repeat: REPEAT, quick: QUICK },
    limits, cores,
    rows: rows.map((r) => ({
      scenario: r.scenario.id, connections: r.connections, tessera: r.tessera, peer: r.peer,
      ...(r.scenario.reference ? { peerIs: 'tessera client_credentials rs256 (reference: oidc-provider does not serve this grant)' } : {}),
    })),
  }, null, 2)}\n`);
  console.log(`bench: written ${path.relative(ROOT, path.join(RESULTS_DIR, 'latest.md'))} and latest.json`);

  const flagged = rows.some((r) => (r.tessera && flagsOf(r.tessera).length) || (r.peer && flagsOf(r.peer).length));
  if (flagged) console.warn('bench: WARNING: some runs had non-2xx responses, errors or timeouts (see the flags column).');
}

main().then(
  () => shutdown(0),
  (err) => {
    console.error(err instanceof BenchError ? `\nbench: FAILED: ${err.message}` : `\nbench: FAILED: ${err?.stack ?? err}`);
    shutdown(1);
  },
);
