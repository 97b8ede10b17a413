import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';
import { DEFAULT_DOMAIN } from '../core/types.js';
import { safeEqual } from '../crypto/secrets.js';
import { bindingOf, browserBinding, csrfToken } from '../http/browser_session.js';
import { ctx, type DomainContext } from '../http/context.js';
import { FormBody } from '../http/form.js';
import type { Services } from '../http/services.js';
import { hasAdministratorUser } from '../identity/administrators.js';
import { AdministratorExists, auditAdministrator, createAdministrator } from '../identity/first_admin.js';
import { passwordPolicyOf, PasswordPolicyViolation } from '../identity/passwords.js';
import { prepareUserName, UserNameRefused } from '../identity/usernames.js';
import { Conflict } from '../storage/ports.js';
import { sendPage } from '../ui/html.js';
import { administratorCreatedPage, firstRunRefusedPage, welcomePage, type FirstAdminForm, type WelcomeBase } from '../ui/welcome.js';

/** The first-run form's CSRF token: there is no flow, so it is bound to the browser-binding cookie alone. */
const FIRST_RUN = 'first-run-administrator';

/** Headers a proxy adds: a request that carries any came through one, so its loopback socket says nothing about the client. */
const FORWARDED = ['forwarded', 'x-forwarded-for', 'x-real-ip', 'x-forwarded-host', 'x-forwarded-proto', 'via'] as const;

/** 127.0.0.0/8, ::1 and IPv4-mapped ::ffff:127.x. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address || !ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'loopback';
}

/** Host names a browser on this machine uses for it: a loopback name or literal, or the issuer's own host. */
function localHostName(c: DomainContext, host: string): boolean {
  const name = host.toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (name === new URL(c.issuer).hostname.toLowerCase()) return true;
  return isLoopbackAddress(name.replace(/^\[(.*)\]$/, '$1'));
}

function hostOf(value: string): string | undefined {
  try { return new URL(`http://${value}`).hostname; } catch { return undefined; }
}

/**
 * Is this request from a browser on the machine Tessera runs on? The socket's peer address (never
 * X-Forwarded-For, even with TESSERA_TRUST_PROXY: a proxy on this machine makes every visitor a
 * loopback peer) must be loopback and no proxy header may be present. The Host (and Origin, when
 * sent) must name this machine too, so a page on another site that rebinds its DNS name to 127.0.0.1
 * cannot use the form (DNS rebinding would otherwise defeat the CSRF check).
 */
export function isLocalRequest(req: FastifyRequest, c: DomainContext): boolean {
  if (!isLoopbackAddress(req.raw.socket?.remoteAddress)) return false;
  if (FORWARDED.some((h) => req.headers[h] !== undefined)) return false;
  const host = typeof req.headers.host === 'string' ? hostOf(req.headers.host) : undefined;
  if (host === undefined || !localHostName(c, host)) return false;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== 'null') {
    let o: URL;
    try { o = new URL(origin); } catch { return false; }
    if (!localHostName(c, o.hostname)) return false;
  }
  return true;
}

/** The welcome page's own URL: the issuer with a slash (`/` for the default domain, `/domains/NAME/` for others). */
export const welcomeUrl = (c: DomainContext): string => `${c.issuer}/`;

const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

/** The CLI line that does what the form does, for the pages that cannot show the form. */
export const cliHint = (c: DomainContext): string =>
  `npx tessera user create --admin --username NAME --password-stdin${c.domain.name === DEFAULT_DOMAIN ? '' : ` --domain ${c.domain.name}`}`;

/**
 * GET|POST / and /domains/NAME/ (issue 11, first run): the welcome page. It names the issuer for client
 * libraries and links the discovery document, the console and the account page. While the domain has
 * no administrator user, a browser on the machine itself gets a form that creates one (everyone else
 * is told how to do it there); the POST re-checks all of it and makes at most one (first_admin.ts).
 */
