/**
 * PATCH (RFC 7644 §3.5.2) with schema checks: message validation, path resolution, mutability, value
 * types, all done here; operations on attribute paths (`displayName`, `name.givenName`, `emails`,
 * `urn:…:ext:attr`) are then applied by `scim-patch` on a private copy of the resource.
 *
 * What the wrapper does instead of (or before) the library, and why:
 * - attribute names are matched case-insensitively (RFC 7643 §2.1) and rewritten to the schema's
 *   spelling first: the library would create a second `DisplayName` key next to `displayName`;
 * - `op` is matched case-insensitively (RFC 7644 §3.5.2): the library accepts only `add`/`Add`, ...,
 *   and crashes with a TypeError on `Remove` without a path;
 * - operations on value-filtered paths (`emails[type eq "work"].value`) are applied here: the library
 *   evaluates the filter case-sensitively with its own tokenizer (ignoring `caseExact` and types),
 *   silently ignores a `remove` whose filter matches nothing (RFC 7644 §3.5.2.2 wants noTarget), and
 *   re-parses the filter for every value (slow on large multi-valued attributes);
 * - `add` to a filtered path that matches nothing creates the value from the filter's `eq` terms
 *   (the library's behaviour, which Azure AD relies on), validated, and only for `eq`/`and` filters;
 * - `remove` with a value (Azure AD: `{"path": "members", "value": [{"value": id}]}`) matches values
 *   on the given sub-attributes; the library compares whole values exactly;
 * - a schema-qualified core path (`urn:…:App:displayName`) is stripped to `displayName`: the library
 *   treats every URN other than the core User/Group ones as an extension object;
 * - a single value given for a multi-valued attribute is wrapped in an array: the library's replace
 *   writes it over every existing value;
 * - the library mutates its input by default; it only ever sees a deep copy here.
 */
import { scimPatch, ScimError as PatchLibraryError, type ScimPatchOperation, type ScimResource } from 'scim-patch';
import { badRequest, quote, ScimError } from './errors.js';
import { compileFilterAt, parseFilter, type Filter } from './filter.js';
import {
  canonicaliseKeys, cloneJson, compileSchema, isPlainObject, isPresent, resolveIn, sameValue, type AttrNode, type CompiledSchema, type Json,
} from './paths.js';
import type { SchemaInput } from './schema.js';
import { checkSingle, checkValue, writableView } from './validate.js';

export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const DEFAULT_MAX_PATCH_OPERATIONS = 1000;

export interface ApplyPatchOptions {
  /** Most operations accepted in one request (400 tooMany above). Default 1000. */
  maxOperations?: number;
}

type OpName = 'add' | 'replace' | 'remove';

interface Operation {
  op: OpName;
  path: string | undefined;
  hasValue: boolean;
  value: unknown;
}

const invalidPath = (detail: string): ScimError => badRequest('invalidPath', detail);
const invalidValue = (detail: string): ScimError => badRequest('invalidValue', detail);
const noTarget = (detail: string): ScimError => badRequest('noTarget', detail);

/**
 * A member of a PatchOp message, its name matched case-insensitively (RFC 7643 §2.1). `Operations`
 * and `operations` in one body, or `op` and `Op` in one operation, are one name given twice, and
 * which of them counts would be the reader's choice: 400 invalidSyntax (RFC 7493 §2.3 for exact
 * duplicates, which the JSON parser already refuses).
 */
function memberCI(o: Json, name: string, where = 'the PATCH body'): { found: boolean; value: unknown } {
  let found: string | undefined;
  for (const k of Object.keys(o)) {
    if (k.toLowerCase() !== name) continue;
    if (found !== undefined) throw badRequest('invalidSyntax', `${where} gives ${quote(found)} and ${quote(k)}: one name, given twice`);
    found = k;
  }
  return found === undefined ? { found: false, value: undefined } : { found: true, value: o[found] };
}

