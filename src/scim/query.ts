/**
 * Query parameters of list requests (RFC 7644 §3.4.2, GET) and search requests (RFC 7644 §3.4.3,
 * POST /.search), and the in-memory filter / sort / page / project pipeline over them.
 */
import { badRequest, quote, ScimError } from './errors.js';
import { compileFilter, parseFilter, type CompileFilterOptions, type Filter, type ParseFilterOptions } from './filter.js';
import { compileSchema, getCI, isPlainObject, parseDateTime, resolveIn, type AttrNode } from './paths.js';
import { projectResource } from './project.js';
import type { SchemaInput } from './schema.js';

export const SEARCH_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

export type SortOrder = 'ascending' | 'descending';

export interface ListQuery {
  filter?: Filter;
  /** 1-based (RFC 7644 §3.4.2.4). */
  startIndex: number;
  count: number;
  sortBy?: string;
  sortOrder: SortOrder;
  attributes?: string[];
  excludedAttributes?: string[];
}

export interface ParseListQueryOptions {
  /** Largest page size; larger requests are capped (RFC 7644 §3.4.2.4). Default 1000. */
  maxCount?: number;
  /** Page size when `count` is absent. Default 100 (capped at maxCount). */
  defaultCount?: number;
  /** Limits for the `filter` parameter. */
  filter?: ParseFilterOptions;
  /** The input is a POST /.search body: `schemas` is then required (RFC 7644 §3.4.3). */
  searchRequest?: boolean;
}

export const DEFAULT_MAX_COUNT = 1000;
export const DEFAULT_COUNT = 100;

const PARAMS = ['filter', 'startindex', 'count', 'sortby', 'sortorder', 'attributes', 'excludedattributes'] as const;
type Param = (typeof PARAMS)[number];

const invalidValue = (detail: string): ScimError => badRequest('invalidValue', detail);

/** A single-valued parameter: a repeated GET parameter arrives as an array and is refused. */
function scalar(name: string, v: unknown): unknown {
  if (Array.isArray(v)) {
    if (v.length === 1) return v[0];
    throw invalidValue(`${name} is given more than once`);
  }
  return v;
}

function integer(name: string, raw: unknown): number | undefined {
  const v = scalar(name, raw);
  if (v === undefined || v === null) return undefined;
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^\s*[-+]?\d{1,15}\s*$/.test(v)) n = Number(v);
  else throw invalidValue(`${name} must be an integer`);
  if (!Number.isSafeInteger(n)) throw invalidValue(`${name} must be an integer`);
  return n;
}

/** `attributes` / `excludedAttributes`: a comma-separated string (GET) or an array of strings (POST). */
function attrList(name: string, raw: unknown): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const parts: string[] = [];
  const add = (s: unknown) => {
    if (typeof s !== 'string') throw invalidValue(`${name} must be a list of attribute names`);
    for (const p of s.split(',')) {
      const t = p.trim();
      if (t.length > 0) parts.push(t);
    }
  };
  if (Array.isArray(raw)) raw.forEach(add);
  else add(raw);
  if (parts.length > 200) throw invalidValue(`${name} names too many attributes`);
  for (const p of parts) if (p.length > 512 || !/^[A-Za-z0-9._:$-]+$/.test(p)) throw invalidValue(`${name}: ${quote(p)} is not an attribute name`);
  return parts.length > 0 ? [...new Set(parts)] : undefined;
}

/**
 * Read the list/search parameters from a GET query string object or a POST /.search body.
 *
 * RFC 7644 §3.4.2.4: startIndex < 1 is read as 1, a negative count as 0, and count is capped at
 * maxCount. Non-numeric values are 400 invalidValue; a bad filter is 400 invalidFilter; a body whose
 * `schemas` is not the SearchRequest URN is 400 invalidSyntax (RFC 7644 §3.4.3).
 */
