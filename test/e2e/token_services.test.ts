import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FixedClock } from '../../src/core/clock.js';
import { runMaintenance } from '../../src/maintenance.js';
import { adminToken, assertOAuthError, basic, clientToken, harness, ISSUER, post, scim, setupClient, type Harness } from '../helpers.js';

describe('introspection (RFC 7662), revocation (RFC 7009), tokeninfo', () => {
  let h: Harness;
  let clock: FixedClock;
  let admin: string;
  let a: Awaited<ReturnType<typeof setupClient>>;
  let b: Awaited<ReturnType<typeof setupClient>>;
  let opaque: Awaited<ReturnType<typeof setupClient>>;
  const introspect = (id: string, secret: string, token: string) => post(h, '/oauth2/v1/introspect', { token }, { authorization: basic(id, secret) });
  const revoke = (id: string, secret: string, token: string, extra: Record<string, string> = {}) =>
    post(h, '/oauth2/v1/revoke', { token, ...extra }, { authorization: basic(id, secret) });
  const issue = async (c: { clientId: string; secret: string }, scope: string) => {
    const r = await clientToken(h, c.clientId, c.secret, scope);
    assert.equal(r.statusCode, 200, r.body);
    return r.json().access_token as string;
  };

  before(async () => {
    clock = new FixedClock(Date.now());
    h = await harness({ clock });
    admin = await adminToken(h);
    a = await setupClient(h, { admin, scopes: ['a.read'] });
    b = await setupClient(h, { admin, scopes: ['b.read'] });
    opaque = await setupClient(h, { admin, scopes: ['o.read'], rs: { accessTokenFormat: 'opaque' } });
  });
  after(() => h.close());

  test('issue 7: introspection tells the scopes the client still holds, not those it held at issuance', async () => {
    const two = await setupClient(h, { admin, scopes: ['n.read', 'n.write'] });
    const at = await issue(two, 'n.read n.write');
    assert.equal((await introspect(two.clientId, two.secret, at)).json().scope, 'n.read n.write');
    const patch = await scim(h, 'PATCH', `/admin/v1/Apps/${two.app.id}`, admin, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'allowedScopes', value: [{ fqs: 'n.read' }] }] });
    assert.equal(patch.statusCode, 200, patch.body);
    assert.equal((await introspect(two.clientId, two.secret, at)).json().scope, 'n.read');
    // The resource server disabled: its scopes grant nothing, and a token left with none is inactive.
    await scim(h, 'PATCH', `/admin/v1/Apps/${two.rs.id}`, admin, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] });
    assert.deepEqual((await introspect(two.clientId, two.secret, at)).json(), { active: false });
  });

  test('introspecting an active JWT token of the caller', async () => {
    const at = await issue(a, 'a.read');
    const r = await introspect(a.clientId, a.secret, at);
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['cache-control'], 'no-store');
    const j = r.json();
    assert.equal(j.active, true);
    assert.equal(j.client_id, a.clientId);
    assert.equal(j.scope, 'a.read');
    assert.equal(j.sub, a.clientId);
    assert.equal(j.sub_type, 'client');
    assert.equal(j.aud, a.audience);
    assert.equal(j.iss, ISSUER);
    assert.equal(j.token_type, 'Bearer');
    assert.equal(typeof j.exp, 'number');
  });

  test('introspecting an opaque token', async () => {
    const at = await issue(opaque, 'o.read');
    const j = (await introspect(opaque.clientId, opaque.secret, at)).json();
    assert.equal(j.active, true);
    assert.equal(j.scope, 'o.read');
    assert.equal(j.aud, opaque.audience);
  });

  test('inactive answers are exactly {"active":false}', async () => {
    const at = await issue(a, 'a.read');
    const inactive = async (token: string, id = a.clientId, secret = a.secret) => {
      const r = await introspect(id, secret, token);
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json(), { active: false });
    };
    await inactive(at, b.clientId, b.secret); // another client's token
    await inactive('garbage');
    await inactive('a.b.c');
    await inactive(`${at.slice(0, -4)}AAAA`); // broken signature
    await inactive('x'.repeat(9000));
    await inactive(at.split('.').slice(0, 2).join('.') + '.'); // no signature
    // alg none with the same claims
    const [, payload] = at.split('.');
    await inactive(`${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`);
    // expired
    clock.advance(3601_000);
    await inactive(at);
    clock.advance(-3601_000);
  });

  test('introspection needs client authentication; a missing token is invalid_request', async () => {
    assertOAuthError(await post(h, '/oauth2/v1/introspect', { token: 'x' }), 401, 'invalid_client');
    assertOAuthError(await introspect(a.clientId, 'wrong', 'x'), 401, 'invalid_client');
    assertOAuthError(await post(h, '/oauth2/v1/introspect', {}, { authorization: basic(a.clientId, a.secret) }), 400, 'invalid_request');
  });

  test('a resource server may introspect tokens meant for it, and no one else\'s', async () => {
    // One app that is both the resource server (audience) and a confidential client (to authenticate).
    const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:App'], displayName: 'gateway', isOAuthResource: true, audience: 'https://gw.example.com',
      scopes: [{ value: 'gw.read' }], isOAuthClient: true, clientType: 'confidential', allowedGrants: [],
    });
    assert.equal(rs.statusCode, 201, rs.body);
    const caller = await setupClient(h, { admin, scopes: ['c.read'] });
    const upd = await scim(h, 'PATCH', `/admin/v1/Apps/${caller.app.id}`, admin, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'allowedScopes', value: [{ fqs: 'gw.read' }] }],
    });
    assert.equal(upd.statusCode, 200, upd.body);
    const at = await issue(caller, 'gw.read');
    const seen = (await introspect(rs.json().name, rs.json().clientSecret, at)).json();
    assert.equal(seen.active, true);
    assert.equal(seen.client_id, caller.clientId);
    const other = await issue(a, 'a.read');
    assert.deepEqual((await introspect(rs.json().name, rs.json().clientSecret, other)).json(), { active: false });
  });

  test('revoking a JWT access token: 200, then inactive everywhere', async () => {
    const at = await issue(a, 'a.read');
    const r = await revoke(a.clientId, a.secret, at, { token_type_hint: 'access_token' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, '');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.deepEqual((await introspect(a.clientId, a.secret, at)).json(), { active: false });
    assertOAuthError(await h.inject({ url: `/oauth2/v1/tokeninfo?access_token=${at}` }), 400, 'invalid_token');
    // revoking twice is fine
    assert.equal((await revoke(a.clientId, a.secret, at)).statusCode, 200);
  });

  test('revoking an opaque token', async () => {
    const at = await issue(opaque, 'o.read');
    assert.equal((await revoke(opaque.clientId, opaque.secret, at)).statusCode, 200);
    assert.deepEqual((await introspect(opaque.clientId, opaque.secret, at)).json(), { active: false });
  });

  test('unknown tokens revoke with 200; another client\'s token is refused and stays active', async () => {
    assert.equal((await revoke(a.clientId, a.secret, 'unknown-token')).statusCode, 200);
    assert.equal((await revoke(a.clientId, a.secret, 'a.b.c')).statusCode, 200);
    const at = await issue(b, 'b.read');
    const r = await revoke(a.clientId, a.secret, at);
    assertOAuthError(r, 403, 'unauthorized_client');
    assert.equal((await introspect(b.clientId, b.secret, at)).json().active, true);
    const ot = await issue(opaque, 'o.read');
    assertOAuthError(await revoke(a.clientId, a.secret, ot), 403, 'unauthorized_client');
  });

  test('revocation needs client authentication and a token', async () => {
    assertOAuthError(await post(h, '/oauth2/v1/revoke', { token: 'x' }), 401, 'invalid_client');
    const bad = await revoke(a.clientId, 'nope', 'x');
    assertOAuthError(bad, 401, 'invalid_client');
    assert.match(String(bad.headers['www-authenticate']), /^Basic /);
    assertOAuthError(await post(h, '/oauth2/v1/revoke', {}, { authorization: basic(a.clientId, a.secret) }), 400, 'invalid_request');
  });

  test('revocation records are purged only after the token would have expired', async () => {
    const at = await issue(a, 'a.read');
    await revoke(a.clientId, a.secret, at);
    await runMaintenance(h.t.services);
    assert.deepEqual((await introspect(a.clientId, a.secret, at)).json(), { active: false });
    clock.advance(3700_000);
    const purged = await runMaintenance(h.t.services);
    assert.ok((purged.revocations ?? 0) >= 1, JSON.stringify(purged));
    clock.advance(-3700_000);
  });

  test('tokeninfo: GET and POST, remaining lifetime in seconds', async () => {
    const at = await issue(a, 'a.read');
    clock.advance(100_000);
    const g = await h.inject({ url: `/oauth2/v1/tokeninfo?access_token=${encodeURIComponent(at)}` });
    assert.equal(g.statusCode, 200, g.body);
    assert.equal(g.headers['cache-control'], 'no-store');
    assert.deepEqual(g.json(), { audience: a.audience, client_id: a.clientId, scope: 'a.read', expires_in: 3500 });
    const p = await post(h, '/oauth2/v1/tokeninfo', { access_token: at });
    assert.deepEqual(p.json(), g.json());
    clock.advance(-100_000);
  });

  test('tokeninfo errors: missing, garbage, expired, duplicated', async () => {
    assertOAuthError(await h.inject({ url: '/oauth2/v1/tokeninfo' }), 400, 'invalid_request');
    assertOAuthError(await h.inject({ url: '/oauth2/v1/tokeninfo?access_token=garbage' }), 400, 'invalid_token');
    assertOAuthError(await h.inject({ url: '/oauth2/v1/tokeninfo?access_token=a&access_token=b' }), 400, 'invalid_request');
    const at = await issue(a, 'a.read');
    clock.advance(3601_000);
    assertOAuthError(await post(h, '/oauth2/v1/tokeninfo', { access_token: at }), 400, 'invalid_token');
    clock.advance(-3601_000);
  });

  test('a deleted client\'s tokens are inactive', async () => {
    const c = await setupClient(h, { admin, scopes: ['gone.read'] });
    const at = await issue(c, 'gone.read');
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Apps/${c.app.id}`, admin)).statusCode, 204);
    assertOAuthError(await h.inject({ url: `/oauth2/v1/tokeninfo?access_token=${at}` }), 400, 'invalid_token');
  });

  test('security events reach the audit trail', async () => {
    await clientToken(h, a.clientId, 'wrong');
    const audit = await adminToken(h);
    const r = await scim(h, 'GET', '/admin/v1/AuditEvents?filter=eventId%20eq%20%22client_auth.failed%22', audit);
    assert.equal(r.statusCode, 200, r.body);
    assert.ok(r.json().totalResults >= 1);
    assert.equal(r.json().Resources[0].outcome, 'failure');
    const issued = await scim(h, 'GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`eventId eq "token.issued" and actorId eq "${a.clientId}"`)}&count=2`, audit);
    assert.equal(issued.json().Resources.length, 2);
    assert.ok(issued.json().totalResults >= 5);
  });
});
