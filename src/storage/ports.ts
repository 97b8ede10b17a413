import type { SqlColumn, SqlColumnMap, SqlOrder, SqlWhere } from '../scim/sql.js';
import { userNameKey } from '../identity/usernames.js';
import type {
  AppRecord, AppRoleRecord, AuditEventRecord, DomainRecord, GrantRecord, SigningKeyRecord, TokenRecord, TrustedIssuerProtocol, TrustedIssuerRecord,
} from '../core/types.js';

/** Thrown by repositories when a unique constraint rejects a write; `what` names the clashing attribute. */
export class Conflict extends Error {
  constructor(readonly what: string) { super(`conflict on ${what}`); }
}
/** Thrown when a conditional write lost (optimistic concurrency: the stored version moved on). */
export class StaleVersion extends Error {}

export interface DomainRepository {
  get(id: string): Promise<DomainRecord | undefined>;
  getByName(name: string): Promise<DomainRecord | undefined>;
  list(): Promise<DomainRecord[]>;
  create(rec: DomainRecord): Promise<void>;
  updateSettings(id: string, settings: DomainRecord['settings'], now: number): Promise<void>;
}

export interface SigningKeyRepository {
  list(domainId: string): Promise<SigningKeyRecord[]>;
  insert(rec: SigningKeyRecord): Promise<void>;
  /**
   * Atomic rotation for one alg: the `next` key becomes `active`, the active key becomes `retired`
   * (kept until `retiredExpiresAt`), and `newNext` is published. Returns false when another node
   * rotated first (the expected next key was no longer `next`).
   */
  rotate(domainId: string, alg: string, expectedNextKid: string, newNext: SigningKeyRecord, now: number, retiredExpiresAt: number): Promise<boolean>;
  /**
   * Atomic first activation for an alg that has no active key: the published `next` key starts
   * signing and `newNext` is published as its successor. Returns false when that key is no longer
   * `next` or a key of the alg is active already (another node activated or rotated first).
   */
  activate(domainId: string, alg: string, expectedNextKid: string, newNext: SigningKeyRecord, now: number): Promise<boolean>;
  deleteExpired(now: number): Promise<number>;
}

export interface AppRepository {
  get(domainId: string, id: string): Promise<AppRecord | undefined>;
  getByClientId(domainId: string, clientId: string): Promise<AppRecord | undefined>;
  list(domainId: string): Promise<AppRecord[]>;
  /** Also claims the app's scope values, unique per domain (Conflict('scopes') otherwise). */
  create(rec: AppRecord): Promise<void>;
  /** Writes `rec` if the stored version is `expectedVersion`; bumps the version. */
  update(rec: AppRecord, expectedVersion: number): Promise<AppRecord>;
  delete(domainId: string, id: string, expectedVersion?: number): Promise<boolean>;
}

export interface AppRoleRepository {
  get(domainId: string, id: string): Promise<AppRoleRecord | undefined>;
  list(domainId: string): Promise<AppRoleRecord[]>;
  create(rec: AppRoleRecord): Promise<void>;
  update(rec: AppRoleRecord, expectedVersion: number): Promise<AppRoleRecord>;
  delete(domainId: string, id: string, expectedVersion?: number): Promise<boolean>;
}

export interface GrantRepository {
  get(domainId: string, id: string): Promise<GrantRecord | undefined>;
  list(domainId: string): Promise<GrantRecord[]>;
  listForGrantee(domainId: string, granteeType: string, granteeId: string): Promise<GrantRecord[]>;
  create(rec: GrantRecord): Promise<void>;
  delete(domainId: string, id: string, expectedVersion?: number): Promise<boolean>;
  /** When a grantee goes away, so do its grants. */
  deleteForGrantee(domainId: string, granteeType: string, granteeId: string): Promise<number>;
}

