import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { FixedClock } from '../../src/core/clock.js';
import {
  adminToken, APP_SCHEMA, basic, BOOT_ID, clientToken, decode, harness, ISSUER, post, scim, setupClient, type Harness, assertScimError } from '../helpers.js';

const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const AUDIT_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:AuditEvent';
const ADMIN = `${ISSUER}/admin/v1`;
const SCHEMA_IDS = [
  ...['App', 'AppRole', 'Grant', 'AuditEvent'].map((n) => `urn:ietf:params:scim:schemas:oracle:idcs:${n}`),
  ...['User', 'Group'].map((n) => `urn:ietf:params:scim:schemas:core:2.0:${n}`),
  'urn:ietf:params:scim:schemas:tessera:2.0:TrustedIssuer',
];
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

const q = (filter: string) => `filter=${encodeURIComponent(filter)}`;

describe('SCIM discovery: ServiceProviderConfig, ResourceTypes, Schemas', () => {
  let h: Harness;
  before(async () => { h = await harness(); });
  after(() => h.close());

  test('readable without a token, as SCIM JSON', async () => {
    for (const url of ['/admin/v1/ServiceProviderConfig', '/admin/v1/ResourceTypes', '/admin/v1/Schemas', '/admin/v1/ResourceTypes/App', `/admin/v1/Schemas/${SCHEMA_IDS[0]}`]) {
      const r = await h.inject({ url });
      assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
      assert.match(String(r.headers['content-type']), /^application\/scim\+json/, url);
      assert.equal(r.headers['www-authenticate'], undefined);
    }
  });

  test('ServiceProviderConfig (RFC 7643 §5) tells what is supported', async () => {
    const b = (await h.inject({ url: '/admin/v1/ServiceProviderConfig' })).json();
    assert.deepEqual(b.schemas, ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig']);
    assert.equal(b.patch.supported, true);
    assert.equal(b.bulk.supported, false);
    assert.equal(typeof b.bulk.maxOperations, 'number');
    assert.equal(typeof b.bulk.maxPayloadSize, 'number');
    assert.equal(b.filter.supported, true);
    assert.equal(b.filter.maxResults, 1000);
    assert.equal(b.sort.supported, true);
    assert.equal(b.etag.supported, true);
    assert.equal(b.changePassword.supported, false);
    assert.ok(b.authenticationSchemes.some((s: { type: string }) => s.type === 'oauthbearertoken'));
    assert.equal(b.meta.location, `${ADMIN}/ServiceProviderConfig`);
  });

  test('ResourceTypes lists App, AppRole, Grant, AuditEvent, User, Group and TrustedIssuer; each is readable by id', async () => {
    const b = (await h.inject({ url: '/admin/v1/ResourceTypes' })).json();
    assert.deepEqual(b.schemas, [LIST_SCHEMA]);
    assert.equal(b.totalResults, b.Resources.length);
    const byId = Object.fromEntries(b.Resources.map((r: { id: string }) => [r.id, r]));
    assert.deepEqual(Object.keys(byId).sort(), ['App', 'AppRole', 'AuditEvent', 'Grant', 'Group', 'TrustedIssuer', 'User']);
    assert.deepEqual(
      Object.fromEntries(Object.entries(byId).map(([k, v]) => [k, (v as { endpoint: string }).endpoint])),
      { App: '/Apps', AppRole: '/AppRoles', Grant: '/Grants', AuditEvent: '/AuditEvents', User: '/Users', Group: '/Groups', TrustedIssuer: '/TrustedIssuers' },
    );
    for (const [id, rt] of Object.entries(byId)) {
      const one = await h.inject({ url: `/admin/v1/ResourceTypes/${id}` });
      assert.equal(one.statusCode, 200);
      assert.deepEqual(one.json(), rt);
      assert.equal(one.json().meta.location, `${ADMIN}/ResourceTypes/${id}`);
      assert.ok(SCHEMA_IDS.includes(one.json().schema));
    }
  });

  test('Schemas lists the seven schemas; each is readable by id; clientSecret is returned never', async () => {
    const b = (await h.inject({ url: '/admin/v1/Schemas' })).json();
    assert.deepEqual(b.schemas, [LIST_SCHEMA]);
    assert.deepEqual(b.Resources.map((s: { id: string }) => s.id).sort(), [...SCHEMA_IDS].sort());
    for (const id of SCHEMA_IDS) {
      const one = await h.inject({ url: `/admin/v1/Schemas/${id}` });
      assert.equal(one.statusCode, 200);
      assert.equal(one.json().id, id);
      assert.equal(one.json().meta.location, `${ADMIN}/Schemas/${id}`);
      assert.ok(Array.isArray(one.json().attributes) && one.json().attributes.length > 0);
    }
    const app = (await h.inject({ url: `/admin/v1/Schemas/${SCHEMA_IDS[0]}` })).json();
    const secret = app.attributes.find((a: { name: string }) => a.name === 'clientSecret');
    assert.equal(secret.returned, 'never');
    assert.equal(secret.mutability, 'readOnly');
    const role = (await h.inject({ url: `/admin/v1/Schemas/${SCHEMA_IDS[1]}` })).json();
    assert.equal(role.attributes.find((a: { name: string }) => a.name === 'members').returned, 'request');
  });

  test('unknown schema or resource type: 404 SCIM error, still without a token', async () => {
    for (const url of ['/admin/v1/Schemas/urn:nope', '/admin/v1/Schemas/app', '/admin/v1/ResourceTypes/Nope', '/admin/v1/ResourceTypes/app', '/admin/v1/ResourceTypes/Users']) {
      assertScimError(await h.inject({ url }), 404);
    }
  });

  test('an unknown admin endpoint is 404 for an authenticated caller (401 without a token)', async () => {
    const admin = await adminToken(h);
    assertScimError(await scim(h, 'GET', '/admin/v1/Nope', admin), 404);
    assertScimError(await scim(h, 'GET', '/admin/v1/Nope/x', admin), 404);
    assertScimError(await h.inject({ url: '/admin/v1/Nope' }), 401);
  });
});

describe('AuditEvents', () => {
  const clock = new FixedClock(Date.parse('2030-01-01T00:00:00.000Z'));
  let h: Harness;
  let admin: string;
  let appId: string;
  let t1: string;
  before(async () => {
    h = await harness({ clock });
    admin = await adminToken(h);
    clock.advance(60_000);
    t1 = new Date(clock.now()).toISOString();
    const r = await scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: 'audited' });
    assert.equal(r.statusCode, 201, r.body);
    appId = r.json().id;
    clock.advance(60_000);
    await scim(h, 'PATCH', `/admin/v1/Apps/${appId}`, admin, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'description', value: 'x' }],
    });
    clock.advance(60_000);
    await scim(h, 'DELETE', `/admin/v1/Apps/${appId}`, admin);
  });
  after(() => h.close());

  test('admin changes are recorded with actor and target', async () => {
    for (const [eventId, ts] of [['admin.created', 60_000], ['admin.patched', 120_000], ['admin.deleted', 180_000]] as const) {
      const r = await scim(h, 'GET', `/admin/v1/AuditEvents?${q(`eventId eq "${eventId}"`)}`, admin);
      assert.equal(r.statusCode, 200, r.body);
      const b = r.json();
      assert.deepEqual(b.schemas, [LIST_SCHEMA]);
      assert.equal(b.totalResults, 1, r.body);
      const e = b.Resources[0];
      assert.deepEqual(e.schemas, [AUDIT_SCHEMA]);
      assert.equal(e.eventId, eventId);
      assert.equal(e.outcome, 'success');
      assert.equal(e.actorType, 'client');
      assert.equal(e.actorId, BOOT_ID);
      assert.equal(e.targetType, 'App');
      assert.equal(e.targetId, appId);
      assert.equal(e.timestamp, new Date(Date.parse('2030-01-01T00:00:00.000Z') + ts).toISOString());
      assert.equal(e.meta.location, `${ADMIN}/AuditEvents/${e.id}`);
      const one = await scim(h, 'GET', `/admin/v1/AuditEvents/${e.id}`, admin);
      assert.equal(one.statusCode, 200);
      assert.equal(one.json().id, e.id);
      assert.equal(one.json().eventId, eventId);
    }
  });

  test('token issuance is audited too', async () => {
    const r = await scim(h, 'GET', `/admin/v1/AuditEvents?${q(`eventId eq "token.issued" and actorId eq "${BOOT_ID}"`)}&count=0`, admin);
    assert.equal(r.statusCode, 200, r.body);
    assert.ok(r.json().totalResults >= 1);
  });

  test('timestamp filters (ge, gt, lt, le) and the default newest-first order', async () => {
    const all = (await scim(h, 'GET', `/admin/v1/AuditEvents?${q(`timestamp ge "${t1}" and eventId eq "admin.created"`)}`, admin)).json();
    assert.equal(all.totalResults, 1);
    const since = (await scim(h, 'GET', `/admin/v1/AuditEvents?${q(`timestamp ge "${t1}"`)}`, admin)).json();
    assert.deepEqual(since.Resources.map((e: { eventId: string }) => e.eventId), ['admin.deleted', 'admin.patched', 'admin.created']);
    const after_ = (await scim(h, 'GET', `/admin/v1/AuditEvents?${q(`timestamp gt "${t1}"`)}`, admin)).json();
    assert.deepEqual(after_.Resources.map((e: { eventId: string }) => e.eventId), ['admin.deleted', 'admin.patched']);
    const before_ = (await scim(h, 'GET', `/admin/v1/AuditEvents?${q(`timestamp lt "${t1}"`)}`, admin)).json();
    assert.ok(before_.Resources.every((e: { timestamp: string }) => e.timestamp < t1));
    assert.ok(before_.Resources.length >= 1, 'the bootstrap token');
    const window = (await scim(h, 'GET', `/admin/v1/AuditEvents?${q(`timestamp gt "${t1}" and timestamp le "${new Date(Date.parse(t1) + 60_000).toISOString()}"`)}`, admin)).json();
    assert.deepEqual(window.Resources.map((e: { eventId: string }) => e.eventId), ['admin.patched']);
    const asc = (await scim(h, 'GET', `/admin/v1/AuditEvents?${q(`timestamp ge "${t1}"`)}&sortBy=timestamp&sortOrder=ascending`, admin)).json();
    assert.deepEqual(asc.Resources.map((e: { eventId: string }) => e.eventId), ['admin.created', 'admin.patched', 'admin.deleted']);
    const page = (await scim(h, 'GET', `/admin/v1/AuditEvents?${q(`timestamp ge "${t1}"`)}&sortBy=timestamp&sortOrder=ascending&startIndex=2&count=1`, admin)).json();
    assert.equal(page.totalResults, 3);
    assert.equal(page.startIndex, 2);
    assert.equal(page.itemsPerPage, 1);
    assert.deepEqual(page.Resources.map((e: { eventId: string }) => e.eventId), ['admin.patched']);
  });

  test('contradicting equality filters match nothing', async () => {
    const r = await scim(h, 'GET', `/admin/v1/AuditEvents?${q('eventId eq "admin.created" and eventId eq "admin.deleted"')}`, admin);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().totalResults, 0);
    assert.deepEqual(r.json().Resources, []);
    const r2 = await scim(h, 'GET', `/admin/v1/AuditEvents?${q(`actorId eq "${BOOT_ID}" and actorId eq "someone-else"`)}`, admin);
    assert.equal(r2.json().totalResults, 0);
  });

  const badFilters = [
    'targetId eq "x"', 'eventId co "admin"', 'eventId sw "admin"', 'eventId ne "admin.created"', 'eventId eq "a" or eventId eq "b"',
    'not (outcome eq "success")', 'eventId pr', 'eventId eq 5', 'timestamp ge "yesterday"', 'timestamp ge 5', 'message eq "x"', 'eventId eq', '(eventId eq "x"',
  ];
  for (const f of badFilters) {
    test(`unsupported filter ${f}: 400 invalidFilter`, async () => {
      assertScimError(await scim(h, 'GET', `/admin/v1/AuditEvents?${q(f)}`, admin), 400, 'invalidFilter');
    });
  }

  test('sortBy other than timestamp: 400', async () => {
    for (const s of ['eventId', 'actorId', 'id']) assertScimError(await scim(h, 'GET', `/admin/v1/AuditEvents?sortBy=${s}`, admin), 400, 'invalidValue');
    assert.equal((await scim(h, 'GET', '/admin/v1/AuditEvents?sortBy=timestamp', admin)).statusCode, 200);
  });

  test('POST /AuditEvents/.search works like GET', async () => {
    const r = await scim(h, 'POST', '/admin/v1/AuditEvents/.search', admin, { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'eventId eq "admin.patched"', attributes: ['eventId'] });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().totalResults, 1);
    assert.deepEqual(Object.keys(r.json().Resources[0]).sort(), ['eventId', 'id', 'schemas']);
  });

  test('audit events are read-only; unknown id is 404', async () => {
    const e = (await scim(h, 'GET', '/admin/v1/AuditEvents?count=1', admin)).json().Resources[0];
    for (const [method, url] of [['POST', '/admin/v1/AuditEvents'], ['PUT', `/admin/v1/AuditEvents/${e.id}`], ['PATCH', `/admin/v1/AuditEvents/${e.id}`], ['DELETE', `/admin/v1/AuditEvents/${e.id}`]] as const) {
      const r = await scim(h, method, url, admin, method === 'DELETE' ? undefined : { schemas: [AUDIT_SCHEMA], eventId: 'forged' });
      assert.ok(r.statusCode === 404 || r.statusCode === 405, `${method}: ${r.statusCode}`);
      assert.deepEqual(r.json().schemas, [ERROR_SCHEMA]);
    }
    assert.equal((await scim(h, 'GET', `/admin/v1/AuditEvents/${e.id}`, admin)).json().eventId, e.eventId);
    assertScimError(await scim(h, 'GET', '/admin/v1/AuditEvents/no-such-event', admin), 404);
  });
});