/** RFC 7644 §3.5.2: the PatchOp message. */
function readMessage(body: unknown, maxOperations: number): Operation[] {
  if (!isPlainObject(body)) throw badRequest('invalidSyntax', 'the PATCH body must be a JSON object');
  const schemas = memberCI(body, 'schemas').value;
  // RFC 7644 §3.5.2: the body's "schemas" is the PatchOp message URI.
  if (!Array.isArray(schemas) || schemas.length !== 1 || typeof schemas[0] !== 'string' || schemas[0].toLowerCase() !== PATCH_OP_SCHEMA.toLowerCase()) {
    throw badRequest('invalidSyntax', `schemas must be ["${PATCH_OP_SCHEMA}"]`);
  }
  const ops = memberCI(body, 'operations').value;
  // RFC 7644 §3.5.2: "Operations" is an array of one or more operations.
  if (!Array.isArray(ops) || ops.length === 0) throw badRequest('invalidSyntax', '"Operations" must be a non-empty array');
  if (ops.length > maxOperations) throw badRequest('tooMany', `at most ${maxOperations} operations are accepted in one PATCH request`);
  return ops.map((raw, i): Operation => {
    const where = `Operations[${i}]`;
    if (!isPlainObject(raw)) throw badRequest('invalidSyntax', `${where} must be an object`);
    const opRaw = memberCI(raw, 'op', where).value;
    const op = typeof opRaw === 'string' ? opRaw.toLowerCase() : undefined;
    // RFC 7644 §3.5.2: "op" is one of "add", "remove", "replace" (case-insensitive here: clients
    // such as Azure AD send "Replace").
    if (op !== 'add' && op !== 'remove' && op !== 'replace') throw badRequest('invalidSyntax', `${where}.op must be "add", "remove" or "replace"`);
    const p = memberCI(raw, 'path', where);
    let path: string | undefined;
    if (p.found && p.value !== undefined && p.value !== null) {
      if (typeof p.value !== 'string' || p.value.trim().length === 0) throw invalidPath(`${where}.path must be a non-empty string`);
      if (p.value.length > 4096) throw invalidPath(`${where}.path is too long`);
      path = p.value.trim();
    }
    // RFC 7644 §3.5.2.2: a remove without "path" fails with 400 noTarget.
    if (op === 'remove' && path === undefined) throw noTarget(`${where}: "remove" needs a "path"`);
    const v = memberCI(raw, 'value', where);
    // RFC 7644 §3.5.2.1 / §3.5.2.3: add and replace MUST carry a "value".
    if (op !== 'remove' && !v.found) throw badRequest('invalidSyntax', `${where}: "${op}" needs a "value"`);
    return { op, path, hasValue: v.found && v.value !== undefined, value: v.value };
  });
}

interface ParsedPath {
  chain: AttrNode[];
  filter?: { ast: Filter; pred: (e: unknown) => boolean };
  sub?: AttrNode;
}

const SUB_NAME = /^(?:[A-Za-z][A-Za-z0-9_-]*|\$ref)$/;

/** RFC 7644 §3.5.2 (Figure 1): PATH = attrPath / valuePath [subAttr]. */
function parsePath(cs: CompiledSchema, path: string): ParsedPath {
  const open = path.indexOf('[');
  if (open < 0) {
    if (path.includes(']')) throw invalidPath(`invalid path ${quote(path)}`);
    const chain = resolveIn(cs, path);
    if (!chain) throw invalidPath(`unknown attribute ${quote(path)}`);
    // A path through a multi-valued attribute must say which values (RFC 7644 §3.5.2: valuePath).
    const mv = chain.slice(0, -1).find((n) => n.def.multiValued);
    if (mv) throw invalidPath(`${quote(path)}: ${mv.path} is multi-valued; select values with ${mv.name}[filter]`);
    return { chain };
  }
  // Find the ']' closing the value filter, skipping over quoted strings.
  let close = -1;
  let inString = false;
  for (let i = open + 1; i < path.length; i++) {
    const c = path[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === ']') {
      close = i;
      break;
    }
  }
  if (close < 0) throw invalidPath(`${quote(path)}: missing ']'`);
  const attrText = path.slice(0, open);
  const filterText = path.slice(open + 1, close);
  const rest = path.slice(close + 1);
  const chain = resolveIn(cs, attrText);
  if (!chain) throw invalidPath(`unknown attribute ${quote(attrText)}`);
  const target = chain[chain.length - 1]!;
  if (chain.slice(0, -1).some((n) => n.def.multiValued)) throw invalidPath(`invalid path ${quote(path)}`);
  if (target.def.type !== 'complex' || !target.def.multiValued) throw invalidPath(`${quote(attrText)} is not a multi-valued complex attribute: a value filter cannot be used`);
  let sub: AttrNode | undefined;
  if (rest.length > 0) {
    const name = rest.startsWith('.') ? rest.slice(1) : '';
    if (!SUB_NAME.test(name)) throw invalidPath(`invalid path ${quote(path)}: expected .subAttribute after ']'`);
    sub = target.children.get(name.toLowerCase());
    if (!sub) throw invalidPath(`${quote(target.path)} has no sub-attribute ${quote(name)}`);
  }
  let ast: Filter;
  let pred: (e: unknown) => boolean;
  try {
    ast = parseFilter(filterText);
    pred = compileFilterAt(ast, cs, target);
  } catch (e) {
    if (e instanceof ScimError) throw invalidPath(`${quote(path)}: ${e.detail}`);
    throw e;
  }
  return { chain, filter: { ast, pred }, sub };
}

