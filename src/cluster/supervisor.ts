import cluster, { type Address, type Worker } from 'node:cluster';

/** What the primary tells a worker over the cluster IPC channel. */
export type PrimaryMessage = { tessera: 'duties' };

export const isPrimaryMessage = (m: unknown): m is PrimaryMessage =>
  typeof m === 'object' && m !== null && (m as { tessera?: unknown }).tessera === 'duties';

export interface SupervisorLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface SupervisorOptions {
  workers: number;
  log: SupervisorLog;
  /** Once, when every first-generation worker listens. */
  onListening(address: string, workers: number): void;
  /** After SIGTERM, how long workers get to drain before they are killed (their own deadline is shorter). */
  stopTimeoutMs: number;
  https?: boolean;
}

/**
 * The primary of `tessera serve` with TESSERA_WORKERS > 1: forks the workers (node:cluster, one
 * listening port shared through the primary, which hands connections round-robin), replaces a worker
 * that dies, gives the background duties (purge, key rotation by age) to exactly one live worker at a
 * time, and on stop asks every worker to drain and waits for them within a bound. It serves no
 * requests and opens no database itself once the workers run.
 */
export class Supervisor {
  private stopping = false;
  private everListened = false;
  private announced = false;
  private dutyWorker: Worker | undefined;
  private readonly listening = new Set<number>();
  private recentExits: number[] = [];
  private startup!: { resolve(): void; reject(e: Error): void };

  constructor(private readonly o: SupervisorOptions) {}

  /** Resolves once all workers listen; rejects when a worker dies before any worker ever listened (bad port, bad config). */
  start(): Promise<void> {
    const started = new Promise<void>((resolve, reject) => { this.startup = { resolve, reject }; });
    cluster.on('listening', (w, address) => this.onListening(w, address));
    cluster.on('exit', (w, code, signal) => this.onExit(w, code, signal));
    for (let i = 0; i < this.o.workers; i++) cluster.fork();
    return started;
  }

  private onListening(w: Worker, address: Address): void {
    this.listening.add(w.id);
    this.everListened = true;
    if (!this.dutyWorker && !this.stopping) this.giveDuties(w);
    if (!this.announced && this.listening.size >= this.o.workers) {
      this.announced = true;
      const host = address.addressType === 6 ? `[${address.address}]` : address.address;
      this.o.onListening(`${this.o.https ? 'https' : 'http'}://${host}:${address.port}`, this.o.workers);
      this.startup.resolve();
    }
  }

  private giveDuties(w: Worker): void {
    this.dutyWorker = w;
    w.send({ tessera: 'duties' } satisfies PrimaryMessage);
  }

  private onExit(w: Worker, code: number | null, signal: string | null): void {
    this.listening.delete(w.id);
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    if (this.dutyWorker === w) {
      this.dutyWorker = undefined;
      // The duties move at once to a worker that is up; a replacement gets them if none is.
      const next = Object.values(cluster.workers ?? {}).find((x) => x && this.listening.has(x.id));
      if (next && !this.stopping) this.giveDuties(next);
    }
    if (this.stopping) return;
    if (!this.everListened) {
      this.o.log.error(`worker ${w.process.pid} ${how} before listening; stopping`);
      this.startup.reject(new Error(`a worker ${how} during start-up (see its message above)`));
      return;
    }
    // A worker that keeps dying right after start (its store gone, say) is replaced more slowly.
    const now = Date.now();
    this.recentExits = this.recentExits.filter((t) => now - t < 10_000);
    this.recentExits.push(now);
    const delay = this.recentExits.length > this.o.workers ? Math.min(5_000, 250 * 2 ** (this.recentExits.length - this.o.workers)) : 0;
    this.o.log.warn(`worker ${w.process.pid} ${how}; starting a replacement${delay ? ` in ${delay} ms` : ''}`);
    setTimeout(() => { if (!this.stopping) cluster.fork(); }, delay).unref();
  }

  /**
   * Asks every worker to finish its in-flight requests, flush its audit batch and exit (SIGTERM: the
   * worker's own shutdown), and waits for all of them. Resolves with the exit code for the primary:
   * 0 when every worker exited cleanly in time, 1 otherwise (stragglers are killed at the deadline).
   */
  async stop(): Promise<number> {
    this.stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    let clean = true;
    const exits = workers.map((w) => new Promise<void>((resolve) => {
      if (w.isDead()) { resolve(); return; }
      w.once('exit', (code, signal) => { if (code !== 0 || signal) clean = false; resolve(); });
      w.process.kill('SIGTERM');
    }));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.all(exits).then(() => false),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), this.o.stopTimeoutMs); }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.o.log.error(`workers did not stop within ${this.o.stopTimeoutMs} ms; killing them`);
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
      return 1;
    }
    return clean ? 0 : 1;
  }
}