export interface TrustedIssuerRepository {
  get(domainId: string, id: string): Promise<TrustedIssuerRecord | undefined>;
  /** The trusted issuer an assertion names (exact match on the issuer string). */
  getByIssuer(domainId: string, protocol: TrustedIssuerProtocol, issuer: string): Promise<TrustedIssuerRecord | undefined>;
  list(domainId: string): Promise<TrustedIssuerRecord[]>;
  /** Conflict('issuer') when the domain already trusts this issuer for this protocol. */
  create(rec: TrustedIssuerRecord): Promise<void>;
  /** Writes `rec` if the stored version is `expectedVersion`; bumps the version (StaleVersion otherwise). */
  update(rec: TrustedIssuerRecord, expectedVersion: number): Promise<TrustedIssuerRecord>;
  delete(domainId: string, id: string, expectedVersion?: number): Promise<boolean>;
}

export interface TokenRepository {
  insert(rec: TokenRecord): Promise<void>;
  find(hash: string): Promise<TokenRecord | undefined>;
  /** Marks one token revoked; returns the record as it was (undefined when unknown). */
  revoke(hash: string, now: number): Promise<TokenRecord | undefined>;
  /** Revokes every token of a grant (refresh families, code reuse). */
  revokeGrant(domainId: string, grantId: string, now: number): Promise<number>;
  /** Revokes every live token issued to one subject (a user deactivated, deleted or given a new password); returns their grant ids. */
  revokeForSubject(domainId: string, subType: TokenRecord['subType'], sub: string, now: number): Promise<string[]>;
  /**
   * Refresh rotation, atomic: marks `oldHash` used (revoked_at = now, data = `oldData`) only if it is still
   * live, and then stores `next`. False when another request rotated or revoked it first (reuse).
   */
  rotate(oldHash: string, oldData: Record<string, unknown>, next: TokenRecord, now: number): Promise<boolean>;
  /** Revokes the live tokens of one SSO session (logout); returns their grant ids. */
  revokeForSession(domainId: string, sessionId: string, now: number): Promise<string[]>;
  /** Revokes the live tokens one client holds for one user (consent withdrawn); returns their grant ids. */
  revokeForClientUser(domainId: string, clientId: string, userId: string, now: number): Promise<string[]>;
  purgeExpired(now: number): Promise<number>;
}

/** Revocation records for self-contained (JWT) access tokens, kept until the token would expire. */
export interface RevocationRepository {
  revokeJti(domainId: string, jti: string, expiresAt: number): Promise<void>;
  isRevoked(domainId: string, jti: string): Promise<boolean>;
  /** Is any of these ids revoked (a token's jti, `gid:` grant, `sid:` session, the tokens it was exchanged from): one lookup. */
  anyRevoked(domainId: string, ids: readonly string[]): Promise<boolean>;
  purgeExpired(now: number): Promise<number>;
}

/** Single-use assertion ids (RFC 7523 §3 item 7). */
export interface AssertionJtiRepository {
  /** Atomic: true for exactly one caller while the record lives; false for a replay. */
  consume(domainId: string, clientId: string, jti: string, expiresAt: number, now: number): Promise<boolean>;
  purgeExpired(now: number): Promise<number>;
}

export interface AuditQuery {
  eventId?: string;
  actorId?: string;
  outcome?: string;
  since?: number;
  until?: number;
  offset: number;
  limit: number;
  descending: boolean;
}
export interface AuditRepository {
  insertMany(events: AuditEventRecord[]): Promise<void>;
  get(domainId: string, id: string): Promise<AuditEventRecord | undefined>;
  query(domainId: string, q: AuditQuery): Promise<{ total: number; items: AuditEventRecord[] }>;
  purgeBefore(ts: number): Promise<number>;
}

