import { PostgresAdapter, sql, type Kysely, type RawBuilder, type Selectable, type SqlBool } from 'kysely';
import { signInKey, userNameKey } from '../identity/usernames.js';
import { likePattern, type SqlColumn, type SqlOrder, type SqlWhere } from '../scim/sql.js';
import type { DB } from './schema.js';
import {
  StaleVersion, type GroupMember, type GroupMemberView, type GroupRecord, type GroupRepository, type MembershipView, type MemberType,
  type PageQuery, type UserRecord, type UserRepository,
} from './ports.js';
import { asConflict } from './errors.js';

/** Tables of migration 0002 (same portable conventions as schema.ts: epoch ms, 0/1, JSON text). */
export interface UsersTable {
  id: string; domain_id: string; user_name: string; user_name_lower: string; external_id: string | null; active: number;
  display_name: string | null; display_name_lower: string | null; given_name_lower: string | null; family_name_lower: string | null;
  email_lower: string | null; data: string; password_hash: string | null; password_history: string;
  /** Migration 0005. */
  tokens_valid_after: number | null;
  version: number; created_at: number; updated_at: number;
}
export interface UserEmailsTable { user_id: string; domain_id: string; value_lower: string }
export interface GroupsTable {
  id: string; domain_id: string; display_name: string; display_name_lower: string; external_id: string | null; data: string;
  version: number; created_at: number; updated_at: number;
}
export interface GroupMembersTable { group_id: string; member_type: string; member_id: string; domain_id: string }
export type UsersDB = { users: UsersTable; user_emails: UserEmailsTable; groups: GroupsTable; group_members: GroupMembersTable };
type UDB = DB & UsersDB;

const json = (v: unknown): string => JSON.stringify(v ?? {});
const parse = <T>(s: string | null | undefined, d: T): T => (s ? (JSON.parse(s) as T) : d);
const changed = (r: { numUpdatedRows?: bigint; numDeletedRows?: bigint }): number => Number(r.numUpdatedRows ?? r.numDeletedRows ?? 0n);
/** Lower-cased copy for a case-insensitive column; JS lower-casing on both sides keeps the dialects in step (SQLite LOWER is ASCII only). */
const lower = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v.toLowerCase() : null);
const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const CHUNK = 500;
const chunks = <T>(xs: readonly T[]): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += CHUNK) out.push(xs.slice(i, i + CHUNK));
  return out;
};

/**
 * The SQL of a storage-neutral filter tree (src/scim/sql.ts) for one resource table. Every leaf is
 * two-valued (`col IS NOT NULL AND ...`), so NOT behaves as the in-memory evaluator does. String
 * order on PostgreSQL uses the "C" collation so that gt/lt and sorting compare code points as SQLite
 * (BINARY) does, whatever the database's locale.
 */
export class SqlWhereCompiler {
  constructor(private readonly pg: boolean, private readonly parentTable: string) {}

  private ref(c: SqlColumn): RawBuilder<unknown> { return sql.ref(`${c.table}.${c.name}`); }
  private ordered(c: SqlColumn): RawBuilder<unknown> {
    return this.pg && c.type === 'string' ? sql`${this.ref(c)} COLLATE "C"` : this.ref(c);
  }

