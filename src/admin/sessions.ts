/**
 * SSO sessions through the API (issue 11: the account page and the console call only the public API).
 *
 * Self-service, with the Me scope, for the signed-in user only:
 *   GET    ISSUER/admin/v1/MySessions              the user's live sessions, `current` marks the caller's own
 *   DELETE ISSUER/admin/v1/MySessions/{id}         signs that session out
 *   POST   ISSUER/admin/v1/MySessionsRemover       signs every session out (optionally all but the caller's)
 * Administration:
 *   GET    ISSUER/admin/v1/Sessions?userId=...     a user's live sessions (users or users.read scope)
 *   DELETE ISSUER/admin/v1/Sessions/{id}           signs one session out (users scope, escalation guard)
 *   POST   ISSUER/admin/v1/SessionsRemover         signs every session of a user out (users scope, escalation guard)
 *
 * Signing a session out is what logout does (SessionService.end): the session ends, and the tokens issued
 * in it are revoked (RFC 9700 §4.14.2), so its refresh tokens stop working and prompt=none finds no session.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';
import { ScimError } from '../scim/errors.js';
import type { SessionRecord } from '../storage/ports.js';
import { requireScope } from './auth.js';
import { assertMayManageUser } from './guard.js';
import { PERMISSIONS } from './permissions.js';
import { iso } from './resource.js';
import { actionBody, selfUser } from './self.js';

export const SESSION_SCHEMA = 'urn:ietf:params:scim:schemas:tessera:2.0:Session';
export const MY_SESSIONS_REMOVER_SCHEMA = 'urn:ietf:params:scim:schemas:tessera:2.0:MySessionsRemover';
export const SESSIONS_REMOVER_SCHEMA = 'urn:ietf:params:scim:schemas:tessera:2.0:SessionsRemover';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
/** Session ids are 32 hex characters (newJti); anything longer than this is no id of ours and is not looked up. */
const MAX_ID = 128;

const validId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID && !v.includes('\0');

function render(c: DomainContext, base: 'MySessions' | 'Sessions', x: SessionRecord, currentSid: string | undefined) {
  return {
    schemas: [SESSION_SCHEMA], id: x.sid,
    user: { value: x.userId, $ref: `${c.endpoints.admin}/Users/${x.userId}` },
    authTime: iso(x.authTime), expiresAt: iso(x.expiresAt), amr: x.amr, acr: x.acr,
    ...(x.userAgent !== undefined ? { userAgent: x.userAgent } : {}), ...(x.clientIp !== undefined ? { clientIp: x.clientIp } : {}),
    current: currentSid !== undefined && currentSid === x.sid,
    meta: { resourceType: 'Session', created: iso(x.createdAt), lastModified: iso(x.createdAt), location: `${c.endpoints.admin}/${base}/${x.sid}` },
  };
}

const list = (items: unknown[]) => ({ schemas: [LIST], totalResults: items.length, startIndex: 1, itemsPerPage: items.length, Resources: items });

