/**
 * Internal: a schema compiled into a tree of attribute nodes, attribute-path resolution and the
 * case-insensitive key handling shared by filter, projection, validation and PATCH.
 *
 * Not part of the public API of `src/scim/` (import from the other modules instead).
 */
import type { AttributeDef, SchemaDef, SchemaInput } from './schema.js';

export interface AttrNode {
  readonly def: AttributeDef;
  /** Spelling from the schema. */
  readonly name: string;
  /** Canonical path, e.g. `meta.lastModified`, or `urn:…:User:manager.value` inside an extension. */
  readonly path: string;
  /** Sub-attributes keyed by lower-cased name (empty for simple attributes). */
  readonly children: ReadonlyMap<string, AttrNode>;
  /** The node that stands for a whole extension schema (its key in the resource is the schema URN). */
  readonly extension: boolean;
}

export interface CompiledSchema {
  readonly core: SchemaDef;
  /** Top-level attributes and extension nodes, keyed by lower-cased name / URN. */
  readonly root: ReadonlyMap<string, AttrNode>;
  /** Top-level nodes in schema order (core attributes, then extensions). */
  readonly rootOrder: readonly AttrNode[];
  readonly extensions: readonly AttrNode[];
}

const cache = new WeakMap<object, CompiledSchema>();

function buildNode(def: AttributeDef, parentPath: string | undefined, sep = '.'): AttrNode {
  const path = parentPath === undefined ? def.name : `${parentPath}${sep}${def.name}`;
  const children = new Map<string, AttrNode>();
  const node: AttrNode = { def, name: def.name, path, children, extension: false };
  for (const sub of def.subAttributes ?? []) children.set(sub.name.toLowerCase(), buildNode(sub, path));
  return node;
}

function buildExtensionNode(schema: SchemaDef, required: boolean): AttrNode {
  // RFC 7643 §3.3: extension attributes live in a complex container keyed by the schema URN.
  const def: AttributeDef = {
    name: schema.id,
    type: 'complex',
    multiValued: false,
    description: schema.description,
    required,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    subAttributes: schema.attributes,
  };
  const children = new Map<string, AttrNode>();
  const node: AttrNode = { def, name: schema.id, path: schema.id, children, extension: true };
  for (const a of schema.attributes) children.set(a.name.toLowerCase(), buildNode(a, schema.id, ':'));
  return node;
}

export function compileSchema(input: SchemaInput): CompiledSchema {
  const hit = cache.get(input);
  if (hit) return hit;
  const core = 'core' in input ? input.core : input;
  const extDefs = 'core' in input ? input.extensions : [];
  const root = new Map<string, AttrNode>();
  const rootOrder: AttrNode[] = [];
  for (const a of core.attributes) {
    const n = buildNode(a, undefined);
    root.set(a.name.toLowerCase(), n);
    rootOrder.push(n);
  }
  const extensions: AttrNode[] = [];
  for (const e of extDefs) {
    const n = buildExtensionNode(e.schema, e.required);
    root.set(e.schema.id.toLowerCase(), n);
    rootOrder.push(n);
    extensions.push(n);
  }
  const out: CompiledSchema = { core, root, rootOrder, extensions };
  cache.set(input, out);
  return out;
}

/**
 * Resolve an attribute path to the chain of nodes it walks, or undefined when unknown.
 *
 * RFC 7644 §3.10: an attribute may be fully qualified by its schema URN; RFC 7643 §2.1: names are
 * case-insensitive. A path relative to `base` (inside a value filter) names sub-attributes of `base`.
 */
export function resolveIn(cs: CompiledSchema, path: string, base?: AttrNode): AttrNode[] | undefined {
  if (path.length === 0) return undefined;
  let start: ReadonlyMap<string, AttrNode> = base ? base.children : cs.root;
  let chain: AttrNode[] = [];
  let rest = path;
  if (!base && path.includes(':')) {
    const lower = path.toLowerCase();
    const coreId = cs.core.id.toLowerCase();
    // Longest URN first: an extension id may extend the core id (`…:User` and `…:User:ext`).
    const candidates: { id: string; ext?: AttrNode }[] = [{ id: coreId }, ...cs.extensions.map((ext) => ({ id: ext.name.toLowerCase(), ext }))];
    candidates.sort((a, b) => b.id.length - a.id.length);
    let matched = false;
    for (const c of candidates) {
      if (lower === c.id) {
        // The URN alone names the extension container; the core URN alone names no attribute.
        return c.ext ? [c.ext] : undefined;
      }
      if (lower.startsWith(`${c.id}:`)) {
        rest = path.slice(c.id.length + 1);
        if (c.ext) {
          chain = [c.ext];
          start = c.ext.children;
        }
        matched = true;
        break;
      }
    }
    if (!matched) return undefined;
  }
  const parts = rest.split('.');
  for (const p of parts) {
    const n = start.get(p.toLowerCase());
    if (!n) return undefined;
    chain.push(n);
    start = n.children;
  }
  return chain;
}