  where(w: SqlWhere): RawBuilder<SqlBool> {
    switch (w.kind) {
      case 'const': return w.value ? sql<SqlBool>`1 = 1` : sql<SqlBool>`1 = 0`;
      case 'present': return sql<SqlBool>`${this.ref(w.column)} IS NOT NULL`;
      case 'and':
      case 'or':
        if (w.items.length === 0) return this.where({ kind: 'const', value: w.kind === 'and' });
        return sql<SqlBool>`(${sql.join(w.items.map((i) => this.where(i)), w.kind === 'and' ? sql` AND ` : sql` OR `)})`;
      case 'not': return sql<SqlBool>`NOT (${this.where(w.item)})`;
      case 'exists': {
        const fk = sql.ref(`${w.child.table}.${w.child.fk}`);
        return sql<SqlBool>`EXISTS (SELECT 1 FROM ${sql.table(w.child.table)} WHERE ${fk} = ${sql.ref(`${this.parentTable}.id`)} AND ${this.where(w.where)})`;
      }
      case 'cmp': {
        const col = this.ref(w.column);
        const v = w.value;
        const test = ((): RawBuilder<unknown> => {
          switch (w.op) {
            case 'eq': return sql`${col} = ${v}`;
            case 'ne': return sql`${col} <> ${v}`;
            case 'gt': return sql`${this.ordered(w.column)} > ${v}`;
            case 'ge': return sql`${this.ordered(w.column)} >= ${v}`;
            case 'lt': return sql`${this.ordered(w.column)} < ${v}`;
            case 'le': return sql`${this.ordered(w.column)} <= ${v}`;
            default: {
              const s = String(v);
              if (!w.column.caseExact) {
                // Column and operand are both lower-case, so LIKE's case rules (SQLite folds ASCII,
                // PostgreSQL does not) agree; `\` escapes the client's % and _.
                return sql`${col} LIKE ${likePattern(w.op, s)} ESCAPE '\\'`;
              }
              // caseExact: no LIKE (SQLite's is case-insensitive); compare substrings instead.
              const n = [...s].length;
              if (w.op === 'sw') return sql`substr(${col}, 1, ${n}) = ${s}`;
              if (w.op === 'ew') return sql`(length(${col}) >= ${n} AND substr(${col}, length(${col}) - ${n} + 1) = ${s})`;
              return this.pg ? sql`strpos(${col}, ${s}) > 0` : sql`instr(${col}, ${s}) > 0`;
            }
          }
        })();
        return sql<SqlBool>`(${col} IS NOT NULL AND ${test})`;
      }
    }
  }

  /**
   * ORDER BY terms: unassigned values last in either direction and ties in creation order (as the
   * in-memory sort), then by id so pages never overlap.
   */
  order(o: SqlOrder | undefined): RawBuilder<unknown> {
    const stable = sql`${sql.ref(`${this.parentTable}.created_at`)}, ${sql.ref(`${this.parentTable}.id`)}`;
    if (!o) return stable;
    const dir = o.descending ? sql`DESC` : sql`ASC`;
    return sql`CASE WHEN ${this.ref(o.column)} IS NULL THEN 1 ELSE 0 END, ${this.ordered(o.column)} ${dir}, ${stable}`;
  }
}

const isPg = (db: Kysely<DB>): boolean => db.getExecutor().adapter instanceof PostgresAdapter;

/** The user's primary email (RFC 7643 §2.4: the `primary` value, else the first). */
function primaryEmail(emails: unknown): unknown {
  if (!Array.isArray(emails)) return undefined;
  const p = emails.find((e) => e && typeof e === 'object' && (e as { primary?: unknown }).primary === true) ?? emails[0];
  return p && typeof p === 'object' ? (p as { value?: unknown }).value : undefined;
}

export class KyselyUserRepository implements UserRepository {
  private readonly db: Kysely<UDB>;
  private readonly compiler: SqlWhereCompiler;
  constructor(db: Kysely<DB>) {
    this.db = db.withTables<UsersDB>();
    this.compiler = new SqlWhereCompiler(isPg(db), 'users');
  }

