import { sql, type Generated, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../storage/schema.js';

/**
 * What a write changed, as far as the per-node caches care: the domain, the kind of cached data and,
 * where one entry is affected, its id. Every node invalidates exactly that on receipt.
 * - `domain`: the domain record (name lookup, settings); `id` is the domain's name.
 * - `app`: an app and the domain's catalog; `id` is its client id when it has one.
 * - `catalog`: the domain's catalog (app roles, role grants to apps).
 * - `keys`: the domain's signing keys.
 */
export const CHANGE_KINDS = ['domain', 'app', 'catalog', 'keys'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];
export interface CacheChange { domainId: string; kind: ChangeKind; id?: string }

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; ours stay far below (ids are bounded). */
export const MAX_PAYLOAD_BYTES = 7999;
/** No id of ours is longer (client ids are cut at 256 by the catalog; domain ids and names are short). */
const MAX_FIELD = 256;

const field = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_FIELD && !v.includes('\0');

/** `{"d":domainId,"k":kind,"i":id}`; an id that does not fit is left out, which widens the change to the whole domain (never narrows it). */
export function encodeChange(c: CacheChange): string {
  const o: Record<string, string> = { d: c.domainId, k: c.kind };
  if (c.id !== undefined && field(c.id)) o.i = c.id;
  return JSON.stringify(o);
}

/**
 * Strict: exactly the keys d, k and optionally i, strings of bounded length, a known kind. Anything else
 * (a payload from a newer release, a damaged row, someone else's NOTIFY on our channel) is undefined,
 * and the caller flushes everything rather than guess.
 */
export function parseChange(payload: unknown): CacheChange | undefined {
  if (typeof payload !== 'string' || payload.length === 0 || Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) return undefined;
  let v: unknown;
  try { v = JSON.parse(payload); } catch { return undefined; }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (!Object.keys(o).every((k) => k === 'd' || k === 'k' || k === 'i')) return undefined;
  return checkChange(o.d, o.k, o.i);
}

/** A change-log row (SQLite), checked like a payload. */
export const changeOfRow = (r: { domain_id: unknown; kind: unknown; ref: unknown }): CacheChange | undefined =>
  checkChange(r.domain_id, r.kind, r.ref === null ? undefined : r.ref);

function checkChange(d: unknown, k: unknown, i: unknown): CacheChange | undefined {
  if (!field(d) || !(CHANGE_KINDS as readonly unknown[]).includes(k)) return undefined;
  if (i !== undefined && !field(i)) return undefined;
  return { domainId: d, kind: k as ChangeKind, ...(i !== undefined ? { id: i as string } : {}) };
}

/**
 * The channel of this database and schema: two deployments in two schemas of one database (the tests
 * do this) must not hear each other. Computed in SQL on both sides, so writer and listener agree on it;
 * hex only, so it is a safe identifier, and short (PostgreSQL cuts identifiers at 63 bytes).
 */
export const PG_CHANNEL_SQL = sql<string>`'tessera_' || left(encode(sha256(convert_to(current_schema(), 'UTF8')), 'hex'), 24)`;

/** Migration 0010: the SQLite change log. */
export interface CacheChangesTable { id: Generated<number>; domain_id: string; kind: string; ref: string | null; at: number }
export type ChangeDB = DB & { cache_changes: CacheChangesTable };

/** Change-log rows older than this are purged by the SQLite pollers (they poll every few hundred ms). */
export const CHANGE_LOG_RETENTION_MS = 3_600_000;

/**
 * Records a change in the transaction that makes it, so it is announced only if it commits:
 * PostgreSQL `pg_notify` (delivered at commit, dropped on rollback); SQLite a row in
 * `cache_changes`, which every process on the file polls.
 */
export interface ChangeRecorder {
  record(trx: Kysely<DB> | Transaction<DB>, ...changes: CacheChange[]): Promise<void>;
}

export function changeRecorder(dialect: 'sqlite' | 'postgres', now: () => number = Date.now): ChangeRecorder {
  if (dialect === 'postgres') {
    return {
      async record(trx, ...changes) {
        for (const c of changes) await sql`select pg_notify(${PG_CHANNEL_SQL}, ${encodeChange(c)})`.execute(trx);
      },
    };
  }
  return {
    async record(trx, ...changes) {
      if (changes.length === 0) return;
      await trx.withTables<{ cache_changes: CacheChangesTable }>().insertInto('cache_changes')
        .values(changes.map((c) => ({ domain_id: c.domainId, kind: c.kind, ref: c.id !== undefined && field(c.id) ? c.id : null, at: now() })))
        .execute();
    },
  };
}
