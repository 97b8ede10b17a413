/**
 * Validation of resource representations sent by clients (RFC 7644 §3.3 POST, §3.5.1 PUT) against a
 * schema (RFC 7643 §2, §7).
 */
import { badRequest, quote, ScimError } from './errors.js';
import {
  compileSchema, findKey, isPlainObject, isPresent, parseDateTime, sameValue, type AttrNode, type CompiledSchema, type Json,
} from './paths.js';
import type { SchemaInput } from './schema.js';

export type ValidateMode = 'create' | 'replace';

export interface ValidateOptions {
  /**
   * RFC 7643 §3: `schemas` is REQUIRED in a resource. Default true; with false a missing `schemas` is
   * filled in.
   */
  requireSchemas?: boolean;
}

/** @internal How a value is checked: what to do with client-supplied readOnly attributes; whether required sub-attributes are enforced. */
export interface CheckOptions {
  /** RFC 7644 §3.3/§3.5.1 ignore them (`drop`); PATCH refuses them (`error`, 400 mutability). */
  readonly readOnly: 'drop' | 'error';
  /** A partial complex value (PATCH merge): required sub-attributes of this object are not enforced. */
  readonly partial?: boolean;
}

const bad = (detail: string): ScimError => badRequest('invalidValue', detail);

/** In a `u` regex a surrogate pair is one code point, so only unpaired surrogates are in category Cs. */
const LONE_SURROGATE = /\p{Cs}/u;

