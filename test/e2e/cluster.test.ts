/**
 * Issue 10, every core: `tessera serve` with TESSERA_WORKERS=2 on one SQLite file (WAL, several
 * processes). The primary prepares the store once, two workers share one port, writes from both
 * land (nothing lost, no SQLITE_BUSY 5xx), the background duties run on exactly one worker, a worker
 * killed with SIGKILL is replaced while the port keeps answering, and SIGTERM drains in-flight
 * requests, flushes every worker's audit batch and exits 0 in time.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { LightMyRequestResponse } from 'fastify';
import { adminToken, basic, form, post, setupClient, type Harness } from '../helpers.js';
import { authorizeUrl, Browser, callbackParams, createUser, createWebApp, pkce, REDIRECT, signIn } from '../signin.js';
import { startCluster, type Cluster } from '../cluster_world.js';

const statuses = (rs: { statusCode: number }[]) => rs.reduce<Record<number, number>>((m, r) => ({ ...m, [r.statusCode]: (m[r.statusCode] ?? 0) + 1 }), {});

/** Sign in through the cluster and redeem the code; returns the tokens' redemption and a replay of the same code. */
async function codeFlow(h: Harness, app: { clientId: string; secret?: string }, userName: string): Promise<{ refresh: string; replay: () => Promise<LightMyRequestResponse> }> {
  const { verifier, challenge } = pkce();
  const r = await signIn(new Browser(h), authorizeUrl({
    client_id: app.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid offline_access', state: 's', code_challenge: challenge, code_challenge_method: 'S256',
  }), userName);
  const code = callbackParams(r).get('code');
  assert.ok(code, r.body);
  const redeem = () => post(h, '/oauth2/v1/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, { authorization: basic(app.clientId, app.secret!) });
  const t = await redeem();
  assert.equal(t.statusCode, 200, t.body);
  return { refresh: t.json().refresh_token as string, replay: redeem };
}

describe('tessera serve with TESSERA_WORKERS=2 on one SQLite file', () => {
  let dir: string;
  let c: Cluster;
  let dbFile: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-cluster-'));
    dbFile = join(dir, 'tessera.db');
    c = await startCluster({
      TESSERA_DATA_DIR: dir, TESSERA_DATABASE_URL: `sqlite:${dbFile}`, TESSERA_LOG_REQUESTS: 'true',
      // Every failure recorded (no per-minute cap), duties every second so the test sees them move.
      TESSERA_AUDIT_FAILURES_PER_MINUTE: '0', TESSERA_PURGE_INTERVAL_SECONDS: '1',
    });
  });
  after(async () => {
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('two workers, not the primary, listen on one port; the store was prepared once', () => {
    const workers = c.workerPids();
    assert.equal(workers.length, 2, JSON.stringify(c.logs));
    assert.ok(!workers.includes(c.child.pid!), 'the primary serves no requests');
    // One process generated the master key, migrated and announced; workers did neither.
    const fromPrimary = (re: RegExp) => c.logs.filter((l) => re.test(l.msg)).map((l) => l.pid);
    assert.deepEqual(fromPrimary(/^Tessera listening on /), [c.child.pid]);
    assert.deepEqual(fromPrimary(/generated .*master\.key/), [c.child.pid]);
    assert.deepEqual(fromPrimary(/^bootstrap client /), [c.child.pid]);
    const db = new Database(dbFile, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal((db.prepare('select count(*) n from domains').get() as { n: number }).n, 1);
      const keys = db.prepare("select alg, count(*) n from signing_keys where status = 'active' group by alg").all() as { alg: string; n: number }[];
      assert.ok(keys.length > 0 && keys.every((k) => k.n === 1), JSON.stringify(keys));
    } finally { db.close(); }
  });

  test('the background duties run on exactly one worker', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const duty = c.logs.filter((l) => l.msg.includes('runs the background duties')).map((l) => l.pid);
    assert.equal(duty.length, 1, JSON.stringify(duty));
    assert.ok(c.workerPids().includes(duty[0]!));
  });

  test('writes from both workers land: tokens, codes, refresh rotations, audit; no 5xx, nothing lost', async () => {
    const h = c.harness;
    const admin = await adminToken(h);
    const cc = await setupClient(h, { admin, scopes: ['cl.opaque'], rs: { accessTokenFormat: 'opaque' } });
    const web = await createWebApp(h, admin);
    const users = await Promise.all([0, 1, 2, 3].map(() => createUser(h, admin)));

    const before = c.logs.length;
    // 120 opaque tokens (a row each) and 60 failed client authentications (an audit row each) at once.
    const tokens = await Promise.all(Array.from({ length: 120 }, () => post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'cl.opaque' }, { authorization: basic(cc.clientId, cc.secret) })));
    const bad = await Promise.all(Array.from({ length: 60 }, () => post(h, '/oauth2/v1/token', { grant_type: 'client_credentials' }, { authorization: basic(cc.clientId, 'wrong-secret-wrong-secret-wrong') })));
    assert.deepEqual(statuses(tokens), { 200: 120 });
    assert.deepEqual(statuses(bad), { 401: 60 });
    // Four code flows at once; three refresh families rotated 8 times each, in parallel; the fourth code replayed.
    const flows = await Promise.all(users.map((u) => codeFlow(h, web, u.userName)));
    const rotated = await Promise.all(flows.slice(1).map(async ({ refresh }) => {
      let rt = refresh;
      const seen = [rt];
      for (let i = 0; i < 8; i++) {
        const r = await post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: rt }, { authorization: basic(web.clientId, web.secret!) });
        assert.equal(r.statusCode, 200, r.body);
        rt = r.json().refresh_token as string;
        seen.push(rt);
      }
      return seen;
    }));
    // RFC 6749 §4.1.2: a code is used once, and a replay revokes what it gave; the redemption and the
    // revocation were both stored, whichever worker took them.
    const replays = await Promise.all([0, 1, 2, 3].map(() => flows[0]!.replay()));
    assert.deepEqual(replays.map((r) => [r.statusCode, r.json().error]), replays.map(() => [400, 'invalid_grant']));
    const revoked = await post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: flows[0]!.refresh }, { authorization: basic(web.clientId, web.secret!) });
    assert.equal(revoked.statusCode, 400, revoked.body);
    assert.equal(revoked.json().error, 'invalid_grant');
    // Both workers served these requests (request logs carry the worker's pid).
    const served = new Set(c.logs.slice(before).filter((l) => l.msg === 'request completed').map((l) => l.pid));
    assert.equal(served.size, 2, `requests were served by ${[...served].join(', ')}`);

    // Every opaque token was stored: each introspects active.
    const intro = await Promise.all(tokens.map((t) => post(h, '/oauth2/v1/introspect', { token: t.json().access_token as string }, { authorization: basic(cc.clientId, cc.secret) })));
    assert.deepEqual(intro.map((r) => r.json().active), tokens.map(() => true));
    // Every rotation was recorded: the last token of a family works, an earlier one is a reuse.
    for (const seen of rotated) {
      const reuse = await post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: seen[3]! }, { authorization: basic(web.clientId, web.secret!) });
      assert.equal(reuse.statusCode, 400, reuse.body);
      assert.equal(reuse.json().error, 'invalid_grant');
    }

    // SIGTERM: both workers flush their audit batches before they exit.
    const stopped = await c.stop('SIGTERM');
    assert.equal(stopped.code, 0, JSON.stringify(c.logs.slice(-10)));
    const db = new Database(dbFile, { readonly: true });
    try {
      const count = (event: string) => (db.prepare('select count(*) n from audit_events where event_id = ?').get(event) as { n: number }).n;
      const all = JSON.stringify(db.prepare('select event_id, actor_id, count(*) n from audit_events group by event_id, actor_id').all());
      assert.equal(count('client_auth.failed'), 60, all);
      // 120 client tokens, the admin token, 4 code redemptions, 3 x 8 refresh rotations.
      assert.equal(count('token.issued'), 120 + 1 + 4 + 24, all);
      assert.equal(count('user.login.succeeded'), 4, all);
    } finally { db.close(); }
  });
});

