import type { FastifyBaseLogger } from 'fastify';
import ipaddr from 'ipaddr.js';
import type { AuditEventRecord } from '../core/types.js';
import { newOrderedId } from '../core/ids.js';
import type { Clock } from '../core/clock.js';
import type { AuditRepository } from '../storage/ports.js';

/** Every security event Tessera emits. The audit log, logs and tests all consume this one stream. */
export type SecurityEventId =
  | 'token.issued'
  | 'token.revoked'
  | 'token.introspected'
  | 'client_auth.failed'
  | 'client_assertion.replayed'
  | 'admin.created'
  | 'admin.replaced'
  | 'admin.patched'
  | 'admin.deleted'
  | 'admin.access_denied'
  | 'client.registered'
  | 'client.registration_updated'
  | 'client.registration_deleted'
  | 'keys.rotated'
  | 'domain.created'
  | 'user.login.succeeded'
  | 'user.login.failed'
  | 'user.logout'
  | 'user.mfa.enrolled'
  | 'user.mfa.reset'
  /** Self-service: the user removed their own factor, or replaced their bypass (recovery) codes. */
  | 'user.mfa.removed'
  | 'user.mfa.recovery_codes_regenerated'
  /** A session signed out from the session list (by its user or an administrator), not at the logout endpoint. */
  | 'user.session.ended'
  /** An administrator unlocked an account locked by failed sign-ins. */
  | 'user.unlocked'
  /** An app's client secret was replaced (the old one stops working). */
  | 'client.secret_regenerated'
  | 'user.password.changed'
  | 'consent.granted'
  | 'consent.revoked'
  | 'authorization.denied'
  | 'token.reuse_detected'
  /** RFC 8628: a device asked for a user code; the user approved or denied it at the verification page. */
  | 'device.authorization_requested'
  | 'device.approved'
  | 'device.denied'
  /** A source sent more failures of one kind in a minute than are recorded one by one; this counts the rest. */
  | 'audit.suppressed';

export type SecurityEvent = Omit<AuditEventRecord, 'id' | 'ts' | 'eventId'> & {
  eventId: SecurityEventId;
  /**
   * The actor was authenticated (a valid token), so the actor is no attacker's choice: its failures get a
   * rate-limit budget of their own, and anonymous failures from its address cannot use it up. Not stored.
   */
  actorVerified?: boolean;
};
export type Listener = (e: AuditEventRecord) => void;

/** Longest text kept in one audit field; longer attacker-supplied values (a 60 KB client_id) are cut. */
const MAX_FIELD = 256;
const MAX_MESSAGE = 1024;
const MAX_DETAILS_JSON = 4096;
const PLAIN = /^[\x20-\x7e]*$/;
// C0/C1 controls, DEL, line/paragraph separators and bidi controls would forge lines or reorder text in viewers.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]/g;

/** A value fit to store and log: no control or bidi characters, at most `max` characters (with a marker when cut). */
export function boundText(v: string, max = MAX_FIELD): string {
  if (v.length <= max && PLAIN.test(v)) return v;
  let out = v.replace(UNSAFE, '\uFFFD');
  if (out.length > max) {
    out = out.slice(0, max);
    // Do not leave half a surrogate pair at the cut.
    if (/[\ud800-\udbff]$/.test(out)) out = out.slice(0, -1);
    out += `…(${v.length} chars)`;
  }
  return out;
}

function boundValue(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return boundText(v, MAX_MESSAGE);
  if (typeof v !== 'object' || v === null) return v;
  if (depth >= 4) return '[nested too deep]';
  if (Array.isArray(v)) return v.slice(0, 50).map((x) => boundValue(x, depth + 1));
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, x] of Object.entries(v)) {
    if (n++ >= 50) break;
    out[boundText(k, 64)] = boundValue(x, depth + 1);
  }
  return out;
}

