import { InvalidScope } from '../core/errors.js';
import type { AppRecord } from '../core/types.js';
import { ADMIN_SCOPES, EXPIRY_SCOPE_PREFIX, isBuiltinClient, MY_SCOPES, ROLE_SCOPE_PREFIX, SELF_SERVICE_SCOPES } from './builtins.js';
import type { DomainCatalog, ResourceServerInfo } from './catalog.js';

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const MAX_SCOPES = 200;

/**
 * Split a scope parameter. Space is the RFC 6749 delimiter; Axway also accepts `,` and `+`
 * (a literal `+` reaches us only when the client percent-encoded it).
 */
export function splitScope(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const parts = raw.split(/[ ,+]+/).filter(Boolean);
  if (parts.length > MAX_SCOPES) throw new InvalidScope(`too many scopes (at most ${MAX_SCOPES})`);
  for (const p of parts) if (!SCOPE_TOKEN.test(p) || p.length > 512) throw new InvalidScope('scope contains invalid characters');
  return [...new Set(parts)];
}

export interface ResolvedScopes {
  scopes: string[];
  resourceServers: ResourceServerInfo[];
  /** Requested shorter lifetime (urn:opc:resource:expiry=N), seconds. */
  expiry?: number;
}

/**
 * The console and account page are not sign-in pages: they hold no Signin role, and the Authenticate API's
 * scope, which the Identity Domain Administrator role carries too, never reaches their tokens (a console
 * token of an administrator would otherwise drive custom sign-in flows for any app).
 */
function notForBuiltinClient(client: AppRecord, scope: string): boolean {
  return scope === ADMIN_SCOPES.signin && isBuiltinClient(client);
}

/** Roles held by a client app: its grants in the catalog. */
export function clientRoleIds(cat: DomainCatalog, client: AppRecord): Set<string> {
  return cat.appRoleGrants.get(client.id) ?? new Set();
}

/** Every scope carried by the given roles. */
export function roleScopes(cat: DomainCatalog, roleIds: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const id of roleIds) for (const s of cat.rolesById.get(id)?.scopes ?? []) out.add(s);
  return out;
}

/**
 * Resolve the scopes a client asked for into the scopes it gets (client-only flows):
 * - `urn:opc:idm:__myscopes__` = every scope of the client's app roles;
 * - `urn:opc:idm:role.NAME` = that role's scopes, if the client holds the role;
 * - a plain scope must be defined by an active resource server and allowed to the client
 *   (its `allowedScopes` or one of its app roles);
 * - nothing requested = the client's default scopes, else `invalid_scope`.
 */
export function resolveClientScopes(cat: DomainCatalog, client: AppRecord, requested: string[]): ResolvedScopes {
  return resolveScopes(cat, client, requested, undefined);
}

/**
 * The same for a flow with a user (Oracle Scopes.htm): `__myscopes__` and `role.NAME` yield only
 * roles that both the client and the user hold. A role held by one side only is dropped, not an
 * error (client Role1-3 and user Role1, Role2, Role4 asking for Role1 and Role3 get Role1 only).
 * A plain scope of the identity domain API also needs the user to hold it, so a client allowed
 * admin scopes cannot make any signed-in user an administrator.
 */
export function resolveUserScopes(cat: DomainCatalog, client: AppRecord, userRoleIds: ReadonlySet<string>, requested: string[]): ResolvedScopes {
  return resolveScopes(cat, client, requested, userRoleIds);
}

