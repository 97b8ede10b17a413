import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidScope, OAuthError } from '../core/errors.js';
import { newId, newSecret } from '../core/ids.js';
import type { AppRecord } from '../core/types.js';
import { lookupHash, safeEqual } from '../crypto/secrets.js';
import {
  ACR_MFA, AuthorizePageError, AuthorizeRedirectError, parseAuthorizeRequest, singleParams, type AuthorizeRequest,
} from '../authorize/request.js';
import type { CodeData } from '../authorize/code_data.js';
import { errorParams, sendAuthorizationResponse } from '../authorize/response.js';
import { ctx, type DomainContext } from '../http/context.js';
import { FormBody } from '../http/form.js';
import type { Services } from '../http/services.js';
import { acrOf, AuthnError, mfaPolicyOf, type Flow, type FlowState } from '../identity/authn.js';
import { resolveUserFlowScopes } from '../identity/scopes.js';
import { claimsOf } from '../identity/claims.js';
import { userRoleIds } from '../identity/user_roles.js';
import { authStillValid } from '../identity/users.js';
import type { SessionRecord } from '../storage/ports.js';
import type { Authentication } from '../tokens/user_tokens.js';
import { errorPage } from '../ui/html.js';
import { consentPage, enrollPage, loginPage, mfaPage, recoveryCodesPage } from '../ui/pages.js';

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
function browserBinding(req: FastifyRequest, reply: FastifyReply, c: DomainContext): string {
  let v = req.cookies[bindCookieName(c)];
  if (!v || v.length > 100) {
    v = newSecret();
    void reply.setCookie(bindCookieName(c), v, { path: cookiePath(c), httpOnly: true, sameSite: 'lax', secure: secure(c) });
  }
  return v;
}

/** CSRF token of a page form: bound to the flow and to the browser's binding cookie (RFC 6819 §4.4.1.8). */
export function csrfToken(s: Services, flowHash: string, binding: string): string {
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

function mfaPolicyRequires(c: DomainContext, client: AppRecord, request: AuthorizeRequest): boolean {
  const policy = mfaPolicyOf(c.domain, client);
  return policy === 'always' || (policy === 'requested' && request.acrValues.includes(ACR_MFA));
}

/**
 * GET|POST /oauth2/v1/authorize (RFC 6749 §3.1, OIDC Core §3.1.2). Unknown clients and unregistered
 * redirect URIs get an error page here and never a redirect; other errors go to the client with `iss`.
 */
export function authorizeEndpoint(app: FastifyInstance, s: Services): void {
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const c = ctx(req);
    // No CORS here (RFC 9700 §2.6): this is a browser navigation endpoint.
    let raw: Record<string, unknown>;
    if (req.method === 'POST') {
      if (!(req.body instanceof FormBody)) return errorPage(reply, 400, 'Invalid request', 'The request must be a form submission.');
      raw = { ...req.body.values };
      for (const k of req.body.repeated) raw[k] = [raw[k], raw[k]];
    } else raw = (req.query ?? {}) as Record<string, unknown>;
    const { params, repeated } = singleParams(raw);
    let client: AppRecord | undefined;
    if (params.client_id && params.client_id.length <= 200 && !repeated.includes('client_id')) client = await s.catalogs.client(c.domain.id, params.client_id);
    let parsed: { client: AppRecord; request: AuthorizeRequest };
    try {
      parsed = parseAuthorizeRequest(params, repeated, () => client);
    } catch (e) {
      return authorizeError(s, c, reply, e, 302);
    }
    try {
      return await authorize(s, c, req, reply, parsed.client, parsed.request);
    } catch (e) {
      return authorizeError(s, c, reply, e, 302, parsed.request);
    }
  };
  app.get('/oauth2/v1/authorize', handler);
  app.post('/oauth2/v1/authorize', handler);
}

