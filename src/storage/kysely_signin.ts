import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB } from './schema.js';
import type {
  AuthFlowRecord, AuthFlowRepository, AuthorizationCodeRecord, AuthorizationCodeRepository, ConsentRecord, ConsentRepository,
  LoginThrottleRepository, MfaFactorRecord, MfaRepository, SessionRecord, SessionRepository, ThrottleState,
} from './ports.js';

export interface SessionsTable {
  hash: string; sid: string; domain_id: string; user_id: string; auth_time: number; data: string; created_at: number; expires_at: number;
}
export interface AuthFlowsTable { hash: string; domain_id: string; data: string; version: number; created_at: number; expires_at: number }
export interface AuthorizationCodesTable {
  hash: string; domain_id: string; client_id: string; grant_id: string; data: string; expires_at: number; consumed_at: number | null;
}
export interface ConsentsTable { domain_id: string; user_id: string; client_id: string; scopes: string; created_at: number; updated_at: number }
export interface LoginThrottleTable { domain_id: string; key: string; failures: number; window_start: number; locked_until: number | null }
export interface MfaFactorsTable { domain_id: string; user_id: string; type: string; secret_enc: string; last_step: number | null; created_at: number }
export interface RecoveryCodesTable { domain_id: string; user_id: string; hash: string; used_at: number | null }
export type SigninDB = {
  sessions: SessionsTable; auth_flows: AuthFlowsTable; authorization_codes: AuthorizationCodesTable; consents: ConsentsTable;
  login_throttle: LoginThrottleTable; mfa_factors: MfaFactorsTable; recovery_codes: RecoveryCodesTable;
};
type SDB = DB & SigninDB;

const json = (v: unknown): string => JSON.stringify(v ?? {});
const parse = <T>(s: string | null | undefined, d: T): T => (s ? (JSON.parse(s) as T) : d);
const changed = (r: { numUpdatedRows?: bigint; numDeletedRows?: bigint; numInsertedOrUpdatedRows?: bigint }): number =>
  Number(r.numUpdatedRows ?? r.numDeletedRows ?? 0n);
/** PostgreSQL returns BIGINT as a number through our type parser; SQLite may hand back a bigint. */
const num = (v: unknown): number => Number(v);

export class KyselySessionRepository implements SessionRepository {
  private db: Kysely<SDB>;
  constructor(db: Kysely<DB>) { this.db = db as unknown as Kysely<SDB>; }
  private map(r: Selectable<SessionsTable>): SessionRecord {
    const d = parse<{ amr?: string[]; acr?: string; userAgent?: string; clientIp?: string }>(r.data, {});
    return {
      hash: r.hash, sid: r.sid, domainId: r.domain_id, userId: r.user_id, authTime: num(r.auth_time), amr: d.amr ?? [], acr: d.acr ?? '',
      ...(d.userAgent !== undefined ? { userAgent: d.userAgent } : {}), ...(d.clientIp !== undefined ? { clientIp: d.clientIp } : {}),
      createdAt: num(r.created_at), expiresAt: num(r.expires_at),
    };
  }
  async create(s: SessionRecord) {
    // The data column is JSON, so where the sign-in came from needs no migration.
    const data = { amr: s.amr, acr: s.acr, ...(s.userAgent !== undefined ? { userAgent: s.userAgent } : {}), ...(s.clientIp !== undefined ? { clientIp: s.clientIp } : {}) };
    await this.db.insertInto('sessions').values({
      hash: s.hash, sid: s.sid, domain_id: s.domainId, user_id: s.userId, auth_time: s.authTime, data: json(data),
      created_at: s.createdAt, expires_at: s.expiresAt,
    }).execute();
  }
  async find(hash: string) {
    const r = await this.db.selectFrom('sessions').selectAll().where('hash', '=', hash).executeTakeFirst();
    return r && this.map(r);
  }
  async findBySid(domainId: string, sid: string) {
    const r = await this.db.selectFrom('sessions').selectAll().where('sid', '=', sid).where('domain_id', '=', domainId).executeTakeFirst();
    return r && this.map(r);
  }
  async delete(hash: string) {
    const r = await this.db.deleteFrom('sessions').where('hash', '=', hash).returningAll().executeTakeFirst();
    return r && this.map(r);
  }
  async deleteForUser(domainId: string, userId: string, keepSid?: string) {
    let q = this.db.deleteFrom('sessions').where('domain_id', '=', domainId).where('user_id', '=', userId);
    if (keepSid !== undefined) q = q.where('sid', '<>', keepSid);
    const rows = await q.returning('sid').execute();
    return rows.map((r) => r.sid);
  }
  async listForUser(domainId: string, userId: string, now: number) {
    const rows = await this.db.selectFrom('sessions').selectAll().where('domain_id', '=', domainId).where('user_id', '=', userId)
      .where('expires_at', '>', now).orderBy('created_at', 'desc').orderBy('sid').execute();
    return rows.map((r) => this.map(r));
  }
  async deleteBySid(domainId: string, userId: string, sid: string) {
    // One statement scoped to the user: another user's (or domain's) sid matches nothing.
    const r = await this.db.deleteFrom('sessions').where('domain_id', '=', domainId).where('user_id', '=', userId).where('sid', '=', sid)
      .returningAll().executeTakeFirst();
    return r && this.map(r);
  }
  async purgeExpired(now: number) {
    return changed(await this.db.deleteFrom('sessions').where('expires_at', '<', now).executeTakeFirst());
  }
}

