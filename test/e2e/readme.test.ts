import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The README's examples, run as written (issue 7): a new user pastes the shell blocks of README.md,
 * in order, into one bash shell at the root of a fresh clone. This test does the same: it joins every
 * ```sh / ```bash block into one script with `set -euo pipefail`, runs it from the repository root
 * with TESSERA_DATA_DIR pointing at a fresh temporary directory (./data is never touched) and
 * PORT=8080 (the examples say http://localhost:8080), and checks what the examples print.
 *
 * Convention: a shell block runs unless the line right before its fence (blank lines aside) is an HTML
 * comment `<!-- not run: REASON -->`, which GitHub does not display. It marks commands that cannot run
 * inside a test: the two top commands (`npm ci` would replace node_modules under the running suite and
 * `npm test` would start this test again) and the CLI synopsis (placeholders, optional arguments in
 * brackets). Fenced blocks in another language or none (the Authenticate API sketch) are not shell
 * and never run. Anything the examples leave running (the `npm start &` server) is in the script's
 * process group, which the test always kills.
 */

const ROOT = join(import.meta.dirname, '../..');
const README = join(ROOT, 'README.md');
const PORT = 8080;
/** The Mutual TLS section runs a second node with an HTTPS listener here (its own PORT, TESSERA_TLS_* in the example). */
const MTLS_PORT = 8443;
const TOOLS = ['bash', 'curl', 'jq', 'openssl'];
const SCRIPT_TIMEOUT_MS = 240_000;

interface Block { line: number; lang: string; body: string[]; notRun?: string }

/** Fenced blocks with the README line of their first body line; a `<!-- not run: ... -->` marker attaches to the next block only. */
function fencedBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let pending: { reason: string; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const marker = /^<!--\s*not run:(.*?)-->\s*$/.exec(l);
    const fence = /^```(\S*)\s*$/.exec(l);
    if (marker) {
      if (pending) throw new Error(`README.md:${pending.line}: a "not run" marker must come right before a code block`);
      const reason = marker[1]!.trim();
      if (!reason) throw new Error(`README.md:${i + 1}: a "not run" marker needs a reason`);
      pending = { reason, line: i + 1 };
    } else if (fence) {
      const body: string[] = [];
      let j = i + 1;
      for (; j < lines.length && !/^```\s*$/.test(lines[j]!); j++) body.push(lines[j]!);
      if (j === lines.length) throw new Error(`README.md:${i + 1}: code block is never closed`);
      blocks.push({ line: i + 2, lang: fence[1]!, body, ...(pending ? { notRun: pending.reason } : {}) });
      pending = undefined;
      i = j;
    } else if (l.trim() !== '' && pending) {
      throw new Error(`README.md:${pending.line}: a "not run" marker must come right before a code block`);
    }
  }
  if (pending) throw new Error(`README.md:${pending.line}: a "not run" marker must come right before a code block`);
  return blocks;
}

const isShell = (b: Block) => b.lang === 'sh' || b.lang === 'bash';

/** One bash script from the runnable blocks; a failing command reports its README line on stderr. */
function readmeScript(blocks: Block[]): string {
  const out = [
    'set -Eeuo pipefail',
    '_readme_offset=0',
    // BASH_SUBSHELL: report once, from the shell that runs the README line (not again from a $(...) inside it).
    `trap '_rc=$?; [ "$BASH_SUBSHELL" = 0 ] && echo "README.md:$((LINENO + _readme_offset)): \\\`$BASH_COMMAND\\\` failed (exit $_rc)" >&2' ERR`,
  ];
  for (const b of blocks.filter((x) => isShell(x) && x.notRun === undefined)) {
    out.push(`printf '\\n@@README.md:${b.line}@@\\n'`);
    // The block's first line is script line out.length + 2 (1-based, after the offset line).
    out.push(`_readme_offset=${b.line - (out.length + 2)}`);
    out.push(...b.body);
  }
  return out.join('\n') + '\n';
}

