import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { systemClock } from '../../src/core/clock.js';
import { ARTIFACTS, axeCheck, browserSkip, freePort, grantRole, launchBrowser, login, watch } from '../browser_world.js';
import { adminToken, clientToken, decode, harness, scim, type Harness } from '../helpers.js';
import { createUser } from '../signin.js';
import { ensureWebBuild } from '../web_build.js';

/**
 * The console pages for domain-wide things, in headless Chromium: the sign-in chart on the overview,
 * audit events, trusted issuers, signing keys, domain settings and identity domains. Every change
 * made by clicking is checked through the admin API; every page passes axe-core and leaves no console
 * error or CSP violation (a 4xx the test provokes is logged by Chromium as a failed fetch: only those
 * are let through).
 */
const skip = browserSkip('the console domain pages browser test');
const TI_SCHEMA = 'urn:ietf:params:scim:schemas:tessera:2.0:TrustedIssuer';
const SUCCEEDED = 'user.login.succeeded';
const FAILED = 'user.login.failed';
const enc = encodeURIComponent;

describe('console pages for domain-wide things (headless Chromium)', { skip }, () => {
  let h: Harness;
  let base: string;
  let browser: Browser;
  let admin: string;
  let consoleAdmin: { id: string; userName: string };
  /** A signed-in console of the default domain as an Identity Domain Administrator, shared by the tests. */
  let ctx: BrowserContext;
  let page: Page;
  let errors: () => Promise<string[]>;

  const total = async (filter: string, prefix = '', token = admin) => {
    const r = await scim(h, 'GET', `${prefix}/admin/v1/AuditEvents?count=0&filter=${enc(filter)}`, token);
    assert.equal(r.statusCode, 200, r.body);
    return r.json().totalResults as number;
  };
  const go = async (p: Page, hash: string, heading: string) => {
    await p.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, hash);
    await p.waitForSelector(`main h1:text-is("${heading}")`);
  };
  /** axe at desktop width, a screenshot, then one at phone width (390 px) with nothing wider than the screen. */
  const shots = async (p: Page, name: string) => {
    await axeCheck(p, `the ${name} page`);
    await p.screenshot({ path: `${ARTIFACTS}console-${name}.png`, fullPage: true });
    const was = p.viewportSize();
    await p.setViewportSize({ width: 390, height: 844 });
    const overflow = await p.evaluate(() => {
      const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document;
      return d.documentElement.scrollWidth;
    });
    assert.ok(overflow <= 390, `the ${name} page is ${overflow} px wide at 390 px`);
    await axeCheck(p, `the ${name} page at phone width`);
    await p.screenshot({ path: `${ARTIFACTS}console-${name}-phone.png`, fullPage: true });
    if (was) await p.setViewportSize(was);
  };
  /** Only the failed fetches of the 4xx answers the test provoked on purpose. */
  const unexpected = async (e: () => Promise<string[]>, allowed: number[] = []) =>
    (await e()).filter((x) => !allowed.some((s) => x.includes(`status of ${s}`)));

  /** A console sign-in through the login page: a wrong password `failures` times, then the right one. */
  const signInWithFailures = async (url: string, userName: string, failures: number) => {
    const c = await browser.newContext();
    const p = await c.newPage();
    await p.goto(url);
    for (let i = 0; i < failures; i++) {
      await login(p, userName, `wrong password number ${i}`);
      await p.waitForSelector('input[name=password]');
    }
    await login(p, userName);
    await p.waitForSelector('main h1');
    await c.close();
  };

  before(async () => {
    ensureWebBuild();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    h = await harness({ config: { publicUrl: base }, clock: systemClock });
    await h.t.app.listen({ port, host: '127.0.0.1' });
    admin = await adminToken(h);
    browser = await launchBrowser();
    consoleAdmin = await createUser(h, admin, 'domain-admin');
    await grantRole(h, admin, 'Identity Domain Administrator', consoleAdmin.id);
    ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await ctx.newPage();
    errors = await watch(ctx, page);
  });
  after(async () => {
    await ctx?.close();
    await browser?.close();
    await h?.close();
  });

  test('overview: the chart counts the sign-ins and failed sign-ins of the last 24 h', async () => {
    // A domain of its own, so that the counts are exactly what this test did.
    const d = await scim(h, 'POST', '/admin/v1/IdentityDomains', admin, { name: 'metrics' });
    assert.equal(d.statusCode, 201, d.body);
    const { client_id, client_secret } = d.json().adminClient as { client_id: string; client_secret: string };
    const t = await clientToken(h, client_id, client_secret, 'urn:opc:idm:__myscopes__', '/domains/metrics');
    const m = t.json().access_token as string;
    const prefix = '/domains/metrics';
    const boss = await createUser(h, m, 'metrics-admin', {}, prefix);
    await grantRole(h, m, 'Identity Domain Administrator', boss.id, prefix);
    const u1 = await createUser(h, m, 'metrics-one', {}, prefix);
    const u2 = await createUser(h, m, 'metrics-two', {}, prefix);
    const url = `${base}${prefix}/console/`;
    await signInWithFailures(url, u1.userName, 2);
    await signInWithFailures(url, u2.userName, 1);

    const c = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const p = await c.newPage();
    const errs = await watch(c, p);
    await p.goto(url);
    await login(p, boss.userName);
    await p.waitForSelector('[data-chart-summary]');
    const since = new Date(Date.now() - 24 * 3600_000).toISOString();
    const ok = await total(`eventId eq "${SUCCEEDED}" and timestamp ge "${since}"`, prefix, m);
    const bad = await total(`eventId eq "${FAILED}" and timestamp ge "${since}"`, prefix, m);
    assert.deepEqual([ok, bad], [3, 3], 'three sign-ins (two users and the administrator) and three failures were done');
    assert.equal(await p.textContent('[data-total=succeeded]'), '3');
    assert.equal(await p.textContent('[data-total=failed]'), '3');
    assert.equal(await p.textContent('[data-chart-summary]'), 'Sign-ins: 3 · Failed sign-ins: 3');
    // All of them in the current hour: the last row of the hourly table.
    const last = p.locator('.chart-table tbody tr').last();
    assert.equal(await p.locator('.chart-table tbody tr').count(), 24);
    assert.deepEqual(await last.locator('td').allTextContents(), ['3', '3']);
    assert.equal(await p.locator('.chart-svg rect').count(), 2, 'one bar per series, in the current hour');
    assert.match(await p.getAttribute('.chart-svg', 'aria-label') ?? '', /Sign-ins: 3, Failed sign-ins: 3/);
    await p.click('summary:has-text("Counts per hour")');
    await shots(p, 'overview-chart');
    // The domains page is the default domain's only.
    const nav = await p.locator('nav[aria-label="Console sections"] a').allTextContents();
    assert.ok(nav.includes('Audit events') && nav.includes('Settings'), JSON.stringify(nav));
    assert.equal(nav.includes('Identity domains'), false, JSON.stringify(nav));
    await go(p, '#/domains', 'Not allowed');
    assert.deepEqual(await unexpected(errs), []);
    await c.close();
  });

  test('audit events: filters by event id, actor, outcome and time narrow the list; an event shows its detail', async () => {
    const victim = await createUser(h, admin, 'audit-victim');
    // More than a page of events (token.issued).
    for (let i = 0; i < 30; i++) await adminToken(h);
    await signInWithFailures(`${base}/console/`, victim.userName, 2);
    await page.goto(`${base}/console/`);
    await login(page, consoleAdmin.userName);
    await page.waitForSelector('main h1:text-is("Overview of default")');
    await go(page, '#/audit', 'Audit events');
    await page.waitForSelector('table tbody tr td a');
    const all = await total('timestamp ge "2000-01-01T00:00:00Z"');
    assert.match(await page.textContent('.pager') ?? '', new RegExp(`1–${Math.min(25, all)} of ${all}Next`));
    assert.ok(all > 4);

    await page.getByLabel('Event id').fill(FAILED);
    await page.getByLabel('Outcome').selectOption('failure');
    await page.click('button:has-text("Apply filter")');
    const failed = await total(`eventId eq "${FAILED}" and outcome eq "failure"`);
    assert.ok(failed >= 2 && failed < all);
    await page.waitForSelector(`.pager:has-text("of ${failed}")`);
    const events = await page.locator('table tbody tr td:nth-child(2)').allTextContents();
    assert.ok(events.length === failed && events.every((e) => e === FAILED), JSON.stringify(events));
    assert.match(await page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash), /eventId=user\.login\.failed&.*outcome=failure/);

    // The actor: only the victim's two failures.
    await page.getByLabel('Actor id').fill(victim.id);
    await page.click('button:has-text("Apply filter")');
    await page.waitForSelector('.pager:has-text("1–2 of 2")');
    assert.equal(await total(`eventId eq "${FAILED}" and actorId eq "${victim.id}"`), 2);
    await axeCheck(page, 'the filtered audit list');

    // The detail of one.
    await page.click('table tbody tr:first-child td:nth-child(2) a');
    await page.waitForSelector('h2:has-text("Event detail")');
    assert.equal(await page.textContent('[data-prop="Event"]'), FAILED);
    assert.equal(await page.textContent('[data-prop="Actor id"]'), victim.id);
    assert.equal(await page.textContent('[data-prop="Outcome"]'), 'failure');
    await page.waitForSelector('pre.json');
    await shots(page, 'audit-detail');
    await page.click('a:has-text("Back to the list")');
    await page.waitForSelector('.pager:has-text("1–2 of 2")');

    // A time range in the future holds nothing; in the past hour, the same two.
    await page.getByLabel('From', { exact: true }).fill('2099-01-01T00:00');
    await page.click('button:has-text("Apply filter")');
    await page.waitForSelector('td:has-text("No event matches the filter.")');
    await page.getByLabel('From', { exact: true }).fill('2000-01-01T00:00');
    await page.getByLabel('To', { exact: true }).fill('2099-01-01T00:00');
    await page.click('button:has-text("Apply filter")');
    await page.waitForSelector('.pager:has-text("1–2 of 2")');

    // Paging: 25 a page, newest first.
    await page.click('button:has-text("Clear")');
    await page.waitForSelector(`.pager:has-text("of ")`);
    const now = await total('timestamp ge "2000-01-01T00:00:00Z"');
    if (now > 25) {
      await page.click('.pager button:has-text("Next")');
      await page.waitForSelector(`.pager:has-text("26–${Math.min(50, now)} of")`);
      assert.match(await page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash), /start=26/);
    }
    await shots(page, 'audit');
    assert.deepEqual(await unexpected(errors), []);
  });

  test('signing keys: rotating shows the message and warning, the active kid changes and the new one is in the JWKS and signs', async () => {
    const before = decode(await adminToken(h)).header as { kid: string; alg: string };
    await go(page, '#/keys', 'Signing keys');
    await page.waitForSelector(`tr[data-kid="${before.kid}"][data-status=active]`);
    await shots(page, 'keys');
    // Keyboard: the button opens the confirmation, Escape cancels it and nothing rotates.
    await page.focus(`button:has-text("Rotate ${before.alg}")`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog[open]');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' });
    assert.equal((await scim(h, 'GET', '/admin/v1/SigningKeys', admin)).json().Resources
      .find((k: { kid: string }) => k.kid === before.kid).status, 'active');
    await page.click(`button:has-text("Rotate ${before.alg}")`);
    await page.waitForSelector('dialog[open]');
    await page.click('dialog button:has-text("Rotate")');
    await page.waitForSelector('[data-rotation=rotated]');
    const keys = (await scim(h, 'GET', '/admin/v1/SigningKeys', admin)).json().Resources as { kid: string; alg: string; status: string }[];
    const active = keys.find((k) => k.alg === before.alg && k.status === 'active')!;
    assert.notEqual(active.kid, before.kid);
    assert.equal(keys.find((k) => k.kid === before.kid)?.status, 'retired');
    assert.match(await page.textContent('[data-rotation] [role=status]') ?? '', new RegExp(`key ${active.kid} now signs`));
    // The next key was created with the domain moments ago: the API's warning about cached JWKS is shown.
    assert.match(await page.textContent('[data-rotation] .banner.warn') ?? '', /was published only \d+ s ago/);
    await page.waitForSelector(`tr[data-kid="${active.kid}"][data-status=active]`);
    const jwks = await h.inject({ method: 'GET', url: '/admin/v1/SigningCert/jwk' });
    const kids = (jwks.json().keys as { kid: string }[]).map((k) => k.kid);
    assert.ok(kids.includes(active.kid) && kids.includes(before.kid), JSON.stringify(kids));
    assert.equal(decode(await adminToken(h)).header.kid, active.kid);
    // An algorithm the domain has no key of: a first one is published (it signs after the publish delay).
    await page.getByLabel('Another algorithm').selectOption('ES256');
    await page.click('button:has-text("Publish a key")');
    await page.waitForSelector('[data-rotation=published]');
    const es = ((await scim(h, 'GET', '/admin/v1/SigningKeys', admin)).json().Resources as { kid: string; alg: string; status: string }[]).filter((k) => k.alg === 'ES256');
    assert.deepEqual(es.map((k) => k.status), ['next']);
    assert.match(await page.textContent('[data-rotation] [role=status]') ?? '', new RegExp(`the domain had no ES256 key; key ${es[0]!.kid} is published in the JWKS now`));
    await page.waitForSelector(`tr[data-kid="${es[0]!.kid}"][data-status=next]`);
    assert.ok(((await h.inject({ method: 'GET', url: '/admin/v1/SigningCert/jwk' })).json().keys as { kid: string }[]).some((k) => k.kid === es[0]!.kid));
    await page.waitForSelector('button:has-text("Rotate ES256")');
    await shots(page, 'keys-rotated');
    assert.deepEqual(await unexpected(errors), []);
  });

  test('settings: a change is visible through the API; an invalid value shows the 400 detail', async () => {
    await go(page, '#/settings', 'Domain settings');
    await page.waitForSelector('input[name=minLength]');
    const was = (await scim(h, 'GET', '/admin/v1/Settings', admin)).json();
    assert.equal(await page.inputValue('input[name=minLength]'), String(was.passwordPolicy.minLength));
    await shots(page, 'settings');
    await page.fill('input[name=minLength]', '14');
    await page.fill('input[name=historyCount]', '3');
    await page.getByLabel('MFA policy').selectOption('never');
    await page.getByLabel('Publish the JWKS without authentication').uncheck();
    await page.fill('input[name=accessTokenTtl]', '900');
    await page.click('button:has-text("Save settings")');
    await page.waitForSelector('text=The settings were saved.');
    const now = (await scim(h, 'GET', '/admin/v1/Settings', admin)).json();
    assert.deepEqual(now, {
      ...was, jwksPublic: false, accessTokenTtl: 900, mfaPolicy: 'never', passwordPolicy: { ...was.passwordPolicy, minLength: 14, historyCount: 3 },
    });
    assert.equal((await h.inject({ method: 'GET', url: '/admin/v1/SigningCert/jwk' })).statusCode, 401, 'the JWKS needs a token now');

    await page.fill('input[name=minLength]', '5');
    await page.click('button:has-text("Save settings")');
    await page.waitForSelector('[role=alert]:has-text("passwordPolicy.minLength must be an integer between 8 and 256")');
    assert.match(await page.textContent('[role=alert]') ?? '', /\(invalidValue\)/);
    await page.fill('input[name=minLength]', '14');
    await page.fill('input[name=accessTokenTtl]', '1');
    await page.click('button:has-text("Save settings")');
    await page.waitForSelector('[role=alert]:has-text("accessTokenTtl must be an integer between")');
    await shots(page, 'settings-invalid');
    assert.deepEqual((await scim(h, 'GET', '/admin/v1/Settings', admin)).json(), now, 'nothing changed');

    // Put the JWKS back for the other tests.
    await page.fill('input[name=accessTokenTtl]', '900');
    await page.getByLabel('Publish the JWKS without authentication').check();
    await page.click('button:has-text("Save settings")');
    await page.waitForSelector('text=The settings were saved.');
    assert.equal((await scim(h, 'GET', '/admin/v1/Settings', admin)).json().jwksPublic, true);
    assert.deepEqual(await unexpected(errors, [400]), []);
  });

  test('trusted issuers: create, edit and delete; the API refusal is shown', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'idp-1', use: 'sig', alg: 'RS256' };
    await go(page, '#/issuers', 'Trusted issuers');
    await page.waitForSelector('td:has-text("No trusted issuers yet.")');
    await page.click('a:has-text("New trusted issuer")');
    await page.waitForSelector('h2:has-text("New trusted issuer")');
    await page.getByLabel('Issuer (required)').fill('https://idp.partner.example');
    await page.getByLabel('Display name').fill('Partner IdP');
    // No key source: the API's 400.
    await page.click('button:has-text("Create issuer")');
    await page.waitForSelector('[role=alert]:has-text("a jwt issuer needs a key source")');
    // JSON that does not parse: said before anything is sent.
    await page.getByLabel('JWK Set (JSON)').fill('{"keys": [');
    await page.click('button:has-text("Create issuer")');
    await page.waitForSelector('[role=alert]:has-text("The JWK Set is not valid JSON.")');
    await page.getByLabel('JWK Set (JSON)').fill(JSON.stringify({ keys: [jwk] }));
    await page.getByLabel("Subject names the user's").selectOption('email');
    await page.getByLabel('Allowed scopes').fill('openid\nemail');
    await shots(page, 'issuer-new');
    await page.click('button:has-text("Create issuer")');
    await page.waitForSelector('text=Trusted issuer https://idp.partner.example was created.');
    await page.waitForSelector('td a:has-text("https://idp.partner.example")');
    const list = (await scim(h, 'GET', '/admin/v1/TrustedIssuers', admin)).json().Resources as Record<string, unknown>[];
    assert.equal(list.length, 1);
    const ti = list[0]!;
    assert.deepEqual([ti.issuer, ti.protocol, ti.active, ti.displayName, ti.subjectAttribute, ti.allowedScopes, ti.maxAssertionLifetime],
      ['https://idp.partner.example', 'jwt', true, 'Partner IdP', 'email', ['openid', 'email'], 300]);
    assert.equal((ti.jwks as { keys: { kid: string }[] }).keys[0]!.kid, 'idp-1');
    assert.equal(ti.schemas && (ti.schemas as string[])[0], TI_SCHEMA);
    await shots(page, 'issuers');

    // Edit: disable it, change its lifetime; an out-of-range lifetime is the API's 400 first.
    await page.click('td a:has-text("https://idp.partner.example")');
    await page.waitForSelector('h2:has-text("Edit trusted issuer")');
    await page.waitForSelector('input[name=issuer]');
    assert.equal(await page.inputValue('input[name=issuer]'), 'https://idp.partner.example');
    assert.ok(await page.getByLabel('Protocol').isDisabled());
    await page.getByLabel('Active (its assertions are accepted)').uncheck();
    await page.getByLabel('Longest assertion lifetime (seconds)').fill('5');
    await page.click('button:has-text("Save issuer")');
    await page.waitForSelector('[role=alert]:has-text("maxAssertionLifetime")');
    await page.getByLabel('Longest assertion lifetime (seconds)').fill('120');
    await page.click('button:has-text("Save issuer")');
    await page.waitForSelector('text=Trusted issuer https://idp.partner.example was saved.');
    const edited = (await scim(h, 'GET', `/admin/v1/TrustedIssuers/${ti.id as string}`, admin)).json();
    assert.deepEqual([edited.active, edited.maxAssertionLifetime, edited.displayName, edited.allowedScopes], [false, 120, 'Partner IdP', ['openid', 'email']]);
    await page.waitForSelector('td:has-text("Disabled")');

    // Delete, after the confirmation; Cancel first keeps it.
    await page.click('button[aria-label="Delete https://idp.partner.example"]');
    await page.click('dialog[open] button:has-text("Cancel")');
    assert.equal((await scim(h, 'GET', `/admin/v1/TrustedIssuers/${ti.id as string}`, admin)).statusCode, 200);
    await page.click('button[aria-label="Delete https://idp.partner.example"]');
    await page.click('dialog[open] button:has-text("Delete")');
    await page.waitForSelector('text=Trusted issuer https://idp.partner.example was deleted.');
    await page.waitForSelector('td:has-text("No trusted issuers yet.")');
    assert.equal((await scim(h, 'GET', `/admin/v1/TrustedIssuers/${ti.id as string}`, admin)).statusCode, 404);
    assert.deepEqual(await unexpected(errors, [400]), []);
  });

  test('identity domains: creating one shows its administrator secret once, which works; its console loads', async () => {
    await go(page, '#/domains', 'Identity domains');
    await page.waitForSelector('tr[data-domain=default]');
    assert.equal(await page.getAttribute('tr[data-domain=default] a', 'href'), `${base}/console/`);
    assert.equal(await page.textContent('tr[data-domain=default] a'), 'Open console of default');
    await page.getByLabel('Name (required)').fill('Bad Name');
    await page.click('button:has-text("Create domain")');
    await page.waitForSelector('.field .error:has-text("lower-case letters")');
    // Taken: the API's 409.
    await page.getByLabel('Name (required)').fill('default');
    await page.click('button:has-text("Create domain")');
    await page.waitForSelector('[role=alert]:has-text("domain default already exists")');
    await page.getByLabel('Name (required)').fill('fresh');
    await page.getByLabel('Display name').fill('Fresh Start');
    await page.click('button:has-text("Create domain")');
    await page.waitForSelector('[data-created=fresh] code[aria-label="Administrator client secret"]');
    const secret = await page.textContent('[data-created=fresh] code[aria-label="Administrator client secret"]');
    const clientId = await page.textContent('[data-created=fresh] .banner.ok code');
    await page.waitForSelector('tr[data-domain=fresh]');
    await shots(page, 'domains');
    const listed = (await scim(h, 'GET', '/admin/v1/IdentityDomains', admin)).json().Resources as { name: string; displayName: string }[];
    assert.equal(listed.find((d) => d.name === 'fresh')?.displayName, 'Fresh Start');
    const t = await clientToken(h, clientId!, secret!, 'urn:opc:idm:__myscopes__', '/domains/fresh');
    assert.equal(t.statusCode, 200, t.body);
    const fresh = t.json().access_token as string;
    // The secret is shown once: a reload of the page no longer has it.
    await page.reload();
    await page.waitForSelector('tr[data-domain=fresh]');
    assert.equal(await page.locator('code[aria-label="Administrator client secret"]').count(), 0);

    // Its console: a user of the new domain made administrator with the new client signs in there.
    const u = await createUser(h, fresh, 'fresh-admin', {}, '/domains/fresh');
    await grantRole(h, fresh, 'Identity Domain Administrator', u.id, '/domains/fresh');
    assert.equal(await page.getAttribute('tr[data-domain=fresh] a', 'href'), `${base}/domains/fresh/console/`);
    await page.click('tr[data-domain=fresh] a');
    await login(page, u.userName);
    await page.waitForSelector('main h1:text-is("Overview of fresh")');
    const nav = await page.locator('nav[aria-label="Console sections"] a').allTextContents();
    assert.equal(nav.includes('Identity domains'), false, JSON.stringify(nav));
    await page.waitForSelector('[data-chart-summary]');
    assert.deepEqual(await unexpected(errors, [400, 409]), []);
  });

  test('an Audit Administrator sees only Overview and Audit events; other pages say not allowed', async () => {
    const auditor = await createUser(h, admin, 'auditor');
    await grantRole(h, admin, 'Audit Administrator', auditor.id);
    const c = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    const p = await c.newPage();
    const errs = await watch(c, p);
    await p.goto(`${base}/console/`);
    await login(p, auditor.userName);
    await p.waitForSelector('[data-chart-summary]');
    assert.deepEqual(await p.locator('nav[aria-label="Console sections"] a').allTextContents(), ['Overview', 'Audit events']);
    assert.equal(await p.locator('[data-count]').count(), 0, 'no counters of users, groups or apps');
    await shots(p, 'auditor-overview');
    for (const hash of ['#/keys', '#/settings', '#/issuers', '#/domains']) {
      await go(p, hash, 'Not allowed');
      assert.match(await p.textContent('[role=alert]') ?? '', /Your roles do not allow this page/);
    }
    await go(p, '#/audit', 'Audit events');
    await p.waitForSelector('table tbody tr td a');
    await shots(p, 'auditor-audit');
    assert.deepEqual(await unexpected(errs), []);
    await c.close();
  });

  test('an Application Administrator manages trusted issuers but gets the 403 for one allowing a scope it lacks', async () => {
    const appAdmin = await createUser(h, admin, 'app-admin');
    await grantRole(h, admin, 'Application Administrator', appAdmin.id);
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'ec-1', alg: 'ES256' };
    const c = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    const p = await c.newPage();
    const errs = await watch(c, p);
    await p.goto(`${base}/console/`);
    await login(p, appAdmin.userName);
    await p.waitForSelector('[data-chart-summary]');
    const nav = await p.locator('nav[aria-label="Console sections"] a').allTextContents();
    assert.ok(nav.includes('Trusted issuers') && nav.includes('Audit events'), JSON.stringify(nav));
    assert.ok(!nav.includes('Signing keys') && !nav.includes('Settings') && !nav.includes('Identity domains'), JSON.stringify(nav));
    await go(p, '#/issuers?new=1', 'Trusted issuers');
    await p.getByLabel('Issuer (required)').fill('https://admin-minting.example');
    await p.getByLabel('JWK Set (JSON)').fill(JSON.stringify({ keys: [jwk] }));
    await p.getByLabel('Allowed scopes').fill('urn:opc:idm:t.settings');
    await p.click('button:has-text("Create issuer")');
    await p.waitForSelector('[role=alert]:has-text("Not allowed: Your roles do not allow this.")');
    assert.match(await p.textContent('[role=alert]') ?? '', /only a caller holding urn:opc:idm:t\.settings may trust an issuer with it/);
    assert.equal((await scim(h, 'GET', `/admin/v1/TrustedIssuers?filter=${enc('issuer eq "https://admin-minting.example"')}`, admin)).json().totalResults, 0);
    await shots(p, 'issuer-forbidden');
    // Without the admin scope it is the Application Administrator's to create.
    await p.getByLabel('Allowed scopes').fill('openid');
    await p.click('button:has-text("Create issuer")');
    await p.waitForSelector('text=Trusted issuer https://admin-minting.example was created.');
    assert.equal((await scim(h, 'GET', `/admin/v1/TrustedIssuers?filter=${enc('issuer eq "https://admin-minting.example"')}`, admin)).json().totalResults, 1);
    assert.deepEqual(await unexpected(errs, [403]), []);
    await c.close();
  });
});
