/**
 * PUT ISSUER/admin/v1/UserLockedStateChanger/{id} (Oracle identity domains' action of that name): an
 * administrator unlocks an account that failed sign-ins (or wrong current passwords, or wrong codes) locked.
 * Only unlocking: accounts are locked by the throttle alone. The lock of a source address stays (one good
 * account must not free a spraying source, identity/throttle.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../http/services.js';
import { ScimError } from '../scim/errors.js';
import { requireScope } from './auth.js';
import { assertMayManageUser } from './guard.js';
import { PERMISSIONS } from './permissions.js';
import { iso } from './resource.js';
import { actionBody } from './self.js';

export const USER_LOCKED_STATE_CHANGER_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:UserLockedStateChanger';

export function userLockedStateChangerRoutes(app: FastifyInstance, s: Services): void {
  app.put('/UserLockedStateChanger/:id', async (req, reply) => {
    requireScope(req, PERMISSIONS.UserLockedStateChanger.write);
    const b = actionBody(req.body, USER_LOCKED_STATE_CHANGER_SCHEMA, ['locked']);
    const locked = b.get('locked');
    const on = locked && typeof locked === 'object' && !Array.isArray(locked) ? (locked as Record<string, unknown>).on : undefined;
    if (on !== false || Object.keys(locked as object).some((k) => k !== 'on')) {
      throw new ScimError(400, 'invalidValue', 'locked must be {"on": false}: accounts are locked by failed sign-ins only');
    }
    const c = req.tessera;
    const id = (req.params as { id: string }).id;
    // Only users of this domain: another domain's id is as unknown here as a made-up one.
    const user = id.length <= 128 ? await s.repos.users.get(c.domain.id, id) : undefined;
    if (!user) throw new ScimError(404, undefined, 'no such user');
    // Unlocking lets password guessing resume: only for callers who hold what the user holds.
    const caller = req.adminCaller!;
    await assertMayManageUser(s, c, caller, user.id);
    await s.throttle.unlock(c.domain.id, user.id);
    s.events.emit({
      eventId: 'user.unlocked', outcome: 'success', domainId: c.domain.id, actorType: caller.actorType, actorId: caller.actorId, clientIp: req.ip,
      targetType: 'User', targetId: user.id,
    });
    return reply.status(200).type('application/scim+json').send({
      schemas: [USER_LOCKED_STATE_CHANGER_SCHEMA], id: user.id, locked: { on: false },
      meta: { resourceType: 'UserLockedStateChanger', lastModified: iso(s.clock.now()), location: `${c.endpoints.admin}/UserLockedStateChanger/${user.id}` },
    });
  });
}
