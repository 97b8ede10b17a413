import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { buildApp, type Tessera } from '../../src/http/app.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { loadConfig, ConfigError } from '../../src/config/load.js';
import { testConfig } from '../helpers.js';

/**
 * Connection limits on a listening server, with real sockets (inject bypasses node:http). Small
 * values keep the suite fast: headers 1 s, whole request 2 s, keep-alive idle 1 s, 6 connections.
 * node:http sweeps for expired connections at a quarter of the shorter timeout (250 ms here).
 */
const LIMITS = { headersTimeoutSeconds: 1, requestTimeoutSeconds: 2, keepAliveTimeoutSeconds: 1, maxConnections: 6 };
// Event-loop and scheduling slack on a loaded 2-core machine, on top of the sweep interval.
const SLACK_MS = 750;

interface Conn {
  socket: net.Socket;
  /** Everything the server sent. */
  data(): string;
  /** Resolves with the time (ms since the connection opened) at which the server closed it. */
  closed: Promise<number>;
  isClosed(): boolean;
}

const open: net.Socket[] = [];

async function connect(port: number): Promise<Conn> {
  const started = performance.now();
  const socket = net.connect(port, '127.0.0.1');
  open.push(socket);
  let data = '';
  let isClosed = false;
  socket.on('data', (d) => { data += d.toString('latin1'); });
  socket.on('error', () => {}); // a reset by the server is one of the expected outcomes
  const closed = new Promise<number>((r) => socket.once('close', () => { isClosed = true; r(performance.now() - started); }));
  await once(socket, 'connect');
  return { socket, data: () => data, closed, isClosed: () => isClosed };
}