function readAt(doc: Json, chain: readonly AttrNode[]): unknown {
  let cur: unknown = doc;
  for (const n of chain) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[n.name];
  }
  return cur;
}

/** The object holding the last attribute of `chain` (the resource, or an extension / complex value). */
function containerOf(doc: Json, chain: readonly AttrNode[], create: boolean): Json | undefined {
  let cur: Json = doc;
  for (const n of chain.slice(0, -1)) {
    const existing = cur[n.name];
    if (isPlainObject(existing)) {
      cur = existing;
      continue;
    }
    if (!create) return undefined;
    const made: Json = {};
    cur[n.name] = made;
    cur = made;
  }
  return cur;
}

/** The path in the library's syntax: schema spelling, extension URN first. */
function libraryPath(chain: readonly AttrNode[]): string {
  const ext = chain[0]?.extension ? chain[0] : undefined;
  const p = (ext ? chain.slice(1) : chain).map((n) => n.name).join('.');
  return ext ? `${ext.name}:${p}` : p;
}

/** RFC 7644 §3.5.2.1: adding to a multi-valued attribute adds the values not already there. */
function appendNew(n: AttrNode, existing: unknown, added: readonly unknown[]): unknown[] {
  const out = Array.isArray(existing) ? [...existing] : [];
  for (const v of added) if (!out.some((e) => sameValue(n, e, v))) out.push(v);
  return out;
}

/** Merge a (checked) partial complex value into `target` (RFC 7644 §3.5.2.1 / §3.5.2.3). */
function mergeInto(n: AttrNode, target: Json, value: Json, op: 'add' | 'replace'): void {
  for (const [k, v] of Object.entries(value)) {
    const c = n.children.get(k.toLowerCase());
    target[k] = c && c.def.multiValued && op === 'add' && Array.isArray(v) ? appendNew(c, target[k], v) : v;
  }
}

function mapLibraryError(e: unknown, path: string): ScimError {
  if (e instanceof ScimError) return e;
  if (e instanceof PatchLibraryError) {
    const msg = e.message.replace(/^Invalid SCIM (Patch|Remove Operation): /, '');
    if (e.scimCode === 'noTarget') return noTarget(`no value matches ${quote(path)}`);
    return invalidValue(`the operation on ${quote(path)} cannot be applied: ${msg}`);
  }
  return invalidValue(`the operation on ${quote(path)} cannot be applied`);
}

/** Apply one operation on a plain attribute path (no value filter) with the library. */
function runLibrary(doc: Json, op: OpName, libPath: string, value: unknown, clientPath: string): Json {
  const operation: ScimPatchOperation = op === 'remove' ? { op: 'remove', path: libPath } : { op, path: libPath, value };
  try {
    // mutateDocument: `doc` is already our private copy. treatMissingAsAdd only concerns value
    // filters, which the library never sees here.
    return scimPatch(doc as unknown as ScimResource, [operation], { mutateDocument: true, treatMissingAsAdd: false }) as unknown as Json;
  } catch (e) {
    throw mapLibraryError(e, clientPath);
  }
}

/** `a eq x and b eq y` inside a value filter, as sub-attribute values; undefined for any other filter. */
function equalities(f: Filter): { attrPath: string; value: string | number | boolean }[] | undefined {
  if (f.op === 'eq' && f.compValue !== null) return [{ attrPath: f.attrPath, value: f.compValue }];
  if (f.op === 'and') {
    const out: { attrPath: string; value: string | number | boolean }[] = [];
    for (const x of f.filters) {
      const e = equalities(x);
      if (!e) return undefined;
      out.push(...e);
    }
    return out;
  }
  return undefined;
}

