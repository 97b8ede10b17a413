import type { AuditEventRecord } from '../core/types.js';
import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';
import { ScimError } from '../scim/errors.js';
import type { Filter } from '../scim/filter.js';
import type { ListQuery } from '../scim/query.js';
import { AuditEventSchema } from '../scim/resources.js';
import type { AuditQuery } from '../storage/ports.js';
import { compact, iso, type ResourceType, type Scim } from './resource.js';

const UNSUPPORTED = 'AuditEvents can be filtered on eventId, actorId and outcome (eq) and timestamp (gt, ge, lt, le), joined with and';

/**
 * Audit events are many (one per token issued), so they are filtered and paged in SQL rather than
 * in memory; the filter grammar is the SCIM one, restricted to what the indexes serve.
 */
export function auditQuery(q: ListQuery): AuditQuery {
  const out: AuditQuery = { offset: q.startIndex - 1, limit: q.count, descending: q.sortOrder !== 'ascending' || q.sortBy === undefined };
  if (q.sortBy !== undefined && q.sortBy.toLowerCase() !== 'timestamp') throw new ScimError(400, 'invalidValue', 'AuditEvents can be sorted by timestamp only');
  if (q.sortBy !== undefined) out.descending = q.sortOrder === 'descending';
  // `a eq x and a eq y` (x != y) matches nothing (RFC 7644 §3.4.2.2); applied after the walk, so a
  // later term cannot overwrite it.
  let contradiction = false;
  const walk = (f: Filter): void => {
    if (f.op === 'and') { for (const x of f.filters) walk(x); return; }
    if (f.op === 'eq' || f.op === 'gt' || f.op === 'ge' || f.op === 'lt' || f.op === 'le') {
      const attr = f.attrPath.toLowerCase().replace(/^urn:ietf:params:scim:schemas:oracle:idcs:auditevent:/, '');
      const v = f.compValue;
      if (f.op === 'eq' && typeof v === 'string' && (attr === 'eventid' || attr === 'actorid' || attr === 'outcome')) {
        const key = attr === 'eventid' ? 'eventId' : attr === 'actorid' ? 'actorId' : 'outcome';
        if (out[key] !== undefined && out[key] !== v) contradiction = true;
        out[key] = v;
        return;
      }
      if (attr === 'timestamp' && typeof v === 'string') {
        const t = Date.parse(v);
        if (Number.isNaN(t)) throw new ScimError(400, 'invalidFilter', 'timestamp must be an RFC 3339 date-time');
        if (f.op === 'gt' || f.op === 'ge') out.since = Math.max(out.since ?? -Infinity, f.op === 'gt' ? t + 1 : t);
        else if (f.op === 'lt' || f.op === 'le') out.until = Math.min(out.until ?? Infinity, f.op === 'lt' ? t - 1 : t);
        else { out.since = t; out.until = t; }
        return;
      }
    }
    throw new ScimError(400, 'invalidFilter', UNSUPPORTED);
  };
  if (q.filter) walk(q.filter);
  if (contradiction) { out.limit = 0; out.eventId = '\0'; }
  return out;
}

type AuditRow = AuditEventRecord & { version: number; createdAt: number; updatedAt: number };

export class AuditEventsResource implements ResourceType<AuditRow, null> {
  readonly name = 'AuditEvents' as const;
  readonly resourceType = 'AuditEvent';
  readonly schema = AuditEventSchema;
  constructor(private s: Services) {}
  async view() { return null; }
  private wrap(e: AuditEventRecord): AuditRow { return { ...e, version: 1, createdAt: e.ts, updatedAt: e.ts }; }

  render(c: DomainContext, e: AuditRow): Scim {
    return compact({
      schemas: [AuditEventSchema.id], id: e.id, eventId: e.eventId, timestamp: iso(e.ts), outcome: e.outcome,
      actorType: e.actorType, actorId: e.actorId, actorName: e.actorName, clientIp: e.clientIp, targetType: e.targetType,
      targetId: e.targetId, message: e.message, details: e.details ? JSON.stringify(e.details) : undefined,
      meta: { resourceType: 'AuditEvent', created: iso(e.ts), lastModified: iso(e.ts), location: `${c.endpoints.admin}/AuditEvents/${e.id}` },
    });
  }
  async get(c: DomainContext, id: string) {
    await this.s.events.flush();
    const e = await this.s.repos.audit.get(c.domain.id, id);
    return e && this.wrap(e);
  }
  async query(c: DomainContext, q: ListQuery) {
    // Make this node's queued events visible to its own readers.
    await this.s.events.flush();
    const { total, items } = await this.s.repos.audit.query(c.domain.id, auditQuery(q));
    return { total, items: items.map((e) => this.wrap(e)) };
  }
}
