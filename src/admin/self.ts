/**
 * What the self-service (My...) endpoints share: the signed-in user behind the token, the current-password
 * check that guards sensitive changes, and the parsing of Oracle-style action bodies.
 */
import type { FastifyRequest } from 'fastify';
import type { SecurityEventId } from '../events/emitter.js';
import type { Services } from '../http/services.js';
import { ADMIN_SCOPES } from '../identity/builtins.js';
import { ScimError } from '../scim/errors.js';
import type { UserRecord } from '../storage/ports.js';
import { AdminAuthError, requireScope } from './auth.js';

/** Longest password accepted for a check (Argon2 work is bounded; the sign-in pages accept the same). */
const MAX_PASSWORD = 1024;

/**
 * The signed-in user the token was issued for, who must still exist and be active: the Me scope, a user
 * token (a client's own token has no user to act as: 403), and no one but that user is ever reached.
 */
export async function selfUser(s: Pick<Services, 'repos'>, req: FastifyRequest): Promise<UserRecord> {
  requireScope(req, [ADMIN_SCOPES.me]);
  const c = req.tessera;
  const t = req.adminCaller!.token;
  if (t.subType !== 'user' || !t.userId) {
    throw new AdminAuthError(403, `Bearer realm="${c.issuer}", error="insufficient_scope", scope="${ADMIN_SCOPES.me}"`,
      'this endpoint needs an access token issued for a signed-in user');
  }
  const u = await s.repos.users.get(c.domain.id, t.userId);
  if (!u || !u.active) throw new AdminAuthError(401, `Bearer realm="${c.issuer}", error="invalid_token"`, 'the access token is invalid, expired, revoked or not meant for this API');
  return u;
}

/**
 * Sensitive self-service changes (a new second factor, removing one, new bypass codes) ask for the current
 * password: a stolen access token alone must not let its holder take over or weaken the account. Wrong
 * passwords count against the account as failed sign-ins do (RFC 6819 §4.4.3.6), and a locked account gets
 * the same answer as a wrong password, so the check is no unthrottled oracle and the lock confirms no guess.
 */
export async function confirmPassword(s: Pick<Services, 'throttle' | 'users' | 'events'>, req: FastifyRequest, user: UserRecord, password: unknown, event: SecurityEventId): Promise<void> {
  if (typeof password !== 'string' || password === '') throw new ScimError(400, 'invalidValue', 'password (the current password) is required');
  const c = req.tessera;
  // The check is claimed before it runs (throttle.claim), so parallel guesses cannot all pass one "not locked" read.
  const ok = (await s.throttle.claim(c.domain.id, user.id, req.ip)) && password.length <= MAX_PASSWORD && (await s.users.verifyPassword(user, password));
  if (!ok) {
    await s.throttle.claimFailed(c.domain.id, user.id, req.ip);
    s.events.emit({
      eventId: event, outcome: 'failure', domainId: c.domain.id, actorType: 'user', actorId: user.id, clientIp: req.ip,
      targetType: 'User', targetId: user.id, message: 'the current password was not confirmed',
    });
    throw new ScimError(400, 'invalidValue', 'password is not correct');
  }
  await s.throttle.release(c.domain.id, user.id, req.ip);
  await s.throttle.success(c.domain.id, user.id);
}

/**
 * An action request (RFC 7644 §3.12 errors): a JSON object whose `schemas` names the action's schema, with
 * only the attributes the action knows (matched case-insensitively, RFC 7643 §2.1; one given twice is
 * ambiguous). Returns the attributes by their lower-cased names.
 */
export function actionBody(body: unknown, schema: string, known: readonly string[]): Map<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ScimError(400, 'invalidSyntax', 'the request body must be a JSON object');
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    const lk = k.toLowerCase();
    if (out.has(lk)) throw new ScimError(400, 'invalidSyntax', `attribute "${k.slice(0, 64)}" is given twice`);
    if (lk !== 'schemas' && !known.some((x) => x.toLowerCase() === lk)) throw new ScimError(400, 'invalidValue', `unknown attribute "${k.slice(0, 64)}" for ${schema}`);
    out.set(lk, v);
  }
  const schemas = out.get('schemas');
  if (!Array.isArray(schemas) || !schemas.some((x) => typeof x === 'string' && x.toLowerCase() === schema.toLowerCase())) {
    throw new ScimError(400, 'invalidSyntax', `schemas must be ["${schema}"]`);
  }
  return out;
}
