/**
 * The account page's view of the world, for the self-service API tests: a web app that holds the
 * built-in Me role (as the account SPA does), and real browser sign-ins that open SSO sessions.
 */
import assert from 'node:assert/strict';
import { basic, grantRole, post, type Harness } from './helpers.js';
import { authorizeUrl, Browser, callbackParams, createWebApp, pkce, PASSWORD, REDIRECT, signIn } from './signin.js';

export const ME_SCOPE = 'urn:opc:idm:t.user.me';

export interface Portal { id: string; clientId: string; secret: string }

/** A confidential web app (code + refresh) allowed the Me scope through the built-in Me role. */
export async function createPortal(h: Harness, admin: string): Promise<Portal> {
  const app = await createWebApp(h, admin);
  await grantRole(h, admin, 'Me', 'App', app.id);
  return { id: app.id, clientId: app.clientId, secret: app.secret! };
}

export interface SignedIn {
  browser: Browser;
  access: string;
  refresh: string;
  /** The SSO session's public id (the ID token's sid). */
  sid: string;
}

/** A sign-in in a new browser (a new SSO session), then the code exchanged for tokens with the Me scope. */
export async function signInTo(h: Harness, portal: Portal, userName: string, o: { browser?: Browser; password?: string; headers?: Record<string, string> } = {}): Promise<SignedIn> {
  const browser = o.browser ?? new Browser(h);
  const { verifier, challenge } = pkce();
  const r = await signIn(browser, authorizeUrl({
    client_id: portal.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: `openid offline_access ${ME_SCOPE}`, state: 'st',
    code_challenge: challenge, code_challenge_method: 'S256',
  }), userName, o.password ?? PASSWORD);
  const code = callbackParams(r).get('code');
  assert.ok(code, `no code: ${r.statusCode} ${r.headers.location ?? r.body.slice(0, 300)}`);
  const t = await post(h, '/oauth2/v1/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, { authorization: basic(portal.clientId, portal.secret) });
  assert.equal(t.statusCode, 200, t.body);
  const b = t.json();
  assert.ok(b.scope.split(' ').includes(ME_SCOPE), b.scope);
  const idt = JSON.parse(Buffer.from(String(b.id_token).split('.')[1]!, 'base64url').toString()) as { sid: string };
  return { browser, access: b.access_token, refresh: b.refresh_token, sid: idt.sid };
}

/** Uses a refresh token once; the status and body of the token endpoint. */
export async function refresh(h: Harness, portal: Portal, token: string) {
  return post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: token }, { authorization: basic(portal.clientId, portal.secret) });
}

/** prompt=none in the browser: `code` while its SSO session lives, `login_required` once it has ended. */
export async function silent(browser: Browser, portal: Portal): Promise<string> {
  const { challenge } = pkce();
  const r = await browser.get(authorizeUrl({
    client_id: portal.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: 'sn', prompt: 'none',
    code_challenge: challenge, code_challenge_method: 'S256',
  }));
  const p = callbackParams(r);
  return p.get('code') ? 'code' : p.get('error') ?? `status ${r.statusCode}`;
}