  private map(r: Selectable<UsersTable>): UserRecord {
    const u: UserRecord = {
      id: r.id, domainId: r.domain_id, userName: r.user_name, active: r.active === 1, attributes: parse(r.data, {}),
      passwordHistory: parse(r.password_history, []), version: r.version, createdAt: r.created_at, updatedAt: r.updated_at,
    };
    if (r.external_id !== null) u.externalId = r.external_id;
    if (r.password_hash !== null) u.passwordHash = r.password_hash;
    if (r.tokens_valid_after !== null) u.tokensValidAfter = r.tokens_valid_after;
    return u;
  }
  private row(u: UserRecord): UsersTable {
    const a = u.attributes;
    const name = (a.name && typeof a.name === 'object' ? a.name : {}) as Record<string, unknown>;
    return {
      id: u.id, domain_id: u.domainId, user_name: u.userName, user_name_lower: userNameKey(u.userName), external_id: u.externalId ?? null,
      active: u.active ? 1 : 0, display_name: str(a.displayName), display_name_lower: lower(a.displayName),
      given_name_lower: lower(name.givenName), family_name_lower: lower(name.familyName), email_lower: lower(primaryEmail(a.emails)),
      data: json(a), password_hash: u.passwordHash ?? null, password_history: JSON.stringify(u.passwordHistory),
      tokens_valid_after: u.tokensValidAfter ?? null, version: u.version, created_at: u.createdAt, updated_at: u.updatedAt,
    };
  }
  private emailRows(u: UserRecord): UserEmailsTable[] {
    const emails = Array.isArray(u.attributes.emails) ? (u.attributes.emails as unknown[]) : [];
    const values = new Set(emails.map((e) => lower((e as { value?: unknown } | null)?.value)).filter((x): x is string => x !== null));
    return [...values].map((value_lower) => ({ user_id: u.id, domain_id: u.domainId, value_lower }));
  }

  async get(domainId: string, id: string) {
    const r = await this.db.selectFrom('users').selectAll().where('domain_id', '=', domainId).where('id', '=', id).executeTakeFirst();
    return r && this.map(r);
  }
  async getByUserName(domainId: string, userName: string) {
    // A name RFC 8265 refuses (invisible, bidi-control, unpaired surrogate...) is nobody's: no query.
    const key = signInKey(userName);
    if (key === undefined) return undefined;
    const r = await this.db.selectFrom('users').selectAll().where('domain_id', '=', domainId)
      .where('user_name_lower', '=', key).executeTakeFirst();
    return r && this.map(r);
  }
  async findBy(domainId: string, attribute: 'email' | 'externalId', value: string, limit: number) {
    if (value.length === 0 || value.length > 1024 || value.includes('\0')) return [];
    const rows = attribute === 'email'
      ? await this.db.selectFrom('users').innerJoin('user_emails', 'user_emails.user_id', 'users.id').selectAll('users')
        .where('users.domain_id', '=', domainId).where('user_emails.value_lower', '=', value.toLowerCase()).limit(limit).execute()
      : await this.db.selectFrom('users').selectAll().where('domain_id', '=', domainId).where('external_id', '=', value).limit(limit).execute();
    return rows.map((r) => this.map(r as Selectable<UsersTable>));
  }
  async getMany(domainId: string, ids: readonly string[]) {
    const out: UserRecord[] = [];
    for (const part of chunks([...new Set(ids)])) {
      const rows = await this.db.selectFrom('users').selectAll().where('domain_id', '=', domainId).where('id', 'in', part).execute();
      out.push(...rows.map((r) => this.map(r)));
    }
    return out;
  }
  async query(domainId: string, q: PageQuery) {
    const base = this.db.selectFrom('users').where('domain_id', '=', domainId).where(q.where ? this.compiler.where(q.where) : sql<SqlBool>`1 = 1`);
    const total = Number((await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    if (q.limit <= 0 || q.offset >= total) return { total, items: [] };
    const rows = await base.selectAll().orderBy(this.compiler.order(q.order)).offset(q.offset).limit(q.limit).execute();
    return { total, items: rows.map((r) => this.map(r as Selectable<UsersTable>)) };
  }
  async create(u: UserRecord) {
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('users').values(this.row(u)).execute();
        const emails = this.emailRows(u);
        if (emails.length) await trx.insertInto('user_emails').values(emails).execute();
      });
    } catch (e) { throw asConflict(e, { user_name: 'userName' }) ?? e; }
  }
  async update(u: UserRecord, expectedVersion: number) {
    const next = { ...u, version: expectedVersion + 1 };
    try {
      await this.db.transaction().execute(async (trx) => {
        const r = await trx.updateTable('users').set(this.row(next)).where('domain_id', '=', u.domainId).where('id', '=', u.id)
          .where('version', '=', expectedVersion).executeTakeFirst();
        if (changed(r) !== 1) throw new StaleVersion();
        await trx.deleteFrom('user_emails').where('user_id', '=', u.id).execute();
        const emails = this.emailRows(next);
        if (emails.length) await trx.insertInto('user_emails').values(emails).execute();
      });
    } catch (e) { throw asConflict(e, { user_name: 'userName' }) ?? e; }
    return next;
  }
  async delete(domainId: string, id: string, expectedVersion?: number) {
    return this.db.transaction().execute(async (trx) => {
      let q = trx.deleteFrom('users').where('domain_id', '=', domainId).where('id', '=', id);
      if (expectedVersion !== undefined) q = q.where('version', '=', expectedVersion);
      if (changed(await q.executeTakeFirst()) !== 1) return false;
      await trx.deleteFrom('group_members').where('domain_id', '=', domainId).where('member_type', '=', 'User').where('member_id', '=', id).execute();
      return true;
    });
  }
}

