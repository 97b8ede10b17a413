import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from '../core/errors.js';
import type { AppRecord } from '../core/types.js';
import { safeEqual } from '../crypto/secrets.js';
import { describeScopes, grantedScopes, recordConsent } from '../authorize/consent.js';
import { continueAuthorization } from '../authorize/continue.js';
import { authorizeError } from '../authorize/error.js';
import type { AuthorizeRequest } from '../authorize/request.js';
import { approveDevice, denyDevice, DevicePageError, deviceScopes, pendingDevice } from '../device/approval.js';
import { authOf, bindingOf, csrfToken, sameBrowser, sessionOf, signinUrl, startSession } from '../http/browser_session.js';
import { ctx, type DomainContext } from '../http/context.js';
import { FormBody } from '../http/form.js';
import type { Services } from '../http/services.js';
import { AuthnError, type Flow, type FlowState } from '../identity/authn.js';
import { isStoreUnavailable } from '../storage/errors.js';
import { errorPage, unavailablePage } from '../ui/html.js';
import { consentPage, deviceConfirmPage, enrollPage, loginPage, messagePage, mfaPage, recoveryCodesPage } from '../ui/pages.js';

/**
 * The sign-in controller behind the built-in pages (`/ui/v1/signin/{requestState}`): GET renders the
 * flow's current step, POST submits it. The steps themselves (password, one-time code, enrolment) are
 * the Authenticator's (identity/authn.ts); this file turns them into pages, and hands a finished
 * sign-in to what the flow is for.
 */

/** What a page flow serves, checked once per request: an authorization request, or a device to approve (RFC 8628 §3.3). */
type Purpose = { kind: 'authorize'; request: AuthorizeRequest } | { kind: 'device'; deviceCodeHash: string };

/** The flow at its current step, with exactly the fields that step needs (checked, never assumed). */
type Step =
  | { step: 'credentials' }
  | { step: 'mfa'; userId: string }
  | { step: 'enroll'; userId: string; enrollSecretEnc?: string }
  | { step: 'authenticated'; userId: string; authTime: number }
  | { step: 'consent'; userId: string }
  | { step: 'done' };

const broken = () => new AuthnError('AUTH-4001', 401, 'This sign-in cannot continue. Start again from the application.');

function stepOf(st: FlowState): Step {
  if (st.step === 'credentials' || st.step === 'done') return { step: st.step };
  const userId = st.userId;
  if (!userId) throw broken();
  switch (st.step) {
    case 'mfa': return { step: 'mfa', userId };
    case 'enroll': return { step: 'enroll', userId, enrollSecretEnc: st.enrollSecretEnc };
    case 'authenticated':
      if (st.authTime === undefined) throw broken();
      return { step: 'authenticated', userId, authTime: st.authTime };
    case 'consent': return { step: 'consent', userId };
  }
}

function purposeOf(st: FlowState): Purpose {
  // Authenticate API flows (kind 'api') are driven by the custom page's app, not by these pages.
  if (st.kind === 'authorize' && st.request) return { kind: 'authorize', request: st.request };
  if (st.kind === 'device' && st.deviceCodeHash) return { kind: 'device', deviceCodeHash: st.deviceCodeHash };
  throw broken();
}

/** One page request: the flow, its client and purpose, and the form's CSRF token and action. */
interface PageFlow {
  c: DomainContext;
  rs: string;
  flow: Flow;
  client: AppRecord;
  purpose: Purpose;
  csrf: string;
  action: string;
}

