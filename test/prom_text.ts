import assert from 'node:assert/strict';

export interface Sample { name: string; labels: Record<string, string>; value: number }

/**
 * A strict reader of the Prometheus text exposition format 0.0.4: every line is a comment, blank or
 * `name{label="value",...} value`; every sample belongs to a family announced by # TYPE; no family twice.
 */
export function parse(text: string): Sample[] {
  const types = new Map<string, string>();
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t) {
      assert.ok(!types.has(t[1]!), `family ${t[1]} announced twice`);
      types.set(t[1]!, t[2]!);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    assert.ok(!line.startsWith('#'), `unexpected comment ${line}`);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|[Nn]a[Nn]|[+-]Inf)$/.exec(line);
    assert.ok(m, `not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let l: RegExpExecArray | null;
      let end = 0;
      while ((l = re.exec(m[2])) !== null) { labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1'); end = re.lastIndex; }
      assert.equal(end, m[2].length, `bad labels in ${line}`);
    }
    const family = [...types.keys()].find((f) => m[1] === f || (['histogram', 'summary'].includes(types.get(f)!) && /^_(bucket|sum|count)$/.test(m[1]!.slice(f.length)) && m[1]!.startsWith(f)));
    assert.ok(family, `sample ${m[1]} without a # TYPE`);
    out.push({ name: m[1]!, labels, value: /^nan$/i.test(m[3]!) ? NaN : Number(m[3]!.replace('+Inf', 'Infinity').replace('-Inf', '-Infinity')) });
  }
  return out;
}
// Values are Go floats (case-insensitive NaN: prom-client writes `Nan` for an event-loop mean with no sample yet).

export const value = (samples: Sample[], name: string, labels: Record<string, string> = {}): number =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
