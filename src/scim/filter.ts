/**
 * SCIM filters (RFC 7644 §3.4.2.2): parsing with limits, and evaluation against SCIM-shaped JSON
 * resources under a schema.
 *
 * The grammar's operator precedence is left to `scim2-parse-filter`. Its tokenizer is not used on
 * client text: it mis-decodes string escapes (`"a\\b"` becomes two backslashes, `\n` stays literal),
 * rejects negative numbers before `)` (`(x gt -5)`), cannot read `$ref`, turns `a[f].b eq 1` into a
 * different `and` filter, and recurses until the stack overflows on deep nesting. So this module
 * lexes and checks the text itself (linear, iterative, bounded), hands the library a neutral token
 * string (attribute names and values replaced by placeholders) and maps the tree back. Evaluation does
 * not use the library's `filter()` either: it compares case-sensitively, ignores `caseExact`, compares
 * dateTimes as strings and knows nothing of the schema.
 */
import { parse as libParse, stringify as libStringify, type Filter as LibFilter } from 'scim2-parse-filter';
import { badRequest, quote, ScimError } from './errors.js';
import { compileSchema, fold, getCI, isPlainObject, isPresent, parseDateTime, resolveIn, type AttrNode, type CompiledSchema } from './paths.js';
import type { AttributeDef, SchemaInput } from './schema.js';

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'lt' | 'ge' | 'le';
export type CompValue = string | number | boolean | null;

export interface CompareFilter {
  readonly op: CompareOp;
  readonly attrPath: string;
  readonly compValue: CompValue;
}
export interface PresentFilter {
  readonly op: 'pr';
  readonly attrPath: string;
}
export interface LogicalFilter {
  readonly op: 'and' | 'or';
  readonly filters: readonly Filter[];
}
export interface NotFilter {
  readonly op: 'not';
  readonly filter: Filter;
}
/** `attrPath[valFilter]`: a filter on the values of a (multi-valued) complex attribute. */
export interface ValuePathFilter {
  readonly op: '[]';
  readonly attrPath: string;
  readonly valFilter: Filter;
}
/** The filter tree. Attribute paths keep the client's spelling; resolve them with the schema. */
export type Filter = CompareFilter | PresentFilter | LogicalFilter | NotFilter | ValuePathFilter;

export interface ParseFilterOptions {
  /** Longest accepted filter text, in characters. Default 4096. */
  maxLength?: number;
  /** Deepest accepted nesting of `and`/`or`/`not`/`[]` and of parentheses/brackets. Default 16. */
  maxDepth?: number;
}

export const DEFAULT_MAX_FILTER_LENGTH = 4096;
export const DEFAULT_MAX_FILTER_DEPTH = 16;

const COMPARE_OPS: ReadonlySet<string> = new Set<CompareOp>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le']);
const KEYWORDS: ReadonlySet<string> = new Set(['and', 'or', 'not', 'pr', 'true', 'false', 'null', ...COMPARE_OPS]);

// RFC 7644 §3.10 / RFC 7643 §2.1: attrPath = [URI ":"] ATTRNAME *1subAttr, ATTRNAME = ALPHA *(nameChar).
// Deeper sub-attribute paths are accepted too; the schema decides whether they exist.
const NAME = String.raw`(?:[A-Za-z][A-Za-z0-9_-]*|\$ref)`;
const ATTR_PATH = new RegExp(String.raw`^(?:[A-Za-z][A-Za-z0-9._-]*(?::[A-Za-z0-9._-]+)*:)?${NAME}(?:\.${NAME})*$`);

type TokKind = '(' | ')' | '[' | ']' | 'word' | 'value';
interface Tok {
  kind: TokKind;
  text: string;
  /** 1-based character position, for error details. */
  pos: number;
  value?: CompValue;
}

const invalid = (detail: string): ScimError => badRequest('invalidFilter', detail);

const WS = /\s+/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WORD = /[A-Za-z_$][A-Za-z0-9_$:.-]*/y;

