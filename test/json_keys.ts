import { parse as parseJson, type ValueNode } from '@humanwhocodes/momoa';

/**
 * The keys that occur twice in one JSON object of `text`, at any depth (a.b for nested ones).
 * JSON.parse keeps the last of duplicate keys silently, so a parser that keeps the syntax tree
 * (momoa, strict JSON mode) is used; text that is not JSON throws.
 */
export function duplicateKeys(text: string): string[] {
  const dups: string[] = [];
  const walk = (n: ValueNode, path: string): void => {
    if (n.type === 'Object') {
      const seen = new Set<string>();
      for (const m of n.members) {
        const k = m.name.type === 'String' ? m.name.value : m.name.name;
        if (seen.has(k)) dups.push(path + k);
        seen.add(k);
        walk(m.value, `${path}${k}.`);
      }
    } else if (n.type === 'Array') {
      n.elements.forEach((e, i) => walk(e.value, `${path}${i}.`));
    }
  };
  walk(parseJson(text, { mode: 'json' }).body, '');
  return dups;
}
