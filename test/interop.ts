/**
 * Shared pieces of the interop suite (test/e2e/interop_*.test.ts): a Tessera listening on a loopback
 * port, express apps beside it, and a browser that talks real HTTP to both with an RFC 6265 cookie jar.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { CookieJar } from 'tough-cookie';
import type { Config } from '../src/config/schema.js';
import { systemClock, type Clock } from '../src/core/clock.js';
import { adminToken, harness, type Harness } from './helpers.js';
import { formOf, PASSWORD } from './signin.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

export interface Listening { h: Harness; base: string; admin: string; close(): Promise<void> }

/** A Tessera on http://127.0.0.1:PORT (its issuer), real time unless a clock is given. */
export async function listeningTessera(o: { config?: Partial<Config>; clock?: Clock } = {}): Promise<Listening> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const h = await harness({ config: { publicUrl: base, ...o.config }, clock: o.clock ?? systemClock });
  await h.t.app.listen({ port, host: '127.0.0.1' });
  return { h, base, admin: await adminToken(h), close: () => h.close() };
}

/** A system clock that a test can move (tokens issued in the past, for expiry checks against real time). */
export class OffsetClock implements Clock {
  offsetMs = 0;
  now(): number { return Date.now() + this.offsetMs; }
}

/** An express (or any node:http) app listening on a loopback port. */
export async function listenApp(app: (req: never, res: never) => void, port?: number): Promise<{ base: string; server: Server; close(): Promise<void> }> {
  const { createServer: httpServer } = await import('node:http');
  const server = httpServer(app as never);
  server.listen(port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const p = (server.address() as { port: number }).port;
  return {
    base: `http://127.0.0.1:${p}`, server,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export interface Page { status: number; url: string; headers: Headers; body: string; location?: string }

/**
 * A browser over real HTTP: one cookie jar for every origin (cookies are per host, not per port,
 * RFC 6265 §8.5, as a browser keeps them), redirects followed as a browser does (GET after
 * 301/302/303), forms posted with the Origin of the page they came from.
 */
export class WebBrowser {
  readonly jar = new CookieJar();
  /** Every URL requested, in order (redirect hops included). */
  readonly visited: string[] = [];

  async request(url: string, init: { method?: 'GET' | 'POST'; form?: Record<string, string>; origin?: string; headers?: Record<string, string> } = {}): Promise<Page> {
    this.visited.push(url);
    const headers: Record<string, string> = { accept: 'text/html,application/json;q=0.9,*/*;q=0.8', ...init.headers };
    const cookie = await this.jar.getCookieString(url);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
      if (init.origin) headers.origin = init.origin;
    }
    const r = await fetch(url, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const c of r.headers.getSetCookie()) await this.jar.setCookie(c, url, { ignoreError: true });
    const loc = r.headers.get('location');
    return { status: r.status, url, headers: r.headers, body: await r.text(), ...(loc ? { location: new URL(loc, url).href } : {}) };
  }

  /**
   * Follows redirects from `first` until a page that is not a redirect, or until a redirect whose
   * target `stop` accepts (that target is not fetched: e.g. a client's callback on a host that does not exist).
   */
  async follow(first: Page, stop?: (u: URL) => boolean): Promise<Page> {
    let r = first;
    for (let hops = 0; r.location && [301, 302, 303, 307, 308].includes(r.status); hops++) {
      assert.ok(hops < 20, `redirect loop: ${this.visited.slice(-5).join(' -> ')}`);
      if (stop?.(new URL(r.location))) return r;
      r = await this.request(r.location);
    }
    return r;
  }

  async get(url: string, stop?: (u: URL) => boolean): Promise<Page> {
    return this.follow(await this.request(url), stop);
  }

  /** Posts the form with the given op on a page (hidden fields kept, `fill` added) and follows the answer. */
  async submit(page: Page, op: string, fill: Record<string, string>, stop?: (u: URL) => boolean): Promise<Page> {
    const f = formOf(page.body, op || undefined);
    const action = new URL(f.action, page.url);
    return this.follow(await this.request(action.href, { form: { ...f.fields, ...fill }, origin: new URL(page.url).origin }), stop);
  }

  /**
   * What a person does after a client sends them to Tessera: the login form, then the consent form
   * (when asked), then whatever the client does with the answer. Returns the last page, or the
   * redirect that `stop` accepted.
   */
  async signIn(url: string, username: string, o: { password?: string; consent?: 'allow' | 'deny'; stop?: (u: URL) => boolean } = {}): Promise<Page> {
    let r = await this.get(url, o.stop);
    for (let steps = 0; r.status === 200 && steps < 4; steps++) {
      if (/name="op" value="credSubmit"/.test(r.body)) r = await this.submit(r, 'credSubmit', { username, password: o.password ?? PASSWORD }, o.stop);
      else if (/name="op" value="consent"/.test(r.body)) r = await this.submit(r, 'consent', { decision: o.consent ?? 'allow' }, o.stop);
      // OAuth 2.0 Form Post Response Mode §2: the page's script posts the form to the client; so do we.
      else if (/<title>Submitting\.\.\.<\/title>/.test(r.body)) r = await this.submit(r, '', {}, o.stop);
      else break;
    }
    return r;
  }
}

/** A `stop` for WebBrowser: redirects to this URL prefix (a client's redirect URI) are not fetched. */
export const stopAt = (prefix: string) => (u: URL) => u.href.startsWith(prefix);

/** An OAuth error answer (RFC 6749 §5.2) over real HTTP: status, error code, no-store. */
export async function expectOAuthError(r: Response, status: number, error: string): Promise<Record<string, unknown>> {
  const text = await r.text();
  assert.equal(r.status, status, `expected ${status} ${error}, got ${r.status} ${text}`);
  const b = JSON.parse(text) as Record<string, unknown>;
  assert.equal(b.error, error, text);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  return b;
}

/** The `error` of a library's error (openid-client / oauth4webapi ResponseBodyError), with its HTTP status. */
export function oauthErrorOf(e: unknown): { error?: string; status?: number; code?: string } {
  const x = e as { error?: string; status?: number; code?: string };
  return { error: x.error, status: x.status, code: x.code };
}

/**
 * Awaits a library call; an OAuth error answer is rethrown with its status, code and description in the
 * message, so that a failing test says what the server answered (the libraries keep it in properties).
 */
export async function explained<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    const x = e as { status?: number; error?: string; error_description?: string; cause?: unknown };
    if (x && typeof x.error === 'string') throw new Error(`${(e as Error).message}: ${x.status} ${x.error}: ${x.error_description ?? ''}`, { cause: e });
    if (x && Array.isArray(x.cause) && typeof x.status === 'number') throw new Error(`${(e as Error).message}: ${x.status} ${JSON.stringify(x.cause)}`, { cause: e });
    throw e;
  }
}
