import type { CompiledQuery, Kysely, Selectable, UpdateQueryBuilder, UpdateResult } from 'kysely';
import type {
  AppRecord, AppRoleRecord, AuditEventRecord, DomainRecord, GrantRecord, GranteeType, SigningKeyRecord, TokenRecord,
} from '../core/types.js';
import type { AppsTable, AppRolesTable, AuditEventsTable, DB, GrantsTable, SigningKeysTable, TokensTable } from './schema.js';
import {
  StaleVersion, type AppRepository, type AppRoleRepository, type AssertionJtiRepository, type AuditQuery, type AuditRepository,
  type DomainRepository, type GrantRepository, type Repositories, type RevocationRepository, type SigningKeyRepository, type TokenRepository,
} from './ports.js';
import { asConflict } from './errors.js';
import type { ChangeRecorder } from '../cache/changes.js';
import { KyselyGroupRepository, KyselyUserRepository } from './kysely_users.js';
import { KyselyTrustedIssuerRepository } from './kysely_federation.js';
import { KyselyDeviceCodeRepository } from './kysely_device.js';
import {
  KyselyAuthFlowRepository, KyselyAuthorizationCodeRepository, KyselyConsentRepository, KyselyLoginThrottleRepository, KyselyMfaRepository,
  KyselySessionRepository,
} from './kysely_signin.js';

const json = (v: unknown): string => JSON.stringify(v ?? {});
const parse = <T>(s: string | null | undefined, d: T): T => (s ? (JSON.parse(s) as T) : d);
const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);
/** Optional fields are absent, not `undefined`, so records round-trip exactly. */
function strip<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
type TokenUpdate = UpdateQueryBuilder<DB, 'tokens', 'tokens', UpdateResult>;
const changed = (r: { numUpdatedRows?: bigint; numDeletedRows?: bigint }): number => Number(r.numUpdatedRows ?? r.numDeletedRows ?? 0n);

/**
 * A query compiled once with marker parameters and executed with real ones: the hot point lookups
 * (token by hash, revoked jti) skip Kysely's builder and compiler on every request. The SQL text is
 * the dialect's own, so this works on SQLite and PostgreSQL alike.
 */
function precompiled<R>(db: Kysely<DB>, q: { compile(): CompiledQuery<R> }) {
  const compiled = q.compile();
  return async (...parameters: unknown[]): Promise<R[]> =>
    (await db.executeQuery<R>({ ...compiled, parameters })).rows;
}

class KyselyDomainRepository implements DomainRepository {
  constructor(private db: Kysely<DB>, private changes: ChangeRecorder) {}
  private map(r: Selectable<DB['domains']>): DomainRecord {
    return { id: r.id, name: r.name, displayName: r.display_name, settings: parse(r.settings, {}), createdAt: r.created_at, updatedAt: r.updated_at };
  }
  async get(id: string) {
    const r = await this.db.selectFrom('domains').selectAll().where('id', '=', id).executeTakeFirst();
    return r && this.map(r);
  }
  async getByName(name: string) {
    const r = await this.db.selectFrom('domains').selectAll().where('name', '=', name).executeTakeFirst();
    return r && this.map(r);
  }
  async list() {
    return (await this.db.selectFrom('domains').selectAll().orderBy('name').execute()).map((r) => this.map(r));
  }
  async create(d: DomainRecord) {
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('domains').values({
          id: d.id, name: d.name, display_name: d.displayName, settings: json(d.settings), created_at: d.createdAt, updated_at: d.updatedAt,
        }).execute();
        // Nodes may have cached "no such domain" under this name.
        await this.changes.record(trx, { domainId: d.id, kind: 'domain', id: d.name });
      });
    } catch (e) { throw asConflict(e, { name: 'name' }) ?? e; }
  }
  async updateSettings(id: string, settings: DomainRecord['settings'], now: number) {
    await this.db.transaction().execute(async (trx) => {
      const r = await trx.updateTable('domains').set({ settings: json(settings), updated_at: now }).where('id', '=', id).returning('name').executeTakeFirst();
      if (r) await this.changes.record(trx, { domainId: id, kind: 'domain', id: r.name });
    });
  }
}

