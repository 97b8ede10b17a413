import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { lookupHash, safeEqual } from '../crypto/secrets.js';
import { newSecret } from '../core/ids.js';
import type { AppRecord } from '../core/types.js';
import { adminAudience } from '../identity/catalog.js';
import { ADMIN_SCOPES } from '../identity/builtins.js';
import { currentScopes } from '../identity/token_scopes.js';
import { AuthnError, nextOps, type Flow } from '../identity/authn.js';
import { bearerToken } from '../admin/auth.js';
import { continueAuthorization } from '../authorize/continue.js';
import { authOf, sameBrowser, startSession } from '../http/browser_session.js';
import { ctx, type DomainContext } from '../http/context.js';
import { oauthErrorHandler } from '../http/errors.js';
import { FormBody } from '../http/form.js';
import type { Services } from '../http/services.js';
import { errorPage } from '../ui/html.js';
import { messagePage } from '../ui/pages.js';

type Json = Record<string, unknown>;

/** The seeds' error body: `{"status":"failed","cause":[{"code","message"}],"requestState"?,"nextOp"?}`. */
function failed(reply: FastifyReply, e: AuthnError, requestState?: string): FastifyReply {
  const body: Json = { status: 'failed', cause: [{ code: e.code, message: e.message }] };
  if (requestState) body.requestState = requestState;
  if (e.nextOp) body.nextOp = e.nextOp;
  return reply.status(e.status).header('cache-control', 'no-store').send(body);
}

/** The flow's current state as the Authenticate API describes it (nextOp, nextAuthFactors, factor details). */
function describe(flow: Flow, requestState: string, extra: Json = {}): Json {
  const st = flow.state;
  const body: Json = { status: 'success', requestState, nextOp: nextOps(st) };
  switch (st.step) {
    case 'credentials':
      Object.assign(body, { nextAuthFactors: ['USERNAME_PASSWORD'], USERNAME_PASSWORD: { credentials: ['username', 'password'] } });
      break;
    case 'mfa':
      Object.assign(body, { nextAuthFactors: ['TOTP', 'BYPASSCODE'], TOTP: { credentials: ['otpCode'] }, BYPASSCODE: { credentials: ['bypassCode'] } });
      break;
    case 'enroll':
      Object.assign(body, { nextAuthFactors: ['TOTP'], TOTP: { credentials: st.enrollSecretEnc ? ['otpCode'] : [] } });
      break;
    default:
      break;
  }
  return { ...body, ...extra };
}

const invalidFactor = (v: unknown, allowed: string[]) =>
  new AuthnError('AUTH-1111', 400, `Invalid value [${String(v).slice(0, 40)}] for attribute authFactor. One of [${allowed.join(',')}] was expected.`);

/**
 * The Authenticate API for custom sign-in pages (seeds: `/sso/v1/sdk/authenticate`): a state machine
 * driven by `requestState` and `op`. The caller is the app serving the custom page, with an access
 * token carrying the Signin role's scope. A finished flow yields a single-use `authnToken`, which the
 * user's browser posts to `/sso/v1/sdk/session` to get the SSO session cookie.
 */