/** RFC 4648 §4 base64, as used for RFC 7643 §2.3.6 binary. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

/** @internal (shared with patch.ts) Check one (non-array) value of an attribute; returns the normalised value. */
export function checkSingle(n: AttrNode, v: unknown, opts: CheckOptions): unknown {
  const def = n.def;
  const path = n.path;
  switch (def.type) {
    case 'string':
    case 'reference':
    case 'binary': {
      if (typeof v !== 'string') throw bad(`${quote(path)} must be a string, not ${typeName(v)}`);
      // RFC 7493 §2.1 (I-JSON): no unpaired surrogates; and no U+0000, which PostgreSQL text cannot hold.
      if (v.includes('\0')) throw bad(`${quote(path)} must not contain U+0000`);
      const lone = LONE_SURROGATE.exec(v);
      if (lone) throw bad(`${quote(path)} must be well-formed Unicode: an unpaired surrogate U+${lone[0].charCodeAt(0).toString(16).toUpperCase()}`);
      if (def.type === 'binary' && !BASE64.test(v)) throw bad(`${quote(path)} must be base64 (RFC 7643 §2.3.6)`);
      if (def.type === 'reference') {
        if (v.length === 0) throw bad(`${quote(path)} must not be empty`);
        const types = def.referenceTypes ?? [];
        // RFC 7643 §2.3.7: "external" and "uri" references are URIs.
        if (types.length > 0 && types.every((t) => t === 'external' || t === 'uri')) {
          let ok: boolean;
          try {
            ok = new URL(v).protocol.length > 1;
          } catch {
            ok = false;
          }
          if (!ok) throw bad(`${quote(path)} must be an absolute URI (RFC 7643 §2.3.7)`);
        }
      }
      if (def.canonicalValues && def.canonicalValues.length > 0) {
        // RFC 7643 §7 canonicalValues, compared under caseExact; the canonical spelling is kept.
        const match = def.canonicalValues.find((c) => (def.caseExact ? c === v : c.toLowerCase() === v.toLowerCase()));
        if (match === undefined) throw bad(`${quote(path)} must be one of ${def.canonicalValues.join(', ')}; got ${quote(v)}`);
        return match;
      }
      return v;
    }
    case 'boolean':
      if (typeof v !== 'boolean') throw bad(`${quote(path)} must be true or false, not ${typeName(v)}`);
      return v;
    case 'integer':
      // RFC 7643 §2.3.4: a decimal number with no fractional digits.
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad(`${quote(path)} must be an integer, not ${typeName(v)}`);
      return v;
    case 'decimal':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${quote(path)} must be a number, not ${typeName(v)}`);
      return v;
    case 'dateTime':
      // RFC 7643 §2.3.5: xsd:dateTime with no white space.
      if (typeof v !== 'string' || Number.isNaN(parseDateTime(v))) throw bad(`${quote(path)} must be an xsd:dateTime such as 2024-01-31T12:00:00Z`);
      return v;
    case 'complex':
      return checkComplex(n, v, opts);
  }
}

function checkComplex(n: AttrNode, v: unknown, opts: CheckOptions): Json {
  if (!isPlainObject(v)) throw bad(`${quote(n.path)} must be an object, not ${typeName(v)}`);
  const out: Json = {};
  const seen = new Set<string>();
  for (const [k, raw] of Object.entries(v)) {
    const lk = k.toLowerCase();
    const c = n.children.get(lk);
    // Unknown sub-attributes are refused rather than silently dropped.
    if (!c) throw bad(`${quote(n.path)} has no sub-attribute ${quote(k)}`);
    // RFC 7643 §2.1: names are case-insensitive, so `value` and `Value` are the same attribute.
    if (seen.has(lk)) throw badRequest('invalidSyntax', `sub-attribute ${quote(c.path)} is given twice`);
    seen.add(lk);
    if (c.def.mutability === 'readOnly') {
      if (opts.readOnly === 'error') throw badRequest('mutability', `attribute ${quote(c.path)} is readOnly`);
      continue; // RFC 7644 §3.3: readOnly values supplied by the client are ignored
    }
    const val = checkValue(c, raw, { readOnly: opts.readOnly });
    if (val !== undefined) out[c.name] = val;
  }
  if (!opts.partial) {
    for (const c of n.children.values()) {
      // RFC 7643 §7 "required" (a readOnly one is the server's to fill).
      if (c.def.required && c.def.mutability !== 'readOnly' && !isPresent(out[c.name])) throw bad(`${quote(c.path)} is required`);
    }
  }
  return out;
}

/**
 * @internal (shared with patch.ts)
 * Check a value of an attribute (an array for a multi-valued one); returns the normalised value, or
 * undefined when it is unassigned (null or an empty array, RFC 7643 §2.5).
 */
export function checkValue(n: AttrNode, v: unknown, opts: CheckOptions): unknown {
  if (v === null || v === undefined) return undefined;
  if (n.def.multiValued) {
    // RFC 7643 §2.4: a multi-valued attribute is a JSON array.
    if (!Array.isArray(v)) throw bad(`${quote(n.path)} is multi-valued and must be an array`);
    if (v.length === 0) return undefined;
    const out = v.map((e, i) => {
      if (e === null || e === undefined || Array.isArray(e)) throw bad(`${quote(n.path)}[${i}] must be a single value`);
      return checkSingle(n, e, { readOnly: opts.readOnly });
    });
    // RFC 7643 §2.4: the primary attribute value "true" MUST appear no more than once.
    if (n.children.has('primary') && out.filter((e) => isPlainObject(e) && e.primary === true).length > 1) {
      throw bad(`only one value of ${quote(n.path)} may be primary`);
    }
    return out;
  }
  if (Array.isArray(v)) throw bad(`${quote(n.path)} is single-valued and must not be an array`);
  return checkSingle(n, v, opts);
}

/** @internal The part of an existing (server-rendered) value a client could have written: readOnly parts removed, keys in schema spelling. */
export function writableView(n: AttrNode, v: unknown): unknown {
  if (n.children.size === 0) return v;
  const one = (x: unknown): unknown => {
    if (!isPlainObject(x)) return x;
    const out: Json = {};
    for (const [k, val] of Object.entries(x)) {
      const c = n.children.get(k.toLowerCase());
      if (!c || c.def.mutability === 'readOnly' || !isPresent(val)) continue;
      out[c.name] = writableView(c, val);
    }
    return out;
  };
  return Array.isArray(v) ? v.map(one) : one(v);
}

function orderedChildren(n: AttrNode): AttrNode[] {
  return (n.def.subAttributes ?? []).map((d) => n.children.get(d.name.toLowerCase())!);
}

/**
 * RFC 7644 §3.5.1 / RFC 7643 §7 "immutable": once it has a value, a new representation must carry
 * the same value (400 mutability otherwise). An omitted immutable value is carried over from `existing`.
 * Recurses into singular complex attributes for immutable sub-attributes.
 */
function enforceImmutable(nodes: readonly AttrNode[], out: Json, existing: Json): void {
  for (const n of nodes) {
    if (n.def.mutability === 'readOnly') continue;
    const ek = findKey(existing, n.name.toLowerCase());
    const ev = ek === undefined ? undefined : existing[ek];
    if (!isPresent(ev)) continue;
    if (n.def.mutability === 'immutable') {
      const ew = writableView(n, ev);
      if (!isPresent(ew)) continue;
      if (!isPresent(out[n.name])) {
        out[n.name] = ew;
        continue;
      }
      if (!sameValue(n, out[n.name], ew)) throw badRequest('mutability', `attribute ${quote(n.path)} is immutable and already has a value`);
    } else if (n.def.type === 'complex' && !n.def.multiValued) {
      const ov = out[n.name];
      if (isPlainObject(ov) && isPlainObject(ev)) enforceImmutable(orderedChildren(n), ov, ev);
    }
  }
}

function checkSchemas(cs: CompiledSchema, raw: unknown, require: boolean): void {
  if (raw === undefined || raw === null) {
    // RFC 7643 §3: "schemas" ... REQUIRED.
    if (require) throw badRequest('invalidSyntax', `"schemas" is required and must include ${cs.core.id}`);
    return;
  }
  if (!Array.isArray(raw) || raw.some((s) => typeof s !== 'string')) throw badRequest('invalidSyntax', '"schemas" must be an array of schema URIs');
  const known = new Set([cs.core.id.toLowerCase(), ...cs.extensions.map((e) => e.name.toLowerCase())]);
  for (const s of raw as string[]) if (!known.has(s.toLowerCase())) throw bad(`schema ${quote(s)} is not supported by this resource type`);
  if (!(raw as string[]).some((s) => s.toLowerCase() === cs.core.id.toLowerCase())) throw bad(`"schemas" must include ${cs.core.id}`);
}

/**
 * Validate a client's representation of a resource for create (POST, RFC 7644 §3.3) or replace (PUT,
 * RFC 7644 §3.5.1) and return it normalised: keys in the schema's spelling and order, canonical values
 * in their canonical spelling, readOnly and null attributes removed, `schemas` listing the core schema
 * and the extensions present.
 *
 * Throws ScimError 400: invalidSyntax for a non-object body or a malformed `schemas`; invalidValue for
 * unknown attributes, wrong types, missing required attributes and non-canonical values; mutability
 * when a replace changes an immutable attribute of `existing`.
 */
export function validateResource(
  input: unknown,
  schema: SchemaInput,
  mode: ValidateMode,
  existing?: Record<string, unknown>,
  opts: ValidateOptions = {},
): Record<string, unknown> {
  if (!isPlainObject(input)) throw badRequest('invalidSyntax', 'the request body must be a JSON object');
  const cs = compileSchema(schema);
  const values = new Map<AttrNode, unknown>();
  const seen = new Set<string>();
  let schemasRaw: unknown;
  for (const [k, raw] of Object.entries(input)) {
    const lk = k.toLowerCase();
    if (seen.has(lk)) throw badRequest('invalidSyntax', `attribute ${quote(k)} is given twice`);
    seen.add(lk);
    if (lk === 'schemas') {
      schemasRaw = raw;
      continue;
    }
    const n = cs.root.get(lk);
    if (!n) throw bad(`unknown attribute ${quote(k)} for ${cs.core.id}`);
    // RFC 7644 §3.3 / §3.5.1: readOnly attributes in a request body SHALL be ignored.
    if (n.def.mutability === 'readOnly') continue;
    const v = checkValue(n, raw, { readOnly: 'drop' });
    if (v !== undefined && isPresent(v)) values.set(n, v);
  }
  checkSchemas(cs, schemasRaw, opts.requireSchemas ?? true);

  const body: Json = {};
  for (const n of cs.rootOrder) if (values.has(n)) body[n.name] = values.get(n);

  if (mode === 'replace' && existing) enforceImmutable(cs.rootOrder, body, existing);

  for (const n of cs.rootOrder) {
    // RFC 7643 §7 "required"; a readOnly required attribute (id) is the server's to set.
    if (n.def.required && n.def.mutability !== 'readOnly' && !isPresent(body[n.name])) throw bad(`required attribute ${quote(n.path)} is missing`);
  }

  const out: Json = { schemas: [cs.core.id, ...cs.extensions.filter((e) => e.name in body).map((e) => e.name)] };
  for (const n of cs.rootOrder) if (n.name in body) out[n.name] = body[n.name];
  return out;
}