/** Split the text into tokens, decoding JSON string and number literals (RFC 7644 §3.4.2.2, RFC 8259). */
function tokenize(text: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    WS.lastIndex = i;
    if (WS.test(text)) {
      i = WS.lastIndex;
      continue;
    }
    const c = text[i]!;
    const pos = i + 1;
    if (c === '(' || c === ')' || c === '[' || c === ']') {
      toks.push({ kind: c, text: c, pos });
      i++;
      // RFC 7644 §3.4.2.2: `attr[filter].sub` is PATCH path syntax (§3.5.2), not a filter.
      if (c === ']' && text[i] === '.') throw invalid(`a sub-attribute after ']' (character ${pos + 1}) is only allowed in PATCH paths; write attr[sub op value]`);
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= n) throw invalid(`unterminated string starting at character ${pos}`);
      const raw = text.slice(i, j + 1);
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        throw invalid(`invalid string ${quote(raw, 40)} at character ${pos} (JSON string escapes only)`);
      }
      toks.push({ kind: 'value', text: raw, pos, value: value as string });
      i = j + 1;
      continue;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      const end = m ? NUMBER.lastIndex : i;
      const next = text[end];
      if (!m || (next !== undefined && !/[\s()\]]/.test(next))) throw invalid(`invalid number at character ${pos}`);
      const value = Number(m[0]);
      if (!Number.isFinite(value)) throw invalid(`number out of range at character ${pos}`);
      toks.push({ kind: 'value', text: m[0], pos, value });
      i = end;
      continue;
    }
    WORD.lastIndex = i;
    const w = WORD.exec(text);
    if (w) {
      toks.push({ kind: 'word', text: w[0], pos });
      i = WORD.lastIndex;
      continue;
    }
    throw invalid(`unexpected character ${quote(c)} at character ${pos}`);
  }
  return toks;
}

const describe = (t: Tok | undefined): string => (t ? `${quote(t.text, 40)} at character ${t.pos}` : 'the end of the filter');

/**
 * Check the token sequence against the RFC 7644 §3.4.2.2 grammar (Figure 1) with a small state
 * machine, so every syntax error gets a precise detail; no recursion, so no depth is too deep to
 * report. Returns the token string for the library parser and the placeholder tables.
 */