/** A user (RFC 7643 §4.1). `attributes` holds the rest of the SCIM resource (name, emails, ...). */
export interface UserRecord {
  id: string;
  domainId: string;
  userName: string;
  externalId?: string;
  active: boolean;
  /** Every other stored attribute, SCIM-shaped; never id, userName, externalId, active, password, groups, meta, schemas. */
  attributes: Record<string, unknown>;
  /** Argon2id PHC string; absent until a password is set (the user cannot sign in). */
  passwordHash?: string;
  /** The most recent password hashes, newest first (the current one included), for the history rule. */
  passwordHistory: string[];
  /**
   * Access tokens issued before this (epoch ms; compared at the second, the `iat` precision) are refused:
   * set when the password changes and when the user is deactivated, so tokens do not outlive either.
   */
  tokensValidAfter?: number;
  version: number;
  createdAt: number;
  updatedAt: number;
}

/** A group (RFC 7643 §4.2); members are stored apart and passed alongside. */
export interface GroupRecord {
  id: string;
  domainId: string;
  displayName: string;
  externalId?: string;
  attributes: Record<string, unknown>;
  version: number;
  createdAt: number;
  updatedAt: number;
}

export type MemberType = 'User' | 'Group';
export interface GroupMember { type: MemberType; id: string }
/** A member as rendered: with the member's display name (user displayName or userName, group displayName). */
export interface GroupMemberView extends GroupMember { display?: string }
/** A group a member belongs to directly. */
export interface MembershipView { groupId: string; displayName: string }

/** Filter, order and page for SQL-paged listings (the SCIM translation is src/scim/sql.ts). */
export interface PageQuery {
  where?: SqlWhere;
  order?: SqlOrder;
  offset: number;
  limit: number;
}

const col = (table: string, name: string, type: SqlColumn['type'] = 'string', caseExact = false): SqlColumn => ({ table, name, type, caseExact });

/**
 * The User attributes the store filters and sorts on in SQL (RFC 7643 §4.1 names -> columns). Strings
 * that are not caseExact are held lower-cased. `emails.value` matches any of the user's addresses.
 */
export const USER_COLUMNS: SqlColumnMap = {
  id: { column: col('users', 'id', 'string', true), sortable: true },
  externalId: { column: col('users', 'external_id', 'string', true), sortable: true },
  // The column holds the RFC 8265 key (src/identity/usernames.ts), so `userName eq "ＡＤＡ"` finds "ada".
  userName: { column: { ...col('users', 'user_name_lower'), key: userNameKey }, sortable: true },
  active: { column: col('users', 'active', 'boolean'), sortable: true },
  displayName: { column: col('users', 'display_name_lower'), sortable: true },
  'name.givenName': { column: col('users', 'given_name_lower'), sortable: true },
  'name.familyName': { column: col('users', 'family_name_lower'), sortable: true },
  'emails.value': { column: col('user_emails', 'value_lower'), child: { table: 'user_emails', fk: 'user_id' } },
  'meta.created': { column: col('users', 'created_at', 'dateTime'), sortable: true },
  'meta.lastModified': { column: col('users', 'updated_at', 'dateTime'), sortable: true },
};

/** The Group attributes the store filters and sorts on in SQL (RFC 7643 §4.2). */
export const GROUP_COLUMNS: SqlColumnMap = {
  id: { column: col('groups', 'id', 'string', true), sortable: true },
  externalId: { column: col('groups', 'external_id', 'string', true), sortable: true },
  displayName: { column: col('groups', 'display_name_lower'), sortable: true },
  'members.value': { column: col('group_members', 'member_id', 'string', true), child: { table: 'group_members', fk: 'group_id' } },
  'meta.created': { column: col('groups', 'created_at', 'dateTime'), sortable: true },
  'meta.lastModified': { column: col('groups', 'updated_at', 'dateTime'), sortable: true },
};

