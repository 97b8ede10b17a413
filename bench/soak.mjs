#!/usr/bin/env node
// Tessera soak: a load-and-fault run (issue 10). `npm run soak` builds, then runs this script.
// It starts `tessera serve` from dist with TESSERA_WORKERS=2 on PostgreSQL (a fresh schema, dropped at the
// end) or SQLite (--sqlite), sets up apps and users through the admin API, and sends a steady mix of
// client_credentials tokens, introspection, revocation, SCIM reads and writes and full sign-ins (authorize,
// login page, code, token, refresh rotation) for a bounded time. Meanwhile it kills a worker with SIGKILL
// and, on PostgreSQL, terminates every PostgreSQL connection of the server, and checks the node recovers.
// Afterwards it verifies that nothing the server answered as done was lost, prints a Markdown summary and
// writes it to bench/results/soak-latest.md. Exit code 1 when verification fails, the node does not recover,
// or unexpected answers exceed --max-unexpected. See bench/README.md, "Soak".
//
//   npm run soak                               # PostgreSQL, 200 req/s for 120 s
//   node bench/soak.mjs --sqlite --duration 30
//   node bench/soak.mjs --help
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { classify, percentile, pick } from './soak-stats.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const TESSERA_CLI = path.join(ROOT, 'dist', 'cli', 'index.js');
const RESULTS_FILE = path.join(BENCH_DIR, 'results', 'soak-latest.md');
const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

const HELP = `Usage: node bench/soak.mjs [options]   (npm run soak -- [options] builds first)

Options:
  --rate N             requests per second, all kinds together (default 200; 1-1000)
  --duration S         seconds of load (default 120; 30-900)
  --workers N          TESSERA_WORKERS (default 2; 2-8)
  --sqlite             SQLite in a temp directory instead of PostgreSQL (no connection fault then)
  --no-faults          no worker kill, no connection fault (a baseline)
  --max-unexpected P   fail when unexpected answers exceed P % of the requests (default 0.1)
  --verbose            echo the server's log
  -h, --help           this text

Environment:
  TESSERA_SOAK_PG_URL  PostgreSQL to use (default ${DEFAULT_PG_URL}); the run creates a schema
                       tessera_soak_<random> there and drops it at the end
`;

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      rate: { type: 'string', default: '200' },
      duration: { type: 'string', default: '120' },
      workers: { type: 'string', default: '2' },
      sqlite: { type: 'boolean', default: false },
      'no-faults': { type: 'boolean', default: false },
      'max-unexpected': { type: 'string', default: '0.1' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (err) {
  console.error(`soak: ${err.message}\n\n${HELP}`);
  process.exit(2);
}
if (args.help) {
  console.log(HELP);
  process.exit(0);
}
function numberArg(name, min, max, integer = true) {
  const n = Number(args[name]);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    console.error(`soak: --${name} must be a${integer ? 'n integer' : ' number'} between ${min} and ${max}, got "${args[name]}"`);
    process.exit(2);
  }
  return n;
}
const RATE = numberArg('rate', 1, 1000);
const DURATION_S = numberArg('duration', 30, 900);
const WORKERS = numberArg('workers', 2, 8);
const MAX_UNEXPECTED_PCT = numberArg('max-unexpected', 0, 100, false);
const SQLITE = args.sqlite;
const FAULTS = !args['no-faults'];
const VERBOSE = args.verbose;
const PG_URL = process.env.TESSERA_SOAK_PG_URL || DEFAULT_PG_URL;

const REQUEST_TIMEOUT_MS = 10_000;
/** Requests outstanding at once; a due request beyond this is not sent and counted as "behind". */
const MAX_IN_FLIGHT = 256;
/** How long after a fault the node must be back (workers listening, store answering). */
const RECOVERY_TIMEOUT_MS = 30_000;
/** Transient answers this long after the node was seen recovered still count as caused by the fault. */
const FAULT_GRACE_MS = 5_000;
const USERS_AT_START = 16;
const PASSWORD = 'soak horse battery staple 9';
const REDIRECT = 'https://app.soak.example/cb';
const APP_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:App';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

class SoakError extends Error {}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rnd = (n) => Math.floor(Math.random() * n);
const any = (arr) => arr[rnd(arr.length)];

// ---------------------------------------------------------------------------------------------------
// Cleanup: the server, the schema, the temp directory, on every way out.

let server; // { proc, pid, lines, exitInfo, exited }
let tmpDir;
let pgSchema;
let cleaned = false;

async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  if (server && !server.exitInfo) {
    try { server.proc.kill('SIGTERM'); } catch { /* gone */ }
    const gone = await Promise.race([server.exited.then(() => true), sleep(20_000).then(() => false)]);
    if (!gone) { try { server.proc.kill('SIGKILL'); } catch { /* gone */ } await Promise.race([server.exited, sleep(3_000)]); }
  }
  if (pgSchema) {
    const c = new pg.Client({ connectionString: PG_URL, application_name: 'tessera-soak-driver' });
    try {
      await c.connect();
      await c.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [pgSchema]);
      await c.query(`drop schema if exists ${pgSchema} cascade`);
    } catch (err) {
      console.error(`soak: could not drop schema ${pgSchema}: ${err.message}`);
    } finally {
      await c.end().catch(() => {});
    }
    pgSchema = undefined;
  }
  if (tmpDir) { rmSync(tmpDir, { recursive: true, force: true }); tmpDir = undefined; }
}
process.on('exit', () => {
  if (server && !server.exitInfo) try { server.proc.kill('SIGKILL'); } catch { /* gone */ }
  if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
});
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(sig, () => { console.error(`\nsoak: ${sig}, stopping the server...`); cleanup().finally(() => process.exit(code)); });
}

// ---------------------------------------------------------------------------------------------------
// HTTP: node:http with keep-alive, so that a killed worker's connections fail as they would for a real client.

const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
let PORT;
let BASE;

function errorOutcome(err) {
  if (err?.code === 'SOAK_TIMEOUT') return 'timeout';
  if (err?.code === 'ECONNRESET' && /socket hang up/i.test(err.message)) return 'socket hang up';
  return err?.code || err?.message || String(err);
}

/** One request. Resolves { status, headers, text, json } or { error } (never rejects). */
function send(method, url, { headers = {}, body } = {}) {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : Buffer.from(body);
    const req = http.request({
      host: '127.0.0.1', port: PORT, method, path: url, agent,
      headers: { ...headers, ...(payload ? { 'content-length': String(payload.length) } : {}) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        if (/json/.test(String(res.headers['content-type']))) try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', (error) => resolve({ error }));
    });
    req.on('error', (error) => resolve({ error }));
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timed out'), { code: 'SOAK_TIMEOUT' })));
    req.end(payload);
  });
}

