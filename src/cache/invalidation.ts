import pg from 'pg';
import { sql } from 'kysely';
import type { Database_ } from '../storage/db.js';
import { CHANGE_LOG_RETENTION_MS, changeOfRow, parseChange, PG_CHANNEL_SQL, type CacheChange, type CacheChangesTable } from './changes.js';

/** A per-node cache that drops what a change touched, or everything. */
export interface InvalidatedCache {
  applyChange(c: CacheChange): void;
  flush(): void;
}

interface Log { info(msg: string): void; warn(msg: string): void }

/**
 * How this process hears about writes made by any process (another node, another worker, the CLI):
 * PostgreSQL LISTEN on a dedicated connection, or polling SQLite's change log. While it is `live`,
 * caches keep entries for the cache TTL (a safety net); while it is not (disconnected, not yet
 * connected, polls failing), for the shorter fallback TTL. Every transition flushes every cache:
 * changes may have been missed while the connection was dying or down.
 */
export abstract class ChangeFeed {
  private caches: InvalidatedCache[] = [];
  private isLive = false;
  /** Counts of what was received, for tests and metrics. */
  readonly stats = { changes: 0, flushes: 0, malformed: 0, reconnects: 0 };
  constructor(protected readonly log: Log) {}

  get live(): boolean { return this.isLive; }
  subscribe(c: InvalidatedCache): void { this.caches.push(c); }
  abstract start(): Promise<void>;
  abstract close(): Promise<void>;

  protected setLive(live: boolean, why: string): void {
    if (live === this.isLive) return;
    this.isLive = live;
    this.flush();
    if (live) this.log.info(`cache change feed: ${why}; caches flushed`);
    else this.log.warn(`cache change feed down (${why}); caches flushed, entries now live at most the fallback TTL until it is back`);
  }

  protected flush(): void {
    this.stats.flushes++;
    for (const c of this.caches) c.flush();
  }

  protected deliver(c: CacheChange | undefined): void {
    if (!c) {
      // Malformed (a newer release's payload, a damaged row, a stranger on our channel): never guess.
      this.stats.malformed++;
      this.flush();
      return;
    }
    this.stats.changes++;
    for (const x of this.caches) x.applyChange(c);
  }
}

/** No other process can write (an in-memory SQLite database) or nothing listens (a CLI command): never live. */
export class NoChangeFeed extends ChangeFeed {
  async start(): Promise<void> {}
  async close(): Promise<void> {}
}

export interface Backoff { baseMs: number; maxMs: number }

/** Exponential backoff with full jitter: a random delay up to base * 2^attempt, capped. */
export const backoffDelay = (b: Backoff, attempt: number, random: () => number = Math.random): number =>
  Math.floor(random() * Math.min(b.maxMs, b.baseMs * 2 ** Math.min(attempt, 30)));

export interface PgListenerOptions {
  /** The connection the listener uses (TESSERA_DATABASE_LISTEN_URL or the database URL). */
  url: string;
  /** Per-schema channel, computed through the pool so it matches the writers (cache/changes.ts). */
  channel: () => Promise<string>;
  backoff?: Backoff;
  /** A silently dead connection (no RST) is noticed by a `select 1` every this often, answered within it. */
  heartbeatMs?: number;
}

/**
 * PostgreSQL LISTEN on one dedicated connection per process, reconnecting with backoff and jitter.
 * A NOTIFY is delivered at commit, so a change is never announced before other nodes can read it.
 */
export class PgChangeListener extends ChangeFeed {
  private client: pg.Client | undefined;
  private channelName: string | undefined;
  private closed = false;
  private attempt = 0;
  private retry: NodeJS.Timeout | undefined;
  private beat: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private readonly heartbeatMs: number;

  constructor(private readonly opts: PgListenerOptions, log: Log) {
    super(log);
    this.backoff = opts.backoff ?? { baseMs: 100, maxMs: 5000 };
    this.heartbeatMs = opts.heartbeatMs ?? 5000;
  }

  /** Resolves after the first attempt, connected or not (a failed one keeps retrying in the background). */
  async start(): Promise<void> { await this.connect(); }

  /** The backend pid of the listening connection (tests terminate it). */
  get pid(): number | undefined { return (this.client as unknown as { processID?: number } | undefined)?.processID; }

