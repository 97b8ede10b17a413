import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser as Chromium, BrowserContext, Page } from 'playwright-core';
import { systemClock } from '../../src/core/clock.js';
import { ARTIFACTS, axeCheck, browserSkip, freePort, grantRole, launchBrowser, login, watch } from '../browser_world.js';
import { APP_SCHEMA, adminToken, basic, harness, post, scim, type Harness } from '../helpers.js';
import { Browser, REDIRECT, authorizeUrl, callbackParams, createUser, pkce, signIn } from '../signin.js';
import { ensureWebBuild } from '../web_build.js';

/**
 * The console's Apps pages (list, creation wizard, detail, edit, secret rotation) and App roles & grants,
 * in headless Chromium: real clicks and typing, then the admin API (with an admin token) says what changed.
 */
const skip = browserSkip('the console apps browser test');
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
type Json = Record<string, unknown>;

/** As the console shows a value (pages/apps.tsx fmt). */
function fmt(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'boolean') return v ? 'Yes' : 'No';
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' && x ? String((x as Json).fqs ?? (x as Json).value) : String(x))).join(', ');
  return String(v);
}

/** The settings a client or resource server is created with: if the API has one, the review showed it. */
const SETTABLE = ['displayName', 'description', 'isOAuthClient', 'isOAuthResource', 'clientType', 'tokenEndpointAuthMethod', 'allowedGrants', 'redirectUris',
  'postLogoutRedirectUris', 'allowedScopes', 'accessTokenExpiry', 'audience', 'scopes', 'accessTokenFormat', 'accessTokenSigningAlg'];

async function review(page: Page): Promise<Record<string, string>> {
  const dd = page.locator('dl.review dd[data-key]');
  const out: Record<string, string> = {};
  for (let i = 0; i < await dd.count(); i++) out[(await dd.nth(i).getAttribute('data-key'))!] = (await dd.nth(i).textContent())!;
  return out;
}

const hashIs = (page: Page, re: RegExp) => page.waitForFunction((src) => new RegExp(src).test((globalThis as unknown as { location: { hash: string } }).location.hash), re.source);

