import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { duplicateKeys } from '../json_keys.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { adminToken, basic, harness, post } from '../helpers.js';
import { Browser, authorizeUrl, callbackParams, createWebApp, pkce, REDIRECT, signIn } from '../signin.js';

const CLI = join(import.meta.dirname, '../../src/cli/index.ts');
const ADMIN_PASSWORD = 'cli admin pass phrase 2026';

function run(args: string[], env: Record<string, string>, input?: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000, ...(input !== undefined ? { input } : {}) });
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
  // Up to 30 s: a cold start (tsx, migrations, built-ins) on a loaded 2-core machine can take over 10.
  for (let i = 0; i < 300 && !up; i++) {
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
      const port = new URL(first.publicUrl).port;
      const consoleLine = lines.filter((l) => /^admin console: /.test(String(l.msg)));
      assert.deepEqual(consoleLine.map((l) => l.msg), [`admin console: ${first.publicUrl}/console/ (account page: ${first.publicUrl}/myaccount/)`]);
      const hint = lines.filter((l) => /no administrator/.test(String(l.msg)));
      assert.equal(hint.length, 1, JSON.stringify(lines));
      assert.equal(hint[0]!.level, 40, 'a warning');
      assert.match(String(hint[0]!.msg), new RegExp(`open http://localhost:${port}/ in a browser on this machine to create one`));
      assert.match(String(hint[0]!.msg), /npx tessera user create --admin --username NAME --password-stdin/);
      assert.match(String(hint[0]!.msg), /TESSERA_BOOTSTRAP_ADMIN_USERNAME and TESSERA_BOOTSTRAP_ADMIN_PASSWORD/);
      assert.match(String(hint[0]!.msg), /TESSERA_BOOTSTRAP_CLIENT_ID and TESSERA_BOOTSTRAP_CLIENT_SECRET/);
      assert.match(String(hint[0]!.msg), /npx tessera client create --name admin --role "Identity Domain Administrator"/);

      // Following the hint makes it go away.
      const created = run(['client', 'create', '--name', 'admin', '--role', 'Identity Domain Administrator'], { ...startEnv, TESSERA_LOG_LEVEL: 'error' });
      assert.equal(created.code, 0, created.err);
      const second = await startServe(startEnv);
      assert.equal(await second.stop(), 0, second.stderr());
      lines = second.lines();
      assert.equal(lines.filter((l) => l.issuer === second.publicUrl).length, 1, JSON.stringify(lines));
      // A client administrator: no warning, but the console still needs an administrator user.
      const onlyClients = (ls: Record<string, unknown>[]) => {
        const h = ls.filter((l) => /no administrator/.test(String(l.msg)));
        assert.equal(h.length, 1, JSON.stringify(ls));
        assert.equal(h[0]!.level, 30, 'information, not a warning');
        assert.match(String(h[0]!.msg), /^no administrator user in the default identity domain yet \(only clients\): to sign in to the console, open http:\/\/localhost:\d+\/ in a browser on this machine/);
      };
      onlyClients(lines);

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
      onlyClients(lines);

      // An administrator user ends the hints.
      const made = run(['user', 'create', '--admin', '--username', 'root', '--password-stdin'], { ...startEnv, TESSERA_LOG_LEVEL: 'error' }, `${ADMIN_PASSWORD}\n`);
      assert.equal(made.code, 0, made.err);
      const fourth = await startServe(startEnv);
      assert.equal(await fourth.stop(), 0, fourth.stderr());
      lines = fourth.lines();
      assert.equal(lines.filter((l) => l.issuer === fourth.publicUrl).length, 1, JSON.stringify(lines));
      assert.deepEqual(lines.filter((l) => /no administrator/.test(String(l.msg))), []);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  test('config lists every setting', () => {
    const r = run(['config'], env);
    assert.equal(r.code, 0);
    for (const k of ['PORT', 'TESSERA_PUBLIC_URL', 'TESSERA_DATABASE_URL', 'TESSERA_MASTER_KEY', 'TESSERA_BOOTSTRAP_CLIENT_ID', 'TESSERA_BOOTSTRAP_ADMIN_USERNAME', 'TESSERA_BOOTSTRAP_ADMIN_PASSWORD']) assert.match(r.out, new RegExp(k));
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
      // Info level: the start-up lines say when every worker listens (see below).
      env: { PATH: process.env.PATH ?? '', ...env, TESSERA_LOG_LEVEL: 'info', PORT: String(port), TESSERA_PUBLIC_URL: `http://127.0.0.1:${port}` }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr!.on('data', (d) => { stderr += d; });
    child.stdout!.on('data', (d) => { stdout += d; });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        up = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
        if (!up) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(up, `server did not start: ${stderr}`);
      // With several workers the port answers once the first listens; a SIGTERM before the others do
      // kills them mid-start (exit 1). The start-up lines come when all listen.
      for (let i = 0; i < 150 && !stdout.includes('issuer for client libraries'); i++) await new Promise((r) => setTimeout(r, 100));
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
  test('user create --admin on a fresh data dir: the user signs in with the code flow and may use the admin API', async () => {
    const own = mkdtempSync(join(tmpdir(), 'tessera-cli-user-'));
    const e = { TESSERA_DATA_DIR: own, TESSERA_LOG_LEVEL: 'error' };
    try {
      const r = run(['user', 'create', '--admin', '--username', 'Root', '--email', 'root@example.com', '--password-stdin'], e, `${ADMIN_PASSWORD}\n`);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^created user Root \(id [0-9a-f]{32}\) with the Identity Domain Administrator role in domain default\n$/);
      assert.equal(r.err, '');
      const list = run(['user', 'list'], e);
      assert.equal(list.code, 0, list.err);
      assert.match(list.out, /^Root\t[0-9a-f]{32}\tactive\tadministrator\n$/);
      assert.equal(list.err, '', 'no hint once there is an administrator user');

      // The server on that data dir: a web app (made with a bootstrap client) signs Root in.
      const h = await harness({ config: { databaseUrl: `sqlite:${join(own, 'tessera.db')}`, dataDir: own }, masterKey: MasterKey.load(undefined, own, () => {}) });
      try {
        const app = await createWebApp(h, await adminToken(h), { allowedScopes: [{ fqs: 'urn:opc:idm:t.users.read' }] });
        const { verifier, challenge } = pkce();
        const cb = await signIn(new Browser(h), authorizeUrl({
          client_id: app.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid urn:opc:idm:t.users.read', state: 's', code_challenge: challenge, code_challenge_method: 'S256',
        }), 'root', ADMIN_PASSWORD);
        const code = callbackParams(cb).get('code')!;
        const tok = await post(h, '/oauth2/v1/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, { authorization: basic(app.clientId, app.secret!) });
        assert.equal(tok.statusCode, 200, tok.body);
        const users = await h.inject({ method: 'GET', url: '/admin/v1/Users', headers: { authorization: `Bearer ${tok.json().access_token}` } });
        assert.equal(users.statusCode, 200, users.body);
        assert.equal(users.json().Resources[0].emails[0].value, 'root@example.com');
      } finally {
        await h.close();
      }

      // A plain user, and refusals with clear messages and exit code 1.
      const plain = run(['user', 'create', '--username', 'bob', '--password-stdin'], e, ADMIN_PASSWORD);
      assert.equal(plain.code, 0, plain.err);
      assert.match(run(['user', 'list'], e).out, /^bob\t[0-9a-f]{32}\tactive\n/m);
      const refusals: [string, string[], string | undefined, RegExp][] = [
        ['a common password', ['--username', 'weak', '--password-stdin'], 'password123\n', /^tessera: the password does not meet the password policy of domain default \(common\): password is too common/],
        ['a short password', ['--username', 'weak', '--password-stdin'], 'Zq9-x', /\(minLength\): password must be at least 8 characters long/],
        ['the user name as password', ['--username', 'weakling', '--password-stdin'], 'weakling', /\(userName\): password must not be the user name/],
        ['an empty password', ['--username', 'weak', '--password-stdin'], '\n', /^tessera: the password is empty/],
        ['a taken name', ['--username', 'ROOT', '--password-stdin'], ADMIN_PASSWORD, /^tessera: a user named ROOT exists already in domain default/],
        ['an unknown domain', ['--username', 'x', '--domain', 'nope', '--password-stdin'], ADMIN_PASSWORD, /^tessera: no identity domain named "nope"/],
        ['a bad user name', ['--username', 'two words', '--password-stdin'], ADMIN_PASSWORD, /^tessera: userName /],
        ['a bad email', ['--username', 'x', '--email', 'nope', '--password-stdin'], ADMIN_PASSWORD, /^tessera: not an email address: nope/],
        ['no password source (stdin not a terminal)', ['--username', 'x'], '', /^tessera: no password: pipe it in with --password-stdin/],
        ['both password sources', ['--username', 'x', '--password', ADMIN_PASSWORD, '--password-stdin'], ADMIN_PASSWORD, /^tessera: give either --password or --password-stdin/],
        ['no user name', ['--password-stdin'], ADMIN_PASSWORD, /required option '--username <name>' not specified/],
      ];
      for (const [what, args, input, message] of refusals) {
        const x = run(['user', 'create', '--admin', ...args], e, input);
        assert.equal(x.code, 1, `${what}: ${x.err}`);
        assert.match(x.err, message, what);
        if (input && input.trim().length > 3 && what !== 'a taken name') assert.ok(!x.err.includes(input.trim()) || what === 'the user name as password', `${what}: the password is printed`);
        assert.equal(x.out, '', what);
      }
      assert.doesNotMatch(run(['user', 'list'], e).out, /weak|^x\t/m, 'nothing was created');

      // --password works, with a warning about ps and the shell history.
      const argv = run(['user', 'create', '--username', 'carol', '--password', ADMIN_PASSWORD], e);
      assert.equal(argv.code, 0, argv.err);
      assert.match(argv.err, /^tessera: warning: a password on the command line can be seen by other users \(ps\)/);
      assert.ok(!argv.err.includes(ADMIN_PASSWORD) && !argv.out.includes(ADMIN_PASSWORD));

      // Another domain.
      assert.equal(run(['domain', 'create', 'acme'], e).code, 0);
      const acme = run(['user', 'list', '--domain', 'acme'], e);
      assert.equal(acme.out, '');
      assert.match(acme.err, /^tessera: domain acme has no administrator user yet: npx tessera user create --admin --username NAME --password-stdin --domain acme\n$/);
      assert.equal(run(['user', 'create', '--admin', '--domain', 'acme', '--username', 'root', '--password-stdin'], e, ADMIN_PASSWORD).code, 0);
      assert.match(run(['user', 'list', '--domain', 'acme'], e).out, /^root\t[0-9a-f]{32}\tactive\tadministrator\n$/);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  test('TESSERA_BOOTSTRAP_ADMIN_USERNAME/_PASSWORD: both or neither; serve creates the administrator once and never changes it', async () => {
    const own = mkdtempSync(join(tmpdir(), 'tessera-cli-bootadmin-'));
    try {
      const e = { TESSERA_DATA_DIR: own, TESSERA_LOG_LEVEL: 'info' };
      const half = run(['migrate'], { ...e, TESSERA_BOOTSTRAP_ADMIN_USERNAME: 'root' });
      assert.equal(half.code, 2);
      assert.match(half.err, /^tessera: configuration error: TESSERA_BOOTSTRAP_ADMIN_PASSWORD is not set/);
      const other = run(['migrate'], { ...e, TESSERA_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD });
      assert.equal(other.code, 2);
      assert.match(other.err, /^tessera: configuration error: TESSERA_BOOTSTRAP_ADMIN_USERNAME is not set/);
      assert.ok(!other.err.includes(ADMIN_PASSWORD));
      const weak = run(['domain', 'list'], { ...e, TESSERA_BOOTSTRAP_ADMIN_USERNAME: 'root', TESSERA_BOOTSTRAP_ADMIN_PASSWORD: 'password1' });
      assert.equal(weak.code, 1);
      assert.match(weak.err, /^tessera: TESSERA_BOOTSTRAP_ADMIN_PASSWORD does not meet the password policy of the default identity domain \(common\)/);
      assert.ok(!weak.err.includes('password1'));

      const boot = { ...e, TESSERA_BOOTSTRAP_ADMIN_USERNAME: 'root', TESSERA_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD };
      const first = await startServe(boot);
      const page = await fetch(`${first.publicUrl}/`).then((r) => r.text());
      assert.equal(await first.stop(), 0, first.stderr());
      let lines = first.lines();
      assert.ok(lines.some((l) => l.msg === 'bootstrap administrator root created in the default identity domain with the Identity Domain Administrator role'), JSON.stringify(lines));
      assert.deepEqual(lines.filter((l) => /no administrator/.test(String(l.msg))), []);
      assert.ok(!JSON.stringify(lines).includes(ADMIN_PASSWORD), 'the password is never logged');
      assert.doesNotMatch(page, /<form/, 'the welcome page has no form');
      const second = await startServe({ ...boot, TESSERA_BOOTSTRAP_ADMIN_PASSWORD: 'a different pass phrase 99' });
      assert.equal(await second.stop(), 0, second.stderr());
      lines = second.lines();
      assert.ok(lines.some((l) => l.msg === 'bootstrap administrator root exists already; left as it is (its password and roles are not changed)'), JSON.stringify(lines));
      assert.match(run(['user', 'list'], { ...e, TESSERA_LOG_LEVEL: 'error' }).out, /^root\t[0-9a-f]{32}\tactive\tadministrator\n$/);
      // The first password still signs in: a second start changed nothing.
      const h = await harness({ config: { databaseUrl: `sqlite:${join(own, 'tessera.db')}`, dataDir: own }, masterKey: MasterKey.load(undefined, own, () => {}) });
      try {
        const u = (await h.t.services.repos.users.getByUserName((await h.t.services.repos.domains.getByName('default'))!.id, 'root'))!;
        assert.equal(await h.t.services.users.verifyPassword(u, ADMIN_PASSWORD), true);
        assert.equal(u.version, 1);
      } finally {
        await h.close();
      }
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
});