const formEncode = (s) => new URLSearchParams([['', s]]).toString().slice(1);
const basic = (id, secret) => `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';
const form = (o) => new URLSearchParams(o).toString();
const snippet = (r) => (r.error ? errorOutcome(r.error) : `${r.status} ${r.text.slice(0, 300).replace(/\s+/g, ' ')}`);

// ---------------------------------------------------------------------------------------------------
// Recording: every request of the load phase, its outcome and latency.

let t0 = 0; // load start (performance.now())
const now = () => performance.now() - t0;
const records = []; // { op, start, end, outcome, ok }
const wrongAnswers = []; // a 2xx whose body is not what it must be
let inFlight = 0;
let recording = false;

/**
 * Sends one request of operation `op` and records it. `okStatuses`: the statuses this step asks for;
 * `check(r)`: a further check of a good status's body (returns an error text or undefined).
 */
async function call(op, method, url, opts, okStatuses, check) {
  inFlight++;
  const start = now();
  const r = await send(method, url, opts);
  const end = now();
  inFlight--;
  let outcome = r.error ? errorOutcome(r.error) : String(r.status);
  let ok = !r.error && okStatuses.includes(r.status);
  if (ok && check) {
    const why = check(r);
    if (why) {
      ok = false;
      outcome = `${r.status} (wrong body)`;
      if (wrongAnswers.length < 20) wrongAnswers.push(`${op} at ${(start / 1000).toFixed(1)} s: ${why}`);
    }
  }
  if (recording) records.push({ op, start, end, outcome, ok });
  r.ok = ok;
  r.outcome = outcome;
  return r;
}

// ---------------------------------------------------------------------------------------------------
// The server

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function cleanEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TESSERA_') && k !== 'PORT' && k !== 'HOST') env[k] = v;
  return { ...env, ...extra };
}

/** Pids that logged "Server listening at" (workers, in start order; replacements appended), with when. */
const listening = new Map();

function startServer(databaseUrl, admin) {
  const env = cleanEnv({
    NODE_ENV: 'production', PORT: String(PORT), HOST: '127.0.0.1', TESSERA_PUBLIC_URL: BASE,
    TESSERA_DATABASE_URL: databaseUrl, TESSERA_WORKERS: String(WORKERS), TESSERA_DATA_DIR: tmpDir,
    // A master key of the run's own, so the server does not write one into the temp directory and warn about it.
    TESSERA_MASTER_KEY: randomBytes(32).toString('hex'),
    TESSERA_BOOTSTRAP_CLIENT_ID: admin.id, TESSERA_BOOTSTRAP_CLIENT_SECRET: admin.secret,
    // info: the workers' "Server listening" lines tell when a replacement serves (request logging stays off).
    TESSERA_LOG_LEVEL: 'info', TESSERA_LOG_FORMAT: 'json', TESSERA_KEY_PUBLISH_DELAY_SECONDS: '0',
  });
  const preload = pathToFileURL(path.join(BENCH_DIR, 'exit-with-parent.mjs')).href;
  const proc = spawn(process.execPath, ['--import', preload, TESSERA_CLI, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const h = { proc, pid: proc.pid, lines: [], exitInfo: null, warnings: [] };
  h.exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => { h.exitInfo = { code, signal, at: now() }; resolve(h.exitInfo); });
    proc.once('error', (error) => { h.exitInfo = { error }; resolve(h.exitInfo); });
  });
  const read = (stream) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop();
      for (const line of parts) {
        h.lines.push(line);
        if (h.lines.length > 300) h.lines.shift();
        if (VERBOSE) console.error(`  [tessera] ${line}`);
        let j;
        try { j = JSON.parse(line); } catch { continue; }
        const msg = String(j.msg);
        if (msg.startsWith('Server listening at') && !listening.has(j.pid)) listening.set(j.pid, now());
        if (j.level >= 40 && h.warnings.length < 50) h.warnings.push(`${j.level >= 50 ? 'error' : 'warn'} pid ${j.pid}: ${msg.slice(0, 200)}`);
      }
    });
  };
  read(proc.stdout);
  read(proc.stderr);
  return h;
}

const tail = (h, n = 30) => h.lines.slice(-n).map((l) => `    ${l}`).join('\n') || '    (no output)';

/** Child pids of a process (Linux /proc/PID/task/TID/children): the cluster workers of the primary. */
function childrenOf(pid) {
  const out = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    }
  } catch { /* gone */ }
  return out;
}

function rssKb(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** RSS per process over the run: first and last sample, peak. */
const memory = new Map(); // pid -> { role, first, firstAt, last, lastAt, peak, killedAt }
function sampleMemory() {
  const pids = [server.pid, ...childrenOf(server.pid)];
  for (const pid of pids) {
    const kb = rssKb(pid);
    if (kb === undefined) continue;
    let m = memory.get(pid);
    if (!m) {
      m = { role: pid === server.pid ? 'primary' : recording && now() > 1_000 ? 'replacement worker' : 'worker', first: kb, firstAt: now(), peak: kb };
      memory.set(pid, m);
    }
    m.last = kb;
    m.lastAt = now();
    m.peak = Math.max(m.peak, kb);
  }
}

async function waitUntil(what, pred, ms) {
  const until = Date.now() + ms;
  let last;
  while (Date.now() < until) {
    if (server.exitInfo) throw new SoakError(`the server exited (${JSON.stringify(server.exitInfo)}) while waiting for ${what}. Its last output:\n${tail(server)}`);
    try { last = await pred(); if (last === true) return true; } catch (err) { last = err.message; }
    await sleep(100);
  }
  return typeof last === 'string' ? last : false;
}

// ---------------------------------------------------------------------------------------------------
// Setup through the admin API

const state = {
  admin: undefined, cc: undefined, web: undefined,
  users: [], // users that can sign in: { id, userName }
  created: [], // users the run created with 201: { id, userName, patched, patchAmbiguous, busy }
  createAmbiguous: 0,
  ccTokens: [], // client_credentials tokens answered 200, not revoked: { token, opaque }
  revoking: new Set(), // tokens a revoke was sent for (an introspection in flight at the time may see either answer)
  revokedTokens: [], // tokens revoke answered 200 for
  revokeAmbiguous: 0,
  chains: [], // sign-ins whose code got a 200 token response
  signinsStarted: 0,
  signinsAborted: 0,
};

async function adminToken(id, secret) {
  const r = await send('POST', '/oauth2/v1/token', { headers: { authorization: basic(id, secret), 'content-type': FORM }, body: form({ grant_type: 'client_credentials', scope: 'urn:opc:idm:__myscopes__' }) });
  if (r.status !== 200 || typeof r.json?.access_token !== 'string') throw new SoakError(`admin token (bootstrap client) answered ${snippet(r)}`);
  return r.json.access_token;
}

const scimHeaders = (body) => ({ authorization: `Bearer ${state.admin}`, accept: 'application/scim+json', ...(body ? { 'content-type': 'application/scim+json' } : {}) });
const scimSend = (method, url, body) => send(method, url, { headers: scimHeaders(body), body: body === undefined ? undefined : JSON.stringify(body) });

async function setupCreate(what, url, body) {
  const r = await scimSend('POST', url, body);
  if (r.status !== 201) throw new SoakError(`setup: creating ${what} (POST ${url}) answered ${snippet(r)}`);
  return r.json;
}

const newUser = (password) => {
  const userName = `soak-${randomBytes(5).toString('hex')}`;
  return {
    schemas: [USER_SCHEMA], userName, name: { givenName: 'Soak', familyName: 'Test' },
    emails: [{ value: `${userName}@soak.example`, primary: true, type: 'work' }], ...(password ? { password } : {}),
  };
};

async function setup(adminCreds) {
  state.admin = await adminToken(adminCreds.id, adminCreds.secret);
  await setupCreate('the resource server', '/admin/v1/Apps', {
    schemas: [APP_SCHEMA], displayName: 'soak-rs', isOAuthResource: true, audience: 'https://rs.soak.example', accessTokenFormat: 'opaque',
    scopes: [{ value: 'soak.opaque' }],
  });
  await setupCreate('the JWT resource server', '/admin/v1/Apps', {
    schemas: [APP_SCHEMA], displayName: 'soak-rs-jwt', isOAuthResource: true, audience: 'https://rs-jwt.soak.example', accessTokenFormat: 'jwt',
    accessTokenSigningAlg: 'RS256', scopes: [{ value: 'soak.jwt' }],
  });
  const cc = await setupCreate('the confidential client', '/admin/v1/Apps', {
    schemas: [APP_SCHEMA], displayName: 'soak-client', isOAuthClient: true, clientType: 'confidential', tokenEndpointAuthMethod: 'client_secret_basic',
    allowedGrants: ['client_credentials'], allowedScopes: [{ fqs: 'soak.opaque' }, { fqs: 'soak.jwt' }],
  });
  state.cc = { id: cc.name, secret: cc.clientSecret };
  const web = await setupCreate('the web app', '/admin/v1/Apps', {
    schemas: [APP_SCHEMA], displayName: 'soak-web', isOAuthClient: true, clientType: 'confidential', bypassConsent: true,
    allowedGrants: ['authorization_code', 'refresh_token'], redirectUris: [REDIRECT], allowedScopes: [{ fqs: 'soak.opaque' }],
  });
  state.web = { id: web.name, secret: web.clientSecret };
  for (let i = 0; i < USERS_AT_START; i++) {
    const u = await setupCreate('a user', '/admin/v1/Users', newUser(PASSWORD));
    state.users.push({ id: u.id, userName: u.userName });
  }
  // Both workers must know the new apps (change feed, cache TTL): every request kind once, retried while
  // a worker still has the old catalog, before anything is measured.
  const ready = await waitUntil('the setup to be visible to every worker', async () => {
    for (const scope of ['soak.opaque', 'soak.jwt', 'soak.opaque', 'soak.jwt']) {
      const r = await ccToken(scope, 'setup');
      if (!r.ok) return `client_credentials ${scope}: ${snippet(r)}`;
    }
    for (let i = 0; i < 2; i++) {
      const s = await signIn('setup', any(state.users), async () => {});
      if (!s.chain) return `sign-in: ${s.why}`;
    }
    return true;
  }, 20_000);
  if (ready !== true) throw new SoakError(`setup: the new apps do not work on every worker after 20 s (${ready})`);
  const u = await scimCreate('setup');
  if (!u) throw new SoakError('setup: creating a user without a password failed');
  const p = await scimPatch('setup', u);
  if (!p) throw new SoakError('setup: PATCH of a user failed');
  const g = await send('GET', `/admin/v1/Users/${u.id}`, { headers: scimHeaders() });
  if (g.json?.displayName !== u.patched) throw new SoakError(`setup: PATCH replace displayName did not stick: ${snippet(g)}`);
  // What setup made is not what the run is measured on.
  state.chains.length = 0;
  state.ccTokens.length = 0;
  state.created.length = 0;
  state.signinsStarted = 0;
}

// ---------------------------------------------------------------------------------------------------
// Operations. Each takes `slot()`: an await before every request after its first, so that flows of
// several requests share the one steady rate.

const tokenHeaders = (c) => ({ authorization: basic(c.id, c.secret), 'content-type': FORM, accept: 'application/json' });
const hasAccessToken = (r) => (typeof r.json?.access_token === 'string' && r.headers['cache-control'] === 'no-store' ? undefined : `no access_token or no Cache-Control: no-store: ${snippet(r)}`);

async function ccToken(scope = any(['soak.opaque', 'soak.jwt']), op = 'client_credentials') {
  const r = await call(op, 'POST', '/oauth2/v1/token', { headers: tokenHeaders(state.cc), body: form({ grant_type: 'client_credentials', scope }) }, [200], hasAccessToken);
  if (r.ok) {
    state.ccTokens.push({ token: r.json.access_token, opaque: scope === 'soak.opaque' });
    if (state.ccTokens.length > 2_000) state.ccTokens.splice(0, 1_000); // keep the pool bounded; verification samples it
  }
  return r;
}

async function introspect() {
  const live = state.ccTokens.length ? any(state.ccTokens) : undefined;
  if (!live) return ccToken();
  return call('introspect', 'POST', '/oauth2/v1/introspect', { headers: tokenHeaders(state.cc), body: form({ token: live.token }) }, [200],
    // A token answered 200 and not revoked must be active: a false "inactive" is lost work. One whose revoke
    // was sent while this introspection was on its way may be either (the server saw them in some order).
    (r) => (r.json?.active === true && r.json.client_id === state.cc.id ? undefined
      : state.revoking.has(live.token) && r.json?.active === false ? undefined : `a live token is not active: ${snippet(r)}`));
}

async function revokeCc() {
  if (state.ccTokens.length < 10) return ccToken();
  const t = state.ccTokens.splice(rnd(state.ccTokens.length), 1)[0];
  state.revoking.add(t.token);
  const r = await call('revoke', 'POST', '/oauth2/v1/revoke', { headers: tokenHeaders(state.cc), body: form({ token: t.token }) }, [200]);
  if (r.ok) state.revokedTokens.push({ token: t.token, client: state.cc });
  else state.revokeAmbiguous++;
  return r;
}

async function scimRead() {
  const pool = [...state.users, ...state.created];
  const u = any(pool);
  if (Math.random() < 0.5) {
    return call('scim read', 'GET', `/admin/v1/Users/${u.id}`, { headers: scimHeaders() }, [200],
      (r) => (r.json?.id === u.id && r.json.userName === u.userName ? undefined : `GET Users/${u.id}: ${snippet(r)}`));
  }
  const q = new URLSearchParams({ filter: `userName eq "${u.userName}"` });
  return call('scim read', 'GET', `/admin/v1/Users?${q}`, { headers: scimHeaders() }, [200],
    (r) => (r.json?.totalResults === 1 && r.json.Resources?.[0]?.id === u.id ? undefined : `filter userName eq ${u.userName}: ${snippet(r)}`));
}

async function scimCreate(op = 'scim create') {
  const body = newUser();
  const r = await call(op, 'POST', '/admin/v1/Users', { headers: scimHeaders(true), body: JSON.stringify(body) }, [201],
    (x) => (typeof x.json?.id === 'string' && x.json.userName === body.userName ? undefined : `created user: ${snippet(x)}`));
  if (r.ok) {
    const u = { id: r.json.id, userName: body.userName, patched: undefined, patchAmbiguous: false, busy: false };
    state.created.push(u);
    return u;
  }
  // No answer: the user may or may not exist; nothing to verify.
  state.createAmbiguous++;
  return undefined;
}

let patchCounter = 0;
async function scimPatch(op = 'scim patch', target) {
  // One PATCH at a time per user, so that the last one answered 200 is the value the store must hold.
  const u = target ?? any(state.created.filter((x) => !x.busy && !x.patchAmbiguous));
  if (!u || u.busy || u.patchAmbiguous) return op === 'setup' ? undefined : scimCreate();
  u.busy = true;
  const value = `soak patch ${++patchCounter}`;
  const r = await call(op, 'PATCH', `/admin/v1/Users/${u.id}`, {
    headers: scimHeaders(true), body: JSON.stringify({ schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'displayName', value }] }),
  }, [200, 204]);
  u.busy = false;
  if (r.ok) u.patched = value;
  else u.patchAmbiguous = true; // either value may be stored now; not verified
  return op === 'setup' ? r.ok : r;
}

/** A cookie jar, as test/signin.ts's Browser does it (SameSite ignored: same-site requests only). */
class Jar {
  cookies = new Map();
  store(r) {
    const set = r.headers?.['set-cookie'] ?? [];
    for (const c of set) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i); const value = pair.slice(i + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.cookies.delete(name); else this.cookies.set(name, value);
    }
  }
  header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
}

/** The hidden fields of the first form with the given op on a page (as test/signin.ts's formOf). */
function formOf(html, op) {
  const unescape = (s) => s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');
  for (const f of html.matchAll(/<form method="post" action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)) {
    const fields = {};
    for (const m of f[2].matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields[unescape(m[1])] = unescape(m[2]);
    if (!op || fields.op === op) return { action: unescape(f[1]), fields };
  }
  return undefined;
}

const pathOf = (loc) => (loc.startsWith(BASE) ? loc.slice(BASE.length) || '/' : loc);
const isRedirect = (r) => [302, 303].includes(r.status);

/**
 * A full sign-in in a fresh browser: authorize -> login page -> credentials -> (consent) -> code at the
 * redirect URI -> token -> one refresh (rotation). Returns { chain } once the code got its 200 token answer.
 */
async function signIn(op, user, slot) {
  const jar = new Jar();
  const verifier = randomBytes(32).toString('base64url');
  const stateParam = randomBytes(8).toString('hex');
  const q = new URLSearchParams({
    client_id: state.web.id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid offline_access soak.opaque', state: stateParam,
    nonce: randomBytes(8).toString('hex'), code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  });
  const get = async (url, ok, check) => { const r = await call(op === 'setup' ? op : 'sign-in: pages', 'GET', pathOf(url), { headers: { cookie: jar.header() } }, ok, check); jar.store(r); return r; };
  const post = async (url, fields, ok, check) => {
    const r = await call(op === 'setup' ? op : 'sign-in: pages', 'POST', pathOf(url), { headers: { cookie: jar.header(), 'content-type': FORM }, body: form(fields) }, ok, check);
    jar.store(r);
    return r;
  };
  const needsLocation = (r) => (typeof r.headers.location === 'string' ? undefined : `a redirect without Location: ${snippet(r)}`);
  let r = await get(`/oauth2/v1/authorize?${q}`, [303], (x) => (String(x.headers.location).includes('/ui/v1/signin/') ? undefined : `authorize did not go to the sign-in page: ${x.headers.location}`));
  if (!r.ok) return { why: `authorize: ${r.outcome}` };
  await slot();
  r = await get(r.headers.location, [200], (x) => (formOf(x.text, 'credSubmit') ? undefined : 'no credSubmit form on the login page'));
  if (!r.ok) return { why: `login page: ${r.outcome}` };
  const login = formOf(r.text, 'credSubmit');
  await slot();
  r = await post(login.action, { ...login.fields, username: user.userName, password: PASSWORD }, [302, 303], needsLocation);
  // A consent page (none with bypassConsent, but followed if the server shows one).
  for (let i = 0; r.ok && r.headers.location.includes('/ui/v1/signin/') && i < 3; i++) {
    await slot();
    r = await get(r.headers.location, [200], (x) => (formOf(x.text) ? undefined : 'a sign-in page without a form'));
    if (!r.ok) break;
    const f = formOf(r.text, 'consent') ?? formOf(r.text);
    await slot();
    r = await post(f.action, { ...f.fields, decision: 'allow' }, [302, 303], needsLocation);
  }
  if (!r.ok) return { why: `credentials: ${r.outcome}` };
  if (!isRedirect(r) || !r.headers.location.startsWith(REDIRECT)) {
    if (recording) wrongAnswers.push(`sign-in ended at ${r.headers.location} instead of the redirect URI`);
    return { why: `sign-in ended at ${r.headers.location}` };
  }
  const cb = new URL(r.headers.location).searchParams;
  if (cb.get('state') !== stateParam || !cb.get('code')) {
    if (recording) wrongAnswers.push(`callback without code or with the wrong state: ${r.headers.location}`);
    return { why: 'bad callback' };
  }
  await slot();
  const tokenOk = (x) => (typeof x.json?.refresh_token === 'string' && typeof x.json.access_token === 'string' && typeof x.json.id_token === 'string' ? undefined : `code redemption: ${snippet(x)}`);
  r = await call(op === 'setup' ? op : 'sign-in: code', 'POST', '/oauth2/v1/token', {
    headers: tokenHeaders(state.web), body: form({ grant_type: 'authorization_code', code: cb.get('code'), redirect_uri: REDIRECT, code_verifier: verifier }),
  }, [200], tokenOk);
  if (!r.ok) return { why: `code: ${r.outcome}` };
  const chain = { user, rts: [r.json.refresh_token], at: r.json.access_token, state: 'live', busy: true, pendingRt: undefined };
  state.chains.push(chain);
  await slot();
  await refresh(chain, op === 'setup' ? op : 'refresh');
  return { chain };
}

async function refresh(chain, op = 'refresh') {
  chain.busy = true;
  const rt = chain.rts[chain.rts.length - 1];
  const r = await call(op, 'POST', '/oauth2/v1/token', { headers: tokenHeaders(state.web), body: form({ grant_type: 'refresh_token', refresh_token: rt }) }, [200],
    (x) => (typeof x.json?.refresh_token === 'string' && x.json.refresh_token !== rt ? undefined : `refresh did not rotate: ${snippet(x)}`));
  if (r.ok) {
    chain.rts.push(r.json.refresh_token);
    chain.at = r.json.access_token;
  } else if (r.error || r.status === 503) {
    // No answer: the rotation may or may not have committed. Verified later as either, never retried now
    // (a retry of a rotated token is reuse and would revoke the family).
    chain.state = 'ambiguous';
    chain.pendingRt = rt;
  } else {
    chain.state = 'refused'; // the newest refresh token the client got did not work: lost work, reported
    chain.refusedWith = snippet(r);
  }
  chain.busy = false;
  return r;
}

const idleChain = () => {
  const live = state.chains.filter((c) => c.state === 'live' && !c.busy);
  return live.length ? any(live) : undefined;
};

async function refreshSome() {
  const c = idleChain();
  return c ? refresh(c) : ccToken();
}

async function revokeChain() {
  const c = idleChain();
  if (!c || state.chains.length < 10) return introspect();
  c.busy = true;
  const rt = c.rts[c.rts.length - 1];
  const r = await call('revoke', 'POST', '/oauth2/v1/revoke', { headers: tokenHeaders(state.web), body: form({ token: rt, token_type_hint: 'refresh_token' }) }, [200]);
  c.busy = false;
  if (r.ok) {
    c.state = 'revoked';
    state.revokedTokens.push({ token: rt, client: state.web }, { token: c.at, client: state.web });
  } else {
    c.state = 'revoke-ambiguous';
    state.revokeAmbiguous++;
  }
  return r;
}

async function signInOp(slot) {
  state.signinsStarted++;
  const s = await signIn('sign-in', any(state.users), slot);
  if (!s.chain) state.signinsAborted++;
  else s.chain.busy = false;
}

// Weights per new operation. A sign-in is 6 requests, so it carries about a fifth of the traffic.
const MIX = [
  [() => ccToken(), 28],
  [() => introspect(), 22],
  [() => revokeCc(), 3],
  [() => revokeChain(), 1],
  [() => scimRead(), 13],
  [() => scimCreate(), 5],
  [() => scimPatch(), 6],
  [(slot) => signInOp(slot), 4.5],
  [() => refreshSome(), 8],
];

// ---------------------------------------------------------------------------------------------------
// The pacer: one request every 1/RATE s. A due slot goes first to a flow waiting for its next step,
// else starts a new operation. Beyond MAX_IN_FLIGHT outstanding requests a slot is skipped ("behind").

const waiting = [];
let slotsDue = 0;
let behind = 0;
let pacing = false;
const ops = new Set();

function slot() {
  if (!pacing) return Promise.reject(Object.assign(new Error('the run ended'), { code: 'SOAK_ENDED' }));
  return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
}

function runOp(fn) {
  const p = Promise.resolve().then(() => fn(slot)).catch((err) => {
    if (err?.code !== 'SOAK_ENDED') throw err;
  }).finally(() => ops.delete(p));
  ops.add(p);
}

async function pace(durationMs, onTick) {
  pacing = true;
  const startedAt = now();
  let sent = 0;
  while (now() - startedAt < durationMs) {
    const due = Math.floor(((now() - startedAt) / 1000) * RATE) - sent;
    for (let i = 0; i < due; i++) {
      sent++;
      slotsDue++;
      if (inFlight >= MAX_IN_FLIGHT) { behind++; continue; }
      const w = waiting.shift();
      if (w) w.resolve();
      else runOp(pick(MIX, Math.random()));
    }
    onTick();
    await sleep(Math.max(1, Math.min(20, 1000 / RATE)));
  }
  pacing = false;
  for (const w of waiting.splice(0)) w.reject(Object.assign(new Error('the run ended'), { code: 'SOAK_ENDED' }));
}

// ---------------------------------------------------------------------------------------------------
// Faults

const faults = []; // { name, at, detail, recoveredAt, recovered, evidence }

async function killWorker() {
  const workers = childrenOf(server.pid).filter((p) => listening.has(p));
  if (workers.length === 0) return { name: 'kill -9 a worker', at: now(), detail: 'no worker found', recovered: false };
  const victim = workers[0];
  const at = now();
  process.kill(victim, 'SIGKILL');
  const m = memory.get(victim);
  if (m) m.killedAt = at;
  const f = { name: 'kill -9 a worker', at, detail: `SIGKILL to worker ${victim} (of ${workers.join(', ')})` };
  const ok = await waitUntil('a replacement worker', async () => {
    const live = childrenOf(server.pid).filter((p) => p !== victim && listening.has(p) && listening.get(p) > at);
    if (live.length === 0) return 'no replacement listening yet';
    if (childrenOf(server.pid).filter((p) => listening.has(p)).length < WORKERS) return 'fewer workers than configured';
    for (let i = 0; i < 4; i++) { const r = await send('GET', '/readyz'); if (r.status !== 200) return `/readyz ${snippet(r)}`; }
    f.evidence = `replacement ${live.join(', ')} listening ${((listening.get(live[0]) - at) / 1000).toFixed(1)} s after the kill; /readyz 200 x4`;
    return true;
  }, RECOVERY_TIMEOUT_MS);
  f.recovered = ok === true;
  f.recoveredAt = now();
  if (ok !== true) f.evidence = `not recovered within ${RECOVERY_TIMEOUT_MS / 1000} s: ${ok}`;
  return f;
}

async function dropConnections(driver) {
  const at = now();
  const before = (await driver.query('select count(*)::int n from pg_stat_activity where application_name = $1', [pgSchema])).rows[0].n;
  // Only the server's connections (application_name in the URL it was given), never this script's or anyone else's.
  const { rows } = await driver.query(
    'select count(*)::int n from (select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and application_name = $1) t', [pgSchema]);
  const f = { name: 'terminate the server\'s PostgreSQL connections', at, detail: `pg_terminate_backend on ${rows[0].n} of ${before} connections (application_name ${pgSchema})` };
  const ok = await waitUntil('the store to answer again', async () => {
    const r = await send('POST', '/oauth2/v1/token', { headers: tokenHeaders(state.cc), body: form({ grant_type: 'client_credentials', scope: 'soak.opaque' }) });
    if (r.status !== 200) return `token ${snippet(r)}`;
    for (let i = 0; i < 4; i++) { const x = await send('GET', '/readyz'); if (x.status !== 200) return `/readyz ${snippet(x)}`; }
    // The change-feed listeners are back: one LISTEN connection per worker.
    const l = (await driver.query("select count(*)::int n from pg_stat_activity where application_name = $1 and query ilike 'listen %'", [pgSchema])).rows[0].n;
    if (l < WORKERS) return `${l} of ${WORKERS} LISTEN connections back`;
    const total = (await driver.query('select count(*)::int n from pg_stat_activity where application_name = $1', [pgSchema])).rows[0].n;
    f.evidence = `token 200 and /readyz 200 x4 after ${((now() - at) / 1000).toFixed(1)} s; ${l} LISTEN connections resubscribed; ${total} connections now`;
    return true;
  }, RECOVERY_TIMEOUT_MS);
  f.recovered = ok === true;
  f.recoveredAt = now();
  if (ok !== true) f.evidence = `not recovered within ${RECOVERY_TIMEOUT_MS / 1000} s: ${ok}`;
  return f;
}

// ---------------------------------------------------------------------------------------------------
// Verification: nothing answered as done was lost.

async function pool(items, n, fn) {
  const q = [...items];
  await Promise.all(Array.from({ length: n }, async () => { while (q.length) await fn(q.shift()); }));
}

async function verify() {
  const checks = [];
  const check = (name) => { const c = { name, checked: 0, passed: 0, failures: [] }; checks.push(c); return c; };
  const fail = (c, why) => { if (c.failures.length < 10) c.failures.push(why); };
  const tok = (client, body) => send('POST', '/oauth2/v1/token', { headers: tokenHeaders(client), body: form(body) });
  const introspectAs = (client, token) => send('POST', '/oauth2/v1/introspect', { headers: tokenHeaders(client), body: form({ token }) });

  const live = check('the newest refresh token of every sign-in (code answered 200) works once');
  const rotated = check('a rotated (earlier) refresh token of those sign-ins is refused');
  const ambiguous = check('a refresh with no answer (reset or 503): the old token either still works or was rotated');
  const refused = check('no newest refresh token was refused during the run');
  const revoked = check('every token revoke answered 200 for is inactive at introspection');
  const revokedRt = check('every refresh token revoked with 200 is refused by the token endpoint');
  const activeCc = check('client_credentials tokens answered 200 (a sample, not revoked) are active');
  const users = check('every user created with 201 exists (and holds its last PATCH answered 200)');

  await pool(state.chains, 8, async (c) => {
    if (c.state === 'live') {
      live.checked++;
      const r = await tok(state.web, { grant_type: 'refresh_token', refresh_token: c.rts[c.rts.length - 1] });
      if (r.status === 200 && typeof r.json?.refresh_token === 'string') live.passed++;
      else { fail(live, `${c.user.userName}, after ${c.rts.length - 1} rotations: ${snippet(r)}`); return; }
      if (c.rts.length >= 2) {
        rotated.checked++;
        // RFC 9700 §4.14.2: a rotated refresh token presented again is refused (and ends the family).
        const again = await tok(state.web, { grant_type: 'refresh_token', refresh_token: c.rts[c.rts.length - 2] });
        if (again.status === 400 && again.json?.error === 'invalid_grant') rotated.passed++;
        else fail(rotated, `${c.user.userName}: ${snippet(again)}`);
      }
    } else if (c.state === 'ambiguous') {
      ambiguous.checked++;
      const r = await tok(state.web, { grant_type: 'refresh_token', refresh_token: c.pendingRt });
      if (r.status === 200) { ambiguous.passed++; c.resolved = 'not committed (the old token still worked)'; }
      else if (r.status === 400 && r.json?.error === 'invalid_grant') { ambiguous.passed++; c.resolved = 'committed (the old token was rotated)'; }
      else fail(ambiguous, `${c.user.userName}: ${snippet(r)}`);
    } else if (c.state === 'refused') {
      refused.checked++;
      fail(refused, `${c.user.userName}: ${c.refusedWith}`);
    } else if (c.state === 'revoked') {
      revokedRt.checked++;
      const r = await tok(state.web, { grant_type: 'refresh_token', refresh_token: c.rts[c.rts.length - 1] });
      if (r.status === 400 && r.json?.error === 'invalid_grant') revokedRt.passed++;
      else fail(revokedRt, `${c.user.userName}: ${snippet(r)}`);
    }
  });
  refused.passed = refused.checked - refused.failures.length;
  await pool(state.revokedTokens, 8, async (t) => {
    revoked.checked++;
    const r = await introspectAs(t.client, t.token);
    if (r.status === 200 && r.json?.active === false) revoked.passed++;
    else fail(revoked, snippet(r));
  });
  const revokedSet = new Set(state.revokedTokens.map((t) => t.token));
  const sample = state.ccTokens.filter((t) => !revokedSet.has(t.token)).sort(() => Math.random() - 0.5).slice(0, 300);
  await pool(sample, 8, async (t) => {
    activeCc.checked++;
    const r = await introspectAs(state.cc, t.token);
    if (r.status === 200 && r.json?.active === true) activeCc.passed++;
    else fail(activeCc, `${t.opaque ? 'opaque' : 'JWT'}: ${snippet(r)}`);
  });
  await pool(state.created, 8, async (u) => {
    users.checked++;
    const r = await send('GET', `/admin/v1/Users/${u.id}`, { headers: scimHeaders() });
    if (r.status !== 200 || r.json?.userName !== u.userName) { fail(users, `${u.userName}: ${snippet(r)}`); return; }
    if (u.patched && !u.patchAmbiguous && r.json.displayName !== u.patched) { fail(users, `${u.userName}: displayName ${JSON.stringify(r.json.displayName)}, last PATCH answered 200 set ${JSON.stringify(u.patched)}`); return; }
    users.passed++;
  });
  return checks;
}

// ---------------------------------------------------------------------------------------------------
// Report

const fmtMs = (n) => (n === undefined ? '—' : n >= 100 ? String(Math.round(n)) : n.toFixed(1));
const mb = (kb) => (kb === undefined ? '—' : (kb / 1024).toFixed(1));
const secs = (ms) => (ms / 1000).toFixed(1);

function gitCommit() {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', timeout: 5_000 });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

function report({ command, store, checks, stopInfo, loadMs }) {
  const windows = faults.map((f) => ({ from: f.at, to: f.recoveredAt ?? f.at }));
  const all = classify(records, windows, FAULT_GRACE_MS);
  const lat = records.filter((r) => !r.outcome.match(/^[A-Za-z]/)).map((r) => r.end - r.start).sort((a, b) => a - b);
  const opsSeen = [...new Set(records.map((r) => r.op))];
  const rows = opsSeen.map((op) => {
    const rs = records.filter((r) => r.op === op);
    const l = rs.filter((r) => !r.outcome.match(/^[A-Za-z]/)).map((r) => r.end - r.start).sort((a, b) => a - b);
    const by = {};
    for (const r of rs) by[r.outcome] = (by[r.outcome] ?? 0) + 1;
    const c = classify(rs, windows, FAULT_GRACE_MS);
    const statuses = Object.entries(by).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', ');
    return `| ${op} | ${rs.length} | ${c.ok} | ${c.expected} | ${c.unexpected} | ${statuses} | ${fmtMs(percentile(l, 50))} | ${fmtMs(percentile(l, 99))} |`;
  });
  // Failures by outcome, split by whether they fell in a fault window.
  const failed = {};
  for (const r of records.filter((x) => !x.ok)) {
    const e = (failed[r.outcome] ??= { expected: 0, unexpected: 0 });
    const c = classify([r], windows, FAULT_GRACE_MS);
    e.expected += c.expected;
    e.unexpected += c.unexpected;
  }
  const bucketMs = Math.max(5, Math.round(DURATION_S / 12)) * 1000;
  const timeline = [];
  // The last bucket may be a few ms past the end (the pacer's last tick): not a bucket of its own.
  for (let from = 0; from < loadMs - 100; from += bucketMs) {
    const rs = records.filter((r) => r.start >= from && r.start < from + bucketMs);
    const c = classify(rs, windows, FAULT_GRACE_MS);
    const l = rs.filter((r) => !r.outcome.match(/^[A-Za-z]/)).map((r) => r.end - r.start).sort((a, b) => a - b);
    const marks = faults.filter((f) => f.at >= from && f.at < from + bucketMs).map((f) => f.name).join('; ');
    timeline.push(`| ${secs(from)}–${secs(Math.min(loadMs, from + bucketMs))} | ${rs.length} | ${c.ok} | ${c.expected} | ${c.unexpected} | ${fmtMs(percentile(l, 50))} | ${fmtMs(percentile(l, 99))} | ${marks} |`);
  }
  const mem = [...memory.entries()].map(([pid, m]) => {
    const note = m.killedAt !== undefined ? `killed at ${secs(m.killedAt)} s (last sample before)` : m.role === 'replacement worker' ? `replacement, first sampled at ${secs(m.firstAt)} s` : '';
    return `| ${m.role} | ${pid} | ${mb(m.first)} | ${mb(m.last)} | ${m.last - m.first >= 0 ? '+' : ''}${mb(m.last - m.first)} | ${mb(m.peak)} | ${secs(m.lastAt - m.firstAt)} | ${note} |`;
  });
  const unexpectedPct = records.length ? (100 * all.unexpected) / records.length : 0;
  const failedChecks = checks.filter((c) => c.failures.length > 0 || c.passed !== c.checked);
  const unrecovered = faults.filter((f) => !f.recovered);
  const reasons = [
    ...failedChecks.map((c) => `verification failed: ${c.name}`),
    ...unrecovered.map((f) => `not recovered: ${f.name}`),
    ...(unexpectedPct > MAX_UNEXPECTED_PCT ? [`unexpected answers ${unexpectedPct.toFixed(3)} % > ${MAX_UNEXPECTED_PCT} %`] : []),
    ...(server.exitInfo && !stopInfo ? ['the server exited during the run'] : []),
  ];
  const answered = records.filter((r) => !r.outcome.match(/^[A-Za-z]/)).length;
  const signinsDone = state.chains.length;
  // Flows waiting for their next slot when the load stopped are neither done nor failed.
  const signinsCut = state.signinsStarted - signinsDone - state.signinsAborted;
  const ambiguousChains = state.chains.filter((c) => c.resolved);
  const md = [
    '# Tessera soak run',
    '',
    `- Date: ${new Date().toISOString()}; Tessera commit ${gitCommit()}; Node ${process.version}; ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'})`,
    `- Command: \`${command}\``,
    `- Store: ${store}; TESSERA_WORKERS=${WORKERS}; target ${RATE} req/s for ${DURATION_S} s (${loadMs ? secs(loadMs) : '—'} s measured), at most ${MAX_IN_FLIGHT} requests in flight, keep-alive`,
    `- Faults: ${FAULTS ? faults.map((f) => `${f.name} at ${secs(f.at)} s`).join('; ') || 'none' : 'off (--no-faults)'}`,
    '',
    `**Result: ${reasons.length ? `FAIL (${reasons.join('; ')})` : 'PASS'}**`,
    '',
    '## Traffic',
    '',
    '| | |',
    '|---|---:|',
    `| requests sent | ${records.length} |`,
    `| answered (any status) | ${answered} (${(answered / (loadMs / 1000)).toFixed(1)} per s) |`,
    `| the answer asked for | ${all.ok} |`,
    `| expected failures (transient, around a fault) | ${all.expected} |`,
    `| unexpected failures | ${all.unexpected} (${unexpectedPct.toFixed(3)} %, limit ${MAX_UNEXPECTED_PCT} %) |`,
    `| slots not sent (${MAX_IN_FLIGHT} in flight: client behind) | ${behind} of ${slotsDue} |`,
    `| latency of answered requests p50 / p99 | ${fmtMs(percentile(lat, 50))} ms / ${fmtMs(percentile(lat, 99))} ms |`,
    `| sign-ins started / completed to a token / stopped by a failed step / still running at the end | ${state.signinsStarted} / ${signinsDone} / ${state.signinsAborted} / ${signinsCut} |`,
    `| users created (201) / refresh rotations (200) / tokens revoked (200) | ${state.created.length} / ${state.chains.reduce((s, c) => s + c.rts.length - 1, 0)} / ${state.revokedTokens.length} |`,
    `| answers that were wrong (a 2xx with the wrong body) | ${records.filter((r) => r.outcome.includes('wrong body')).length} |`,
    '',
    '## Answers by operation',
    '',
    'ok = the status (and body) the step asks for; expected = a 503 or a connection error from just before a fault until',
    `${FAULT_GRACE_MS / 1000} s after the node was seen recovered; unexpected = any other answer. Latency of answered requests.`,
    '',
    '| operation | requests | ok | expected | unexpected | outcomes | p50 ms | p99 ms |',
    '|---|---:|---:|---:|---:|---|---:|---:|',
    ...rows,
    '',
    '## Failures by outcome',
    '',
    ...(Object.keys(failed).length
      ? ['| outcome | expected (around a fault) | unexpected |', '|---|---:|---:|', ...Object.entries(failed).map(([k, v]) => `| ${k} | ${v.expected} | ${v.unexpected} |`)]
      : ['none']),
    ...(wrongAnswers.length ? ['', 'Wrong answers (first 20):', '', ...wrongAnswers.map((w) => `- ${w}`)] : []),
    '',
    '## Faults',
    '',
    ...(faults.length
      ? ['| fault | at s | what | recovered | how we know |', '|---|---:|---|---|---|',
        ...faults.map((f) => `| ${f.name} | ${secs(f.at)} | ${f.detail} | ${f.recovered ? `yes, ${secs(f.recoveredAt - f.at)} s` : '**no**'} | ${f.evidence ?? ''} |`)]
      : ['none']),
    '',
    '## Timeline',
    '',
    '| s | requests | ok | expected | unexpected | p50 ms | p99 ms | fault |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    ...timeline,
    '',
    '## Memory (VmRSS from /proc/PID/status, sampled every 5 s)',
    '',
    '| process | pid | first MB | last MB | growth MB | peak MB | over s | note |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    ...mem,
    '',
    '## Verification after the run',
    '',
    '| check | checked | passed |',
    '|---|---:|---:|',
    ...checks.map((c) => `| ${c.name} | ${c.checked} | ${c.passed}${c.failures.length ? ' **FAILED**' : ''} |`),
    '',
    ...(ambiguousChains.length ? [`Refreshes that got no answer, as the store had them: ${Object.entries(ambiguousChains.reduce((m, c) => { m[c.resolved] = (m[c.resolved] ?? 0) + 1; return m; }, {})).map(([k, v]) => `${v} ${k}`).join(', ')}.`, ''] : []),
    ...checks.flatMap((c) => c.failures.map((f) => `- ${c.name}: ${f}`)),
    ...(server.warnings.length ? ['', 'Server warnings and errors (first 50):', '', ...server.warnings.map((w) => `- ${w}`)] : []),
    '',
    stopInfo ? `SIGTERM at the end: the server exited with ${stopInfo.signal ?? `code ${stopInfo.code}`} after ${stopInfo.ms} ms.` : '',
    '',
  ];
  return { md, reasons, failedChecks };
}