function checkGrammar(toks: Tok[], maxDepth: number): { lib: string; attrs: string[]; values: CompValue[] } {
  type State = 'term' | 'op' | 'value' | 'after';
  let state: State = 'term';
  const stack: ('(' | '[')[] = [];
  const out: string[] = [];
  const attrs: string[] = [];
  const values: CompValue[] = [];
  let lastAttr: Tok | undefined;
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k]!;
    const kw = t.kind === 'word' ? t.text.toLowerCase() : undefined;
    switch (state) {
      case 'term': {
        if (t.kind === '(') {
          stack.push('(');
          // Parentheses count towards maxDepth: they are what a deeply nested filter is made of.
          if (stack.length > maxDepth) throw invalid(`filter is nested more than ${maxDepth} levels deep`);
          out.push('(');
        } else if (kw === 'not') {
          // RFC 7644 §3.4.2.2 (Figure 1): "not" "(" valFilter ")".
          if (toks[k + 1]?.kind !== '(') throw invalid(`'not' must be followed by '(' (${describe(t)})`);
          out.push('not');
        } else if (t.kind === 'word' && !KEYWORDS.has(kw!)) {
          if (!ATTR_PATH.test(t.text)) throw invalid(`invalid attribute path ${describe(t)}`);
          out.push(`w${attrs.length}`);
          attrs.push(t.text);
          lastAttr = t;
          state = 'op';
        } else {
          throw invalid(`expected an attribute name, 'not' or '(' but found ${describe(t)}`);
        }
        break;
      }
      case 'op': {
        if (kw !== undefined && COMPARE_OPS.has(kw)) {
          out.push(kw);
          state = 'value';
        } else if (kw === 'pr') {
          out.push('pr');
          state = 'after';
        } else if (t.kind === '[') {
          // RFC 7644 §3.4.2.2: valFilter contains no valuePath, so brackets do not nest.
          if (stack.includes('[')) throw invalid(`value filters cannot be nested (${describe(t)})`);
          stack.push('[');
          if (stack.length > maxDepth) throw invalid(`filter is nested more than ${maxDepth} levels deep`);
          out.push('[');
          state = 'term';
        } else {
          throw invalid(`expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) or '[' after attribute ${quote(lastAttr?.text ?? '')} but found ${describe(t)}`);
        }
        break;
      }
      case 'value': {
        if (t.kind === 'value') {
          out.push(`"${values.length}"`);
          values.push(t.value ?? null);
        } else if (kw === 'true' || kw === 'false' || kw === 'null') {
          // RFC 7644 §3.4.2.2: compValue = false / null / true / number / string (lower-case literals).
          if (t.text !== kw) throw invalid(`${describe(t)}: the literals true, false and null are lower-case`);
          out.push(`"${values.length}"`);
          values.push(kw === 'null' ? null : kw === 'true');
        } else {
          throw invalid(`expected a comparison value (string, number, true, false or null) but found ${describe(t)}`);
        }
        state = 'after';
        break;
      }
      case 'after': {
        if (kw === 'and' || kw === 'or') {
          out.push(kw);
          state = 'term';
        } else if (t.kind === ')' || t.kind === ']') {
          const open = stack.pop();
          const want = t.kind === ')' ? '(' : '[';
          if (open !== want) throw invalid(open ? `${describe(t)} does not close '${open}'` : `unbalanced ${describe(t)}`);
          out.push(t.kind);
        } else {
          throw invalid(`expected 'and', 'or' or a closing bracket but found ${describe(t)}`);
        }
        break;
      }
    }
  }
  if (state !== 'after') throw invalid(toks.length === 0 ? 'filter is empty' : `filter ends too early (after ${describe(toks[toks.length - 1])})`);
  if (stack.length > 0) throw invalid(`missing '${stack[stack.length - 1] === '(' ? ')' : ']'}' at the end of the filter`);
  return { lib: out.join(' '), attrs, values };
}

/** Map the library's tree back, restoring names and values; reports the depth of and/or/not/[] nesting. */
function fromLib(f: LibFilter, attrs: string[], values: CompValue[], inBracket: boolean): { filter: Filter; depth: number } {
  const attr = (p: string): string => {
    const m = /^w(\d+)$/.exec(p);
    const a = m ? attrs[Number(m[1])] : undefined;
    if (a === undefined) throw invalid('invalid filter syntax');
    return a;
  };
  switch (f.op) {
    case 'and':
    case 'or': {
      let depth = 0;
      const filters = f.filters.map((x) => {
        const r = fromLib(x, attrs, values, inBracket);
        depth = Math.max(depth, r.depth);
        return r.filter;
      });
      return { filter: { op: f.op, filters }, depth: depth + 1 };
    }
    case 'not': {
      const r = fromLib(f.filter, attrs, values, inBracket);
      return { filter: { op: 'not', filter: r.filter }, depth: r.depth + 1 };
    }
    case '[]': {
      if (inBracket) throw invalid('value filters cannot be nested');
      const r = fromLib(f.valFilter, attrs, values, true);
      return { filter: { op: '[]', attrPath: attr(f.attrPath), valFilter: r.filter }, depth: r.depth + 1 };
    }
    case 'pr':
      return { filter: { op: 'pr', attrPath: attr(f.attrPath) }, depth: 0 };
    default: {
      const m = typeof f.compValue === 'string' ? /^(\d+)$/.exec(f.compValue) : null;
      const idx = m ? Number(m[1]) : -1;
      if (idx < 0 || idx >= values.length) throw invalid('invalid filter syntax');
      return { filter: { op: f.op, attrPath: attr(f.attrPath), compValue: values[idx]! }, depth: 0 };
    }
  }
}

