import { StoreUnavailable } from '../core/errors.js';
import { Conflict } from './ports.js';
import { fromStore } from './store_errors.js';

interface DbError { code?: string; constraint?: string; message?: string }

/** A unique-constraint violation from either dialect, mapped to the attribute that clashed. */
export function asConflict(e: unknown, names: Record<string, string>): Conflict | undefined {
  const err = e as DbError;
  const unique = err?.code === '23505' || (typeof err?.code === 'string' && /^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/.test(err.code));
  if (!unique) return undefined;
  const text = `${err.constraint ?? ''} ${err.message ?? ''}`;
  for (const [needle, what] of Object.entries(names)) if (text.includes(needle)) return new Conflict(what);
  return new Conflict('unique');
}

const UNAVAILABLE_PG = /^(08|53|57P0|58)/; // connection exceptions, insufficient resources, admin shutdown, system errors
const UNAVAILABLE_SQLITE = /^SQLITE_(BUSY|LOCKED|READONLY|IOERR|FULL|CANTOPEN|CORRUPT|NOTADB)/;
const UNAVAILABLE_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

/**
 * True when the error means "the store cannot serve right now" (fail closed with 503). Only errors
 * the database driver raised count (`fromStore`): an ECONNRESET from a client that aborted its
 * request is no outage. Kysely itself refuses queries after `destroy()` without reaching the driver.
 */
export function isStoreUnavailable(e: unknown): boolean {
  const err = e as DbError;
  if (err?.message === 'driver has already been destroyed') return true;
  if (!fromStore(e)) return false;
  const code = err.code;
  if (typeof code === 'string' && (UNAVAILABLE_PG.test(code) || UNAVAILABLE_SQLITE.test(code) || UNAVAILABLE_NET.has(code))) return true;
  const msg = err.message ?? '';
  return /Connection terminated|timeout exceeded when trying to connect|Cannot use a pool after calling end|database connection is not open/i.test(msg);
}

/**
 * True when the store refused a value rather than failed: PostgreSQL's data exceptions (class 22, e.g.
 * U+0000 in text, which SQLite stores but PostgreSQL cannot). The request is at fault: a 400, not a 500.
 */
export function isRefusedValue(e: unknown): boolean {
  const code = (e as DbError)?.code;
  return fromStore(e) && typeof code === 'string' && /^22/.test(code);
}

export function toStoreUnavailable(e: unknown): StoreUnavailable {
  return new StoreUnavailable(String((e as DbError)?.message ?? e));
}
