/**
 * Making an administrator user: the welcome page's first-run form, TESSERA_BOOTSTRAP_ADMIN_USERNAME and
 * `tessera user create --admin` all come here. No HTTP in here.
 */
import { createHash } from 'node:crypto';
import { newId } from '../core/ids.js';
import type { DomainRecord, GrantRecord } from '../core/types.js';
import type { SecurityEvents } from '../events/emitter.js';
import { Conflict, type Repositories, type UserRecord } from '../storage/ports.js';
import { administratorRole, hasAdministratorUser } from './administrators.js';
import { IDENTITY_DOMAIN_ADMINISTRATOR } from './builtins.js';
import { PasswordPolicyViolation } from './passwords.js';
import { prepareUserName, UserNameRefused } from './usernames.js';
import type { NewUser, UserService } from './users.js';

export interface AdministratorInput {
  /** Already prepared (RFC 8265, src/identity/usernames.ts): the stored form. */
  userName: string;
  password: string;
  email?: string;
}

/** The domain has an administrator user already (or one was made meanwhile): the first-run form makes no second one. */
export class AdministratorExists extends Error {
  constructor() { super('the identity domain already has an administrator user'); this.name = 'AdministratorExists'; }
}

export interface AdminDeps {
  repos: Pick<Repositories, 'appRoles' | 'grants' | 'apps' | 'users' | 'groups'>;
  users: Pick<UserService, 'create' | 'delete'>;
  clock: { now(): number };
}

/**
 * The first-run lock: grant ids a domain's first-run administrators take, in order. A grant id is the
 * table's primary key, so two processes (or nodes) that race for the same slot cannot both insert it.
 * They look like any other id (32 hex characters).
 */
const SLOTS = 32;
export const firstRunSlot = (domainId: string, k: number): string =>
  createHash('sha256').update(`tessera-first-run-administrator:${domainId}:${k}`).digest('hex').slice(0, 32);

const newUser = (id: string, a: AdministratorInput): NewUser => ({
  id, userName: a.userName, active: true, password: a.password,
  attributes: a.email ? { emails: [{ value: a.email, primary: true, type: 'work' }] } : {},
});

/**
 * Creates an active user holding the built-in Identity Domain Administrator role (grant mechanism
 * ADMINISTRATOR_TO_USER, as the Grants API makes it). Throws PasswordPolicyViolation or
 * Conflict('userName') from the user service, before anything is left behind.
 *
 * `exclusive` (the welcome page): only while the domain has no administrator user, and two racing
 * calls (in any processes sharing the store) make at most one. The user is made first, then the grant
 * takes the first free first-run slot, after a last look for an administrator user:
 * - two calls that pick the same slot: the primary key lets one in, the other gets Conflict;
 * - a call that finds slot k taken saw a grant that exists, so when its holder is an active user, the
 *   last look (made after reading the slots) sees that administrator and refuses.
 * Slots of administrators deactivated since stay taken and are skipped, so a domain whose only
 * administrator user is inactive can make another one. The loser's user is deleted again.
 *
 * Not exclusive (bootstrap, CLI): the grant is made first, for the id the user then gets, so a crash
 * in between leaves a grant to nobody rather than a user without the role.
 */
