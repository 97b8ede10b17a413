import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { duplicateKeys } from '../json_keys.js';

const CLI = join(import.meta.dirname, '../../src/cli/index.ts');

function run(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });
}

/** `tessera serve` on a free port until healthy; the log lines it printed so far, parsed. */
async function startServe(env: Record<string, string>) {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), TESSERA_PUBLIC_URL: publicUrl }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    up = await fetch(`${publicUrl}/healthz`).then((r) => r.ok, () => false);
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  /** Stops the server (its output is then complete) and returns the exit code. */
  const stop = async () => { child.kill('SIGTERM'); const code = await exited; child.kill('SIGKILL'); return code; };
  if (!up) { await stop(); assert.fail(`server did not start: ${stderr}`); }
  // With several workers the port answers once the first one listens; the start-up lines come when all do.
  for (let i = 0; i < 150 && !stdout.includes('issuer for client libraries'); i++) await new Promise((r) => setTimeout(r, 100));
  const lines = () => stdout.split('\n').filter(Boolean).map((l) => {
    assert.deepEqual(duplicateKeys(l), [], `a log line with a duplicate key: ${l}`);
    return JSON.parse(l) as Record<string, unknown>;
  });
  return { publicUrl, lines, stop, stderr: () => stderr };
}

describe('tessera CLI', () => {
  let dir: string;
  let env: Record<string, string>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
    env = { TESSERA_DATA_DIR: dir, TESSERA_LOG_LEVEL: 'error' };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('migrate creates the database and a master key (with a warning); a second run has nothing to do', () => {
    const first = run(['migrate'], env);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /applied: 0001_initial/);
    assert.ok(existsSync(join(dir, 'tessera.db')));
    const again = run(['migrate'], env);
    assert.match(again.out, /up to date/);
    run(['domain', 'list'], env);
    assert.ok(existsSync(join(dir, 'master.key')));
    assert.equal(Buffer.from(readFileSync(join(dir, 'master.key'), 'utf8').trim(), 'base64').length, 32);
  });

  test('a bad setting stops start-up with a message naming the key', () => {
    // [variable, bad value, the secret part that must not be printed]
    for (const [k, v, secret] of [['PORT', 'eighty'], ['TESSERA_PUBLIC_URL', 'not a url'], ['TESSERA_DATABASE_URL', 'mysql://tessera:Pa55w0rdXYZ@x', 'Pa55w0rdXYZ'],
      ['TESSERA_MASTER_KEY', 'Sup3rS3cretKey', 'Sup3rS3cretKey'], ['TESSERA_BOOTSTRAP_CLIENT_SECRET', 'hunter2hunter2', 'hunter2hunter2']] as const) {
      const r = run(['migrate'], { ...env, [k]: v, TESSERA_BOOTSTRAP_CLIENT_ID: 'x' });
      assert.equal(r.code, 2, `${k}: ${r.err}`);
      assert.match(r.err, new RegExp(`configuration error: ${k}: `));
      if (secret) assert.ok(!r.out.includes(secret) && !r.err.includes(secret), `${k}: the secret is printed: ${r.err}`);
    }
    const half = run(['migrate'], { ...env, TESSERA_BOOTSTRAP_CLIENT_ID: 'only-id' });
    assert.equal(half.code, 2);
    assert.match(half.err, /TESSERA_BOOTSTRAP_CLIENT_SECRET/);
  });

  test('--version and -V print the version from package.json', () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    assert.match(version, /^\d+\.\d+\.\d+/);
    for (const flag of ['--version', '-V']) {
      const r = run([flag], env);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, `${version}\n`);
    }
    assert.equal(run(['--versions'], env).code, 1, 'an unknown option is refused');
  });

  test('serve prints the issuer and discovery URL, and how to create an administrator while there is none', async () => {
    const own = mkdtempSync(join(tmpdir(), 'tessera-cli-start-'));
    try {
      const startEnv = { TESSERA_DATA_DIR: own, TESSERA_LOG_LEVEL: 'info' };
      const first = await startServe(startEnv);
      const discovery = `${first.publicUrl}/.well-known/openid-configuration`;
      try {
        // The printed discovery URL is the real one, and names the printed issuer.
        const meta = await fetch(discovery).then((r) => r.json()) as { issuer: string };
        assert.equal(meta.issuer, first.publicUrl);
      } finally {
        assert.equal(await first.stop(), 0, first.stderr());
      }
      let lines = first.lines();
      const start = lines.filter((l) => l.issuer !== undefined);
      assert.equal(start.length, 1, JSON.stringify(lines));
      assert.equal(start[0]!.issuer, first.publicUrl);
      assert.equal(start[0]!.discovery, discovery);
      assert.match(String(start[0]!.msg), new RegExp(`issuer for client libraries: ${first.publicUrl} \\(discovery: ${discovery}\\)`));
      const hint = lines.filter((l) => /no administrator/.test(String(l.msg)));
      assert.equal(hint.length, 1, JSON.stringify(lines));
      assert.equal(hint[0]!.level, 40, 'a warning');
      assert.match(String(hint[0]!.msg), /TESSERA_BOOTSTRAP_CLIENT_ID and TESSERA_BOOTSTRAP_CLIENT_SECRET/);
      assert.match(String(hint[0]!.msg), /npx tessera client create --name admin --role "Identity Domain Administrator"/);

      // Following the hint makes it go away.
      const created = run(['client', 'create', '--name', 'admin', '--role', 'Identity Domain Administrator'], { ...startEnv, TESSERA_LOG_LEVEL: 'error' });
      assert.equal(created.code, 0, created.err);
      const second = await startServe(startEnv);
      assert.equal(await second.stop(), 0, second.stderr());
      lines = second.lines();
      assert.equal(lines.filter((l) => l.issuer === second.publicUrl).length, 1, JSON.stringify(lines));
      assert.deepEqual(lines.filter((l) => /no administrator/.test(String(l.msg))), []);

      // So does a bootstrap client, in a domain that has no other administrator.
      const fresh = mkdtempSync(join(tmpdir(), 'tessera-cli-boot-'));
      const third = await startServe({ TESSERA_DATA_DIR: fresh, TESSERA_LOG_LEVEL: 'info', TESSERA_BOOTSTRAP_CLIENT_ID: 'boot', TESSERA_BOOTSTRAP_CLIENT_SECRET: 'boot-secret-0123456789abcdefghij' });
      try {
        assert.equal(await third.stop(), 0, third.stderr());
      } finally {
        rmSync(fresh, { recursive: true, force: true });
      }
      lines = third.lines();
      assert.equal(lines.filter((l) => l.issuer === third.publicUrl).length, 1, JSON.stringify(lines));
      assert.deepEqual(lines.filter((l) => /no administrator/.test(String(l.msg))), []);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  test('config lists every setting', () => {
    const r = run(['config'], env);
    assert.equal(r.code, 0);
    for (const k of ['PORT', 'TESSERA_PUBLIC_URL', 'TESSERA_DATABASE_URL', 'TESSERA_MASTER_KEY', 'TESSERA_BOOTSTRAP_CLIENT_ID']) assert.match(r.out, new RegExp(k));
  });

  test('domain create/list, client create/list/delete, keys list/rotate; then serve issues tokens and stops on SIGTERM', async () => {
    assert.equal(run(['domain', 'create', 'acme'], env).code, 0);
    assert.equal(run(['domain', 'create', 'acme'], env).code, 1, 'duplicate');
    assert.equal(run(['domain', 'create', 'Bad Name'], env).code, 1);
    assert.match(run(['domain', 'list'], env).out, /acme\thttp:\/\/localhost:8080\/domains\/acme/);

    const created = run(['client', 'create', '--name', 'ci', '--role', 'Identity Domain Administrator'], env);
    assert.equal(created.code, 0, created.err);
    const id = /client_id=(\S+)/.exec(created.out)?.[1];
    const secret = /client_secret=(\S+)/.exec(created.out)?.[1];
    assert.ok(id && secret);
    assert.match(run(['client', 'list'], env).out, new RegExp(id!));
    assert.equal(run(['client', 'create', '--name', 'x', '--role', 'No Such Role'], env).code, 1);
    const other = /client_id=(\S+)/.exec(run(['client', 'create', '--name', 'gone', '--domain', 'acme'], env).out)?.[1];
    assert.equal(run(['client', 'delete', other!, '--domain', 'acme'], env).code, 0);
    assert.equal(run(['client', 'delete', other!, '--domain', 'acme'], env).code, 1);

    const before = run(['keys', 'list'], env).out.trim().split('\n');
    assert.equal(before.length, 2);
    const nextKid = before.find((l) => l.includes('\tnext\t'))!.split('\t')[0];
    const activeKid = before.find((l) => l.includes('\tactive\t'))!.split('\t')[0];
    const rot = run(['keys', 'rotate'], env);
    assert.equal(rot.code, 0, rot.err);
    const [signs, retired, next, ...rest] = rot.out.trim().split('\n');
    assert.deepEqual(rest, []);
    assert.match(signs!, new RegExp(`^RS256: key ${nextKid} now signs \\(published since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\)\\.$`));
    const until = new RegExp(`^RS256: key ${activeKid} is retired; it stays published until (\\S+) so that tokens it signed still verify\\.$`).exec(retired!)?.[1];
    assert.ok(until, retired);
    const newNext = /^RS256: key (\S+) is published as the next key; the next rotation makes it sign\.$/.exec(next!)?.[1];
    assert.ok(newNext && ![activeKid, nextKid].includes(newNext), next);
    // the key that signs now was published at `migrate`, seconds ago: the command warns
    assert.match(rot.err, new RegExp(`^tessera: warning: key ${nextKid} was published only \\d+ s ago \\(the publish delay is 305 s\\)`));
    const after = run(['keys', 'list'], env).out;
    assert.ok(after.includes(`${activeKid}\tRS256\tretired\t`) && after.includes(`published until ${until}`), after);
    assert.ok(after.includes(`${newNext}\tRS256\tnext\t`), after);

    // an alg without keys: published now, signing later, and the command says when
    const es = run(['keys', 'rotate', '--alg', 'ES256'], env);
    assert.equal(es.code, 0, es.err);
    const m = /^ES256: the domain had no ES256 key; key (\S+) is published in the JWKS now and starts signing at (\S+) \(in 305 s\), once verifiers that cache the JWKS have it\.\nUntil then, tokens that would use ES256 are signed with the default algorithm, RS256\.\n$/.exec(es.out);
    assert.ok(m, es.out);
    assert.equal(es.err, '', 'nothing to warn about');
    assert.match(run(['keys', 'list'], env).out, new RegExp(`^${m[1]}\\tES256\\tnext\\tcreated \\S+\\tsigns from ${m[2]}$`, 'm'));
    const again = run(['keys', 'rotate', '--alg', 'ES256'], env);
    assert.match(again.out, new RegExp(`^ES256: nothing changed; key ${m[1]} was published at \\S+ and starts signing at ${m[2]} \\(in \\d+ s\\)`));
    assert.equal(run(['keys', 'rotate', '--alg', 'HS256'], env).code, 1);

    const port = await freePort();
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
      env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), TESSERA_PUBLIC_URL: `http://127.0.0.1:${port}` }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += d; });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        up = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
        if (!up) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(up, `server did not start: ${stderr}`);
      const r = await fetch(`http://127.0.0.1:${port}/oauth2/v1/token`, {
        method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'urn:opc:idm:__myscopes__' }),
        headers: { authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') },
      });
      assert.equal(r.status, 200);
      const jwt = ((await r.json()) as { access_token: string }).access_token;
      const kid = JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).kid;
      assert.equal(kid, nextKid, 'the key published as next before the rotation signs after it');
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