function checkMutable(nodes: readonly (AttrNode | undefined)[], path: string): void {
  for (const n of nodes) {
    // RFC 7643 §7 "readOnly": SHALL NOT be modified; RFC 7644 §3.5.2: 400 mutability.
    if (n && n.def.mutability === 'readOnly') throw badRequest('mutability', `attribute ${quote(n.path)} is readOnly and cannot be modified (path ${quote(path)})`);
  }
}

/** Elements of a multi-valued attribute matching a `remove` value (Azure AD style `{"value": [{"value": id}]}`). */
function matchesRemoveValue(n: AttrNode, element: unknown, given: unknown): boolean {
  if (n.def.type !== 'complex') return sameValue(n, element, given);
  if (!isPlainObject(element) || !isPlainObject(given)) return false;
  const keys = Object.keys(given);
  if (keys.length === 0) return false;
  return keys.every((k) => {
    const c = n.children.get(k.toLowerCase());
    if (!c) return false;
    return sameValue(c, memberCI(element, k.toLowerCase()).value, given[k]);
  });
}

class Patcher {
  constructor(
    private readonly cs: CompiledSchema,
    public doc: Json,
  ) {}

  apply(op: Operation): void {
    if (op.path === undefined) this.applyWithoutPath(op.op as 'add' | 'replace', op.value);
    else this.applyAt(op.op, op.path, op.value, op.hasValue);
  }

  /** RFC 7644 §3.5.2.1 / §3.5.2.3: no path, so "value" is a set of attributes of the resource. */
  private applyWithoutPath(op: 'add' | 'replace', value: unknown): void {
    if (!isPlainObject(value)) throw invalidValue(`"${op}" without a path needs an object of attributes as its value`);
    const named = new Map<string, string>();
    for (const [k, v] of Object.entries(value)) {
      if (k.toLowerCase() === 'schemas') continue;
      if (k.includes('[')) throw invalidPath(`${quote(k)}: value filters are not allowed in attribute names`);
      const chain = resolveIn(this.cs, k);
      if (!chain) throw invalidPath(`unknown attribute ${quote(k)}`);
      // `displayName`, `DisplayName` and `urn:…:App:displayName` name one attribute: given twice, which wins is ambiguous.
      const id = chain.map((n) => n.path).join('\n');
      const before = named.get(id);
      if (before !== undefined) throw badRequest('invalidSyntax', `${quote(before)} and ${quote(k)} name the same attribute`);
      named.set(id, k);
      const last = chain[chain.length - 1]!;
      // Clients often echo read-only attributes (id, meta) back unchanged; that is not a modification.
      if (chain.some((n) => n.def.mutability === 'readOnly') && sameValue(last, readAt(this.doc, chain), v)) continue;
      this.applyAt(op, k, v, true);
    }
  }

  private applyAt(op: OpName, path: string, value: unknown, hasValue: boolean): void {
    // RFC 7643 §2.5: replacing with null is unassigning.
    if (op === 'replace' && value === null) {
      this.applyAt('remove', path, undefined, false);
      return;
    }
    if (op === 'add' && (value === null || value === undefined)) throw invalidValue(`"add" to ${quote(path)} needs a value`);
    const parsed = parsePath(this.cs, path);
    const { chain, filter, sub } = parsed;
    checkMutable([...chain, sub], path);
    const target = chain[chain.length - 1]!;

    if (!filter && target.extension) {
      // The whole extension object (RFC 7643 §3.3).
      if (op === 'remove') {
        delete this.doc[target.name];
        return;
      }
      if (!isPlainObject(value)) throw invalidValue(`the value for ${quote(path)} must be an object`);
      for (const [k, v] of Object.entries(value)) this.applyAt(op, `${target.name}:${k}`, v, true);
      return;
    }

    if (filter) {
      this.applyFiltered(op, path, chain, filter, sub, value);
      return;
    }

    if (op === 'remove') {
      if (hasValue && value !== null) {
        this.removeByValue(path, chain, value);
        return;
      }
      this.doc = runLibrary(this.doc, 'remove', libraryPath(chain), undefined, path);
      return;
    }

    let v: unknown;
    if (target.def.multiValued) {
      // A single value for a multi-valued attribute is one value to add / the new single value.
      v = checkValue(target, Array.isArray(value) ? value : [value], { readOnly: 'error' });
      if (v === undefined) {
        // An empty array: replace clears the attribute (RFC 7643 §2.5), add adds nothing.
        if (op === 'replace') this.doc = runLibrary(this.doc, 'remove', libraryPath(chain), undefined, path);
        return;
      }
    } else {
      // RFC 7644 §3.5.2.1 / §3.5.2.3: for a complex attribute the value is a set of sub-attributes,
      // merged into the existing value.
      v = checkSingle(target, value, { readOnly: 'error', partial: target.def.type === 'complex' });
    }
    this.doc = runLibrary(this.doc, op, libraryPath(chain), v, path);
  }