// ---------------------------------------------------------------------------------------------------
// Main

const scriptErrors = [];
process.on('unhandledRejection', (err) => { scriptErrors.push(err?.stack ?? String(err)); console.error(`soak: unexpected error: ${err?.stack ?? err}`); });

async function main() {
  if (!existsSync(TESSERA_CLI)) throw new SoakError(`Tessera is not built: ${path.relative(ROOT, TESSERA_CLI)} is missing. Run \`npm run build\` (or \`npm run soak\`).`);
  if (!existsSync('/proc/self/status')) throw new SoakError('this script reads /proc (worker pids, VmRSS): Linux only');
  const argv = process.argv.slice(2).join(' ');
  const command = process.env.npm_lifecycle_event === 'soak' ? `npm run soak${argv ? ` -- ${argv}` : ''}` : `node bench/soak.mjs${argv ? ` ${argv}` : ''}`;
  tmpDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-soak-'));
  PORT = await freePort();
  BASE = `http://127.0.0.1:${PORT}`;

  let databaseUrl;
  let store;
  let driver;
  if (SQLITE) {
    databaseUrl = `sqlite:${path.join(tmpDir, 'soak.db')}`;
    store = 'SQLite (WAL) in a temp directory; no connection fault';
  } else {
    driver = new pg.Client({ connectionString: PG_URL, application_name: 'tessera-soak-driver' });
    try {
      await driver.connect();
    } catch (err) {
      throw new SoakError(`PostgreSQL at ${new URL(PG_URL).host} is not reachable (${err.message}): set TESSERA_SOAK_PG_URL, or run with --sqlite`);
    }
    pgSchema = `tessera_soak_${randomBytes(4).toString('hex')}`;
    await driver.query(`create schema ${pgSchema}`);
    const u = new URL(PG_URL);
    // The schema through search_path (as the tests do), and a name that scopes the connection fault to this server.
    u.searchParams.set('options', `-c search_path=${pgSchema}`);
    u.searchParams.set('application_name', pgSchema);
    databaseUrl = u.toString();
    const v = (await driver.query('show server_version')).rows[0].server_version;
    store = `PostgreSQL ${v} at ${u.host}${u.pathname}, fresh schema ${pgSchema} (dropped afterwards)`;
  }

  const adminCreds = { id: 'soak-admin', secret: randomBytes(32).toString('base64url') };
  console.log(`soak: starting Tessera (TESSERA_WORKERS=${WORKERS}) on ${BASE}; store: ${store}`);
  server = startServer(databaseUrl, adminCreds);
  const up = await waitUntil('the workers to listen', async () => {
    if (listening.size < WORKERS) return `${listening.size} of ${WORKERS} workers listening`;
    const r = await send('GET', '/.well-known/openid-configuration');
    return r.status === 200 ? true : `discovery ${snippet(r)}`;
  }, 60_000);
  if (up !== true) throw new SoakError(`Tessera did not come up within 60 s (${up}). Its last output:\n${tail(server)}`);
  console.log('soak: setting up a resource server, a confidential client, a web app and users through /admin/v1');
  await setup(adminCreds);

  console.log(`soak: ${RATE} req/s for ${DURATION_S} s${FAULTS ? `; kill -9 a worker at ${Math.round(DURATION_S * 0.3)} s${SQLITE ? '' : `, terminate the server's PostgreSQL connections at ${Math.round(DURATION_S * 0.6)} s`}` : ''}`);
  t0 = performance.now();
  recording = true;
  sampleMemory();
  const plan = FAULTS ? [{ frac: 0.3, run: killWorker }, ...(SQLITE ? [] : [{ frac: 0.6, run: () => dropConnections(driver) }])] : [];
  const running = [];
  let lastSample = 0;
  let lastProgress = 0;
  const onTick = () => {
    const t = now();
    for (const p of plan) {
      if (!p.started && t >= p.frac * DURATION_S * 1000) {
        p.started = true;
        console.log(`soak: ${secs(t)} s: ${p.run === killWorker ? 'kill -9 a worker' : 'terminate the server\'s PostgreSQL connections'}`);
        running.push(p.run().then((f) => { faults.push(f); console.log(`soak: ${secs(now())} s: ${f.detail}: ${f.recovered ? 'recovered' : 'NOT recovered'} (${f.evidence})`); }));
      }
    }
    if (t - lastSample >= 5_000) { lastSample = t; sampleMemory(); }
    if (t - lastProgress >= 10_000) {
      lastProgress = t;
      const bad = records.filter((r) => !r.ok).length;
      console.log(`soak: ${secs(t)} s: ${records.length} requests, ${bad} not ok, ${inFlight} in flight, ${behind} behind`);
    }
  };
  await pace(DURATION_S * 1000, onTick);
  const loadMs = now();
  await Promise.all(running);
  faults.sort((a, b) => a.at - b.at);
  // Requests still in flight finish (each has its own timeout); flows waiting for a slot were cut off.
  await Promise.race([Promise.allSettled([...ops]), sleep(REQUEST_TIMEOUT_MS + 5_000)]);
  sampleMemory();
  recording = false;

  console.log(`soak: load done (${records.length} requests); verifying ${state.chains.length} sign-ins, ${state.revokedTokens.length} revocations, ${state.created.length} created users`);
  const checks = await verify();

  const stopAt = Date.now();
  server.proc.kill('SIGTERM');
  const exit = await Promise.race([server.exited, sleep(30_000).then(() => null)]);
  const stopInfo = exit ? { ...exit, ms: Date.now() - stopAt } : undefined;

  const { md, reasons } = report({ command, store, checks, stopInfo, loadMs });
  if (scriptErrors.length) reasons.push(`${scriptErrors.length} errors in this script (see its output)`);
  if (!stopInfo) reasons.push('the server did not exit within 30 s of SIGTERM');
  else if (stopInfo.code !== 0) reasons.push(`the server exited with ${stopInfo.signal ?? `code ${stopInfo.code}`} after SIGTERM`);
  const text = md.join('\n').replace(/^\*\*Result: .*\*\*$/m, `**Result: ${reasons.length ? `FAIL (${reasons.join('; ')})` : 'PASS'}**`);
  console.log(`\n${text}`);
  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, text);
  console.log(`soak: written ${path.relative(ROOT, RESULTS_FILE)}`);
  await driver?.end().catch(() => {});
  return reasons.length ? 1 : 0;
}

main().then(
  async (code) => { await cleanup(); process.exit(code); },
  async (err) => {
    console.error(err instanceof SoakError ? `\nsoak: FAILED: ${err.message}` : `\nsoak: FAILED: ${err?.stack ?? err}`);
    await cleanup();
    process.exit(1);
  },
);