class KyselySigningKeyRepository implements SigningKeyRepository {
  constructor(private db: Kysely<DB>, private changes: ChangeRecorder) {}
  private map(r: Selectable<SigningKeysTable>): SigningKeyRecord {
    return strip({
      kid: r.kid, domainId: r.domain_id, alg: r.alg as SigningKeyRecord['alg'], status: r.status, publicJwk: parse(r.public_jwk, { kty: '' }),
      privateJwkEnc: r.private_jwk_enc, createdAt: r.created_at, activatedAt: opt(r.activated_at), retiredAt: opt(r.retired_at), expiresAt: opt(r.expires_at),
    });
  }
  private row(k: SigningKeyRecord): SigningKeysTable {
    return {
      kid: k.kid, domain_id: k.domainId, alg: k.alg, status: k.status, public_jwk: json(k.publicJwk), private_jwk_enc: k.privateJwkEnc,
      created_at: k.createdAt, activated_at: k.activatedAt ?? null, retired_at: k.retiredAt ?? null, expires_at: k.expiresAt ?? null,
    };
  }
  async list(domainId: string) {
    return (await this.db.selectFrom('signing_keys').selectAll().where('domain_id', '=', domainId).orderBy('created_at').execute()).map((r) => this.map(r));
  }
  async insert(k: SigningKeyRecord) {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('signing_keys').values(this.row(k)).execute();
      await this.changes.record(trx, { domainId: k.domainId, kind: 'keys' });
    });
  }
  async rotate(domainId: string, alg: string, expectedNextKid: string, newNext: SigningKeyRecord, now: number, retiredExpiresAt: number) {
    class LostRace extends Error {}
    try {
      return await this.db.transaction().execute(async (trx) => {
        // Retire first (at most one active key per alg is enforced by a partial unique index), then the
        // conditional promote is the lock: if another node already promoted this key, roll everything back.
        await trx.updateTable('signing_keys').set({ status: 'retired', retired_at: now, expires_at: retiredExpiresAt })
          .where('domain_id', '=', domainId).where('alg', '=', alg).where('status', '=', 'active').execute();
        const promoted = await trx.updateTable('signing_keys').set({ status: 'active', activated_at: now })
          .where('kid', '=', expectedNextKid).where('domain_id', '=', domainId).where('status', '=', 'next').executeTakeFirst();
        if (changed(promoted) !== 1) throw new LostRace();
        await trx.insertInto('signing_keys').values(this.row(newNext)).execute();
        await this.changes.record(trx, { domainId, kind: 'keys' });
        return true;
      });
    } catch (e) {
      if (e instanceof LostRace) return false;
      throw e;
    }
  }
  async activate(domainId: string, alg: string, expectedNextKid: string, newNext: SigningKeyRecord, now: number) {
    class LostRace extends Error {}
    try {
      return await this.db.transaction().execute(async (trx) => {
        // The conditional promote is the lock (as in rotate): on PostgreSQL a concurrent promoter
        // waits for the row and then finds it no longer `next`; the partial unique index on active
        // keys backs up the NOT EXISTS.
        const promoted = await trx.updateTable('signing_keys').set({ status: 'active', activated_at: now })
          .where('kid', '=', expectedNextKid).where('domain_id', '=', domainId).where('alg', '=', alg).where('status', '=', 'next')
          .where(({ not, exists, selectFrom }) => not(exists(selectFrom('signing_keys as a').select('a.kid')
            .where('a.domain_id', '=', domainId).where('a.alg', '=', alg).where('a.status', '=', 'active'))))
          .executeTakeFirst();
        if (changed(promoted) !== 1) throw new LostRace();
        await trx.insertInto('signing_keys').values(this.row(newNext)).execute();
        await this.changes.record(trx, { domainId, kind: 'keys' });
        return true;
      });
    } catch (e) {
      if (e instanceof LostRace) return false;
      // A concurrent first activation that got past the NOT EXISTS trips the one-active index.
      if (asConflict(e, {}) !== undefined) return false;
      throw e;
    }
  }
  async deleteExpired(now: number) {
    return this.db.transaction().execute(async (trx) => {
      const gone = await trx.deleteFrom('signing_keys').where('status', '=', 'retired').where('expires_at', '<', now).returning('domain_id').execute();
      await this.changes.record(trx, ...[...new Set(gone.map((r) => r.domain_id))].map((domainId) => ({ domainId, kind: 'keys' as const })));
      return gone.length;
    });
  }
}

