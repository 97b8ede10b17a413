import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';
import type { SecurityEventId } from '../events/emitter.js';
import { ScimError } from '../scim/errors.js';
import { applyPatch } from '../scim/patch.js';
import { projectResource } from '../scim/project.js';
import { listResources, parseListQuery, type ListQuery } from '../scim/query.js';
import type { SchemaDef } from '../scim/schema.js';
import { validateResource } from '../scim/validate.js';
import { Conflict, StaleVersion } from '../storage/ports.js';
import { requireScope, type AdminCaller } from './auth.js';
import { PERMISSIONS, type AdminResource } from './permissions.js';

export interface Versioned { id: string; version: number; createdAt: number; updatedAt: number }
export type Scim = Record<string, unknown>;

/** One SCIM resource type of the admin API. The generic routes below do the protocol; this does the model. */
export interface ResourceType<R extends Versioned, V = unknown> {
  name: AdminResource;
  resourceType: string;
  schema: SchemaDef;
  /** Data shared by every render of one request (e.g. the grants, for grantedAppRoles). */
  view(c: DomainContext): Promise<V>;
  render(c: DomainContext, r: R, view: V): Scim;
  get(c: DomainContext, id: string): Promise<R | undefined>;
  /** Every resource of the domain, for the in-memory filter/sort/page path. */
  list?(c: DomainContext): Promise<R[]>;
  /** A type that pages in SQL (audit events) lists itself. */
  query?(c: DomainContext, q: ListQuery): Promise<{ total: number; items: R[] }>;
  create?(c: DomainContext, body: Scim, caller: AdminCaller): Promise<{ rec: R; extra?: Scim }>;
  replace?(c: DomainContext, existing: R, body: Scim, caller: AdminCaller): Promise<R>;
  remove?(c: DomainContext, existing: R, caller: AdminCaller): Promise<void>;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
export const etag = (v: number): string => `W/"${v}"`;

export function meta(c: DomainContext, resourceType: string, path: string, r: Versioned): Scim {
  return { resourceType, created: iso(r.createdAt), lastModified: iso(r.updatedAt), version: etag(r.version), location: `${c.endpoints.admin}/${path}/${r.id}` };
}

/** Drop undefined values so absent attributes are absent in JSON (RFC 7643 §2.5 unassigned). */
export function compact(o: Scim): Scim {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** RFC 7644 §3.14: If-Match must name the current version (or `*`). */
export function checkIfMatch(req: FastifyRequest, version: number): number | undefined {
  const h = req.headers['if-match'];
  if (h === undefined) return undefined;
  const tags = String(h).split(',').map((t) => t.trim());
  if (tags.includes('*') || tags.includes(etag(version)) || tags.includes(`"${version}"`)) return version;
  throw new ScimError(412, undefined, 'the resource was modified (If-Match does not name the current version)');
}

/**
 * RFC 7232 §3.2 (RFC 7644 §3.14): If-None-Match is `*` or a list of entity tags compared weakly, so
 * `W/"3"` and `"3"` both name version 3.
 */
function noneMatch(req: FastifyRequest, version: number): boolean {
  const h = req.headers['if-none-match'];
  if (h === undefined) return false;
  const tags = String(h).split(',').map((t) => t.trim().replace(/^W\//, ''));
  return tags.includes('*') || tags.includes(`"${version}"`);
}

export const storeError = (e: unknown, ifMatch: boolean): never => {
  if (e instanceof Conflict) throw new ScimError(409, 'uniqueness', `${e.what} is already in use`);
  if (e instanceof StaleVersion) {
    throw ifMatch ? new ScimError(412, undefined, 'the resource was modified') : new ScimError(409, undefined, 'the resource was modified concurrently; retry');
  }
  throw e;
};

const idParam = (req: FastifyRequest): string => (req.params as { id: string }).id;

/** `attributes` / `excludedAttributes` of a request (RFC 7644 §3.4.2.5, §3.9). */
export const projection = (req: FastifyRequest): { attributes?: string[]; excluded?: string[] } => {
  const q = (req.query ?? {}) as Record<string, unknown>;
  const split = (v: unknown) => (typeof v === 'string' && v ? v.split(',').map((x) => x.trim()).filter(Boolean) : undefined);
  return { attributes: split(q.attributes), excluded: split(q.excludedAttributes) };
};

export function registerResource<R extends Versioned, V>(app: FastifyInstance, s: Services, rt: ResourceType<R, V>): void {
  const base = `/${rt.name}`;
  const perm = PERMISSIONS[rt.name];
  const audit = (req: FastifyRequest, eventId: SecurityEventId, id: string) => {
    const caller = req.adminCaller!;
    s.events.emit({
      eventId, outcome: 'success', domainId: req.tessera.domain.id, actorType: caller.actorType, actorId: caller.actorId,
      clientIp: req.ip, targetType: rt.resourceType, targetId: id,
    });
  };
  const load = async (req: FastifyRequest): Promise<R> => {
    // Our ids are short and plain; anything else (U+0000 above all, which PostgreSQL cannot compare) names nothing.
    const id = idParam(req);
    const r = id.length <= 256 && !id.includes('\0') ? await rt.get(req.tessera, id) : undefined;
    if (!r) throw new ScimError(404, undefined, `${rt.resourceType} ${idParam(req).slice(0, 64)} not found`);
    return r;
  };
  // RFC 7643 §7 "returned": a POST, PUT or PATCH response carries the resource as a GET would:
  // `request` attributes (AppRole.members) only when named in `attributes`, never `never` ones.
  const rendered = async (req: FastifyRequest, r: R): Promise<Scim> => {
    const p = projection(req);
    return projectResource(rt.render(req.tessera, r, await rt.view(req.tessera)), rt.schema, p.attributes, p.excluded);
  };
  const send = (reply: FastifyReply, status: number, body: Scim, r: Versioned, c: DomainContext) => {
    void reply.status(status).header('etag', etag(r.version)).type('application/scim+json');
    if (status === 201) reply.header('location', `${c.endpoints.admin}${base}/${r.id}`);
    return body;
  };

  const list = async (req: FastifyRequest, input: Record<string, unknown>) => {
    requireScope(req, perm.read);
    const q = parseListQuery(input);
    const c = req.tessera;
    if (rt.query) {
      const { total, items } = await rt.query(c, q);
      const view = await rt.view(c);
      return {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: total, startIndex: q.startIndex, itemsPerPage: items.length,
        Resources: items.map((r) => projectResource(rt.render(c, r, view), rt.schema, q.attributes, q.excludedAttributes)),
      };
    }
    const [all, view] = await Promise.all([rt.list!(c), rt.view(c)]);
    return listResources(all.map((r) => rt.render(c, r, view)), q, rt.schema);
  };
  app.get(base, async (req, reply) => { reply.type('application/scim+json'); return list(req, { ...(req.query as Record<string, unknown>) }); });
  app.post(`${base}/.search`, async (req, reply) => {
    const body = req.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ScimError(400, 'invalidSyntax', 'a SearchRequest JSON object is required');
    const b = body as Record<string, unknown>;
    const schemas = b.schemas;
    if (!Array.isArray(schemas) || !schemas.includes('urn:ietf:params:scim:api:messages:2.0:SearchRequest')) {
      throw new ScimError(400, 'invalidSyntax', 'schemas must be ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]');
    }
    reply.type('application/scim+json').status(200);
    return list(req, b);
  });

  app.get(`${base}/:id`, async (req, reply) => {
    requireScope(req, perm.read);
    const r = await load(req);
    if (noneMatch(req, r.version)) return reply.status(304).header('etag', etag(r.version)).send();
    return send(reply, 200, await rendered(req, r), r, req.tessera);
  });

  if (rt.create) {
    const create = rt.create.bind(rt);
    app.post(base, async (req, reply) => {
      requireScope(req, perm.write);
      const body = validateResource(req.body, rt.schema, 'create');
      let out: { rec: R; extra?: Scim };
      try { out = await create(req.tessera, body, req.adminCaller!); } catch (e) { return storeError(e, false); }
      s.catalogs.invalidate(req.tessera.domain.id);
      audit(req, 'admin.created', out.rec.id);
      // `extra` (the new client secret, shown once) is added after the projection, which would drop it.
      return send(reply, 201, { ...(await rendered(req, out.rec)), ...(out.extra ?? {}) }, out.rec, req.tessera);
    });
  }

  if (rt.replace) {
    const replace = rt.replace.bind(rt);
    const write = async (req: FastifyRequest, reply: FastifyReply, existing: R, body: Scim, event: SecurityEventId) => {
      let rec: R;
      const ifMatch = req.headers['if-match'] !== undefined;
      try { rec = await replace(req.tessera, existing, body, req.adminCaller!); } catch (e) { return storeError(e, ifMatch); }
      s.catalogs.invalidate(req.tessera.domain.id);
      audit(req, event, rec.id);
      return send(reply, 200, await rendered(req, rec), rec, req.tessera);
    };
    app.put(`${base}/:id`, async (req, reply) => {
      requireScope(req, perm.write);
      const existing = await load(req);
      checkIfMatch(req, existing.version);
      const current = rt.render(req.tessera, existing, await rt.view(req.tessera));
      return write(req, reply, existing, validateResource(req.body, rt.schema, 'replace', current), 'admin.replaced');
    });
    app.patch(`${base}/:id`, async (req, reply) => {
      requireScope(req, perm.write);
      const existing = await load(req);
      checkIfMatch(req, existing.version);
      const current = rt.render(req.tessera, existing, await rt.view(req.tessera));
      const patched = applyPatch(current, req.body, rt.schema);
      return write(req, reply, existing, validateResource(patched, rt.schema, 'replace', current), 'admin.patched');
    });
  } else {
    const immutable = async () => { throw new ScimError(405, undefined, `${rt.name} cannot be modified; delete and create instead`); };
    app.put(`${base}/:id`, immutable);
    app.patch(`${base}/:id`, immutable);
  }

  if (rt.remove) {
    const remove = rt.remove.bind(rt);
    app.delete(`${base}/:id`, async (req, reply) => {
      requireScope(req, perm.write);
      const existing = await load(req);
      checkIfMatch(req, existing.version);
      try { await remove(req.tessera, existing, req.adminCaller!); } catch (e) { return storeError(e, req.headers['if-match'] !== undefined); }
      s.catalogs.invalidate(req.tessera.domain.id);
      audit(req, 'admin.deleted', existing.id);
      return reply.status(204).send();
    });
  }
}