export function resolvePath(schema: SchemaInput, path: string): AttrNode[] | undefined {
  return resolveIn(compileSchema(schema), path);
}

// ---------------------------------------------------------------------------------------------
// JSON helpers.

export type Json = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The key of `obj` matching `lname` case-insensitively (RFC 7643 §2.1), if any. */
export function findKey(obj: Json, lname: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(obj, lname)) return lname;
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lname) return k;
  return undefined;
}

export function getCI(obj: Json, lname: string): unknown {
  const k = findKey(obj, lname);
  return k === undefined ? undefined : obj[k];
}

/**
 * RFC 7643 §2.5: unassigned, null and an empty array are the same state. RFC 7644 §3.4.2.2 (`pr`):
 * an empty string and a complex value without any present sub-attribute are not present either.
 */
export function isPresent(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.some(isPresent);
  if (isPlainObject(v)) return Object.values(v).some(isPresent);
  return true;
}

/** Deep copy of JSON-shaped data (no prototypes, no cycles). */
export function cloneJson<T>(v: T): T {
  return structuredClone(v);
}

/**
 * Rewrite the keys of `obj` to the schema's spelling, recursively; keys the schema does not know are
 * kept as they are. Mutates `obj` (use on a copy).
 */
export function canonicaliseKeys(children: ReadonlyMap<string, AttrNode>, obj: Json): void {
  for (const k of Object.keys(obj)) {
    const n = children.get(k.toLowerCase());
    if (!n) continue;
    const v = obj[k];
    if (k !== n.name) {
      delete obj[k];
      // If both spellings were present the schema spelling wins; a resource is not supposed to hold both.
      if (!(n.name in obj)) obj[n.name] = v;
    }
    if (n.children.size > 0) {
      if (isPlainObject(v)) canonicaliseKeys(n.children, v);
      else if (Array.isArray(v)) for (const e of v) if (isPlainObject(e)) canonicaliseKeys(n.children, e);
    }
  }
}

/** Fold a string for comparison under the attribute's `caseExact` (RFC 7643 §2.2, §7). */
export function fold(def: AttributeDef, s: string): string {
  return def.caseExact ? s : s.toLowerCase();
}

// RFC 7643 §2.3.5: xsd:dateTime, e.g. 2008-01-23T04:56:22Z or with an offset and fractional seconds.
const DATE_TIME = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$/;

/** Milliseconds since the epoch of an xsd:dateTime (years 0000-9999), or NaN. */
export function parseDateTime(s: string): number {
  const m = DATE_TIME.exec(s);
  if (!m) return Number.NaN;
  // Date.parse rolls 2023-02-31 over into March; refuse days the month does not have.
  const daysInMonth = new Date(Date.UTC(Number(m[1]), Number(m[2]), 0)).getUTCDate();
  if (Number(m[3]) > daysInMonth) return Number.NaN;
  // xsd:dateTime without a zone is "local"; read it as UTC so results do not depend on the host.
  const zoned = /(Z|[+-]\d{2}:\d{2})$/.test(s) ? s : `${s}Z`;
  return Date.parse(zoned);
}

/**
 * A string key for a value such that two values compare equal under the attribute's rules:
 * `caseExact`, dateTimes as instants, multi-valued attributes unordered (RFC 7643 §2.4).
 */
export function comparableKey(node: AttrNode, v: unknown): string {
  if (node.def.multiValued && Array.isArray(v)) {
    return `[${v.map((e) => singleKey(node, e)).sort().join(',')}]`;
  }
  return singleKey(node, v);
}

function singleKey(node: AttrNode, v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (node.def.type === 'complex' && isPlainObject(v)) {
    const parts: string[] = [];
    for (const k of Object.keys(v)) {
      const child = node.children.get(k.toLowerCase());
      const val = v[k];
      if (!isPresent(val)) continue;
      parts.push(`${JSON.stringify(child ? child.name : k)}:${child ? comparableKey(child, val) : JSON.stringify(val)}`);
    }
    return `{${parts.sort().join(',')}}`;
  }
  if (typeof v === 'string') {
    if (node.def.type === 'dateTime') {
      const t = parseDateTime(v);
      if (!Number.isNaN(t)) return `t${t}`;
    }
    return JSON.stringify(fold(node.def, v));
  }
  return JSON.stringify(v);
}

export function sameValue(node: AttrNode, a: unknown, b: unknown): boolean {
  const pa = isPresent(a);
  const pb = isPresent(b);
  if (!pa || !pb) return pa === pb;
  return comparableKey(node, a) === comparableKey(node, b);
}
