import type { AppRoleRecord } from '../core/types.js';
import type { Repositories } from '../storage/ports.js';
import { IDENTITY_DOMAIN_ADMINISTRATOR } from './builtins.js';
import { MAX_GROUP_DEPTH } from './user_roles.js';

type AdminRepos = Pick<Repositories, 'appRoles' | 'grants' | 'apps' | 'users' | 'groups'>;

/** The domain's built-in Identity Domain Administrator role (undefined before the built-ins exist). */
export async function administratorRole(repos: Pick<Repositories, 'appRoles'>, domainId: string): Promise<AppRoleRecord | undefined> {
  return (await repos.appRoles.list(domainId)).find((r) => r.isBuiltIn && r.displayName === IDENTITY_DOMAIN_ADMINISTRATOR);
}

/**
 * Whether anyone can administer the domain: an active client, or an active user, that holds the
 * built-in Identity Domain Administrator role through a grant (a user directly or through groups,
 * nested as far as user_roles.ts follows them). Used at start to tell a new user how to make one.
 */
export function hasAdministrator(repos: AdminRepos, domainId: string): Promise<boolean> {
  return administrators(repos, domainId, true);
}

/**
 * Whether a person can administer the domain: an active user holding the role, directly or through
 * (nested) groups. Clients do not count: the console and the welcome page need someone to sign in.
 */
export function hasAdministratorUser(repos: AdminRepos, domainId: string): Promise<boolean> {
  return administrators(repos, domainId, false);
}

async function administrators(repos: AdminRepos, domainId: string, countClients: boolean): Promise<boolean> {
  const role = await administratorRole(repos, domainId);
  if (!role) return false;
  const grants = (await repos.grants.list(domainId)).filter((g) => g.appRoleId === role.id);
  const of = (type: string) => grants.filter((g) => g.granteeType === type).map((g) => g.granteeId);
  // The built-in console client holds the role too, but it is a public client acting only for a signed-in user.
  if (countClients) {
    for (const appId of of('App')) {
      const a = await repos.apps.get(domainId, appId);
      if (a?.active && !a.isBuiltIn) return true;
    }
  }
  const anyActiveUser = async (ids: string[]) => ids.length > 0 && (await repos.users.getMany(domainId, ids)).some((u) => u.active);
  if (await anyActiveUser(of('User'))) return true;
  const seen = new Set<string>();
  let frontier = of('Group');
  for (let depth = 0; frontier.length > 0 && depth < MAX_GROUP_DEPTH; depth++) {
    frontier = [...new Set(frontier)].filter((g) => !seen.has(g));
    frontier.forEach((g) => seen.add(g));
    const members = [...(await repos.groups.members(domainId, frontier)).values()].flat();
    if (await anyActiveUser(members.filter((m) => m.type === 'User').map((m) => m.id))) return true;
    frontier = members.filter((m) => m.type === 'Group').map((m) => m.id);
  }
  return false;
}