const APP_CONFLICTS = { client_id: 'name', apps_client_id_uq: 'name', audience: 'audience', apps_audience_uq: 'audience', app_scopes: 'scopes' };

class KyselyAppRepository implements AppRepository {
  constructor(private db: Kysely<DB>, private changes: ChangeRecorder) {}
  private change(a: { domainId: string; clientId?: string | null }) { return { domainId: a.domainId, kind: 'app' as const, ...(a.clientId ? { id: a.clientId } : {}) }; }
  private map(r: Selectable<AppsTable>): AppRecord {
    const d = parse<Partial<AppRecord>>(r.data, {});
    return strip({
      ...(d as AppRecord),
      id: r.id, domainId: r.domain_id, clientId: opt(r.client_id), displayName: r.display_name, active: r.active === 1,
      isOAuthClient: r.is_client === 1, isOAuthResource: r.is_resource === 1, audience: opt(r.audience), isBuiltIn: r.is_builtin === 1,
      secretHash: opt(r.secret_hash), secretEnc: opt(r.secret_enc), registrationTokenHash: opt(r.registration_token_hash),
      version: r.version, createdAt: r.created_at, updatedAt: r.updated_at,
    });
  }
  private row(a: AppRecord): AppsTable {
    const { id, domainId, clientId, displayName, active, isOAuthClient, isOAuthResource, audience, isBuiltIn, secretHash, secretEnc,
      registrationTokenHash, version, createdAt, updatedAt, ...data } = a;
    return {
      id, domain_id: domainId, client_id: clientId ?? null, display_name: displayName, active: active ? 1 : 0,
      is_client: isOAuthClient ? 1 : 0, is_resource: isOAuthResource ? 1 : 0, audience: audience ?? null, is_builtin: isBuiltIn ? 1 : 0,
      secret_hash: secretHash ?? null, secret_enc: secretEnc ?? null, registration_token_hash: registrationTokenHash ?? null,
      data: json(data), version, created_at: createdAt, updated_at: updatedAt,
    };
  }
  private scopeRows(a: AppRecord) {
    return a.isOAuthResource ? a.scopes.map((s) => ({ domain_id: a.domainId, scope: s.value, app_id: a.id })) : [];
  }
  async get(domainId: string, id: string) {
    const r = await this.db.selectFrom('apps').selectAll().where('domain_id', '=', domainId).where('id', '=', id).executeTakeFirst();
    return r && this.map(r);
  }
  async getByClientId(domainId: string, clientId: string) {
    const r = await this.db.selectFrom('apps').selectAll().where('domain_id', '=', domainId).where('client_id', '=', clientId).executeTakeFirst();
    return r && this.map(r);
  }
  async list(domainId: string) {
    return (await this.db.selectFrom('apps').selectAll().where('domain_id', '=', domainId).orderBy('created_at').orderBy('id').execute()).map((r) => this.map(r));
  }
  async create(a: AppRecord) {
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('apps').values(this.row(a)).execute();
        const scopes = this.scopeRows(a);
        if (scopes.length) await trx.insertInto('app_scopes').values(scopes).execute();
        // Nodes may have cached "no such client" under this client id.
        await this.changes.record(trx, this.change(a));
      });
    } catch (e) { throw asConflict(e, APP_CONFLICTS) ?? e; }
  }
  async update(a: AppRecord, expectedVersion: number) {
    const next = { ...a, version: expectedVersion + 1 };
    try {
      await this.db.transaction().execute(async (trx) => {
        // The client id it had before (the same, unless it was changed) is what other nodes cached it under.
        const before = await trx.selectFrom('apps').select('client_id').where('domain_id', '=', a.domainId).where('id', '=', a.id).executeTakeFirst();
        const r = await trx.updateTable('apps').set(this.row(next)).where('domain_id', '=', a.domainId).where('id', '=', a.id)
          .where('version', '=', expectedVersion).executeTakeFirst();
        if (changed(r) !== 1) throw new StaleVersion();
        await this.changes.record(trx, this.change({ domainId: a.domainId, clientId: before?.client_id }),
          ...(next.clientId && next.clientId !== before?.client_id ? [this.change(next)] : []));
        await trx.deleteFrom('app_scopes').where('app_id', '=', a.id).execute();
        const scopes = this.scopeRows(next);
        if (scopes.length) await trx.insertInto('app_scopes').values(scopes).execute();
      });
    } catch (e) { throw asConflict(e, APP_CONFLICTS) ?? e; }
    return next;
  }
  async delete(domainId: string, id: string, expectedVersion?: number) {
    return this.db.transaction().execute(async (trx) => {
      let q = trx.deleteFrom('apps').where('domain_id', '=', domainId).where('id', '=', id);
      if (expectedVersion !== undefined) q = q.where('version', '=', expectedVersion);
      const gone = await q.returning('client_id').executeTakeFirst();
      if (gone) await this.changes.record(trx, this.change({ domainId, clientId: gone.client_id }));
      return gone !== undefined;
    });
  }
}