export class KyselyAuthFlowRepository implements AuthFlowRepository {
  private db: Kysely<SDB>;
  constructor(db: Kysely<DB>) { this.db = db as unknown as Kysely<SDB>; }
  async create(f: AuthFlowRecord) {
    await this.db.insertInto('auth_flows').values({
      hash: f.hash, domain_id: f.domainId, data: json(f.data), version: f.version, created_at: f.createdAt, expires_at: f.expiresAt,
    }).execute();
  }
  async get(hash: string) {
    const r = await this.db.selectFrom('auth_flows').selectAll().where('hash', '=', hash).executeTakeFirst();
    return r && {
      hash: r.hash, domainId: r.domain_id, data: parse<Record<string, unknown>>(r.data, {}), version: num(r.version),
      createdAt: num(r.created_at), expiresAt: num(r.expires_at),
    };
  }
  async update(hash: string, data: Record<string, unknown>, expectedVersion: number, expiresAt: number) {
    return changed(await this.db.updateTable('auth_flows').set({ data: json(data), version: expectedVersion + 1, expires_at: expiresAt })
      .where('hash', '=', hash).where('version', '=', expectedVersion).executeTakeFirst()) === 1;
  }
  async delete(hash: string) {
    await this.db.deleteFrom('auth_flows').where('hash', '=', hash).execute();
  }
  async purgeExpired(now: number) {
    return changed(await this.db.deleteFrom('auth_flows').where('expires_at', '<', now).executeTakeFirst());
  }
}

export class KyselyAuthorizationCodeRepository implements AuthorizationCodeRepository {
  private db: Kysely<SDB>;
  constructor(db: Kysely<DB>) { this.db = db as unknown as Kysely<SDB>; }
  async create(c: AuthorizationCodeRecord) {
    await this.db.insertInto('authorization_codes').values({
      hash: c.hash, domain_id: c.domainId, client_id: c.clientId, grant_id: c.grantId, data: json(c.data), expires_at: c.expiresAt,
      consumed_at: c.consumedAt ?? null,
    }).execute();
  }
  async get(hash: string) {
    const r = await this.db.selectFrom('authorization_codes').selectAll().where('hash', '=', hash).executeTakeFirst();
    if (!r) return undefined;
    const rec: AuthorizationCodeRecord = {
      hash: r.hash, domainId: r.domain_id, clientId: r.client_id, grantId: r.grant_id, data: parse(r.data, {}), expiresAt: num(r.expires_at),
    };
    if (r.consumed_at !== null) rec.consumedAt = num(r.consumed_at);
    return rec;
  }
  async consume(hash: string, now: number) {
    // The conditional UPDATE is the single-use point: only one caller can move consumed_at from NULL.
    const won = changed(await this.db.updateTable('authorization_codes').set({ consumed_at: now })
      .where('hash', '=', hash).where('consumed_at', 'is', null).executeTakeFirst()) === 1;
    const rec = await this.get(hash);
    return rec && { rec, firstUse: won };
  }
  async purgeExpired(now: number) {
    // Consumed codes are kept until they expire so that a replay is still recognised (and revokes).
    return changed(await this.db.deleteFrom('authorization_codes').where('expires_at', '<', now).executeTakeFirst());
  }
}