export function parseListQuery(input: Record<string, unknown>, opts: ParseListQueryOptions = {}): ListQuery {
  if (!isPlainObject(input)) throw badRequest('invalidSyntax', 'the query must be an object');
  const maxCount = opts.maxCount ?? DEFAULT_MAX_COUNT;
  const defaultCount = Math.min(opts.defaultCount ?? DEFAULT_COUNT, maxCount);

  const p: Partial<Record<Param, unknown>> = {};
  let schemas: unknown;
  const spelled = new Map<string, string>();
  for (const [k, v] of Object.entries(input)) {
    const lk = k.toLowerCase();
    if (lk !== 'schemas' && !(PARAMS as readonly string[]).includes(lk)) continue;
    // RFC 7643 §2.1: names are case-insensitive, so `filter` and `Filter` are one parameter given
    // twice; which one counts would be ambiguous (as Operations/operations in PATCH).
    const first = spelled.get(lk);
    if (first !== undefined) throw badRequest('invalidSyntax', `${quote(first)} and ${quote(k)}: ${k} is given more than once`);
    spelled.set(lk, k);
    if (lk === 'schemas') schemas = v;
    else p[lk as Param] = v;
  }
  if (schemas !== undefined || opts.searchRequest) {
    // RFC 7644 §3.4.3: a SearchRequest body carries exactly its message schema.
    if (!Array.isArray(schemas) || schemas.length !== 1 || schemas[0] !== SEARCH_REQUEST_SCHEMA) {
      throw badRequest('invalidSyntax', `schemas must be ["${SEARCH_REQUEST_SCHEMA}"]`);
    }
  }

  const q: ListQuery = { startIndex: 1, count: defaultCount, sortOrder: 'ascending' };

  const filter = scalar('filter', p.filter);
  if (filter !== undefined && filter !== null) {
    if (typeof filter !== 'string') throw badRequest('invalidFilter', 'filter must be a string');
    if (filter.trim().length > 0) q.filter = parseFilter(filter, opts.filter);
  }

  const startIndex = integer('startIndex', p.startindex);
  // RFC 7644 §3.4.2.4: "A value less than 1 SHALL be interpreted as 1."
  if (startIndex !== undefined) q.startIndex = Math.max(1, startIndex);

  const count = integer('count', p.count);
  // RFC 7644 §3.4.2.4: "A negative value SHALL be interpreted as 0"; the service provider may return
  // fewer results than asked for, so a larger count is capped.
  if (count !== undefined) q.count = Math.min(Math.max(0, count), maxCount);

  const sortBy = scalar('sortBy', p.sortby);
  if (sortBy !== undefined && sortBy !== null) {
    if (typeof sortBy !== 'string' || !/^[A-Za-z0-9._:$-]{1,512}$/.test(sortBy.trim())) throw invalidValue('sortBy must be an attribute name');
    q.sortBy = sortBy.trim();
  }

  const sortOrder = scalar('sortOrder', p.sortorder);
  if (sortOrder !== undefined && sortOrder !== null) {
    // RFC 7644 §3.4.2.3: "ascending" or "descending"; default ascending.
    const so = typeof sortOrder === 'string' ? sortOrder.trim().toLowerCase() : undefined;
    if (so !== 'ascending' && so !== 'descending') throw invalidValue('sortOrder must be "ascending" or "descending"');
    q.sortOrder = so;
  }

  const attributes = attrList('attributes', p.attributes);
  const excluded = attrList('excludedAttributes', p.excludedattributes);
  // RFC 7644 §3.4.2.5 allows one or the other; when a client sends both, `attributes` wins.
  if (attributes) q.attributes = attributes;
  else if (excluded) q.excludedAttributes = excluded;
  return q;
}

export interface ListResponse {
  schemas: [typeof LIST_RESPONSE_SCHEMA];
  totalResults: number;
  startIndex: number;
  itemsPerPage: number;
  Resources: Record<string, unknown>[];
}

export type ListResourcesOptions = CompileFilterOptions;

type SortKey = { kind: 'missing' } | { kind: 'number'; v: number } | { kind: 'string'; v: string };