/**
 * Parse a SCIM filter (RFC 7644 §3.4.2.2). Throws `ScimError(400, 'invalidFilter')` on a syntax error,
 * on text longer than `maxLength` and on nesting deeper than `maxDepth`.
 */
export function parseFilter(text: string, opts: ParseFilterOptions = {}): Filter {
  const maxLength = opts.maxLength ?? DEFAULT_MAX_FILTER_LENGTH;
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_FILTER_DEPTH;
  if (typeof text !== 'string') throw invalid('filter must be a string');
  // Bound the work before looking at the text at all.
  if (text.length > maxLength) throw invalid(`filter is longer than ${maxLength} characters`);
  const toks = tokenize(text);
  const { lib, attrs, values } = checkGrammar(toks, maxDepth);
  let tree: LibFilter;
  try {
    tree = libParse(lib);
  } catch (e) {
    // The library recurses once per parenthesis: with maxDepth raised far enough it runs out of stack.
    if (e instanceof RangeError) throw invalid('filter is nested too deeply');
    // Not expected after checkGrammar; never let the library's error escape.
    throw invalid('invalid filter syntax');
  }
  const { filter, depth } = fromLib(tree, attrs, values, false);
  if (depth > maxDepth) throw invalid(`filter is nested more than ${maxDepth} levels deep`);
  return filter;
}

/** The filter as SCIM filter text (values JSON-encoded). */
export function stringifyFilter(f: Filter): string {
  return libStringify(f as LibFilter);
}

// ---------------------------------------------------------------------------------------------
// Evaluation.

export interface CompileFilterOptions {
  /**
   * Called with the canonical path of every attribute the filter touches (`emails`, `emails.type`,
   * `urn:…:User:manager.value`); returning true refuses the filter with 400 invalidFilter.
   */
  forbidden?: (path: string) => boolean;
}

export type ResourcePredicate = (resource: Record<string, unknown>) => boolean;
type Pred = (node: unknown) => boolean;

/** Every present value reached by walking `chain` from `start`, flattening multi-valued attributes. */
function collect(start: unknown, chain: readonly AttrNode[]): unknown[] {
  let cur: unknown[] = [start];
  for (const n of chain) {
    const next: unknown[] = [];
    const key = n.name.toLowerCase();
    for (const c of cur) {
      if (!isPlainObject(c)) continue;
      const v = getCI(c, key);
      if (v === undefined || v === null) continue;
      if (Array.isArray(v)) {
        for (const e of v) if (e !== undefined && e !== null) next.push(e);
      } else {
        next.push(v);
      }
    }
    cur = next;
  }
  return cur;
}

function checkAccess(chain: readonly AttrNode[], attrPath: string, opts: CompileFilterOptions): void {
  for (const n of chain) {
    // RFC 7643 §7 "returned: never" (e.g. password) and RFC 7644 §7.5.2: a filter on a value the
    // server never discloses would be an oracle for it, so it is refused.
    if (n.def.returned === 'never' || opts.forbidden?.(n.path)) {
      throw invalid(`attribute ${quote(attrPath)} cannot be used in a filter`);
    }
  }
}

function resolveForFilter(cs: CompiledSchema, attrPath: string, base: AttrNode | undefined, opts: CompileFilterOptions): AttrNode[] {
  const chain = resolveIn(cs, attrPath, base);
  // RFC 7644 §3.4.2.2: an unknown attribute in a filter is an invalidFilter error.
  if (!chain || chain.length === 0) throw invalid(`unknown attribute ${quote(attrPath)}${base ? ` in ${base.path}[...]` : ''}`);
  checkAccess(chain, attrPath, opts);
  return chain;
}

type Leaf = (v: unknown) => boolean;