export function signinPages(app: FastifyInstance, s: Services): void {
  const load = async (req: FastifyRequest): Promise<PageFlow> => {
    const c = ctx(req);
    const rs = (req.params as { rs?: string }).rs ?? '';
    const flow = await s.authn.load(c.domain.id, rs);
    if (!sameBrowser(req, c, flow)) {
      throw new AuthnError('AUTH-4001', 401, 'This sign-in was started in another browser. Start again from the application.');
    }
    const client = await s.catalogs.client(c.domain.id, flow.state.clientId);
    if (!client?.active) throw new AuthnError('AUTH-4001', 401, 'The application is no longer available.');
    return { c, rs, flow, client, purpose: purposeOf(flow.state), csrf: csrfToken(s, flow.hash, bindingOf(req, c) ?? ''), action: signinUrl(c, rs) };
  };
  const fail = (reply: FastifyReply, e: unknown) => {
    if (e instanceof AuthnError) return errorPage(reply, e.status === 409 ? 409 : 400, 'Sign-in could not continue', e.message);
    if (e instanceof DevicePageError) return errorPage(reply, e.status, e.title, e.detail);
    throw e;
  };

  app.get('/ui/v1/signin/:rs', async (req, reply) => {
    let f;
    try { f = await load(req); } catch (e) { return fail(reply, e); }
    try { return await render(s, req, reply, f); } catch (e) { return fail(reply, e); }
  });

  app.post('/ui/v1/signin/:rs', async (req, reply) => {
    let f;
    try { f = await load(req); } catch (e) { return fail(reply, e); }
    const { c, flow, client } = f;
    const body = req.body instanceof FormBody ? req.body.values : {};
    // MF-6: a cross-site POST carries neither the SameSite=Lax binding cookie nor this token.
    if (typeof body.csrf !== 'string' || !safeEqual(body.csrf, f.csrf)) return errorPage(reply, 403, 'Request refused', 'The form has expired or came from another site. Go back and try again.');
    const op = body.op;
    try {
      if (op === 'cancel') {
        await s.authn.drop(flow);
        return cancelled(s, reply, f);
      }
      const step = stepOf(flow.state);
      let codes: string[] | undefined;
      switch (step.step) {
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
          return await finishSignin(s, req, reply, f);
        case 'consent':
          if (op !== 'consent') break;
          return await consentSubmit(s, req, reply, f, step, body.decision);
        default:
          break;
      }
      if (flow.state.step === 'authenticated') {
        if (codes) {
          // Keep the flow at 'authenticated' while the codes are shown; Continue finishes it.
          await s.authn.save(flow);
          return recoveryCodesPage(reply, { action: f.action, csrf: f.csrf, clientName: client.displayName, codes });
        }
        return await finishSignin(s, req, reply, f);
      }
      await s.authn.save(flow);
      return reply.status(303).header('location', f.action).send();
    } catch (e) {
      if (e instanceof AuthnError && (e.code === 'AUTH-3001' || e.code === 'AUTH-3003' || e.code === 'AUTH-1001')) {
        // Keep any progress (an enrolment secret) and show the same step with the error.
        return render(s, req, reply, f, e.message, 401, typeof body.username === 'string' ? body.username : undefined);
      }
      if (e instanceof AuthnError) return errorPage(reply, e.status, 'Sign-in could not continue', e.message);
      return failed(s, reply, f, e);
    }
  });
}

/** The user cancelled: the authorization request ends with access_denied at the client; a device keeps waiting until it expires. */
function cancelled(s: Services, reply: FastifyReply, f: PageFlow): FastifyReply {
  if (f.purpose.kind === 'device') return messagePage(reply, 'Cancelled', 'Nothing was shared with the device. You can close this window.');
  return authorizeError(s, f.c, reply, new OAuthError('access_denied', 'the user cancelled the sign-in'), 303, f.purpose.request);
}

/** Anything else that went wrong, in the way the flow's purpose reports errors. */
function failed(s: Services, reply: FastifyReply, f: PageFlow, e: unknown): FastifyReply {
  if (f.purpose.kind === 'device') return devicePageError(s, reply, e);
  return authorizeError(s, f.c, reply, e, 303, f.purpose.request);
}

/** Device verification errors are pages: there is no redirect URI to send them to. */
function devicePageError(s: Services, reply: FastifyReply, e: unknown): FastifyReply {
  if (e instanceof DevicePageError) return errorPage(reply, e.status, e.title, e.detail);
  if (e instanceof AuthnError) return errorPage(reply, e.status, 'Sign-in could not continue', e.message);
  if ((e instanceof OAuthError && e.status === 503) || isStoreUnavailable(e)) return unavailablePage(reply);
  if (e instanceof OAuthError && e.status < 500) return errorPage(reply, e.status, 'Request refused', e.description);
  s.log.error({ err: e }, 'device verification failed');
  return errorPage(reply, 500, 'Something went wrong', 'The request could not be completed.');
}

/** The user's decision at the confirmation step: consent to an authorization request, or approval of a device. */
async function consentSubmit(s: Services, req: FastifyRequest, reply: FastifyReply, f: PageFlow, step: { userId: string }, decision: unknown): Promise<FastifyReply> {
  const { c, flow, client, purpose } = f;
  if (purpose.kind === 'device') return deviceSubmit(s, req, reply, f, purpose.deviceCodeHash, step, decision);
  if (decision !== 'allow') {
    await s.authn.drop(flow);
    s.events.emit({ eventId: 'authorization.denied', outcome: 'failure', domainId: c.domain.id, actorType: 'user', actorId: step.userId, clientIp: req.ip, details: { client_id: client.clientId } });
    return authorizeError(s, c, reply, new OAuthError('access_denied', 'the user denied the request'), 303, purpose.request);
  }
  const session = await sessionOf(s, c, req);
  if (!session || session.userId !== step.userId) throw new AuthnError('AUTH-4001', 401, 'Your session ended. Start again from the application.');
  // The roles are resolved once here and passed on to the response.
  const granted = await grantedScopes(s, c, client, purpose.request.scopes, session.userId);
  await recordConsent(s, c, session.userId, client, granted.resolved.scopes, req.ip);
  return continueAuthorization(s, c, req, reply, client, purpose.request, authOf(session), { flow, requestState: f.rs, status: 303, consented: true, granted });
}