export interface UserRepository {
  get(domainId: string, id: string): Promise<UserRecord | undefined>;
  /** RFC 7643 §4.1.1: userName is matched case-insensitively. */
  getByUserName(domainId: string, userName: string): Promise<UserRecord | undefined>;
  /**
   * Users whose `emails.value` (case-insensitively) or `externalId` (exactly) is `value`; at most `limit`
   * (an assertion's subject must match exactly one user).
   */
  findBy(domainId: string, attribute: 'email' | 'externalId', value: string, limit: number): Promise<UserRecord[]>;
  /** Users of the domain among `ids` (for display names); unknown ids are left out. */
  getMany(domainId: string, ids: readonly string[]): Promise<UserRecord[]>;
  query(domainId: string, q: PageQuery): Promise<{ total: number; items: UserRecord[] }>;
  /** Conflict('userName') when the name is taken case-insensitively in the domain. */
  create(rec: UserRecord): Promise<void>;
  update(rec: UserRecord, expectedVersion: number): Promise<UserRecord>;
  /** Also removes the user's group memberships. */
  delete(domainId: string, id: string, expectedVersion?: number): Promise<boolean>;
}

export interface GroupRepository {
  get(domainId: string, id: string): Promise<GroupRecord | undefined>;
  getMany(domainId: string, ids: readonly string[]): Promise<GroupRecord[]>;
  query(domainId: string, q: PageQuery): Promise<{ total: number; items: GroupRecord[] }>;
  /** Conflict('displayName') when the name is taken case-insensitively in the domain. */
  create(rec: GroupRecord, members: readonly GroupMember[]): Promise<void>;
  /** Replaces the group and its member list (stored as a difference, so a large group is not rewritten). */
  update(rec: GroupRecord, expectedVersion: number, members: readonly GroupMember[]): Promise<GroupRecord>;
  /** Also removes the group from the groups it is a member of. */
  delete(domainId: string, id: string, expectedVersion?: number): Promise<boolean>;
  /** Members of each of `groupIds`, with display names. */
  members(domainId: string, groupIds: readonly string[]): Promise<Map<string, GroupMemberView[]>>;
  /** The groups each of `memberIds` (of one type) belongs to directly. */
  groupsOf(domainId: string, type: MemberType, memberIds: readonly string[]): Promise<Map<string, MembershipView[]>>;
}

/** An SSO session. The cookie value is never stored, only its hash; `sid` is the public id (ID token `sid`). */
export interface SessionRecord {
  hash: string;
  sid: string;
  domainId: string;
  userId: string;
  /** When the user last authenticated, epoch ms (OIDC auth_time). */
  authTime: number;
  /** RFC 8176 methods used (pwd, otp, ...), and the resulting acr. */
  amr: string[];
  acr: string;
  /** Where the sign-in came from, for the user's session list (bounded, control characters removed). */
  userAgent?: string;
  clientIp?: string;
  createdAt: number;
  expiresAt: number;
}
export interface SessionRepository {
  create(rec: SessionRecord): Promise<void>;
  find(hash: string): Promise<SessionRecord | undefined>;
  findBySid(domainId: string, sid: string): Promise<SessionRecord | undefined>;
  /** Ends one session; returns it as it was. */
  delete(hash: string): Promise<SessionRecord | undefined>;
  /** Ends every session of a user (but `keepSid`, when given); returns their sids. */
  deleteForUser(domainId: string, userId: string, keepSid?: string): Promise<string[]>;
  /** The user's live sessions (expiring after `now`), newest first. */
  listForUser(domainId: string, userId: string, now: number): Promise<SessionRecord[]>;
  /** Ends one session of one user, found by its public id; undefined when no such session is the user's (sign-out from a session list). */
  deleteBySid(domainId: string, userId: string, sid: string): Promise<SessionRecord | undefined>;
  purgeExpired(now: number): Promise<number>;
}

