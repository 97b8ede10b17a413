import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { APP_SCHEMA, ISSUER, scim, type Harness } from './helpers.js';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const PASSWORD = 'correct horse battery staple 9';

export async function createUser(h: Harness, admin: string, userName = `user-${randomBytes(3).toString('hex')}`, extra: Record<string, unknown> = {}, prefix = '') {
  const r = await scim(h, 'POST', `${prefix}/admin/v1/Users`, admin, {
    schemas: [USER_SCHEMA], userName, password: PASSWORD, name: { givenName: 'Ada', familyName: 'Lovelace' },
    emails: [{ value: `${userName}@example.com`, primary: true, type: 'work' }], ...extra,
  });
  assert.equal(r.statusCode, 201, r.body);
  return { id: r.json().id as string, userName };
}

export const REDIRECT = 'https://app.example.com/cb';

/** A web app (confidential by default) for the code flow. */
export async function createWebApp(h: Harness, admin: string, o: Record<string, unknown> = {}, prefix = '') {
  const r = await scim(h, 'POST', `${prefix}/admin/v1/Apps`, admin, {
    schemas: [APP_SCHEMA], displayName: `web-${randomBytes(3).toString('hex')}`, isOAuthClient: true, clientType: 'confidential',
    allowedGrants: ['authorization_code', 'refresh_token'], redirectUris: [REDIRECT], postLogoutRedirectUris: ['https://app.example.com/bye'], ...o,
  });
  assert.equal(r.statusCode, 201, r.body);
  const b = r.json();
  return { id: b.id as string, clientId: b.name as string, secret: b.clientSecret as string | undefined };
}

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** A browser: a cookie jar over inject (SameSite ignored: same-site requests only). */
export class Browser {
  cookies = new Map<string, string>();
  constructor(private h: Harness, private base = ISSUER) {}
  private store(r: LightMyRequestResponse) {
    const set = r.headers['set-cookie'];
    for (const c of (Array.isArray(set) ? set : set ? [set] : [])) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i); const value = pair!.slice(i + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.cookies.delete(name); else this.cookies.set(name, value);
    }
  }
  private header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
  private path(url: string) { return url.startsWith(this.base) ? url.slice(this.base.length) || '/' : url; }
  async get(url: string, headers: Record<string, string> = {}) {
    const r = await this.h.inject({ method: 'GET', url: this.path(url), headers: { cookie: this.header(), ...headers } });
    this.store(r);
    return r;
  }
  async post(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    const r = await this.h.inject({
      method: 'POST', url: this.path(url), payload: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: this.header(), ...headers },
    });
    this.store(r);
    return r;
  }
}

/** The hidden fields of the first form with the given op on a page. */
export function formOf(html: string, op?: string): { action: string; fields: Record<string, string> } {
  const forms = [...html.matchAll(/<form method="post" action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)];
  for (const f of forms) {
    const fields: Record<string, string> = {};
    for (const m of f[2]!.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields[unescape(m[1]!)] = unescape(m[2]!);
    if (!op || fields.op === op) return { action: unescape(f[1]!), fields };
  }
  throw new Error(`no form ${op ?? ''} in page: ${html.slice(0, 500)}`);
}
const unescape = (s: string) => s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');

export function authorizeUrl(params: Record<string, string>, prefix = ''): string {
  return `${prefix}/oauth2/v1/authorize?${new URLSearchParams(params).toString()}`;
}

/** Follows the sign-in: login page -> credentials -> (consent allow) -> redirect to the client. Returns the final response. */
export async function signIn(b: Browser, url: string, username: string, password = PASSWORD, o: { consent?: 'allow' | 'deny' } = {}) {
  let r = await b.get(url);
  if (r.statusCode === 302 && !r.headers.location!.includes('/ui/v1/signin/')) return r;
  assert.equal(r.statusCode, 303, r.body);
  const page = r.headers.location!;
  r = await b.get(page);
  assert.equal(r.statusCode, 200, r.body);
  const login = formOf(r.body, 'credSubmit');
  r = await b.post(login.action, { ...login.fields, username, password });
  return followConsent(b, r, o.consent ?? 'allow');
}

export async function followConsent(b: Browser, r: LightMyRequestResponse, decision: 'allow' | 'deny' = 'allow') {
  if (r.statusCode === 303 && r.headers.location!.includes('/ui/v1/signin/')) {
    const p = await b.get(r.headers.location!);
    if (p.statusCode !== 200) return p;
    const f = formOf(p.body, 'consent');
    return b.post(f.action, { ...f.fields, decision });
  }
  return r;
}

export function callbackParams(r: LightMyRequestResponse): URLSearchParams {
  const loc = r.headers.location;
  assert.ok(loc, `expected a redirect, got ${r.statusCode} ${r.body.slice(0, 300)}`);
  const u = new URL(loc);
  return u.hash ? new URLSearchParams(u.hash.slice(1)) : u.searchParams;
}
