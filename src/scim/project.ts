/**
 * Attribute projection of responses: RFC 7644 §3.4.2.5 (`attributes`, `excludedAttributes`) combined
 * with RFC 7643 §7 `returned`.
 */
import { compileSchema, isPlainObject, resolveIn, type AttrNode, type CompiledSchema, type Json } from './paths.js';
import type { SchemaInput } from './schema.js';

/** A selection: for each named attribute, either the whole of it (`true`) or some of its sub-attributes. */
type Selection = Map<AttrNode, Selection | true>;

function buildSelection(cs: CompiledSchema, paths: readonly string[]): Selection {
  const root: Selection = new Map();
  for (const p of paths) {
    // RFC 7644 §3.4.2.5: names may be fully qualified (RFC 7644 §3.10); unknown names select nothing.
    const chain = resolveIn(cs, p.trim());
    if (!chain) continue;
    let sel = root;
    for (let i = 0; i < chain.length; i++) {
      const n = chain[i]!;
      const cur = sel.get(n);
      if (cur === true) break; // the whole attribute is already selected
      if (i === chain.length - 1) {
        sel.set(n, true);
        break;
      }
      let next: Selection;
      if (cur === undefined) {
        next = new Map();
        sel.set(n, next);
      } else {
        next = cur;
      }
      sel = next;
    }
  }
  return root;
}

type Mode = { kind: 'default'; exclude: Selection | undefined } | { kind: 'attributes'; include: Selection };

function projectValue(n: AttrNode, v: unknown, mode: Mode): unknown {
  if (n.children.size === 0) return v;
  const one = (x: unknown): unknown => (isPlainObject(x) ? projectObject(x, n.children, mode) : x);
  if (Array.isArray(v)) return v.map(one);
  return one(v);
}

function projectObject(obj: Json, children: ReadonlyMap<string, AttrNode>, mode: Mode, keepSchemas = false): Json {
  const out: Json = {};
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    // RFC 7643 §3: `schemas` is part of every resource and always returned.
    if (keepSchemas && key === 'schemas') {
      out[key] = v;
      continue;
    }
    const n = children.get(key.toLowerCase());
    // Not in the schema: never returned, so that nothing internal leaks through a render.
    if (!n) continue;
    const returned = n.def.returned;
    // RFC 7643 §7: "never" is never returned, even when requested.
    if (returned === 'never') continue;
    let sub: Mode | undefined;
    if (mode.kind === 'attributes') {
      const sel = mode.include.get(n);
      if (sel instanceof Map) {
        // Some sub-attributes named: keep those (plus any `always` ones).
        sub = { kind: 'attributes', include: sel };
      } else if (sel === true || returned === 'always') {
        // RFC 7644 §3.4.2.5: the named attributes, plus those that are returned always.
        sub = { kind: 'default', exclude: undefined };
      }
    } else {
      // RFC 7643 §7 "request": only when named in `attributes`.
      if (returned === 'request') continue;
      const ex = mode.exclude?.get(n);
      if (ex === true && returned !== 'always') continue; // RFC 7644 §3.4.2.5 excludedAttributes
      sub = { kind: 'default', exclude: ex instanceof Map ? ex : undefined };
    }
    if (!sub) continue;
    const projected = projectValue(n, v, sub);
    // A complex value whose every sub-attribute was projected away is left out altogether.
    if (isPlainObject(projected) && Object.keys(projected).length === 0 && isPlainObject(v) && Object.keys(v).length > 0) continue;
    out[key] = projected;
  }
  return out;
}

/**
 * Project a resource for a response: `always` attributes (id, schemas, ...) are kept; `never` ones are
 * dropped; `request` ones only when named in `attributes`; `default` ones unless excluded, or unless
 * `attributes` is given and does not name them (RFC 7644 §3.4.2.5, RFC 7643 §7). Names are
 * case-insensitive and may be sub-attribute paths (`meta.version`) or fully qualified URNs. When both
 * lists are given, `attributes` wins. Attributes the schema does not define are dropped. The result is
 * a new object keeping the resource's own key spelling.
 */
export function projectResource<T extends Record<string, unknown>>(
  res: T,
  schema: SchemaInput,
  attributes?: readonly string[],
  excludedAttributes?: readonly string[],
): Record<string, unknown> {
  const cs = compileSchema(schema);
  const mode: Mode =
    attributes && attributes.length > 0
      ? { kind: 'attributes', include: buildSelection(cs, attributes) }
      : { kind: 'default', exclude: excludedAttributes && excludedAttributes.length > 0 ? buildSelection(cs, excludedAttributes) : undefined };
  return projectObject(res, cs.root, mode, true);
}
