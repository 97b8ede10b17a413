import type { DomainRecord } from '../core/types.js';
import type { Repositories } from '../storage/ports.js';
import type { ValidAccessToken } from '../tokens/validator.js';
import type { Catalogs } from './catalog.js';
import { needsUserRoles, stillGranted } from './scopes.js';
import { userRoleIds } from './user_roles.js';

export interface CurrentScopeDeps {
  catalogs: Catalogs;
  repos: Pick<Repositories, 'grants' | 'groups'>;
}

/**
 * What a valid access token allows now: its scopes, narrowed to those its client (and, for a user's
 * token, its user) could still obtain. A role or grant removed, or a resource server disabled, after
 * issuance takes effect at once for whoever asks here (the admin API, the Authenticate API, client
 * registration, introspection), not when the token expires.
 */
export async function currentScopes(d: CurrentScopeDeps, domain: DomainRecord, token: ValidAccessToken): Promise<string[]> {
  const scopes = token.scope.split(' ').filter(Boolean);
  if (scopes.length === 0) return scopes;
  const [cat, client] = await Promise.all([d.catalogs.catalog(domain), d.catalogs.client(domain.id, token.clientId)]);
  if (!client) return [];
  if (token.subType !== 'user') return stillGranted(cat, client, undefined, scopes);
  const roles = needsUserRoles(cat, scopes) ? await userRoleIds(d.repos, domain.id, token.userId ?? token.sub) : new Set<string>();
  return stillGranted(cat, client, roles, scopes);
}