/** Renders an authorization error: page errors here, protocol errors to the client (RFC 9207 `iss` included). */
export function authorizeError(s: Services, c: DomainContext, reply: FastifyReply, e: unknown, status: 302 | 303, request?: AuthorizeRequest): FastifyReply {
  if (e instanceof AuthorizePageError) return errorPage(reply, e.status, e.title, e.detail);
  if (e instanceof AuthorizeRedirectError) {
    return sendAuthorizationResponse(reply, { redirectUri: e.request.redirectUri, responseMode: e.request.responseMode, issuer: c.issuer, params: errorParams(e, e.request.state), status });
  }
  if (e instanceof OAuthError && request && e.status < 500) {
    return sendAuthorizationResponse(reply, { redirectUri: request.redirectUri, responseMode: request.responseMode, issuer: c.issuer, params: errorParams(e, request.state), status });
  }
  if (e instanceof AuthnError) return errorPage(reply, e.status, 'Sign-in failed', e.message);
  if (e instanceof OAuthError && e.status === 503) return errorPage(reply, 503, 'Temporarily unavailable', 'Please try again in a moment.');
  s.log.error({ err: e }, 'authorization failed');
  return errorPage(reply, 500, 'Something went wrong', 'The request could not be completed.');
}

async function authorize(s: Services, c: DomainContext, req: FastifyRequest, reply: FastifyReply, client: AppRecord, request: AuthorizeRequest): Promise<FastifyReply> {
  const session = await sessionOf(s, c, req);
  const now = s.clock.now();
  const prompt = new Set(request.prompt);
  const mfaNeeded = mfaPolicyRequires(c, client, request);
  const mustLogin = !session
    || prompt.has('login') || prompt.has('select_account')
    // OIDC Core §3.1.2.1 max_age: re-authenticate when the last authentication is older.
    || (request.maxAge !== undefined && now - session.authTime > request.maxAge * 1000)
    || (mfaNeeded && !session.amr.includes('mfa'));
  if (mustLogin) {
    // OIDC Core §3.1.2.6: prompt=none never shows a page.
    if (prompt.has('none')) throw new OAuthError('login_required', session ? 'the user must authenticate again' : 'the user is not signed in');
    const binding = browserBinding(req, reply, c);
    const { requestState } = await s.authn.start(c.domain.id, {
      kind: 'authorize', clientId: client.clientId!, request, browser: lookupHash(binding), step: 'credentials', amr: [],
      mfaRequested: request.acrValues.includes(ACR_MFA),
    });
    return reply.status(303).header('cache-control', 'no-store').header('location', signinUrl(c, requestState)).send();
  }
  return continueAuthorization(s, c, req, reply, client, request, authOf(session), undefined, 302);
}

/** Scopes the user would grant, or a redirect error. */
async function grantedScopes(s: Services, c: DomainContext, client: AppRecord, request: AuthorizeRequest, userId: string) {
  const cat = await s.catalogs.catalog(c.domain);
  const roles = await userRoleIds(s.repos, c.domain.id, userId);
  try {
    return { cat, resolved: resolveUserFlowScopes(cat, client, roles, request.scopes) };
  } catch (e) {
    if (e instanceof InvalidScope) throw new OAuthError('invalid_scope', e.description);
    throw e;
  }
}

/**
 * After authentication: consent (remembered per user, client and scope set), then the response.
 * `flow` is the sign-in flow when there is one (it is reused for the consent step, then dropped).
 */