class KyselyAppRoleRepository implements AppRoleRepository {
  constructor(private db: Kysely<DB>, private changes: ChangeRecorder) {}
  private map(r: Selectable<AppRolesTable>): AppRoleRecord {
    const d = parse<{ description?: string; scopes?: string[] }>(r.data, {});
    return strip({
      id: r.id, domainId: r.domain_id, appId: r.app_id, displayName: r.display_name, description: d.description, scopes: d.scopes ?? [],
      isBuiltIn: r.is_builtin === 1, version: r.version, createdAt: r.created_at, updatedAt: r.updated_at,
    });
  }
  private row(a: AppRoleRecord): AppRolesTable {
    return {
      id: a.id, domain_id: a.domainId, app_id: a.appId, display_name: a.displayName, is_builtin: a.isBuiltIn ? 1 : 0,
      data: json({ description: a.description, scopes: a.scopes }), version: a.version, created_at: a.createdAt, updated_at: a.updatedAt,
    };
  }
  async get(domainId: string, id: string) {
    const r = await this.db.selectFrom('app_roles').selectAll().where('domain_id', '=', domainId).where('id', '=', id).executeTakeFirst();
    return r && this.map(r);
  }
  async list(domainId: string) {
    return (await this.db.selectFrom('app_roles').selectAll().where('domain_id', '=', domainId).orderBy('created_at').orderBy('id').execute()).map((r) => this.map(r));
  }
  async create(a: AppRoleRecord) {
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('app_roles').values(this.row(a)).execute();
        await this.changes.record(trx, { domainId: a.domainId, kind: 'catalog' });
      });
    } catch (e) { throw asConflict(e, { display_name: 'displayName', app_roles_name_uq: 'displayName' }) ?? e; }
  }
  async update(a: AppRoleRecord, expectedVersion: number) {
    const next = { ...a, version: expectedVersion + 1 };
    try {
      await this.db.transaction().execute(async (trx) => {
        const r = await trx.updateTable('app_roles').set(this.row(next)).where('domain_id', '=', a.domainId).where('id', '=', a.id)
          .where('version', '=', expectedVersion).executeTakeFirst();
        if (changed(r) !== 1) throw new StaleVersion();
        await this.changes.record(trx, { domainId: a.domainId, kind: 'catalog' });
      });
    } catch (e) { throw asConflict(e, { display_name: 'displayName', app_roles_name_uq: 'displayName' }) ?? e; }
    return next;
  }
  async delete(domainId: string, id: string, expectedVersion?: number) {
    return this.db.transaction().execute(async (trx) => {
      let q = trx.deleteFrom('app_roles').where('domain_id', '=', domainId).where('id', '=', id);
      if (expectedVersion !== undefined) q = q.where('version', '=', expectedVersion);
      const ok = changed(await q.executeTakeFirst()) === 1;
      if (ok) await this.changes.record(trx, { domainId, kind: 'catalog' });
      return ok;
    });
  }
}

