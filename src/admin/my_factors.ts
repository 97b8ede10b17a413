/**
 * Self-service second factors for the account page (issue 11), after Oracle identity domains' My...
 * endpoints, with the Me scope and for the signed-in user only:
 *   GET  ISSUER/admin/v1/MyAuthenticationFactors            what is enrolled, bypass codes left, the domain's policy
 *   POST ISSUER/admin/v1/MyAuthenticationFactorInitiator    start a TOTP enrolment (current password required)
 *   POST ISSUER/admin/v1/MyAuthenticationFactorValidator    confirm it with a current code (only then is it active)
 *   POST ISSUER/admin/v1/MyAuthenticationFactorsRemover     remove my TOTP factor (current password required)
 *   POST ISSUER/admin/v1/MyBypassCodesRegenerator           a new set of bypass codes (current password required)
 *
 * Sensitive steps ask for the current password rather than a recent sign-in: a token's auth_time is not
 * carried into access tokens, a password check works the same for every client, and it is throttled as
 * sign-in is (self.ts). When the domain's MFA policy is `always`, a factor cannot be removed, only replaced
 * (a new enrolment replaces it when confirmed), so the account never stands without one.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../http/services.js';
import { TOTP_DIGITS, TOTP_PERIOD } from '../identity/totp.js';
import { ScimError } from '../scim/errors.js';
import type { UserRecord } from '../storage/ports.js';
import type { SecurityEventId } from '../events/emitter.js';
import { iso } from './resource.js';
import { actionBody, confirmPassword, selfUser } from './self.js';

const SCHEMA = (name: string) => `urn:ietf:params:scim:schemas:oracle:idcs:${name}`;
export const MY_FACTORS_SCHEMA = SCHEMA('MyAuthenticationFactors');
export const MY_FACTOR_INITIATOR_SCHEMA = SCHEMA('MyAuthenticationFactorInitiator');
export const MY_FACTOR_VALIDATOR_SCHEMA = SCHEMA('MyAuthenticationFactorValidator');
export const MY_FACTORS_REMOVER_SCHEMA = SCHEMA('MyAuthenticationFactorsRemover');
export const MY_BYPASS_CODES_SCHEMA = SCHEMA('MyBypassCodesRegenerator');
/** The one factor type there is (Oracle's authFactor value). */
const TOTP = 'TOTP';

