import type { FastifyInstance } from 'fastify';
import { lookupHash, safeEqual } from '../crypto/secrets.js';
import { DevicePageError, pendingDevice } from '../device/approval.js';
import { normalizeUserCode, userCodeHash } from '../device/user_code.js';
import { browserBinding, bindingOf, csrfToken, sessionOf, signinUrl } from '../http/browser_session.js';
import { ctx, type DomainContext } from '../http/context.js';
import { FormBody } from '../http/form.js';
import type { Services } from '../http/services.js';
import { mfaPolicyOf } from '../identity/authn.js';
import { errorPage } from '../ui/html.js';
import { deviceCodePage } from '../ui/pages.js';

/** The entry form's CSRF token: not tied to a flow (there is none yet), so bound to the browser alone. */
const ENTRY = 'device-entry';

/**
 * GET|POST /ui/v1/device (RFC 8628 §3.3, the `verification_uri`). GET shows the form, pre-filled
 * from `verification_uri_complete`'s `user_code` (never looked up on GET: a link alone does nothing).
 * POST looks the code up (wrong codes throttled per browser and address, §5.1) and hands over to the
 * sign-in pages: the login and MFA steps when needed, then the confirmation (§5.4).
 */
export function deviceVerificationPages(app: FastifyInstance, s: Services): void {
  const action = (c: DomainContext) => `${c.issuer}/ui/v1/device`;

  app.get('/ui/v1/device', async (req, reply) => {
    const c = ctx(req);
    const binding = browserBinding(req, reply, c);
    const q = (req.query ?? {}) as Record<string, unknown>;
    // Only a well-formed code is put back into the page (a 60 KB or odd value is dropped, not echoed).
    const code = normalizeUserCode(q.user_code);
    return deviceCodePage(reply, { action: action(c), csrf: csrfToken(s, ENTRY, binding), userCode: code && `${code.slice(0, 4)}-${code.slice(4)}`, domainName: c.domain.displayName });
  });

  app.post('/ui/v1/device', async (req, reply) => {
    const c = ctx(req);
    const binding = bindingOf(req, c);
    const body = req.body instanceof FormBody ? req.body.values : {};
    // A cross-site POST carries neither the SameSite=Lax binding cookie nor this token.
    if (!binding || binding.length > 100 || typeof body.csrf !== 'string' || !safeEqual(body.csrf, csrfToken(s, ENTRY, binding))) {
      return errorPage(reply, 403, 'Request refused', 'The form has expired or came from another site. Go back and try again.');
    }
    const browser = lookupHash(binding);
    const again = (status: number, error: string) =>
      deviceCodePage(reply, { action: action(c), csrf: csrfToken(s, ENTRY, binding), domainName: c.domain.displayName, error }, status);
    if (await s.userCodeThrottle.locked(c.domain.id, browser, req.ip)) {
      return again(429, 'Too many wrong codes. Wait a few minutes, then try again.');
    }
    const code = normalizeUserCode(body.user_code);
    const rec = code ? await s.repos.deviceCodes.getByUserCode(c.domain.id, userCodeHash(s.masterKey, code)) : undefined;
    if (!rec) {
      await s.userCodeThrottle.failure(c.domain.id, browser, req.ip);
      return again(400, code ? 'That code is not known. Check the code on your device.' : 'That is not a valid code. It has 8 letters, like BCDF-GHJK.');
    }
    let client;
    try {
      ({ client } = await pendingDevice(s, c, rec.deviceCodeHash));
    } catch (e) {
      if (e instanceof DevicePageError) return errorPage(reply, e.status, e.title, e.detail);
      throw e;
    }
    // SSO: a signed-in user goes straight to the confirmation, unless the sign-on policy wants a second
    // factor the session lacks (checklist MF-4: no path skips it). Device requests carry no acr_values.
    const session = await sessionOf(s, c, req);
    const mustLogin = !session || (mfaPolicyOf(c.domain, client) === 'always' && !session.amr.includes('mfa'));
    const { requestState } = await s.authn.start(c.domain.id, mustLogin
      ? { kind: 'device', clientId: client.clientId!, deviceCodeHash: rec.deviceCodeHash, browser, step: 'credentials', amr: [], mfaRequested: false }
      : {
        kind: 'device', clientId: client.clientId!, deviceCodeHash: rec.deviceCodeHash, browser, step: 'consent', amr: session.amr, mfaRequested: false,
        userId: session.userId, authTime: session.authTime, sid: session.sid,
      });
    return reply.status(303).header('cache-control', 'no-store').header('location', signinUrl(c, requestState)).send();
  });
}