describe('SigningKeys and rotation', () => {
  let h: Harness;
  let admin: string;
  let c: Awaited<ReturnType<typeof setupClient>>;
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    c = await setupClient(h, { admin, scopes: ['rot.read'] });
  });
  after(() => h.close());

  const keys = async () => {
    const r = await scim(h, 'GET', '/admin/v1/SigningKeys', admin);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers['cache-control'], 'no-store');
    return r.json().Resources as { kid: string; alg: string; status: string; created: string; activated?: string; retired?: string; expires?: string }[];
  };
  const jwks = async () => (await h.inject({ url: '/admin/v1/SigningCert/jwk' })).json().keys as { kid: string }[];

  test('the domain has one active and one next RS256 key, both published; no private parts', async () => {
    const ks = await keys();
    const rs = ks.filter((k) => k.alg === 'RS256');
    assert.deepEqual(rs.map((k) => k.status).sort(), ['active', 'next']);
    const active = rs.find((k) => k.status === 'active')!;
    assert.ok(active.activated);
    const published = (await jwks()).map((k) => k.kid);
    for (const k of rs) assert.ok(published.includes(k.kid), k.kid);
    const r = await scim(h, 'GET', '/admin/v1/SigningKeys', admin);
    for (const m of [...PRIVATE_JWK_MEMBERS, 'privateJwk', 'privateJwkEnc', 'private_jwk_enc']) assert.ok(!(m in r.json().Resources[0]), m);
    assert.equal(decode(admin).header.kid, active.kid);
  });

  test('rotate: next becomes active and signs new tokens; the old key stays published (retired); old tokens stay valid', async () => {
    const before_ = await keys();
    const oldActive = before_.find((k) => k.alg === 'RS256' && k.status === 'active')!.kid;
    const oldNext = before_.find((k) => k.alg === 'RS256' && k.status === 'next')!.kid;
    const oldToken = (await clientToken(h, c.clientId, c.secret, 'rot.read')).json().access_token;
    assert.equal(decode(oldToken).header.kid, oldActive);

    const r = await scim(h, 'POST', '/admin/v1/SigningKeys/rotate', admin, { alg: 'RS256' });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().alg, 'RS256');
    assert.equal(r.json().active, oldNext);
    assert.equal(typeof r.json().next, 'string');
    assert.ok(![oldActive, oldNext].includes(r.json().next));

    const after_ = await keys();
    const status = Object.fromEntries(after_.filter((k) => k.alg === 'RS256').map((k) => [k.kid, k.status]));
    assert.deepEqual(status, { [oldActive]: 'retired', [oldNext]: 'active', [r.json().next]: 'next' });
    const retired = after_.find((k) => k.kid === oldActive)!;
    assert.ok(retired.retired && retired.expires && Date.parse(retired.expires) > h.clock.now());

    const published = (await jwks()).map((k) => k.kid);
    for (const kid of [oldActive, oldNext, r.json().next]) assert.ok(published.includes(kid), kid);

    const newToken = (await clientToken(h, c.clientId, c.secret, 'rot.read')).json().access_token;
    assert.equal(decode(newToken).header.kid, oldNext);
    const newAdmin = await adminToken(h);
    assert.equal(decode(newAdmin).header.kid, oldNext);

    for (const t of [oldToken, newToken]) {
      const i = await post(h, '/oauth2/v1/introspect', { token: t }, { authorization: basic(c.clientId, c.secret) });
      assert.equal(i.json().active, true, i.body);
      const set = createLocalJWKSet({ keys: await jwks() } as never);
      await jwtVerify(t, set, { issuer: ISSUER, audience: c.audience, currentDate: new Date(h.clock.now()) });
    }
    // the admin token signed by the retired key still works at the admin API
    assert.equal((await scim(h, 'GET', '/admin/v1/SigningKeys', admin)).statusCode, 200);
    assert.equal((await scim(h, 'GET', '/admin/v1/SigningKeys', newAdmin)).statusCode, 200);
  });

  test('rotate without a body uses the default alg; rotate is audited', async () => {
    const before_ = (await keys()).find((k) => k.alg === 'RS256' && k.status === 'next')!.kid;
    const r = await scim(h, 'POST', '/admin/v1/SigningKeys/rotate', admin);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().active, before_);
    const ev = await scim(h, 'GET', `/admin/v1/AuditEvents?${q('eventId eq "keys.rotated"')}`, admin);
    assert.ok(ev.json().Resources.some((e: { targetId: string; actorId: string }) => e.targetId === before_ && e.actorId === BOOT_ID));
  });

  test('rotate answers what it did: which key signs now, which is retired and until when, the new next key', async () => {
    const before_ = await keys();
    const oldActive = before_.find((k) => k.alg === 'RS256' && k.status === 'active')!;
    const oldNext = before_.find((k) => k.alg === 'RS256' && k.status === 'next')!;
    const r = await scim(h, 'POST', '/admin/v1/SigningKeys/rotate', admin, { alg: 'RS256' });
    assert.equal(r.statusCode, 200, r.body);
    const b = r.json();
    const after_ = await keys();
    const retired = after_.find((k) => k.kid === oldActive.kid)!;
    const newNext = after_.find((k) => k.alg === 'RS256' && k.status === 'next')!;
    const warned = b.warning === undefined ? [] : ['warning'];
    assert.deepEqual(Object.keys(b).sort(), ['active', 'activePublished', 'alg', 'message', 'next', 'outcome', 'retired', 'retiredPublishedUntil', ...warned].sort());
    assert.deepEqual({ ...b, message: undefined, warning: undefined }, {
      alg: 'RS256', outcome: 'rotated', active: oldNext.kid, activePublished: oldNext.created, retired: oldActive.kid,
      retiredPublishedUntil: retired.expires, next: newNext.kid, message: undefined, warning: undefined,
    });
    assert.equal(b.message, `RS256: key ${oldNext.kid} now signs (published since ${oldNext.created}). ` +
      `RS256: key ${oldActive.kid} is retired; it stays published until ${retired.expires} so that tokens it signed still verify. ` +
      `RS256: key ${newNext.kid} is published as the next key; the next rotation makes it sign.`);
    // the key now signing was published moments ago in this test (the clock stands still): say so
    assert.match(b.warning, new RegExp(`^key ${oldNext.kid} was published only 0 s ago \\(the publish delay is 305 s\\)`));
  });

  test('rotating an alg the domain has no key for only publishes a key; it signs once published for the delay', async () => {
    const delayMs = h.t.services.config.keyPublishDelaySeconds * 1000;
    assert.equal(delayMs, 305_000, 'default: the JWKS max-age (300 s) plus the cache TTL (5 s)');
    const r = await scim(h, 'POST', '/admin/v1/SigningKeys/rotate', admin, { alg: 'ES256' });
    assert.equal(r.statusCode, 200, r.body);
    const b = r.json();
    const es = (await keys()).filter((k) => k.alg === 'ES256');
    assert.deepEqual(es.map((k) => [k.kid, k.status]), [[b.next, 'next']], 'one key, published, not signing');
    const signsFrom = new Date(h.clock.now() + delayMs).toISOString();
    assert.deepEqual(b, {
      alg: 'ES256', outcome: 'published', next: es[0]!.kid, nextPublished: new Date(h.clock.now()).toISOString(), signsFrom,
      message: `ES256: the domain had no ES256 key; key ${es[0]!.kid} is published in the JWKS now and starts signing at ${signsFrom} (in 305 s), ` +
        'once verifiers that cache the JWKS have it. Until then, tokens that would use ES256 are signed with the default algorithm, RS256.',
    });
    assert.equal((es[0] as { signsFrom?: string }).signsFrom, signsFrom, 'the key list says when it starts signing');
    assert.ok((await jwks()).some((k) => k.kid === b.next), 'published from the start');

    // asking again changes nothing and says so
    (h.clock as FixedClock).advance(5_000);
    const again = await scim(h, 'POST', '/admin/v1/SigningKeys/rotate', admin, { alg: 'ES256' });
    assert.equal(again.json().outcome, 'pending');
    assert.equal(again.json().next, b.next);
    assert.equal(again.json().signsFrom, signsFrom);
    assert.match(again.json().message, new RegExp(`^ES256: nothing changed; key ${b.next} was published at ${b.nextPublished} and starts signing at ${signsFrom} \\(in 300 s\\)`));
    assert.deepEqual((await keys()).filter((k) => k.alg === 'ES256').map((k) => k.kid), [b.next]);
    const ev = await scim(h, 'GET', `/admin/v1/AuditEvents?${q('eventId eq "keys.rotated"')}`, admin);
    const outcomes = ev.json().Resources.filter((e: { targetId: string }) => e.targetId === b.next).map((e: { details: string }) => JSON.parse(e.details));
    assert.deepEqual(outcomes, [{ alg: 'ES256', outcome: 'pending' }, { alg: 'ES256', outcome: 'published' }], 'both are audited, newest first');

    // once published for the delay, rotate lets it sign (nothing to retire) and publishes its successor
    (h.clock as FixedClock).advance(300_000);
    const due = await scim(h, 'POST', '/admin/v1/SigningKeys/rotate', admin, { alg: 'ES256' });
    const esNow = (await keys()).filter((k) => k.alg === 'ES256');
    const successor = esNow.find((k) => k.status === 'next')!;
    assert.deepEqual(due.json(), {
      alg: 'ES256', outcome: 'rotated', active: b.next, activePublished: b.nextPublished, next: successor.kid,
      message: `ES256: key ${b.next} now signs (published since ${b.nextPublished}). ES256: key ${successor.kid} is published as the next key; the next rotation makes it sign.`,
    });
    assert.deepEqual(esNow.map((k) => [k.kid, k.status]).sort(), [[b.next, 'active'], [successor.kid, 'next']].sort());
  });

  test('a bad alg or body: 400, nothing rotated', async () => {
    const before_ = await keys();
    for (const body of [{ alg: 'HS256' }, { alg: 'none' }, { alg: 'rs256' }, { alg: 123 }, { alg: '' }, ['RS256'], 'RS256']) {
      const r = await scim(h, 'POST', '/admin/v1/SigningKeys/rotate', admin, body);
      assert.equal(r.statusCode, 400, `${JSON.stringify(body)}: ${r.body}`);
      assert.deepEqual(r.json().schemas, [ERROR_SCHEMA]);
    }
    const broken = await h.inject({ method: 'POST', url: '/admin/v1/SigningKeys/rotate', payload: '{', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' } });
    assertScimError(broken, 400, 'invalidSyntax');
    assert.deepEqual(await keys(), before_);
  });
});

