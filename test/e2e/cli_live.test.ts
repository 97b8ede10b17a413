/** Issue 7: a client created with the CLI while the server runs works at once, not after the cache TTL. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

const CLI = join(import.meta.dirname, '../../src/cli/index.ts');
let dir: string;
let env: Record<string, string>;
let child: ChildProcess | undefined;
let port: number;

const cli = (args: string[]) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return { id: /client_id=(\S+)/.exec(r.stdout)?.[1] ?? '', secret: /client_secret=(\S+)/.exec(r.stdout)?.[1] ?? '' };
};
const token = (id: string, secret: string, scope = 'urn:opc:idm:__myscopes__') => fetch(`http://127.0.0.1:${port}/oauth2/v1/token`, {
  method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  headers: { authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') },
});

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-cli-live-'));
  port = await new Promise<number>((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });
  // A long cache TTL: anything that only works after the TTL fails here.
  env = { TESSERA_DATA_DIR: dir, TESSERA_LOG_LEVEL: 'error', TESSERA_CACHE_TTL_SECONDS: '3600', PORT: String(port), TESSERA_PUBLIC_URL: `http://127.0.0.1:${port}` };
  const first = cli(['client', 'create', '--name', 'first', '--role', 'Identity Domain Administrator']);
  child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  for (let i = 0; i < 150; i++) {
    if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // Warm every cache: the domain, the catalog, a client.
  assert.equal((await token(first.id, first.secret)).status, 200);
});
after(async () => {
  child?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('a client created by the CLI with a role gets that role\'s scopes from the running server at once', async () => {
  const c = cli(['client', 'create', '--name', 'live', '--role', 'User Administrator']);
  const r = await token(c.id, c.secret);
  assert.equal(r.status, 200, await r.clone().text());
  const scope = ((await r.json()) as { scope: string }).scope.split(' ');
  assert.ok(scope.includes('urn:opc:idm:t.users'), scope.join(' '));
  assert.ok(!scope.includes('urn:opc:idm:t.settings'));
  // An unknown client is still refused, and a wrong secret for the new one too.
  assert.equal((await token(c.id, 'wrong-secret-wrong-secret-wrong')).status, 401);
  assert.equal((await token('no-such-client', 'whatever-whatever-whatever')).status, 401);
});
