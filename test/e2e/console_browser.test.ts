import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { systemClock } from '../../src/core/clock.js';
import { ARTIFACTS, axeCheck, browserSkip, freePort, grantRole, launchBrowser, login, watch } from '../browser_world.js';
import { adminToken, clientToken, harness, scim, type Harness } from '../helpers.js';
import { PASSWORD, createUser } from '../signin.js';
import { ensureWebBuild } from '../web_build.js';

/**
 * Issue 11 in a real browser (headless Chromium from the OS): the console and the account page sign
 * in through the server's pages (code + PKCE as built-in public clients) and work against the admin
 * API. Every page must run with no console error, page error, CSP violation or serious/critical
 * axe-core violation (axe is injected through the DevTools protocol: the CSP forbids inline script,
 * and the test does not bypass it).
 */
const NEW_PASSWORD = 'a different passphrase 77 orbit';
const skip = browserSkip('the console browser test');

describe('console and account in a browser (headless Chromium)', { skip }, () => {
  let h: Harness;
  let base: string;
  let browser: Browser;
  let admin: string;

  before(async () => {
    ensureWebBuild();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    h = await harness({ config: { publicUrl: base }, clock: systemClock });
    await h.t.app.listen({ port, host: '127.0.0.1' });
    admin = await adminToken(h);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  test('an administrator signs in to /console/, sees the overview counts and the users list', async () => {
    const user = await createUser(h, admin, 'console-admin');
    await grantRole(h, admin, 'Identity Domain Administrator', user.id);
    for (const n of ['alice', 'bob', 'carol']) await createUser(h, admin, `member-${n}`);
    const counts = async (resource: string) => (await scim(h, 'GET', `/admin/v1/${resource}?count=0`, admin)).json().totalResults as number;

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors = await watch(context, page);
    await page.goto(`${base}/console/`);
    await login(page, user.userName);
    await page.waitForURL(`${base}/console/`);
    await page.waitForSelector('[data-count=users] .count:not(:has-text("…"))');
    assert.equal(await page.textContent('h1'), 'Overview of default');
    assert.equal(await page.textContent('[data-count=users] .count'), String(await counts('Users')));
    await page.waitForSelector('[data-count=apps] .count:not(:has-text("…"))');
    assert.equal(await page.textContent('[data-count=apps] .count'), String(await counts('Apps')));
    assert.equal(await page.textContent('[data-count=groups] .count'), String(await counts('Groups')));
    assert.equal(page.url().includes('code='), false, 'the code must not stay in the address bar');
    assert.equal(await page.textContent('.topbar .who'), 'console-admin');
    assert.equal(await page.locator('text=Signing in…').count(), 0, 'the start-up placeholder is gone');
    const nav = await page.locator('nav[aria-label="Console sections"] a').allTextContents();
    assert.deepEqual(nav, ['Overview', 'Users', 'Groups', 'Apps', 'App roles', 'Audit events', 'Trusted issuers', 'Signing keys', 'Settings', 'Identity domains']);
    await axeCheck(page, 'the console overview');
    await page.screenshot({ path: `${ARTIFACTS}console-overview.png`, fullPage: true });

    // Users list: keyboard to the nav link, then search by user name through the SCIM filter.
    await page.click('nav a:has-text("Users")');
    await page.waitForSelector('table tbody tr td');
    assert.equal(await page.textContent('h1'), 'Users');
    const names = await page.locator('table tbody tr td:first-child').allTextContents();
    assert.ok(names.includes('console-admin') && names.includes('member-alice'), JSON.stringify(names));
    await page.fill('input[type=search]', 'alice');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => (globalThis as unknown as { location: { hash: string } }).location.hash.includes('q=alice'));
    await page.waitForSelector('table tbody tr:only-child td:has-text("member-alice")');
    assert.match(await page.textContent('.pager') ?? '', /1–1 of 1/);
    await axeCheck(page, 'the users list');
    await page.screenshot({ path: `${ARTIFACTS}console-users.png`, fullPage: true });

    // Phone width: the navigation stays usable.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.click('nav a:has-text("Overview")');
    await page.waitForSelector('[data-count=users]');
    assert.ok(await page.locator('nav a:has-text("Users")').isVisible());
    await page.screenshot({ path: `${ARTIFACTS}console-phone.png`, fullPage: true });
    assert.deepEqual(await errors(), [], 'errors in the console');
    await context.close();
  });

  test("a second domain's console works at /domains/NAME/console/", async () => {
    const d = await scim(h, 'POST', '/admin/v1/IdentityDomains', admin, { name: 'branch', displayName: 'Branch' });
    assert.equal(d.statusCode, 201, d.body);
    const { client_id, client_secret } = d.json().adminClient as { client_id: string; client_secret: string };
    const t = await clientToken(h, client_id, client_secret, 'urn:opc:idm:__myscopes__', '/domains/branch');
    assert.equal(t.statusCode, 200, t.body);
    const branchAdmin = t.json().access_token as string;
    const user = await createUser(h, branchAdmin, 'branch-admin', {}, '/domains/branch');
    await grantRole(h, branchAdmin, 'User Administrator', user.id, '/domains/branch');

    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    const page = await context.newPage();
    const errors = await watch(context, page);
    await page.goto(`${base}/domains/branch/console/`);
    await login(page, user.userName);
    await page.waitForURL(`${base}/domains/branch/console/`);
    await page.waitForSelector('[data-count=users] .count:not(:has-text("…"))');
    assert.equal(await page.textContent('h1'), 'Overview of branch');
    assert.equal(await page.textContent('[data-count=users] .count'), '1');
    // A User Administrator: no Apps counter (the token has no apps scope).
    assert.equal(await page.locator('[data-count=apps]').count(), 0);
    await page.screenshot({ path: `${ARTIFACTS}console-second-domain.png`, fullPage: true });
    assert.deepEqual(await errors(), [], 'errors in the second domain console');
    await context.close();
  });

  test('a user without admin roles sees a clear "no administration rights" message', async () => {
    const user = await createUser(h, admin, 'plain-user');
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    const page = await context.newPage();
    const errors = await watch(context, page);
    await page.goto(`${base}/console/`);
    await login(page, user.userName);
    await page.waitForSelector('h1:has-text("No administration rights")');
    assert.match(await page.textContent('[role=alert]') ?? '', /holds no administrator role/);
    assert.equal(await page.locator('nav').count(), 0);
    await axeCheck(page, 'the no-rights page');
    await page.screenshot({ path: `${ARTIFACTS}console-no-rights.png`, fullPage: true });
    assert.deepEqual(await errors(), [], 'errors on the no-rights page');
    // Control: the collector does see a CSP violation on these pages (an inline script is refused).
    await page.evaluate(() => {
      const d = (globalThis as unknown as { document: { createElement(t: string): { textContent: string }; body: { append(e: unknown): void } } }).document;
      const s = d.createElement('script');
      s.textContent = '1';
      d.body.append(s);
    });
    await page.waitForFunction(() => (globalThis as unknown as { __csp: string[] }).__csp.length > 0);
    assert.ok((await errors()).some((e) => /CSP violation .*script-src/.test(e)), 'the CSP violation was not seen');
    // Sign out: RP-initiated logout with id_token_hint, back to /console/, which asks for a sign-in again.
    await page.click('button:has-text("Sign out")');
    await page.waitForURL(/\/ui\/v1\/signin\//);
    assert.ok(await page.locator('input[name=username]').isVisible(), 'the SSO session ended: the login form is shown');
    await context.close();
  });

  test('the account page shows the profile, saves it and changes the password', async () => {
    const user = await createUser(h, admin, 'account-user');
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    const page = await context.newPage();
    const errors = await watch(context, page);
    await page.goto(`${base}/myaccount/`);
    await login(page, user.userName);
    await page.waitForSelector('[data-field=userName]');
    assert.equal(await page.textContent('[data-field=userName]'), 'account-user');
    assert.equal(await page.textContent('[data-field=email]'), 'account-user@example.com');
    assert.equal(await page.inputValue('input[name=givenName]'), 'Ada');
    await axeCheck(page, 'the account page');
    await page.screenshot({ path: `${ARTIFACTS}account-profile.png`, fullPage: true });

    await page.fill('input[name=displayName]', 'Countess Ada');
    await page.click('button:has-text("Save profile")');
    await page.waitForSelector('text=Your profile was saved.');
    const me = await scim(h, 'GET', `/admin/v1/Users/${user.id}`, admin);
    assert.equal(me.json().displayName, 'Countess Ada');

    // A wrong current password: the SCIM error is shown.
    await page.fill('input[name=oldPassword]', 'not my password at all');
    await page.fill('input[name=password]', NEW_PASSWORD);
    await page.fill('input[name=confirm]', NEW_PASSWORD);
    await page.click('button:has-text("Change password")');
    await page.waitForSelector('[role=alert]:has-text("oldPassword is not correct")');
    await page.fill('input[name=oldPassword]', PASSWORD);
    await page.click('button:has-text("Change password")');
    await page.waitForSelector('text=Your password was changed.');
    await page.screenshot({ path: `${ARTIFACTS}account-password.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${ARTIFACTS}account-phone.png`, fullPage: true });
    // The console errors list carries the 400 of the wrong password (a failed fetch is logged by Chromium): nothing else.
    assert.deepEqual((await errors()).filter((e) => !/status of 400/.test(e)), [], 'errors on the account page');
    await context.close();

    // The new password signs in; the old one does not.
    const again = await browser.newContext();
    const p2 = await again.newPage();
    await p2.goto(`${base}/myaccount/`);
    await login(p2, user.userName, PASSWORD);
    await p2.waitForSelector('text=/incorrect|invalid|not correct/i');
    await p2.fill('input[name=username]', user.userName);
    await p2.fill('input[name=password]', NEW_PASSWORD);
    await p2.click('button:has-text("Sign in")');
    await p2.waitForSelector('[data-field=userName]');
    await again.close();
  });
});