describe('a worker killed with SIGKILL, and SIGTERM with a request in flight', () => {
  let dir: string;
  let c: Cluster;
  let killed = 0;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-cluster-'));
    c = await startCluster({ TESSERA_DATA_DIR: dir, TESSERA_PURGE_INTERVAL_SECONDS: '1' });
  });
  after(async () => {
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('read your writes across workers: a resource server created through one worker is known to the next request, whichever worker takes it', async () => {
    const h = c.harness;
    const token = await adminToken(h);
    // Connections go to the workers in turn, so each pair below spans both workers at least half the time; the
    // change log is polled every 250 ms, so the second request comes long before the other worker heard of the first.
    for (let i = 0; i < 6; i++) {
      const { clientId, secret } = await setupClient(h, { admin: token, prefix: '', scopes: [`ryw${i}.read`] });
      const t = await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: `ryw${i}.read` }, { authorization: basic(clientId, secret) });
      assert.equal(t.statusCode, 200, t.body);
      assert.equal(t.json().scope, `ryw${i}.read`);
    }
  });

  test('the port keeps answering, a new worker appears and the duties move to a live worker', async () => {
    const admin = await adminToken(c.harness);
    const cc = await setupClient(c.harness, { admin, scopes: ['k.read'] });
    await c.waitFor('duties given', (l) => l.some((x) => x.msg.includes('runs the background duties')));
    const duty = c.logs.find((l) => l.msg.includes('runs the background duties'))!.pid;
    killed = duty;
    process.kill(duty, 'SIGKILL');
    // Once the primary has seen the death (at once, before any replacement listens), every request on a
    // new connection is answered by the other worker. (A connection the primary handed to the worker in
    // the instant it died is lost with it: see "Running several workers" in the README.)
    await c.waitFor('the primary saw the death', (l) => l.some((x) => x.msg.startsWith(`worker ${duty} killed by SIGKILL`)), 10_000);
    const during = await Promise.all(Array.from({ length: 20 }, () => post(c.harness, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'k.read' }, { authorization: basic(cc.clientId, cc.secret) })));
    assert.deepEqual(statuses(during), { 200: 20 });
    await c.waitFor('a replacement worker', () => c.workerPids().length === 3, 30_000);
    const replacement = c.workerPids()[2]!;
    assert.ok(replacement !== duty && replacement !== c.child.pid);
    assert.ok(c.logs.some((l) => l.pid === c.child.pid && l.msg.includes(`worker ${duty} killed by SIGKILL; starting a replacement`)));
    const duties = c.logs.filter((l) => l.msg.includes('runs the background duties')).map((l) => l.pid);
    assert.equal(duties.length, 2, JSON.stringify(duties));
    assert.notEqual(duties[1], duty);
    assert.ok(c.workerPids().includes(duties[1]!));
    const r = await post(c.harness, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'k.read' }, { authorization: basic(cc.clientId, cc.secret) });
    assert.equal(r.statusCode, 200, r.body);
  });

  test('SIGTERM: a slow request in flight completes with 200, the primary exits 0 within the bound', async () => {
    const admin = await adminToken(c.harness);
    const cc = await setupClient(c.harness, { admin, scopes: ['d.read'] });
    const body = form({ grant_type: 'client_credentials', scope: 'd.read' });
    // Headers and half the body now, the rest after SIGTERM reached the workers.
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1', port: c.port, method: 'POST', path: '/oauth2/v1/token', agent: false,
        headers: { authorization: basic(cc.clientId, cc.secret), 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) },
      }, (res) => { let s = ''; res.on('data', (d: Buffer) => { s += d.toString(); }); res.on('end', () => resolve({ status: res.statusCode ?? 0, body: s })); });
      req.on('error', reject);
      req.flushHeaders();
      req.write(body.slice(0, 10));
      setTimeout(() => { void c.stop('SIGTERM'); }, 300);
      setTimeout(() => req.end(body.slice(10)), 1300);
    });
    const r = await answer;
    assert.equal(r.status, 200, r.body);
    assert.equal(typeof (JSON.parse(r.body) as { access_token?: unknown }).access_token, 'string');
    const t0 = Date.now();
    const exit = await c.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(Date.now() - t0 < 10_000, 'exits promptly after the last request');
    const drained = c.logs.filter((l) => l.msg === 'SIGTERM: finishing in-flight requests').map((l) => l.pid).sort();
    assert.deepEqual(drained, c.workerPids().filter((p) => p !== killed).sort(), 'both live workers drained');
    // New connections are refused once the primary is gone.
    await assert.rejects(post(c.harness, '/healthz', ''));
  });
});
