import type {
  AppRecord, AppRoleRecord, AuditEventRecord, DomainRecord, GrantRecord, SigningKeyRecord, TokenRecord,
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

export interface TokenRepository {
  insert(rec: TokenRecord): Promise<void>;
  find(hash: string): Promise<TokenRecord | undefined>;
  /** Marks one token revoked; returns the record as it was (undefined when unknown). */
  revoke(hash: string, now: number): Promise<TokenRecord | undefined>;
  /** Revokes every token of a grant (refresh families, code reuse). */
  revokeGrant(domainId: string, grantId: string, now: number): Promise<number>;
  purgeExpired(now: number): Promise<number>;
}

/** Revocation records for self-contained (JWT) access tokens, kept until the token would expire. */
export interface RevocationRepository {
  revokeJti(domainId: string, jti: string, expiresAt: number): Promise<void>;
  isRevoked(domainId: string, jti: string): Promise<boolean>;
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
}