  private async connect(): Promise<void> {
    this.retry = undefined;
    if (this.closed) return;
    const c = new pg.Client({ connectionString: this.opts.url, keepAlive: true, connectionTimeoutMillis: 5000 });
    // An error or end after LISTEN is a lost connection; before, the failed connect() below handles it.
    c.on('error', () => this.lost(c, 'connection error'));
    c.on('end', () => this.lost(c, 'connection ended'));
    c.on('notification', (n) => { if (this.client === c && n.channel === this.channelName) this.deliver(parseChange(n.payload)); });
    try {
      this.channelName ??= await this.opts.channel();
      await c.connect();
      await c.query(`LISTEN "${this.channelName.replace(/"/g, '""')}"`);
      if (this.closed) { await c.end().catch(() => {}); return; }
      this.client = c;
      if (this.attempt > 0) this.stats.reconnects++;
      this.attempt = 0;
      this.heartbeat(c);
      this.setLive(true, 'listening');
    } catch {
      await c.end().catch(() => {});
      this.schedule();
    }
  }

  private heartbeat(c: pg.Client): void {
    this.beat = setInterval(() => {
      let answered = false;
      const deadline = setTimeout(() => { if (!answered) this.lost(c, 'heartbeat unanswered'); }, this.heartbeatMs);
      deadline.unref();
      c.query('select 1').then(() => { answered = true; clearTimeout(deadline); }, () => { answered = true; clearTimeout(deadline); this.lost(c, 'heartbeat failed'); });
    }, this.heartbeatMs);
    this.beat.unref();
  }

  private lost(c: pg.Client, why: string): void {
    if (this.client !== c) return;
    this.client = undefined;
    clearInterval(this.beat);
    c.end().catch(() => {});
    this.setLive(false, why);
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => { void this.connect(); }, backoffDelay(this.backoff, this.attempt++));
    this.retry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    clearInterval(this.beat);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }
}

export interface SqlitePollerOptions {
  intervalMs: number;
  /** More rows than this since the last poll: flush everything rather than apply them one by one. */
  maxRows?: number;
  now?: () => number;
}

/**
 * SQLite has no NOTIFY: every process on the file polls the change log (one indexed range read).
 * The processes need no link to each other, so node:cluster workers, separate nodes on a shared
 * volume and the CLI all work the same way.
 */
export class SqliteChangePoller extends ChangeFeed {
  private cursor: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private polling: Promise<void> | undefined;
  private lastPurge = 0;
  private readonly db;

  constructor(database: Database_, private readonly opts: SqlitePollerOptions, log: Log) {
    super(log);
    this.db = database.db.withTables<{ cache_changes: CacheChangesTable }>();
  }

  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => { if (!this.polling) void this.poll(); }, this.opts.intervalMs);
    this.timer.unref();
  }

  /** One poll now (tests; the timer calls it too). */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => { this.polling = undefined; });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    if (this.closed) return;
    const max = this.opts.maxRows ?? 500;
    try {
      if (this.cursor === undefined) {
        // Caches are empty at start: only what is written from now on matters.
        this.cursor = await this.maxId();
      } else {
        const rows = await this.db.selectFrom('cache_changes').select(['id', 'domain_id', 'kind', 'ref'])
          .where('id', '>', this.cursor).orderBy('id').limit(max + 1).execute();
        if (rows.length > max) {
          this.cursor = await this.maxId();
          this.flush();
        } else {
          for (const r of rows) {
            this.cursor = r.id;
            this.deliver(changeOfRow(r));
          }
        }
      }
      await this.purge();
      this.setLive(true, 'polling the change log');
    } catch {
      if (!this.closed) this.setLive(false, 'change log unreadable');
    }
  }

  private async maxId(): Promise<number> {
    const r = await this.db.selectFrom('cache_changes').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst();
    return Number(r?.m ?? 0);
  }

  /** Old rows go; the newest always stays, so SQLite's rowid never starts again below a cursor. */
  private async purge(): Promise<void> {
    const now = (this.opts.now ?? Date.now)();
    if (now - this.lastPurge < 60_000) return;
    this.lastPurge = now;
    await this.db.deleteFrom('cache_changes').where('at', '<', now - CHANGE_LOG_RETENTION_MS)
      .where('id', '<', (eb) => eb.selectFrom('cache_changes').select((e) => e.fn.max('id').as('m'))).execute();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.polling;
  }
}

export interface FeedSettings {
  listenDatabaseUrl: string | undefined;
  changePollMs: number;
}

/** The feed for a database: LISTEN on PostgreSQL, the change-log poller on an SQLite file, none in memory. */
export function changeFeedFor(database: Database_, cfg: FeedSettings, log: Log): ChangeFeed {
  if (database.dialect === 'postgres') {
    return new PgChangeListener({
      url: cfg.listenDatabaseUrl ?? database.url,
      channel: async () => (await sql<{ ch: string }>`select ${PG_CHANNEL_SQL} as ch`.execute(database.db)).rows[0]!.ch,
    }, log);
  }
  if (database.url === 'sqlite::memory:') return new NoChangeFeed(log);
  return new SqliteChangePoller(database, { intervalMs: cfg.changePollMs }, log);
}
