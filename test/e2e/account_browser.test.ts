import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { systemClock } from '../../src/core/clock.js';
import { ARTIFACTS, axeCheck, browserSkip, freePort, launchBrowser, login, watch } from '../browser_world.js';
import { adminToken, harness, scim, type Harness } from '../helpers.js';
import { PASSWORD, REDIRECT, authorizeUrl, createUser, createWebApp, pkce } from '../signin.js';
import { ensureWebBuild } from '../web_build.js';

/**
 * The account page's Security, Sessions and Apps sections in a real browser (headless Chromium from the OS),
 * against the self-service My* endpoints of the admin API: TOTP enrolment, sign-in with the code and with
 * bypass codes, new bypass codes, removal; sessions of other browsers signed out; a consent revoked. What the
 * page shows is checked against the server (services and the admin API), and every page state passes axe-core
 * with no console error or CSP violation.
 */
const skip = browserSkip('the account page browser test');
const totpAt = (secret: string, offset = 0) =>
  generate({ secret, epoch: Math.floor(Date.now() / 1000) + offset, algorithm: 'sha1', digits: 6, period: 30 });
/** Failed requests the tests cause on purpose (wrong password or code: 400 from the API, 401 from the sign-in page). */
const expected = (e: string) => /the server responded with a status of 40[01]/.test(e);