export async function createAdministrator(d: AdminDeps, domain: DomainRecord, a: AdministratorInput, o: { exclusive: boolean }): Promise<{ user: UserRecord; grant: GrantRecord }> {
  const role = await administratorRole(d.repos, domain.id);
  if (!role) throw new Error(`built-in role ${IDENTITY_DOMAIN_ADMINISTRATOR} is missing in domain ${domain.name}`);
  if (o.exclusive && await hasAdministratorUser(d.repos, domain.id)) throw new AdministratorExists();
  // A taken name is refused before any slot or grant is touched.
  if (await d.repos.users.getByUserName(domain.id, a.userName)) throw new Conflict('userName');
  const userId = newId();
  const grantFor = (id: string): GrantRecord => {
    const now = d.clock.now();
    return {
      id, domainId: domain.id, appId: role.appId, appRoleId: role.id, granteeType: 'User', granteeId: userId,
      mechanism: 'ADMINISTRATOR_TO_USER', version: 1, createdAt: now, updatedAt: now,
    };
  };
  if (!o.exclusive) {
    const grant = grantFor(newId());
    await d.repos.grants.create(grant);
    try {
      return { user: await d.users.create(domain, newUser(userId, a)), grant };
    } catch (e) {
      await d.repos.grants.delete(domain.id, grant.id);
      throw e;
    }
  }
  const user = await d.users.create(domain, newUser(userId, a));
  try {
    let k = 0;
    while (k < SLOTS && await d.repos.grants.get(domain.id, firstRunSlot(domain.id, k))) k++;
    if (k === SLOTS || await hasAdministratorUser(d.repos, domain.id)) throw new AdministratorExists();
    const grant = grantFor(firstRunSlot(domain.id, k));
    try {
      await d.repos.grants.create(grant);
    } catch (e) {
      if (e instanceof Conflict) throw new AdministratorExists();
      throw e;
    }
    return { user, grant };
  } catch (e) {
    await d.users.delete(domain, user);
    throw e;
  }
}

/** How an administrator came to be, for the audit trail. */
export type AdministratorSource = 'welcome_page' | 'bootstrap' | 'cli';

/** The two writes as the admin API records them (`admin.created` of the User and of the Grant). */
export function auditAdministrator(events: SecurityEvents, made: { user: UserRecord; grant: GrantRecord }, via: AdministratorSource, clientIp?: string): void {
  const base = { eventId: 'admin.created' as const, outcome: 'success' as const, domainId: made.user.domainId, ...(clientIp ? { clientIp } : {}) };
  const details = { via, userName: made.user.userName, role: IDENTITY_DOMAIN_ADMINISTRATOR };
  events.emit({ ...base, targetType: 'User', targetId: made.user.id, details });
  events.emit({ ...base, targetType: 'Grant', targetId: made.grant.id, details });
}

/**
 * TESSERA_BOOTSTRAP_ADMIN_USERNAME / _PASSWORD at start: creates the user as Identity Domain
 * Administrator when no user has that name. An existing user is left exactly as it is (password,
 * roles): otherwise whoever may create users could name one so and be made administrator at the next
 * start. Safe on several nodes: the loser of a race sees Conflict('userName') and its grant goes again.
 * A name or password the domain refuses stops start-up with a message naming the setting (never the password).
 */
export async function bootstrapAdministrator(
  d: AdminDeps & { events: SecurityEvents; log: { info(m: string): void; warn(m: string): void } }, domain: DomainRecord, rawUserName: string, password: string,
): Promise<'created' | 'exists'> {
  let userName: string;
  try {
    userName = prepareUserName(rawUserName).stored;
  } catch (e) {
    if (e instanceof UserNameRefused) throw new Error(`TESSERA_BOOTSTRAP_ADMIN_USERNAME: ${e.message}`, { cause: e });
    throw e;
  }
  const exists = () => {
    d.log.info(`bootstrap administrator ${userName} exists already; left as it is (its password and roles are not changed)`);
    return 'exists' as const;
  };
  if (await d.repos.users.getByUserName(domain.id, userName)) return exists();
  try {
    const made = await createAdministrator(d, domain, { userName, password }, { exclusive: false });
    auditAdministrator(d.events, made, 'bootstrap');
    d.log.info(`bootstrap administrator ${userName} created in the ${domain.name} identity domain with the ${IDENTITY_DOMAIN_ADMINISTRATOR} role`);
    return 'created';
  } catch (e) {
    if (e instanceof Conflict && e.what === 'userName') return exists();
    if (e instanceof PasswordPolicyViolation) throw new Error(`TESSERA_BOOTSTRAP_ADMIN_PASSWORD does not meet the password policy of the ${domain.name} identity domain (${e.rule}): ${e.message}`, { cause: e });
    throw e;
  }
}