describe('README block extraction', () => {
  test('shell blocks run unless marked; other languages never; markers attach to the next block only', () => {
    const md = [
      '# T', '<!-- not run: top commands -->', '```sh', 'npm test', '```', '',
      '```sh', 'echo one', '```', '```', 'GET /x', '```', '```bash', 'echo two', '```', '```ts', 'const x = 1', '```',
      '<!-- not run: synopsis -->', '', '```sh', 'npx tessera [--x]', '```',
    ].join('\n');
    const blocks = fencedBlocks(md);
    assert.deepEqual(blocks.map((b) => [b.line, b.lang, b.notRun ?? null, b.body.join('|')]), [
      [4, 'sh', 'top commands', 'npm test'], [8, 'sh', null, 'echo one'], [11, '', null, 'GET /x'],
      [14, 'bash', null, 'echo two'], [17, 'ts', null, 'const x = 1'], [22, 'sh', 'synopsis', 'npx tessera [--x]'],
    ]);
    const script = readmeScript(blocks).split('\n');
    assert.ok(!script.some((l) => /npm test|GET \/x|const x|npx tessera/.test(l)), 'only unmarked shell blocks run');
    // README line numbers map onto script lines: line 8 of the README is `echo one`.
    const one = script.indexOf('echo one') + 1;
    const offset = Number(/^_readme_offset=(-?\d+)$/.exec(script[one - 2]!)?.[1]);
    assert.equal(one + offset, 8);
  });

  for (const [name, md, message] of [
    ['a marker before prose', '<!-- not run: x -->\ntext\n```sh\necho\n```', /README.md:1: .*right before a code block/],
    ['a marker at the end', '```sh\necho\n```\n<!-- not run: x -->\n', /README.md:4: .*right before a code block/],
    ['a marker without a reason', '<!-- not run: -->\n```sh\necho\n```', /README.md:1: .*needs a reason/],
    ['two markers in a row', '<!-- not run: a -->\n<!-- not run: b -->\n```sh\necho\n```', /README.md:1: /],
    ['an unclosed block', 'x\n```sh\necho', /README.md:2: .*never closed/],
  ] as const) {
    test(`refuses ${name}`, () => assert.throws(() => fencedBlocks(md), message));
  }

  test('the README itself: its markers parse, the top commands and the CLI synopsis are marked, and the examples are there', () => {
    const blocks = fencedBlocks(readFileSync(README, 'utf8')).filter(isShell);
    const skipped = blocks.filter((b) => b.notRun !== undefined).map((b) => b.body[0]);
    assert.deepEqual(skipped, [blocks[0]!.body[0], blocks.find((b) => b.body[0]!.startsWith('npx tessera serve'))!.body[0]]);
    assert.match(blocks[0]!.body.join('\n'), /npm ci && npm start[\s\S]*npm ci && npm test/);
    const run = blocks.filter((b) => b.notRun === undefined).map((b) => b.body.join('\n')).join('\n');
    for (const needed of ['npm start &', '/healthz', 'grant_type=authorization_code', '/oauth2/v1/userinfo', 'grant_type=refresh_token', '/oauth2/v1/userlogout', '/admin/v1/TrustedIssuers', 'grant-type:jwt-bearer', 'examples/saml-assertion.mjs', 'grant_type=urn:ietf:params:oauth:grant-type:saml2-bearer', 'grant-type:token-exchange', 'TESSERA_TLS_CLIENT_CA=', '--cert']) {
      assert.ok(run.includes(needed), `the runnable examples include ${needed}`);
    }
  });
});

/** Top-level JSON objects in mixed output (jq output, compact bodies, server log lines), in order. */
function jsonObjects(text: string): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) {
    let depth = 0; let inString = false; let end = -1;
    for (let j = i; j < text.length && end < 0; j++) {
      const ch = text[j];
      if (inString) { if (ch === '\\') j++; else if (ch === '"') inString = false; } else if (ch === '"') inString = true;
      else if (ch === '{') depth++;
      else if (ch === '}' && --depth === 0) end = j;
    }
    if (end < 0) continue;
    try { found.push(JSON.parse(text.slice(i, end + 1)) as Record<string, unknown>); i = end; } catch { /* not JSON: try the next brace */ }
  }
  return found;
}