/** RFC 8628 §3.3: the user approves or denies the device; either way the flow ends here. */
async function deviceSubmit(s: Services, req: FastifyRequest, reply: FastifyReply, f: PageFlow, deviceCodeHash: string, step: { userId: string }, decision: unknown): Promise<FastifyReply> {
  const { c, flow } = f;
  const { rec, client } = await pendingDevice(s, c, deviceCodeHash);
  const session = await sessionOf(s, c, req);
  if (!session || session.userId !== step.userId) throw new AuthnError('AUTH-4001', 401, 'Your session ended. Enter the code again.');
  if (decision !== 'allow') {
    await denyDevice(s, c, req.ip, rec, client, session.userId);
    await s.authn.drop(flow);
    return messagePage(reply, 'Device not connected', `You denied ${client.displayName} access. You can close this window.`);
  }
  await approveDevice(s, c, req.ip, rec, client, session);
  await s.authn.drop(flow);
  return messagePage(reply, 'Device connected', `${client.displayName} is now signed in on your device. You can close this window and return to it.`);
}

/** The user is authenticated: a new SSO session (rotated: any earlier one of this browser ends), then what the flow is for. */
async function finishSignin(s: Services, req: FastifyRequest, reply: FastifyReply, f: PageFlow): Promise<FastifyReply> {
  const session = await startSession(s, req, reply, f.flow, f.client);
  if (f.purpose.kind === 'device') {
    // On to the confirmation step (RFC 8628 §5.4: never approved without the user saying so).
    Object.assign(f.flow.state, { step: 'consent', sid: session.sid });
    await s.authn.save(f.flow);
    return reply.status(303).header('location', f.action).send();
  }
  return continueAuthorization(s, f.c, req, reply, f.client, f.purpose.request, authOf(session), { flow: f.flow, requestState: f.rs, status: 303 });
}

async function render(s: Services, req: FastifyRequest, reply: FastifyReply, f: PageFlow, error?: string, status = 200, username?: string): Promise<FastifyReply> {
  const { c, flow, client } = f;
  const base = { action: f.action, csrf: f.csrf, clientName: client.displayName, error };
  const step = stepOf(flow.state);
  switch (step.step) {
    case 'credentials':
      return loginPage(reply, { ...base, username: username ?? (f.purpose.kind === 'authorize' ? f.purpose.request.loginHint : undefined), domainName: c.domain.displayName }, status);
    case 'mfa':
      return mfaPage(reply, base, status);
    case 'enroll': {
      const user = await s.repos.users.get(c.domain.id, step.userId);
      const account = user?.userName || step.userId;
      let secret: string;
      if (step.enrollSecretEnc) {
        secret = s.totp.decryptSecret(c.domain.id, step.userId, step.enrollSecretEnc);
      } else {
        secret = (await s.authn.startEnrollment(c.domain, flow, account)).secret;
        await s.authn.save(flow);
      }
      const e = await s.totp.enrolment(secret, account, c.domain.displayName || c.domain.name);
      return enrollPage(reply, { ...base, ...e }, status);
    }
    case 'authenticated':
      return finishSignin(s, req, reply, f);
    case 'consent': {
      const user = await s.repos.users.get(c.domain.id, step.userId);
      if (f.purpose.kind === 'device') {
        const { rec } = await pendingDevice(s, c, f.purpose.deviceCodeHash);
        const { cat, resolved } = await deviceScopes(s, c, rec, client, step.userId);
        return deviceConfirmPage(reply, { ...base, scopes: describeScopes(cat, resolved.scopes), userName: user?.userName ?? '' });
      }
      const { cat, resolved } = await grantedScopes(s, c, client, f.purpose.request.scopes, step.userId);
      return consentPage(reply, { ...base, scopes: describeScopes(cat, resolved.scopes), userName: user?.userName ?? '' });
    }
    default:
      return errorPage(reply, 400, 'Sign-in could not continue', 'This sign-in has already finished.');
  }
}
