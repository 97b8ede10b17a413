import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generate } from 'otplib';
import type { FixedClock } from '../../src/core/clock.js';
import type { AuditEventRecord, DomainRecord } from '../../src/core/types.js';
import { adminToken, assertScimError, grantRole, harness, ISSUER, scim, type Harness } from '../helpers.js';
import { authorizeUrl, Browser, callbackParams, createUser, followConsent, formOf, PASSWORD, pkce, REDIRECT } from '../signin.js';
import { createPortal, ME_SCOPE, type Portal } from '../account.js';

const S = (n: string) => `urn:ietf:params:scim:schemas:oracle:idcs:${n}`;
const FACTORS = S('MyAuthenticationFactors');
const INIT = S('MyAuthenticationFactorInitiator');
const VALIDATE = S('MyAuthenticationFactorValidator');
const REMOVE = S('MyAuthenticationFactorsRemover');
const BYPASS = S('MyBypassCodesRegenerator');
const UNLOCK = S('UserLockedStateChanger');
const REALM = `Bearer realm="${ISSUER}"`;

describe('self-service second factors: TOTP enrolment, removal and bypass codes', () => {
  let h: Harness;
  let admin: string;
  let portal: Portal;
  let domain: DomainRecord;
  const events: AuditEventRecord[] = [];
  const clock = () => h.clock as FixedClock;

  before(async () => {
    h = await harness({ config: { loginMaxFailures: 3 } });
    admin = await adminToken(h);
    portal = await createPortal(h, admin);
    domain = (await h.t.services.repos.domains.getByName('default'))!;
    h.t.services.events.on((e) => events.push(e));
  });
  after(() => h.close());

  /** A user and an access token for them with the Me scope, as the account page holds after sign-in. */
  const newUser = async (name: string) => {
    const u = await createUser(h, admin, name);
    const s = h.t.services;
    const client = (await s.repos.apps.getByClientId(domain.id, portal.clientId))!;
    const adminRs = [...(await s.catalogs.catalog(domain)).scopes.values()].find((x) => x.builtIn)!;
    const token = (await s.accessTokens.issue({ domain, issuer: ISSUER, client, sub: u.id, subType: 'user', userId: u.id, scopes: [ME_SCOPE], resourceServers: [adminRs] })).token;
    return { ...u, token };
  };
  const codeFor = (secret: string, offsetSteps = 0) => generate({ secret, epoch: Math.floor(clock().now() / 1000) + offsetSteps * 30 });
  const start = (token: string, password: unknown = PASSWORD) => scim(h, 'POST', '/admin/v1/MyAuthenticationFactorInitiator', token, { schemas: [INIT], authFactor: 'TOTP', password });
  const confirm = (token: string, otpCode: unknown) => scim(h, 'POST', '/admin/v1/MyAuthenticationFactorValidator', token, { schemas: [VALIDATE], authFactor: 'TOTP', otpCode });
  const remove = (token: string, password: unknown = PASSWORD) => scim(h, 'POST', '/admin/v1/MyAuthenticationFactorsRemover', token, { schemas: [REMOVE], authFactor: 'TOTP', password });
  const regen = (token: string, password: unknown = PASSWORD) => scim(h, 'POST', '/admin/v1/MyBypassCodesRegenerator', token, { schemas: [BYPASS], password });
  const factors = async (token: string) => {
    const r = await scim(h, 'GET', '/admin/v1/MyAuthenticationFactors', token);
    assert.equal(r.statusCode, 200, r.body);
    return r.json();
  };
  const enrol = async (token: string): Promise<{ secret: string; bypassCodes: string[] }> => {
    const st = await start(token);
    assert.equal(st.statusCode, 201, st.body);
    clock().advance(30_000);
    const ok = await confirm(token, await codeFor(st.json().secret));
    assert.equal(ok.statusCode, 201, ok.body);
    return { secret: st.json().secret, bypassCodes: ok.json().bypassCodes };
  };

  test('start: 201 with the base32 secret, the otpauth URI and an SVG QR data URL; nothing active until confirmed', async () => {
    const u = await newUser('mf-start');
    const r = await start(u.token);
    assert.equal(r.statusCode, 201, r.body);
    assert.match(String(r.headers['content-type']), /^application\/scim\+json/);
    assert.equal(r.headers['cache-control'], 'no-store');
    const b = r.json();
    assert.deepEqual(Object.keys(b).sort(), ['authFactor', 'digits', 'expiresAt', 'otpauthUri', 'period', 'qrCode', 'schemas', 'secret']);
    assert.deepEqual([b.schemas, b.authFactor, b.digits, b.period], [[INIT], 'TOTP', 6, 30]);
    assert.match(b.secret, /^[A-Z2-7]{32}$/);
    const uri = new URL(b.otpauthUri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.searchParams.get('secret'), b.secret);
    assert.match(decodeURIComponent(uri.pathname), /mf-start/);
    assert.match(b.qrCode, /^data:image\/svg\+xml;base64,/);
    assert.match(Buffer.from(b.qrCode.split(',')[1], 'base64').toString(), /^<svg[\s\S]*<\/svg>$/);
    assert.equal(Date.parse(b.expiresAt), clock().now() + 600_000);
    assert.equal(await h.t.services.totp.hasFactor(domain.id, u.id), false, 'pending only');
    const f = await factors(u.token);
    assert.deepEqual(f, { schemas: [FACTORS], mfaRequired: false, factors: [], bypassCodesRemaining: 0, pendingEnrolment: { authFactor: 'TOTP', expiresAt: b.expiresAt } });
    assert.ok(!JSON.stringify(events).includes(b.secret), 'the secret is in no event');
  });

  test('confirm with a current code: the factor is active, bypass codes shown once, the code cannot be used again', async () => {
    const u = await newUser('mf-confirm');
    const st = (await start(u.token)).json();
    const code = await codeFor(st.secret);
    const before = events.length;
    const r = await confirm(u.token, code);
    assert.equal(r.statusCode, 201, r.body);
    const b = r.json();
    assert.deepEqual(Object.keys(b).sort(), ['authFactor', 'bypassCodes', 'schemas', 'status']);
    assert.deepEqual([b.schemas, b.authFactor, b.status], [[VALIDATE], 'TOTP', 'ENROLLED']);
    assert.equal(b.bypassCodes.length, 10);
    for (const c of b.bypassCodes) assert.match(c, /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{2}$/);
    assert.equal(await h.t.services.totp.hasFactor(domain.id, u.id), true);
    const f = await factors(u.token);
    assert.deepEqual(f, { schemas: [FACTORS], mfaRequired: false, factors: [{ authFactor: 'TOTP', enrolledAt: new Date(clock().now()).toISOString() }], bypassCodesRemaining: 10 });
    assert.ok(events.slice(before).some((e) => e.eventId === 'user.mfa.enrolled' && e.outcome === 'success' && e.targetId === u.id));
    // RFC 6238 §5.2: the confirming code is spent, for a second confirmation and for sign-in alike.
    assertScimError(await confirm(u.token, code), 400, 'invalidValue');
    assert.equal(await h.t.services.totp.verify(domain.id, u.id, code), false);
    clock().advance(30_000);
    assert.equal(await h.t.services.totp.verify(domain.id, u.id, await codeFor(st.secret)), true, 'the next code signs in');
  });

  test('confirm refuses a wrong code, a malformed one, an expired enrolment and a replaced one; wrong codes lock the account', async () => {
    const u = await newUser('mf-wrong');
    assertScimError(await confirm(u.token, '123456'), 400, 'invalidValue');
    const st = (await start(u.token)).json();
    const good = await codeFor(st.secret);
    const wrong = String((Number(good) + 1) % 1_000_000).padStart(6, '0');
    const before = events.length;
    assertScimError(await confirm(u.token, wrong), 400, 'invalidValue');
    assertScimError(await confirm(u.token, 'abcdef'), 400, 'invalidValue');
    assert.ok(events.slice(before).some((e) => e.eventId === 'user.mfa.enrolled' && e.outcome === 'failure' && e.message === 'bad enrolment code'));
    // A restart replaces the pending secret: a code of the old one no longer confirms.
    const st2 = (await start(u.token)).json();
    assert.notEqual(st2.secret, st.secret);
    assertScimError(await confirm(u.token, good), 400, 'invalidValue');
    // Expired: 10 minutes after the start, even the right code is too late.
    const st3 = (await start(u.token)).json();
    clock().advance(600_000);
    const late = await confirm(u.token, await codeFor(st3.secret));
    assertScimError(late, 400, 'invalidValue');
    assert.match(late.json().detail, /no enrolment is in progress/);
    assert.equal((await factors(u.token)).pendingEnrolment, undefined);
    assert.equal(await h.t.services.totp.hasFactor(domain.id, u.id), false);
    // Three wrong codes (loginMaxFailures) lock the account: then the right code is refused too.
    const st4 = (await start(u.token)).json();
    const right = await codeFor(st4.secret);
    const off = String((Number(right) + 7) % 1_000_000).padStart(6, '0');
    for (let i = 0; i < 3; i++) assertScimError(await confirm(u.token, off), 400, 'invalidValue');
    const locked = await confirm(u.token, right);
    assertScimError(locked, 400, 'invalidValue');
    assert.equal(locked.json().detail, 'otpCode is not correct');
    assert.equal(await h.t.services.totp.hasFactor(domain.id, u.id), false);
  });

  test('missing and bad bodies get SCIM 400s', async () => {
    const u = await newUser('mf-bodies');
    const post = (url: string, body: unknown) => scim(h, 'POST', `/admin/v1/${url}`, u.token, body);
    const cases: [string, unknown, string][] = [
      ['MyAuthenticationFactorInitiator', [], 'invalidSyntax'],
      ['MyAuthenticationFactorInitiator', { authFactor: 'TOTP', password: PASSWORD }, 'invalidSyntax'],
      ['MyAuthenticationFactorInitiator', { schemas: [INIT], password: PASSWORD }, 'invalidValue'],
      ['MyAuthenticationFactorInitiator', { schemas: [INIT], authFactor: 'SMS', password: PASSWORD }, 'invalidValue'],
      ['MyAuthenticationFactorInitiator', { schemas: [INIT], authFactor: 'TOTP', password: PASSWORD, secret: 'JBSWY3DPEHPK3PXP' }, 'invalidValue'],
      ['MyAuthenticationFactorInitiator', { schemas: [INIT], authFactor: 'TOTP', password: PASSWORD, Password: 'x' }, 'invalidSyntax'],
      ['MyAuthenticationFactorValidator', { schemas: [VALIDATE], authFactor: 'TOTP' }, 'invalidValue'],
      ['MyAuthenticationFactorValidator', { schemas: [VALIDATE], authFactor: 'TOTP', otpCode: 123456 }, 'invalidValue'],
      ['MyAuthenticationFactorValidator', { schemas: [INIT], authFactor: 'TOTP', otpCode: '123456' }, 'invalidSyntax'],
      ['MyAuthenticationFactorsRemover', { schemas: [REMOVE] }, 'invalidValue'],
      ['MyBypassCodesRegenerator', { schemas: [BYPASS], count: 20, password: PASSWORD }, 'invalidValue'],
      ['MyBypassCodesRegenerator', 'x', 'invalidSyntax'],
    ];
    for (const [url, body, scimType] of cases) assertScimError(await post(url, body), 400, scimType);
    assert.equal((await factors(u.token)).pendingEnrolment, undefined, 'nothing was started');
  });

  test('the current password: missing or wrong is refused (and audited); three wrong ones lock the account until an administrator unlocks it', async () => {
    const u = await newUser('mf-password');
    assertScimError(await scim(h, 'POST', '/admin/v1/MyAuthenticationFactorInitiator', u.token, { schemas: [INIT], authFactor: 'TOTP' }), 400, 'invalidValue');
    for (const pw of ['', 42, null, ['x']]) assertScimError(await start(u.token, pw), 400, 'invalidValue');
    const before = events.length;
    assertScimError(await start(u.token, 'not the password'), 400, 'invalidValue');
    assert.ok(events.slice(before).some((e) => e.eventId === 'user.mfa.enrolled' && e.outcome === 'failure' && e.targetId === u.id));
    assertScimError(await regen(u.token, 'still not it'), 400, 'invalidValue');
    assertScimError(await remove(u.token, 'nor this'), 400, 'invalidValue');
    // Locked: the right password gets the same answer as a wrong one.
    const lockedOut = await start(u.token);
    assertScimError(lockedOut, 400, 'invalidValue');
    assert.equal(lockedOut.json().detail, 'password is not correct');
    // Unlocking needs the users scope, a real user, and the right body.
    const unlock = (token: string, id: string, body: unknown = { schemas: [UNLOCK], locked: { on: false } }) => scim(h, 'PUT', `/admin/v1/UserLockedStateChanger/${id}`, token, body);
    assertScimError(await unlock(await adminToken(h, 'urn:opc:idm:t.users.read'), u.id), 403);
    assertScimError(await unlock(admin, 'f'.repeat(32)), 404);
    assertScimError(await unlock(admin, u.id, { schemas: [UNLOCK], locked: { on: true } }), 400, 'invalidValue');
    assertScimError(await unlock(admin, u.id, { schemas: [UNLOCK] }), 400, 'invalidValue');
    assertScimError(await unlock(admin, u.id, { locked: { on: false } }), 400, 'invalidSyntax');
    const ev = events.length;
    const r = await unlock(await adminToken(h, 'urn:opc:idm:t.users'), u.id);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(Object.keys(r.json()).sort(), ['id', 'locked', 'meta', 'schemas']);
    assert.deepEqual([r.json().schemas, r.json().id, r.json().locked], [[UNLOCK], u.id, { on: false }]);
    assert.ok(events.slice(ev).some((e) => e.eventId === 'user.unlocked' && e.targetId === u.id));
    assert.equal((await start(u.token)).statusCode, 201, 'unlocked');
    // Unlocking an Identity Domain Administrator lets password guessing at them resume: not for a mere User Administrator.
    const boss = await newUser('mf-boss');
    await grantRole(h, admin, 'Identity Domain Administrator', 'User', boss.id);
    assertScimError(await unlock(await adminToken(h, 'urn:opc:idm:t.users'), boss.id), 403);
    assert.equal((await unlock(admin, boss.id)).statusCode, 200);
  });

  test('bypass codes: a new set replaces the old one (old codes refused), behind the password; none without a factor', async () => {
    const u = await newUser('mf-bypass');
    assertScimError(await regen(u.token), 400, 'invalidValue');
    const { bypassCodes: first } = await enrol(u.token);
    const r = await regen(u.token);
    assert.equal(r.statusCode, 201, r.body);
    assert.deepEqual(Object.keys(r.json()).sort(), ['bypassCodes', 'schemas']);
    const next = r.json().bypassCodes as string[];
    assert.equal(next.length, 10);
    assert.equal(next.filter((c) => first.includes(c)).length, 0);
    const totp = h.t.services.totp;
    assert.equal(await totp.useRecoveryCode(domain.id, u.id, first[0]!), false, 'the old set is gone');
    assert.equal(await totp.useRecoveryCode(domain.id, u.id, next[0]!), true);
    assert.equal(await totp.useRecoveryCode(domain.id, u.id, next[0]!), false, 'single use');
    assert.equal((await factors(u.token)).bypassCodesRemaining, 9);
    assert.ok(events.some((e) => e.eventId === 'user.mfa.recovery_codes_regenerated' && e.outcome === 'success' && e.targetId === u.id));
    // Stored hashed: no raw code in the store.
    assert.ok(!JSON.stringify(await h.t.services.repos.mfa.listFactors(domain.id, u.id)).includes(next[1]!.replaceAll('-', '')));
  });

  test('at the sign-in pages: an API-enrolled factor is asked for; an old bypass code is refused, a new one signs in', async () => {
    const u = await newUser('mf-pages');
    const { bypassCodes: old } = await enrol(u.token);
    const fresh = (await regen(u.token)).json().bypassCodes as string[];
    const toMfa = async () => {
      const b = new Browser(h);
      const { challenge } = pkce();
      let r = await b.get(authorizeUrl({ client_id: portal.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: 'p', code_challenge: challenge, code_challenge_method: 'S256' }));
      r = await b.get(r.headers.location!);
      const f = formOf(r.body, 'credSubmit');
      r = await b.get((await b.post(f.action, { ...f.fields, username: u.userName, password: PASSWORD })).headers.location!);
      assert.match(r.body, /Enter your verification code/);
      return { b, f: formOf(r.body, 'bypass') };
    };
    const first = await toMfa();
    const refused = await first.b.post(first.f.action, { ...first.f.fields, bypassCode: old[0]! });
    assert.ok(!String(refused.headers.location ?? '').startsWith(REDIRECT), 'the old set is refused at sign-in');
    const second = await toMfa();
    const r = await followConsent(second.b, await second.b.post(second.f.action, { ...second.f.fields, bypassCode: fresh[0]! }));
    assert.ok(callbackParams(r).get('code'), 'a new code signs in');
  });

  test('re-enrolment keeps the old factor working until the new one is confirmed, then replaces it', async () => {
    const u = await newUser('mf-reenrol');
    const old = await enrol(u.token);
    const st = (await start(u.token)).json();
    clock().advance(30_000);
    assert.equal(await h.t.services.totp.verify(domain.id, u.id, await codeFor(old.secret)), true, 'the old factor still signs in');
    clock().advance(30_000);
    assert.equal((await confirm(u.token, await codeFor(st.secret))).statusCode, 201);
    clock().advance(30_000);
    assert.equal(await h.t.services.totp.verify(domain.id, u.id, await codeFor(old.secret)), false, 'replaced');
    assert.equal(await h.t.services.totp.verify(domain.id, u.id, await codeFor(st.secret)), true);
    assert.equal((await factors(u.token)).factors.length, 1);
  });

  test('removal: behind the password, takes the factor and its bypass codes; 404 when there is none; refused when the domain requires MFA', async () => {
    const u = await newUser('mf-remove');
    assertScimError(await remove(u.token), 404);
    const { bypassCodes } = await enrol(u.token);
    const setPolicy = async (mfaPolicy: string) => assert.equal((await scim(h, 'PATCH', '/admin/v1/Settings', admin, { mfaPolicy })).statusCode, 200);
    await setPolicy('always');
    try {
      assert.equal((await factors(u.token)).mfaRequired, true);
      assertScimError(await remove(u.token), 400, 'mutability');
      assert.equal(await h.t.services.totp.hasFactor(domain.id, u.id), true);
    } finally {
      await setPolicy('requested');
    }
    const before = events.length;
    const r = await remove(u.token);
    assert.equal(r.statusCode, 201, r.body);
    assert.deepEqual(r.json(), { schemas: [REMOVE], authFactor: 'TOTP', removed: 1 });
    assert.equal(await h.t.services.totp.hasFactor(domain.id, u.id), false);
    assert.equal(await h.t.services.totp.useRecoveryCode(domain.id, u.id, bypassCodes[0]!), false);
    assert.deepEqual(await factors(u.token), { schemas: [FACTORS], mfaRequired: false, factors: [], bypassCodesRemaining: 0 });
    assert.ok(events.slice(before).some((e) => e.eventId === 'user.mfa.removed' && e.outcome === 'success' && e.targetId === u.id));
    assertScimError(await remove(u.token), 404);
  });

  test('wrong scope 403, a client token 403, no token 401 on every My factor endpoint; one user never reaches another', async () => {
    const usersOnly = await adminToken(h, 'urn:opc:idm:t.users');
    const clientMe = await adminToken(h, ME_SCOPE);
    const calls: ['GET' | 'POST', string, unknown][] = [
      ['GET', 'MyAuthenticationFactors', undefined], ['POST', 'MyAuthenticationFactorInitiator', { schemas: [INIT], authFactor: 'TOTP', password: PASSWORD }],
      ['POST', 'MyAuthenticationFactorValidator', { schemas: [VALIDATE], authFactor: 'TOTP', otpCode: '123456' }],
      ['POST', 'MyAuthenticationFactorsRemover', { schemas: [REMOVE], authFactor: 'TOTP', password: PASSWORD }],
      ['POST', 'MyBypassCodesRegenerator', { schemas: [BYPASS], password: PASSWORD }],
    ];
    for (const [method, url, body] of calls) {
      const denied = await scim(h, method, `/admin/v1/${url}`, usersOnly, body);
      assertScimError(denied, 403);
      assert.equal(denied.headers['www-authenticate'], `${REALM}, error="insufficient_scope", scope="${ME_SCOPE}"`);
      const client = await scim(h, method, `/admin/v1/${url}`, clientMe, body);
      assertScimError(client, 403);
      assertScimError(await h.inject({ method, url: `/admin/v1/${url}`, ...(body ? { payload: body as object } : {}) }), 401);
    }
    const a = await newUser('mf-a');
    const b = await newUser('mf-b');
    await enrol(b.token);
    const st = (await start(a.token)).json();
    assert.equal((await factors(b.token)).pendingEnrolment, undefined, 'a\'s enrolment is a\'s');
    assertScimError(await confirm(b.token, await codeFor(st.secret)), 400, 'invalidValue');
    assert.equal((await factors(a.token)).factors.length, 0);
  });
});