export class KyselyGroupRepository implements GroupRepository {
  private readonly db: Kysely<UDB>;
  private readonly compiler: SqlWhereCompiler;
  constructor(db: Kysely<DB>) {
    this.db = db.withTables<UsersDB>();
    this.compiler = new SqlWhereCompiler(isPg(db), 'groups');
  }

  private map(r: Selectable<GroupsTable>): GroupRecord {
    const g: GroupRecord = {
      id: r.id, domainId: r.domain_id, displayName: r.display_name, attributes: parse(r.data, {}), version: r.version,
      createdAt: r.created_at, updatedAt: r.updated_at,
    };
    if (r.external_id !== null) g.externalId = r.external_id;
    return g;
  }
  private row(g: GroupRecord): GroupsTable {
    return {
      id: g.id, domain_id: g.domainId, display_name: g.displayName, display_name_lower: g.displayName.toLowerCase(), external_id: g.externalId ?? null,
      data: json(g.attributes), version: g.version, created_at: g.createdAt, updated_at: g.updatedAt,
    };
  }
  private memberRows(g: GroupRecord, members: readonly GroupMember[]): GroupMembersTable[] {
    const seen = new Set<string>();
    const out: GroupMembersTable[] = [];
    for (const m of members) {
      const k = `${m.type}\n${m.id}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ group_id: g.id, member_type: m.type, member_id: m.id, domain_id: g.domainId });
    }
    return out;
  }

  async get(domainId: string, id: string) {
    const r = await this.db.selectFrom('groups').selectAll().where('domain_id', '=', domainId).where('id', '=', id).executeTakeFirst();
    return r && this.map(r);
  }
  async getMany(domainId: string, ids: readonly string[]) {
    const out: GroupRecord[] = [];
    for (const part of chunks([...new Set(ids)])) {
      const rows = await this.db.selectFrom('groups').selectAll().where('domain_id', '=', domainId).where('id', 'in', part).execute();
      out.push(...rows.map((r) => this.map(r)));
    }
    return out;
  }
  async query(domainId: string, q: PageQuery) {
    const base = this.db.selectFrom('groups').where('domain_id', '=', domainId).where(q.where ? this.compiler.where(q.where) : sql<SqlBool>`1 = 1`);
    const total = Number((await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    if (q.limit <= 0 || q.offset >= total) return { total, items: [] };
    const rows = await base.selectAll().orderBy(this.compiler.order(q.order)).offset(q.offset).limit(q.limit).execute();
    return { total, items: rows.map((r) => this.map(r as Selectable<GroupsTable>)) };
  }
  async create(g: GroupRecord, members: readonly GroupMember[]) {
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('groups').values(this.row(g)).execute();
        for (const part of chunks(this.memberRows(g, members))) await trx.insertInto('group_members').values(part).execute();
      });
    } catch (e) { throw asConflict(e, { display_name: 'displayName' }) ?? e; }
  }
  async update(g: GroupRecord, expectedVersion: number, members: readonly GroupMember[]) {
    const next = { ...g, version: expectedVersion + 1 };
    try {
      await this.db.transaction().execute(async (trx) => {
        const r = await trx.updateTable('groups').set(this.row(next)).where('domain_id', '=', g.domainId).where('id', '=', g.id)
          .where('version', '=', expectedVersion).executeTakeFirst();
        if (changed(r) !== 1) throw new StaleVersion();
        const key = (t: string, id: string) => `${t}\n${id}`;
        const current = await trx.selectFrom('group_members').select(['member_type', 'member_id']).where('group_id', '=', g.id).execute();
        const have = new Set(current.map((m) => key(m.member_type, m.member_id)));
        const wanted = this.memberRows(next, members);
        const want = new Set(wanted.map((m) => key(m.member_type, m.member_id)));
        for (const type of ['User', 'Group']) {
          const gone = current.filter((m) => m.member_type === type && !want.has(key(m.member_type, m.member_id))).map((m) => m.member_id);
          for (const part of chunks(gone)) {
            await trx.deleteFrom('group_members').where('group_id', '=', g.id).where('member_type', '=', type).where('member_id', 'in', part).execute();
          }
        }
        const added = wanted.filter((m) => !have.has(key(m.member_type, m.member_id)));
        for (const part of chunks(added)) await trx.insertInto('group_members').values(part).execute();
      });
    } catch (e) { throw asConflict(e, { display_name: 'displayName' }) ?? e; }
    return next;
  }
  async delete(domainId: string, id: string, expectedVersion?: number) {
    return this.db.transaction().execute(async (trx) => {
      let q = trx.deleteFrom('groups').where('domain_id', '=', domainId).where('id', '=', id);
      if (expectedVersion !== undefined) q = q.where('version', '=', expectedVersion);
      if (changed(await q.executeTakeFirst()) !== 1) return false;
      // Its own member rows go by the foreign key; its rows as a member of other groups go here.
      await trx.deleteFrom('group_members').where('domain_id', '=', domainId).where('member_type', '=', 'Group').where('member_id', '=', id).execute();
      return true;
    });
  }
  async members(domainId: string, groupIds: readonly string[]) {
    const out = new Map<string, GroupMemberView[]>();
    for (const id of groupIds) out.set(id, []);
    for (const part of chunks([...new Set(groupIds)])) {
      const rows = await this.db.selectFrom('group_members as gm')
        .leftJoin('users as u', (j) => j.onRef('u.id', '=', 'gm.member_id').on('gm.member_type', '=', 'User'))
        .leftJoin('groups as g2', (j) => j.onRef('g2.id', '=', 'gm.member_id').on('gm.member_type', '=', 'Group'))
        .select(['gm.group_id', 'gm.member_type', 'gm.member_id', 'u.display_name as u_display', 'u.user_name as u_name', 'g2.display_name as g_display'])
        .where('gm.domain_id', '=', domainId).where('gm.group_id', 'in', part)
        .orderBy('gm.group_id').orderBy('gm.member_type').orderBy('gm.member_id').execute();
      for (const r of rows) {
        const display = r.member_type === 'User' ? (r.u_display ?? r.u_name ?? undefined) : (r.g_display ?? undefined);
        const m: GroupMemberView = { type: r.member_type as MemberType, id: r.member_id };
        if (display !== undefined) m.display = display;
        out.get(r.group_id)?.push(m);
      }
    }
    return out;
  }
  async groupsOf(domainId: string, type: MemberType, memberIds: readonly string[]) {
    const out = new Map<string, MembershipView[]>();
    for (const id of memberIds) out.set(id, []);
    for (const part of chunks([...new Set(memberIds)])) {
      const rows = await this.db.selectFrom('group_members as gm').innerJoin('groups as g', 'g.id', 'gm.group_id')
        .select(['gm.member_id', 'g.id', 'g.display_name']).where('gm.domain_id', '=', domainId).where('gm.member_type', '=', type)
        .where('gm.member_id', 'in', part).orderBy('g.display_name_lower').orderBy('g.id').execute();
      for (const r of rows) out.get(r.member_id)?.push({ groupId: r.id, displayName: r.display_name });
    }
    return out;
  }
}
