// Types of bench/soak-stats.mjs, for test/unit/soak_stats.test.ts.
export function percentile(sorted: number[], p: number): number | undefined;
export const TRANSIENT: Set<string>;
export interface SoakRecord { start: number; end: number; outcome: string; ok: boolean }
export function classify(records: SoakRecord[], windows: { from: number; to: number }[], graceMs?: number): { ok: number; expected: number; unexpected: number };
export function pick<T>(items: [T, number][], rand: number): T;