/** An authentication flow in progress (the Authenticate API's requestState; the login pages use it too). */
export interface AuthFlowRecord {
  /** SHA-256 of the requestState. */
  hash: string;
  domainId: string;
  data: Record<string, unknown>;
  version: number;
  createdAt: number;
  expiresAt: number;
}
export interface AuthFlowRepository {
  create(rec: AuthFlowRecord): Promise<void>;
  get(hash: string): Promise<AuthFlowRecord | undefined>;
  /** Writes `data` if the stored version is `expectedVersion` (one step at a time); false if another step won. */
  update(hash: string, data: Record<string, unknown>, expectedVersion: number, expiresAt: number): Promise<boolean>;
  delete(hash: string): Promise<void>;
  purgeExpired(now: number): Promise<number>;
}

export interface AuthorizationCodeRecord {
  hash: string;
  domainId: string;
  clientId: string;
  /** Every token issued from this code carries it, so a replayed code revokes them together. */
  grantId: string;
  data: Record<string, unknown>;
  expiresAt: number;
  consumedAt?: number;
}
export interface AuthorizationCodeRepository {
  create(rec: AuthorizationCodeRecord): Promise<void>;
  /** The code as stored (consumed or not), without using it: the token endpoint checks who presents it first. */
  get(hash: string): Promise<AuthorizationCodeRecord | undefined>;
  /** Atomic: exactly one caller gets firstUse=true; later callers get the record so the grant can be revoked. */
  consume(hash: string, now: number): Promise<{ rec: AuthorizationCodeRecord; firstUse: boolean } | undefined>;
  purgeExpired(now: number): Promise<number>;
}

/** Scopes a user consented to for one client. */
export interface ConsentRecord {
  domainId: string;
  userId: string;
  clientId: string;
  scopes: string[];
  createdAt: number;
  updatedAt: number;
}
export interface ConsentRepository {
  get(domainId: string, userId: string, clientId: string): Promise<ConsentRecord | undefined>;
  upsert(rec: ConsentRecord): Promise<void>;
  listForUser(domainId: string, userId: string): Promise<ConsentRecord[]>;
  delete(domainId: string, userId: string, clientId: string): Promise<boolean>;
  deleteForUser(domainId: string, userId: string): Promise<number>;
}

export interface ThrottleState { failures: number; windowStart: number; lockedUntil?: number }
/** Failed-attempt counters (per account, per source address), shared by every node. */
export interface LoginThrottleRepository {
  get(domainId: string, key: string): Promise<ThrottleState | undefined>;
  /** Atomically counts one failure; a window older than `windowMs` starts over. Returns the state after. */
  recordFailure(domainId: string, key: string, now: number, windowMs: number): Promise<ThrottleState>;
  lock(domainId: string, key: string, until: number): Promise<void>;
  reset(domainId: string, key: string): Promise<void>;
}

export interface MfaFactorRecord {
  domainId: string;
  userId: string;
  type: 'totp';
  /** The shared secret, encrypted under the master key. */
  secretEnc: string;
  /** The last time step accepted (RFC 6238 §5.2: a code is accepted once). */
  lastStep?: number;
  createdAt: number;
}
export interface MfaRepository {
  getFactor(domainId: string, userId: string, type: MfaFactorRecord['type']): Promise<MfaFactorRecord | undefined>;
  /** Enrols (or replaces) a factor. */
  putFactor(rec: MfaFactorRecord): Promise<void>;
  /** Atomic: true if `step` is later than every step accepted before (then it is recorded); false on replay. */
  useStep(domainId: string, userId: string, type: MfaFactorRecord['type'], step: number): Promise<boolean>;
  /** The user's enrolled (confirmed) factors. */
  listFactors(domainId: string, userId: string): Promise<MfaFactorRecord[]>;
  /** Stores (or replaces) an enrolment not yet confirmed; the enrolled factor of that type, if any, stays as it is. */
  putPendingFactor(rec: MfaFactorRecord): Promise<void>;
  getPendingFactor(domainId: string, userId: string, type: MfaFactorRecord['type']): Promise<MfaFactorRecord | undefined>;
  /**
   * Atomic: the pending enrolment whose secret is `secretEnc` (the one the code was checked against) becomes the
   * enrolled factor of its type (replacing any), with `lastStep` accepted, and the pending one is gone. False when
   * it was confirmed, replaced or removed first.
   */
  confirmPendingFactor(domainId: string, userId: string, type: MfaFactorRecord['type'], secretEnc: string, lastStep: number, now: number): Promise<boolean>;
  /** Removes every factor, pending enrolment and recovery code of a user; returns how many enrolled factors went. */
  deleteAll(domainId: string, userId: string): Promise<number>;
  replaceRecoveryCodes(domainId: string, userId: string, hashes: readonly string[]): Promise<void>;
  /** Atomic single use of a recovery code (by hash). */
  useRecoveryCode(domainId: string, userId: string, hash: string, now: number): Promise<boolean>;
  remainingRecoveryCodes(domainId: string, userId: string): Promise<number>;
}

