import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { systemClock } from '../../src/core/clock.js';
import { ARTIFACTS, axeCheck, browserSkip, freePort, grantRole, launchBrowser, login, watch } from '../browser_world.js';
import { adminToken, harness, scim, type Harness } from '../helpers.js';
import { PASSWORD, createUser } from '../signin.js';
import { ensureWebBuild } from '../web_build.js';

/**
 * The console's Users and Groups pages in headless Chromium (issue 11, phase 2): real clicks and
 * typing, every change checked through the admin API with an administrator's token, negative cases
 * (409, password policy, 403 of the escalation guard, controls hidden from roles that lack the scope),
 * axe-core on each page, no console error or CSP violation beyond the expected failed requests.
 */
const STRONG = 'a sturdy passphrase 58 harbour';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const skip = browserSkip('the console people browser test');

/** Chromium logs each failed fetch; the expected refusals (`statuses`) are not errors of the page. */
const unexpected = (errors: string[], statuses: number[]) =>
  errors.filter((e) => !statuses.some((s) => e.includes(`status of ${s}`)));

describe('console: users and groups pages (headless Chromium)', { skip }, () => {
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

  const user = async (id: string) => scim(h, 'GET', `/admin/v1/Users/${id}`, admin);
  const group = async (id: string) => scim(h, 'GET', `/admin/v1/Groups/${id}`, admin);
  const findUser = async (userName: string) =>
    (await scim(h, 'GET', `/admin/v1/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`, admin)).json().Resources?.[0] as { id: string } | undefined;
  const verify = async (id: string, pw: string) => h.t.services.users.verifyPassword((await h.t.services.repos.users.get(domainId, id))!, pw);
  const grantsOf = async (id: string) =>
    (await scim(h, 'GET', `/admin/v1/Grants?filter=${encodeURIComponent(`grantee.value eq "${id}"`)}`, admin)).json().Resources as { id: string; entitlement: { attributeValue: string } }[];
  const sessionsOf = async (id: string) => (await scim(h, 'GET', `/admin/v1/Sessions?userId=${id}`, admin)).json().Resources as { id: string }[];

  async function signedIn(userName: string, width = 1280, hash = '#/users'): Promise<{ context: BrowserContext; page: Page; errors: () => Promise<string[]> }> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    const page = await context.newPage();
    const errors = await watch(context, page);
    await page.goto(`${base}/console/${hash}`);
    await login(page, userName);
    await page.waitForSelector('nav[aria-label="Console sections"]');
    return { context, page, errors };
  }
  /** Sign the user in to the account page in a context of its own: one SSO session. */
  async function sessionFor(userName: string, password = PASSWORD): Promise<void> {
    const c = await browser.newContext();
    const p = await c.newPage();
    await p.goto(`${base}/myaccount/`);
    await login(p, userName, password);
    await p.waitForSelector('[data-field=userName]');
    await c.close();
  }
  const panel = (page: Page, title: string) => page.locator(`.panel:has(h2:text-is("${title}"))`);
  const confirm = async (page: Page, label: string) => {
    await page.waitForSelector('dialog[open]');
    await page.click(`dialog[open] button:text-is("${label}")`);
    await page.waitForSelector('dialog[open]', { state: 'detached' });
  };
  const goto = async (page: Page, hash: string, heading: string) => {
    await page.evaluate((hsh) => { (globalThis as unknown as { location: { hash: string } }).location.hash = hsh; }, hash);
    await page.waitForSelector(`h1:text-is("${heading}")`);
  };

  test('an Identity Domain Administrator creates a user (409 and password policy shown) and manages them on the detail page', async () => {
    const boss = await createUser(h, admin, 'pp-boss');
    await grantRole(h, admin, 'Identity Domain Administrator', boss.id);
    await createUser(h, admin, 'pp-taken');
    const team = (await scim(h, 'POST', '/admin/v1/Groups', admin, { schemas: [GROUP], displayName: 'pp-team' })).json() as { id: string };
    const { context, page, errors } = await signedIn(boss.userName);
    await page.waitForSelector('table tbody tr td a');

    // Create: a taken userName is the server's 409 message; a weak password names the policy rule.
    await page.click('button:text-is("New user")');
    await page.fill('input[name=userName]', 'pp-taken');
    await page.fill('input[name=givenName]', 'Grace');
    await page.fill('input[name=familyName]', 'Hopper');
    await page.fill('input[name=email]', 'grace@example.com');
    await page.click('button:text-is("Create user")');
    await page.waitForSelector('[role=alert]:has-text("userName is already in use")');
    await page.fill('input[name=userName]', 'pp-grace');
    await page.fill('input[name=password]', 'password');
    await page.click('button:text-is("Create user")');
    await page.waitForSelector('[role=alert]:has-text("password does not meet the password policy (common)")');
    assert.equal(await findUser('pp-grace'), undefined, 'nothing was created');
    await axeCheck(page, 'the new user form with errors');
    await page.screenshot({ path: `${ARTIFACTS}console-users-create.png`, fullPage: true });
    await page.fill('input[name=password]', STRONG);
    await page.click('button:text-is("Create user")');
    await page.waitForSelector('h1:text-is("pp-grace")');
    const created = (await findUser('pp-grace'))!;
    assert.ok(page.url().endsWith(`#/users/${created.id}`), page.url());
    const c0 = (await user(created.id)).json();
    assert.deepEqual([c0.name, c0.displayName, c0.emails[0].value, c0.active], [{ givenName: 'Grace', familyName: 'Hopper' }, 'Grace Hopper', 'grace@example.com', true]);
    assert.ok(await verify(created.id, STRONG));

    // The detail page of a user with sessions and a consent.
    const target = await createUser(h, admin, 'pp-target');
    await sessionFor(target.userName);
    await sessionFor(target.userName);
    const now = Date.now();
    await h.t.services.repos.consents.upsert({ domainId, userId: target.id, clientId: 'pp-partner-app', scopes: ['openid', 'email'], createdAt: now, updatedAt: now });
    await goto(page, `#/users/${target.id}`, 'pp-target');
    await page.waitForSelector('[data-session]');
    await page.waitForSelector('[data-consent=pp-partner-app]');
    assert.equal(await page.locator('[data-session]').count(), 2);
    await axeCheck(page, 'the user detail page');
    await page.screenshot({ path: `${ARTIFACTS}console-user-detail.png`, fullPage: true });

    // Consent: revoke (before the deactivation below, which ends consents too).
    await page.click('[data-consent=pp-partner-app] button:text-is("Revoke")');
    await page.waitForSelector('text=The consent was revoked; the app asks again.');
    assert.deepEqual(await h.t.services.repos.consents.listForUser(domainId, target.id), []);

    // Sessions: one, then all (before the deactivation and password reset below, which end them too).
    assert.equal((await sessionsOf(target.id)).length, 2);
    await page.locator('[data-session] button:text-is("Sign out")').first().click();
    await page.waitForSelector('text=The session was signed out.');
    assert.equal((await sessionsOf(target.id)).length, 1);
    await sessionFor(target.userName);
    await page.reload();
    await page.waitForSelector('[data-session]');
    await page.click('button:text-is("Sign out all sessions")');
    await confirm(page, 'Sign out all');
    await page.waitForSelector('text=All sessions were signed out.');
    assert.equal((await sessionsOf(target.id)).length, 0);
    await page.waitForSelector('text=No active sessions.');

    // Profile.
    await page.fill('input[name=displayName]', 'Target Person');
    await page.fill('input[name=email]', 'target@example.org');
    await page.click('button:text-is("Save profile")');
    await page.waitForSelector('text=The profile was saved.');
    const t = (await user(target.id)).json();
    assert.equal(t.displayName, 'Target Person');
    assert.deepEqual(t.emails, [{ value: 'target@example.org', primary: true, type: 'work' }]);

    // Deactivate and activate.
    await page.click('button:text-is("Deactivate")');
    await page.waitForSelector('[data-status]:has-text("Disabled")');
    assert.equal((await user(target.id)).json().active, false);
    await page.click('button:text-is("Activate")');
    await page.waitForSelector('[data-status]:text-is("Active")');
    assert.equal((await user(target.id)).json().active, true);

    // Unlock and reset MFA (with a confirmation).
    await page.click('button:text-is("Unlock")');
    await page.waitForSelector('text=The account was unlocked.');
    await page.click('button:text-is("Reset MFA")');
    await confirm(page, 'Reset MFA');
    await page.waitForSelector('text=The second factors were removed.');

    // Password: the policy's 400 is shown; a good one is set.
    await page.fill('input[name=newPassword]', 'short1');
    await page.click('button:text-is("Set password")');
    await page.waitForSelector('[role=alert]:has-text("password policy (minLength)")');
    assert.ok(await verify(target.id, PASSWORD));
    await page.fill('input[name=newPassword]', STRONG);
    await page.click('button:text-is("Set password")');
    await page.waitForSelector("text=The password was set; the user's sessions ended.");
    assert.ok(await verify(target.id, STRONG));

    // Groups: find and add, then remove.
    const groups = panel(page, 'Groups');
    await groups.locator('input[type=search]').fill('pp-te');
    await groups.locator('button:text-is("Find")').click();
    await groups.locator('button[aria-label="Add pp-team"]').click();
    await page.waitForSelector('text=Added to pp-team.');
    assert.deepEqual((await group(team.id)).json().members.map((m: { value: string }) => m.value), [target.id]);
    await groups.locator('button:text-is("Remove")').click();
    await confirm(page, 'Remove');
    await page.waitForSelector('text=Removed from the group.');
    assert.equal((await group(team.id)).json().members, undefined);

    // Roles: grant, then revoke.
    const roles = panel(page, 'Roles');
    await roles.locator('select[name=role]').selectOption({ label: 'Audit Administrator (Identity Domain API)' });
    await roles.locator('button:text-is("Grant role")').click();
    await page.waitForSelector('text=Audit Administrator was granted.');
    assert.equal((await grantsOf(target.id)).length, 1);
    await page.screenshot({ path: `${ARTIFACTS}console-user-detail-done.png`, fullPage: true });
    await roles.locator('button:text-is("Revoke")').click();
    await confirm(page, 'Revoke');
    await page.waitForSelector('text=The role was revoked.');
    assert.deepEqual(await grantsOf(target.id), []);

    // Phone width.
    await page.setViewportSize({ width: 390, height: 844 });
    await axeCheck(page, 'the user detail page at phone width');
    await page.screenshot({ path: `${ARTIFACTS}console-user-detail-phone.png`, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });

    // Delete (with a confirmation; Cancel first keeps the user).
    await page.click('button:text-is("Delete user")');
    await page.waitForSelector('dialog[open]');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' });
    assert.equal((await user(target.id)).statusCode, 200);
    await page.click('button:text-is("Delete user")');
    await confirm(page, 'Delete user');
    await page.waitForSelector('h1:text-is("Users")');
    assert.equal((await user(target.id)).statusCode, 404);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${ARTIFACTS}console-users-phone.png`, fullPage: true });

    assert.deepEqual(unexpected(await errors(), [400, 409]), [], 'errors in the console');
    await context.close();
  });

  test('groups: search and paging, create, rename and describe, members (users and groups), roles, delete', async () => {
    const boss = await createUser(h, admin, 'pg-boss');
    await grantRole(h, admin, 'Identity Domain Administrator', boss.id);
    for (let i = 0; i < 22; i++) {
      const r = await scim(h, 'POST', '/admin/v1/Groups', admin, { schemas: [GROUP], displayName: `pg-bulk-${String(i).padStart(2, '0')}` });
      assert.equal(r.statusCode, 201, r.body);
    }
    const member = await createUser(h, admin, 'pg-member');
    const { context, page, errors } = await signedIn(boss.userName, 1280, '#/groups');
    await page.waitForSelector('h1:text-is("Groups")');
    assert.deepEqual(await page.locator('nav[aria-label="Console sections"] a').allTextContents(),
      ['Overview', 'Users', 'Groups', 'Apps', 'App roles', 'Audit events', 'Trusted issuers', 'Signing keys', 'Settings', 'Identity domains']);
    await page.fill('#search-box', 'pg-bulk');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.pager:has-text("1–20 of 22")');
    assert.equal(await page.locator('table tbody tr').count(), 20);
    await page.click('button:text-is("Next")');
    await page.waitForSelector('.pager:has-text("21–22 of 22")');
    await page.waitForSelector('table:not([aria-busy]) tbody tr:first-child td a:text-is("pg-bulk-20")');
    assert.deepEqual(await page.locator('table tbody tr td:first-child').allTextContents(), ['pg-bulk-20', 'pg-bulk-21']);
    await axeCheck(page, 'the groups list');
    await page.screenshot({ path: `${ARTIFACTS}console-groups.png`, fullPage: true });

    // Create: a taken name is refused with the server's message.
    await page.click('button:text-is("New group")');
    await page.fill('form:has(h2:text-is("New group")) input[name=displayName]', 'pg-bulk-00');
    await page.click('button:text-is("Create group")');
    await page.waitForSelector('[role=alert]:has-text("(uniqueness)")');
    await page.fill('form:has(h2:text-is("New group")) input[name=displayName]', 'pg-release');
    await page.fill('form:has(h2:text-is("New group")) input[name=description]', 'Signs off releases');
    await page.keyboard.press('Enter'); // the keyboard submits the form
    await page.waitForSelector('h1:text-is("pg-release")');
    const id = page.url().split('#/groups/')[1]!;
    assert.equal((await group(id)).json().description, 'Signs off releases');

    // Rename and describe.
    await page.fill('input[name=displayName]', 'pg-approvers');
    await page.fill('input[name=description]', 'Approves releases');
    await page.click('button:text-is("Save group")');
    await page.waitForSelector('text=The group was saved.');
    await page.waitForSelector('h1:text-is("pg-approvers")');
    let g = (await group(id)).json();
    assert.deepEqual([g.displayName, g.description], ['pg-approvers', 'Approves releases']);

    // Members: a user and a group, found by searching; then one removed.
    const members = panel(page, 'Members');
    await members.locator('input[type=search]').fill('pg-member');
    await members.locator('button:text-is("Find")').click();
    await members.locator('button[aria-label="Add pg-member"]').click();
    await page.waitForSelector('text=pg-member was added.');
    await members.locator('input[type=search]').fill('pg-bulk-07');
    await members.locator('button:text-is("Find")').click();
    await members.locator('button[aria-label="Add pg-bulk-07"]').click();
    await page.waitForSelector('text=pg-bulk-07 was added.');
    g = (await group(id)).json();
    assert.deepEqual(g.members.map((m: { display: string; type: string }) => `${m.type}:${m.display}`).sort(), ['Group:pg-bulk-07', 'User:pg-member']);
    // Already a member: shown as such, no button.
    await members.locator('button:text-is("Find")').click();
    await members.locator('.picks li:has-text("already added")').waitFor();
    await members.locator(`[data-member="${member.id}"] button:text-is("Remove")`).click();
    await confirm(page, 'Remove');
    await page.waitForSelector('text=The member was removed.');
    assert.deepEqual((await group(id)).json().members.map((m: { display: string }) => m.display), ['pg-bulk-07']);

    // Roles granted to the group.
    const roles = panel(page, 'Roles');
    await roles.locator('select[name=role]').selectOption({ label: 'Audit Administrator (Identity Domain API)' });
    await roles.locator('button:text-is("Grant role")').click();
    await page.waitForSelector('text=Audit Administrator was granted.');
    assert.equal((await grantsOf(id)).length, 1);
    await axeCheck(page, 'the group detail page');
    await page.screenshot({ path: `${ARTIFACTS}console-group-detail.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${ARTIFACTS}console-group-detail-phone.png`, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    await roles.locator('button:text-is("Revoke")').click();
    await confirm(page, 'Revoke');
    await page.waitForSelector('text=The role was revoked.');
    assert.deepEqual(await grantsOf(id), []);

    // Delete.
    await page.click('button:text-is("Delete group")');
    await confirm(page, 'Delete group');
    await page.waitForSelector('h1:text-is("Groups")');
    assert.equal((await group(id)).statusCode, 404);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${ARTIFACTS}console-groups-phone.png`, fullPage: true });
    assert.deepEqual(unexpected(await errors(), [409]), [], 'errors in the console');
    await context.close();
  });

  test('a User Administrator manages users, sees no Apps nav nor roles, and the escalation guard\'s 403 is shown', async () => {
    const ua = await createUser(h, admin, 'pu-useradmin');
    await grantRole(h, admin, 'User Administrator', ua.id);
    const plain = await createUser(h, admin, 'pu-plain');
    const admins = (await scim(h, 'POST', '/admin/v1/Groups', admin, { schemas: [GROUP], displayName: 'pu-domain-admins' })).json() as { id: string };
    const gid = (await scim(h, 'GET', `/admin/v1/AppRoles?filter=${encodeURIComponent('displayName eq "Identity Domain Administrator"')}`, admin)).json().Resources[0] as { id: string; app: { value: string } };
    const gr = await scim(h, 'POST', '/admin/v1/Grants', admin, {
      schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:Grant'], app: { value: gid.app.value }, entitlement: { attributeName: 'appRoles', attributeValue: gid.id },
      grantMechanism: 'ADMINISTRATOR_TO_GROUP', grantee: { value: admins.id, type: 'Group' },
    });
    assert.equal(gr.statusCode, 201, gr.body);

    const { context, page, errors } = await signedIn(ua.userName);
    await page.waitForSelector('h1:text-is("Users")');
    const nav = await page.locator('nav[aria-label="Console sections"] a').allTextContents();
    assert.deepEqual(nav, ['Overview', 'Users', 'Groups']);
    assert.equal(nav.includes('Apps'), false);
    // Creates a user.
    await page.click('button:text-is("New user")');
    await page.fill('input[name=userName]', 'pu-created');
    await page.click('button:text-is("Create user")');
    await page.waitForSelector('h1:text-is("pu-created")');
    assert.ok(await findUser('pu-created'));

    await goto(page, `#/users/${plain.id}`, 'pu-plain');
    await page.waitForSelector('h2:text-is("Sessions")');
    assert.equal(await panel(page, 'Roles').count(), 0, 'no roles panel without the apps scope');
    assert.ok(await page.locator('button:text-is("Deactivate")').isVisible());
    // Escalation: adding a user to a group that gives Identity Domain Administrator is refused.
    const groups = panel(page, 'Groups');
    await groups.locator('input[type=search]').fill('pu-domain');
    await groups.locator('button:text-is("Find")').click();
    await groups.locator('button[aria-label="Add pu-domain-admins"]').click();
    const alert = groups.locator('[role=alert]');
    await alert.waitFor();
    const text = await alert.textContent() ?? '';
    assert.match(text, /^Not allowed: Your roles do not allow this\. only a caller holding urn:opc:idm:t\.\S+ may change a group that gives it/);
    assert.equal((await group(admins.id)).json().members, undefined, 'the membership was not added');
    await axeCheck(page, 'the user detail page with the 403');
    await page.screenshot({ path: `${ARTIFACTS}console-user-escalation.png`, fullPage: true });
    assert.deepEqual(unexpected(await errors(), [403]), [], 'errors in the console');
    await context.close();
  });

  test('a Help Desk Administrator sees users read-only except for the password reset', async () => {
    const hd = await createUser(h, admin, 'ph-helpdesk');
    await grantRole(h, admin, 'Help Desk Administrator', hd.id);
    const member = await createUser(h, admin, 'ph-member', { displayName: 'Member Person' });
    const ua = await createUser(h, admin, 'ph-useradmin');
    await grantRole(h, admin, 'User Administrator', ua.id);
    const g = (await scim(h, 'POST', '/admin/v1/Groups', admin, { schemas: [GROUP], displayName: 'ph-group', members: [{ value: member.id, type: 'User' }] })).json() as { id: string };
    await sessionFor(member.userName);

    const { context, page, errors } = await signedIn(hd.userName);
    await page.waitForSelector('table tbody tr td a');
    assert.deepEqual(await page.locator('nav[aria-label="Console sections"] a').allTextContents(), ['Overview', 'Users', 'Groups']);
    assert.equal(await page.locator('button:text-is("New user")').count(), 0);
    await goto(page, `#/users/${member.id}`, 'ph-member');
    await page.waitForSelector('[data-session]');
    assert.equal(await page.inputValue('input[name=displayName]'), 'Member Person');
    assert.ok(await page.locator('input[name=displayName]').isDisabled());
    for (const b of ['Save profile', 'Deactivate', 'Activate', 'Unlock', 'Reset MFA', 'Delete user', 'Sign out', 'Sign out all sessions', 'Remove', 'Find', 'Revoke']) {
      assert.equal(await page.locator(`main button:text-is("${b}")`).count(), 0, `no ${b} button`);
    }
    assert.equal(await page.locator('h2:text-is("Account")').count(), 0);
    assert.ok(await page.locator('a:text-is("ph-group")').isVisible(), 'the groups are listed');
    await axeCheck(page, 'the user detail page, read-only');
    await page.screenshot({ path: `${ARTIFACTS}console-user-helpdesk.png`, fullPage: true });
    // The one write: the password reset.
    await page.fill('input[name=newPassword]', STRONG);
    await page.click('button:text-is("Set password")');
    await page.waitForSelector("text=The password was set; the user's sessions ended.");
    assert.ok(await verify(member.id, STRONG));
    // Not for a user who holds more than the help desk: the 403 is shown, nothing changes.
    await goto(page, `#/users/${ua.id}`, 'ph-useradmin');
    await page.fill('input[name=newPassword]', STRONG);
    await page.click('button:text-is("Set password")');
    await page.waitForSelector('form:has(h2:text-is("Set password")) [role=alert]:has-text("Your roles do not allow this.")');
    assert.ok(await verify(ua.id, PASSWORD));
    // Groups: read-only too.
    await goto(page, `#/groups/${g.id}`, 'ph-group');
    await page.waitForSelector(`[data-member="${member.id}"]`);
    assert.ok(await page.locator('input[name=displayName]').isDisabled());
    for (const b of ['Save group', 'Delete group', 'Remove', 'Find', 'Grant role']) {
      assert.equal(await page.locator(`main button:text-is("${b}")`).count(), 0, `no ${b} button`);
    }
    await axeCheck(page, 'the group detail page, read-only');
    // A group PATCH through the API with this user's rights would be 403 anyway (the server checks).
    const token = await adminToken(h, 'urn:opc:idm:t.groups.read urn:opc:idm:t.user.resetpassword');
    const r = await scim(h, 'PATCH', `/admin/v1/Groups/${g.id}`, token, { schemas: [PATCH], Operations: [{ op: 'remove', path: 'members' }] });
    assert.equal(r.statusCode, 403);
    assert.deepEqual(unexpected(await errors(), [403]), [], 'errors in the console');
    await context.close();
  });

  test('an Audit Administrator has no Users or Groups page: not in the nav, "Not allowed" at the address', async () => {
    const auditor = await createUser(h, admin, 'pa-auditor');
    await grantRole(h, admin, 'Audit Administrator', auditor.id);
    const someone = await createUser(h, admin, 'pa-someone');
    const { context, page, errors } = await signedIn(auditor.userName, 1024, `#/users/${someone.id}`);
    await page.waitForSelector('h1:text-is("Not allowed")');
    assert.match(await page.textContent('main [role=alert]') ?? '', /Your roles do not allow this page\./);
    const nav = await page.locator('nav[aria-label="Console sections"] a').allTextContents();
    assert.equal(nav.includes('Users') || nav.includes('Groups'), false, JSON.stringify(nav));
    await goto(page, '#/groups', 'Not allowed');
    await axeCheck(page, 'the not-allowed page');
    assert.deepEqual(await errors(), [], 'errors in the console');
    await context.close();
  });
});