export function authenticateEndpoints(app: FastifyInstance, s: Services): void {
  const caller = async (req: FastifyRequest): Promise<void> => {
    const c = ctx(req);
    const raw = bearerToken(req.headers.authorization);
    const v = raw ? await s.validator.validateAtResource(c.domain, c.issuer, raw, s.clientCertificates.of(req).certificate?.thumbprint) : undefined;
    if (!v || !v.aud.includes(adminAudience(c.issuer))) throw new AuthnError('AUTH-4010', 401, 'A valid bearer access token is required.');
    if (!(await currentScopes(s, c.domain, v)).includes(ADMIN_SCOPES.signin)) throw new AuthnError('AUTH-4030', 403, `The access token lacks the scope ${ADMIN_SCOPES.signin} (Signin role).`);
  };
  const guard = async (req: FastifyRequest, reply: FastifyReply, f: () => Promise<FastifyReply | Json>, requestState?: string) => {
    try {
      await caller(req);
      return await f();
    } catch (e) {
      if (e instanceof AuthnError) {
        if (e.code === 'AUTH-4010') reply.header('www-authenticate', `Bearer realm="${ctx(req).issuer}"`);
        return failed(reply, e, requestState);
      }
      throw e;
    }
  };

  // The Authenticate API is JSON: what its own error shape does not cover is an OAuth-style JSON error (503 when the store is down).
  app.get('/sso/v1/sdk/authenticate', { errorHandler: oauthErrorHandler }, async (req, reply) => {
    const q = (req.query ?? {}) as Record<string, unknown>;
    return guard(req, reply, async () => {
      const c = ctx(req);
      reply.header('cache-control', 'no-store');
      if (typeof q.requestState === 'string') {
        const flow = await s.authn.load(c.domain.id, q.requestState);
        return describe(flow, q.requestState);
      }
      if (typeof q.appName !== 'string' || q.appName.length === 0 || q.appName.length > 256) {
        throw new AuthnError('AUTH-1001', 422, 'appName (or requestState) is required.');
      }
      const client = await appByName(s, c, q.appName);
      if (!client) throw new AuthnError('AUTH-1111', 400, `Invalid value [${q.appName.slice(0, 60)}] for attribute appName.`);
      const { requestState, flow } = await s.authn.start(c.domain.id, { kind: 'api', clientId: client.clientId!, step: 'credentials', amr: [], mfaRequested: false });
      return describe(flow, requestState);
    });
  });

  app.post('/sso/v1/sdk/authenticate', { errorHandler: oauthErrorHandler }, async (req, reply) => {
    const b = (req.body && typeof req.body === 'object' && !(req.body instanceof FormBody) ? req.body : {}) as Json;
    const requestState = typeof b.requestState === 'string' ? b.requestState : undefined;
    return guard(req, reply, async () => {
      const c = ctx(req);
      reply.header('cache-control', 'no-store');
      if (!requestState) throw new AuthnError('AUTH-1001', 422, 'requestState is required.', ['credSubmit']);
      const flow = await s.authn.load(c.domain.id, requestState);
      const client = await s.catalogs.client(c.domain.id, flow.state.clientId);
      if (!client?.active) throw new AuthnError('AUTH-4001', 401, 'The application is no longer available.');
      const op = b.op;
      if (typeof op !== 'string') throw new AuthnError('AUTH-1001', 422, 'op is required.', nextOps(flow.state));
      const cred = (b.credentials && typeof b.credentials === 'object' ? b.credentials : {}) as Json;
      const extra: Json = {};
      switch (flow.state.step) {
        case 'credentials':
          if (op !== 'credSubmit') throw new AuthnError('AUTH-4002', 422, 'This operation is not allowed now.', nextOps(flow.state));
          await s.authn.credSubmit(c.domain, client, flow, cred.username, cred.password, req.ip);
          break;
        case 'mfa': {
          if (op !== 'credSubmit') throw new AuthnError('AUTH-4002', 422, 'This operation is not allowed now.', nextOps(flow.state));
          const factor = b.authFactor ?? (cred.bypassCode !== undefined ? 'BYPASSCODE' : 'TOTP');
          if (factor === 'TOTP') await s.authn.otpSubmit(c.domain, flow, cred.otpCode, req.ip);
          else if (factor === 'BYPASSCODE') await s.authn.bypassSubmit(c.domain, flow, cred.bypassCode, req.ip);
          else throw invalidFactor(factor, ['TOTP', 'BYPASSCODE']);
          break;
        }
        case 'enroll': {
          const factor = b.authFactor ?? 'TOTP';
          if (factor !== 'TOTP') throw invalidFactor(factor, ['TOTP']);
          if (op === 'enrollment') {
            const user = await s.repos.users.get(c.domain.id, flow.state.userId!);
            const e = await s.authn.startEnrollment(c.domain, flow, user?.userName || flow.state.userId!);
            extra.TOTP = { credentials: ['otpCode'], secret: e.secret, otpauthUri: e.otpauthUri, qrCode: e.qrSvg };
          } else if (op === 'credSubmit') {
            extra.bypassCodes = await s.authn.confirmEnrollment(c.domain, flow, cred.otpCode, req.ip);
          } else throw new AuthnError('AUTH-4002', 422, 'This operation is not allowed now.', nextOps(flow.state));
          break;
        }
        default:
          throw new AuthnError('AUTH-4002', 422, 'This sign-in is already complete.', []);
      }
      // A failed step threw above without saving: the flow stays where it was (a pending enrolment secret too).
      if ((flow.state.step as string) === 'authenticated') {
        const authnToken = newSecret();
        flow.state.authnTokenHash = lookupHash(authnToken);
        await s.authn.save(flow);
        return { status: 'success', requestState, authnToken, nextOp: [], ...(extra.bypassCodes ? { bypassCodes: extra.bypassCodes } : {}) };
      }
      await s.authn.save(flow);
      return describe(flow, requestState, extra);
    }, requestState);
  });

  /** The browser finishes a custom-page sign-in: authnToken -> SSO session cookie (rotated), then back to the authorization request. */
  app.post('/sso/v1/sdk/session', async (req, reply) => {
    const c = ctx(req);
    const body = req.body instanceof FormBody ? req.body.values : {};
    let flow: Flow;
    try {
      flow = await s.authn.load(c.domain.id, body.requestState);
    } catch (e) {
      // Only an unknown or expired requestState is the user's problem; a store outage is a 503.
      if (!(e instanceof AuthnError)) throw e;
      return errorPage(reply, 401, 'Sign-in could not continue', 'The sign-in has expired. Start again from the application.');
    }
    const st = flow.state;
    const token = body.authnToken;
    if (st.step !== 'authenticated' || !st.authnTokenHash || typeof token !== 'string' || !safeEqual(lookupHash(token), st.authnTokenHash)) {
      return errorPage(reply, 401, 'Sign-in could not continue', 'The sign-in token is not valid.');
    }
    if (!sameBrowser(req, c, flow)) return errorPage(reply, 401, 'Sign-in could not continue', 'This sign-in was started in another browser.');
    const client = await s.catalogs.client(c.domain.id, st.clientId);
    if (!client?.active) return errorPage(reply, 400, 'Sign-in could not continue', 'The application is no longer available.');
    // Single use: the flow moves on before the session exists.
    delete st.authnTokenHash;
    st.step = 'done';
    try { await s.authn.save(flow); } catch (e) {
      if (!(e instanceof AuthnError)) throw e;
      return errorPage(reply, 409, 'Sign-in could not continue', 'This sign-in was already used.');
    }
    let session;
    try { session = await startSession(s, req, reply, flow, client, { via: 'authenticate-api' }); } catch (e) {
      if (!(e instanceof AuthnError)) throw e;
      return errorPage(reply, e.status, 'Sign-in could not continue', e.message);
    }
    if (st.kind === 'authorize' && st.request) {
      return continueAuthorization(s, c, req, reply, client, st.request, authOf(session), { flow, requestState: body.requestState, status: 303 });
    }
    await s.authn.drop(flow);
    return messagePage(reply, 'Signed in', `You are signed in to ${client.displayName}.`);
  });
}

async function appByName(s: Services, c: DomainContext, name: string): Promise<AppRecord | undefined> {
  const byId = await s.catalogs.client(c.domain.id, name);
  if (byId?.active) return byId;
  const lower = name.toLowerCase();
  return (await s.repos.apps.list(c.domain.id)).find((a) => a.isOAuthClient && a.active && a.displayName.toLowerCase() === lower);
}