/**
 * Only grants to apps are cached (in the domain's catalog); a user's or group's roles are read from the
 * store on every use, so their grants announce nothing.
 */
class KyselyGrantRepository implements GrantRepository {
  constructor(private db: Kysely<DB>, private changes: ChangeRecorder) {}
  private map(r: Selectable<GrantsTable>): GrantRecord {
    return strip({
      id: r.id, domainId: r.domain_id, appId: r.app_id, appRoleId: r.app_role_id, granteeType: r.grantee_type as GranteeType,
      granteeId: r.grantee_id, mechanism: r.mechanism, version: r.version, createdAt: r.created_at, updatedAt: r.updated_at,
    });
  }
  async get(domainId: string, id: string) {
    const r = await this.db.selectFrom('grants').selectAll().where('domain_id', '=', domainId).where('id', '=', id).executeTakeFirst();
    return r && this.map(r);
  }
  async list(domainId: string) {
    return (await this.db.selectFrom('grants').selectAll().where('domain_id', '=', domainId).orderBy('created_at').orderBy('id').execute()).map((r) => this.map(r));
  }
  async listForGrantee(domainId: string, granteeType: string, granteeId: string) {
    return (await this.db.selectFrom('grants').selectAll().where('domain_id', '=', domainId).where('grantee_type', '=', granteeType)
      .where('grantee_id', '=', granteeId).execute()).map((r) => this.map(r));
  }
  async create(g: GrantRecord) {
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('grants').values({
          id: g.id, domain_id: g.domainId, app_id: g.appId, app_role_id: g.appRoleId, grantee_type: g.granteeType, grantee_id: g.granteeId,
          mechanism: g.mechanism, version: g.version, created_at: g.createdAt, updated_at: g.updatedAt,
        }).execute();
        if (g.granteeType === 'App') await this.changes.record(trx, { domainId: g.domainId, kind: 'catalog' });
      });
    } catch (e) { throw asConflict(e, { grants: 'grantee' }) ?? e; }
  }
  async delete(domainId: string, id: string, expectedVersion?: number) {
    return this.db.transaction().execute(async (trx) => {
      let q = trx.deleteFrom('grants').where('domain_id', '=', domainId).where('id', '=', id);
      if (expectedVersion !== undefined) q = q.where('version', '=', expectedVersion);
      const gone = await q.returning('grantee_type').executeTakeFirst();
      if (gone?.grantee_type === 'App') await this.changes.record(trx, { domainId, kind: 'catalog' });
      return gone !== undefined;
    });
  }
  async deleteForGrantee(domainId: string, granteeType: string, granteeId: string) {
    const q = (db: Kysely<DB>) => db.deleteFrom('grants').where('domain_id', '=', domainId).where('grantee_type', '=', granteeType)
      .where('grantee_id', '=', granteeId).executeTakeFirst();
    // A user's grants go with the user (hot on deactivation): no transaction, nothing to announce.
    if (granteeType !== 'App') return changed(await q(this.db));
    return this.db.transaction().execute(async (trx) => {
      const n = changed(await q(trx));
      if (n > 0) await this.changes.record(trx, { domainId, kind: 'catalog' });
      return n;
    });
  }
}

