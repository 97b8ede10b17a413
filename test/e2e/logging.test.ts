import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { buildApp } from '../../src/http/app.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { adminToken, assertOAuthError, basic, clientToken, post, scim, setupClient, testConfig, type Harness } from '../helpers.js';
import { FixedClock } from '../../src/core/clock.js';
import { duplicateKeys } from '../json_keys.js';

test('with request logging on, tokens in query strings never reach the log (RFC 9700 §4.3.2)', async () => {
  let out = '';
  const stream = new Writable({ write(chunk, _e, cb) { out += chunk; cb(); } });
  const clock = new FixedClock(Date.now());
  const t = await buildApp({ config: testConfig({ logRequests: true, logLevel: 'info' }), clock, masterKey: new MasterKey(randomBytes(32)), logger: { stream } });
  const h: Harness = { t, clock, inject: t.app.inject.bind(t.app), close: () => t.close() };
  try {
    const at = await adminToken(h);
    const r = await h.inject({ url: `/oauth2/v1/tokeninfo?access_token=${encodeURIComponent(at)}` });
    assert.equal(r.statusCode, 200);
    assert.match(out, /\/oauth2\/v1\/tokeninfo/, 'the request is logged');
    assert.ok(!out.includes(at) && !out.includes(at.slice(0, 40)), 'but not the token');
  } finally {
    await h.close();
  }
});

test('the duplicate-key check finds duplicates, nested ones too, and passes clean lines', () => {
  assert.deepEqual(duplicateKeys('{"level":30,"msg":"a","msg":"b"}'), ['msg']);
  assert.deepEqual(duplicateKeys('{"err":{"type":"E","type":"F"},"x":[{"a":1,"a":2}]}'), ['err.type', 'x.0.a']);
  assert.deepEqual(duplicateKeys('{"level":30,"msg":"a","req":{"msg":"b"}}'), []);
  assert.throws(() => duplicateKeys('{"level":30,'), 'not JSON at all is an error, not a pass');
});

/** An app writing its log, as pino formats it, to a string; request logging on or off. */
async function loggingApp(logRequests: boolean) {
  const lines: string[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk, _e, cb) {
      const parts = (partial + String(chunk)).split('\n');
      partial = parts.pop()!;
      lines.push(...parts.filter(Boolean));
      cb();
    },
  });
  const clock = new FixedClock(Date.now());
  const t = await buildApp({ config: testConfig({ logRequests, logLevel: 'trace' }), clock, masterKey: new MasterKey(randomBytes(32)), logger: { stream } });
  // A route that fails the way a bug would, to reach the "unexpected error" log.
  t.app.get('/test/boom', async () => { throw new Error('boom'); });
  const h: Harness = { t, clock, inject: t.app.inject.bind(t.app), close: () => t.close() };
  const checked = () => {
    assert.ok(lines.length > 0, 'something was logged');
    assert.equal(partial, '', 'every line is complete');
    const bad = lines.map((l) => ({ l, d: duplicateKeys(l) })).filter((x) => x.d.length > 0);
    assert.deepEqual(bad, [], 'no log line carries a key twice');
    return lines;
  };
  return { h, lines, checked };
}

for (const logRequests of [true, false]) {
  test(`no log line carries a duplicate key (TESSERA_LOG_REQUESTS=${logRequests}): requests, OAuth errors, 404, unexpected and store errors`, async () => {
    const { h, lines, checked } = await loggingApp(logRequests);
    try {
      const admin = await adminToken(h);
      const c = await setupClient(h, { admin, scopes: ['logs.read'] });
      assert.equal((await clientToken(h, c.clientId, c.secret, 'logs.read')).statusCode, 200);
      assertOAuthError(await clientToken(h, c.clientId, c.secret, 'no.such.scope'), 400, 'invalid_scope');
      assertOAuthError(await post(h, '/oauth2/v1/token', { grant_type: 'urn:x:nothing' }, { authorization: basic(c.clientId, c.secret) }), 400, 'unsupported_grant_type');
      assertOAuthError(await h.inject({ method: 'POST', url: '/oauth2/v1/register', headers: { 'content-type': 'application/json' }, payload: '{"broken' }), 400, 'invalid_client_metadata');
      const broken = await h.inject({ method: 'POST', url: '/admin/v1/Users', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/scim+json' }, payload: '{"broken' });
      assert.equal(broken.statusCode, 400, broken.body);
      // Fastify's own 4xx (media type, body size) carry a debug detail, logged at debug level.
      assertOAuthError(await h.inject({ method: 'POST', url: '/oauth2/v1/token', headers: { 'content-type': 'text/plain' }, payload: 'x' }), 400, 'invalid_request');
      assertOAuthError(await post(h, '/oauth2/v1/token', 'x='.padEnd(70_000, 'x')), 413, 'invalid_request');
      assert.ok(lines.some((l) => l.includes('"oauth error"')), 'the debug detail is logged');
      assert.equal((await h.inject({ url: '/no/such/path' })).statusCode, 404);
      assert.equal((await scim(h, 'GET', '/admin/v1/Users?filter=' + encodeURIComponent('userName eq'), admin)).statusCode, 400);
      assertOAuthError(await h.inject({ url: '/test/boom' }), 500, 'server_error');
      assert.ok(lines.some((l) => l.includes('"unexpected error"')), 'the unexpected error is logged');
      if (logRequests) {
        assert.ok(lines.some((l) => l.includes('"incoming request"')) && lines.some((l) => l.includes('"request completed"')), 'requests are logged');
      }
      await h.t.database.db.destroy();
      assertOAuthError(await post(h, '/oauth2/v1/revoke', { token: 'x' }, { authorization: basic(c.clientId, c.secret) }), 503, 'temporarily_unavailable');
      assert.ok(lines.some((l) => l.includes('"store unavailable"')), 'the store error is logged');
      checked();
    } finally {
      await h.close().catch(() => {});
    }
  });
}

test('no log line carries a duplicate key: failed client authentication (a security event)', async () => {
  const { h, lines, checked } = await loggingApp(false);
  try {
    const admin = await adminToken(h);
    const c = await setupClient(h, { admin, scopes: ['logs.read'] });
    assertOAuthError(await clientToken(h, c.clientId, 'wrong-secret-0123456789abcdef', 'logs.read'), 401, 'invalid_client');
    await h.t.services.events.flush();
    assert.ok(lines.some((l) => l.includes('"security event"')), 'the failure is logged');
    checked();
  } finally {
    await h.close();
  }
});
