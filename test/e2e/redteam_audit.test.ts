/**
 * Red team, issue 7 "audit and log injection": the per-source rate limit of failure events
 * (TESSERA_AUDIT_FAILURES_PER_MINUTE) used to hide the events that matter. A failing test is a finding;
 * a passing one is an attack that held, kept for coverage.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FixedClock } from '../../src/core/clock.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { buildApp } from '../../src/http/app.js';
import {
  adminToken, APP_SCHEMA, assertOAuthError, assertScimError, clientToken, form, scim, testConfig, type Harness,
} from '../helpers.js';
import { createUser } from '../signin.js';

const GRANT = 'urn:ietf:params:scim:schemas:oracle:idcs:Grant';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const LIMIT = 5;

describe('red team: the failure-event rate limit as a way to hide', () => {
  let h: Harness;
  let root: string;
  const clock = new FixedClock(Date.parse('2026-12-01T10:00:00Z'));
  const events = async (filter: string) => {
    const r = await scim(h, 'GET', `/admin/v1/AuditEvents?count=1000&filter=${encodeURIComponent(filter)}`, root);
    assert.equal(r.statusCode, 200, r.body);
    return r.json().Resources as Record<string, string>[];
  };
  const failedAuth = (clientId: string, ip: string, headers: Record<string, string> = {}) => h.inject({
    method: 'POST', url: '/oauth2/v1/token', remoteAddress: ip, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: form({ grant_type: 'client_credentials', client_id: clientId, client_secret: 'wrong-secret-wrong-secret' }),
  });
  /** A fresh minute for every test: windows of the previous one are summarised and forgotten. */
  const nextMinute = async () => { clock.advance(61_000); await h.t.services.events.flush(); };

  before(async () => {
    const t = await buildApp({ config: testConfig({ auditFailuresPerMinute: LIMIT }), clock, masterKey: new MasterKey(randomBytes(32)), logger: false });
    h = { t, clock, inject: t.app.inject.bind(t.app), close: () => t.close() };
    root = await adminToken(h);
  });
  after(() => h.close());

  // FINDING: the window is keyed by source address and event only, so an authenticated caller spends its own
  // address's budget with a few token-less requests (each an admin.access_denied, 401) and then makes its
  // escalation attempts: the 403s of the guard, which name the caller, are counted in an anonymous summary
  // and never recorded. Denials of an authenticated caller are attributable and cannot be a spoofed flood;
  // they should not share the anonymous budget (or the summary should keep the actor).
  test('an authenticated caller cannot spend its address\'s budget first and then try escalations unrecorded', async () => {
    await nextMinute();
    const ip = '198.51.100.66';
    const uaApp = await scim(h, 'POST', '/admin/v1/Apps', root, { schemas: [APP_SCHEMA], displayName: 'insider', isOAuthClient: true, allowedGrants: ['client_credentials'] });
    assert.equal(uaApp.statusCode, 201, uaApp.body);
    const roles = (await scim(h, 'GET', '/admin/v1/AppRoles?count=100', root)).json().Resources as { id: string; displayName: string; app: { value: string } }[];
    const grant = async (name: string, type: 'App' | 'User', id: string) => {
      const role = roles.find((r) => r.displayName === name)!;
      const r = await scim(h, 'POST', '/admin/v1/Grants', root, {
        schemas: [GRANT], app: { value: role.app.value }, entitlement: { attributeName: 'appRoles', attributeValue: role.id },
        grantMechanism: `ADMINISTRATOR_TO_${type.toUpperCase()}`, grantee: { value: id, type },
      });
      assert.equal(r.statusCode, 201, r.body);
    };
    await grant('User Administrator', 'App', uaApp.json().id);
    const ua = (await clientToken(h, uaApp.json().name, uaApp.json().clientSecret, 'urn:opc:idm:__myscopes__')).json().access_token as string;
    const boss = await createUser(h, root, 'audited-boss');
    await grant('Identity Domain Administrator', 'User', boss.id);

    for (let i = 0; i < LIMIT; i++) {
      const r = await h.inject({ method: 'GET', url: '/admin/v1/Users', remoteAddress: ip });
      assertScimError(r, 401);
    }
    const attempt = await h.inject({
      method: 'PATCH', url: `/admin/v1/Users/${boss.id}`, remoteAddress: ip,
      headers: { authorization: `Bearer ${ua}`, 'content-type': 'application/scim+json' },
      payload: JSON.stringify({ schemas: [PATCH], Operations: [{ op: 'replace', path: 'password', value: 'taken over password 123' }] }),
    });
    assertScimError(attempt, 403);
    await h.t.services.events.flush();
    const denials = (await events('eventId eq "admin.access_denied"')).filter((e) => e.actorId === uaApp.json().name);
    assert.equal(denials.length, 1, 'the escalation attempt was not recorded');
  });

  // FINDING: once all sources together reach 20 x the per-source limit, every further failure of that kind in the
  // domain is only counted, in a summary without an address. Twenty addresses (one IPv6 /64 holds 2^64) therefore
  // silence the one source that matters, which the per-source limit was meant to keep visible.
  test('decoys from twenty addresses do not silence a fresh source\'s first failure', async () => {
    await nextMinute();
    for (let s = 0; s < 20; s++) {
      for (let i = 0; i < LIMIT; i++) assertOAuthError(await failedAuth(`decoy-${s}-${i}`, `2001:db8::${(s + 1).toString(16)}`), 401, 'invalid_client');
    }
    const target = '192.0.2.200';
    assertOAuthError(await failedAuth('bootstrap-admin', target), 401, 'invalid_client');
    await nextMinute();
    const seen = [...await events('eventId eq "client_auth.failed"'), ...await events('eventId eq "audit.suppressed"')].filter((e) => e.clientIp === target);
    assert.ok(seen.length >= 1, 'the guessing source left no trace with its address in the audit trail');
  });

  // Held (coverage): without TESSERA_TRUST_PROXY a varying X-Forwarded-For is not a new source.
  test('held: X-Forwarded-For and Forwarded do not make one address many sources', async () => {
    await nextMinute();
    const ip = '203.0.113.77';
    for (let i = 0; i < 3 * LIMIT; i++) {
      assertOAuthError(await failedAuth(`xff-${i}`, ip, { 'x-forwarded-for': `10.9.${i}.1`, forwarded: `for=10.9.${i}.1` }), 401, 'invalid_client');
    }
    await h.t.services.events.flush();
    const recorded = (await events('eventId eq "client_auth.failed"')).filter((e) => e.actorId?.startsWith('xff-'));
    assert.equal(recorded.length, LIMIT);
    assert.ok(recorded.every((e) => e.clientIp === ip));
    await nextMinute();
    const sum = (await events('eventId eq "audit.suppressed"')).filter((e) => e.clientIp === ip);
    assert.equal(sum.length, 1);
    assert.equal(JSON.parse(sum[0]!.details!).suppressed, 2 * LIMIT);
  });
});