class KyselyTokenRepository implements TokenRepository {
  private byHash;
  constructor(private db: Kysely<DB>) {
    this.byHash = precompiled(db, db.selectFrom('tokens').selectAll().where('hash', '=', '?hash'));
  }
  private map(r: Selectable<TokensTable>): TokenRecord {
    return strip({
      hash: r.hash, domainId: r.domain_id, kind: r.kind as TokenRecord['kind'], clientId: r.client_id, sub: r.sub, subType: r.sub_type as TokenRecord['subType'],
      scope: r.scope, aud: parse(r.aud, []), jti: r.jti, grantId: opt(r.grant_id), sessionId: opt(r.session_id), issuedAt: r.issued_at, expiresAt: r.expires_at,
      revokedAt: opt(r.revoked_at), data: parse(r.data, {}),
    });
  }
  private row(t: TokenRecord) {
    return {
      hash: t.hash, domain_id: t.domainId, kind: t.kind, client_id: t.clientId, sub: t.sub, sub_type: t.subType, scope: t.scope,
      aud: json(t.aud), jti: t.jti, grant_id: t.grantId ?? null, session_id: t.sessionId ?? null, issued_at: t.issuedAt, expires_at: t.expiresAt,
      revoked_at: t.revokedAt ?? null, data: json(t.data),
    };
  }
  async insert(t: TokenRecord) {
    await this.db.insertInto('tokens').values(this.row(t)).execute();
  }
  async rotate(oldHash: string, oldData: Record<string, unknown>, next: TokenRecord, now: number) {
    return this.db.transaction().execute(async (trx) => {
      const won = changed(await trx.updateTable('tokens').set({ revoked_at: now, data: json(oldData) })
        .where('hash', '=', oldHash).where('revoked_at', 'is', null).executeTakeFirst()) === 1;
      if (won) await trx.insertInto('tokens').values(this.row(next)).execute();
      return won;
    });
  }
  private async revokeWhere(domainId: string, now: number, narrow: (q: TokenUpdate) => TokenUpdate): Promise<string[]> {
    // One statement: the rows revoked are exactly the rows whose grant ids are returned (no token slips in between).
    const rows = await narrow(this.db.updateTable('tokens').set({ revoked_at: now }).where('domain_id', '=', domainId)
      .where('revoked_at', 'is', null).where('expires_at', '>', now)).returning('grant_id').execute() as { grant_id: string | null }[];
    return [...new Set(rows.map((r) => r.grant_id).filter((g): g is string => g !== null))];
  }
  async revokeForSession(domainId: string, sessionId: string, now: number) {
    return this.revokeWhere(domainId, now, (q) => q.where('session_id', '=', sessionId));
  }
  async revokeForClientUser(domainId: string, clientId: string, userId: string, now: number) {
    return this.revokeWhere(domainId, now, (q) => q.where('client_id', '=', clientId).where('sub_type', '=', 'user').where('sub', '=', userId));
  }
  async find(hash: string) {
    const [r] = await this.byHash(hash);
    return r && this.map(r);
  }
  async revoke(hash: string, now: number) {
    const before = await this.find(hash);
    if (!before) return undefined;
    await this.db.updateTable('tokens').set({ revoked_at: now }).where('hash', '=', hash).where('revoked_at', 'is', null).execute();
    return before;
  }
  async revokeGrant(domainId: string, grantId: string, now: number) {
    return changed(await this.db.updateTable('tokens').set({ revoked_at: now }).where('domain_id', '=', domainId)
      .where('grant_id', '=', grantId).where('revoked_at', 'is', null).executeTakeFirst());
  }
  async revokeForSubject(domainId: string, subType: TokenRecord['subType'], sub: string, now: number) {
    return this.revokeWhere(domainId, now, (q) => q.where('sub_type', '=', subType).where('sub', '=', sub));
  }
  async purgeExpired(now: number) {
    return changed(await this.db.deleteFrom('tokens').where('expires_at', '<', now).executeTakeFirst());
  }
}