describe('JWKS (public by default)', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
    const admin = await adminToken(h);
    for (const alg of ['ES256', 'PS256', 'EdDSA']) await setupClient(h, { admin, scopes: [`jw.${alg.toLowerCase()}`], rs: { accessTokenSigningAlg: alg } });
    await scim(h, 'POST', '/admin/v1/SigningKeys/rotate', admin, { alg: 'RS256' });
  });
  after(() => h.close());

  test('readable without a token, cacheable, no private key members, every key with kid, alg and use sig', async () => {
    const r = await h.inject({ url: '/admin/v1/SigningCert/jwk' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['cache-control']), /max-age=\d+/);
    assert.match(String(r.headers['content-type']), /json/);
    const ks = r.json().keys as Record<string, unknown>[];
    assert.deepEqual(Object.keys(r.json()), ['keys']);
    assert.ok(ks.length >= 6, `RS256 active+next+retired and a published next key for each of 3 new algs: ${ks.length}`);
    for (const k of ks) {
      for (const m of PRIVATE_JWK_MEMBERS) assert.ok(!(m in k), `${k.kid} has ${m}`);
      assert.equal(typeof k.kid, 'string');
      assert.ok(['RS256', 'ES256', 'PS256', 'EdDSA'].includes(k.alg as string), String(k.alg));
      assert.equal(k.use, 'sig');
      assert.ok(['RSA', 'EC', 'OKP'].includes(k.kty as string));
    }
    assert.equal(new Set(ks.map((k) => k.kid)).size, ks.length, 'kids are unique');
    assert.doesNotMatch(r.body, /"d"\s*:/);
  });

  test('a bearer token is not needed, and a bad one does not matter', async () => {
    const r = await h.inject({ url: '/admin/v1/SigningCert/jwk', headers: { authorization: 'Bearer garbage' } });
    assert.equal(r.statusCode, 200);
  });
});

