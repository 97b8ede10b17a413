/**
 * Reading back JSON this server wrote (codes, sign-in flows, refresh token records) with a check of
 * every field, instead of a cast: a row written by an older release, or damaged, fails here with the
 * field named rather than surfacing as `undefined` deep inside a grant.
 */
export class ShapeError extends Error {}

type Reader<T> = (v: unknown, path: string) => T;
type Readers<T> = { [K in keyof T]-?: Reader<T[K]> };

const fail = (path: string, want: string): never => { throw new ShapeError(`stored record: ${path} must be ${want}`); };

export const str: Reader<string> = (v, p) => (typeof v === 'string' ? v : fail(p, 'a string'));
export const num: Reader<number> = (v, p) => (typeof v === 'number' && Number.isFinite(v) ? v : fail(p, 'a number'));
export const bool: Reader<boolean> = (v, p) => (typeof v === 'boolean' ? v : fail(p, 'true or false'));
export const strs: Reader<string[]> = (v, p) => (Array.isArray(v) ? v.map((x, i) => str(x, `${p}[${i}]`)) : fail(p, 'a list of strings'));
export const oneOf = <T extends string>(values: readonly T[]): Reader<T> => (v, p) =>
  (typeof v === 'string' && (values as readonly string[]).includes(v) ? (v as T) : fail(p, `one of ${values.join(', ')}`));
/** Absent (or null) is undefined; anything else must read. */
export const opt = <T>(r: Reader<T>): Reader<T | undefined> => (v, p) => (v === undefined || v === null ? undefined : r(v, p));

/** An object with exactly the readers' fields (unknown fields are dropped, absent optional ones stay absent). */
export function object<T>(readers: Readers<T>): Reader<T> {
  return (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(p, 'an object');
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, r] of Object.entries(readers) as [string, Reader<unknown>][]) {
      const x = r(src[k], p ? `${p}.${k}` : k);
      if (x !== undefined) out[k] = x;
    }
    return out as T;
  };
}

/** Read a whole stored value. */
export const read = <T>(r: Reader<T>, v: unknown, what: string): T => r(v, what);
