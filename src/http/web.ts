import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ACCOUNT_CLIENT_ID, ACCOUNT_PATH, ACCOUNT_SCOPE, CONSOLE_CLIENT_ID, CONSOLE_PATH, CONSOLE_SCOPE } from '../identity/builtins.js';
import { esc, sendPage } from '../ui/html.js';
import { ctx } from './context.js';
import type { Services } from './services.js';

/**
 * The browser apps (issue 11): the console (/console/) and the account page (/myaccount/) of each
 * domain, single-page apps built by Vite into dist/web/<app>/ (`npm run build`). One build serves
 * every domain prefix (Vite `base: './'`); the page learns its issuer and client id from
 * `config.json` beside it, since the CSP allows no inline script.
 */

/** dist/web, from src/http (tsx) and from dist/http (the build) alike. */
export const WEB_DIST = fileURLToPath(new URL('../../dist/web/', import.meta.url));

export const WEB_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

interface WebApp { dir: string; path: string; clientId: string; scope: string; title: string }
const APPS: WebApp[] = [
  { dir: 'console', path: CONSOLE_PATH, clientId: CONSOLE_CLIENT_ID, scope: CONSOLE_SCOPE, title: 'Tessera Console' },
  { dir: 'account', path: ACCOUNT_PATH, clientId: ACCOUNT_CLIENT_ID, scope: ACCOUNT_SCOPE, title: 'Tessera Account' },
];

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply.header('content-security-policy', WEB_CSP).header('referrer-policy', 'no-referrer').header('x-frame-options', 'DENY');
}

/** Registers both apps in a domain scope (the root one and /domains/:domainName). `root` overrides dist/web (tests). */
export function webApps(app: FastifyInstance, s: Services, root = WEB_DIST): void {
  for (const w of APPS) {
    const dir = `${root}${w.dir}/`;
    let index: string | undefined; // read once; a build made while running is picked up by the next request
    const base = w.path.slice(0, -1); // '/console'

    app.get(base, async (_req, reply) => securityHeaders(reply).status(301).header('location', `.${w.path}`).send());

    app.get(w.path, async (_req, reply) => {
      if (index === undefined && existsSync(`${dir}index.html`)) index = readFileSync(`${dir}index.html`, 'utf8');
      securityHeaders(reply).header('cache-control', 'no-cache');
      if (index === undefined) {
        // A server page (sendPage): its own CSP lets its inline style through by hash; the app's CSP would block it.
        return sendPage(reply, 503, `${w.title} is not built`, `<h1>${esc(w.title)} is not built</h1><p>The browser app is missing from <code>dist/web/${esc(w.dir)}/</code>. Run <code>npm run build</code> and reload.</p>`);
      }
      return reply.type('text/html; charset=utf-8').send(index);
    });

    app.get(`${w.path}config.json`, async (req, reply) => {
      const c = ctx(req);
      securityHeaders(reply).header('cache-control', 'no-cache');
      return { issuer: c.issuer, clientId: w.clientId, scope: w.scope, domain: c.domain.name, adminApi: c.endpoints.admin };
    });

    // Any other path under the app (a mistyped link, /console/index.html, a deep link: the apps route in the
    // hash) is a 404 page under the same headers as the app, not the API's JSON 404 without them.
    // (sendPage: the server pages' own strict CSP, whose style hash lets the page's inline style through.)
    app.get(`${w.path}*`, async (_req, reply) => sendPage(reply, 404, 'Not found', `<h1>Not found</h1><p>No such page of the ${esc(w.title)}.</p>`));

    // Hashed build output: cached for a year; Vite names every file by its content. Without a build
    // (tests from source) there is nothing to serve: the index page above says so.
    if (!existsSync(`${dir}assets/`)) continue;
    void app.register(fastifyStatic, {
      root: `${dir}assets/`, prefix: `${w.path}assets/`, decorateReply: false, index: false, list: false, dotfiles: 'deny',
      cacheControl: false, etag: true, lastModified: false,
      setHeaders: (res) => {
        res.header('cache-control', 'public, max-age=31536000, immutable');
        res.header('content-security-policy', WEB_CSP);
        res.header('referrer-policy', 'no-referrer');
      },
    });
  }
}