describe('JWKS with jwksPublic: false', () => {
  let h: Harness;
  let admin: string;
  before(async () => {
    h = await harness({ config: { jwksPublic: false } });
    admin = await adminToken(h);
  });
  after(() => h.close());

  test('401 without a valid bearer token, with a challenge', async () => {
    for (const headers of [{}, { authorization: 'Bearer garbage' }, { authorization: basic(BOOT_ID, 'x') }, { authorization: `Bearer ${admin.slice(0, -3)}abc` }] as Record<string, string>[]) {
      const r = await h.inject({ url: '/admin/v1/SigningCert/jwk', headers });
      assert.equal(r.statusCode, 401, JSON.stringify(headers));
      assert.match(String(r.headers['www-authenticate']), /^Bearer realm="http:\/\/localhost:8080", error="invalid_token"/);
      assert.equal(r.json().error, 'invalid_token');
      assert.equal(r.json().keys, undefined);
    }
  });

  test('200 with any valid access token of the domain, not shared-cacheable', async () => {
    const c = await setupClient(h, { admin, scopes: ['jp.read'] });
    const rsToken = (await clientToken(h, c.clientId, c.secret, 'jp.read')).json().access_token;
    for (const t of [admin, rsToken]) {
      const r = await h.inject({ url: '/admin/v1/SigningCert/jwk', headers: { authorization: `Bearer ${t}` } });
      assert.equal(r.statusCode, 200, r.body);
      assert.ok(r.json().keys.length >= 2);
      assert.doesNotMatch(String(r.headers['cache-control']), /public/);
    }
  });

  test('the discovery metadata still names the JWKS URI', async () => {
    const m = (await h.inject({ url: '/.well-known/openid-configuration' })).json();
    assert.equal(m.jwks_uri, `${ISSUER}/admin/v1/SigningCert/jwk`);
  });
});
