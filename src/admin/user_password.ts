/**
 * PUT ISSUER/admin/v1/UserPasswordChanger/{id} (Oracle identity domains' action of that name): an
 * administrator sets a user's password (a help-desk reset: no old password). Allowed with the users
 * scope or urn:opc:idm:t.user.resetpassword alone (the Help Desk Administrator). The domain's password
 * policy applies (400 invalidValue naming the rule); as for any password change, the user's refresh
 * tokens and SSO sessions end (UserService.update). Only for callers who hold what the user holds:
 * resetting an administrator's password is signing in as them.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../http/services.js';
import { PasswordPolicyViolation } from '../identity/passwords.js';
import { ScimError } from '../scim/errors.js';
import { StaleVersion } from '../storage/ports.js';
import { requireScope } from './auth.js';
import { assertMayManageUser } from './guard.js';
import { PERMISSIONS } from './permissions.js';
import { iso } from './resource.js';
import { actionBody } from './self.js';

export const USER_PASSWORD_CHANGER_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:UserPasswordChanger';
/** Longer than any policy allows; refused before hashing so a huge body costs nothing. */
const MAX_PASSWORD = 1024;

export function userPasswordChangerRoutes(app: FastifyInstance, s: Services): void {
  app.put('/UserPasswordChanger/:id', async (req, reply) => {
    requireScope(req, PERMISSIONS.UserPasswordChanger.write);
    const b = actionBody(req.body, USER_PASSWORD_CHANGER_SCHEMA, ['password']);
    const password = b.get('password');
    if (typeof password !== 'string' || password.length === 0) throw new ScimError(400, 'invalidValue', 'password is required');
    if (password.length > MAX_PASSWORD) throw new ScimError(400, 'invalidValue', `password is longer than ${MAX_PASSWORD} characters`);
    const c = req.tessera;
    const id = (req.params as { id: string }).id;
    // Only users of this domain: another domain's id is as unknown here as a made-up one.
    const user = id.length <= 128 ? await s.repos.users.get(c.domain.id, id) : undefined;
    if (!user) throw new ScimError(404, undefined, 'no such user');
    const caller = req.adminCaller!;
    await assertMayManageUser(s, c, caller, user.id);
    let saved;
    try {
      saved = await s.users.update(c.domain, user, {
        userName: user.userName, active: user.active, attributes: user.attributes, password,
        ...(user.externalId !== undefined ? { externalId: user.externalId } : {}),
      });
    } catch (e) {
      if (e instanceof PasswordPolicyViolation) throw new ScimError(400, 'invalidValue', `password does not meet the password policy (${e.rule}): ${e.message}`);
      if (e instanceof StaleVersion) throw new ScimError(409, undefined, 'the user was modified concurrently; retry');
      throw e;
    }
    s.events.emit({
      eventId: 'user.password.changed', outcome: 'success', domainId: c.domain.id, actorType: caller.actorType, actorId: caller.actorId, clientIp: req.ip,
      targetType: 'User', targetId: user.id, details: { reset: true },
    });
    return reply.status(200).type('application/scim+json').send({
      schemas: [USER_PASSWORD_CHANGER_SCHEMA], id: user.id,
      meta: { resourceType: 'UserPasswordChanger', lastModified: iso(saved.updatedAt), location: `${c.endpoints.admin}/UserPasswordChanger/${user.id}` },
    });
  });
}
