/**
 * Self-service: ISSUER/admin/v1/Me (the caller's own User) and ISSUER/admin/v1/MePasswordChanger
 * (Oracle identity domains). The caller is a signed-in user, through an app that holds the built-in
 * "Me" role; the user needs no administrator role, and reaches no one but themselves.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../http/services.js';
import type { SecurityEventId } from '../events/emitter.js';
import { ADMIN_SCOPES } from '../identity/builtins.js';
import { PasswordPolicyViolation } from '../identity/passwords.js';
import { ScimError } from '../scim/errors.js';
import { applyPatch } from '../scim/patch.js';
import { projectResource } from '../scim/project.js';
import { UserSchema } from '../scim/resources.js';
import { validateResource } from '../scim/validate.js';
import { StaleVersion, type UserRecord } from '../storage/ports.js';
import { AdminAuthError, requireScope } from './auth.js';
import { checkIfMatch, iso, etag, projection, storeError, type Scim } from './resource.js';
import { UsersResource, type UserView } from './users.js';

export const ME_PASSWORD_CHANGER_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:MePasswordChanger';

/**
 * Attributes a user may not change about themselves: who they sign in as (userName, and the
 * provisioning system's externalId), whether they may sign in (active), what they belong to
 * (groups, RFC 7643 §4.1.2 read-only anyway) and the password (MePasswordChanger, which asks for
 * the current one). Lower-cased: RFC 7643 §2.1 attribute names are case-insensitive.
 */
const SELF_LOCKED = ['username', 'externalid', 'active', 'groups', 'password'] as const;

const isObject = (v: unknown): v is Scim => typeof v === 'object' && v !== null && !Array.isArray(v);
const keyOf = (o: Scim, lower: string): string | undefined => Object.keys(o).find((k) => k.toLowerCase() === lower);
const groupIds = (v: unknown): string => (Array.isArray(v) ? v.map((g) => (isObject(g) ? String(g.value) : '')).sort().join('\n') : '');

function mutability(attr: string): ScimError {
  return new ScimError(400, 'mutability', `${attr} cannot be changed through Me`);
}

/**
 * 400 mutability when `doc` changes a self-locked attribute of `current`. For PUT an omitted
 * attribute keeps its value (the user cannot set it, so need not repeat it); for PATCH `doc` is
 * the whole patched resource, so a missing one was removed.
 */
function refuseLockedChanges(doc: Scim, current: Scim, mode: 'put' | 'patch'): void {
  for (const lower of SELF_LOCKED) {
    const ck = keyOf(current, lower);
    const cur = ck === undefined ? undefined : current[ck];
    // Every spelling counts (RFC 7643 §2.1): `ExternalID` beside `externalId` must not slip through.
    const given = Object.keys(doc).filter((k) => k.toLowerCase() === lower);
    if (given.length === 0) {
      if (mode === 'patch' && cur !== undefined && lower !== 'password') throw mutability(ck!);
      continue;
    }
    for (const k of given) {
      const v = doc[k] ?? undefined;
      // The password is never returned (RFC 7643 §4.1.1), so any value is a change.
      const same = lower === 'password' ? v === undefined : lower === 'groups' ? groupIds(v) === groupIds(cur) : v === cur;
      if (!same) throw mutability(ck ?? k);
    }
  }
}

