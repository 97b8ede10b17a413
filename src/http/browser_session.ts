import type { FastifyReply, FastifyRequest } from 'fastify';
import { newSecret } from '../core/ids.js';
import type { AppRecord } from '../core/types.js';
import { lookupHash, safeEqual } from '../crypto/secrets.js';
import { acrOf, AuthnError, type Flow } from '../identity/authn.js';
import { authStillValid } from '../identity/users.js';
import type { SessionRecord } from '../storage/ports.js';
import type { Authentication } from '../tokens/user_tokens.js';
import { ctx, type DomainContext } from './context.js';
import type { Services } from './services.js';

/**
 * The browser session: the SSO session cookie, the browser-binding cookie, the CSRF tokens of page
 * forms, and the start and end of a session. Every browser-facing endpoint (authorization, the
 * sign-in pages, the Authenticate API's session step, device verification, logout) uses this module,
 * so none of them imports another.
 */

/** Cookie names carry the domain: the default domain lives at `/`, so its cookies reach every domain's paths. */
export const sessionCookieName = (c: DomainContext) => `tessera_session_${c.domain.name}`;
const bindCookieName = (c: DomainContext) => `tessera_bind_${c.domain.name}`;
export const cookiePath = (c: DomainContext) => new URL(c.issuer).pathname.replace(/\/$/, '') || '/';
const secure = (c: DomainContext) => c.issuer.startsWith('https:');

export function setSessionCookie(reply: FastifyReply, c: DomainContext, value: string, maxAgeSeconds: number): void {
  void reply.setCookie(sessionCookieName(c), value, { path: cookiePath(c), httpOnly: true, sameSite: 'lax', secure: secure(c), maxAge: maxAgeSeconds });
}
export function clearSessionCookie(reply: FastifyReply, c: DomainContext): void {
  void reply.clearCookie(sessionCookieName(c), { path: cookiePath(c), httpOnly: true, sameSite: 'lax', secure: secure(c) });
}

/** The browser-binding value: one per browser, so a flow (and its requestState) only works in the browser that started it. */
export function browserBinding(req: FastifyRequest, reply: FastifyReply, c: DomainContext): string {
  let v = req.cookies[bindCookieName(c)];
  if (!v || v.length > 100) {
    v = newSecret();
    void reply.setCookie(bindCookieName(c), v, { path: cookiePath(c), httpOnly: true, sameSite: 'lax', secure: secure(c) });
    // A page rendered in this same response reads the binding back (its CSRF token is bound to it).
    req.cookies[bindCookieName(c)] = v;
  }
  return v;
}

/** The browser-binding cookie as the request carries it (undefined: none yet). */
export const bindingOf = (req: FastifyRequest, c: DomainContext): string | undefined => req.cookies[bindCookieName(c)];

/** CSRF token of a page form: bound to the flow and to the browser's binding cookie (RFC 6819 §4.4.1.8). */
export function csrfToken(s: Pick<Services, 'masterKey'>, flowHash: string, binding: string): string {
  return s.masterKey.hmac('csrf', `${flowHash}.${binding}`).toString('base64url');
}

export const signinUrl = (c: DomainContext, requestState: string) => `${c.issuer}/ui/v1/signin/${requestState}`;

/** The authenticated user of a live session (the user must still exist and be active). */
export async function sessionOf(s: Services, c: DomainContext, req: FastifyRequest): Promise<SessionRecord | undefined> {
  const session = await s.sessions.current(c.domain.id, req.cookies[sessionCookieName(c)]);
  if (!session) return undefined;
  const user = await s.repos.users.get(c.domain.id, session.userId);
  return authStillValid(user, session.authTime) ? session : undefined;
}

export const authOf = (x: SessionRecord): Authentication => ({ userId: x.userId, authTime: x.authTime, amr: x.amr, acr: x.acr, sid: x.sid });

/** A finished authentication becomes an SSO session: new cookie value (the browser's old session ends), audited. */
export async function startSession(s: Services, req: FastifyRequest, reply: FastifyReply, flow: Flow, client: AppRecord, details: Record<string, unknown> = {}): Promise<SessionRecord> {
  const c = ctx(req);
  const st = flow.state;
  // An authentication finished before a new password or a deactivation (an authnToken kept for later) makes no session.
  if (!authStillValid(await s.repos.users.get(c.domain.id, st.userId!), st.authTime!)) {
    throw new AuthnError('AUTH-4001', 401, 'This sign-in is no longer valid. Start again from the application.');
  }
  const ua = req.headers['user-agent'];
  const { cookie, session } = await s.sessions.create(c.domain.id, {
    userId: st.userId!, authTime: st.authTime!, amr: st.amr, acr: acrOf(st.amr), clientIp: req.ip, ...(typeof ua === 'string' ? { userAgent: ua } : {}),
  }, req.cookies[sessionCookieName(c)]);
  setSessionCookie(reply, c, cookie, s.config.sessionTtlSeconds);
  s.events.emit({ eventId: 'user.login.succeeded', outcome: 'success', domainId: c.domain.id, actorType: 'user', actorId: st.userId, clientIp: req.ip, details: { client_id: client.clientId, amr: st.amr, ...details } });
  // The consent step reads the session cookie; this request carries the old one, so the new one is put in place for it.
  req.cookies[sessionCookieName(c)] = cookie;
  return session;
}

/** Ends the browser's session (logout): the stored session goes, and the cookie with it. */
export async function endSession(s: Services, reply: FastifyReply, c: DomainContext, session: SessionRecord | undefined): Promise<void> {
  if (session) await s.sessions.end(session);
  clearSessionCookie(reply, c);
}

/** Only the browser that started a flow may continue it (login CSRF, session swapping); flows without a binding pass. */
export function sameBrowser(req: FastifyRequest, c: DomainContext, flow: Flow): boolean {
  if (!flow.state.browser) return true;
  const binding = req.cookies[bindCookieName(c)];
  return binding !== undefined && safeEqual(lookupHash(binding), flow.state.browser);
}
