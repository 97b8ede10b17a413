/** bench/soak-stats.mjs: the helpers `npm run soak` reports with (percentiles, expected vs unexpected failures, the mix). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, percentile, pick } from '../../bench/soak-stats.mjs';

describe('soak statistics', () => {
  test('percentile: nearest rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(v, 50), 50);
    assert.equal(percentile(v, 99), 99);
    assert.equal(percentile(v, 100), 100);
    assert.equal(percentile([7], 50), 7);
    assert.equal(percentile([7], 99), 7);
    assert.equal(percentile([1, 2, 3], 50), 2);
    assert.equal(percentile([1, 2, 3, 4], 50), 2);
    assert.equal(percentile([1, 2, 3, 4], 99), 4);
    assert.equal(percentile([], 50), undefined);
  });

  test('classify: transient outcomes count as expected only around a fault', () => {
    const windows = [{ from: 10_000, to: 12_000 }];
    const r = (start: number, outcome: string, ok = false) => ({ start, end: start + 5, outcome, ok });
    assert.deepEqual(classify([r(11_000, '503'), r(11_000, 'ECONNRESET'), r(9_600, 'socket hang up'), r(16_900, 'timeout')], windows), { ok: 0, expected: 4, unexpected: 0 });
    // Before the window (more than 0.5 s), after the grace, or not transient at all: unexpected.
    assert.deepEqual(classify([r(9_000, '503'), r(17_100, 'ECONNRESET'), r(11_000, '500'), r(11_000, '400'), r(11_000, '200 (wrong body)')], windows), { ok: 0, expected: 0, unexpected: 5 });
    assert.deepEqual(classify([r(11_000, '200', true), r(1_000, '201', true)], windows), { ok: 2, expected: 0, unexpected: 0 });
    assert.deepEqual(classify([r(11_000, '503')], []), { ok: 0, expected: 0, unexpected: 1 });
    assert.deepEqual(classify([r(13_000, '503')], windows, 500), { ok: 0, expected: 0, unexpected: 1 });
  });

  test('pick: by weight', () => {
    const items: [string, number][] = [['a', 1], ['b', 3]];
    assert.equal(pick(items, 0), 'a');
    assert.equal(pick(items, 0.24), 'a');
    assert.equal(pick(items, 0.25), 'b');
    assert.equal(pick(items, 0.999), 'b');
  });
});