function boundDetails(d: Record<string, unknown>): Record<string, unknown> {
  const out = boundValue(d, 0) as Record<string, unknown>;
  const size = JSON.stringify(out).length;
  return size > MAX_DETAILS_JSON ? { truncated: true, size } : out;
}

/**
 * The source a failure is counted against: the address, or for IPv6 its /64 (one host commonly holds a whole
 * /64, so single addresses would be free decoys); IPv4-mapped IPv6 is the IPv4 address.
 */
export function sourceOf(ip: string | undefined): string {
  if (!ip) return '';
  try {
    let a = ipaddr.parse(ip);
    if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
    if (a.kind() === 'ipv4') return a.toString();
    const p = (a as ipaddr.IPv6).parts;
    return `${p.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`;
  } catch {
    return boundText(ip, 64);
  }
}

/** Every attacker-supplied field of an event, bounded (length, control characters) before it is stored or logged. */
function bounded(e: SecurityEvent): Omit<SecurityEvent, 'actorVerified'> {
  const { actorVerified: _verified, ...out } = e;
  for (const k of ['actorType', 'actorId', 'actorName', 'clientIp', 'targetType', 'targetId'] as const) {
    const v = out[k];
    if (typeof v === 'string') out[k] = boundText(v);
  }
  if (typeof out.message === 'string') out.message = boundText(out.message, MAX_MESSAGE);
  if (out.details) out.details = boundDetails(out.details);
  return out;
}

export interface SecurityEventsOptions {
  flushMs?: number;
  maxQueue?: number;
  /**
   * Failure events of one kind recorded per source address and minute; the rest are counted and recorded as
   * one `audit.suppressed` event, so a flood of failed authentications cannot fill the database. 0: no limit.
   */
  failuresPerMinute?: number;
}

interface FailureWindow {
  start: number; count: number; suppressed: number; domainId: string; eventId: string;
  /** The source (an address, or an IPv6 /64); undefined for the window of all sources together. */
  clientIp?: string; actorType?: string; actorId?: string;
}
const WINDOW_MS = 60_000;
/** Windows kept per minute: also the most summaries a minute can bring (each a row). */
const MAX_WINDOWS = 2_000;
const GLOBAL_FACTOR = 20;

/**
 * Typed emitter with a batched audit sink: events are queued and written in one multi-row insert
 * every `flushMs` (or sooner when 1000 are waiting), so the audit trail costs the token endpoint no
 * round trip per request. `flush()` runs at shutdown and before audit reads; a crash loses at most
 * the last `flushMs` of events. Failed writes are logged and kept for the next flush. Every field is
 * bounded, and failures are rate-limited per source (see SecurityEventsOptions).
 */
export class SecurityEvents {
  private queue: AuditEventRecord[] = [];
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  private listeners = new Set<Listener>();
  private windows = new Map<string, FailureWindow>();
  private lastSweep = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly flushMs: number;
  private readonly maxQueue: number;
  private readonly failuresPerMinute: number;

  constructor(private audit: AuditRepository, private clock: Clock, private log: FastifyBaseLogger, o: SecurityEventsOptions = {}) {
    this.flushMs = o.flushMs ?? 50;
    this.maxQueue = o.maxQueue ?? 50_000;
    this.failuresPerMinute = o.failuresPerMinute ?? 60;
  }

  /** Audit events waiting to be written (a metrics gauge: it grows while the store refuses writes). */
  get queued(): number { return this.queue.length; }

  on(l: Listener): () => void { this.listeners.add(l); return () => this.listeners.delete(l); }

  emit(e: SecurityEvent): void {
    const ts = this.clock.now();
    const rec: AuditEventRecord = { ...bounded(e), id: newOrderedId(ts), ts };
    // Listeners (metrics, tests) see every event; the audit trail and the log may see a summary instead.
    for (const l of this.listeners) l(rec);
    if (e.outcome === 'failure') {
      if (!this.admit(rec, ts, e.actorVerified === true)) return;
      this.log.info({ event: rec.eventId, actor: rec.actorId, domain: rec.domainId, clientIp: rec.clientIp, detail: rec.message }, 'security event');
    }
    this.enqueue(rec);
  }