  /** An operation on `attr[filter]` or `attr[filter].sub` (RFC 7644 §3.5.2, valuePath). */
  private applyFiltered(op: OpName, path: string, chain: readonly AttrNode[], filter: NonNullable<ParsedPath['filter']>, sub: AttrNode | undefined, value: unknown): void {
    const target = chain[chain.length - 1]!;
    const current = readAt(this.doc, chain);
    const elements: unknown[] = Array.isArray(current) ? current : [];
    const matches = elements.filter((e): e is Json => isPlainObject(e) && filter.pred(e));

    let v: unknown;
    if (op !== 'remove') {
      if (sub) {
        v = checkValue(sub, sub.def.multiValued && !Array.isArray(value) ? [value] : value, { readOnly: 'error' });
        if (v === undefined) throw invalidValue(`the value for ${quote(path)} is empty`);
      } else {
        v = checkSingle(target, value, { readOnly: 'error', partial: true });
      }
    }

    if (matches.length === 0) {
      // RFC 7644 §3.5.2.2 / §3.5.2.3: a value filter that matches nothing is 400 noTarget.
      if (op !== 'add') throw noTarget(`no value of ${quote(target.path)} matches ${quote(path)}`);
      this.addFromFilter(path, chain, filter.ast, sub, v);
      return;
    }
    if (op === 'remove') {
      if (sub) {
        for (const e of matches) delete e[sub.name];
      } else {
        // RFC 7644 §3.5.2.2: remove the matching values; with none left the attribute is unassigned.
        const gone = new Set<unknown>(matches);
        this.setValues(chain, elements.filter((e) => !gone.has(e)));
      }
      return;
    }
    for (const e of matches) {
      if (!sub) mergeInto(target, e, v as Json, op);
      // RFC 7644 §3.5.2.1: add to a multi-valued sub-attribute adds values; otherwise the value is set.
      else e[sub.name] = sub.def.multiValued && op === 'add' ? appendNew(sub, e[sub.name], v as unknown[]) : v;
    }
  }

  /** Write the values of a multi-valued attribute; an empty list unassigns it (RFC 7643 §2.5). */
  private setValues(chain: readonly AttrNode[], values: unknown[]): void {
    const name = chain[chain.length - 1]!.name;
    const holder = containerOf(this.doc, chain, values.length > 0);
    if (!holder) return;
    if (values.length > 0) holder[name] = values;
    else delete holder[name];
  }

  /**
   * `add` to `attr[a eq "x"].sub` when no value matches: add a new value `{a: "x", sub: value}`
   * (what SCIM clients such as Azure AD expect). Only for filters made of `eq` joined by `and`.
   */
  private addFromFilter(path: string, chain: readonly AttrNode[], ast: Filter, sub: AttrNode | undefined, v: unknown): void {
    const target = chain[chain.length - 1]!;
    const eqs = equalities(ast);
    if (!eqs) throw noTarget(`no value of ${quote(target.path)} matches ${quote(path)}`);
    const element: Json = {};
    for (const { attrPath, value } of eqs) {
      const c = target.children.get(attrPath.toLowerCase());
      if (!c) throw noTarget(`no value of ${quote(target.path)} matches ${quote(path)}`);
      if (c.name in element && !sameValue(c, element[c.name], value)) throw noTarget(`no value of ${quote(target.path)} matches ${quote(path)}`);
      element[c.name] = value;
    }
    if (sub) element[sub.name] = v;
    else if (isPlainObject(v)) Object.assign(element, v);
    const checked = checkSingle(target, element, { readOnly: 'error' });
    const existing = readAt(this.doc, chain);
    this.setValues(chain, [...(Array.isArray(existing) ? existing : []), checked]);
  }