class KyselyRevocationRepository implements RevocationRepository {
  private lookup;
  /** One precompiled IN-list query per list length a token can have (jti, gid, sid, a few exchanged-from ids). */
  private lookups: ((...p: unknown[]) => Promise<unknown[]>)[] = [];
  constructor(private db: Kysely<DB>) {
    this.lookup = precompiled(db, db.selectFrom('revoked_jtis').select('jti').where('jti', '=', '?jti').where('domain_id', '=', '?domain'));
    for (let n = 1; n <= 6; n++) {
      this.lookups[n] = precompiled(db, db.selectFrom('revoked_jtis').select('jti')
        .where('jti', 'in', Array.from({ length: n }, (_, i) => `?${i}`)).where('domain_id', '=', '?domain'));
    }
  }
  async anyRevoked(domainId: string, ids: readonly string[]) {
    if (ids.length === 0) return false;
    const q = this.lookups[ids.length];
    if (q) return (await q(...ids, domainId)).length > 0;
    const r = await this.db.selectFrom('revoked_jtis').select('jti').where('jti', 'in', [...ids]).where('domain_id', '=', domainId).limit(1).execute();
    return r.length > 0;
  }
  async revokeJti(domainId: string, jti: string, expiresAt: number) {
    await this.db.insertInto('revoked_jtis').values({ jti, domain_id: domainId, expires_at: expiresAt })
      .onConflict((oc) => oc.column('jti').doNothing()).execute();
  }
  async isRevoked(domainId: string, jti: string) {
    return (await this.lookup(jti, domainId)).length > 0;
  }
  async purgeExpired(now: number) {
    return changed(await this.db.deleteFrom('revoked_jtis').where('expires_at', '<', now).executeTakeFirst());
  }
}

class KyselyAssertionJtiRepository implements AssertionJtiRepository {
  constructor(private db: Kysely<DB>) {}
  async consume(domainId: string, clientId: string, jti: string, expiresAt: number, now: number) {
    // One statement, so it is atomic on both dialects: insert, or take over a record that has
    // already expired (not yet purged); a live record means replay and changes no row.
    const r = await this.db.insertInto('used_jtis').values({ domain_id: domainId, client_id: clientId, jti, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['domain_id', 'client_id', 'jti']).doUpdateSet({ expires_at: expiresAt })
        .where('used_jtis.expires_at', '<', now))
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  }
  async purgeExpired(now: number) {
    return changed(await this.db.deleteFrom('used_jtis').where('expires_at', '<', now).executeTakeFirst());
  }
}

const AUDIT_COLUMNS = ['id', 'domain_id', 'ts', 'event_id', 'outcome', 'actor_type', 'actor_id', 'actor_name', 'client_ip',
  'target_type', 'target_id', 'message', 'details'] as const satisfies readonly (keyof AuditEventsTable)[];
const AUDIT_CHUNK = 100;