export function meRoutes(app: FastifyInstance, s: Services): void {
  const users = new UsersResource(s);
  // Wrong current passwords count against the account exactly as failed sign-ins do (RFC 6819
  // §4.4.3.6): a stolen access token must not become an unthrottled password oracle.
  const throttle = s.throttle;

  /** The signed-in user behind the token, who must still exist and be active. */
  const me = async (req: FastifyRequest): Promise<UserView> => {
    requireScope(req, [ADMIN_SCOPES.me]);
    const c = req.tessera;
    const t = req.adminCaller!.token;
    // A client's own token (client_credentials) with the Me scope has no user to act as.
    if (t.subType !== 'user' || !t.userId) {
      throw new AdminAuthError(403, `Bearer realm="${c.issuer}", error="insufficient_scope", scope="${ADMIN_SCOPES.me}"`,
        'Me needs an access token issued for a signed-in user');
    }
    const u = await users.get(c, t.userId);
    // The validator refuses tokens of inactive users; a user deactivated or deleted since is refused the same way.
    if (!u || !u.active) throw new AdminAuthError(401, `Bearer realm="${c.issuer}", error="invalid_token"`, 'the access token is invalid, expired, revoked or not meant for this API');
    return u;
  };

  const audit = (req: FastifyRequest, eventId: SecurityEventId, userId: string, targetType: string) => {
    const caller = req.adminCaller!;
    s.events.emit({
      eventId, outcome: 'success', domainId: req.tessera.domain.id, actorType: caller.actorType, actorId: caller.actorId,
      clientIp: req.ip, targetType, targetId: userId,
    });
  };

  const send = (req: FastifyRequest, reply: FastifyReply, u: UserView): Scim => {
    void reply.status(200).header('etag', etag(u.version)).type('application/scim+json');
    const p = projection(req);
    return projectResource(users.render(req.tessera, u), UserSchema, p.attributes, p.excluded);
  };

  app.get('/Me', async (req, reply) => {
    const u = await me(req);
    // RFC 7232 §3.2 via RFC 7644 §3.14, as /Users/{id} does.
    const inm = req.headers['if-none-match'];
    if (inm !== undefined && String(inm).split(',').map((t) => t.trim().replace(/^W\//, '')).some((t) => t === '*' || t === `"${u.version}"`)) {
      return reply.status(304).header('etag', etag(u.version)).send();
    }
    return send(req, reply, u);
  });

  const write = async (req: FastifyRequest, reply: FastifyReply, mode: 'put' | 'patch') => {
    const c = req.tessera;
    const existing = await me(req);
    checkIfMatch(req, existing.version);
    const current = users.render(c, existing);
    let doc: Scim;
    if (mode === 'put') {
      if (!isObject(req.body)) throw new ScimError(400, 'invalidSyntax', 'the request body must be a JSON object');
      doc = req.body;
    } else {
      doc = applyPatch(current, req.body, UserSchema);
    }
    refuseLockedChanges(doc, current, mode);
    // The locked attributes are the stored ones whatever the body said (an omitted userName is not a removal).
    const body: Scim = {};
    for (const [k, v] of Object.entries(doc)) if (!SELF_LOCKED.includes(k.toLowerCase() as never)) body[k] = v;
    body.userName = existing.userName;
    const validated = validateResource(body, UserSchema, 'replace', current);
    validated.active = existing.active;
    if (existing.externalId !== undefined) validated.externalId = existing.externalId;
    const saved: UserView = await users.replaceOwn(c, existing, validated).catch((e: unknown) => storeError(e, req.headers['if-match'] !== undefined));
    audit(req, mode === 'put' ? 'admin.replaced' : 'admin.patched', saved.id, 'Me');
    return send(req, reply, saved);
  };
  app.put('/Me', async (req, reply) => write(req, reply, 'put'));
  app.patch('/Me', async (req, reply) => write(req, reply, 'patch'));

  app.put('/MePasswordChanger', async (req, reply) => {
    const c = req.tessera;
    const u = await me(req);
    const { oldPassword, password } = passwordChange(req.body);
    const user: UserRecord = { ...u };
    delete (user as Partial<UserView>).groups;
    // Same answer for a locked account as for a wrong password: the lock must not confirm a guess.
    // Claimed before it runs (throttle.claim), so parallel guesses cannot all pass one "not locked" read.
    const ok = (await throttle.claim(c.domain.id, u.id, req.ip)) && (await s.users.verifyPassword(user, oldPassword));
    if (!ok) {
      await throttle.claimFailed(c.domain.id, u.id, req.ip);
      s.events.emit({
        eventId: 'user.password.changed', outcome: 'failure', domainId: c.domain.id, actorType: 'user', actorId: u.id, clientIp: req.ip,
        targetType: 'User', targetId: u.id, message: 'the current password was not confirmed',
      });
      throw new ScimError(400, 'invalidValue', 'oldPassword is not correct');
    }
    // The old password was right: the claim is given back even if the new one is refused below.
    await throttle.release(c.domain.id, u.id, req.ip);
    await throttle.success(c.domain.id, u.id);
    let saved: UserRecord;
    try {
      // The domain's password policy (length, common passwords, history, not the userName) applies as for any new password.
      saved = await s.users.update(c.domain, user, {
        userName: user.userName, active: user.active, attributes: user.attributes, password,
        ...(user.externalId !== undefined ? { externalId: user.externalId } : {}),
      });
    } catch (e) {
      if (e instanceof PasswordPolicyViolation) throw new ScimError(400, 'invalidValue', `password does not meet the password policy (${e.rule}): ${e.message}`);
      if (e instanceof StaleVersion) throw new ScimError(409, undefined, 'the user was modified concurrently; retry');
      throw e;
    }
    // RFC 9700 §4.14.2: UserService.update revoked the refresh tokens and ended the SSO sessions (the
    // password_changed hooks), so whoever knew the old password loses the access it obtained.
    // (Self-contained access tokens, this request's included, expire on their own.)
    audit(req, 'user.password.changed', u.id, 'User');
    void reply.status(200).type('application/scim+json');
    return {
      schemas: [ME_PASSWORD_CHANGER_SCHEMA],
      meta: { resourceType: 'MePasswordChanger', created: iso(saved.updatedAt), lastModified: iso(saved.updatedAt), location: `${c.endpoints.admin}/MePasswordChanger` },
    };
  });
}

/** The MePasswordChanger request: its schema, the current password and the new one; nothing else. */
function passwordChange(body: unknown): { oldPassword: string; password: string } {
  if (!isObject(body)) throw new ScimError(400, 'invalidSyntax', 'the request body must be a JSON object');
  const schemas = body.schemas;
  if (!Array.isArray(schemas) || !schemas.some((x) => typeof x === 'string' && x.toLowerCase() === ME_PASSWORD_CHANGER_SCHEMA.toLowerCase())) {
    throw new ScimError(400, 'invalidSyntax', `schemas must be ["${ME_PASSWORD_CHANGER_SCHEMA}"]`);
  }
  let oldPassword: unknown;
  let password: unknown;
  const seen = new Set<string>();
  for (const [k, v] of Object.entries(body)) {
    const lk = k.toLowerCase();
    // RFC 7643 §2.1: `password` and `Password` are one attribute given twice: which is meant is ambiguous.
    if (seen.has(lk)) throw new ScimError(400, 'invalidSyntax', `attribute "${k.slice(0, 64)}" is given twice`);
    seen.add(lk);
    if (lk === 'schemas') continue;
    else if (lk === 'oldpassword') oldPassword = v;
    else if (lk === 'password') password = v;
    else throw new ScimError(400, 'invalidValue', `unknown attribute "${k.slice(0, 64)}" for ${ME_PASSWORD_CHANGER_SCHEMA}`);
  }
  if (typeof oldPassword !== 'string' || oldPassword === '') throw new ScimError(400, 'invalidValue', 'oldPassword is required');
  if (typeof password !== 'string' || password === '') throw new ScimError(400, 'invalidValue', 'password is required');
  return { oldPassword, password };
}
