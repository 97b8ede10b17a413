import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generate } from 'otplib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { systemClock } from '../../src/core/clock.js';
import { ARTIFACTS, axeCheck, browserSkip, freePort, launchBrowser, login, watch } from '../browser_world.js';
import { basic, harness, type Harness } from '../helpers.js';
import { pkce } from '../signin.js';
import { ensureWebBuild } from '../web_build.js';

/**
 * Issue 11's whole journey in headless Chromium, as a new user meets Tessera: a server with no
 * administrator at all; the welcome page creates the first one; the console signs them in; they
 * create a user, a resource server, a web app and a role of the resource server, and grant the user
 * that role; the user signs in to the new web app through the code flow; the sign-in shows on the
 * audit page; then the user changes their password and enrols TOTP on the account page. No step uses
 * the admin API directly: what the test checks through the API it reads with the web app's own tokens
 * or the store. Console errors, CSP violations and serious axe-core findings fail it.
 */
const ADMIN_PASSWORD = 'first admin passphrase 41 lantern';
const USER_PASSWORD = 'journey user passphrase 62 meadow';
const NEW_PASSWORD = 'journey user new passphrase 17 quarry';
const CALLBACK = 'https://shop.example.com/callback';
const skip = browserSkip('the console journey browser test');
const totpAt = (secret: string, offset = 0) =>
  generate({ secret, epoch: Math.floor(Date.now() / 1000) + offset, algorithm: 'sha1', digits: 6, period: 30 });

