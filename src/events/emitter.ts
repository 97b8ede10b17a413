import type { FastifyBaseLogger } from 'fastify';
import type { AuditEventRecord } from '../core/types.js';
import { newId } from '../core/ids.js';
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
  | 'domain.created';

export type SecurityEvent = Omit<AuditEventRecord, 'id' | 'ts' | 'eventId'> & { eventId: SecurityEventId };
export type Listener = (e: AuditEventRecord) => void;

/**
 * Typed emitter with a batched audit sink: events are queued and written in one multi-row insert
 * per tick, so the audit trail costs the token endpoint no extra round trip per request.
 * `flush()` is awaited at shutdown; writes that fail are logged and retried once at the next flush.
 */
export class SecurityEvents {
  private queue: AuditEventRecord[] = [];
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  private listeners = new Set<Listener>();

  constructor(private audit: AuditRepository, private clock: Clock, private log: FastifyBaseLogger, private maxQueue = 50_000) {}

  on(l: Listener): () => void { this.listeners.add(l); return () => this.listeners.delete(l); }

  emit(e: SecurityEvent): void {
    const rec: AuditEventRecord = { ...e, id: newId(), ts: this.clock.now() };
    for (const l of this.listeners) l(rec);
    if (e.outcome === 'failure') this.log.info({ event: rec.eventId, actor: rec.actorId, domain: rec.domainId, msg: rec.message }, 'security event');
    if (this.queue.length >= this.maxQueue) {
      this.log.error('audit queue full; dropping event %s', rec.eventId);
      return;
    }
    this.queue.push(rec);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => { void this.flush(); });
    }
  }

  flush(): Promise<void> {
    this.scheduled = false;
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