const jwtPayload = (jwt: unknown): Record<string, unknown> => JSON.parse(Buffer.from(String(jwt).split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;

const missingTools = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
if (missingTools.length > 0 && process.env.CI) {
  // In CI the README's examples must run: a missing tool is a failure, not a skip.
  test('README examples (curl, jq and openssl required in CI)', () => {
    assert.fail(`missing ${missingTools.join(', ')}; install with: apt-get install -y ${missingTools.join(' ')}`);
  });
}
const skip = missingTools.length > 0 && !process.env.CI ? `the README's examples need ${missingTools.join(', ')}; skipping` : false;

/** Whether anything accepts connections on PORT, over IPv4 or IPv6 (curl's localhost may be either). */
async function portInUse(port = PORT): Promise<string | undefined> {
  const bound = await new Promise<string | undefined>((resolve) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => resolve(`127.0.0.1:${port} (${e.code})`));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(undefined)));
  });
  if (bound) return bound;
  return new Promise((resolve) => {
    const c = connect({ port, host: '::1' });
    c.once('connect', () => { c.destroy(); resolve(`[::1]:${port}`); });
    c.once('error', () => resolve(undefined));
  });
}

/** Kills the script's process group (bash and whatever it left running) and waits until it is gone. */
async function killGroup(pgid: number): Promise<void> {
  const alive = () => { try { process.kill(-pgid, 0); return true; } catch { return false; } };
  if (!alive()) return;
  try { process.kill(-pgid, 'SIGTERM'); } catch { /* already gone */ }
  for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive()) try { process.kill(-pgid, 'SIGKILL'); } catch { /* already gone */ }
  for (let i = 0; i < 20 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
}

