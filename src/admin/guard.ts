/**
 * The one question every admin write asks (shared/DESIGN.md): after this change, could any principal
 * hold an admin scope (a scope of the built-in identity domain API) that the caller does not hold?
 * Apps, roles, grants, users, groups, memberships, passwords, factors, status and deletion all go
 * through the checks here, against the caller's scopes as they are now (see currentScopes).
 *
 * Changing a principal that holds an admin scope is as good as holding it: a User Administrator who
 * could reset an Identity Domain Administrator's password, second factor or group membership could
 * sign in as one (or lock them out). So a caller may change only principals whose admin scopes it
 * holds itself, and give no one an admin scope it lacks.
 */
import type { AppRecord } from '../core/types.js';
import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';
import { SELF_SERVICE_SCOPES } from '../identity/builtins.js';
import type { DomainCatalog } from '../identity/catalog.js';
import { clientRoleIds, roleScopes } from '../identity/scopes.js';
import { groupRoleIds, userRoleIds } from '../identity/user_roles.js';
import { ScimError } from '../scim/errors.js';
import type { AdminCaller } from './auth.js';

/** Scopes of the built-in identity domain API in this domain. */
export const adminScopesOf = (cat: DomainCatalog): Set<string> => new Set([...cat.scopes].filter(([, rs]) => rs.builtIn).map(([k]) => k));

/** 403 (SCIM, audited by the admin error handler) unless the caller holds every admin scope among `scopes`. */
export function assertNoEscalation(
  caller: Pick<AdminCaller, 'scopes'> | undefined, adminScopes: ReadonlySet<string>, scopes: Iterable<string>,
  why = (sc: string) => `only a caller holding ${sc} may grant it`,
): void {
  for (const sc of scopes) {
    if (adminScopes.has(sc) && !caller?.scopes.has(sc)) throw new ScimError(403, undefined, why(sc));
  }
}

/**
 * A caller may change, re-key, disable or delete only an app whose admin scopes (allowed directly or
 * through its app roles) it holds itself: otherwise an Application Administrator could register its
 * own keys on an Identity Domain Administrator client (RFC 7523 §3: the registered keys are the
 * credential) or lock the administrators out by disabling or deleting their client.
 */
export function assertMayManage(caller: AdminCaller, cat: DomainCatalog, app: AppRecord): void {
  assertNoEscalation(caller, adminScopesOf(cat), [...app.allowedScopes, ...roleScopes(cat, clientRoleIds(cat, app))],
    (sc) => `only a caller holding ${sc} may change an app that holds it`);
}

/** Admin scopes that a principal's roles carry; self-service scopes (every user has them) do not count. */
function heldAdminScopes(cat: DomainCatalog, roles: ReadonlySet<string>): string[] {
  const admin = adminScopesOf(cat);
  return [...roleScopes(cat, roles)].filter((sc) => admin.has(sc) && !SELF_SERVICE_SCOPES.has(sc));
}

/**
 * Changing a user (attributes, userName, password, status, second factors, consents) or deleting
 * them needs every admin scope the user holds, directly or through groups and nested groups.
 */
export async function assertMayManageUser(s: Pick<Services, 'catalogs' | 'repos'>, c: DomainContext, caller: AdminCaller, userId: string): Promise<void> {
  const [cat, roles] = await Promise.all([s.catalogs.catalog(c.domain, { fresh: true }), userRoleIds(s.repos, c.domain.id, userId)]);
  assertNoEscalation(caller, adminScopesOf(cat), heldAdminScopes(cat, roles), (sc) => `only a caller holding ${sc} may change a user who holds it`);
}

/**
 * Changing a group (its members above all: a new member gains what the group holds) or deleting it
 * needs every admin scope the group gives its members, through its own grants and the groups it is
 * nested in.
 */
export async function assertMayManageGroup(s: Pick<Services, 'catalogs' | 'repos'>, c: DomainContext, caller: AdminCaller, groupId: string): Promise<void> {
  const [cat, roles] = await Promise.all([s.catalogs.catalog(c.domain, { fresh: true }), groupRoleIds(s.repos, c.domain.id, groupId)]);
  assertNoEscalation(caller, adminScopesOf(cat), heldAdminScopes(cat, roles), (sc) => `only a caller holding ${sc} may change a group that gives it`);
}