describe('issue 11 journey: first run, console, code flow, audit, account page (headless Chromium)', { skip }, () => {
  let h: Harness;
  let base: string;
  let browser: Browser;

  before(async () => {
    ensureWebBuild();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // No bootstrap client and no bootstrap administrator: the domain starts with no administrator at all.
    h = await harness({ config: { publicUrl: base, bootstrapClientId: undefined, bootstrapClientSecret: undefined }, clock: systemClock });
    await h.t.app.listen({ port, host: '127.0.0.1' });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  async function newPage(): Promise<{ context: BrowserContext; page: Page; errors: () => Promise<string[]> }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    return { context, page, errors: await watch(context, page) };
  }
  const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}journey-${name}.png`, fullPage: true });
  const go = async (page: Page, hash: string, heading: string) => {
    await page.evaluate((hsh) => { (globalThis as unknown as { location: { hash: string } }).location.hash = hsh; }, hash);
    await page.waitForSelector(`main h1:has-text("${heading}")`);
  };

  test('from an empty server to a signed-in user with TOTP, all in the browser', async () => {
    // 1. The welcome page creates the first administrator.
    const adm = await newPage();
    let page = adm.page;
    await page.goto(`${base}/`);
    assert.equal(await page.textContent('#issuer'), base);
    await page.getByLabel('User name', { exact: true }).fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByLabel('Password again', { exact: true }).fill(ADMIN_PASSWORD);
    await axeCheck(page, 'the welcome page');
    await shot(page, 'welcome');
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button:has-text("Create administrator")')]);
    assert.equal(await page.title(), 'Administrator created');

    // 2. The console: the administrator signs in through the server's login page.
    await page.click('#open-console');
    await login(page, 'admin', ADMIN_PASSWORD);
    await page.waitForSelector('main h1:text-is("Overview of default")');
    await axeCheck(page, 'the overview');
    await shot(page, 'overview');

    // 3. A user.
    await go(page, '#/users', 'Users');
    await page.click('button:text-is("New user")');
    await page.fill('input[name=userName]', 'jo');
    await page.fill('input[name=givenName]', 'Jo');
    await page.fill('input[name=familyName]', 'Walker');
    await page.fill('input[name=email]', 'jo@example.com');
    await page.fill('input[name=password]', USER_PASSWORD);
    await page.click('button:text-is("Create user")');
    await page.waitForSelector('main h1:text-is("jo")');
    const jo = (await h.t.services.repos.users.getByUserName((await h.t.services.repos.domains.getByName('default'))!.id, 'jo'))!;
    assert.ok(jo, 'the user exists');
    await shot(page, 'user');

    // 4. A resource server with a scope, and a web app allowed it; the web app's secret is shown once.
    await go(page, '#/apps', 'Apps');
    await page.click('a:has-text("Create app")');
    await page.check('label.kind:has-text("Resource server") input');
    await page.click('button:has-text("Next")');
    await page.fill('input[name=displayName]', 'Orders API');
    await page.fill('input[name=audience]', 'https://orders.example.com');
    await page.fill('textarea[name=scopes]', 'orders.read Read orders');
    await page.click('button:has-text("Review")');
    await page.click('button:has-text("Create")');
    await page.waitForSelector('h1:has-text("App created")');

    await go(page, '#/apps', 'Apps');
    await page.click('a:has-text("Create app")');
    await page.check('label.kind:has-text("Web app") input');
    await page.click('button:has-text("Next")');
    await page.fill('input[name=displayName]', 'Shop');
    await page.fill('textarea[name=redirectUris]', CALLBACK);
    await page.check('input[name=allowedScopes][value="orders.read"]');
    await page.click('button:has-text("Review")');
    await page.click('button:has-text("Create")');
    await page.waitForSelector('h1:has-text("App created")');
    const secret = (await page.textContent('.secret code'))!;
    const clientId = (await page.textContent('[data-field=clientId]'))!;
    assert.ok(secret.length >= 32 && clientId.length > 0);
    await shot(page, 'app-created');

    // 5. A role of the resource server, granted to the user.
    await go(page, '#/roles', 'App roles');
    await page.click('button:has-text("New role")');
    await page.selectOption('select[name=app]', { label: 'Orders API' });
    await page.fill('input[name=roleName]', 'Order Readers');
    await page.check('input[name=roleScopes][value="orders.read"]');
    await page.click('button:has-text("Create role")');
    await page.waitForSelector('h1:has-text("Order Readers")');
    await page.selectOption('select[name=granteeType]', 'User');
    await page.fill('input[name=granteeQuery]', 'jo');
    await page.click('button:has-text("Find")');
    await page.click('button[aria-label="Grant Order Readers to jo"]');
    await page.waitForSelector('text=Order Readers was granted to jo.');
    await shot(page, 'role-granted');

    // 6. The user signs in to the new web app through the code flow (the app's callback is caught here).
    const usr = await newPage();
    let code: string | null = null;
    let state: string | null = null;
    await usr.page.route(`${CALLBACK}**`, async (route) => {
      const u = new URL(route.request().url());
      code = u.searchParams.get('code');
      state = u.searchParams.get('state');
      await route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><html lang="en"><title>Shop</title><h1>Signed in</h1></html>' });
    });
    const { verifier, challenge } = pkce();
    await usr.page.goto(`${base}/oauth2/v1/authorize?${new URLSearchParams({
      client_id: clientId, redirect_uri: CALLBACK, response_type: 'code', scope: 'openid profile orders.read', state: 'journey',
      code_challenge: challenge, code_challenge_method: 'S256', nonce: 'n-journey',
    })}`);
    await login(usr.page, 'jo', USER_PASSWORD);
    await usr.page.waitForSelector('button:has-text("Allow")');
    await axeCheck(usr.page, 'the consent page');
    await shot(usr.page, 'consent');
    await usr.page.click('button:has-text("Allow")');
    await usr.page.waitForSelector('h1:text-is("Signed in")');
    assert.equal(state, 'journey');
    assert.ok(code, 'the app got a code');
    const token = await fetch(`${base}/oauth2/v1/token`, {
      method: 'POST', headers: { authorization: basic(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: code!, redirect_uri: CALLBACK, code_verifier: verifier }),
    });
    assert.equal(token.status, 200);
    const tokens = await token.json() as { access_token: string; id_token: string; scope: string };
    assert.deepEqual(tokens.scope.split(' ').sort(), ['openid', 'orders.read', 'profile']);
    const claims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1]!, 'base64url').toString()) as { sub: string; nonce: string };
    assert.equal(claims.nonce, 'n-journey');
    const userinfo = await (await fetch(`${base}/oauth2/v1/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json() as { sub: string; given_name?: string };
    assert.equal(userinfo.sub, claims.sub);
    assert.equal(userinfo.given_name, 'Jo');

    // 7. The administrator sees that sign-in on the audit page.
    await go(page, '#/audit', 'Audit events');
    await page.getByLabel('Event id').fill('user.login.succeeded');
    await page.getByLabel('Actor id').fill(jo.id);
    await page.click('button:has-text("Apply filter")');
    await page.waitForSelector('.pager:has-text("1–1 of 1")');
    assert.deepEqual(await page.locator('table tbody tr td:nth-child(2)').allTextContents(), ['user.login.succeeded']);
    await axeCheck(page, 'the audit page');
    await shot(page, 'audit');
    assert.deepEqual(await adm.errors(), [], 'errors in the console');
    await adm.context.close();

    // 8. The user's account page: a new password, then TOTP.
    page = usr.page;
    await page.goto(`${base}/myaccount/`);
    await page.waitForSelector('[data-field=userName]');
    await page.fill('input[name=oldPassword]', USER_PASSWORD);
    await page.fill('input[name=password]', NEW_PASSWORD);
    await page.fill('input[name=confirm]', NEW_PASSWORD);
    await page.click('button:has-text("Change password")');
    await page.waitForSelector('text=Your password was changed.');
    assert.equal(await h.t.services.users.verifyPassword((await h.t.services.repos.users.get(jo.domainId, jo.id))!, NEW_PASSWORD), true);
    // A new password ends the sessions: the page signs in again, with the new password.
    await page.reload();
    await login(page, 'jo', NEW_PASSWORD);
    await page.waitForSelector('[data-field=totp]');
    await page.fill('input[name=enrolPassword]', NEW_PASSWORD);
    await page.click('button:has-text("Start set-up")');
    await page.waitForSelector('img.qr');
    const totpSecret = (await page.textContent('[data-field=totp-secret]'))!.replace(/ /g, '');
    await page.fill('input[name=otpCode]', await totpAt(totpSecret));
    await page.click('#security button:has-text("Confirm")');
    await page.waitForSelector('[data-field=bypass-codes] li');
    await page.waitForSelector('[data-field=totp]:has-text("Set up on")');
    assert.equal(await h.t.services.totp.hasFactor(jo.domainId, jo.id), true);
    await axeCheck(page, 'the account page after TOTP enrolment');
    await shot(page, 'account-totp');
    assert.deepEqual(await usr.errors(), [], 'errors on the account page');
    await usr.context.close();
  });
});