/** Where a device authorization stands (RFC 8628 §3.4–3.5). */
export type DeviceCodeStatus = 'pending' | 'approved' | 'denied' | 'redeemed';

/**
 * A device authorization request (RFC 8628 §3.1–3.2). Neither code is stored: the device code by its
 * SHA-256 (it is a 256-bit secret), the user code by a keyed hash under the master key (its 8 letters
 * are few enough to try every one against a plain hash).
 */
export interface DeviceCodeRecord {
  deviceCodeHash: string;
  userCodeHash: string;
  domainId: string;
  clientId: string;
  /** Every token issued from this device code carries it. */
  grantId: string;
  /** The scopes the device asked for (resolved against the user's roles at approval). */
  scopes: string[];
  /** Seconds the device must wait between polls; grows by 5 at each slow_down (RFC 8628 §3.5). */
  interval: number;
  lastPollAt?: number;
  status: DeviceCodeStatus;
  /** The approving user, and what the approval granted (authentication and resolved scopes), once approved. */
  userId?: string;
  approval?: Record<string, unknown>;
  createdAt: number;
  expiresAt: number;
}
export interface DeviceCodeRepository {
  create(rec: DeviceCodeRecord): Promise<void>;
  get(deviceCodeHash: string): Promise<DeviceCodeRecord | undefined>;
  getByUserCode(domainId: string, userCodeHash: string): Promise<DeviceCodeRecord | undefined>;
  /**
   * One poll of a pending device code, atomic: 'ok' when it comes at least `interval` seconds after the
   * last one (the poll time is recorded), else 'slow_down' (the interval grows by 5 s and the poll time is
   * recorded). Undefined when the code is not pending.
   */
  poll(deviceCodeHash: string, now: number): Promise<'ok' | 'slow_down' | undefined>;
  /** pending -> approved (with the user and the approval), only while live; false if it was not pending or has expired. */
  approve(deviceCodeHash: string, userId: string, approval: Record<string, unknown>, now: number): Promise<boolean>;
  /** pending -> denied, only while live. */
  deny(deviceCodeHash: string, now: number): Promise<boolean>;
  /** The single-use point: approved -> redeemed, only while live; exactly one caller gets true. */
  redeem(deviceCodeHash: string, now: number): Promise<boolean>;
  purgeExpired(now: number): Promise<number>;
}

export interface Repositories {
  domains: DomainRepository;
  keys: SigningKeyRepository;
  apps: AppRepository;
  appRoles: AppRoleRepository;
  grants: GrantRepository;
  tokens: TokenRepository;
  revocations: RevocationRepository;
  assertionJtis: AssertionJtiRepository;
  audit: AuditRepository;
  users: UserRepository;
  groups: GroupRepository;
  sessions: SessionRepository;
  authFlows: AuthFlowRepository;
  codes: AuthorizationCodeRepository;
  consents: ConsentRepository;
  throttle: LoginThrottleRepository;
  mfa: MfaRepository;
  trustedIssuers: TrustedIssuerRepository;
  deviceCodes: DeviceCodeRepository;
}
