/** Issue 10: a request id on every request log line and in the X-Request-Id response header. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { FixedClock } from '../../src/core/clock.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { buildApp } from '../../src/http/app.js';
import { loggerOptions, prettyLogs, requestIdGenerator } from '../../src/http/logging.js';
import type { Config } from '../../src/config/schema.js';
import { adminToken, clientToken, harness, testConfig, type Harness } from '../helpers.js';
import { duplicateKeys } from '../json_keys.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function withApp(config: Partial<Config>, f: (h: Harness) => Promise<void>) {
  const h = await harness({ config });
  try { await f(h); } finally { await h.close(); }
}

describe('X-Request-Id', () => {
  test('every answer carries a fresh id: JSON, OAuth errors, 404, HTML pages, health', async () => {
    await withApp({}, async (h) => {
      const admin = await adminToken(h);
      const answers = [
        await h.inject({ url: '/healthz' }),
        await h.inject({ url: '/.well-known/openid-configuration' }),
        await clientToken(h, 'nobody', 'wrong-secret-0123456789abcdef'),
        await h.inject({ url: '/no/such/path' }),
        await h.inject({ url: '/oauth2/v1/authorize?client_id=nope' }),
        await h.inject({ url: '/admin/v1/Users', headers: { authorization: `Bearer ${admin}` } }),
      ];
      const ids = answers.map((r) => String(r.headers['x-request-id']));
      for (const id of ids) assert.match(id, UUID);
      assert.equal(new Set(ids).size, ids.length, 'one id per request');
    });
  });

  test('an incoming X-Request-Id is ignored without TESSERA_TRUST_PROXY', async () => {
    await withApp({}, async (h) => {
      const r = await h.inject({ url: '/healthz', headers: { 'x-request-id': 'from-the-client-1' } });
      assert.match(String(r.headers['x-request-id']), UUID);
    });
  });

  test('from a trusted proxy (TESSERA_TRUST_PROXY=true): kept when short and safe, replaced otherwise', async () => {
    await withApp({ trustProxy: true }, async (h) => {
      const id = async (v: string) => String((await h.inject({ url: '/healthz', headers: { 'x-request-id': v } })).headers['x-request-id']);
      for (const ok of ['abc', 'lb-7f3a.9_Z', 'a'.repeat(128), '0123456789abcdef0123456789abcdef']) assert.equal(await id(ok), ok);
      for (const bad of ['a'.repeat(129), 'has space', 'quote"', 'semi;colon', 'new\\nline', 'ümlaut', 'slash/x', '{json}', '']) {
        const got = await id(bad);
        assert.match(got, UUID, `${JSON.stringify(bad)} replaced`);
      }
    });
  });

  test('TESSERA_TRUST_PROXY as a list: only from those addresses (IPv4, CIDR, IPv4-mapped IPv6)', async () => {
    await withApp({ trustProxy: ['10.0.0.0/8', '192.0.2.7'] }, async (h) => {
      const id = async (remoteAddress: string) => String((await h.inject({ url: '/healthz', remoteAddress, headers: { 'x-request-id': 'proxy-id-1' } })).headers['x-request-id']);
      assert.equal(await id('10.1.2.3'), 'proxy-id-1');
      assert.equal(await id('192.0.2.7'), 'proxy-id-1');
      assert.equal(await id('::ffff:10.9.9.9'), 'proxy-id-1');
      assert.match(await id('127.0.0.1'), UUID);
      assert.match(await id('192.0.2.8'), UUID);
      assert.match(await id('11.0.0.1'), UUID);
      assert.match(await id('not an address'), UUID);
    });
  });

  test('the generator alone: array headers (sent twice) are not believed', () => {
    const gen = requestIdGenerator(true);
    const req = (h: unknown) => ({ headers: { 'x-request-id': h }, socket: { remoteAddress: '10.0.0.1' } }) as never;
    assert.equal(gen(req('abc')), 'abc');
    assert.match(gen(req(['abc', 'def'])), UUID);
    assert.match(gen(req(undefined)), UUID);
    assert.match(requestIdGenerator(false)(req('abc')), UUID);
  });
});

describe('request ids in the log', () => {
  async function logged(logRequests: boolean, f: (h: Harness) => Promise<string>) {
    const lines: string[] = [];
    const stream = new Writable({ write(chunk, _e, cb) { lines.push(...String(chunk).split('\n').filter(Boolean)); cb(); } });
    const t = await buildApp({ config: testConfig({ logRequests, logLevel: 'info' }), clock: new FixedClock(Date.now()), masterKey: new MasterKey(randomBytes(32)), logger: { stream } });
    t.app.get('/test/boom', async () => { throw new Error('boom'); });
    const h: Harness = { t, clock: new FixedClock(Date.now()), inject: t.app.inject.bind(t.app), close: () => t.close() };
    try {
      const id = await f(h);
      for (const l of lines) assert.deepEqual(duplicateKeys(l), [], l);
      return { id, lines: lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
    } finally { await h.close(); }
  }

  test('request logging off: a line a request does log (an unexpected error) carries its id; a quiet request logs nothing', async () => {
    const { id, lines } = await logged(false, async (h) => {
      assert.equal((await h.inject({ url: '/healthz' })).statusCode, 200);
      const r = await h.inject({ url: '/test/boom' });
      assert.equal(r.statusCode, 500);
      return String(r.headers['x-request-id']);
    });
    const mine = lines.filter((l) => l.reqId !== undefined);
    assert.ok(mine.length >= 1, JSON.stringify(lines));
    for (const l of mine) assert.equal(l.reqId, id, 'only the failing request logged');
    assert.ok(mine.some((l) => l.msg === 'unexpected error'));
  });

  test('request logging on: the incoming and completed lines carry the id of the response header', async () => {
    const { id, lines } = await logged(true, async (h) => {
      const r = await h.inject({ url: '/healthz' });
      return String(r.headers['x-request-id']);
    });
    const mine = lines.filter((l) => l.reqId === id);
    assert.deepEqual(mine.map((l) => l.msg), ['incoming request', 'request completed']);
  });
});

describe('log format', () => {
  test('auto: pretty only in a terminal outside production; json and pretty when asked', () => {
    assert.equal(prettyLogs({ logFormat: 'auto' }, true, undefined), true);
    assert.equal(prettyLogs({ logFormat: 'auto' }, true, 'development'), true);
    assert.equal(prettyLogs({ logFormat: 'auto' }, true, 'production'), false);
    assert.equal(prettyLogs({ logFormat: 'auto' }, false, undefined), false);
    assert.equal(prettyLogs({ logFormat: 'json' }, true, undefined), false);
    assert.equal(prettyLogs({ logFormat: 'pretty' }, false, 'production'), true);
  });

  test('pretty format: a pino-pretty stream; json: none (pino writes JSON to stdout); a test stream wins', () => {
    const stream = new Writable();
    assert.equal(loggerOptions({ logLevel: 'info', logFormat: 'json' }).stream, undefined);
    assert.ok(loggerOptions({ logLevel: 'info', logFormat: 'pretty' }).stream instanceof Writable);
    assert.equal(loggerOptions({ logLevel: 'info', logFormat: 'pretty' }, { stream }).stream, stream);
    assert.equal(loggerOptions({ logLevel: 'warn', logFormat: 'json' }).level, 'warn');
  });
});