/**
 * RFC 7644 §3.4.2.3: the sort value of a resource. For a multi-valued attribute that is the primary
 * value if there is one, else the first.
 */
function sortKey(res: Record<string, unknown>, chain: readonly AttrNode[]): SortKey {
  let cur: unknown = res;
  for (const n of chain) {
    if (!isPlainObject(cur)) return { kind: 'missing' };
    let v = getCI(cur, n.name.toLowerCase());
    if (Array.isArray(v)) {
      const primary = v.find((e) => isPlainObject(e) && getCI(e, 'primary') === true);
      v = primary ?? v[0];
    }
    cur = v;
  }
  const def = chain[chain.length - 1]!.def;
  if (typeof cur === 'number') return { kind: 'number', v: cur };
  if (typeof cur === 'boolean') return { kind: 'number', v: cur ? 1 : 0 };
  if (typeof cur === 'string') {
    if (def.type === 'dateTime') {
      const t = parseDateTime(cur);
      if (!Number.isNaN(t)) return { kind: 'number', v: t };
    }
    if (cur.length === 0) return { kind: 'missing' };
    return { kind: 'string', v: def.caseExact ? cur : cur.toLowerCase() };
  }
  return { kind: 'missing' };
}

function compareKeys(a: SortKey, b: SortKey): number {
  if (a.kind === 'missing' || b.kind === 'missing') return 0; // handled by the caller
  if (a.kind === 'number' && b.kind === 'number') return a.v - b.v;
  const x = String(a.v);
  const y = String(b.v);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Filter, sort, page and project a list of SCIM resources (RFC 7644 §3.4.2). The filter is compiled
 * against `schema` (errors as in {@link compileFilter}); `sortBy` must name an attribute of the schema
 * that is not `returned: never` (400 invalidValue otherwise). Sorting is stable and puts resources
 * without a value last in either order.
 */
export function listResources<T extends Record<string, unknown>>(
  all: readonly T[],
  q: ListQuery,
  schema: SchemaInput,
  opts: ListResourcesOptions = {},
): ListResponse {
  let items: T[] = [...all];
  if (q.filter) {
    const pred = compileFilter(q.filter, schema, opts);
    items = items.filter((r) => pred(r));
  }
  if (q.sortBy !== undefined) {
    const chain = resolveIn(compileSchema(schema), q.sortBy);
    if (!chain) throw invalidValue(`sortBy: unknown attribute ${quote(q.sortBy)}`);
    // Sorting by a value the server never returns would disclose it through the order.
    if (chain.some((n) => n.def.returned === 'never' || opts.forbidden?.(n.path))) throw invalidValue(`sortBy: attribute ${quote(q.sortBy)} cannot be used for sorting`);
    const target = chain[chain.length - 1]!;
    if (target.def.type === 'complex') {
      const v = target.children.get('value');
      if (!v) throw invalidValue(`sortBy: attribute ${quote(q.sortBy)} is complex; name one of its sub-attributes`);
      chain.push(v);
    }
    const dir = q.sortOrder === 'descending' ? -1 : 1;
    const keyed = items.map((r, i) => ({ r, i, k: sortKey(r, chain) }));
    keyed.sort((a, b) => {
      const am = a.k.kind === 'missing';
      const bm = b.k.kind === 'missing';
      // Resources without the attribute come last, whatever the order; ties keep their input order.
      if (am || bm) return am === bm ? a.i - b.i : am ? 1 : -1;
      return dir * compareKeys(a.k, b.k) || a.i - b.i;
    });
    items = keyed.map((x) => x.r);
  }
  const totalResults = items.length;
  // RFC 7644 §3.4.2.4: startIndex is 1-based; count 0 returns no resources, only totalResults.
  const start = Math.max(1, q.startIndex);
  const page = items.slice(start - 1, start - 1 + Math.max(0, q.count));
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults,
    startIndex: start,
    itemsPerPage: page.length,
    Resources: page.map((r) => projectResource(r, schema, q.attributes, q.excludedAttributes)),
  };
}
