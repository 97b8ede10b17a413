import type { Clock } from '../core/clock.js';
import { newSecret } from '../core/ids.js';
import type { AppRecord, DomainRecord, MfaPolicy } from '../core/types.js';
import { lookupHash } from '../crypto/secrets.js';
import type { AuthorizeRequest } from '../authorize/request.js';
import { ACR_MFA, ACR_PASSWORD } from './acr.js';
import { bool, num, object, oneOf, opt, read, str, strs } from '../core/shape.js';
import { authorizeRequestShape } from '../authorize/request.js';
import type { SecurityEvents } from '../events/emitter.js';
import type { AuthFlowRepository, UserRecord, UserRepository } from '../storage/ports.js';
import type { LoginThrottle } from './throttle.js';
import type { TotpService } from './totp.js';
import type { UserService } from './users.js';

/**
 * The sign-in state machine behind both the Authenticate API (`/sso/v1/sdk/authenticate`, the seeds'
 * requestState / op / nextOp protocol) and the built-in pages:
 *
 *   credentials --credSubmit(username, password)--> mfa | enroll | authenticated
 *   mfa         --credSubmit(otpCode | bypassCode)--> authenticated
 *   enroll      --enrollment--> (secret issued) --credSubmit(otpCode)--> authenticated (+ bypass codes, shown once)
 *   authenticated --(authorize flows)--> consent --> done
 */
export type FlowStep = 'credentials' | 'mfa' | 'enroll' | 'authenticated' | 'consent' | 'done';

export interface FlowState {
  kind: 'authorize' | 'api' | 'device';
  clientId: string;
  /** The authorization request this sign-in serves (built-in pages, custom pages started by /authorize). */
  request?: AuthorizeRequest;
  /** Hash of the browser-binding cookie: only that browser may finish an authorize flow. */
  browser?: string;
  step: FlowStep;
  userId?: string;
  amr: string[];
  /** epoch ms of the last authentication step. */
  authTime?: number;
  /** The app asked for a second factor (acr_values). */
  mfaRequested: boolean;
  /** A TOTP secret being enrolled, encrypted. */
  enrollSecretEnc?: string;
  /** The SSO session that already authenticated the user (consent-only flows). */
  sid?: string;
  /** Authenticate API: hash of the authnToken that turns the finished flow into a session. */
  authnTokenHash?: string;
  /** Device verification (RFC 8628 §3.3): the device code (its hash) the user is approving. */
  deviceCodeHash?: string;
}

let flowStateReader: ((v: unknown, path: string) => FlowState) | undefined;
/** A sign-in flow read back from the store, every field checked (built on first use). */
export function readFlowState(data: unknown): FlowState {
  flowStateReader ??= object<FlowState>({
    kind: oneOf(['authorize', 'api', 'device'] as const), clientId: str, request: opt(authorizeRequestShape()), browser: opt(str),
    step: oneOf(['credentials', 'mfa', 'enroll', 'authenticated', 'consent', 'done'] as const), userId: opt(str), amr: strs, authTime: opt(num),
    mfaRequested: bool, enrollSecretEnc: opt(str), sid: opt(str), authnTokenHash: opt(str), deviceCodeHash: opt(str),
  });
  return read(flowStateReader, data, 'sign-in flow');
}

export interface Flow {
  hash: string;
  domainId: string;
  version: number;
  expiresAt: number;
  state: FlowState;
}

/**
 * Authenticate API errors: `{"status":"failed","cause":[{"code","message"}]}`. Codes from the seeds:
 * AUTH-3001 (wrong username or password, 401) and AUTH-1111 (invalid attribute value, 400). Ours
 * (documented in README "Authenticate API"): AUTH-3003 one-time code not valid (401), AUTH-4001
 * requestState invalid or expired (401), AUTH-4002 op not allowed now (422, with nextOp),
 * AUTH-4003 the flow moved on in another request (409), AUTH-1001 required attribute missing (422).
 */
export class AuthnError extends Error {
  constructor(readonly code: string, readonly status: number, message: string, readonly nextOp?: string[]) { super(message); }
}
export const wrongCredentials = () => new AuthnError('AUTH-3001', 401, 'You entered an incorrect username or password.');
export const badOtp = () => new AuthnError('AUTH-3003', 401, 'The one-time code is not valid.');
export const badRequestState = () => new AuthnError('AUTH-4001', 401, 'The requestState is invalid or has expired.');

export interface AuthenticatorDeps {
  flows: AuthFlowRepository;
  users: UserRepository;
  userService: UserService;
  totp: TotpService;
  throttle: LoginThrottle;
  events: SecurityEvents;
  clock: Clock;
  ttlMs: number;
}

export class Authenticator {
  constructor(private d: AuthenticatorDeps) {}