function compareStrings(op: CompareOp, a: string, b: string): boolean {
  switch (op) {
    case 'eq': return a === b;
    case 'ne': return a !== b;
    case 'co': return a.includes(b);
    case 'sw': return a.startsWith(b);
    case 'ew': return a.endsWith(b);
    case 'gt': return a > b;
    case 'ge': return a >= b;
    case 'lt': return a < b;
    case 'le': return a <= b;
  }
}

function compareNumbers(op: CompareOp, a: number, b: number): boolean {
  switch (op) {
    case 'eq': return a === b;
    case 'ne': return a !== b;
    case 'gt': return a > b;
    case 'ge': return a >= b;
    case 'lt': return a < b;
    case 'le': return a <= b;
    default: return false;
  }
}

const ORDERING: ReadonlySet<CompareOp> = new Set(['gt', 'ge', 'lt', 'le']);
const SUBSTRING: ReadonlySet<CompareOp> = new Set(['co', 'sw', 'ew']);

/** The per-value test for `attr op value`, type-checked against the attribute (RFC 7644 §3.4.2.2). */
function makeLeaf(def: AttributeDef, op: CompareOp, cv: Exclude<CompValue, null>, attrPath: string): Leaf {
  const mismatch = op === 'ne'; // a value of another type is "not equal"
  const want = (what: string) => invalid(`attribute ${quote(attrPath)} is ${def.type === 'integer' || def.type === 'decimal' ? 'a number' : `of type ${def.type}`}: compare it with ${what}`);
  switch (def.type) {
    case 'boolean': {
      // RFC 7644 §3.4.2.2: gt/ge/lt/le on a boolean SHALL be an invalidFilter error.
      if (typeof cv !== 'boolean') throw want('true or false');
      if (op !== 'eq' && op !== 'ne') throw invalid(`operator ${op} cannot be used with the boolean attribute ${quote(attrPath)}`);
      return (v) => (typeof v === 'boolean' ? (op === 'eq' ? v === cv : v !== cv) : mismatch);
    }
    case 'integer':
    case 'decimal': {
      if (typeof cv !== 'number') throw want('a number');
      if (SUBSTRING.has(op)) throw invalid(`operator ${op} needs a string attribute; ${quote(attrPath)} is a number`);
      return (v) => (typeof v === 'number' ? compareNumbers(op, v, cv) : mismatch);
    }
    case 'dateTime': {
      if (typeof cv !== 'string') throw want('a date-time string');
      if (SUBSTRING.has(op)) {
        // Substring tests on the text of a date-time are harmless and sometimes handy (`sw "2024-"`).
        const b = cv.toLowerCase();
        return (v) => (typeof v === 'string' ? compareStrings(op, v.toLowerCase(), b) : mismatch);
      }
      // RFC 7644 §3.4.2.2: dateTimes compare chronologically, i.e. as instants (offsets differ).
      const t = parseDateTime(cv);
      if (Number.isNaN(t)) throw invalid(`${quote(cv)} is not an xsd:dateTime (RFC 7643 §2.3.5)`);
      return (v) => {
        const x = typeof v === 'string' ? parseDateTime(v) : Number.NaN;
        return Number.isNaN(x) ? mismatch : compareNumbers(op, x, t);
      };
    }
    case 'complex':
      throw invalid(`attribute ${quote(attrPath)} is complex: filter on one of its sub-attributes`);
    default: {
      // string, reference, binary
      if (typeof cv !== 'string') throw want('a string');
      // RFC 7644 §3.4.2.2: gt/ge/lt/le on binary SHALL be an invalidFilter error.
      if (def.type === 'binary' && ORDERING.has(op)) throw invalid(`operator ${op} cannot be used with the binary attribute ${quote(attrPath)}`);
      // RFC 7643 §2.2 / §7: case-insensitive unless the attribute is caseExact.
      const b = fold(def, cv);
      return (v) => (typeof v === 'string' ? compareStrings(op, fold(def, v), b) : mismatch);
    }
  }
}

