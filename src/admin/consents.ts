import type { FastifyInstance } from 'fastify';
import { ScimError } from '../scim/errors.js';
import type { Services } from '../http/services.js';
import { ADMIN_SCOPES } from '../identity/builtins.js';
import { revokeGrantIds } from '../identity/revocation.js';
import type { ConsentRecord } from '../storage/ports.js';
import { requireScope } from './auth.js';
import { assertMayManageUser } from './guard.js';

export const CONSENT_SCHEMA = 'urn:ietf:params:scim:schemas:tessera:2.0:Consent';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

const render = (issuer: string, c: ConsentRecord) => ({
  schemas: [CONSENT_SCHEMA], id: `${c.userId}.${c.clientId}`, user: { value: c.userId, $ref: `${issuer}/admin/v1/Users/${c.userId}` },
  clientId: c.clientId, scopes: c.scopes,
  meta: { resourceType: 'Consent', created: new Date(c.createdAt).toISOString(), lastModified: new Date(c.updatedAt).toISOString() },
});

/**
 * A user's consents (per client: the scopes they allowed). Listed per user and revocable: revoking
 * also revokes every token that client holds for the user, so the next sign-in asks again.
 * `/admin/v1/Consents?userId=...` and `DELETE /admin/v1/Consents/{userId}.{clientId}` need the users
 * scope; the signed-in user manages their own through `/admin/v1/MyConsents` with the Me scope.
 */
export function consentRoutes(app: FastifyInstance, s: Services): void {
  const revoke = async (domainId: string, userId: string, clientId: string, actor: { type: string; id: string }, ip: string) => {
    if (!(await s.repos.consents.delete(domainId, userId, clientId))) throw new ScimError(404, undefined, 'no such consent');
    const now = s.clock.now();
    await revokeGrantIds(s.repos, domainId, await s.repos.tokens.revokeForClientUser(domainId, clientId, userId, now), now);
    s.events.emit({ eventId: 'consent.revoked', outcome: 'success', domainId, actorType: actor.type, actorId: actor.id, clientIp: ip, targetType: 'User', targetId: userId, details: { client_id: clientId } });
  };
  const list = (issuer: string, items: ConsentRecord[]) => ({ schemas: [LIST], totalResults: items.length, startIndex: 1, itemsPerPage: items.length, Resources: items.map((c) => render(issuer, c)) });
  const selfId = (t: { subType: string; userId?: string; sub: string }) => {
    if (t.subType !== 'user') throw new ScimError(403, undefined, 'this endpoint is for a signed-in user');
    return t.userId ?? t.sub;
  };

  app.get('/Consents', async (req, reply) => {
    requireScope(req, [ADMIN_SCOPES.users, ADMIN_SCOPES.usersRead]);
    const userId = (req.query as { userId?: unknown }).userId;
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 100 || userId.includes('\0')) throw new ScimError(400, 'invalidValue', 'userId is required');
    reply.type('application/scim+json');
    return list(req.tessera.issuer, await s.repos.consents.listForUser(req.tessera.domain.id, userId));
  });
  app.delete('/Consents/:id', async (req, reply) => {
    requireScope(req, [ADMIN_SCOPES.users]);
    const [userId, clientId] = (req.params as { id: string }).id.split('.');
    if (!userId || !clientId || `${userId}${clientId}`.includes('\0')) throw new ScimError(404, undefined, 'no such consent');
    const caller = req.adminCaller!;
    await assertMayManageUser(s, req.tessera, caller, userId);
    await revoke(req.tessera.domain.id, userId, clientId, { type: caller.actorType, id: caller.actorId }, req.ip);
    return reply.status(204).send();
  });
  app.get('/MyConsents', async (req, reply) => {
    requireScope(req, [ADMIN_SCOPES.me]);
    reply.type('application/scim+json');
    return list(req.tessera.issuer, await s.repos.consents.listForUser(req.tessera.domain.id, selfId(req.adminCaller!.token)));
  });
  app.delete('/MyConsents/:clientId', async (req, reply) => {
    requireScope(req, [ADMIN_SCOPES.me]);
    const userId = selfId(req.adminCaller!.token);
    await revoke(req.tessera.domain.id, userId, (req.params as { clientId: string }).clientId, { type: 'user', id: userId }, req.ip);
    return reply.status(204).send();
  });
}