  async start(domainId: string, state: FlowState): Promise<{ requestState: string; flow: Flow }> {
    const requestState = newSecret();
    const now = this.d.clock.now();
    const flow: Flow = { hash: lookupHash(requestState), domainId, version: 1, expiresAt: now + this.d.ttlMs, state };
    await this.d.flows.create({ hash: flow.hash, domainId, data: { ...state }, version: 1, createdAt: now, expiresAt: flow.expiresAt });
    return { requestState, flow };
  }

  async load(domainId: string, requestState: unknown): Promise<Flow> {
    if (typeof requestState !== 'string' || requestState.length === 0 || requestState.length > 100) throw badRequestState();
    const rec = await this.d.flows.get(lookupHash(requestState));
    if (!rec || rec.domainId !== domainId || rec.expiresAt <= this.d.clock.now()) throw badRequestState();
    return { hash: rec.hash, domainId, version: rec.version, expiresAt: rec.expiresAt, state: readFlowState(rec.data) };
  }

  /** One step at a time: a step that lost the race to another request for the same flow fails. */
  async save(flow: Flow): Promise<void> {
    const ok = await this.d.flows.update(flow.hash, { ...flow.state }, flow.version, flow.expiresAt);
    if (!ok) throw new AuthnError('AUTH-4003', 409, 'This sign-in was continued elsewhere; start again.');
    flow.version += 1;
  }

  async drop(flow: Flow): Promise<void> {
    await this.d.flows.delete(flow.hash);
  }

  private expect(flow: Flow, ...steps: FlowStep[]): void {
    if (!steps.includes(flow.state.step)) throw new AuthnError('AUTH-4002', 422, 'This operation is not allowed now.', nextOps(flow.state));
  }

  private fail(domainId: string, flow: Flow, userId: string | undefined, ip: string, what: string): void {
    this.loginFailed(domainId, userId, ip, what, { client_id: flow.state.clientId });
  }

  private loginFailed(domainId: string, userId: string | undefined, ip: string, what: string, details: Record<string, unknown>): void {
    this.d.events.emit({ eventId: 'user.login.failed', outcome: 'failure', domainId, actorType: 'user', actorId: userId, clientIp: ip, message: what, details });
  }

  /**
   * The one password check of every sign-in path (pages, Authenticate API, password grant). Unknown
   * user, wrong password, no password, inactive, or locked: all fail after the same Argon2 work, so none
   * of them can be told apart (enumeration, lockout probing). Returns the user, or undefined once the
   * failure is counted and audited.
   */
  async checkPassword(domainId: string, username: string, password: string, ip: string, details: Record<string, unknown>): Promise<UserRecord | undefined> {
    const user = await this.d.users.getByUserName(domainId, username);
    // The check is claimed before it runs (LoginThrottle.claim): parallel guesses each take a place in the
    // address's and the account's count, and those past a limit are refused unchecked, not all let through one
    // "not locked" read.
    const allowed = await this.d.throttle.claim(domainId, user?.id, ip);
    const ok = await this.d.userService.checkCredentials(allowed ? user : undefined, password);
    if (ok && user?.active) {
      await this.d.throttle.release(domainId, user.id, ip);
      return user;
    }
    if (allowed) await this.d.throttle.claimFailed(domainId, user?.id, ip);
    this.loginFailed(domainId, user?.id, ip, allowed ? 'bad credentials' : 'locked', details);
    return undefined;
  }

  /** Username and password; every kind of failure is the same AUTH-3001 (see checkPassword). */
  async credSubmit(domain: DomainRecord, client: AppRecord, flow: Flow, username: unknown, password: unknown, ip: string): Promise<void> {
    this.expect(flow, 'credentials');
    if (typeof username !== 'string' || username.length === 0 || username.length > 256) throw new AuthnError('AUTH-1001', 422, 'username is required.');
    if (typeof password !== 'string' || password.length === 0 || password.length > 1024) throw new AuthnError('AUTH-1001', 422, 'password is required.');
    const user = await this.checkPassword(domain.id, username, password, ip, { client_id: flow.state.clientId });
    if (!user) throw wrongCredentials();
    flow.state.userId = user.id;
    flow.state.amr = ['pwd'];
    flow.state.authTime = this.d.clock.now();
    await this.afterPassword(domain, client, flow, user);
  }

  /** Decide the second step: a user with a factor is always asked for it; otherwise the sign-on policy decides on enrolment. */
  private async afterPassword(domain: DomainRecord, client: AppRecord, flow: Flow, user: UserRecord): Promise<void> {
    if (await this.d.totp.hasFactor(domain.id, user.id)) {
      flow.state.step = 'mfa';
      return;
    }
    const policy = mfaPolicyOf(domain, client);
    if (policy === 'always' || (policy === 'requested' && flow.state.mfaRequested)) {
      flow.state.step = 'enroll';
      return;
    }
    await this.d.throttle.success(domain.id, user.id);
    flow.state.step = 'authenticated';
  }