describe('account page: security, sessions and apps in a browser (headless Chromium)', { skip }, () => {
  let h: Harness;
  let base: string;
  let browser: Browser;
  let admin: string;
  let domainId: string;

  before(async () => {
    ensureWebBuild();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    h = await harness({ config: { publicUrl: base }, clock: systemClock });
    await h.t.app.listen({ port, host: '127.0.0.1' });
    admin = await adminToken(h);
    domainId = (await h.t.services.repos.domains.getByName('default'))!.id;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  const open = async (userName: string, width = 1024) => {
    const context = await browser.newContext({ viewport: { width, height: 800 } });
    const page = await context.newPage();
    const errors = await watch(context, page);
    await page.goto(`${base}/myaccount/`);
    await login(page, userName);
    await page.waitForSelector('[data-field=userName]');
    return { context, page, errors };
  };
  const account = async (page: Page) => {
    await page.waitForURL(`${base}/myaccount/`);
    await page.waitForSelector('[data-field=totp]');
  };
  const signOut = async (page: Page) => {
    await page.click('.topbar button:has-text("Sign out")');
    await page.waitForURL(/\/ui\/v1\/signin\//);
    await page.waitForSelector('input[name=username]');
  };
  /** Password, then the MFA page: a one-time code or a bypass code. */
  const signInWith = async (page: Page, userName: string, second: { otp: string } | { bypass: string }) => {
    await login(page, userName);
    if ('otp' in second) {
      await page.fill('input[name=otpCode]', second.otp);
      await page.click('button:has-text("Verify")');
    } else {
      await page.fill('input[name=bypassCode]', second.bypass);
      await page.click('button:has-text("Use bypass code")');
    }
  };
  const shownCodes = async (page: Page) => {
    await page.waitForSelector('[data-field=bypass-codes] li');
    return page.locator('[data-field=bypass-codes] code').allTextContents();
  };

  test('TOTP: enrol on the page, sign in with a code and with bypass codes (once each), new codes end the old ones, removal asks for the password', async () => {
    const user = await createUser(h, admin, 'totp-user');
    const { context, page, errors } = await open(user.userName);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await page.waitForSelector('[data-field=totp]');
    assert.equal(await page.textContent('[data-field=totp]'), 'Not set up');
    assert.equal(await page.textContent('[data-field=mfa-policy]'), 'Optional in your domain');
    assert.equal(await page.locator('[data-field=bypass-remaining]').count(), 0);
    assert.equal(await page.locator('button:has-text("Remove authenticator app")').count(), 0, 'nothing to remove yet');
    // The section links work from the keyboard: focus moves into the section.
    await page.focus('nav[aria-label="Account sections"] a:has-text("Security")');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id), 'security');
    await axeCheck(page, 'the account page (security, not enrolled)');
    await page.screenshot({ path: `${ARTIFACTS}account-security.png`, fullPage: true });

    // A wrong current password: the SCIM error is shown and no enrolment starts.
    await page.fill('input[name=enrolPassword]', 'not my password');
    await page.click('button:has-text("Start set-up")');
    await page.waitForSelector('#security [role=alert]:has-text("password is not correct")');
    assert.equal(await page.locator('img.qr').count(), 0);
    await page.fill('input[name=enrolPassword]', PASSWORD);
    await page.click('button:has-text("Start set-up")');
    await page.waitForSelector('img.qr');
    const src = await page.getAttribute('img.qr', 'src');
    assert.match(src ?? '', /^data:image\/svg\+xml;base64,/);
    assert.ok(await page.evaluate(() => (globalThis as unknown as { document: { querySelector(s: string): { complete: boolean; naturalWidth: number } } })
      .document.querySelector('img.qr').naturalWidth > 0), 'the QR code image loads under the CSP (img-src data:)');
    const secret = (await page.textContent('[data-field=totp-secret]'))!.replace(/ /g, '');
    assert.match(secret, /^[A-Z2-7]{16,}$/);
    assert.equal(await h.t.services.totp.hasFactor(domainId, user.id), false, 'not enrolled before the first code');
    await axeCheck(page, 'the TOTP enrolment (QR code)');
    await page.screenshot({ path: `${ARTIFACTS}account-totp-enrol.png`, fullPage: true });
    // A wrong code is refused; the right one enrols and shows the ten bypass codes once.
    await page.fill('input[name=otpCode]', '000000');
    await page.click('#security button:has-text("Confirm")');
    await page.waitForSelector('#security [role=alert]:has-text("otpCode is not correct")');
    await page.fill('input[name=otpCode]', await totpAt(secret));
    await page.click('#security button:has-text("Confirm")');
    const codes = await shownCodes(page);
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    await page.click('button:has-text("Copy codes")');
    await page.waitForSelector('.bypass-codes [role=status]:has-text("Copied")');
    assert.equal(await page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText()), codes.join('\n'));
    await page.waitForSelector('[data-field=totp]:has-text("Set up on")');
    assert.equal(await page.textContent('[data-field=bypass-remaining]'), '10');
    assert.equal(await h.t.services.totp.hasFactor(domainId, user.id), true);
    assert.equal(await h.t.services.totp.remainingRecoveryCodes(domainId, user.id), 10);
    await axeCheck(page, 'the bypass codes');
    await page.screenshot({ path: `${ARTIFACTS}account-bypass-codes.png`, fullPage: true });
    await page.click('button:has-text("I saved them")');
    assert.equal(await page.locator('[data-field=bypass-codes]').count(), 0, 'the codes are gone once dismissed');

    // Sign out; the next sign-in asks for the code (a code of the next time step: the first one is used up).
    await signOut(page);
    await signInWith(page, user.userName, { otp: await totpAt(secret, 30) });
    await account(page);
    await page.waitForSelector('li[data-current=true] [data-field=amr]');
    assert.equal(await page.textContent('li[data-current=true] [data-field=amr]'), 'password + one-time code');

    // A bypass code signs in once; the same code again is refused.
    await signOut(page);
    await signInWith(page, user.userName, { bypass: codes[0]! });
    await account(page);
    await page.waitForSelector('[data-field=bypass-remaining]');
    assert.equal(await page.textContent('[data-field=bypass-remaining]'), '9');
    await signOut(page);
    await signInWith(page, user.userName, { bypass: codes[0]! });
    await page.waitForSelector('text=The one-time code is not valid.');
    await page.fill('input[name=bypassCode]', codes[1]!);
    await page.click('button:has-text("Use bypass code")');
    await account(page);
    assert.equal(await h.t.services.totp.remainingRecoveryCodes(domainId, user.id), 8);

    // New bypass codes: a wrong password is refused; then ten new codes, and an old unused one no longer works.
    await page.fill('input[name=bypassPassword]', 'wrong password');
    await page.click('button:has-text("Make new bypass codes")');
    await page.waitForSelector('#security [role=alert]:has-text("password is not correct")');
    await page.fill('input[name=bypassPassword]', PASSWORD);
    await page.click('button:has-text("Make new bypass codes")');
    const fresh = await shownCodes(page);
    assert.equal(fresh.length, 10);
    assert.equal(fresh.filter((c) => codes.includes(c)).length, 0);
    await page.waitForSelector('[data-field=bypass-remaining]:has-text("10")');
    await signOut(page);
    await signInWith(page, user.userName, { bypass: codes[2]! });
    await page.waitForSelector('text=The one-time code is not valid.');
    await page.fill('input[name=bypassCode]', fresh[0]!);
    await page.click('button:has-text("Use bypass code")');
    await account(page);

    // Removal: a wrong password shows the error and keeps the factor; the right one removes it.
    await page.fill('input[name=removePassword]', 'wrong password');
    await page.click('button:has-text("Remove authenticator app")');
    await page.waitForSelector('#security [role=alert]:has-text("password is not correct")');
    assert.equal(await h.t.services.totp.hasFactor(domainId, user.id), true, 'a wrong password removes nothing');
    await page.screenshot({ path: `${ARTIFACTS}account-totp-remove-error.png`, fullPage: true });
    await page.fill('input[name=removePassword]', PASSWORD);
    await page.click('button:has-text("Remove authenticator app")');
    await page.waitForSelector('text=Your authenticator app was removed.');
    await page.waitForSelector('[data-field=totp]:has-text("Not set up")');
    assert.equal(await h.t.services.totp.hasFactor(domainId, user.id), false);
    assert.equal(await h.t.services.totp.remainingRecoveryCodes(domainId, user.id), 0);
    // And the next sign-in asks for the password only.
    await signOut(page);
    await login(page, user.userName);
    await account(page);
    await page.setViewportSize({ width: 390, height: 844 });
    await axeCheck(page, 'the account page at phone width');
    await page.screenshot({ path: `${ARTIFACTS}account-security-phone.png`, fullPage: true });
    assert.deepEqual((await errors()).filter((e) => !expected(e)), [], 'errors on the account page');
    await context.close();
  });

  test("the domain's MFA policy 'always': shown as required, and the app can be replaced but not removed", async () => {
    const user = await createUser(h, admin, 'policy-user');
    const secret = h.t.services.totp.newSecret();
    assert.ok(await h.t.services.totp.confirmEnrolment(domainId, user.id, secret, await totpAt(secret)));
    const policy = async (mfaPolicy: string) => {
      const r = await scim(h, 'PATCH', '/admin/v1/Settings', admin, { mfaPolicy });
      assert.equal(r.statusCode, 200, r.body);
    };
    await policy('always');
    try {
      const context = await browser.newContext({ viewport: { width: 1024, height: 800 } });
      const page = await context.newPage();
      const errors = await watch(context, page);
      await page.goto(`${base}/myaccount/`);
      await signInWith(page, user.userName, { otp: await totpAt(secret, 30) });
      await account(page);
      assert.equal(await page.textContent('[data-field=mfa-policy]'), 'Required by your domain’s sign-on policy');
      assert.match(await page.textContent('[data-field=remove-blocked]') ?? '', /requires a second factor/);
      assert.equal(await page.locator('input[name=removePassword]').count(), 0);
      assert.equal(await page.textContent('#enrol-title'), 'Replace the authenticator app');
      await axeCheck(page, 'the security section under an MFA policy');
      assert.deepEqual(await errors(), [], 'errors on the account page');
      await context.close();
    } finally {
      await policy('requested');
    }
  });

  test("sessions: another browser's session is listed, signing it out ends it there; sign out all others keeps this one", async () => {
    const user = await createUser(h, admin, 'session-user');
    const a = await open(user.userName);
    const b = await open(user.userName, 390);
    await b.page.waitForSelector('li[data-session]');
    await b.page.screenshot({ path: `${ARTIFACTS}account-sessions-phone.png`, fullPage: true });
    await axeCheck(b.page, 'the sessions list at phone width');

    await a.page.click('button:has-text("Refresh sessions")');
    await a.page.waitForSelector('li[data-session] >> nth=1');
    const onPage = await a.page.locator('li[data-session]').evaluateAll((els) => els.map((e) => [(e as unknown as { dataset: Record<string, string> }).dataset.session, (e as unknown as { dataset: Record<string, string> }).dataset.current]));
    const listed = async () => ((await scim(h, 'GET', `/admin/v1/Sessions?userId=${user.id}`, admin)).json().Resources as { id: string }[]).map((s) => s.id).sort();
    assert.deepEqual(onPage.map(([id]) => id).sort(), await listed());
    assert.deepEqual(onPage.map(([, c]) => c), ['true', 'false'], 'this session first, marked');
    assert.equal(await a.page.textContent('li[data-current=true] .badge'), 'This session');
    assert.equal(await a.page.locator('li[data-current=true] button').count(), 0, 'this session is signed out with the top bar');
    assert.match(await a.page.textContent('li[data-current=false] strong') ?? '', /Chrome on Linux/);
    await axeCheck(a.page, 'the sessions list');
    await a.page.screenshot({ path: `${ARTIFACTS}account-sessions.png`, fullPage: true });

    const other = onPage.find(([, c]) => c === 'false')![0]!;
    await a.page.click('li[data-current=false] button:has-text("Sign out this session")');
    await a.page.waitForSelector('text=/was signed out/');
    await a.page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('li[data-session]').length === 1);
    assert.equal((await listed()).includes(other), false, 'the session ended on the server');
    // The other browser's page: its token was revoked with its session; its next call signs in again, and the SSO session is gone.
    await b.page.click('button:has-text("Refresh sessions")');
    await b.page.waitForURL(/\/ui\/v1\/signin\//);
    await b.page.waitForSelector('input[name=username]');

    // Two more browsers; sign out all others keeps only this one.
    const c = await open(user.userName);
    await login(b.page, user.userName);
    await b.page.waitForSelector('[data-field=userName]');
    assert.equal((await listed()).length, 3);
    await a.page.click('button:has-text("Refresh sessions")');
    await a.page.waitForSelector('li[data-session] >> nth=2');
    await a.page.click('button:has-text("Sign out all other sessions")');
    await a.page.waitForSelector('text=2 other sessions were signed out.');
    const mine = onPage.find(([, cur]) => cur === 'true')![0]!;
    assert.deepEqual(await listed(), [mine]);
    assert.ok(await a.page.locator('button:has-text("Sign out all other sessions")').isDisabled(), 'nothing else to sign out');
    await c.page.reload();
    await c.page.waitForSelector('input[name=username]');
    assert.deepEqual(await a.errors(), [], 'errors on the first browser');
    assert.deepEqual((await b.errors()).filter((e) => !/status of 401/.test(e)), [], 'errors on the second browser');
    for (const x of [a, b, c]) await x.context.close();
  });

  test('apps: a consented app is listed with its scopes; revoking it makes the next authorization ask again', async () => {
    const user = await createUser(h, admin, 'consent-user');
    const app = await createWebApp(h, admin);
    const { challenge } = pkce();
    const authorize = `${base}${authorizeUrl({ client_id: app.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid profile', state: 's1', code_challenge: challenge, code_challenge_method: 'S256' })}`;
    const { context, page, errors } = await open(user.userName);
    await context.route('https://app.example.com/**', (r) => r.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><html lang="en"><title>cb</title><p>back</p></html>' }));
    await page.waitForSelector('[data-field=no-apps]');

    // Consent in this browser (its SSO session: no password asked), back to the app.
    await page.goto(authorize);
    await page.waitForSelector('button[value=allow]');
    await page.click('button[value=allow]');
    await page.waitForURL(/^https:\/\/app\.example\.com\/cb\?/);
    assert.ok(new URL(page.url()).searchParams.get('code'));
    // Remembered: the next authorization goes straight back (asked with this browser's cookies, without following the redirect).
    const again = await context.request.get(authorize, { maxRedirects: 0 });
    assert.equal(again.status(), 302);
    assert.match(again.headers().location ?? '', /^https:\/\/app\.example\.com\/cb\?.*code=/);

    await page.goto(`${base}/myaccount/`);
    await page.waitForSelector(`li[data-consent="${app.clientId}"]`);
    assert.equal(await page.textContent(`li[data-consent="${app.clientId}"] [data-field=scopes]`), 'openid, profile');
    await axeCheck(page, 'the apps list');
    await page.screenshot({ path: `${ARTIFACTS}account-apps.png`, fullPage: true });
    await page.click(`button[aria-label="Revoke access of ${app.clientId}"]`);
    await page.waitForSelector('text=/was revoked/');
    await page.waitForSelector('[data-field=no-apps]');
    const left = await scim(h, 'GET', `/admin/v1/Consents?userId=${user.id}`, admin);
    assert.equal(left.json().totalResults, 0, left.body);

    const asked = await context.request.get(authorize, { maxRedirects: 0 });
    assert.equal(asked.status(), 303, 'consent is asked again');
    await page.goto(authorize);
    await page.waitForSelector('button[value=allow]');
    assert.match(page.url(), /\/ui\/v1\/signin\//);
    assert.deepEqual(await errors(), [], 'errors on the account page');
    await context.close();
  });
});
