/** Issue 10: GET /metrics in the Prometheus text format, protected, with bounded labels. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { loadConfig } from '../../src/config/load.js';
import { listenMetrics } from '../../src/http/metrics.js';
import { adminToken, assertOAuthError, basic, clientToken, harness, ISSUER, post, setupClient, type Harness } from '../helpers.js';
import { parse, value, type Sample } from '../prom_text.js';
import { authorizeUrl, Browser, createUser, createWebApp, pkce, REDIRECT, signIn } from '../signin.js';

const TOKEN = 'metrics-secret-0123456789abcdefghij';

async function scrape(h: Harness): Promise<Sample[]> {
  const r = await h.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(r.statusCode, 200, r.body);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.equal(r.headers['cache-control'], 'no-store');
  return parse(r.body);
}

const freePort = () => new Promise<number>((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });

describe('GET /metrics on the public port', () => {
  test('off by default: 404, and nothing is counted (no metrics object)', async () => {
    const h = await harness();
    try {
      const r = await h.inject({ url: '/metrics' });
      assert.equal(r.statusCode, 404);
      assert.equal((await h.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 404);
      assert.equal(h.t.metrics, undefined);
    } finally { await h.close(); }
  });

  test('with TESSERA_METRICS_TOKEN: 401 without it, with a wrong one or another scheme; 200 with it', async () => {
    const h = await harness({ config: { metricsToken: TOKEN } });
    try {
      const cases: [Record<string, string>, string][] = [
        [{}, 'Bearer realm="metrics"'],
        [{ authorization: 'Bearer wrong-secret-0123456789abcdefghij' }, 'Bearer realm="metrics", error="invalid_token"'],
        [{ authorization: `Bearer ${TOKEN}x` }, 'Bearer realm="metrics", error="invalid_token"'],
        [{ authorization: `Bearer ${TOKEN.slice(0, -1)}` }, 'Bearer realm="metrics", error="invalid_token"'],
        [{ authorization: basic('metrics', TOKEN) }, 'Bearer realm="metrics"'],
        [{ authorization: `Bearer ${TOKEN} extra` }, 'Bearer realm="metrics"'],
        [{ authorization: 'Bearer' }, 'Bearer realm="metrics"'],
      ];
      for (const [headers, challenge] of cases) {
        const r = await h.inject({ url: '/metrics', headers });
        assert.equal(r.statusCode, 401, JSON.stringify(headers));
        assert.equal(r.headers['www-authenticate'], challenge, JSON.stringify(headers));
        assert.equal(r.headers['cache-control'], 'no-store');
        assert.deepEqual(Object.keys(r.json()).sort(), ['error', 'error_description']);
        assert.equal(r.json().error, 'invalid_token');
        assert.doesNotMatch(r.body, /tessera_/, 'no metric leaks in a refusal');
      }
      // Lower-case scheme is the same scheme (RFC 9110 §11.1).
      assert.equal((await h.inject({ url: '/metrics', headers: { authorization: `bearer ${TOKEN}` } })).statusCode, 200);
      const s = await scrape(h);
      assert.ok(s.length > 0);
      assert.equal((await h.inject({ method: 'POST', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 404, 'GET only');
    } finally { await h.close(); }
  });

  test('counters move: requests by route pattern, method and status; tokens by grant and domain; client authentication failures', async () => {
    const h = await harness({ config: { metricsToken: TOKEN } });
    try {
      const admin = await adminToken(h);
      const c = await setupClient(h, { admin, scopes: ['m.read'] });
      const before = await scrape(h);
      for (let i = 0; i < 3; i++) assert.equal((await clientToken(h, c.clientId, c.secret, 'm.read')).statusCode, 200);
      assert.equal((await clientToken(h, c.clientId, 'wrong-secret-0123456789abcdef', 'm.read')).statusCode, 401);
      assert.equal((await clientToken(h, 'no-such-client', 'wrong-secret-0123456789abcdef')).statusCode, 401);
      assert.equal((await post(h, '/oauth2/v1/token', { grant_type: 'urn:x:nothing' }, { authorization: basic(c.clientId, c.secret) })).statusCode, 400);
      const after = await scrape(h);
      const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
      assert.equal(delta('tessera_tokens_issued_total', { grant_type: 'client_credentials', domain: 'default' }), 3);
      assert.equal(delta('tessera_client_auth_failures_total', { domain: 'default' }), 2);
      assert.equal(delta('tessera_http_requests_total', { method: 'POST', route: '/oauth2/v1/token', status: '200' }), 3);
      assert.equal(delta('tessera_http_requests_total', { method: 'POST', route: '/oauth2/v1/token', status: '401' }), 2);
      assert.equal(delta('tessera_http_requests_total', { method: 'POST', route: '/oauth2/v1/token', status: '400' }), 1);
      // The histogram: +Inf bucket equals the count, buckets are cumulative.
      const l = { method: 'POST', route: '/oauth2/v1/token', status: '200' };
      const buckets = after.filter((s) => s.name === 'tessera_http_request_duration_seconds_bucket' && s.labels.route === l.route && s.labels.status === '200' && s.labels.method === 'POST');
      assert.ok(buckets.length >= 10);
      assert.equal(buckets.at(-1)!.labels.le, '+Inf');
      assert.equal(buckets.at(-1)!.value, value(after, 'tessera_http_request_duration_seconds_count', l));
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, 'cumulative');
      assert.ok(value(after, 'tessera_http_request_duration_seconds_sum', l) > 0);
    } finally { await h.close(); }
  });

  test('route labels are patterns, never the raw URL: another domain, unknown paths, query strings', async () => {
    const h = await harness({ config: { metricsToken: TOKEN } });
    try {
      const admin = await adminToken(h);
      const c = await setupClient(h, { admin, scopes: ['m.read'] });
      await clientToken(h, 'x', 'y-0123456789abcdef012345', undefined, '/domains/zz-unknown-dom');
      await h.inject({ url: '/no/such/path-abc123?access_token=sekrit-value' });
      await h.inject({ url: '/oauth2/v1/tokeninfo?access_token=sekrit-value' });
      await h.inject({ url: `/admin/v1/Apps/${c.app.id}`, headers: { authorization: `Bearer ${admin}` } });
      const r = await h.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(r.statusCode, 200);
      for (const raw of ['zz-unknown-dom', 'path-abc123', 'sekrit-value', c.app.id as string]) assert.ok(!r.body.includes(raw), `${raw} is not in the metrics`);
      const s = parse(r.body);
      const routes = new Set(s.filter((x) => x.name === 'tessera_http_requests_total').map((x) => x.labels.route));
      assert.ok(routes.has('/domains/:domainName/oauth2/v1/token'), [...routes].join(' '));
      assert.ok(routes.has('(unmatched)'), [...routes].join(' '));
      assert.ok(routes.has('/oauth2/v1/tokeninfo'), [...routes].join(' '));
      assert.ok([...routes].some((x) => /^\/admin\/v1\/Apps\/:[a-zA-Z]+$/.test(x!)), [...routes].join(' '));
      for (const x of routes) assert.ok(x === '(unmatched)' || x!.startsWith('/'), x);
    } finally { await h.close(); }
  });

  test('failed sign-ins are counted by domain', async () => {
    const h = await harness({ config: { metricsToken: TOKEN } });
    try {
      const admin = await adminToken(h);
      const web = await createWebApp(h, admin);
      const u = await createUser(h, admin);
      const before = value(await scrape(h), 'tessera_login_failures_total', { domain: 'default' });
      const pk = pkce();
      const url = authorizeUrl({ response_type: 'code', client_id: web.clientId, redirect_uri: REDIRECT, scope: 'openid', code_challenge: pk.challenge, code_challenge_method: 'S256', state: 's' });
      const r = await signIn(new Browser(h), `${ISSUER}${url}`, u.userName, 'not the password at all');
      assert.equal(r.statusCode, 401, 'the login page again, refused');
      await signIn(new Browser(h), `${ISSUER}${url}`, 'nobody-here', 'not the password at all');
      assert.equal(value(await scrape(h), 'tessera_login_failures_total', { domain: 'default' }) - before, 2);
    } finally { await h.close(); }
  });

  test('store errors and the audit queue: counted while the store is down, and /metrics still answers', async () => {
    const h = await harness({ config: { metricsToken: TOKEN } });
    try {
      const admin = await adminToken(h);
      const c = await setupClient(h, { admin, scopes: ['m.read'] });
      assert.equal((await clientToken(h, c.clientId, c.secret, 'm.read')).statusCode, 200, 'the client is cached now');
      await h.t.services.events.flush();
      const before = await scrape(h);
      assert.equal(value(before, 'tessera_audit_queue_depth'), 0);
      assert.equal(value(before, 'tessera_store_errors_total'), 0);
      await h.t.database.db.destroy();
      assert.equal((await post(h, '/oauth2/v1/revoke', { token: 'x' }, { authorization: basic(c.clientId, c.secret) })).statusCode, 503);
      assert.equal((await post(h, '/oauth2/v1/introspect', { token: 'x' }, { authorization: basic(c.clientId, c.secret) })).statusCode, 503);
      // A client authentication failure (the secret is verified against the cached client) queues an audit event the store cannot take.
      assertOAuthError(await clientToken(h, c.clientId, 'wrong-secret-0123456789abcdef'), 401, 'invalid_client');
      await h.t.services.events.flush();
      const after = await scrape(h);
      assert.equal(value(after, 'tessera_store_errors_total', { route: '/oauth2/v1/revoke' }), 1);
      assert.equal(value(after, 'tessera_store_errors_total'), value(after, 'tessera_http_requests_total', { status: '503' }));
      assert.ok(value(after, 'tessera_audit_queue_depth') >= 1, 'the unwritten audit events are waiting');
    } finally { await h.close().catch(() => {}); }
  });

  test('process metrics: event-loop lag, CPU, memory, heap', async () => {
    const h = await harness({ config: { metricsToken: TOKEN } });
    try {
      const s = await scrape(h);
      const names = new Set(s.map((x) => x.name));
      for (const n of ['nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']) {
        assert.ok(names.has(n), `${n} is exported`);
      }
      assert.ok(!s.some((x) => 'worker' in x.labels), 'no worker label outside a cluster');
    } finally { await h.close(); }
  });
});

describe('TESSERA_METRICS_PORT: a listener of its own', () => {
  test('the public port has no /metrics (404, token or not); the metrics port serves it, and only it', async () => {
    const port = await freePort();
    const h = await harness({ config: { metricsPort: port, metricsToken: TOKEN } });
    const m = h.t.metrics!;
    const server = await listenMetrics(h.t.services.config, () => m.text(), m.contentType);
    try {
      assert.equal((await h.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 404);
      const base = `http://127.0.0.1:${server.port}`;
      assert.equal(server.port, port);
      const none = await fetch(`${base}/metrics`);
      assert.equal(none.status, 401, 'the token applies on the metrics port too');
      assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="metrics"');
      assert.equal((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong-secret-0123456789abcdefghij' } })).status, 401);
      const admin = await adminToken(h);
      const ok = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(ok.status, 200);
      assert.match(ok.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
      assert.equal(ok.headers.get('cache-control'), 'no-store');
      const s = parse(await ok.text());
      assert.ok(value(s, 'tessera_tokens_issued_total', { grant_type: 'client_credentials', domain: 'default' }) >= 1, 'the app\'s counters');
      assert.ok(admin);
      const other = await fetch(`${base}/readyz`);
      assert.equal(other.status, 404);
      assert.deepEqual(Object.keys(await other.json() as object).sort(), ['error', 'error_description']);
      const postr = await fetch(`${base}/metrics`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(postr.status, 405);
      assert.equal(postr.headers.get('allow'), 'GET, HEAD');
    } finally { await server.close(); await h.close(); }
  });

  test('without a token the metrics port answers anyone who can reach it (127.0.0.1 by default)', async () => {
    const port = await freePort();
    const h = await harness({ config: { metricsPort: port } });
    assert.equal(h.t.services.config.metricsHost, '127.0.0.1');
    const m = h.t.metrics!;
    const server = await listenMetrics(h.t.services.config, () => m.text(), m.contentType);
    try {
      assert.equal((await h.inject({ url: '/metrics' })).statusCode, 404);
      const r = await fetch(`http://127.0.0.1:${server.port}/metrics?x=1`);
      assert.equal(r.status, 200);
      assert.ok(parse(await r.text()).some((x) => x.name === 'tessera_http_requests_total' || x.name === 'process_cpu_user_seconds_total'));
    } finally { await server.close(); await h.close(); }
  });

  test('settings: the metrics port must differ from PORT; the token must be long enough', () => {
    assert.throws(() => loadConfig({ PORT: '9100', TESSERA_METRICS_PORT: '9100' }), /TESSERA_METRICS_PORT \(9100\) must differ from PORT/);
    assert.throws(() => loadConfig({ TESSERA_METRICS_TOKEN: 'short' }), /TESSERA_METRICS_TOKEN: must be at least 24 characters .*\(a secret of 5 characters, not shown\)/);
    assert.throws(() => loadConfig({ TESSERA_METRICS_PORT: '70000' }), /TESSERA_METRICS_PORT/);
    assert.throws(() => loadConfig({ TESSERA_METRICS_PORT: 'x' }), /TESSERA_METRICS_PORT/);
    const c = loadConfig({ TESSERA_METRICS_PORT: '9464', TESSERA_METRICS_HOST: '0.0.0.0' });
    assert.equal(c.metricsPort, 9464);
    assert.equal(c.metricsHost, '0.0.0.0');
    assert.equal(loadConfig({}).metricsPort, undefined);
    assert.equal(loadConfig({}).metricsToken, undefined);
  });
});