export class KyselyConsentRepository implements ConsentRepository {
  private db: Kysely<SDB>;
  constructor(db: Kysely<DB>) { this.db = db as unknown as Kysely<SDB>; }
  private map(r: Selectable<ConsentsTable>): ConsentRecord {
    return {
      domainId: r.domain_id, userId: r.user_id, clientId: r.client_id, scopes: parse(r.scopes, []), createdAt: num(r.created_at),
      updatedAt: num(r.updated_at),
    };
  }
  async get(domainId: string, userId: string, clientId: string) {
    const r = await this.db.selectFrom('consents').selectAll().where('domain_id', '=', domainId).where('user_id', '=', userId)
      .where('client_id', '=', clientId).executeTakeFirst();
    return r && this.map(r);
  }
  async upsert(c: ConsentRecord) {
    await this.db.insertInto('consents').values({
      domain_id: c.domainId, user_id: c.userId, client_id: c.clientId, scopes: JSON.stringify(c.scopes), created_at: c.createdAt,
      updated_at: c.updatedAt,
    }).onConflict((oc) => oc.columns(['domain_id', 'user_id', 'client_id']).doUpdateSet({
      scopes: JSON.stringify(c.scopes), updated_at: c.updatedAt,
    })).execute();
  }
  async listForUser(domainId: string, userId: string) {
    const rows = await this.db.selectFrom('consents').selectAll().where('domain_id', '=', domainId).where('user_id', '=', userId)
      .orderBy('client_id').execute();
    return rows.map((r) => this.map(r));
  }
  async delete(domainId: string, userId: string, clientId: string) {
    return changed(await this.db.deleteFrom('consents').where('domain_id', '=', domainId).where('user_id', '=', userId)
      .where('client_id', '=', clientId).executeTakeFirst()) === 1;
  }
  async deleteForUser(domainId: string, userId: string) {
    return changed(await this.db.deleteFrom('consents').where('domain_id', '=', domainId).where('user_id', '=', userId).executeTakeFirst());
  }
}