  async otpSubmit(domain: DomainRecord, flow: Flow, code: unknown, ip: string): Promise<void> {
    this.expect(flow, 'mfa');
    const userId = flow.state.userId!;
    // Claimed before the check, as the password is (checkPassword).
    if (!(await this.d.throttle.claim(domain.id, userId, ip))) {
      this.fail(domain.id, flow, userId, ip, 'locked (otp)');
      throw badOtp();
    }
    const ok = typeof code === 'string' && await this.d.totp.verify(domain.id, userId, code);
    if (!ok) {
      await this.d.throttle.claimFailed(domain.id, userId, ip);
      this.fail(domain.id, flow, userId, ip, 'bad one-time code');
      throw badOtp();
    }
    await this.d.throttle.release(domain.id, userId, ip);
    await this.secondFactorDone(domain, flow, ['pwd', 'otp', 'mfa']);
  }

  async bypassSubmit(domain: DomainRecord, flow: Flow, code: unknown, ip: string): Promise<void> {
    this.expect(flow, 'mfa');
    const userId = flow.state.userId!;
    if (!(await this.d.throttle.claim(domain.id, userId, ip))) {
      this.fail(domain.id, flow, userId, ip, 'locked (bypass code)');
      throw badOtp();
    }
    const ok = typeof code === 'string' && code.length <= 64 && await this.d.totp.useRecoveryCode(domain.id, userId, code);
    if (!ok) {
      await this.d.throttle.claimFailed(domain.id, userId, ip);
      this.fail(domain.id, flow, userId, ip, 'bad bypass code');
      throw badOtp();
    }
    await this.d.throttle.release(domain.id, userId, ip);
    await this.secondFactorDone(domain, flow, ['pwd', 'mfa']);
  }

  /** Starts (or restarts) TOTP enrolment: a new secret, kept encrypted in the flow until confirmed. */
  async startEnrollment(domain: DomainRecord, flow: Flow, accountName: string): Promise<{ secret: string; otpauthUri: string; qrSvg: string }> {
    this.expect(flow, 'enroll');
    const secret = this.d.totp.newSecret();
    flow.state.enrollSecretEnc = this.d.totp.encryptSecret(domain.id, flow.state.userId!, secret);
    return this.d.totp.enrolment(secret, accountName, domain.displayName || domain.name);
  }

  /** The first code confirms the enrolment; returns the bypass codes, to be shown once. */
  async confirmEnrollment(domain: DomainRecord, flow: Flow, code: unknown, ip: string): Promise<string[]> {
    this.expect(flow, 'enroll');
    const userId = flow.state.userId!;
    if (!flow.state.enrollSecretEnc) throw new AuthnError('AUTH-4002', 422, 'Start the enrollment first.', ['enrollment']);
    if (!(await this.d.throttle.claim(domain.id, userId, ip))) throw badOtp();
    const secret = this.d.totp.decryptSecret(domain.id, userId, flow.state.enrollSecretEnc);
    const ok = typeof code === 'string' && await this.d.totp.confirmEnrolment(domain.id, userId, secret, code);
    if (!ok) {
      await this.d.throttle.claimFailed(domain.id, userId, ip);
      this.fail(domain.id, flow, userId, ip, 'bad enrolment code');
      throw badOtp();
    }
    await this.d.throttle.release(domain.id, userId, ip);
    delete flow.state.enrollSecretEnc;
    const codes = await this.d.totp.newRecoveryCodes(domain.id, userId);
    this.d.events.emit({ eventId: 'user.mfa.enrolled', outcome: 'success', domainId: domain.id, actorType: 'user', actorId: userId, clientIp: ip });
    await this.secondFactorDone(domain, flow, ['pwd', 'otp', 'mfa']);
    return codes;
  }

  private async secondFactorDone(domain: DomainRecord, flow: Flow, amr: string[]): Promise<void> {
    flow.state.amr = amr;
    flow.state.authTime = this.d.clock.now();
    flow.state.step = 'authenticated';
    await this.d.throttle.success(domain.id, flow.state.userId!);
  }
}

/** The sign-on policy in force: the app's, else the domain's, else `requested`. */
export const mfaPolicyOf = (domain: DomainRecord, client: AppRecord): MfaPolicy => client.mfaPolicy ?? domain.settings.mfaPolicy ?? 'requested';

export const acrOf = (amr: readonly string[]): string => (amr.includes('mfa') ? ACR_MFA : ACR_PASSWORD);

/** What the client may do next (the Authenticate API's nextOp). */
export function nextOps(s: FlowState): string[] {
  switch (s.step) {
    case 'credentials': return ['credSubmit'];
    case 'mfa': return ['credSubmit'];
    case 'enroll': return s.enrollSecretEnc ? ['credSubmit', 'enrollment'] : ['enrollment'];
    case 'consent': return ['consent'];
    default: return [];
  }
}
