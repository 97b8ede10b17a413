/**
 * SCIM filters and sortBy (RFC 7644 §3.4.2.2, §3.4.2.3) translated to a small, storage-neutral
 * predicate tree over SQL columns, for resource types too many to list in memory (Users, Groups).
 *
 * Only attributes with a column mapping can be filtered or sorted on; anything else is 400
 * invalidFilter (invalidValue for sortBy) with a detail naming the attribute, rather than a slow scan.
 * The tree keeps the filter's two-valued semantics (a comparison against an unassigned attribute is
 * false, `ne` matches an unassigned attribute, `not` is plain negation) so a storage backend can emit
 * SQL without thinking about NULL. String operands of attributes that are not caseExact are lower-cased
 * here; their columns hold lower-cased values. The storage layer turns the tree into SQL (see
 * `src/storage/kysely_users.ts`), escaping LIKE wildcards.
 */
import { badRequest, quote } from './errors.js';
import { compileFilter, type CompareOp, type Filter } from './filter.js';
import { compileSchema, parseDateTime, resolveIn, type AttrNode } from './paths.js';
import type { SchemaInput } from './schema.js';

export interface SqlColumn {
  /** Table the column belongs to (the resource table, or a child table for multi-valued attributes). */
  readonly table: string;
  readonly name: string;
  /** `string` columns of attributes that are not caseExact hold lower-cased text; dateTime is epoch ms; boolean is 0/1. */
  readonly type: 'string' | 'boolean' | 'dateTime';
  readonly caseExact: boolean;
  /** How the column's text is derived from a value when that is not plain lower-casing (userName: its RFC 8265 key). */
  readonly key?: (v: string) => string;
}

/** Rows of a child table that hold one value each of a multi-valued attribute. */
export interface SqlChild {
  readonly table: string;
  /** Column of the child table that holds the parent's id. */
  readonly fk: string;
}

export interface SqlMapping {
  readonly column: SqlColumn;
  /** Set when the values live in a child table (multi-valued attributes): filters become EXISTS. */
  readonly child?: SqlChild;
  /** Single-valued columns may be sorted on. */
  readonly sortable?: boolean;
}

/** Canonical attribute path (as the schema spells it, e.g. `name.givenName`, `meta.created`) -> column. */
export type SqlColumnMap = Readonly<Record<string, SqlMapping>>;

export type SqlValue = string | number;
export type SqlWhere =
  | { readonly kind: 'const'; readonly value: boolean }
  /** `column IS NOT NULL AND column <op> value`; co/sw/ew only on string columns. */
  | { readonly kind: 'cmp'; readonly column: SqlColumn; readonly op: CompareOp; readonly value: SqlValue }
  | { readonly kind: 'present'; readonly column: SqlColumn }
  | { readonly kind: 'and' | 'or'; readonly items: readonly SqlWhere[] }
  | { readonly kind: 'not'; readonly item: SqlWhere }
  /** A row of the child table belonging to this resource satisfies `where`. */
  | { readonly kind: 'exists'; readonly child: SqlChild; readonly where: SqlWhere };

export interface SqlOrder {
  readonly column: SqlColumn;
  readonly descending: boolean;
}

const invalidFilter = (detail: string) => badRequest('invalidFilter', detail);

const PRESENT_OF = (c: SqlColumn): SqlWhere => ({ kind: 'present', column: c });
const not = (w: SqlWhere): SqlWhere => ({ kind: 'not', item: w });

function resolve(schema: SchemaInput, path: string, base?: AttrNode): AttrNode[] {
  const chain = resolveIn(compileSchema(schema), path, base);
  if (!chain) throw invalidFilter(`unknown attribute ${quote(path)}`);
  const last = chain[chain.length - 1]!;
  if (last.def.type === 'complex') {
    // RFC 7643 §2.4: `emails co "x"` means `emails.value co "x"`.
    const v = last.children.get('value');
    if (!v) throw invalidFilter(`attribute ${quote(path)} is complex: filter on one of its sub-attributes`);
    return [...chain, v];
  }
  return chain;
}

function mappingOf(map: SqlColumnMap, chain: AttrNode[], spelled: string): SqlMapping {
  const m = map[chain[chain.length - 1]!.path];
  if (!m) {
    const supported = Object.keys(map).join(', ');
    throw invalidFilter(`attribute ${quote(spelled)} cannot be used in a filter on this resource type (filterable: ${supported})`);
  }
  return m;
}

/** The operand as stored: lower-cased for case-insensitive strings, epoch ms for dateTime, 0/1 for boolean. */
function operand(c: SqlColumn, op: CompareOp, v: string | number | boolean, spelled: string): SqlValue {
  switch (c.type) {
    case 'boolean':
      if (op !== 'eq' && op !== 'ne') throw invalidFilter(`operator ${op} cannot be used with the boolean attribute ${quote(spelled)}`);
      if (typeof v !== 'boolean') throw invalidFilter(`attribute ${quote(spelled)} is boolean: compare it with true or false`);
      return v ? 1 : 0;
    case 'dateTime': {
      if (op === 'co' || op === 'sw' || op === 'ew') throw invalidFilter(`operator ${op} cannot be used with the dateTime attribute ${quote(spelled)}`);
      const t = typeof v === 'string' ? parseDateTime(v) : Number.NaN;
      if (Number.isNaN(t)) throw invalidFilter(`attribute ${quote(spelled)} is a dateTime: compare it with an xsd:dateTime string`);
      return t;
    }
    default:
      if (typeof v !== 'string') throw invalidFilter(`attribute ${quote(spelled)} is a string: compare it with a string`);
      return c.key ? c.key(v) : c.caseExact ? v : v.toLowerCase();
  }
}