export async function continueAuthorization(
  s: Services, c: DomainContext, req: FastifyRequest, reply: FastifyReply, client: AppRecord, request: AuthorizeRequest, auth: Authentication,
  flow: Flow | undefined, status: 302 | 303, consented = false, requestState = flowRequestState(req),
): Promise<FastifyReply> {
  const { cat, resolved } = await grantedScopes(s, c, client, request, auth.userId);
  if (!consented && !client.bypassConsent) {
    const prior = await s.repos.consents.get(c.domain.id, auth.userId, client.clientId!);
    const covered = prior && resolved.scopes.every((x) => prior.scopes.includes(x));
    if (!covered || request.prompt.includes('consent')) {
      if (request.prompt.includes('none')) throw new OAuthError('consent_required', 'the user has not consented to this request');
      const state: FlowState = flow?.state ?? {
        kind: 'authorize', clientId: client.clientId!, request, step: 'consent', amr: auth.amr, mfaRequested: false, userId: auth.userId, authTime: auth.authTime,
      };
      state.step = 'consent';
      state.sid = auth.sid;
      state.userId = auth.userId;
      if (flow) {
        await s.authn.save(flow);
        return reply.status(303).header('location', signinUrl(c, requestState ?? '')).send();
      }
      const binding = browserBinding(req, reply, c);
      state.browser = lookupHash(binding);
      const started = await s.authn.start(c.domain.id, state);
      return reply.status(303).header('cache-control', 'no-store').header('location', signinUrl(c, started.requestState)).send();
    }
  }
  if (flow) await s.authn.drop(flow);

  const params: Record<string, string | undefined> = { state: request.state };
  if (request.responseType === 'code') {
    const code = newSecret();
    await s.repos.codes.create({
      hash: lookupHash(code), domainId: c.domain.id, clientId: client.clientId!, grantId: newId(), expiresAt: s.clock.now() + s.config.codeTtl * 1000,
      data: {
        userId: auth.userId, redirectUri: request.redirectUri, redirectUriSent: request.redirectUriSent, scopes: resolved.scopes,
        expiry: resolved.expiry, nonce: request.nonce, codeChallenge: request.codeChallenge, authTime: auth.authTime, amr: auth.amr, acr: auth.acr, sid: auth.sid,
      } satisfies CodeData,
    });
    params.code = code;
  } else {
    // Implicit (opted-in clients only; RFC 9700 §2.1.2): tokens in the fragment, never a refresh token.
    const grantId = newId();
    // 'id_token' alone contains "token" too: test the response type exactly.
    if (request.responseType === 'token' || request.responseType === 'id_token token') {
      const user = await s.repos.users.get(c.domain.id, auth.userId);
      const issued = await s.userTokens.issue({
        domain: c.domain, issuer: c.issuer, client, cat, auth, scopes: resolved.scopes, expiry: resolved.expiry, grantId, nonce: request.nonce, refresh: false,
        idToken: request.responseType.includes('id_token'), tokensValidAfter: user?.tokensValidAfter,
      });
      Object.assign(params, {
        access_token: issued.response.access_token, token_type: 'Bearer', expires_in: String(issued.response.expires_in), scope: issued.response.scope,
        id_token: issued.response.id_token,
      });
    } else {
      // OIDC Core §5.4: no access token is issued, so the claims the scopes ask for go in the ID token.
      const claims = await claimsOf(s, c.domain, auth.userId, new Set(resolved.scopes));
      params.id_token = await s.idTokens.issue({
        domain: c.domain, issuer: c.issuer, client, userId: auth.userId, authTime: auth.authTime, nonce: request.nonce, amr: auth.amr, acr: auth.acr, sid: auth.sid,
        claims,
      });
    }
    s.events.emit({
      eventId: 'token.issued', outcome: 'success', domainId: c.domain.id, actorType: 'user', actorId: auth.userId, clientIp: req.ip,
      details: { client_id: client.clientId, response_type: request.responseType, scope: resolved.scopes.join(' ') },
    });
  }
  return sendAuthorizationResponse(reply, { redirectUri: request.redirectUri, responseMode: request.responseMode, issuer: c.issuer, params, status });
}

/** The requestState of a sign-in page request (from its path). */
function flowRequestState(req: FastifyRequest): string | undefined {
  return (req.params as { rs?: string }).rs;
}

