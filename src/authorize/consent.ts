import { InvalidScope, OAuthError } from '../core/errors.js';
import type { AppRecord } from '../core/types.js';
import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';
import type { DomainCatalog } from '../identity/catalog.js';
import { resolveUserFlowScopes, type ResolvedScopes } from '../identity/scopes.js';
import { userRoleIds } from '../identity/user_roles.js';

/**
 * Consent: which scopes a signed-in user would grant a client, whether the user agreed to them
 * before, and recording the agreement. Shared by the authorization endpoint, the sign-in pages and
 * device verification.
 */

/** The scopes a user would grant, resolved once per request with the user's roles (passed on, never looked up twice). */
export interface GrantedScopes {
  cat: DomainCatalog;
  /** The user's app roles (direct, groups, nested groups). */
  roles: ReadonlySet<string>;
  resolved: ResolvedScopes;
}

/** Resolves `requested` for a user flow; an unusable request is `invalid_scope`. */
export async function grantedScopes(s: Pick<Services, 'catalogs' | 'repos'>, c: DomainContext, client: AppRecord, requested: string[], userId: string): Promise<GrantedScopes> {
  const [cat, roles] = await Promise.all([s.catalogs.catalog(c.domain), userRoleIds(s.repos, c.domain.id, userId)]);
  try {
    return { cat, roles, resolved: resolveUserFlowScopes(cat, client, roles, requested) };
  } catch (e) {
    if (e instanceof InvalidScope) throw new OAuthError('invalid_scope', e.description);
    throw e;
  }
}

/** Did the user consent to every one of these scopes for this client before? */
export async function consentCovers(s: Pick<Services, 'repos'>, c: DomainContext, userId: string, client: AppRecord, scopes: readonly string[]): Promise<boolean> {
  const prior = await s.repos.consents.get(c.domain.id, userId, client.clientId!);
  return prior !== undefined && scopes.every((x) => prior.scopes.includes(x));
}

/** Records the user's agreement (added to what they agreed to before) and audits it. */
export async function recordConsent(s: Pick<Services, 'repos' | 'clock' | 'events'>, c: DomainContext, userId: string, client: AppRecord, scopes: readonly string[], clientIp: string): Promise<void> {
  const prior = await s.repos.consents.get(c.domain.id, userId, client.clientId!);
  const now = s.clock.now();
  await s.repos.consents.upsert({
    domainId: c.domain.id, userId, clientId: client.clientId!, scopes: [...new Set([...(prior?.scopes ?? []), ...scopes])],
    createdAt: prior?.createdAt ?? now, updatedAt: now,
  });
  s.events.emit({ eventId: 'consent.granted', outcome: 'success', domainId: c.domain.id, actorType: 'user', actorId: userId, clientIp, details: { client_id: client.clientId, scope: scopes.join(' ') } });
}

const OIDC_DESCRIPTIONS: Record<string, string> = {
  openid: 'Sign you in with your account', profile: 'See your name and profile', email: 'See your email address', phone: 'See your phone number',
  address: 'See your postal address', offline_access: 'Stay signed in (access your data while you are away)', groups: 'See the groups you belong to',
  get_groups: 'See the groups you belong to', approles: 'See your application roles', get_approles: 'See your application roles',
};

/** The scopes as a consent page lists them: the resource server's description, or ours for the OIDC scopes. */
export function describeScopes(cat: DomainCatalog, scopes: readonly string[]): { value: string; description?: string }[] {
  return scopes.map((v) => ({ value: v, description: cat.scopeDescriptions.get(v) ?? OIDC_DESCRIPTIONS[v] }));
}