function translate(f: Filter, schema: SchemaInput, map: SqlColumnMap, base: AttrNode | undefined): SqlWhere {
  switch (f.op) {
    case 'and':
    case 'or':
      return { kind: f.op, items: f.filters.map((x) => translate(x, schema, map, base)) };
    case 'not':
      return not(translate(f.filter, schema, map, base));
    case '[]': {
      // RFC 7644 §3.4.2.2 valuePath: one value of the attribute must satisfy the whole inner filter,
      // so the per-leaf EXISTS of the inner filter merge into one EXISTS over the child rows.
      const chain = resolveIn(compileSchema(schema), f.attrPath, base);
      if (!chain) throw invalidFilter(`unknown attribute ${quote(f.attrPath)}`);
      const parent = chain[chain.length - 1]!;
      const inner = translate(f.valFilter, schema, map, parent);
      const child = childOf(inner);
      if (!child) throw invalidFilter(`attribute ${quote(f.attrPath)} cannot be used in a value filter on this resource type`);
      return { kind: 'exists', child, where: strip(inner) };
    }
    case 'pr': {
      const chain = resolve(schema, f.attrPath, base);
      const m = mappingOf(map, chain, f.attrPath);
      return wrap(m, PRESENT_OF(m.column));
    }
    default: {
      const chain = resolve(schema, f.attrPath, base);
      const m = mappingOf(map, chain, f.attrPath);
      const cv = f.compValue;
      if (cv === null) {
        // RFC 7643 §2.5: null is the unassigned state.
        if (f.op !== 'eq' && f.op !== 'ne') throw invalidFilter(`operator ${f.op} cannot be used with null`);
        const present = wrap(m, PRESENT_OF(m.column));
        return f.op === 'eq' ? not(present) : present;
      }
      const value = operand(m.column, f.op, cv, f.attrPath);
      const cmp: SqlWhere = { kind: 'cmp', column: m.column, op: f.op, value };
      if (f.op === 'ne') {
        // As in the in-memory evaluator: an unassigned attribute is "not equal" to any value; a
        // multi-valued one matches when some value differs.
        return { kind: 'or', items: [not(wrap(m, PRESENT_OF(m.column))), wrap(m, cmp)] };
      }
      return wrap(m, cmp);
    }
  }
}

/** A leaf on a multi-valued attribute: some child row satisfies it. */
function wrap(m: SqlMapping, w: SqlWhere): SqlWhere {
  if (!m.child) return w;
  return { kind: 'exists', child: m.child, where: w };
}

/** The single child table every leaf of a valuePath's inner filter refers to, or undefined. */
function childOf(w: SqlWhere): SqlChild | undefined {
  const seen = new Set<string>();
  let found: SqlChild | undefined;
  let ok = true;
  const walk = (x: SqlWhere, depth: number): void => {
    switch (x.kind) {
      case 'exists':
        if (depth > 0) { ok = false; return; }
        seen.add(x.child.table);
        found = x.child;
        return;
      case 'and': case 'or': x.items.forEach((i) => walk(i, depth)); return;
      case 'not': walk(x.item, depth); return;
      case 'const': return;
      default: ok = false; // a leaf on the parent's own columns inside a value filter
    }
  };
  walk(w, 0);
  return ok && seen.size === 1 ? found : undefined;
}

/** Remove the per-leaf EXISTS wrappers of a valuePath's inner filter (they all name the same child). */
function strip(w: SqlWhere): SqlWhere {
  switch (w.kind) {
    case 'exists': return w.where;
    case 'and': case 'or': return { kind: w.kind, items: w.items.map(strip) };
    case 'not': return not(strip(w.item));
    default: return w;
  }
}

/**
 * Translate a parsed filter. The filter is first checked against the schema exactly as the in-memory
 * path does (unknown attributes, `returned: never` attributes such as password, type mismatches are
 * 400 invalidFilter), then mapped to columns; an attribute without a column is 400 invalidFilter.
 */
export function filterToSql(f: Filter, schema: SchemaInput, map: SqlColumnMap): SqlWhere {
  compileFilter(f, schema);
  return translate(f, schema, map, undefined);
}

/** RFC 7644 §3.4.2.3: sortBy must name a mapped single-valued attribute (400 invalidValue otherwise). */
export function sortToSql(sortBy: string | undefined, descending: boolean, schema: SchemaInput, map: SqlColumnMap): SqlOrder | undefined {
  if (sortBy === undefined) return undefined;
  const chain = resolveIn(compileSchema(schema), sortBy);
  if (!chain) throw badRequest('invalidValue', `sortBy: unknown attribute ${quote(sortBy)}`);
  let last = chain[chain.length - 1]!;
  if (last.def.type === 'complex') last = last.children.get('value') ?? last;
  const m = map[last.path];
  if (!m || !m.sortable || m.child || chain.some((n) => n.def.returned === 'never')) {
    const sortable = Object.entries(map).filter(([, v]) => v.sortable && !v.child).map(([k]) => k).join(', ');
    throw badRequest('invalidValue', `sortBy: attribute ${quote(sortBy)} cannot be used for sorting (sortable: ${sortable})`);
  }
  return { column: m.column, descending };
}

/** LIKE pattern for co/sw/ew with `\` as the escape character (both dialects: `LIKE ? ESCAPE '\'`). */
export function likePattern(op: 'co' | 'sw' | 'ew', value: string): string {
  const esc = value.replace(/[\\%_]/g, (c) => `\\${c}`);
  return op === 'sw' ? `${esc}%` : op === 'ew' ? `%${esc}` : `%${esc}%`;
}
