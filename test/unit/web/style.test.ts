import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The browser apps' one stylesheet is appended to by every page's author; a block left open (a lost
 * `}` in a merge) silently moves every later rule into the block above it (here: into a phone-width
 * media query). Every block must close, and no rule may sit inside an ordinary rule.
 */
const CSS = fileURLToPath(new URL('../../../web/shared/style.css', import.meta.url));

test('web/shared/style.css: every block closes where it should', () => {
  const text = readFileSync(CSS, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  const stack: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '{') {
      const head = text.slice(start, i).trim();
      const line = text.slice(0, i).split('\n').length;
      assert.ok(stack.length === 0 || stack.at(-1)!.startsWith('@'), `line ${line}: "${head}" opens inside the rule "${stack.at(-1)}" (a "}" is missing above it)`);
      stack.push(head);
      start = i + 1;
    } else if (ch === '}') {
      assert.ok(stack.length > 0, `line ${text.slice(0, i).split('\n').length}: a "}" closes nothing`);
      stack.pop();
      start = i + 1;
    } else if (ch === ';' && stack.length === 0) {
      start = i + 1;
    }
  }
  assert.deepEqual(stack, [], 'blocks left open at the end of the file');
});