describe('README examples, run as written', { skip }, () => {
  test('every runnable block succeeds in order and prints what the README says', async (t) => {
    const inUse = await portInUse();
    assert.equal(inUse, undefined, `port ${PORT} is in use (${inUse}): the README's examples run a server on http://localhost:${PORT}. `
      + 'Stop whatever listens there (a Tessera server started with `npm start`?) and run the test again.');
    const mtlsInUse = await portInUse(MTLS_PORT);
    assert.equal(mtlsInUse, undefined, `port ${MTLS_PORT} is in use (${mtlsInUse}): the Mutual TLS example runs an HTTPS node there.`);

    const dir = mkdtempSync(join(tmpdir(), 'tessera-readme-'));
    const dataDir = join(dir, 'data');
    const scriptPath = join(dir, 'readme.sh');
    writeFileSync(scriptPath, readmeScript(fencedBlocks(readFileSync(README, 'utf8'))));
    const repoDataBefore = existsSync(join(ROOT, 'data'));

    // The user's own settings would change what the examples do; the examples assume the defaults.
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TESSERA_') && k !== 'PORT' && k !== 'HOST') env[k] = v;
    Object.assign(env, { TESSERA_DATA_DIR: dataDir, PORT: String(PORT) });
    // A proxy in the environment must not carry curl's requests to localhost away.
    env.no_proxy = env.NO_PROXY = ['localhost', '127.0.0.1', '::1', env.no_proxy ?? env.NO_PROXY].filter(Boolean).join(',');

    // detached: bash leads a new process group; `npm start &` (npm, sh, node) joins it, so one kill ends them all.
    const child = spawn('bash', [scriptPath], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const pgid = child.pid!;
    // The group is detached from the terminal, so a Ctrl-C or a killed test run would not reach it: end it on the way out.
    const killOnExit = () => {
      try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ }
      rmSync(dir, { recursive: true, force: true });
    };
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const onSignal = (sig: NodeJS.Signals) => { killOnExit(); process.kill(process.pid, sig); };
    process.once('exit', killOnExit);
    for (const sig of signals) process.once(sig, onSignal);
    let out = ''; let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const started = Date.now();
    try {
      const code = await new Promise<number | string>((resolve) => {
        const timer = setTimeout(() => resolve(`timeout after ${SCRIPT_TIMEOUT_MS / 1000} s`), SCRIPT_TIMEOUT_MS);
        child.once('exit', (c, signal) => { clearTimeout(timer); resolve(c ?? String(signal)); });
      });
      t.diagnostic(`README script took ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assert.equal(code, 0, `the README's examples failed:\n${err.slice(-4000)}\n--- stdout (end) ---\n${out.slice(-6000)}`);
    } finally {
      await killGroup(pgid);
      process.removeListener('exit', killOnExit);
      for (const sig of signals) process.removeListener(sig, onSignal);
      rmSync(dir, { recursive: true, force: true });
    }
    const fail = (what: string) => `${what}\n--- output ---\n${out.slice(-8000)}`;
    assert.equal(existsSync(join(ROOT, 'data')), repoDataBefore, 'the examples ran against TESSERA_DATA_DIR, not ./data');

    // What the examples printed, in order; the server's own log lines (it shares the terminal) are left out.
    const printed = jsonObjects(out).filter((o) => !('level' in o && 'time' in o && 'pid' in o));
    let cursor = 0;
    const next = (what: string, pred: (o: Record<string, unknown>) => boolean) => {
      const i = printed.findIndex((o, k) => k >= cursor && pred(o));
      assert.ok(i >= 0, fail(`expected ${what} in the output`));
      cursor = i + 1;
      return printed[i]!;
    };

    next('the /healthz answer', (o) => o.status === 'ok');
    next('the created resource server', (o) => o.isOAuthResource === true && o.audience === 'https://orders.example.com');
    const cc = next('the client_credentials token response', (o) => 'access_token' in o);
    assert.equal(cc.token_type, 'Bearer');
    assert.equal(cc.scope, 'orders.read');
    assert.equal(jwtPayload(cc.access_token).aud, 'https://orders.example.com');
    assert.equal(jwtPayload(cc.access_token).sub_type, 'client');

    const user = next('the created user', (o) => o.userName === 'ada');
    assert.ok(typeof user.id === 'string' && !('password' in user), fail('the created user has an id and no password'));

    const authorize = /^(http:\/\/localhost:8080\/oauth2\/v1\/authorize\?\S+)$/m.exec(out)?.[1];
    assert.ok(authorize, fail('the authorize URL is printed on one line'));
    const request = new URL(authorize).searchParams;
    assert.equal(request.get('redirect_uri'), 'http://127.0.0.1:9000/callback');
    assert.equal(request.get('code_challenge_method'), 'S256');
    assert.match(request.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    for (const p of ['client_id', 'state', 'nonce']) assert.ok(request.get(p), fail(`the authorize URL carries ${p}`));

    const callback = /^(http:\/\/127\.0\.0\.1:9000\/callback\?\S+)$/m.exec(out)?.[1];
    assert.ok(callback, fail('the callback URL is printed'));
    const response = new URL(callback).searchParams;
    assert.equal(response.get('state'), request.get('state'));
    assert.equal(response.get('iss'), 'http://localhost:8080');
    assert.ok(response.get('code'), fail('the callback carries a code'));

    const tokens = next('the code exchange response', (o) => 'id_token' in o);
    for (const k of ['access_token', 'refresh_token']) assert.equal(typeof tokens[k], 'string', fail(`the code exchange returns ${k}`));
    assert.equal(tokens.token_type, 'Bearer');
    const idToken = jwtPayload(tokens.id_token);
    assert.equal(idToken.sub, user.id);
    assert.equal(idToken.aud, request.get('client_id'), 'the ID token is for the web app (its own client id)');
    assert.equal(idToken.nonce, request.get('nonce'));
    assert.deepEqual(next('the ID token claims', (o) => 'nonce' in o), idToken);

    const info = next('the userinfo response', (o) => 'sub' in o && 'email' in o);
    assert.deepEqual({ sub: info.sub, email: info.email, given_name: info.given_name, family_name: info.family_name, name: info.name, preferred_username: info.preferred_username },
      { sub: user.id, email: 'ada@example.com', given_name: 'Ada', family_name: 'Lovelace', name: 'Ada Lovelace', preferred_username: 'ada' });

    const refreshed = next('the refresh response', (o) => 'access_token' in o);
    assert.equal(typeof refreshed.refresh_token, 'string');
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'the refresh token rotates');
    assert.notEqual(refreshed.access_token, tokens.access_token);

    assert.match(out, /^302 http:\/\/127\.0\.0\.1:9000\/$/m, fail('logout redirects to the post-logout URI'));
    assert.equal(next('the refresh after logout', (o) => 'error' in o).error, 'invalid_grant');

    const partner = next('the created JWT trusted issuer', (o) => o.protocol === 'jwt' && o.issuer === 'https://idp.partner.example');
    assert.deepEqual({ active: partner.active, subjectAttribute: partner.subjectAttribute, maxAssertionLifetime: partner.maxAssertionLifetime, allowedScopes: partner.allowedScopes },
      { active: true, subjectAttribute: 'userName', maxAssertionLifetime: 300, allowedScopes: ['openid', 'orders.read'] }, fail('the JWT issuer has its defaults'));
    const jwk = (partner.jwks as { keys: Record<string, unknown>[] }).keys[0]!;
    assert.deepEqual([jwk.kty, jwk.crv, jwk.kid], ['OKP', 'Ed25519', 'partner-1']);
    assert.match(String(jwk.x), /^[A-Za-z0-9_-]{43}$/, fail('x is a base64url Ed25519 public key'));
    const saml = next('the SAML trusted issuer', (o) => o.protocol === 'saml2');
    assert.equal(saml.issuer, 'https://saml.partner.example/metadata');
    const [cert] = saml.certificates as { x5tS256: string; subject: string; notAfter: string }[];
    assert.match(cert!.x5tS256, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(cert!.subject, 'O=Partner, CN=saml.partner.example');
    assert.ok(Date.parse(cert!.notAfter) > Date.now() + 300 * 86_400_000, fail('the certificate is valid for a year'));
    const samlList = next('the list of SAML issuers', (o) => 'totalResults' in o);
    assert.equal(samlList.totalResults, 1);
    const [listed] = samlList.Resources as Record<string, unknown>[];
    assert.deepEqual(Object.keys(listed!).sort(), ['allowedClients', 'id', 'issuer', 'schemas']);
    assert.deepEqual([listed!.id, listed!.issuer, listed!.allowedClients], [saml.id, saml.issuer, [request.get('client_id')]]);
    // JWT bearer grant: the gateway's own assertion, its replay, and an assertion for ada.
    const gw = next('the JWT bearer client token', (o) => 'access_token' in o);
    assert.equal(gw.token_type, 'Bearer');
    assert.equal(gw.scope, 'orders.read');
    const gwClaims = jwtPayload(gw.access_token);
    assert.equal(gwClaims.sub_type, 'client');
    assert.equal(gwClaims.aud, 'https://orders.example.com');
    const replay = next('the replayed assertion', (o) => 'error' in o);
    assert.deepEqual(replay, { error: 'invalid_grant', error_description: 'the assertion was already used' });
    const asAda = next('the JWT bearer user token', (o) => 'access_token' in o);
    assert.equal(asAda.scope, 'orders.read');
    assert.equal(jwtPayload(asAda.access_token).sub, user.id);
    assert.equal(jwtPayload(asAda.access_token).sub_type, 'user');
    assert.equal(jwtPayload(asAda.access_token).client_id, gwClaims.sub, 'the same gateway asserted ada');

    // The SAML 2.0 bearer grant: the partner's signed assertion (its Signature right after the Issuer) for ada, once.
    assert.match(out, /^<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2\.0:assertion" ID="_[0-9a-f]{32}" Version="2\.0" IssueInstant="[^"]+Z"><saml:Issuer>https:\/\/saml\.partner\.example\/metadata<\/saml:Issuer><ds:Signature /m,
      fail('the SAML example prints the start of a signed assertion'));
    const samlToken = next('the SAML bearer token response', (o) => 'access_token' in o);
    assert.deepEqual(Object.keys(samlToken).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(samlToken.scope, 'orders.read');
    const samlClaims = jwtPayload(samlToken.access_token);
    assert.deepEqual([samlClaims.sub, samlClaims.sub_type, samlClaims.aud], [user.id, 'user', 'https://orders.example.com'], fail('a user token for ada'));
    const samlReplay = next('the replayed SAML assertion', (o) => 'error' in o);
    assert.deepEqual(samlReplay, { error: 'invalid_grant', error_description: 'the assertion was already used' });

    // The device authorization grant: the TV's code, one pending poll, ada approves on the pages, tokens once.
    const device = next('the device authorization response', (o) => 'device_code' in o);
    assert.deepEqual(Object.keys(device).sort(), ['device_code', 'expires_in', 'interval', 'user_code', 'verification_uri', 'verification_uri_complete']);
    assert.match(String(device.user_code), /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(device.verification_uri, 'http://localhost:8080/ui/v1/device');
    assert.equal(device.verification_uri_complete, `http://localhost:8080/ui/v1/device?user_code=${String(device.user_code)}`);
    assert.deepEqual([device.expires_in, device.interval], [600, 5]);
    assert.deepEqual(next('the pending poll', (o) => 'error' in o), { error: 'authorization_pending', error_description: 'the user has not yet approved the request' });
    const deviceTokens = next('the device token response', (o) => 'access_token' in o);
    assert.deepEqual(Object.keys(deviceTokens).sort(), ['access_token', 'expires_in', 'id_token', 'scope', 'token_type']);
    assert.equal(deviceTokens.scope, 'openid orders.read');
    const deviceClaims = jwtPayload(deviceTokens.access_token);
    assert.deepEqual([deviceClaims.sub, deviceClaims.aud], [user.id, 'https://orders.example.com'], fail('a device token for ada'));
    assert.equal(jwtPayload(deviceTokens.id_token).sub, user.id);
    assert.deepEqual(next('the second redemption', (o) => 'error' in o), { error: 'invalid_grant', error_description: 'the device code was already used' });

    // Token exchange: the Orders API exchanges ada's token for one for the Invoices API, as its actor.
    const exchanged = next('the token exchange response', (o) => 'issued_token_type' in o);
    assert.deepEqual(Object.keys(exchanged).sort(), ['access_token', 'expires_in', 'issued_token_type', 'scope', 'token_type']);
    assert.deepEqual([exchanged.issued_token_type, exchanged.token_type, exchanged.scope], ['urn:ietf:params:oauth:token-type:access_token', 'Bearer', 'invoices.read']);
    const exClaims = jwtPayload(exchanged.access_token);
    assert.deepEqual([exClaims.sub, exClaims.sub_type, exClaims.aud], [user.id, 'user', 'https://invoices.example.com'], fail('a token for ada at the Invoices API'));
    assert.deepEqual(exClaims.act, { sub: exClaims.client_id }, fail('the Orders API is the actor'));
    assert.equal(next('the refused exchange', (o) => 'error' in o).error, 'unauthorized_client');

    // Mutual TLS (RFC 8705): a second node with an HTTPS listener and a client CA, a tls_client_auth client, a bound token.
    next('the HTTPS node\'s /healthz answer', (o) => o.status === 'ok');
    const aliases = next('the mtls_endpoint_aliases', (o) => 'token_endpoint' in o);
    assert.equal(aliases.token_endpoint, 'https://localhost:8443/oauth2/v1/token');
    assert.equal(aliases.introspection_endpoint, 'https://localhost:8443/oauth2/v1/introspect');
    const bound = next('the bound token\'s aud and cnf', (o) => 'cnf' in o && 'aud' in o);
    assert.equal(bound.aud, 'https://orders.example.com');
    const thumbprint = next('the certificate thumbprint', (o) => 'thumbprint' in o).thumbprint as string;
    assert.match(thumbprint, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(bound.cnf, { 'x5t#S256': thumbprint }, fail('the token is bound to the client certificate'));
    assert.deepEqual(next('the introspection of the bound token', (o) => 'active' in o), { active: true, cnf: { 'x5t#S256': thumbprint } });
    assert.deepEqual(next('the token request without a certificate', (o) => 'error' in o), { error: 'invalid_client', error_description: 'client authentication failed' });
    assert.equal(printed.slice(cursor).length, 0, fail('nothing unexpected is printed after the last example'));
  });
});
