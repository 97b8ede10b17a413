import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import * as oauth from 'oauth4webapi';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { chromium, type Browser as Chromium, type ConsoleMessage } from 'playwright-core';
import { systemClock } from '../../src/core/clock.js';
import { adminToken, harness, type Harness } from '../helpers.js';
import { Browser, createUser, formOf, PASSWORD } from '../signin.js';
import { tvApp } from '../device.js';

/**
 * The device flow against a listening Tessera with real clients: oauth4webapi's device functions
 * for the TV (discovery, device authorization, polling with its error codes, the token response and
 * ID token checks), and headless Chromium (from the OS, never downloaded) as the phone.
 */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}
const insecure = { [oauth.allowInsecureRequests]: true };
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) {
  // As in browser.test.ts: in CI the browser half must run; a missing browser is a failure, not a skip.
  test('device flow in Chromium (Chromium required in CI)', () => {
    assert.fail(`${CHROMIUM} is not installed; install it with: apt-get install -y chromium`);
  });
}

describe('device flow with oauth4webapi and Chromium against a listening server', () => {
  let h: Harness;
  let base: string;
  let admin: string;
  let as: oauth.AuthorizationServer;

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    h = await harness({ config: { publicUrl: base }, clock: systemClock });
    await h.t.app.listen({ port, host: '127.0.0.1' });
    admin = await adminToken(h);
    const issuer = new URL(base);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
  });
  after(() => h.close());

  /** The TV's poll, as oauth4webapi reports it: tokens, or the RFC 8628 error code. */
  async function pollOnce(client: oauth.Client, deviceCode: string): Promise<oauth.TokenEndpointResponse | string> {
    const res = await oauth.deviceCodeGrantRequest(as, client, oauth.None(), deviceCode, insecure);
    try {
      return await oauth.processDeviceCodeResponse(as, client, res);
    } catch (e) {
      if (e instanceof oauth.ResponseBodyError) return e.error;
      throw e;
    }
  }

  test('oauth4webapi: device authorization, authorization_pending, slow_down, approval by a phone, tokens that verify', async () => {
    assert.equal(as.device_authorization_endpoint, `${base}/oauth2/v1/device`);
    const user = await createUser(h, admin);
    const tv = await tvApp(h, admin);
    const client: oauth.Client = { client_id: tv.clientId, token_endpoint_auth_method: 'none' };
    const d = await oauth.processDeviceAuthorizationResponse(as, client,
      await oauth.deviceAuthorizationRequest(as, client, oauth.None(), { scope: `openid offline_access ${tv.scope}` }, insecure));
    assert.match(d.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(d.verification_uri, `${base}/ui/v1/device`);
    assert.equal(d.interval, 5);
    assert.equal(await pollOnce(client, d.device_code), 'authorization_pending');
    assert.equal(await pollOnce(client, d.device_code), 'slow_down');

    // The phone (a cookie-keeping client) approves.
    const phone = new Browser(h, base);
    let page = await phone.get(d.verification_uri_complete!);
    const entry = formOf(page.body);
    let r = await phone.post(entry.action, { csrf: entry.fields.csrf!, user_code: d.user_code });
    page = await phone.get(r.headers.location!);
    const login = formOf(page.body, 'credSubmit');
    r = await phone.post(login.action, { ...login.fields, username: user.userName, password: PASSWORD });
    page = await phone.get(r.headers.location!);
    const confirm = formOf(page.body, 'consent');
    r = await phone.post(confirm.action, { ...confirm.fields, decision: 'allow' });
    assert.match(r.body, /Device connected/);

    const tokens = await pollOnce(client, d.device_code);
    assert.ok(typeof tokens !== 'string', `expected tokens, got ${String(tokens)}`);
    assert.equal(tokens.token_type, 'bearer');
    assert.ok(tokens.refresh_token);
    const claims = oauth.getValidatedIdTokenClaims(tokens);
    assert.equal(claims?.sub, user.id);
    const jwks = createRemoteJWKSet(new URL(as.jwks_uri!));
    const at = await jwtVerify(tokens.access_token, jwks, { issuer: base, audience: tv.audience, typ: 'at+jwt' });
    assert.equal(at.payload.sub, user.id);
    // Redeemed once.
    assert.equal(await pollOnce(client, d.device_code), 'invalid_grant');
  });

  test('headless Chromium as the phone: verification_uri_complete, login, confirmation, no console or CSP errors', { skip: haveChromium ? false : `${CHROMIUM} is not installed` }, async () => {
    const user = await createUser(h, admin);
    const tv = await tvApp(h, admin);
    const client: oauth.Client = { client_id: tv.clientId, token_endpoint_auth_method: 'none' };
    const d = await oauth.processDeviceAuthorizationResponse(as, client,
      await oauth.deviceAuthorizationRequest(as, client, oauth.None(), { scope: `openid ${tv.scope}` }, insecure));
    const browser: Chromium = await chromium.launch({
      executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m: ConsoleMessage) => { if (m.type() === 'error') errors.push(`${page.url()}: ${m.text()}`); });
      page.on('pageerror', (e) => errors.push(e.message));
      const first = await page.goto(d.verification_uri_complete!);
      assert.equal(first?.status(), 200);
      assert.equal(first?.headers()['x-frame-options'], 'DENY');
      assert.equal(await page.inputValue('#user_code'), d.user_code);
      await Promise.all([page.waitForURL(/\/ui\/v1\/signin\//), page.click('button[type=submit]')]);
      await page.fill('#username', user.userName);
      await page.fill('#password', PASSWORD);
      await Promise.all([page.waitForSelector('#scopes'), page.click('form:has(#username) button[type=submit]')]);
      assert.match(await page.textContent('#client') ?? '', new RegExp(tv.name));
      assert.match(await page.textContent('#scopes') ?? '', /Watch your films/);
      await Promise.all([page.waitForSelector('text=Device connected'), page.click('button[value=allow]')]);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
    const tokens = await pollOnce(client, d.device_code);
    assert.ok(typeof tokens !== 'string', `expected tokens, got ${String(tokens)}`);
    assert.equal(oauth.getValidatedIdTokenClaims(tokens)?.sub, user.id);
  });
});
