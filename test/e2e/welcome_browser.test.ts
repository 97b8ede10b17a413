import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { systemClock } from '../../src/core/clock.js';
import { DEFAULT_DOMAIN } from '../../src/core/types.js';
import { hasAdministratorUser } from '../../src/identity/administrators.js';
import { harness, type Harness } from '../helpers.js';

/**
 * The first run in a real browser (headless Chromium from the OS, never downloaded): open `/`, fill
 * the form, see the success page. No console errors, page errors or CSP violations on the way.
 */
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const PASSWORD = 'browser first-run pass phrase 7';

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) {
  test('first run in a browser (Chromium required in CI)', () => {
    assert.fail(`${CHROMIUM} is not installed; install it with: apt-get install -y chromium`);
  });
}
const skip = haveChromium ? false : `${CHROMIUM} is not installed (apt-get install -y chromium); skipping the browser test`;

/** The DOM bits used inside the page (the project's tsconfig has no DOM lib). */
interface BrowserGlobals {
  getComputedStyle(e: unknown): { backgroundColor: string };
  document: { addEventListener(type: string, f: (e: { violatedDirective: string; blockedURI: string }) => void): void };
  __csp: string[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

/** Console errors, page errors and CSP violations (securitypolicyviolation events), tagged with the page. */
function watch(page: Page): { errors: string[]; csp(): Promise<string[]> } {
  const errors: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') errors.push(`console error on ${page.url()}: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(`page error on ${page.url()}: ${e.message}`));
  // Runs in the page before its own content (Playwright's init script is not subject to the page CSP).
  void page.addInitScript(() => {
    const g = globalThis as unknown as BrowserGlobals;
    g.__csp = [];
    g.document.addEventListener('securitypolicyviolation', (e) => { g.__csp.push(`${e.violatedDirective} ${e.blockedURI}`); });
  });
  return { errors, csp: () => page.evaluate(() => (globalThis as unknown as BrowserGlobals).__csp) };
}

async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = `${ARTIFACTS}${name}`;
  await page.screenshot({ path, fullPage: true });
  const png = await readFile(path);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'not a PNG');
  assert.ok((await stat(path)).size > 5_000, `screenshot ${name} is suspiciously small: ${png.length} bytes`);
}

describe('first run in a browser (headless Chromium)', { skip }, () => {
  let h: Harness;
  let base: string;
  let browser: Browser;

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // No bootstrap client: a brand-new installation.
    h = await harness({ config: { publicUrl: base, bootstrapClientId: undefined, bootstrapClientSecret: undefined }, clock: systemClock });
    await h.t.app.listen({ port, host: '127.0.0.1' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'],
    });
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  test('open /, see the issuer and the form; a mistake is shown; create the administrator; the success page links the console', async () => {
    const context = await browser.newContext({ viewport: { width: 1024, height: 900 } });
    const page = await context.newPage();
    const w = watch(page);

    const res = await page.goto(`${base}/`);
    assert.ok(res);
    assert.equal(res.status(), 200);
    const headers = res.headers();
    assert.match(headers['content-security-policy'] ?? '', /(^|;)\s*frame-ancestors 'none'\s*(;|$)/);
    assert.equal(headers['cache-control'], 'no-store');
    assert.equal(await page.title(), 'Tessera');
    assert.equal(await page.textContent('#issuer'), base);
    assert.equal(await page.getAttribute('a:has-text("Admin console")', 'href'), `${base}/console/`);
    assert.equal(await page.getAttribute('a:has-text("My account")', 'href'), `${base}/myaccount/`);
    assert.equal(await page.getAttribute('a:has-text("Discovery document")', 'href'), `${base}/.well-known/openid-configuration`);
    for (const label of ['User name', 'Password', 'Password again']) assert.ok(await page.getByLabel(label, { exact: true }).isVisible(), label);
    // The stylesheet is allowed by its hash: the button is styled.
    const bg = await page.locator('button', { hasText: 'Create administrator' }).evaluate((b) => (globalThis as unknown as BrowserGlobals).getComputedStyle(b).backgroundColor);
    assert.equal(bg, 'rgb(29, 78, 216)', 'the stylesheet was not applied (CSP hash mismatch?)');
    await screenshot(page, 'welcome.png');
    assert.deepEqual(w.errors, [], 'errors on the welcome page');
    assert.deepEqual(await w.csp(), [], 'CSP violations on the welcome page');

    // Two different passwords: the page comes back with the reason and the name kept.
    await page.getByLabel('User name', { exact: true }).fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Password again', { exact: true }).fill(`${PASSWORD}x`);
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button:has-text("Create administrator")')]);
    assert.match((await page.textContent('[role=alert]')) ?? '', /The two passwords differ/);
    assert.equal(await page.inputValue('#username'), 'admin');
    assert.equal(await page.inputValue('#password'), '', 'passwords are never put back into the page');
    assert.equal(await hasAdministratorUser(h.t.services.repos, (await h.t.services.repos.domains.getByName(DEFAULT_DOMAIN))!.id), false);
    // Chromium reports the page's own 400 status as a console error; that one is expected, nothing else.
    assert.deepEqual(w.errors, [`console error on ${base}/: Failed to load resource: the server responded with a status of 400 (Bad Request) (${base}/)`]);
    w.errors.length = 0;
    assert.deepEqual(await w.csp(), [], 'CSP violations on the re-rendered form');

    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Password again', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Email (optional)').fill('admin@example.com');
    const [created] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button:has-text("Create administrator")')]);
    assert.equal(created?.status(), 201);
    assert.equal(await page.title(), 'Administrator created');
    assert.match((await page.textContent('#created')) ?? '', /The user admin is now an Identity Domain Administrator/);
    assert.equal(await page.getAttribute('#open-console', 'href'), `${base}/console/`);
    await screenshot(page, 'welcome-created.png');
    assert.deepEqual(w.errors, [], 'errors during the first run');
    assert.deepEqual(await w.csp(), [], 'CSP violations on the success page');
    assert.equal(await hasAdministratorUser(h.t.services.repos, (await h.t.services.repos.domains.getByName(DEFAULT_DOMAIN))!.id), true);

    // Back to the welcome page: no form any more.
    await page.goto(`${base}/`);
    assert.equal(await page.locator('form').count(), 0);
    assert.equal(await page.textContent('#issuer'), base);
    assert.deepEqual(w.errors, []);
    await context.close();
  });
});
