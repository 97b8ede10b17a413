// Pure helpers of bench/soak.mjs (no I/O), kept apart so test/bench/soak_stats.test.ts can check them.

/**
 * The p-th percentile (0 < p <= 100) of an ascending array by nearest rank: the smallest value with at
 * least p % of the values at or below it. undefined for an empty array.
 */
export function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Answers that a worker killed with SIGKILL or a dropped PostgreSQL connection may legitimately cause. */
export const TRANSIENT = new Set(['503', 'ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'socket hang up', 'timeout']);

/**
 * Splits outcomes into expected (a transient outcome while a fault was in progress: from just before it
 * was injected until `graceMs` after the node was seen recovered) and unexpected (anything that is not
 * the answer the step asked for, at any other time; and a non-transient failure at any time).
 * `records`: { start, end, outcome, ok } (ms since the run began); `windows`: { from, to } (ms).
 */
export function classify(records, windows, graceMs = 5_000) {
  const inWindow = (r) => windows.some((w) => r.end >= w.from - 500 && r.start <= w.to + graceMs);
  const out = { ok: 0, expected: 0, unexpected: 0 };
  for (const r of records) {
    if (r.ok) out.ok++;
    else if (TRANSIENT.has(r.outcome) && inWindow(r)) out.expected++;
    else out.unexpected++;
  }
  return out;
}

/** Weighted random choice: `items` are [value, weight]; `rand` in [0, 1). */
export function pick(items, rand) {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = rand * total;
  for (const [v, w] of items) {
    if (x < w) return v;
    x -= w;
  }
  return items[items.length - 1][0];
}
