import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { systemClock } from '../../src/core/clock.js';
import { adminToken, basic, decode, harness, type Harness } from '../helpers.js';
import { PASSWORD, authorizeUrl, createUser, createWebApp, pkce } from '../signin.js';

/**
 * A real browser (headless Chromium from the OS, never downloaded) signs a user in through the
 * server-rendered pages: login -> consent -> redirect to the client, then the code is redeemed.
 * The pages must render with no console errors, CSP violations included.
 */
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const SCREENSHOT = `${ARTIFACTS}login.png`;

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) {
  // In CI the browser test must run: a missing browser is a failure, not a skip.
  test('browser sign-in (Chromium required in CI)', () => {
    assert.fail(`${CHROMIUM} is not installed; install it with: apt-get install -y chromium`);
  });
}
const skip = haveChromium ? false : `${CHROMIUM} is not installed (apt-get install -y chromium); skipping the browser test`;

/** The one DOM function used inside the page (the project's tsconfig has no DOM lib). */
interface BrowserGlobals { getComputedStyle(e: unknown): { backgroundColor: string } }

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

/** Console errors, page errors and CSP violations, each tagged with the page it happened on. */
function watch(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') errors.push(`console error on ${page.url()}: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(`page error on ${page.url()}: ${e.message}`));
  return errors;
}

describe('browser sign-in (headless Chromium)', { skip }, () => {
  let h: Harness;
  let base: string;
  let cb: Server;
  let cbBase: string;
  let browser: Browser;

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    h = await harness({ config: { publicUrl: base }, clock: systemClock });
    await h.t.app.listen({ port, host: '127.0.0.1' });
    // The client's redirect URI: a tiny server so the browser lands on a real page.
    // /csp-probe serves a page that violates its own CSP, to prove violations are seen.
    cb = createHttpServer((req, res) => {
      if (req.url === '/csp-probe') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'" });
        res.end('<!doctype html><html><head><title>probe</title><style>body{color:red}</style></head><body>probe</body></html>');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('ok');
    });
    await new Promise<void>((resolve) => cb.listen(0, '127.0.0.1', resolve));
    cbBase = `http://127.0.0.1:${(cb.address() as { port: number }).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'],
    });
  });
  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (cb ? cb.close(() => resolve()) : resolve()));
    await h?.close();
  });

  test('the error collector sees a CSP violation (control)', async () => {
    const page = await browser.newPage();
    const errors = watch(page);
    await page.goto(`${cbBase}/csp-probe`);
    await page.waitForLoadState('load');
    await page.close();
    assert.ok(errors.some((e) => /Content Security Policy/i.test(e)), `expected a CSP console error, got: ${JSON.stringify(errors)}`);
  });

  test('sign in through login and consent pages, redeem the code for an id_token', async () => {
    const admin = await adminToken(h);
    const user = await createUser(h, admin);
    const redirectUri = `${cbBase}/cb`;
    const app = await createWebApp(h, admin, { redirectUris: [redirectUri], postLogoutRedirectUris: [`${cbBase}/bye`] });
    const { verifier, challenge } = pkce();
    const state = randomBytes(8).toString('hex');
    const nonce = randomBytes(8).toString('hex');

    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    const page = await context.newPage();
    const errors = watch(page);

    // 1. Authorize: 303 to the login page.
    const login = await page.goto(base + authorizeUrl({
      response_type: 'code', client_id: app.clientId, redirect_uri: redirectUri, scope: 'openid profile',
      state, nonce, code_challenge: challenge, code_challenge_method: 'S256',
    }));
    assert.ok(login, 'no response for the login page');
    assert.equal(login.status(), 200);
    assert.match(page.url(), new RegExp(`^${base}/ui/v1/signin/[^/?#]+$`));
    const headers = login.headers();
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.match(headers['content-security-policy'] ?? '', /(^|;)\s*frame-ancestors 'none'\s*(;|$)/);
    assert.match(headers['content-security-policy'] ?? '', /(^|;)\s*default-src 'none'\s*(;|$)/);
    assert.equal(headers['referrer-policy'], 'no-referrer');
    assert.match(headers['content-type'] ?? '', /^text\/html/);
    assert.equal(await page.title(), 'Sign in');
    assert.ok(await page.locator('input[name=username]').isVisible());
    assert.ok(await page.locator('input[name=password]').isVisible());
    // The inline stylesheet is allowed by its hash: the page is styled (blue primary button), not raw HTML.
    const bg = await page.locator('button', { hasText: 'Sign in' }).evaluate((b) => (globalThis as unknown as BrowserGlobals).getComputedStyle(b).backgroundColor);
    assert.equal(bg, 'rgb(29, 78, 216)', 'the login page stylesheet was not applied (CSP hash mismatch?)');

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const png = await readFile(SCREENSHOT);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'not a PNG');
    assert.ok((await stat(SCREENSHOT)).size > 5_000, `screenshot is suspiciously small: ${png.length} bytes`);
    assert.deepEqual(errors, [], 'errors on the login page');

    // 2. Credentials -> consent page.
    await page.fill('input[name=username]', user.userName);
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL(/\/ui\/v1\/signin\//, { waitUntil: 'load' }), page.click('button:has-text("Sign in")')]);
    assert.equal(await page.title(), 'Allow access?');
    assert.ok(await page.locator('button', { hasText: 'Allow' }).isVisible());
    assert.ok(await page.locator('button', { hasText: 'Deny' }).isVisible());
    await page.screenshot({ path: `${ARTIFACTS}consent.png`, fullPage: true });
    assert.deepEqual(errors, [], 'errors on the consent page');

    // 3. Allow -> the client's redirect URI with code, state, iss.
    await Promise.all([page.waitForURL((u) => u.href.startsWith(redirectUri), { waitUntil: 'load' }), page.click('button:has-text("Allow")')]);
    assert.equal(await page.textContent('body'), 'ok');
    const cbUrl = new URL(page.url());
    assert.equal(cbUrl.searchParams.get('state'), state);
    assert.equal(cbUrl.searchParams.get('iss'), base);
    const code = cbUrl.searchParams.get('code');
    assert.ok(code, `no code in ${page.url()}`);
    assert.deepEqual(errors, [], 'errors during the sign-in');
    await context.close();

    // 4. Redeem the code (client_secret_basic + PKCE).
    const res = await fetch(`${base}/oauth2/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(app.clientId, app.secret!) },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }),
    });
    const body = await res.text();
    assert.equal(res.status, 200, body);
    const tokens = JSON.parse(body) as { id_token?: string; access_token?: string };
    assert.ok(tokens.access_token, body);
    assert.ok(tokens.id_token, `no id_token: ${body}`);
    const id = decode(tokens.id_token).payload;
    assert.equal(id.iss, base);
    assert.ok(id.aud === app.clientId || (Array.isArray(id.aud) && id.aud.includes(app.clientId)), `aud ${JSON.stringify(id.aud)}`);
    assert.equal(id.nonce, nonce);
    assert.ok(typeof id.sub === 'string' && id.sub.length > 0, 'id_token has no sub');
  });
});
