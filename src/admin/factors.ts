import type { FastifyInstance } from 'fastify';
import type { Services } from '../http/services.js';
import { ScimError } from '../scim/errors.js';
import { requireScope } from './auth.js';
import { assertMayManageUser } from './guard.js';
import { PERMISSIONS } from './permissions.js';

export const AUTHENTICATION_FACTORS_REMOVER_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:AuthenticationFactorsRemover';
/** User ids are 32 hex characters; anything much longer is not one of ours and is not echoed into a lookup. */
const MAX_USER_ID = 256;

/**
 * ISSUER/admin/v1/AuthenticationFactorsRemover: Oracle's action endpoint that removes a user's enrolled
 * second factors (here TOTP and recovery codes), so a user who lost their device can enrol again.
 * An action, not a stored resource: POST only, answered with the request and what was done.
 */
export function authenticationFactorsRemoverRoutes(app: FastifyInstance, s: Services): void {
  app.post('/AuthenticationFactorsRemover', async (req, reply) => {
    requireScope(req, PERMISSIONS.AuthenticationFactorsRemover.write);
    const b = req.body;
    // RFC 7644 §3.12: a body that is not a JSON object, or without the message's schema, is invalidSyntax.
    if (!b || typeof b !== 'object' || Array.isArray(b)) throw new ScimError(400, 'invalidSyntax', 'a JSON object is required');
    const body = b as Record<string, unknown>;
    const schemas = body.schemas;
    if (!Array.isArray(schemas) || !schemas.some((x) => typeof x === 'string' && x.toLowerCase() === AUTHENTICATION_FACTORS_REMOVER_SCHEMA.toLowerCase())) {
      throw new ScimError(400, 'invalidSyntax', `"schemas" must include ${AUTHENTICATION_FACTORS_REMOVER_SCHEMA}`);
    }
    const user = body.user;
    const userId = user && typeof user === 'object' && !Array.isArray(user) ? (user as Record<string, unknown>).value : undefined;
    if (typeof userId !== 'string' || !userId || userId.length > MAX_USER_ID) {
      throw new ScimError(400, 'invalidValue', 'user.value must name the user whose factors are removed');
    }
    const domainId = req.tessera.domain.id;
    // Only users of this domain: another domain's id is as unknown here as a made-up one.
    if (!(await s.repos.users.get(domainId, userId))) throw new ScimError(404, undefined, 'no such user');
    // Removing an administrator's second factor is the first step to signing in as them.
    await assertMayManageUser(s, req.tessera, req.adminCaller!, userId);
    const removed = await s.totp.reset(domainId, userId);
    const caller = req.adminCaller!;
    s.events.emit({
      eventId: 'user.mfa.reset', outcome: 'success', domainId, actorType: caller.actorType, actorId: caller.actorId, clientIp: req.ip,
      targetType: 'User', targetId: userId, details: { removed },
    });
    return reply.status(201).type('application/scim+json').send({ ...body, removed });
  });
}