function compileNode(f: Filter, cs: CompiledSchema, base: AttrNode | undefined, opts: CompileFilterOptions, depth: number): Pred {
  if (depth > 64) throw invalid('filter is nested too deeply');
  switch (f.op) {
    case 'and': {
      const ps = f.filters.map((x) => compileNode(x, cs, base, opts, depth + 1));
      return (r) => ps.every((p) => p(r));
    }
    case 'or': {
      const ps = f.filters.map((x) => compileNode(x, cs, base, opts, depth + 1));
      return (r) => ps.some((p) => p(r));
    }
    case 'not': {
      const p = compileNode(f.filter, cs, base, opts, depth + 1);
      return (r) => !p(r);
    }
    case '[]': {
      if (base) throw invalid('value filters cannot be nested');
      const chain = resolveForFilter(cs, f.attrPath, undefined, opts);
      const target = chain[chain.length - 1]!;
      if (target.def.type !== 'complex') throw invalid(`attribute ${quote(f.attrPath)} is not complex: use ${f.attrPath} op value instead of [...]`);
      const p = compileNode(f.valFilter, cs, target, opts, depth + 1);
      // RFC 7644 §3.4.2.2: the value filter selects among the values of a multi-valued attribute;
      // the resource matches if any value does.
      return (r) => collect(r, chain).some((e) => isPlainObject(e) && p(e));
    }
    case 'pr': {
      const chain = resolveForFilter(cs, f.attrPath, base, opts);
      // RFC 7644 §3.4.2.2 "pr": a non-empty value, or a complex value with a non-empty sub-attribute.
      return (r) => collect(r, chain).some(isPresent);
    }
    default: {
      let chain = resolveForFilter(cs, f.attrPath, base, opts);
      let target = chain[chain.length - 1]!;
      if (target.def.type === 'complex') {
        // RFC 7643 §2.4: a multi-valued complex attribute's `value` sub-attribute is its primary
        // value, so `emails co "@x"` means `emails.value co "@x"`.
        const v = target.children.get('value');
        if (!v) throw invalid(`attribute ${quote(f.attrPath)} is complex: filter on one of its sub-attributes`);
        checkAccess([v], f.attrPath, opts);
        chain = [...chain, v];
        target = v;
      }
      const op = f.op;
      const cv = f.compValue;
      if (cv === null) {
        // RFC 7643 §2.5: null is the unassigned state; only eq/ne make sense against it.
        if (op !== 'eq' && op !== 'ne') throw invalid(`operator ${op} cannot be used with null`);
        return op === 'eq' ? (r) => !collect(r, chain).some(isPresent) : (r) => collect(r, chain).some(isPresent);
      }
      const leaf = makeLeaf(target.def, op, cv, f.attrPath);
      if (op === 'ne') {
        // An unassigned attribute is "not equal" to any value (RFC 7643 §2.5: unassigned == null).
        return (r) => {
          const vals = collect(r, chain);
          return vals.length === 0 || vals.some(leaf);
        };
      }
      // Multi-valued: the filter matches if any value matches.
      return (r) => collect(r, chain).some(leaf);
    }
  }
}

/** @internal Compile relative to a complex attribute (PATCH value filters, RFC 7644 §3.5.2). */
export function compileFilterAt(f: Filter, cs: CompiledSchema, base: AttrNode | undefined, opts: CompileFilterOptions = {}): Pred {
  if (base) checkAccess([base], base.path, opts);
  return compileNode(f, cs, base, opts, 0);
}

/**
 * Compile a filter against a schema into a predicate over SCIM JSON resources. Unknown attributes,
 * attributes that are `returned: never` or `forbidden`, and comparisons that do not fit an attribute's
 * type throw `ScimError(400, 'invalidFilter')` here, before any resource is looked at.
 */
export function compileFilter(f: Filter, schema: SchemaInput, opts: CompileFilterOptions = {}): ResourcePredicate {
  const p = compileNode(f, compileSchema(schema), undefined, opts, 0);
  return (resource) => p(resource);
}