/** Built-in pages: GET renders the flow's current step, POST submits it. */
export function signinPages(app: FastifyInstance, s: Services): void {
  const load = async (req: FastifyRequest, _reply: FastifyReply) => {
    const c = ctx(req);
    const rs = flowRequestState(req) ?? '';
    const flow = await s.authn.load(c.domain.id, rs);
    const binding = req.cookies[bindCookieName(c)];
    if (!sameBrowser(req, c, flow)) {
      throw new AuthnError('AUTH-4001', 401, 'This sign-in was started in another browser. Start again from the application.');
    }
    const client = await s.catalogs.client(c.domain.id, flow.state.clientId);
    if (!client?.active) throw new AuthnError('AUTH-4001', 401, 'The application is no longer available.');
    return { c, rs, flow, client, csrf: csrfToken(s, flow.hash, binding ?? ''), action: signinUrl(c, rs) };
  };
  const fail = (reply: FastifyReply, e: unknown) => {
    if (e instanceof AuthnError) return errorPage(reply, e.status === 409 ? 409 : 400, 'Sign-in could not continue', e.message);
    throw e;
  };

  app.get('/ui/v1/signin/:rs', async (req, reply) => {
    let f;
    try { f = await load(req, reply); } catch (e) { return fail(reply, e); }
    try { return await render(s, req, reply, f); } catch (e) { return fail(reply, e); }
  });

  app.post('/ui/v1/signin/:rs', async (req, reply) => {
    let f;
    try { f = await load(req, reply); } catch (e) { return fail(reply, e); }
    const { c, flow, client } = f;
    const body = req.body instanceof FormBody ? req.body.values : {};
    // MF-6: a cross-site POST carries neither the SameSite=Lax binding cookie nor this token.
    if (typeof body.csrf !== 'string' || !safeEqual(body.csrf, f.csrf)) return errorPage(reply, 403, 'Request refused', 'The form has expired or came from another site. Go back and try again.');
    const request = flow.state.request!;
    const op = body.op;
    try {
      if (op === 'cancel') {
        await s.authn.drop(flow);
        return authorizeError(s, c, reply, new OAuthError('access_denied', 'the user cancelled the sign-in'), 303, request);
      }
      let codes: string[] | undefined;
      switch (flow.state.step) {
        case 'credentials':
          if (op !== 'credSubmit') break;
          await s.authn.credSubmit(c.domain, client, flow, body.username, body.password, req.ip);
          break;
        case 'mfa':
          if (op === 'otp') await s.authn.otpSubmit(c.domain, flow, body.otpCode, req.ip);
          else if (op === 'bypass') await s.authn.bypassSubmit(c.domain, flow, body.bypassCode, req.ip);
          break;
        case 'enroll':
          if (op === 'enroll') codes = await s.authn.confirmEnrollment(c.domain, flow, body.otpCode, req.ip);
          break;
        case 'authenticated':
          if (op !== 'continue') break;
          return await finishSignin(s, req, reply, f.flow, client);
        case 'consent': {
          if (op !== 'consent') break;
          if (body.decision !== 'allow') {
            await s.authn.drop(flow);
            s.events.emit({ eventId: 'authorization.denied', outcome: 'failure', domainId: c.domain.id, actorType: 'user', actorId: flow.state.userId, clientIp: req.ip, details: { client_id: client.clientId } });
            return authorizeError(s, c, reply, new OAuthError('access_denied', 'the user denied the request'), 303, request);
          }
          const session = await sessionOf(s, c, req);
          if (!session || session.userId !== flow.state.userId) throw new AuthnError('AUTH-4001', 401, 'Your session ended. Start again from the application.');
          const { resolved } = await grantedScopes(s, c, client, request, session.userId);
          const prior = await s.repos.consents.get(c.domain.id, session.userId, client.clientId!);
          const now = s.clock.now();
          await s.repos.consents.upsert({
            domainId: c.domain.id, userId: session.userId, clientId: client.clientId!, scopes: [...new Set([...(prior?.scopes ?? []), ...resolved.scopes])],
            createdAt: prior?.createdAt ?? now, updatedAt: now,
          });
          s.events.emit({ eventId: 'consent.granted', outcome: 'success', domainId: c.domain.id, actorType: 'user', actorId: session.userId, clientIp: req.ip, details: { client_id: client.clientId, scope: resolved.scopes.join(' ') } });
          return await continueAuthorization(s, c, req, reply, client, request, authOf(session), flow, 303, true);
        }
        default:
          break;
      }
      if (flow.state.step === 'authenticated') {
        if (codes) {
          // Keep the flow at 'authenticated' while the codes are shown; Continue finishes it.
          await s.authn.save(flow);
          return recoveryCodesPage(reply, { action: f.action, csrf: f.csrf, clientName: client.displayName, codes });
        }
        return await finishSignin(s, req, reply, flow, client);
      }
      await s.authn.save(flow);
      return reply.status(303).header('location', f.action).send();
    } catch (e) {
      if (e instanceof AuthnError && (e.code === 'AUTH-3001' || e.code === 'AUTH-3003' || e.code === 'AUTH-1001')) {
        // Keep any progress (an enrolment secret) and show the same step with the error.
        return render(s, req, reply, f, e.message, 401, typeof body.username === 'string' ? body.username : undefined);
      }
      if (e instanceof AuthnError) return errorPage(reply, e.status, 'Sign-in could not continue', e.message);
      return authorizeError(s, c, reply, e, 303, request);
    }
  });
}

/** The user is authenticated: a new SSO session (rotated: any earlier one of this browser ends), then consent or the response. */
async function finishSignin(s: Services, req: FastifyRequest, reply: FastifyReply, flow: Flow, client: AppRecord): Promise<FastifyReply> {
  const session = await startSession(s, req, reply, flow, client);
  return continueAuthorization(s, ctx(req), req, reply, client, flow.state.request!, authOf(session), flow, 303);
}