class KyselyAuditRepository implements AuditRepository {
  // Building and compiling a 100-row insert costs more than running it: compile the two shapes once.
  private insertChunk: CompiledQuery;
  private insertOne: CompiledQuery;
  constructor(private db: Kysely<DB>) {
    const marker = Object.fromEntries(AUDIT_COLUMNS.map((c) => [c, `?${c}`])) as unknown as AuditEventsTable;
    this.insertChunk = db.insertInto('audit_events').values(Array.from({ length: AUDIT_CHUNK }, () => marker)).compile();
    this.insertOne = db.insertInto('audit_events').values(marker).compile();
  }
  private map(r: Selectable<AuditEventsTable>): AuditEventRecord {
    return strip({
      id: r.id, domainId: r.domain_id, ts: r.ts, eventId: r.event_id, outcome: r.outcome as AuditEventRecord['outcome'],
      actorType: opt(r.actor_type), actorId: opt(r.actor_id), actorName: opt(r.actor_name), clientIp: opt(r.client_ip),
      targetType: opt(r.target_type), targetId: opt(r.target_id), message: opt(r.message), details: r.details ? parse(r.details, {}) : undefined,
    });
  }
  async insertMany(events: AuditEventRecord[]) {
    if (!events.length) return;
    const values = (e: AuditEventRecord): unknown[] => [
      e.id, e.domainId, e.ts, e.eventId, e.outcome, e.actorType ?? null, e.actorId ?? null, e.actorName ?? null, e.clientIp ?? null,
      e.targetType ?? null, e.targetId ?? null, e.message ?? null, e.details ? json(e.details) : null,
    ];
    // One transaction per batch; full chunks in one statement each (within SQLite's variable limit).
    await this.db.transaction().execute(async (trx) => {
      let i = 0;
      for (; i + AUDIT_CHUNK <= events.length; i += AUDIT_CHUNK) {
        await trx.executeQuery({ ...this.insertChunk, parameters: events.slice(i, i + AUDIT_CHUNK).flatMap(values) });
      }
      for (; i < events.length; i++) await trx.executeQuery({ ...this.insertOne, parameters: values(events[i]!) });
    });
  }
  async get(domainId: string, id: string) {
    const r = await this.db.selectFrom('audit_events').selectAll().where('domain_id', '=', domainId).where('id', '=', id).executeTakeFirst();
    return r && this.map(r);
  }
  async query(domainId: string, q: AuditQuery) {
    let base = this.db.selectFrom('audit_events').where('domain_id', '=', domainId);
    if (q.eventId !== undefined) base = base.where('event_id', '=', q.eventId);
    if (q.actorId !== undefined) base = base.where('actor_id', '=', q.actorId);
    if (q.outcome !== undefined) base = base.where('outcome', '=', q.outcome);
    if (q.since !== undefined) base = base.where('ts', '>=', q.since);
    if (q.until !== undefined) base = base.where('ts', '<=', q.until);
    const total = Number((await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const dir = q.descending ? 'desc' : 'asc';
    const items = q.limit === 0 ? [] : await base.selectAll().orderBy('ts', dir).orderBy('id', dir).offset(q.offset).limit(q.limit).execute();
    return { total, items: items.map((r) => this.map(r)) };
  }
  async purgeBefore(ts: number) {
    return changed(await this.db.deleteFrom('audit_events').where('ts', '<', ts).executeTakeFirst());
  }
}

/** `changes` announces every write to cached data (domains, keys, apps, roles, app grants) to every node; see cache/changes.ts. */
export function kyselyRepositories(db: Kysely<DB>, changes: ChangeRecorder): Repositories {
  return {
    domains: new KyselyDomainRepository(db, changes),
    keys: new KyselySigningKeyRepository(db, changes),
    apps: new KyselyAppRepository(db, changes),
    appRoles: new KyselyAppRoleRepository(db, changes),
    grants: new KyselyGrantRepository(db, changes),
    tokens: new KyselyTokenRepository(db),
    revocations: new KyselyRevocationRepository(db),
    assertionJtis: new KyselyAssertionJtiRepository(db),
    audit: new KyselyAuditRepository(db),
    users: new KyselyUserRepository(db),
    groups: new KyselyGroupRepository(db),
    sessions: new KyselySessionRepository(db),
    authFlows: new KyselyAuthFlowRepository(db),
    codes: new KyselyAuthorizationCodeRepository(db),
    consents: new KyselyConsentRepository(db),
    throttle: new KyselyLoginThrottleRepository(db),
    mfa: new KyselyMfaRepository(db),
    trustedIssuers: new KyselyTrustedIssuerRepository(db),
    deviceCodes: new KyselyDeviceCodeRepository(db),
  };
}