export class KyselyLoginThrottleRepository implements LoginThrottleRepository {
  private db: Kysely<SDB>;
  constructor(db: Kysely<DB>) { this.db = db as unknown as Kysely<SDB>; }
  private map(r: Selectable<LoginThrottleTable>): ThrottleState {
    const s: ThrottleState = { failures: num(r.failures), windowStart: num(r.window_start) };
    if (r.locked_until !== null) s.lockedUntil = num(r.locked_until);
    return s;
  }
  async get(domainId: string, key: string) {
    const r = await this.db.selectFrom('login_throttle').selectAll().where('domain_id', '=', domainId).where('key', '=', key).executeTakeFirst();
    return r && this.map(r);
  }
  async recordFailure(domainId: string, key: string, now: number, windowMs: number) {
    // One statement, so concurrent failures on several nodes all count.
    const expired = sql<boolean>`login_throttle.window_start < ${now - windowMs}`;
    const r = await this.db.insertInto('login_throttle').values({ domain_id: domainId, key, failures: 1, window_start: now, locked_until: null })
      .onConflict((oc) => oc.columns(['domain_id', 'key']).doUpdateSet({
        failures: sql<number>`CASE WHEN ${expired} THEN 1 ELSE login_throttle.failures + 1 END`,
        window_start: sql<number>`CASE WHEN ${expired} THEN ${now} ELSE login_throttle.window_start END`,
      })).returningAll().executeTakeFirstOrThrow();
    return this.map(r);
  }
  async lock(domainId: string, key: string, until: number) {
    await this.db.updateTable('login_throttle').set({ locked_until: until }).where('domain_id', '=', domainId).where('key', '=', key).execute();
  }
  async reset(domainId: string, key: string) {
    await this.db.deleteFrom('login_throttle').where('domain_id', '=', domainId).where('key', '=', key).execute();
  }
  async forgive(domainId: string, key: string) {
    await this.db.updateTable('login_throttle').set({ failures: sql<number>`login_throttle.failures - 1` })
      .where('domain_id', '=', domainId).where('key', '=', key).where('failures', '>', 0).execute();
  }
  async takeExpiredLock(domainId: string, key: string, now: number) {
    const r = await this.db.updateTable('login_throttle').set({ locked_until: null })
      .where('domain_id', '=', domainId).where('key', '=', key).where('locked_until', 'is not', null).where('locked_until', '<=', now).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}

/** Enrolments not yet confirmed share the factors table under their type with this prefix (no factor type starts with it). */
const PENDING = 'pending:';

export class KyselyMfaRepository implements MfaRepository {
  private db: Kysely<SDB>;
  constructor(db: Kysely<DB>) { this.db = db as unknown as Kysely<SDB>; }
  private static map(r: Selectable<MfaFactorsTable>, type: MfaFactorRecord['type']): MfaFactorRecord {
    const f: MfaFactorRecord = { domainId: r.domain_id, userId: r.user_id, type, secretEnc: r.secret_enc, createdAt: num(r.created_at) };
    if (r.last_step !== null) f.lastStep = num(r.last_step);
    return f;
  }
  async getFactor(domainId: string, userId: string, type: MfaFactorRecord['type']) {
    const r = await this.db.selectFrom('mfa_factors').selectAll().where('domain_id', '=', domainId).where('user_id', '=', userId)
      .where('type', '=', type).executeTakeFirst();
    return r && KyselyMfaRepository.map(r, type);
  }
  async listFactors(domainId: string, userId: string) {
    const rows = await this.db.selectFrom('mfa_factors').selectAll().where('domain_id', '=', domainId).where('user_id', '=', userId)
      .where('type', 'not like', `${PENDING}%`).orderBy('type').execute();
    return rows.map((r) => KyselyMfaRepository.map(r, r.type as MfaFactorRecord['type']));
  }
  async putPendingFactor(f: MfaFactorRecord) {
    await this.putFactor({ ...f, type: `${PENDING}${f.type}` as MfaFactorRecord['type'] });
  }
  async getPendingFactor(domainId: string, userId: string, type: MfaFactorRecord['type']) {
    const r = await this.db.selectFrom('mfa_factors').selectAll().where('domain_id', '=', domainId).where('user_id', '=', userId)
      .where('type', '=', `${PENDING}${type}`).executeTakeFirst();
    return r && KyselyMfaRepository.map(r, type);
  }
  async confirmPendingFactor(domainId: string, userId: string, type: MfaFactorRecord['type'], secretEnc: string, lastStep: number, now: number) {
    return this.db.transaction().execute(async (trx) => {
      // The DELETE is the single-use point: of two confirmations racing, one removes the row, the other nothing.
      const p = await trx.deleteFrom('mfa_factors').where('domain_id', '=', domainId).where('user_id', '=', userId)
        .where('type', '=', `${PENDING}${type}`).where('secret_enc', '=', secretEnc).returning('secret_enc').executeTakeFirst();
      if (!p) return false;
      await trx.insertInto('mfa_factors').values({
        domain_id: domainId, user_id: userId, type, secret_enc: p.secret_enc, last_step: lastStep, created_at: now,
      }).onConflict((oc) => oc.columns(['domain_id', 'user_id', 'type']).doUpdateSet({ secret_enc: p.secret_enc, last_step: lastStep, created_at: now })).execute();
      return true;
    });
  }
  async putFactor(f: MfaFactorRecord) {
    await this.db.insertInto('mfa_factors').values({
      domain_id: f.domainId, user_id: f.userId, type: f.type, secret_enc: f.secretEnc, last_step: f.lastStep ?? null, created_at: f.createdAt,
    }).onConflict((oc) => oc.columns(['domain_id', 'user_id', 'type']).doUpdateSet({
      secret_enc: f.secretEnc, last_step: f.lastStep ?? null, created_at: f.createdAt,
    })).execute();
  }
  async useStep(domainId: string, userId: string, type: MfaFactorRecord['type'], step: number) {
    return changed(await this.db.updateTable('mfa_factors').set({ last_step: step })
      .where('domain_id', '=', domainId).where('user_id', '=', userId).where('type', '=', type)
      .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)])).executeTakeFirst()) === 1;
  }
  async deleteAll(domainId: string, userId: string) {
    await this.db.deleteFrom('recovery_codes').where('domain_id', '=', domainId).where('user_id', '=', userId).execute();
    await this.db.deleteFrom('mfa_factors').where('domain_id', '=', domainId).where('user_id', '=', userId).where('type', 'like', `${PENDING}%`).execute();
    return changed(await this.db.deleteFrom('mfa_factors').where('domain_id', '=', domainId).where('user_id', '=', userId).executeTakeFirst());
  }
  async replaceRecoveryCodes(domainId: string, userId: string, hashes: readonly string[]) {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('recovery_codes').where('domain_id', '=', domainId).where('user_id', '=', userId).execute();
      if (hashes.length > 0) {
        await trx.insertInto('recovery_codes').values(hashes.map((hash) => ({ domain_id: domainId, user_id: userId, hash, used_at: null }))).execute();
      }
    });
  }
  async useRecoveryCode(domainId: string, userId: string, hash: string, now: number) {
    return changed(await this.db.updateTable('recovery_codes').set({ used_at: now }).where('domain_id', '=', domainId)
      .where('user_id', '=', userId).where('hash', '=', hash).where('used_at', 'is', null).executeTakeFirst()) === 1;
  }
  async remainingRecoveryCodes(domainId: string, userId: string) {
    const r = await this.db.selectFrom('recovery_codes').select((eb) => eb.fn.countAll<number>().as('n')).where('domain_id', '=', domainId)
      .where('user_id', '=', userId).where('used_at', 'is', null).executeTakeFirstOrThrow();
    return num(r.n);
  }
}