function resolveScopes(cat: DomainCatalog, client: AppRecord, requested: string[], userRoles: ReadonlySet<string> | undefined): ResolvedScopes {
  let expiry: number | undefined;
  let wanted: string[] = [];
  for (const s of requested) {
    if (s.startsWith(EXPIRY_SCOPE_PREFIX)) {
      const v = s.slice(EXPIRY_SCOPE_PREFIX.length);
      if (!/^[1-9]\d{0,8}$/.test(v)) throw new InvalidScope(`${EXPIRY_SCOPE_PREFIX}N needs a positive number of seconds`);
      expiry = Math.min(expiry ?? Infinity, Number(v));
    } else wanted.push(s);
  }
  if (wanted.length === 0) wanted = [...client.defaultScopes];
  if (wanted.length === 0) throw new InvalidScope('no scope requested and the client has no default scopes');

  const clientRoles = clientRoleIds(cat, client);
  // The roles that count for role expansion: the client's, or in a user flow the client's and the user's.
  const held = userRoles ? new Set([...clientRoles].filter((r) => userRoles.has(r))) : clientRoles;
  const allowed = new Set([...client.allowedScopes, ...roleScopes(cat, clientRoles)]);
  const userHas = userRoles ? roleScopes(cat, userRoles) : undefined;
  const out = new Set<string>();
  for (const s of wanted) {
    if (s === MY_SCOPES) {
      for (const x of roleScopes(cat, held)) out.add(x);
      continue;
    }
    if (s.startsWith(ROLE_SCOPE_PREFIX)) {
      let name: string;
      try { name = decodeURIComponent(s.slice(ROLE_SCOPE_PREFIX.length)); } catch { throw new InvalidScope('malformed role scope'); }
      const role = cat.rolesByName.get(name.toLowerCase());
      if (!role || !held.has(role.id)) {
        if (userRoles && role && clientRoles.has(role.id)) continue; // held by the client only: dropped in a user flow
        throw new InvalidScope(`the client does not hold the role "${name}"`);
      }
      for (const x of role.scopes) out.add(x);
      continue;
    }
    if (!cat.scopes.has(s)) throw new InvalidScope(`unknown scope: ${s}`);
    if (!allowed.has(s)) throw new InvalidScope(`the client may not request scope ${s}`);
    if (userHas && cat.scopes.get(s)!.builtIn && !SELF_SERVICE_SCOPES.has(s) && !userHas.has(s)) throw new InvalidScope(`the user may not have scope ${s}`);
    out.add(s);
  }
  // Role scopes whose resource server was disabled or removed grant nothing; nor the Signin scope a built-in
  // browser app would get through the Identity Domain Administrator role (notForBuiltinClient).
  const scopes = [...out].filter((s) => cat.scopes.has(s) && !notForBuiltinClient(client, s));
  if (scopes.length === 0) throw new InvalidScope('the request yields no scope the client may have');
  const rs = new Map<string, ResourceServerInfo>();
  for (const s of scopes) { const info = cat.scopes.get(s)!; rs.set(info.appId, info); }
  return { scopes, resourceServers: [...rs.values()], expiry };
}

/**
 * OpenID Connect scopes (OIDC Core §5.4, §11) and the seeds' `groups` / `approles`: they ask for
 * claims about the user, not for access to a resource server, so any client may request them in a
 * user flow and they are never resolved against the catalog.
 */
export const OIDC_SCOPES: ReadonlySet<string> = new Set([
  'openid', 'profile', 'email', 'phone', 'address', 'offline_access', 'groups', 'approles', 'get_groups', 'get_approles',
]);

/**
 * Scopes for a flow with a user: the OIDC scopes pass through, the rest resolve as in
 * {@link resolveUserScopes}. A request for OIDC scopes only yields no resource server (the access
 * token is then for the userinfo endpoint alone).
 */
export function resolveUserFlowScopes(cat: DomainCatalog, client: AppRecord, userRoleIds: ReadonlySet<string>, requested: string[]): ResolvedScopes {
  const oidc = requested.filter((s) => OIDC_SCOPES.has(s));
  const rest = requested.filter((s) => !OIDC_SCOPES.has(s));
  const onlyExpiry = rest.every((s) => s.startsWith(EXPIRY_SCOPE_PREFIX));
  if (oidc.length > 0 && onlyExpiry) {
    // Only an expiry beside the OIDC scopes: parse it through the common path for its checks.
    let expiry: number | undefined;
    for (const s of rest) {
      const v = s.slice(EXPIRY_SCOPE_PREFIX.length);
      if (!/^[1-9]\d{0,8}$/.test(v)) throw new InvalidScope(`${EXPIRY_SCOPE_PREFIX}N needs a positive number of seconds`);
      expiry = Math.min(expiry ?? Infinity, Number(v));
    }
    return { scopes: oidc, resourceServers: [], expiry };
  }
  const r = resolveUserScopes(cat, client, userRoleIds, rest);
  return { ...r, scopes: [...oidc, ...r.scopes] };
}

/** Does checking these scopes for a user need the user's roles (an identity domain API scope other than self-service)? */
export function needsUserRoles(cat: DomainCatalog, scopes: readonly string[]): boolean {
  return scopes.some((s) => cat.scopes.get(s)?.builtIn === true && !SELF_SERVICE_SCOPES.has(s));
}

/**
 * The scopes of an issued token that its holder could still obtain now, with the roles, grants and
 * resource servers as they are and not as they were at issuance: the rule for a plain scope request
 * in resolveScopes. A scope must be defined by an active resource server and allowed to the client
 * (its allowedScopes or a role it holds); an identity domain API scope in a user flow must also be held
 * by the user (`userRoles`; undefined for a client's own token). OIDC scopes pass through.
 */
export function stillGranted(cat: DomainCatalog, client: AppRecord, userRoles: ReadonlySet<string> | undefined, scopes: readonly string[]): string[] {
  const allowed = new Set([...client.allowedScopes, ...roleScopes(cat, clientRoleIds(cat, client))]);
  const userHas = userRoles ? roleScopes(cat, userRoles) : undefined;
  return scopes.filter((s) => {
    if (OIDC_SCOPES.has(s)) return true;
    const info = cat.scopes.get(s);
    if (!info || !allowed.has(s) || notForBuiltinClient(client, s)) return false;
    return !userHas || !info.builtIn || SELF_SERVICE_SCOPES.has(s) || userHas.has(s);
  });
}