export function myFactorRoutes(app: FastifyInstance, s: Services): void {
  const audit = (req: FastifyRequest, eventId: SecurityEventId, user: UserRecord, details?: Record<string, unknown>) => s.events.emit({
    eventId, outcome: 'success', domainId: req.tessera.domain.id, actorType: 'user', actorId: user.id, clientIp: req.ip,
    targetType: 'User', targetId: user.id, ...(details ? { details } : {}),
  });
  const authFactor = (b: Map<string, unknown>): void => {
    const f = b.get('authfactor');
    if (typeof f !== 'string' || f.toUpperCase() !== TOTP) throw new ScimError(400, 'invalidValue', `authFactor must be "${TOTP}"`);
  };
  const mfaRequired = (req: FastifyRequest): boolean => req.tessera.domain.settings.mfaPolicy === 'always';
  const created = (reply: FastifyReply): void => { void reply.status(201).type('application/scim+json'); };

  app.get('/MyAuthenticationFactors', async (req, reply) => {
    const u = await selfUser(s, req);
    const domainId = req.tessera.domain.id;
    const [factors, remaining, pending] = await Promise.all([
      s.totp.listFactors(domainId, u.id), s.totp.remainingRecoveryCodes(domainId, u.id), s.totp.pendingEnrolment(domainId, u.id),
    ]);
    reply.type('application/scim+json');
    return {
      schemas: [MY_FACTORS_SCHEMA],
      mfaRequired: mfaRequired(req),
      factors: factors.map((f) => ({ authFactor: TOTP, enrolledAt: iso(f.createdAt) })),
      bypassCodesRemaining: remaining,
      ...(pending ? { pendingEnrolment: { authFactor: TOTP, expiresAt: iso(pending.expiresAt) } } : {}),
    };
  });

  app.post('/MyAuthenticationFactorInitiator', async (req, reply) => {
    const u = await selfUser(s, req);
    const b = actionBody(req.body, MY_FACTOR_INITIATOR_SCHEMA, ['authFactor', 'password']);
    authFactor(b);
    await confirmPassword(s, req, u, b.get('password'), 'user.mfa.enrolled');
    const c = req.tessera;
    const e = await s.totp.startPendingEnrolment(c.domain.id, u.id, u.userName, c.domain.displayName || c.domain.name);
    created(reply);
    return {
      schemas: [MY_FACTOR_INITIATOR_SCHEMA], authFactor: TOTP,
      secret: e.secret, otpauthUri: e.otpauthUri,
      // The QR code is drawn here from the URI alone (no request text in it), as an SVG the page shows as an <img>.
      qrCode: `data:image/svg+xml;base64,${Buffer.from(e.qrSvg).toString('base64')}`,
      digits: TOTP_DIGITS, period: TOTP_PERIOD, expiresAt: iso(e.expiresAt),
    };
  });

  app.post('/MyAuthenticationFactorValidator', async (req, reply) => {
    const u = await selfUser(s, req);
    const b = actionBody(req.body, MY_FACTOR_VALIDATOR_SCHEMA, ['authFactor', 'otpCode']);
    authFactor(b);
    const code = b.get('otpcode');
    if (typeof code !== 'string' || code === '') throw new ScimError(400, 'invalidValue', 'otpCode is required');
    const domainId = req.tessera.domain.id;
    // Wrong codes count as failed sign-ins do (RFC 4226 §7.3): the 10^6 codes must not be tried through the API.
    const none = () => new ScimError(400, 'invalidValue', 'no enrolment is in progress (it expired or was confirmed): start one with MyAuthenticationFactorInitiator');
    if (!(await s.totp.pendingEnrolment(domainId, u.id))) throw none();
    // Each check is claimed before it runs (throttle.claim): parallel guesses past the limit are refused unchecked.
    // (A claim is never given back unchecked: that would reset the counter the password guesses share.)
    const claimed = await s.throttle.claim(domainId, u.id, req.ip);
    const outcome = claimed ? await s.totp.confirmPendingEnrolment(domainId, u.id, code) : 'wrong';
    if (outcome === 'none') throw none();
    if (outcome === 'wrong') {
      await s.throttle.claimFailed(domainId, u.id, req.ip);
      s.events.emit({
        eventId: 'user.mfa.enrolled', outcome: 'failure', domainId, actorType: 'user', actorId: u.id, clientIp: req.ip,
        targetType: 'User', targetId: u.id, message: 'bad enrolment code',
      });
      throw new ScimError(400, 'invalidValue', 'otpCode is not correct');
    }
    await s.throttle.release(domainId, u.id, req.ip);
    await s.throttle.success(domainId, u.id);
    // As at sign-in enrolment: a new factor comes with a new set of bypass codes (the old set no longer works).
    const bypassCodes = await s.totp.newRecoveryCodes(domainId, u.id);
    audit(req, 'user.mfa.enrolled', u);
    created(reply);
    return { schemas: [MY_FACTOR_VALIDATOR_SCHEMA], authFactor: TOTP, status: 'ENROLLED', bypassCodes };
  });

  app.post('/MyAuthenticationFactorsRemover', async (req, reply) => {
    const u = await selfUser(s, req);
    const b = actionBody(req.body, MY_FACTORS_REMOVER_SCHEMA, ['authFactor', 'password']);
    authFactor(b);
    await confirmPassword(s, req, u, b.get('password'), 'user.mfa.removed');
    const domainId = req.tessera.domain.id;
    if (!(await s.totp.hasFactor(domainId, u.id))) throw new ScimError(404, undefined, 'no TOTP factor is enrolled');
    if (mfaRequired(req)) {
      throw new ScimError(400, 'mutability', 'this identity domain requires a second factor: enrol a new one instead (it replaces this one when confirmed)');
    }
    // The factor goes with its bypass codes and any enrolment in progress, as the administrators' remover does.
    const removed = await s.totp.reset(domainId, u.id);
    audit(req, 'user.mfa.removed', u, { removed });
    created(reply);
    return { schemas: [MY_FACTORS_REMOVER_SCHEMA], authFactor: TOTP, removed };
  });

  app.post('/MyBypassCodesRegenerator', async (req, reply) => {
    const u = await selfUser(s, req);
    const b = actionBody(req.body, MY_BYPASS_CODES_SCHEMA, ['password']);
    await confirmPassword(s, req, u, b.get('password'), 'user.mfa.recovery_codes_regenerated');
    const domainId = req.tessera.domain.id;
    // Bypass codes stand in for the second factor: without one they would be asked for nowhere.
    if (!(await s.totp.hasFactor(domainId, u.id))) throw new ScimError(400, 'invalidValue', 'enrol a TOTP factor first: bypass codes stand in for it');
    const bypassCodes = await s.totp.newRecoveryCodes(domainId, u.id);
    audit(req, 'user.mfa.recovery_codes_regenerated', u, { count: bypassCodes.length });
    created(reply);
    return { schemas: [MY_BYPASS_CODES_SCHEMA], bypassCodes };
  });
}
