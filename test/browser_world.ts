import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { scim, type Harness } from './helpers.js';
import { PASSWORD } from './signin.js';

/**
 * What the browser tests of the console and the account page share: the OS's Chromium (never downloaded),
 * a collector of console errors, page errors and CSP violations, an axe-core check (injected through the
 * DevTools protocol: the CSP forbids inline script and the tests do not bypass it), the server's login
 * page, and role grants through the admin API.
 */
export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const GRANT = 'urn:ietf:params:scim:schemas:oracle:idcs:Grant';

const haveChromium = existsSync(CHROMIUM);

/**
 * The `skip` option for a browser suite: false when Chromium is there. In CI a missing browser is a
 * failure, not a skip: call this once per file and it registers a failing test.
 */
export function browserSkip(what: string): string | false {
  if (haveChromium) return false;
  if (process.env.CI) {
    test(`${what} (Chromium required in CI)`, () => {
      assert.fail(`${CHROMIUM} is not installed; install it with: apt-get install -y chromium`);
    });
  }
  return `${CHROMIUM} is not installed (apt-get install -y chromium); skipping ${what}`;
}

export async function launchBrowser(): Promise<Browser> {
  await mkdir(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'],
  });
}

/** What the page's window holds for the test (the project's tsconfig has no DOM lib). */
interface PageGlobals {
  __csp: string[];
  axe: { run(ctx: unknown, o: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown }[] }[] }> };
  document: unknown;
  addEventListener(type: string, f: (e: { violatedDirective: string; blockedURI: string }) => void): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

/** Console errors, page errors and CSP violations (securitypolicyviolation events, recorded from before any page script). */
export async function watch(context: BrowserContext, page: Page): Promise<() => Promise<string[]>> {
  const errors: string[] = [];
  page.on('console', (m: ConsoleMessage) => { if (m.type() === 'error') errors.push(`console error on ${page.url()}: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page error on ${page.url()}: ${e.message}`));
  await context.addInitScript(() => {
    const w = globalThis as unknown as PageGlobals;
    w.__csp = [];
    w.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return async () => {
    const csp = await page.evaluate(() => (globalThis as unknown as PageGlobals).__csp ?? []).catch(() => [] as string[]);
    return [...errors, ...csp.map((c) => `CSP violation on ${page.url()}: ${c}`)];
  };
}

/** No serious or critical axe-core violation on the page as it is now. */
export async function axeCheck(page: Page, what: string): Promise<void> {
  await page.evaluate(await readFile(AXE, 'utf8'));
  const r = await page.evaluate(() => {
    const w = globalThis as unknown as PageGlobals;
    return w.axe.run(w.document, { resultTypes: ['violations'] });
  });
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`), [], `axe violations on ${what}`);
}

/** The server's login page: fill it in and come back to the app. */
export async function login(page: Page, userName: string, password = PASSWORD): Promise<void> {
  await page.waitForURL(/\/ui\/v1\/signin\//);
  await page.fill('input[name=username]', userName);
  await page.fill('input[name=password]', password);
  await page.click('button:has-text("Sign in")');
}

/** Grant a built-in (or any) app role, by display name, to a user through the Grants API. */
export async function grantRole(h: Harness, admin: string, role: string, userId: string, prefix = ''): Promise<void> {
  const roles = await scim(h, 'GET', `${prefix}/admin/v1/AppRoles?filter=${encodeURIComponent(`displayName eq "${role}"`)}`, admin);
  const r0 = roles.json().Resources[0] as { id: string; app: { value: string } };
  const r = await scim(h, 'POST', `${prefix}/admin/v1/Grants`, admin, {
    schemas: [GRANT], app: { value: r0.app.value }, entitlement: { attributeName: 'appRoles', attributeValue: r0.id },
    grantMechanism: 'ADMINISTRATOR_TO_USER', grantee: { value: userId, type: 'User' },
  });
  assert.equal(r.statusCode, 201, r.body);
}
