/**
 * What the assertion grants share (RFC 7521 §4: JWT bearer and SAML 2.0 bearer): finding the user an
 * assertion names, capping its scopes by the trusted issuer, and using an assertion id once.
 */
import { InvalidGrant, InvalidScope, UnauthorizedClient } from '../core/errors.js';
import type { AppRecord, SubjectAttribute, TrustedIssuerRecord } from '../core/types.js';
import type { DomainCatalog } from '../identity/catalog.js';
import { resolveUserFlowScopes, type ResolvedScopes } from '../identity/scopes.js';
import type { Repositories, UserRecord } from '../storage/ports.js';

/** One answer for every subject that does not lead to exactly one active user: no oracle for which users exist. */
export const unknownSubject = (): InvalidGrant => new InvalidGrant('the assertion does not name an active user of this identity domain');

/** The user an assertion's subject names through the issuer's subjectAttribute: exactly one, active, or none. */
export async function assertedUser(repos: Pick<Repositories, 'users'>, domainId: string, attribute: SubjectAttribute, subject: string): Promise<UserRecord | undefined> {
  if (subject.length === 0 || subject.length > 1024 || subject.includes('\0')) return undefined;
  let found: UserRecord[];
  switch (attribute) {
    case 'id': { const u = await repos.users.get(domainId, subject); found = u ? [u] : []; break; }
    case 'userName': { const u = await repos.users.getByUserName(domainId, subject); found = u ? [u] : []; break; }
    case 'email': found = await repos.users.findBy(domainId, 'email', subject, 2); break;
    case 'externalId': found = await repos.users.findBy(domainId, 'externalId', subject, 2); break;
  }
  // Two users with one email address: the assertion is ambiguous, so it names no one.
  return found.length === 1 && found[0]!.active ? found[0] : undefined;
}

/** A trusted issuer's assertions may be presented only by the clients it lists (all of the domain's when it lists none). */
export function assertIssuerAllowsClient(t: TrustedIssuerRecord, client: AppRecord): void {
  if (t.allowedClients.length > 0 && !t.allowedClients.includes(client.clientId!)) {
    throw new UnauthorizedClient('this client may not present assertions from this issuer');
  }
}

/**
 * The scopes an assertion yields for a user: the request under the usual user-flow rules (roles both the
 * client and the user hold, `__myscopes__`, `role.NAME`), capped by the trusted issuer's allowedScopes.
 * Without a trusted issuer (a client's own assertion) there is no cap beyond the client's.
 */
export function assertionScopes(cat: DomainCatalog, client: AppRecord, userRoles: ReadonlySet<string>, cap: readonly string[] | undefined, requested: string[]): ResolvedScopes {
  const r = resolveUserFlowScopes(cat, client, userRoles, requested);
  if (!cap) return r;
  const scopes = r.scopes.filter((s) => cap.includes(s));
  if (scopes.length === 0) throw new InvalidScope('the trusted issuer allows none of the requested scopes');
  const servers = new Set(scopes.map((s) => cat.scopes.get(s)?.appId).filter((x): x is string => x !== undefined));
  return { ...r, scopes, resourceServers: r.resourceServers.filter((rs) => servers.has(rs.appId)) };
}

/**
 * A refresh of a grant that came from a trusted issuer's assertion: the issuer as it is now must still be active,
 * still list the client (allowedClients) and still allow every scope refreshed (allowedScopes), offline_access
 * above all; otherwise narrowing an issuer would leave every grant it already gave as wide as it was.
 */
export async function assertIssuerStillAllows(
  repos: Pick<Repositories, 'trustedIssuers'>, domainId: string, trustedIssuerId: string, client: AppRecord, familyScopes: readonly string[], requested: readonly string[],
): Promise<void> {
  const t = await repos.trustedIssuers.get(domainId, trustedIssuerId);
  if (t?.active !== true) throw new InvalidGrant('the trusted issuer behind this grant is no longer trusted');
  if (t.allowedClients.length > 0 && !t.allowedClients.includes(client.clientId!)) throw new InvalidGrant('the trusted issuer behind this grant no longer allows this client');
  if (familyScopes.includes('offline_access') && !t.allowedScopes.includes('offline_access')) throw new InvalidGrant('the trusted issuer behind this grant no longer allows offline_access');
  const dropped = requested.filter((s) => !t.allowedScopes.includes(s));
  if (dropped.length > 0) throw new InvalidScope(`the trusted issuer behind this grant no longer allows: ${dropped.join(' ').slice(0, 200)}`);
}

/** A refresh of a grant a client asserted for a user itself: only while an administrator still allows it user assertions. */
export function assertClientStillAssertsUsers(client: AppRecord): void {
  if (client.allowUserAssertions !== true) throw new InvalidGrant('this grant came from the client\'s own user assertion, and the client is no longer allowed user assertions (allowUserAssertions)');
}

/**
 * RFC 7523 §3 item 7 / RFC 7522 §3 item 8: an assertion id is used once until the assertion expires,
 * across nodes (the store decides). `namespace` keeps issuers apart (`jwt:<issuer id>`, `saml:<issuer id>`).
 */
export async function useAssertionOnce(repos: Pick<Repositories, 'assertionJtis'>, domainId: string, namespace: string, id: string, expiresAt: number, now: number): Promise<void> {
  if (id.length === 0 || id.length > 256 || id.includes('\0')) throw new InvalidGrant('the assertion has no usable id');
  if (!(await repos.assertionJtis.consume(domainId, namespace, id, expiresAt, now))) throw new InvalidGrant('the assertion was already used');
}
