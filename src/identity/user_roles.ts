import type { Repositories } from '../storage/ports.js';

/** How deep nested groups are followed; deeper nesting grants nothing more (and cycles end here). */
export const MAX_GROUP_DEPTH = 10;

type RoleRepos = Pick<Repositories, 'grants' | 'groups'>;

/** Adds the roles granted to `groups` and to every group they belong to, directly or through nesting. */
async function throughGroups(repos: RoleRepos, domainId: string, groups: string[], roles: Set<string>): Promise<Set<string>> {
  const seen = new Set<string>();
  let frontier = groups;
  for (let depth = 0; frontier.length > 0 && depth < MAX_GROUP_DEPTH; depth++) {
    frontier = [...new Set(frontier)].filter((g) => !seen.has(g));
    for (const g of frontier) {
      seen.add(g);
      for (const grant of await repos.grants.listForGrantee(domainId, 'Group', g)) roles.add(grant.appRoleId);
    }
    const parents = await repos.groups.groupsOf(domainId, 'Group', frontier);
    frontier = [...parents.values()].flat().map((m) => m.groupId);
  }
  return roles;
}

/**
 * The app roles a user holds: granted to the user, or to any group the user belongs to, directly
 * or through nested groups (grant mechanisms ADMINISTRATOR_TO_USER / ADMINISTRATOR_TO_GROUP).
 */
export async function userRoleIds(repos: RoleRepos, domainId: string, userId: string): Promise<Set<string>> {
  const roles = new Set((await repos.grants.listForGrantee(domainId, 'User', userId)).map((g) => g.appRoleId));
  const direct = ((await repos.groups.groupsOf(domainId, 'User', [userId])).get(userId) ?? []).map((m) => m.groupId);
  return throughGroups(repos, domainId, direct, roles);
}

/** The app roles every member of a group holds through it: granted to the group or to a group it is nested in. */
export function groupRoleIds(repos: RoleRepos, domainId: string, groupId: string): Promise<Set<string>> {
  return throughGroups(repos, domainId, [groupId], new Set());
}
