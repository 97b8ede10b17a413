import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeChange, parseChange, changeOfRow, MAX_PAYLOAD_BYTES, type CacheChange } from '../../../src/cache/changes.js';
import { backoffDelay, ChangeFeed, type InvalidatedCache } from '../../../src/cache/invalidation.js';

describe('cache change payloads', () => {
  test('round trip of every kind, with and without an id', () => {
    const cs: CacheChange[] = [
      { domainId: 'd1', kind: 'domain', id: 'acme' }, { domainId: 'd1', kind: 'app', id: 'client-1' }, { domainId: 'd1', kind: 'app' },
      { domainId: 'd1', kind: 'catalog' }, { domainId: 'd1', kind: 'keys' },
    ];
    for (const c of cs) assert.deepEqual(parseChange(encodeChange(c)), c);
  });

  test('an id too long to announce is left out: the change widens to the whole domain', () => {
    assert.deepEqual(parseChange(encodeChange({ domainId: 'd', kind: 'app', id: 'x'.repeat(300) })), { domainId: 'd', kind: 'app' });
    assert.ok(Buffer.byteLength(encodeChange({ domainId: 'd'.repeat(256), kind: 'catalog', id: 'é'.repeat(256) })) < MAX_PAYLOAD_BYTES);
  });

  test('anything else is malformed (undefined), never an exception', () => {
    const bad: unknown[] = [
      undefined, null, 42, '', 'not json', '[]', 'null', '"d"', '{}', '{"d":"x"}', '{"k":"app"}', '{"d":"x","k":"users"}', '{"d":"","k":"app"}',
      '{"d":1,"k":"app"}', '{"d":"x","k":"app","i":7}', '{"d":"x","k":"app","i":""}', '{"d":"x","k":"app","extra":1}',
      '{"d":"a\\u0000b","k":"app"}', JSON.stringify({ d: 'x'.repeat(257), k: 'app' }), `{"d":"x","k":"app","i":"${'y'.repeat(9000)}"}`,
      '{"__proto__":{"k":"app"},"d":"x"}',
    ];
    for (const b of bad) assert.equal(parseChange(b), undefined, String(b).slice(0, 80));
    assert.equal(changeOfRow({ domain_id: 'x', kind: 'nope', ref: null }), undefined);
    assert.deepEqual(changeOfRow({ domain_id: 'x', kind: 'keys', ref: null }), { domainId: 'x', kind: 'keys' });
  });
});

describe('change feed', () => {
  class TestFeed extends ChangeFeed {
    async start() { this.setLive(true, 'test'); }
    async close() {}
    down() { this.setLive(false, 'test'); }
    hear(payload: string) { this.deliver(parseChange(payload)); }
  }
  const quiet = { info: () => {}, warn: () => {} };
  const recorder = () => {
    const seen: string[] = [];
    const cache: InvalidatedCache = { applyChange: (c) => seen.push(`${c.kind}:${c.domainId}:${c.id ?? ''}`), flush: () => seen.push('flush') };
    return { seen, cache };
  };

  test('a malformed payload flushes everything; a good one is applied precisely; going down and coming back flush', async () => {
    const f = new TestFeed(quiet);
    const { seen, cache } = recorder();
    f.subscribe(cache);
    await f.start();
    assert.equal(f.live, true);
    f.hear(encodeChange({ domainId: 'd', kind: 'app', id: 'c' }));
    f.hear('{"d":"x","k":"later-kind"}');
    f.down();
    assert.equal(f.live, false);
    await f.start();
    assert.deepEqual(seen, ['flush', 'app:d:c', 'flush', 'flush', 'flush']);
    assert.deepEqual(f.stats, { changes: 1, flushes: 4, malformed: 1, reconnects: 0 });
  });

  test('backoff: full jitter below an exponential cap, never above the maximum', () => {
    const b = { baseMs: 100, maxMs: 5000 };
    assert.equal(backoffDelay(b, 0, () => 0.999999), 99);
    assert.equal(backoffDelay(b, 3, () => 0.5), 400);
    assert.equal(backoffDelay(b, 50, () => 0.999999), 4999);
    assert.equal(backoffDelay(b, 2, () => 0), 0);
  });
});
