import type { FastifyBaseLogger } from 'fastify';
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
  | 'user.password.changed'
  | 'consent.granted'
  | 'consent.revoked'
  | 'authorization.denied'
  | 'token.reuse_detected';

export type SecurityEvent = Omit<AuditEventRecord, 'id' | 'ts' | 'eventId'> & { eventId: SecurityEventId };
export type Listener = (e: AuditEventRecord) => void;

/**
 * Typed emitter with a batched audit sink: events are queued and written in one multi-row insert
 * every `flushMs` (or sooner when 1000 are waiting), so the audit trail costs the token endpoint no
 * round trip per request. `flush()` runs at shutdown and before audit reads; a crash loses at most
 * the last `flushMs` of events. Failed writes are logged and kept for the next flush.
 */
export class SecurityEvents {
  private queue: AuditEventRecord[] = [];
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  private listeners = new Set<Listener>();

  private timer: NodeJS.Timeout | undefined;

  constructor(private audit: AuditRepository, private clock: Clock, private log: FastifyBaseLogger, private flushMs = 50, private maxQueue = 50_000) {}

  on(l: Listener): () => void { this.listeners.add(l); return () => this.listeners.delete(l); }

  emit(e: SecurityEvent): void {
    const ts = this.clock.now();
    const rec: AuditEventRecord = { ...e, id: newOrderedId(ts), ts };
    for (const l of this.listeners) l(rec);
    if (e.outcome === 'failure') this.log.info({ event: rec.eventId, actor: rec.actorId, domain: rec.domainId, msg: rec.message }, 'security event');
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
