/** Injected time source so tests can freeze and move time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

export class FixedClock implements Clock {
  constructor(private t = Date.now()) {}
  now(): number { return this.t; }
  set(t: number): void { this.t = t; }
  advance(ms: number): void { this.t += ms; }
}

export const nowSeconds = (c: Clock): number => Math.floor(c.now() / 1000);