  private removeByValue(path: string, chain: readonly AttrNode[], value: unknown): void {
    const target = chain[chain.length - 1]!;
    if (!target.def.multiValued) throw invalidValue(`"remove" with a value is only defined for multi-valued attributes; ${quote(path)} is single-valued`);
    const given = Array.isArray(value) ? value : [value];
    const current = readAt(this.doc, chain);
    const elements = Array.isArray(current) ? current : [];
    const keep = elements.filter((e) => !given.some((g) => matchesRemoveValue(target, e, g)));
    if (keep.length === elements.length) throw noTarget(`no value of ${quote(target.path)} matches the given value`);
    // Not the library's remove-by-value: it compares whole values exactly, so `{"value": id}` would
    // never match a member rendered as `{"value": id, "display": ...}`.
    this.setValues(chain, keep);
  }
}

/**
 * RFC 7644 §3.5.2.2: when the last values of a multi-valued attribute go, it is unassigned; a
 * singular complex value left with no sub-attribute is unassigned likewise (RFC 7643 §2.5).
 */
function pruneEmpty(nodes: Iterable<AttrNode>, obj: Json): void {
  for (const n of nodes) {
    if (n.def.type !== 'complex' || n.def.multiValued) continue;
    const v = obj[n.name];
    if (!isPlainObject(v)) continue;
    pruneEmpty(n.children.values(), v);
    if (!isPresent(v)) delete obj[n.name];
  }
}

function orderedChildren(n: AttrNode): AttrNode[] {
  return (n.def.subAttributes ?? []).map((d) => n.children.get(d.name.toLowerCase())!);
}

/**
 * After all operations: immutable values that existed must be unchanged (RFC 7643 §7, RFC 7644
 * §3.5.2: 400 mutability); required attributes must not have been removed; every changed attribute
 * must still be a valid value as a whole (e.g. required sub-attributes).
 */
function checkResult(nodes: readonly AttrNode[], before: Json, after: Json, parentRemoved = false): void {
  for (const n of nodes) {
    if (n.def.mutability === 'readOnly') continue;
    const b = before[n.name];
    const a = after[n.name];
    const changed = !sameValue(n, writableView(n, b), writableView(n, a));
    if (!changed) continue;
    if (n.def.mutability === 'immutable' && isPresent(writableView(n, b))) {
      throw badRequest('mutability', `attribute ${quote(n.path)} is immutable and already has a value`);
    }
    // A required sub-attribute may go together with its parent; not on its own.
    if (!parentRemoved && n.def.required && !isPresent(a)) throw invalidValue(`required attribute ${quote(n.path)} cannot be removed`);
    if (n.def.type === 'complex' && !n.def.multiValued && isPlainObject(b)) {
      // Immutable sub-attributes (e.g. inside an extension) must survive even when the parent goes.
      checkResult(orderedChildren(n), b, isPlainObject(a) ? a : {}, parentRemoved || !isPresent(a));
    }
    if (isPresent(a)) checkValue(n, writableView(n, a), { readOnly: 'drop' });
  }
}

/**
 * Apply a PATCH request body (RFC 7644 §3.5.2) to a resource and return the patched copy; the input is
 * never modified, and either every operation applies or the call throws.
 *
 * Errors (all ScimError 400): invalidSyntax (malformed message, unknown op, missing value), tooMany
 * (more than maxOperations), invalidPath (malformed or unknown path), noTarget (remove without path,
 * value filter matching nothing), mutability (readOnly attribute, immutable attribute that has a
 * value), invalidValue (value of the wrong type / not canonical / unknown sub-attribute).
 */
export function applyPatch<T>(resource: T, body: unknown, schema: SchemaInput, opts: ApplyPatchOptions = {}): T {
  if (!isPlainObject(resource)) throw new TypeError('applyPatch: the resource must be a plain object');
  const ops = readMessage(body, opts.maxOperations ?? DEFAULT_MAX_PATCH_OPERATIONS);
  const cs = compileSchema(schema);
  const before = cloneJson(resource);
  canonicaliseKeys(cs.root, before);
  const p = new Patcher(cs, cloneJson(before));
  for (const op of ops) p.apply(op);
  pruneEmpty(cs.rootOrder, p.doc);
  checkResult(cs.rootOrder, before, p.doc);
  return p.doc as T;
}