/** A finished authentication becomes an SSO session: new cookie value (the browser's old session ends), audited. */
export async function startSession(s: Services, req: FastifyRequest, reply: FastifyReply, flow: Flow, client: AppRecord, details: Record<string, unknown> = {}): Promise<SessionRecord> {
  const c = ctx(req);
  const st = flow.state;
  // An authentication finished before a new password or a deactivation (an authnToken kept for later) makes no session.
  if (!authStillValid(await s.repos.users.get(c.domain.id, st.userId!), st.authTime!)) {
    throw new AuthnError('AUTH-4001', 401, 'This sign-in is no longer valid. Start again from the application.');
  }
  const { cookie, session } = await s.sessions.create(c.domain.id, { userId: st.userId!, authTime: st.authTime!, amr: st.amr, acr: acrOf(st.amr) }, req.cookies[sessionCookieName(c)]);
  setSessionCookie(reply, c, cookie, s.config.sessionTtlSeconds);
  s.events.emit({ eventId: 'user.login.succeeded', outcome: 'success', domainId: c.domain.id, actorType: 'user', actorId: st.userId, clientIp: req.ip, details: { client_id: client.clientId, amr: st.amr, ...details } });
  // The consent step reads the session cookie; this request carries the old one, so the new one is put in place for it.
  req.cookies[sessionCookieName(c)] = cookie;
  return session;
}

/** Only the browser that started a flow may continue it (login CSRF, session swapping); flows without a binding pass. */
export function sameBrowser(req: FastifyRequest, c: DomainContext, flow: Flow): boolean {
  if (!flow.state.browser) return true;
  const binding = req.cookies[bindCookieName(c)];
  return binding !== undefined && safeEqual(lookupHash(binding), flow.state.browser);
}

async function render(
  s: Services, req: FastifyRequest, reply: FastifyReply, f: { c: DomainContext; flow: Flow; client: AppRecord; csrf: string; action: string },
  error?: string, status = 200, username?: string,
): Promise<FastifyReply> {
  const { c, flow, client } = f;
  const base = { action: f.action, csrf: f.csrf, clientName: client.displayName, error };
  switch (flow.state.step) {
    case 'credentials':
      return loginPage(reply, { ...base, username: username ?? flow.state.request?.loginHint, domainName: c.domain.displayName }, status);
    case 'mfa':
      return mfaPage(reply, base, status);
    case 'enroll': {
      const user = await s.repos.users.get(c.domain.id, flow.state.userId!);
      let secret: string;
      if (flow.state.enrollSecretEnc) {
        secret = s.totp.decryptSecret(c.domain.id, flow.state.userId!, flow.state.enrollSecretEnc);
      } else {
        await s.authn.startEnrollment(c.domain, flow, user?.userName || flow.state.userId!);
        await s.authn.save(flow);
        secret = s.totp.decryptSecret(c.domain.id, flow.state.userId!, flow.state.enrollSecretEnc!);
      }
      const e = await s.totp.enrolment(secret, user?.userName || flow.state.userId!, c.domain.displayName || c.domain.name);
      return enrollPage(reply, { ...base, ...e }, status);
    }
    case 'authenticated':
      return finishSignin(s, req, reply, flow, client);
    case 'consent': {
      const user = await s.repos.users.get(c.domain.id, flow.state.userId!);
      const { cat, resolved } = await grantedScopes(s, c, client, flow.state.request!, flow.state.userId!);
      const scopes = resolved.scopes.map((v) => {
        return { value: v, description: cat.scopeDescriptions.get(v) ?? OIDC_DESCRIPTIONS[v] };
      });
      return consentPage(reply, { ...base, scopes, userName: user?.userName ?? '' });
    }
    default:
      return errorPage(reply, 400, 'Sign-in could not continue', 'This sign-in has already finished.');
  }
}

const OIDC_DESCRIPTIONS: Record<string, string> = {
  openid: 'Sign you in with your account', profile: 'See your name and profile', email: 'See your email address', phone: 'See your phone number',
  address: 'See your postal address', offline_access: 'Stay signed in (access your data while you are away)', groups: 'See the groups you belong to',
  get_groups: 'See the groups you belong to', approles: 'See your application roles', get_approles: 'See your application roles',
};