describe('console apps, app roles and grants in a browser (headless Chromium)', { skip }, () => {
  let h: Harness;
  let base: string;
  let browser: Chromium;
  let admin: string;
  let adminUser: { id: string; userName: string };
  let ordersApi: { id: string };
  const created: Record<string, { id: string; clientId?: string; secret?: string; displayName: string }> = {};

  const api = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => scim(h, method, `/admin/v1/${path}`, admin, body);
  const appByName = async (name: string) => {
    const r = await api('GET', `Apps?filter=${encodeURIComponent(`displayName eq "${name}"`)}`);
    return r.json().Resources as Json[];
  };

  /** A new browser context signed in to the console as `userName`; the nav is shown. */
  async function open(userName: string, width = 1280): Promise<{ context: BrowserContext; page: Page; errors: () => Promise<string[]> }> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    const page = await context.newPage();
    const errors = await watch(context, page);
    await page.goto(`${base}/console/`);
    await login(page, userName);
    await page.waitForSelector('nav[aria-label="Console sections"], h1:has-text("No administration rights")');
    return { context, page, errors };
  }

  /** Failed API calls that a test provokes are logged by Chromium as "status of 4xx": nothing else may be. */
  const only4xx = (errs: string[], codes = '400|409') => errs.filter((e) => !new RegExp(`status of (${codes})`).test(e));

  before(async () => {
    ensureWebBuild();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    h = await harness({ config: { publicUrl: base }, clock: systemClock });
    await h.t.app.listen({ port, host: '127.0.0.1' });
    admin = await adminToken(h);
    browser = await launchBrowser();
    adminUser = await createUser(h, admin, 'apps-admin');
    await grantRole(h, admin, 'Identity Domain Administrator', adminUser.id);
    const rs = await api('POST', 'Apps', {
      schemas: [APP_SCHEMA], displayName: 'Orders API', isOAuthResource: true, audience: 'https://orders.example.com',
      scopes: [{ value: 'orders.read', description: 'Read orders' }, { value: 'orders.write' }],
    });
    assert.equal(rs.statusCode, 201, rs.body);
    ordersApi = { id: rs.json().id as string };
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  test('the wizard creates each kind of app exactly as its review showed, with secure defaults', async () => {
    const { context, page, errors } = await open(adminUser.userName);
    assert.deepEqual(await page.locator('nav[aria-label="Console sections"] a').allTextContents(), ['Overview', 'Users', 'Groups', 'Apps', 'App roles', 'Audit events', 'Trusted issuers', 'Signing keys', 'Settings', 'Identity domains']);
    await page.click('nav a:has-text("Apps")');
    await page.waitForSelector('table tbody tr td a');
    await axeCheck(page, 'the apps list');
    await page.screenshot({ path: `${ARTIFACTS}console-apps.png`, fullPage: true });

    const kinds: { kind: string; radio: string; name: string; fill(p: Page): Promise<void>; expect: Record<string, string>; secret: boolean }[] = [
      {
        kind: 'web', radio: 'Web app', name: 'Shop web', secret: true,
        fill: async (p) => {
          await p.fill('textarea[name=redirectUris]', `${REDIRECT}\nhttps://app.example.com/cb2`);
          await p.fill('textarea[name=postLogoutUris]', 'https://app.example.com/bye');
          await p.check('input[name=allowedScopes][value="orders.read"]');
          await p.fill('input[name=accessTokenExpiry]', '900');
        },
        expect: { clientType: 'confidential', tokenEndpointAuthMethod: 'client_secret_basic', allowedGrants: 'authorization_code, refresh_token', pkceRequired: 'Yes', accessTokenExpiry: '900', redirectUris: `${REDIRECT}, https://app.example.com/cb2` },
      },
      {
        kind: 'spa', radio: 'Single-page app', name: 'Shop SPA', secret: false,
        fill: async (p) => { await p.fill('textarea[name=redirectUris]', 'https://spa.example.com/cb'); },
        expect: { clientType: 'public', tokenEndpointAuthMethod: 'none', allowedGrants: 'authorization_code', pkceRequired: 'Yes' },
      },
      {
        kind: 'native', radio: 'Native app', name: 'Shop native', secret: false,
        fill: async (p) => {
          assert.equal(await p.inputValue('textarea[name=redirectUris]'), 'http://127.0.0.1/callback', 'a loopback redirect URI by default');
          await p.fill('textarea[name=redirectUris]', 'http://127.0.0.1/callback\ncom.example.shop:/callback');
        },
        expect: { clientType: 'public', tokenEndpointAuthMethod: 'none', allowedGrants: 'authorization_code, refresh_token', pkceRequired: 'Yes', redirectUris: 'http://127.0.0.1/callback, com.example.shop:/callback' },
      },
      {
        kind: 'service', radio: 'Service', name: 'Shop worker', secret: true,
        fill: async (p) => {
          assert.equal(await p.locator('textarea[name=redirectUris]').count(), 0, 'a service has no redirect URIs');
          await p.check('input[name=allowedScopes][value="orders.read"]');
          await p.check('input[name=allowedScopes][value="orders.write"]');
        },
        expect: { clientType: 'confidential', tokenEndpointAuthMethod: 'client_secret_basic', allowedGrants: 'client_credentials', allowedScopes: 'orders.read, orders.write' },
      },
      {
        kind: 'resource', radio: 'Resource server', name: 'Inventory API', secret: false,
        fill: async (p) => {
          await p.fill('input[name=audience]', 'https://inventory.example.com');
          await p.fill('textarea[name=scopes]', 'inventory.read Read the stock\ninventory.write');
          assert.equal(await p.inputValue('select[name=accessTokenFormat]'), 'jwt');
          await p.selectOption('select[name=accessTokenSigningAlg]', 'ES256');
        },
        expect: { isOAuthResource: 'Yes', audience: 'https://inventory.example.com', scopes: 'inventory.read, inventory.write', accessTokenFormat: 'jwt', accessTokenSigningAlg: 'ES256' },
      },
    ];
    for (const k of kinds) {
      await page.goto(`${base}/console/#/apps`);
      await page.click('a:has-text("Create app")');
      await page.waitForSelector('h1:has-text("Create an app")');
      assert.equal(await page.isDisabled('button:has-text("Next")'), true, 'no kind chosen yet');
      if (k.kind === 'web') await axeCheck(page, 'the wizard: kind');
      if (k.kind === 'spa') {
        // By keyboard: arrows move through the kinds, Tab reaches Next (past Cancel), Enter goes on.
        await page.click('input[name=kind][value=web]');
        await page.keyboard.press('ArrowDown');
        await page.waitForSelector('input[name=kind][value=spa]:checked');
        assert.equal(await page.isChecked('input[name=kind][value=spa]'), true);
        await page.keyboard.press('Tab');
        await page.keyboard.press('Tab');
        await page.keyboard.press('Enter');
        await page.waitForSelector('h1:has-text("Create a single-page app")');
      } else {
        await page.check(`label.kind:has-text("${k.radio}") input`);
        await page.click('button:has-text("Next")');
      }
      await page.fill('input[name=displayName]', k.name);
      await k.fill(page);
      if (k.kind === 'web') {
        await axeCheck(page, 'the wizard: settings');
        await page.screenshot({ path: `${ARTIFACTS}console-apps-wizard.png`, fullPage: true });
      }
      await page.click('button:has-text("Review")');
      await page.waitForSelector('dl.review');
      const shown = await review(page);
      for (const [key, v] of Object.entries(k.expect)) assert.equal(shown[key], v, `${k.kind}: review of ${key}`);
      if (k.kind === 'web') await axeCheck(page, 'the wizard: review');
      await page.click('button:has-text("Create")');
      await page.waitForSelector('h1:has-text("App created")');
      const [app] = await appByName(k.name);
      assert.ok(app, `${k.kind}: created`);
      for (const [key, v] of Object.entries(shown)) assert.equal(fmt(app[key]), v, `${k.kind}: ${key} as the review showed`);
      for (const key of SETTABLE) if (app[key] !== undefined && app[key] !== false) assert.ok(key in shown, `${k.kind}: ${key}=${JSON.stringify(app[key])} was not shown in the review`);
      const secretBox = page.locator('.secret code');
      assert.equal(await secretBox.count(), k.secret ? 1 : 0, `${k.kind}: secret shown once only for a confidential client`);
      const entry = { id: app.id as string, clientId: app.name as string | undefined, displayName: k.name, secret: k.secret ? (await secretBox.textContent())! : undefined };
      if (k.secret) {
        assert.ok(entry.secret && entry.secret.length >= 32, 'a secret');
        if (k.kind === 'web') {
          // Copy goes through the Clipboard API.
          await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
          await page.click('button:has-text("Copy")');
          await page.waitForSelector('.secret [role=status]:has-text("Copied")');
          assert.equal(await page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText()), entry.secret);
        }
        assert.equal(await page.textContent('[data-field=clientId]'), entry.clientId);
      }
      created[k.kind] = entry;
      if (k.kind === 'web') {
        await axeCheck(page, 'the wizard: created');
        await page.screenshot({ path: `${ARTIFACTS}console-apps-created.png`, fullPage: true });
        // The secret is gone once the page is left, and coming back does not bring it back.
        await page.click('a:has-text("Back to the apps")');
        await page.waitForSelector('h1:has-text("Apps")');
        assert.equal((await page.content()).includes(entry.secret!), false, 'the secret left the page');
        await page.goBack();
        await page.waitForSelector('h1:has-text("Create an app")');
        assert.equal((await page.content()).includes(entry.secret!), false, 'the secret does not come back');
      }
    }
    // The resource server's key for ES256 exists (ensured at creation) and the list shows the new apps.
    await page.goto(`${base}/console/#/apps?q=Shop`);
    await page.waitForSelector('table tbody tr:nth-child(4)');
    assert.deepEqual((await page.locator('table tbody tr td:first-child').allTextContents()).sort(), ['Shop SPA', 'Shop native', 'Shop web', 'Shop worker']);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${ARTIFACTS}console-apps-phone.png`, fullPage: true });
    await page.goto(`${base}/console/#/apps/new`);
    await page.check('label.kind:has-text("Web app") input');
    await page.click('button:has-text("Next")');
    await page.screenshot({ path: `${ARTIFACTS}console-apps-wizard-phone.png`, fullPage: true });
    assert.deepEqual(await errors(), [], 'errors in the console');
    await context.close();
  });

  test('a wizard-made web app signs a user in with its secret; a regenerated secret works and the old one is invalid_client', async () => {
    const web = created.web;
    assert.ok(web?.secret && web.clientId, 'the wizard test made the web app');
    const user = await createUser(h, admin, 'shop-customer');
    const codeFlow = async (secret: string) => {
      const { verifier, challenge } = pkce();
      const r = await signIn(new Browser(h, base), authorizeUrl({
        client_id: web.clientId!, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid offline_access orders.read', state: 's1',
        code_challenge: challenge, code_challenge_method: 'S256',
      }), user.userName);
      const code = callbackParams(r).get('code');
      assert.ok(code, r.body);
      return post(h, '/oauth2/v1/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, { authorization: basic(web.clientId!, secret) });
    };
    const first = await codeFlow(web.secret);
    assert.equal(first.statusCode, 200, first.body);
    const tokens = first.json() as { access_token: string; refresh_token?: string; id_token?: string; scope: string };
    assert.ok(tokens.id_token && tokens.refresh_token, first.body);
    assert.match(tokens.scope, /orders\.read/);

    const { context, page, errors } = await open(adminUser.userName);
    await page.goto(`${base}/console/#/apps/${web.id}`);
    await page.waitForSelector('h1:has-text("Shop web")');
    assert.equal(await page.textContent('dd[data-key=name]'), web.clientId);
    await axeCheck(page, 'the app detail');
    await page.screenshot({ path: `${ARTIFACTS}console-app-detail.png`, fullPage: true });
    await page.click('button:has-text("Regenerate secret")');
    await page.waitForSelector('dialog[open]');
    await axeCheck(page, 'the regenerate dialog');
    await page.click('dialog[open] button:has-text("Regenerate")');
    await page.waitForSelector('.secret code');
    const rotated = (await page.textContent('.secret code'))!;
    assert.notEqual(rotated, web.secret);

    const refresh = (secret: string) => post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, { authorization: basic(web.clientId!, secret) });
    const old = await refresh(web.secret);
    assert.equal(old.statusCode, 401, old.body);
    assert.equal(old.json().error, 'invalid_client');
    const again = await codeFlow(rotated);
    assert.equal(again.statusCode, 200, again.body);
    const oldCode = await codeFlow(web.secret);
    assert.equal(oldCode.statusCode, 401, oldCode.body);
    assert.equal(oldCode.json().error, 'invalid_client');
    const renewed = await refresh(rotated);
    assert.equal(renewed.statusCode, 200, renewed.body);
    // Shown once: leaving the page takes it away.
    await page.click('a:has-text("← Apps")');
    await page.waitForSelector('h1:has-text("Apps")');
    await page.goto(`${base}/console/#/apps/${web.id}`);
    await page.waitForSelector('h1:has-text("Shop web")');
    assert.equal((await page.content()).includes(rotated), false, 'the rotated secret is not shown again');
    assert.deepEqual(await errors(), [], 'errors in the console');
    await context.close();
  });

  test('the detail page edits redirect URIs, grants, scopes and lifetime, disables, enables and deletes', async () => {
    const web = created.web!;
    const { context, page, errors } = await open(adminUser.userName);
    await page.goto(`${base}/console/#/apps/${web.id}`);
    await page.click('a:has-text("Edit")');
    await page.waitForSelector('h1:has-text("Edit Shop web")');
    assert.equal(await page.inputValue('textarea[name=redirectUris]'), `${REDIRECT}\nhttps://app.example.com/cb2`);
    await page.fill('textarea[name=redirectUris]', `${REDIRECT}\nhttps://app.example.com/cb3`);
    await page.fill('textarea[name=postLogoutUris]', '');
    await page.uncheck('input[name=grants][value=refresh_token]');
    await page.check('input[name=allowedScopes][value="orders.write"]');
    await page.fill('input[name=accessTokenExpiry]', '600');
    await axeCheck(page, 'the app edit form');
    await page.screenshot({ path: `${ARTIFACTS}console-app-edit.png`, fullPage: true });
    // A bad redirect URI: the field says so, and the server's 400 detail is shown when saved anyway.
    await page.fill('textarea[name=redirectUris]', 'https://app.example.com/cb#frag');
    await page.waitForSelector('.field .error:has-text("must not contain a fragment")');
    await page.click('button:has-text("Save")');
    await page.waitForSelector('[role=alert]:has-text("redirect URI \\"https://app.example.com/cb#frag\\" must not contain a fragment")');
    assert.match(await page.textContent('[role=alert]:has-text("fragment")') ?? '', /invalidValue/);
    await page.fill('textarea[name=redirectUris]', `${REDIRECT}\nhttps://app.example.com/cb3`);
    await page.click('button:has-text("Save")');
    await page.waitForSelector('h1:has-text("Shop web")');
    const a = (await api('GET', `Apps/${web.id}`)).json() as Json;
    assert.deepEqual(a.redirectUris, [REDIRECT, 'https://app.example.com/cb3']);
    assert.equal(a.postLogoutRedirectUris, undefined);
    assert.deepEqual(a.allowedGrants, ['authorization_code']);
    assert.deepEqual(a.allowedScopes, [{ fqs: 'orders.read' }, { fqs: 'orders.write' }]);
    assert.equal(a.accessTokenExpiry, 600);
    assert.equal(await page.textContent('dd[data-key=accessTokenExpiry]'), '600');

    await page.click('button:has-text("Disable")');
    await page.waitForSelector('[data-field=status]:has-text("Disabled")');
    assert.equal((await api('GET', `Apps/${web.id}`)).json().active, false);
    await page.click('button:has-text("Enable")');
    await page.waitForSelector('[data-field=status]:has-text("Active")');
    assert.equal((await api('GET', `Apps/${web.id}`)).json().active, true);

    const spa = created.spa!;
    await page.goto(`${base}/console/#/apps/${spa.id}`);
    await page.waitForSelector('h1:has-text("Shop SPA")');
    assert.equal(await page.locator('button:has-text("Regenerate secret")').count(), 0, 'a public client has no secret to regenerate');
    await page.click('button:has-text("Delete")');
    await page.click('dialog[open] button:has-text("Cancel")');
    assert.equal((await api('GET', `Apps/${spa.id}`)).statusCode, 200, 'cancel keeps the app');
    await page.click('button:has-text("Delete")');
    await page.click('dialog[open] button.danger:has-text("Delete")');
    await page.waitForSelector('h1:has-text("Apps")');
    assert.equal((await api('GET', `Apps/${spa.id}`)).statusCode, 404);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/console/#/apps/${web.id}`);
    await page.waitForSelector('h1:has-text("Shop web")');
    await page.screenshot({ path: `${ARTIFACTS}console-app-detail-phone.png`, fullPage: true });
    assert.deepEqual(only4xx(await errors(), '400'), [], 'errors in the console');
    await context.close();
  });

  test('a bad redirect URI in the wizard is flagged and the server\'s 400 detail is shown; nothing is created', async () => {
    const { context, page, errors } = await open(adminUser.userName);
    const attempt = async (name: string, uris: string, lifetime = '') => {
      await page.goto(`${base}/console/#/apps`);
      await page.click('a:has-text("Create app")');
      await page.check('label.kind:has-text("Web app") input');
      await page.click('button:has-text("Next")');
      await page.fill('input[name=displayName]', name);
      await page.fill('textarea[name=redirectUris]', uris);
      if (lifetime) await page.fill('input[name=accessTokenExpiry]', lifetime);
      await page.click('button:has-text("Review")');
      await page.click('button:has-text("Create")');
    };
    await attempt('Bad http', 'http://app.example.com/cb');
    await page.waitForSelector('[role=alert]:has-text("redirect URI \\"http://app.example.com/cb\\" http is allowed only for loopback hosts; use https")');
    assert.ok(await page.isVisible('[role=alert]:has-text("the server will refuse it")'), 'the review warned first');
    await axeCheck(page, 'the wizard with a server error');
    await page.screenshot({ path: `${ARTIFACTS}console-apps-wizard-error.png`, fullPage: true });
    await page.click('button:has-text("Back")');
    assert.match(await page.textContent('.field:has(textarea[name=redirectUris]) .error') ?? '', /http is allowed only for loopback hosts/);
    await attempt('Bad script', 'javascript:alert(1)');
    await page.waitForSelector('[role=alert]:has-text("scheme javascript: is not allowed")');
    await attempt('No uri', '');
    await page.waitForSelector('[role=alert]:has-text("authorization_code and implicit need at least one redirect URI")');
    await attempt('Short life', 'https://ok.example.com/cb', '30');
    await page.waitForSelector('[role=alert]:has-text("accessTokenExpiry must be an integer between 60 and 31536000 seconds")');
    for (const n of ['Bad http', 'Bad script', 'No uri', 'Short life']) assert.deepEqual(await appByName(n), [], `${n} was not created`);
    assert.deepEqual(only4xx(await errors(), '400'), [], 'errors in the console');
    await context.close();
  });

  test('the apps list searches and pages (20 a page), keeping both in the address', async () => {
    for (let i = 0; i < 22; i++) {
      const r = await api('POST', 'Apps', { schemas: [APP_SCHEMA], displayName: `Bulk ${String(i).padStart(2, '0')}`, isOAuthClient: true, clientType: 'confidential', allowedGrants: ['client_credentials'] });
      assert.equal(r.statusCode, 201, r.body);
    }
    const { context, page, errors } = await open(adminUser.userName);
    await page.goto(`${base}/console/#/apps`);
    await page.fill('input[type=search]', 'Bulk');
    await page.keyboard.press('Enter');
    await hashIs(page, /q=Bulk/);
    await page.waitForSelector('.pager:has-text("1–20 of 22")');
    assert.equal(await page.locator('table tbody tr').count(), 20);
    assert.equal(await page.textContent('table tbody tr:first-child td:first-child'), 'Bulk 00');
    assert.equal(await page.isDisabled('button:has-text("Previous")'), true);
    await page.click('button:has-text("Next")');
    await hashIs(page, /start=21/);
    await page.waitForSelector('.pager:has-text("21–22 of 22")');
    // The pager follows the address at once; the rows follow the answer.
    await page.waitForSelector('table tbody tr:first-child td:first-child:has-text("Bulk 20")');
    assert.deepEqual(await page.locator('table tbody tr td:first-child').allTextContents(), ['Bulk 20', 'Bulk 21']);
    await page.reload();
    await page.waitForSelector('.pager:has-text("21–22 of 22")');
    await page.fill('input[type=search]', 'no such app');
    await page.keyboard.press('Enter');
    await page.waitForSelector('text=No app matches the search.');
    assert.deepEqual(await errors(), [], 'errors in the console');
    await context.close();
  });

  test('built-in apps are marked, show no edit controls, and the API refusal is shown when an edit is forced', async () => {
    const builtins = (await api('GET', `Apps?filter=${encodeURIComponent('isBuiltIn eq true')}`)).json().Resources as Json[];
    assert.ok(builtins.length >= 3, 'the identity domain API, console and account clients');
    const consoleApp = builtins.find((b) => b.name === 'tessera-console')!;
    const before = (await api('GET', `Apps/${consoleApp.id as string}`)).json() as Json;
    const { context, page, errors } = await open(adminUser.userName);
    for (const b of builtins) {
      await page.goto(`${base}/console/#/apps?q=${encodeURIComponent(b.displayName as string)}`);
      await page.waitForSelector(`table tbody tr td a:text-is("${b.displayName as string}")`);
      const row = page.locator('table tbody tr', { has: page.locator(`a:text-is("${b.displayName as string}")`) });
      assert.equal(await row.locator('[data-builtin=yes]').count(), 1, `${b.displayName as string} is marked built-in`);
    }
    await page.goto(`${base}/console/#/apps?q=Orders`);
    await page.waitForSelector('table tbody tr td a:text-is("Orders API")');
    assert.equal(await page.locator('table tbody tr', { has: page.locator('a:text-is("Orders API")') }).locator('[data-builtin]').count(), 0);
    await page.goto(`${base}/console/#/apps?q=${encodeURIComponent(consoleApp.displayName as string)}`);
    await page.click(`a:text-is("${consoleApp.displayName as string}")`);
    await page.waitForSelector('text=This app is built in');
    for (const b of ['Edit', 'Regenerate secret', 'Disable', 'Delete']) assert.equal(await page.locator(`button:has-text("${b}"), a.button:has-text("${b}")`).count(), 0, `no ${b} on a built-in app`);
    await axeCheck(page, 'a built-in app');
    await page.screenshot({ path: `${ARTIFACTS}console-app-builtin.png`, fullPage: true });
    // Forced: the edit route typed in by hand; the server refuses and says why.
    await page.goto(`${base}/console/#/apps/${consoleApp.id as string}/edit`);
    await page.waitForSelector('text=the server refuses changes');
    await page.fill('input[name=accessTokenExpiry]', '600');
    await page.click('button:has-text("Save")');
    await page.waitForSelector('[role=alert]:has-text("built-in apps (the identity domain API, the console and account clients) cannot be modified")');
    assert.match(await page.textContent('[role=alert]') ?? '', /mutability/);
    const after_ = (await api('GET', `Apps/${consoleApp.id as string}`)).json() as Json;
    assert.deepEqual(after_.meta, before.meta, 'unchanged');
    assert.deepEqual(only4xx(await errors(), '400'), [], 'errors in the console');
    await context.close();
  });

  test('an Application Administrator sees Apps and App roles but no Users; a User Administrator cannot open Apps', async () => {
    const appAdmin = await createUser(h, admin, 'app-admin-only');
    await grantRole(h, admin, 'Application Administrator', appAdmin.id);
    const { context, page, errors } = await open(appAdmin.userName);
    assert.deepEqual(await page.locator('nav[aria-label="Console sections"] a').allTextContents(), ['Overview', 'Apps', 'App roles', 'Audit events', 'Trusted issuers']);
    await page.goto(`${base}/console/#/users`);
    await page.waitForSelector('h1:has-text("Not allowed")');
    await page.goto(`${base}/console/#/apps?q=Orders`);
    await page.waitForSelector('a:text-is("Orders API")');
    await page.goto(`${base}/console/#/roles`);
    await page.waitForSelector('h1:has-text("App roles")');
    await page.click('a:text-is("Identity Domain Administrator")');
    await page.waitForSelector('h2:has-text("Grant this role")');
    // Users and groups cannot be read with the apps scope: only apps are offered as grantees.
    assert.deepEqual(await page.locator('select[name=granteeType] option').allTextContents(), ['App']);
    assert.match(await page.textContent('.panel .hint') ?? '', /do not allow reading users or groups/);
    assert.deepEqual(await errors(), [], 'errors in the console');
    await context.close();

    const userAdmin = await createUser(h, admin, 'user-admin-only');
    await grantRole(h, admin, 'User Administrator', userAdmin.id);
    const u = await open(userAdmin.userName);
    assert.deepEqual(await u.page.locator('nav[aria-label="Console sections"] a').allTextContents(), ['Overview', 'Users', 'Groups']);
    for (const path of ['apps', `apps/${ordersApi.id}`, 'roles']) {
      await u.page.goto(`${base}/console/#/${path}`);
      await u.page.waitForSelector('h1:has-text("Not allowed")');
    }
    assert.deepEqual(await u.errors(), [], 'errors in the console');
    await u.context.close();
  });

  test('app roles: create one on a resource server, grant it to a user, a group and an app, revoke a grant', async () => {
    const member = await createUser(h, admin, 'order-clerk', { displayName: 'Olive Clerk' });
    const g = await api('POST', 'Groups', { schemas: [GROUP], displayName: 'Warehouse staff' });
    assert.equal(g.statusCode, 201, g.body);
    const worker = created.service!;
    const { context, page, errors } = await open(adminUser.userName);
    await page.click('nav a:has-text("App roles")');
    await page.waitForSelector('table tbody tr td a');
    await axeCheck(page, 'the app roles list');
    await page.screenshot({ path: `${ARTIFACTS}console-roles.png`, fullPage: true });
    await page.click('button:has-text("New role")');
    await page.selectOption('select[name=app]', { label: 'Orders API' });
    await page.fill('input[name=roleName]', 'Order Readers');
    await page.fill('input[name=roleDescription]', 'Read every order');
    await page.check('input[name=roleScopes][value="orders.read"]');
    await axeCheck(page, 'the new role form');
    await page.click('button:has-text("Create role")');
    await page.waitForSelector('h1:has-text("Order Readers")');
    const roles = (await api('GET', `AppRoles?filter=${encodeURIComponent('displayName eq "Order Readers"')}`)).json().Resources as Json[];
    assert.equal(roles.length, 1);
    const role = roles[0]!;
    assert.deepEqual(role.scopes, [{ value: 'orders.read' }]);
    assert.equal((role.app as Json).value, ordersApi.id);
    assert.equal(role.description, 'Read every order');
    const roleId = role.id as string;
    assert.ok(await page.isVisible('text=Nobody holds this role.'));

    const grantTo = async (type: string, q: string, label: string) => {
      await page.selectOption('select[name=granteeType]', type);
      await page.fill('input[name=granteeQuery]', q);
      await page.click('button:has-text("Find")');
      await page.click(`button[aria-label="Grant Order Readers to ${label}"]`);
      await page.waitForSelector(`text=Order Readers was granted to ${label}.`);
    };
    await grantTo('User', 'clerk', 'order-clerk');
    await grantTo('Group', 'warehouse', 'Warehouse staff');
    await grantTo('App', 'worker', 'Shop worker');
    await page.waitForSelector('table[data-table=members] tbody tr:nth-child(3)');
    const grants = async () => ((await api('GET', `Grants?filter=${encodeURIComponent(`entitlement.attributeValue eq "${roleId}"`)}`)).json().Resources as Json[])
      .map((x) => `${(x.grantee as Json).type as string}:${(x.grantee as Json).value as string}:${x.grantMechanism as string}`).sort();
    assert.deepEqual(await grants(), [
      `App:${worker.id}:ADMINISTRATOR_TO_APP`, `Group:${g.json().id as string}:ADMINISTRATOR_TO_GROUP`, `User:${member.id}:ADMINISTRATOR_TO_USER`,
    ]);
    assert.deepEqual((await page.locator('table[data-table=members] tbody td:first-child').allTextContents()).sort(), ['Olive Clerk', 'Shop worker', 'Warehouse staff']);
    // The same grant twice: the server's 409 is shown.
    await page.selectOption('select[name=granteeType]', 'User');
    await page.fill('input[name=granteeQuery]', 'Olive');
    await page.click('button:has-text("Find")');
    await page.click('button[aria-label="Grant Order Readers to order-clerk"]');
    await page.waitForSelector('[role=alert]:has-text("is already granted to this user")');
    await axeCheck(page, 'the role detail');
    await page.screenshot({ path: `${ARTIFACTS}console-role-detail.png`, fullPage: true });

    await page.click('button[aria-label="Revoke from Olive Clerk"]');
    await page.waitForSelector('dialog[open]');
    await page.click('dialog[open] button:has-text("Revoke")');
    await page.waitForFunction(() => !(globalThis as unknown as { document: { body: { textContent: string } } }).document.body.textContent.includes('Revoke from Olive Clerk')
      && (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('table[data-table=members] tbody tr').length === 2);
    assert.deepEqual(await grants(), [`App:${worker.id}:ADMINISTRATOR_TO_APP`, `Group:${g.json().id as string}:ADMINISTRATOR_TO_GROUP`]);

    // A second role of the same name: the 409 is shown.
    await page.goto(`${base}/console/#/roles`);
    await page.click('button:has-text("New role")');
    await page.selectOption('select[name=app]', { label: 'Orders API' });
    await page.fill('input[name=roleName]', 'order readers');
    await page.click('button:has-text("Create role")');
    await page.waitForSelector('[role=alert]:has-text("displayName is already in use")');
    // Search the roles, and the app's page lists its role with the scopes it carries.
    await page.fill('input[type=search]', 'Order');
    await page.keyboard.press('Enter');
    await hashIs(page, /q=Order/);
    await page.waitForSelector('table tbody tr:only-child td:has-text("Order Readers")');
    await page.goto(`${base}/console/#/apps/${ordersApi.id}`);
    await page.waitForSelector('table[data-table=roles] td:has-text("Order Readers")');
    assert.equal(await page.textContent('table[data-table=roles] tbody tr td:nth-child(2)'), 'orders.read');
    await page.goto(`${base}/console/#/apps/${worker.id}`);
    await page.waitForSelector('h2:has-text("Roles granted to this app")');
    assert.ok(await page.isVisible('ul.plain a:has-text("Order Readers")'));
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/console/#/roles/${roleId}`);
    await page.waitForSelector('h1:has-text("Order Readers")');
    await page.screenshot({ path: `${ARTIFACTS}console-roles-phone.png`, fullPage: true });
    assert.deepEqual(only4xx(await errors(), '409'), [], 'errors in the console');
    await context.close();
  });
});