export function welcomePages(app: FastifyInstance, s: Services): void {
  const base = (c: DomainContext): WelcomeBase => ({
    domainName: c.domain.name, domainDisplayName: c.domain.displayName, issuer: c.issuer,
    discovery: `${c.issuer}/.well-known/openid-configuration`, console: `${c.issuer}/console/`, account: `${c.issuer}/myaccount/`,
  });
  const form = (c: DomainContext, binding: string, more: Partial<FirstAdminForm> = {}): FirstAdminForm => ({
    action: welcomeUrl(c), csrf: csrfToken(s, FIRST_RUN, binding), minLength: passwordPolicyOf(c.domain.settings).minLength, ...more,
  });

  const show = async (req: FastifyRequest, reply: FastifyReply) => {
    const c = ctx(req);
    if (await hasAdministratorUser(s.repos, c.domain.id)) return welcomePage(reply, base(c), { kind: 'ready' });
    if (!isLocalRequest(req, c)) return welcomePage(reply, base(c), { kind: 'remote', cli: cliHint(c) });
    return welcomePage(reply, base(c), { kind: 'form', form: form(c, browserBinding(req, reply, c)) });
  };

  const create = async (req: FastifyRequest, reply: FastifyReply) => {
    const c = ctx(req);
    const refused = (status: number, title: string, detail: string) => firstRunRefusedPage(reply, status, title, detail, base(c));
    if (!isLocalRequest(req, c)) {
      s.events.emit({
        eventId: 'admin.access_denied', outcome: 'failure', domainId: c.domain.id, clientIp: req.ip, targetType: 'endpoint', targetId: `POST ${welcomeUrl(c)}`,
        message: 'first-run administrator form posted from another machine',
      });
      return refused(403, 'Not on this machine', `The first administrator can only be created from the machine Tessera runs on. There, open ${welcomeUrl(c)} or run: ${cliHint(c)}`);
    }
    const binding = bindingOf(req, c);
    const body = req.body instanceof FormBody ? req.body : undefined;
    const v = body?.values ?? {};
    // A cross-site POST carries neither the SameSite=Lax binding cookie nor this token.
    if (!binding || binding.length > 100 || typeof v.csrf !== 'string' || !safeEqual(v.csrf, csrfToken(s, FIRST_RUN, binding))) {
      return refused(403, 'Request refused', 'The form has expired or came from another site. Open the page again and retry.');
    }
    if (body!.repeated.size > 0) return refused(400, 'Invalid request', 'A field was sent more than once.');
    if (await hasAdministratorUser(s.repos, c.domain.id)) {
      return refused(409, 'Administrator exists', 'This identity domain already has an administrator. Sign in to the console to manage it.');
    }
    const email = (v.email ?? '').trim();
    const again = (status: number, error: string, userName = v.username) =>
      welcomePage(reply, base(c), { kind: 'form', form: form(c, binding, { error, userName, email }) }, status);
    let userName: string;
    try {
      userName = prepareUserName(v.username ?? '').stored;
    } catch (e) {
      if (e instanceof UserNameRefused) return again(400, (v.username ?? '') === '' ? 'Enter a user name.' : `That user name cannot be used: ${e.message}`);
      throw e;
    }
    const password = v.password ?? '';
    if (password === '') return again(400, 'Enter a password.', userName);
    if (password !== (v.password2 ?? '')) return again(400, 'The two passwords differ. Type the same password twice.', userName);
    if (email !== '' && (email.length > 254 || !EMAIL.test(email))) return again(400, 'That is not an email address (name@example.com), or leave it empty.', userName);
    let made;
    try {
      made = await createAdministrator({ repos: s.repos, users: s.users, clock: s.clock }, c.domain, { userName, password, ...(email ? { email } : {}) }, { exclusive: true });
    } catch (e) {
      // The rule, never the password.
      if (e instanceof PasswordPolicyViolation) return again(400, `The password does not meet the password policy (${e.rule}): ${e.message}.`, userName);
      if (e instanceof Conflict && e.what === 'userName') return again(409, `A user named ${userName} exists already. Choose another name.`, userName);
      if (e instanceof AdministratorExists) return refused(409, 'Administrator exists', 'An administrator was created meanwhile. Sign in to the console to manage this identity domain.');
      throw e;
    }
    s.catalogs.invalidate(c.domain.id);
    auditAdministrator(s.events, made, 'welcome_page', req.ip);
    return administratorCreatedPage(reply, base(c), made.user.userName);
  };

  const notAllowed = async (_req: FastifyRequest, reply: FastifyReply) => {
    reply.header('allow', 'GET, HEAD, POST');
    return sendPage(reply, 405, 'Method not allowed', '<h1>Method not allowed</h1><p>This page answers GET and POST only.</p>');
  };

  // `/` under the /domains/:domainName prefix is `/domains/NAME/` only; `/domains/NAME` (the issuer
  // itself, typed into a browser) redirects there, so each domain's page has one URL.
  const prefixed = app.prefix !== '';
  const opts = prefixed ? { prefixTrailingSlash: 'slash' as const } : {};
  app.get('/', opts, show);
  app.post('/', opts, create);
  app.route({ method: ['PUT', 'DELETE', 'PATCH'], url: '/', ...opts, handler: notAllowed });
  if (prefixed) {
    app.get('/', { prefixTrailingSlash: 'no-slash' }, async (req, reply) => reply.status(301).header('location', welcomeUrl(ctx(req))).header('cache-control', 'no-store').send());
    app.route({ method: ['POST', 'PUT', 'DELETE', 'PATCH'], url: '/', prefixTrailingSlash: 'no-slash', handler: async (_req, reply) => {
      reply.header('allow', 'GET, HEAD');
      return sendPage(reply, 405, 'Method not allowed', '<h1>Method not allowed</h1><p>The form is posted to the page\'s own address, ending in a slash.</p>');
    } });
  }
}