/** Write `chunk` every `ms` until the connection closes (a slowloris client). */
function trickle(c: Conn, chunk: string, ms = 100): void {
  const t = setInterval(() => { if (!c.socket.destroyed) c.socket.write(chunk); }, ms);
  void c.closed.then(() => clearInterval(t));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A plain request on a fresh connection (no agent, so no pooled socket is reused). */
function get(port: number, path: string): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, body, ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function connectionsOf(t: Tessera): Promise<number> {
  return new Promise((r, j) => t.app.server.getConnections((e, n) => (e ? j(e) : r(n))));
}
async function waitForConnections(t: Tessera, n: number): Promise<void> {
  for (let i = 0; i < 100 && (await connectionsOf(t)) !== n; i++) await sleep(10);
  assert.equal(await connectionsOf(t), n, 'the server sees the expected number of connections');
}

describe('connection timeouts and the connection cap (slowloris, slow bodies)', () => {
  let t: Tessera;
  let port: number;
  let log = '';
  const logLines = () => log.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; url?: string });

  before(async () => {
    const stream = new Writable({ write(chunk, _e, cb) { log += chunk; cb(); } });
    t = await buildApp({ config: testConfig({ ...LIMITS, logLevel: 'debug' }), masterKey: new MasterKey(randomBytes(32)), logger: { stream } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as net.AddressInfo).port;
  });
  after(async () => {
    for (const s of open) s.destroy();
    await t.close();
  });

  const POST_HEAD = (length: number) =>
    `POST /oauth2/v1/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${length}\r\n\r\n`;

  // [case, what the client does, timeout that must end it (ms)]
  const cases: [string, (c: Conn) => void, number][] = [
    ['trickled headers (one header byte every 100 ms)', (c) => { c.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: '); trickle(c, 'a'); }, 1000],
    ['a connection that never sends a byte', () => {}, 1000],
    ['headers that never end', (c) => { c.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n'); }, 1000],
    ['a slow body (one byte every 100 ms of a 1000-byte body)', (c) => { c.socket.write(POST_HEAD(1000) + 'grant_type='); trickle(c, 'a'); }, 2000],
    ['a body that never arrives', (c) => { c.socket.write(POST_HEAD(100)); }, 2000],
  ];
  // Independent of one another: run at once to keep the suite short. The timeout fails them fast
  // on a server without limits instead of hanging.
  describe('each attack is cut off at its bound', { concurrency: true }, () => {
    for (const [name, attack, bound] of cases) {
      test(`${name}: the server answers 408 and closes the connection after ${bound} ms`, { timeout: 10_000 }, async () => {
        const c = await connect(port);
        attack(c);
        const closedAt = await c.closed;
        assert.ok(closedAt >= bound - 100, `not before the timeout (closed after ${Math.round(closedAt)} ms)`);
        assert.ok(closedAt <= bound + 250 + SLACK_MS, `within the bound (closed after ${Math.round(closedAt)} ms)`);
        assert.match(c.data(), /^HTTP\/1\.1 408 /, 'a 408, not a hang or a 200');
      });
    }
  });

  test('an idle keep-alive connection is closed after the keep-alive timeout; a busy one is not', { timeout: 10_000 }, async () => {
    const c = await connect(port);
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    for (let i = 0; i < 100 && !c.data().includes('{"status":"ok"}'); i++) await sleep(10);
    assert.match(c.data(), /^HTTP\/1\.1 200 [\s\S]*keep-alive/i);
    // a second request 500 ms later on the same connection still works (the timer restarts)
    await sleep(500);
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    for (let i = 0; i < 100 && c.data().split('{"status":"ok"}').length < 3; i++) await sleep(10);
    assert.equal(c.data().split('HTTP/1.1 200').length, 3, 'two responses on one connection');
    const idleFrom = performance.now();
    await c.closed;
    const idle = performance.now() - idleFrom;
    // Node 24 adds a 1 s keepAliveTimeoutBuffer to the socket timeout.
    assert.ok(idle >= 900 && idle <= 2000 + SLACK_MS, `closed after ${Math.round(idle)} ms idle`);
  });

  test('connections beyond the cap are closed at once, unanswered; a freed slot serves again', async () => {
    await waitForConnections(t, 0);
    const held = await Promise.all(Array.from({ length: LIMITS.maxConnections }, () => connect(port)));
    for (const c of held) c.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n'); // incomplete: held open
    await waitForConnections(t, LIMITS.maxConnections);
    const extra = await connect(port);
    extra.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const refusedAt = await extra.closed;
    assert.ok(refusedAt < 500, `refused at once (${Math.round(refusedAt)} ms)`);
    assert.equal(extra.data(), '', 'nothing is read or answered beyond the cap');
    assert.ok(held.every((c) => !c.isClosed()), 'the held connections are untouched');

    held[0]!.socket.destroy();
    await waitForConnections(t, LIMITS.maxConnections - 1);
    const r = await get(port, '/healthz');
    assert.equal(r.status, 200);
    for (const c of held) c.socket.destroy();
  });

  test('while attack connections are held, a normal request on a fresh connection is served promptly', { timeout: 10_000 }, async () => {
    await waitForConnections(t, 0);
    const attackers = await Promise.all(Array.from({ length: LIMITS.maxConnections - 1 }, () => connect(port)));
    attackers.forEach((c, i) => {
      if (i % 2 === 0) { c.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: '); trickle(c, 'a'); }
      else { c.socket.write(POST_HEAD(1000)); trickle(c, 'a'); }
    });
    await waitForConnections(t, LIMITS.maxConnections - 1);
    const r = await get(port, '/healthz');
    assert.equal(r.status, 200);
    assert.equal(r.body, '{"status":"ok"}');
    assert.ok(r.ms < 500, `served in ${Math.round(r.ms)} ms`);
    assert.ok(attackers.every((c) => !c.isClosed()), 'the attack connections were still open meanwhile');
    // and they end within their bounds, so the attacker has to keep reconnecting
    const ends = await Promise.all(attackers.map((c) => c.closed));
    assert.ok(Math.max(...ends) <= 2000 + 250 + SLACK_MS, `all closed by ${Math.round(Math.max(...ends))} ms`);
  });

  test('a client that aborts mid-body is logged as an aborted request at debug, never as a store outage', { timeout: 10_000 }, async () => {
    log = '';
    const c = await connect(port);
    c.socket.write(POST_HEAD(100) + 'grant_type=client_');
    await sleep(100);
    c.socket.destroy();
    // a request timeout ends the same way from the server side
    const slow = await connect(port);
    slow.socket.write(POST_HEAD(100) + 'grant_type=');
    await slow.closed;
    for (let i = 0; i < 100 && logLines().filter((l) => l.msg === 'request aborted by the client').length < 2; i++) await sleep(10);

    const lines = logLines();
    const aborted = lines.filter((l) => l.msg === 'request aborted by the client');
    assert.equal(aborted.length, 2, log);
    for (const l of aborted) {
      assert.equal(l.level, 20, 'debug');
      assert.equal(l.url, '/oauth2/v1/token');
    }
    assert.deepEqual(lines.filter((l) => l.level >= 40), [], 'nothing at warn or above');
    assert.doesNotMatch(log, /store unavailable/);
  });
});

test('a real store outage is still logged as one (the same capture sees it)', async () => {
  let log = '';
  const stream = new Writable({ write(chunk, _e, cb) { log += chunk; cb(); } });
  const t = await buildApp({ config: testConfig({ logLevel: 'info' }), masterKey: new MasterKey(randomBytes(32)), logger: { stream } });
  try {
    await t.database.db.destroy();
    const r = await t.app.inject({ method: 'POST', url: '/oauth2/v1/token', payload: 'grant_type=client_credentials', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic eDp5' } });
    assert.equal(r.statusCode, 503, r.body);
    assert.match(log, /"level":50[^\n]*"msg":"store unavailable"/);
  } finally {
    await t.close().catch(() => {});
  }
});

test('a headers timeout above the request timeout is refused at start-up, naming both settings', () => {
  assert.throws(() => loadConfig({ TESSERA_HEADERS_TIMEOUT_SECONDS: '40', TESSERA_REQUEST_TIMEOUT_SECONDS: '30' }),
    (e: unknown) => e instanceof ConfigError && /TESSERA_HEADERS_TIMEOUT_SECONDS.*TESSERA_REQUEST_TIMEOUT_SECONDS/.test(e.message));
  for (const [k, v] of [['TESSERA_REQUEST_TIMEOUT_SECONDS', '0'], ['TESSERA_KEEP_ALIVE_TIMEOUT_SECONDS', '0'], ['TESSERA_MAX_CONNECTIONS', '0'], ['TESSERA_HEADERS_TIMEOUT_SECONDS', 'x']] as const) {
    assert.throws(() => loadConfig({ [k]: v }), (e: unknown) => e instanceof ConfigError && e.message.startsWith(k), `${k}=${v}`);
  }
  const d = loadConfig({});
  assert.deepEqual([d.headersTimeoutSeconds, d.requestTimeoutSeconds, d.keepAliveTimeoutSeconds, d.maxConnections], [10, 30, 5, 1000]);
});
