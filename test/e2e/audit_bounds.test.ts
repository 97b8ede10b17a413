/**
 * Issue 7, "Audit and log injection": attacker-supplied values are bounded (length, control and bidi
 * characters) before they are stored or logged, and failure events are rate-limited per source so a
 * flood of failed authentications cannot fill the audit trail.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { buildApp } from '../../src/http/app.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { FixedClock } from '../../src/core/clock.js';
import { boundText } from '../../src/events/emitter.js';
import { adminToken, assertOAuthError, basic, form, scim, testConfig, type Harness } from '../helpers.js';

const failedAuth = (h: Harness, clientId: string, ip = '203.0.113.7') => h.inject({
  method: 'POST', url: '/oauth2/v1/token', remoteAddress: ip, headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: form({ grant_type: 'client_credentials', client_id: clientId, client_secret: 'wrong-secret-wrong-secret' }),
});

describe('audit trail and logs: bounded values, rate-limited failures', () => {
  let h: Harness;
  let root: string;
  let log = '';
  const clock = new FixedClock(Date.parse('2026-12-01T10:00:00Z'));
  const events = async (filter: string) => {
    const r = await scim(h, 'GET', `/admin/v1/AuditEvents?count=1000&filter=${encodeURIComponent(filter)}`, root);
    assert.equal(r.statusCode, 200, r.body);
    return r.json() as { totalResults: number; Resources: Record<string, string>[] };
  };

  before(async () => {
    const stream = new Writable({ write(chunk, _e, cb) { log += chunk; cb(); } });
    const t = await buildApp({ config: testConfig({ logLevel: 'info', auditFailuresPerMinute: 20 }), clock, masterKey: new MasterKey(randomBytes(32)), logger: { stream } });
    h = { t, clock, inject: t.app.inject.bind(t.app), close: () => t.close() };
    root = await adminToken(h);
  });
  after(() => h.close());

  test('a 60 KB client_id is cut to a bounded field in the audit trail and the log', async () => {
    const huge = `big-${'x'.repeat(60_000)}`;
    assertOAuthError(await failedAuth(h, huge, '198.51.100.1'), 401, 'invalid_client');
    const e = (await events('eventId eq "client_auth.failed"')).Resources.find((x) => x.clientIp === '198.51.100.1');
    assert.ok(e, 'recorded');
    assert.ok(e.actorId!.length < 300, `actorId is ${e.actorId!.length} characters`);
    assert.ok(e.actorId!.startsWith('big-xxx'));
    assert.match(e.actorId!, /…\(60004 chars\)$/);
    for (const line of log.split('\n').filter(Boolean)) assert.ok(line.length < 4000, `a log line of ${line.length} characters`);
  });

  test('control, line-separator and bidi characters never reach the stored event or the log as such', async () => {
    const evil = 'evil\r\n{"level":60,"msg":"forged"}\u2028\u202egnp.exe\u0000';
    assertOAuthError(await failedAuth(h, evil, '198.51.100.2'), 401, 'invalid_client');
    const e = (await events('eventId eq "client_auth.failed"')).Resources.find((x) => x.clientIp === '198.51.100.2')!;
    assert.equal(e.actorId, 'evil\uFFFD\uFFFD{"level":60,"msg":"forged"}\uFFFD\uFFFDgnp.exe\uFFFD');
    assert.ok(!log.includes('\u202e') && !log.includes('\u2028'));
    for (const line of log.split('\n').filter(Boolean)) JSON.parse(line); // no forged or broken lines
  });

  test('a flood of failed client authentications from one address records 20 a minute, then one summary', async () => {
    const ip = '192.0.2.50';
    for (let i = 0; i < 150; i++) assertOAuthError(await failedAuth(h, `flood-${i}`, ip), 401, 'invalid_client');
    // Another source is not silenced by the flood.
    assertOAuthError(await failedAuth(h, 'bystander', '192.0.2.99'), 401, 'invalid_client');
    let all = (await events('eventId eq "client_auth.failed"')).Resources;
    assert.equal(all.filter((x) => x.clientIp === ip).length, 20);
    assert.equal(all.filter((x) => x.clientIp === '192.0.2.99').length, 1);
    clock.advance(61_000);
    const sum = (await events('eventId eq "audit.suppressed"')).Resources.filter((x) => x.clientIp === ip);
    assert.equal(sum.length, 1);
    assert.equal(JSON.parse(sum[0]!.details!).suppressed, 130);
    assert.equal(JSON.parse(sum[0]!.details!).eventId, 'client_auth.failed');
    // A new minute records again.
    assertOAuthError(await failedAuth(h, 'flood-after', ip), 401, 'invalid_client');
    all = (await events('eventId eq "client_auth.failed"')).Resources;
    assert.equal(all.filter((x) => x.clientIp === ip).length, 21);
    assert.match(log, /security events suppressed/);
  });

  test('many sources together are capped too (20 times the per-source limit a minute); each source held back is named in a summary', async () => {
    clock.advance(61_000);
    await h.t.services.events.flush();
    for (let i = 0; i < 450; i++) assertOAuthError(await failedAuth(h, `spread-${i}`, `10.1.${i >> 8}.${i & 255}`), 401, 'invalid_client');
    const recorded = (await events('eventId eq "client_auth.failed"')).Resources.filter((x) => x.actorId?.startsWith('spread-'));
    assert.equal(recorded.length, 400);
    clock.advance(61_000);
    const sums = (await events('eventId eq "audit.suppressed"')).Resources.filter((x) => x.clientIp?.startsWith('10.1.'));
    assert.equal(sums.length, 50, JSON.stringify(sums.slice(0, 3)));
    assert.ok(sums.every((x) => JSON.parse(x.details!).suppressed === 1));
  });

  test('an IPv6 /64 is one source: its addresses are no free decoys', async () => {
    clock.advance(61_000);
    await h.t.services.events.flush();
    for (let i = 1; i <= 40; i++) assertOAuthError(await failedAuth(h, `v6-${i}`, `2001:db8:5:6::${i.toString(16)}`), 401, 'invalid_client');
    const recorded = (await events('eventId eq "client_auth.failed"')).Resources.filter((x) => x.actorId?.startsWith('v6-'));
    assert.equal(recorded.length, 20);
    clock.advance(61_000);
    const sum = (await events('eventId eq "audit.suppressed"')).Resources.filter((x) => x.clientIp === '2001:db8:5:6::/64');
    assert.equal(sum.length, 1);
    assert.equal(JSON.parse(sum[0]!.details!).suppressed, 20);
  });

  test('successful events are never suppressed', async () => {
    const before = (await events('eventId eq "token.issued"')).totalResults;
    for (let i = 0; i < 30; i++) {
      const r = await h.inject({ method: 'POST', url: '/oauth2/v1/token', remoteAddress: '192.0.2.50', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('bootstrap-admin', 'bootstrap-secret-0123456789abcdefghij') }, payload: form({ grant_type: 'client_credentials', scope: 'urn:opc:idm:__myscopes__' }) });
      assert.equal(r.statusCode, 200);
    }
    assert.equal((await events('eventId eq "token.issued"')).totalResults, before + 30);
  });
});

test('boundText: plain text passes untouched; control and bidi characters are replaced; long text is cut without splitting a surrogate pair', () => {
  assert.equal(boundText('client-1'), 'client-1');
  assert.equal(boundText('a\u0007b\u009bc\u2066d'), 'a\uFFFDb\uFFFDc\uFFFDd');
  assert.equal(boundText('é ü'), 'é ü');
  const cut = boundText(`${'a'.repeat(255)}😀tail`, 256);
  assert.equal(cut, `${'a'.repeat(255)}…(${255 + 2 + 4} chars)`);
  assert.equal(boundText('x'.repeat(300), 10), `${'x'.repeat(10)}…(300 chars)`);
});