export function sessionRoutes(app: FastifyInstance, s: Services): void {
  const ended = (req: FastifyRequest, userId: string, sids: string[], how: string) => {
    const caller = req.adminCaller!;
    for (const sid of sids) {
      s.events.emit({
        eventId: 'user.session.ended', outcome: 'success', domainId: req.tessera.domain.id, actorType: caller.actorType, actorId: caller.actorId,
        clientIp: req.ip, targetType: 'User', targetId: userId, details: { sid, how },
      });
    }
  };
  /** The session the caller's token was issued in (its sid), if any. */
  const callerSid = (req: FastifyRequest) => req.adminCaller!.token.sessionId;

  app.get('/MySessions', async (req, reply) => {
    const u = await selfUser(s, req);
    const items = await s.sessions.listForUser(req.tessera.domain.id, u.id);
    reply.type('application/scim+json');
    return list(items.map((x) => render(req.tessera, 'MySessions', x, callerSid(req))));
  });

  app.delete('/MySessions/:id', async (req, reply) => {
    const u = await selfUser(s, req);
    const sid = (req.params as { id: string }).id;
    // Only the user's own sessions are found: another user's sid is as unknown as a made-up one.
    const gone = validId(sid) ? await s.sessions.endBySid(req.tessera.domain.id, u.id, sid) : undefined;
    if (!gone) throw new ScimError(404, undefined, 'no such session');
    ended(req, u.id, [sid], 'MySessions');
    return reply.status(204).send();
  });

  app.post('/MySessionsRemover', async (req, reply) => {
    const u = await selfUser(s, req);
    const b = actionBody(req.body, MY_SESSIONS_REMOVER_SCHEMA, ['keepCurrent']);
    const keepCurrent = b.get('keepcurrent') ?? false;
    if (typeof keepCurrent !== 'boolean') throw new ScimError(400, 'invalidValue', 'keepCurrent must be a boolean');
    const keep = keepCurrent ? callerSid(req) : undefined;
    if (keepCurrent && !keep) throw new ScimError(400, 'invalidValue', 'keepCurrent: this access token was not issued in a session');
    const sids = await s.sessions.endAllForUser(req.tessera.domain.id, u.id, keep);
    ended(req, u.id, sids, 'MySessionsRemover');
    return reply.status(201).type('application/scim+json').send({ schemas: [MY_SESSIONS_REMOVER_SCHEMA], keepCurrent, removed: sids.length });
  });

  app.get('/Sessions', async (req, reply) => {
    requireScope(req, PERMISSIONS.Sessions.read);
    const userId = (req.query as { userId?: unknown }).userId;
    if (!validId(userId)) throw new ScimError(400, 'invalidValue', 'userId is required');
    const domainId = req.tessera.domain.id;
    // Only users of this domain: another domain's user id is as unknown here as a made-up one.
    if (!(await s.repos.users.get(domainId, userId))) throw new ScimError(404, undefined, 'no such user');
    const items = await s.sessions.listForUser(domainId, userId);
    reply.type('application/scim+json');
    return list(items.map((x) => render(req.tessera, 'Sessions', x, callerSid(req))));
  });

  app.delete('/Sessions/:id', async (req, reply) => {
    requireScope(req, PERMISSIONS.Sessions.write);
    const sid = (req.params as { id: string }).id;
    const domainId = req.tessera.domain.id;
    const found = validId(sid) ? await s.repos.sessions.findBySid(domainId, sid) : undefined;
    if (!found) throw new ScimError(404, undefined, 'no such session');
    // Signing an administrator out (again and again) is a way to lock them out: only for callers who hold what they hold.
    await assertMayManageUser(s, req.tessera, req.adminCaller!, found.userId);
    if (!(await s.sessions.endBySid(domainId, found.userId, sid))) throw new ScimError(404, undefined, 'no such session');
    ended(req, found.userId, [sid], 'Sessions');
    return reply.status(204).send();
  });

  app.post('/SessionsRemover', async (req, reply) => {
    requireScope(req, PERMISSIONS.Sessions.write);
    const b = actionBody(req.body, SESSIONS_REMOVER_SCHEMA, ['user']);
    const user = b.get('user');
    const userId = user && typeof user === 'object' && !Array.isArray(user) ? (user as Record<string, unknown>).value : undefined;
    if (!validId(userId)) throw new ScimError(400, 'invalidValue', 'user.value must name the user whose sessions end');
    const domainId = req.tessera.domain.id;
    if (!(await s.repos.users.get(domainId, userId))) throw new ScimError(404, undefined, 'no such user');
    await assertMayManageUser(s, req.tessera, req.adminCaller!, userId);
    const sids = await s.sessions.endAllForUser(domainId, userId);
    ended(req, userId, sids, 'SessionsRemover');
    return reply.status(201).type('application/scim+json').send({ schemas: [SESSIONS_REMOVER_SCHEMA], user: { value: userId }, removed: sids.length });
  });
}