  /**
   * Per source, event and minute the first `failuresPerMinute` pass and the rest are counted; all sources
   * together pass at most GLOBAL_FACTOR times as many (spoofed or many addresses), and so does the table
   * of windows (once full, new sources share the global window).
   */
  private admit(rec: AuditEventRecord, now: number, actorVerified: boolean): boolean {
    if (this.failuresPerMinute <= 0) return true;
    this.summarise(now);
    const window = (source: string | undefined, actor: boolean) => {
      const key = `${rec.domainId}\0${rec.eventId}\0${source ?? '*'}\0${actor ? `${rec.actorType}:${rec.actorId}` : ''}`;
      let w = this.windows.get(key);
      if (!w) {
        w = { start: now, count: 0, suppressed: 0, domainId: rec.domainId, eventId: rec.eventId, clientIp: source };
        if (actor) { w.actorType = rec.actorType; w.actorId = rec.actorId; }
        this.windows.set(key, w);
      }
      return w;
    };
    // An authenticated actor's failures are counted on their own: attributable, and no spoofed flood.
    const all = window(undefined, actorVerified);
    const own = this.windows.size < MAX_WINDOWS ? window(sourceOf(rec.clientIp), actorVerified) : all;
    if (own !== all && own.count >= this.failuresPerMinute) { own.suppressed++; return false; }
    // All sources together are capped too; what the cap holds back is still counted against its own source,
    // so the summary names the source (a new source is never silenced without a trace while the table has room).
    if (all.count >= this.failuresPerMinute * GLOBAL_FACTOR) { own.suppressed++; return false; }
    own.count++;
    if (own !== all) all.count++;
    return true;
  }

  /** Records what each finished window suppressed, and forgets finished windows. */
  private summarise(now: number, force = false): void {
    if (!force && now - this.lastSweep < 1000) return;
    this.lastSweep = now;
    for (const [key, w] of this.windows) {
      if (now - w.start < WINDOW_MS) continue;
      this.windows.delete(key);
      if (w.suppressed === 0) continue;
      const rec: AuditEventRecord = {
        id: newOrderedId(now), ts: now, eventId: 'audit.suppressed', outcome: 'failure', domainId: w.domainId, clientIp: w.clientIp,
        actorType: w.actorType, actorId: w.actorId,
        message: `${w.suppressed} more ${w.eventId} events from ${w.clientIp === undefined ? 'all sources' : 'this source'} in one minute were not recorded one by one`,
        details: { eventId: w.eventId, suppressed: w.suppressed, recorded: w.count, windowStart: new Date(w.start).toISOString() },
      };
      this.log.warn({ event: w.eventId, clientIp: w.clientIp, domain: w.domainId, suppressed: w.suppressed }, 'security events suppressed');
      this.enqueue(rec);
    }
  }

  private enqueue(rec: AuditEventRecord): void {
    if (this.queue.length >= this.maxQueue) {
      this.log.error('audit queue full; dropping event %s', rec.eventId);
      return;
    }
    this.queue.push(rec);
    if (this.queue.length >= 1000) void this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      this.timer = setTimeout(() => { void this.flush(); }, this.flushMs);
      this.timer.unref();
    }
  }

  flush(): Promise<void> {
    this.scheduled = false;
    clearTimeout(this.timer);
    if (this.windows.size > 0) this.summarise(this.clock.now(), true);
    this.flushing = this.flushing.then(async () => {
      while (this.queue.length) {
        const batch = this.queue.splice(0, 1000);
        try {
          await this.audit.insertMany(batch);
        } catch (err) {
          this.log.error({ err }, 'audit write failed; will retry');
          this.queue.unshift(...batch);
          break;
        }
      }
    });
    return this.flushing;
  }
}
