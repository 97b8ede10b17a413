import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { FixedClock } from '../../src/core/clock.js';
import type { AppRecord, DomainRecord } from '../../src/core/types.js';
import { resolveUserFlowScopes } from '../../src/identity/scopes.js';
import { userRoleIds } from '../../src/identity/user_roles.js';
import { IdTokenIssuer } from '../../src/tokens/id_token.js';
import {
  adminToken, assertOAuthError, basic, clientToken, decode, harness, ISSUER, post, scim, setupClient, type Harness,
} from '../helpers.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ROLE = 'urn:ietf:params:scim:schemas:oracle:idcs:AppRole';
const GRANT = 'urn:ietf:params:scim:schemas:oracle:idcs:Grant';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const URL_ = '/oauth2/v1/userinfo';
const REALM = `Bearer realm="${ISSUER}"`;

/** A 401/403 of userinfo: the RFC 6750 §3 challenge exactly, the JSON error body, no-store, CORS. */
function assertChallenge(r: LightMyRequestResponse, status: 401 | 403, error: string, challenge: string): void {
  assertOAuthError(r, status, error);
  assert.equal(r.headers['www-authenticate'], challenge);
  assert.equal(r.headers['access-control-allow-origin'], '*');
}

describe('userinfo (OIDC Core §5.3)', () => {
  let h: Harness;
  let clock: FixedClock;
  let admin: string;
  let domain: DomainRecord;
  let client: AppRecord;
  let cl: Awaited<ReturnType<typeof setupClient>>;
  let userId: string;
  let updatedAt: number;
  let group: { id: string; displayName: string };
  let role: { id: string; displayName: string; appId: string };

  /** A user access token as the authorization code flow would issue it (scopes resolved as for a user flow). */
  const mint = async (scopes: string[], uid = userId, c = client): Promise<string> => {
    const s = h.t.services;
    const cat = await s.catalogs.catalog(domain);
    const r = resolveUserFlowScopes(cat, c, await userRoleIds(s.repos, domain.id, uid), scopes);
    const at = await s.accessTokens.issue({
      domain, issuer: ISSUER, client: c, sub: uid, subType: 'user', userId: uid, scopes: r.scopes, resourceServers: r.resourceServers, expiry: r.expiry,
    });
    return at.token;
  };
  const get = (token?: string, url = URL_, headers: Record<string, string> = {}) =>
    h.inject({ method: 'GET', url, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
  const newUser = async (body: Record<string, unknown>) => {
    const r = await scim(h, 'POST', '/admin/v1/Users', admin, { schemas: [USER], ...body });
    assert.equal(r.statusCode, 201, r.body);
    return r.json() as { id: string; meta: { lastModified: string } };
  };

  before(async () => {
    clock = new FixedClock(Date.UTC(2025, 2, 1, 10, 0, 0));
    h = await harness({ clock });
    admin = await adminToken(h);
    domain = (await h.t.services.repos.domains.getByName('default'))!;
    cl = await setupClient(h, { admin, scopes: ['orders.read'] });
    client = (await h.t.services.repos.apps.getByClientId(domain.id, cl.clientId))!;
    const u = await newUser({
      userName: 'bjensen@example.com',
      name: { formatted: 'Ms. Barbara J Jensen, III', givenName: 'Barbara', familyName: 'Jensen', middleName: 'Jane' },
      displayName: 'Babs Jensen', nickName: 'Babs', profileUrl: 'https://login.example.com/bjensen', locale: 'en-US', timezone: 'America/Los_Angeles',
      emails: [{ value: 'bjensen@home.example', type: 'home' }, { value: 'bjensen@example.com', type: 'work', primary: true }],
      phoneNumbers: [{ value: '+1 555 555 5555', type: 'work' }],
      addresses: [{ type: 'work', streetAddress: '100 Universal City Plaza', locality: 'Hollywood', region: 'CA', postalCode: '91608', country: 'US', primary: true }],
      photos: [{ value: 'https://photos.example.com/bjensen.jpg', type: 'photo' }],
    });
    userId = u.id;
    updatedAt = Math.floor(Date.parse(u.meta.lastModified) / 1000);
    const g = await scim(h, 'POST', '/admin/v1/Groups', admin, { schemas: [GROUP], displayName: 'Tour Guides', members: [{ value: userId, type: 'User' }] });
    assert.equal(g.statusCode, 201, g.body);
    group = g.json();
    const r = await scim(h, 'POST', '/admin/v1/AppRoles', admin, { schemas: [ROLE], displayName: 'Order Reader', app: { value: cl.rs.id }, scopes: [{ value: 'orders.read' }] });
    assert.equal(r.statusCode, 201, r.body);
    role = { id: r.json().id, displayName: r.json().displayName, appId: cl.rs.id };
    const gr = await scim(h, 'POST', '/admin/v1/Grants', admin, {
      schemas: [GRANT], app: { value: cl.rs.id }, entitlement: { attributeName: 'appRoles', attributeValue: role.id },
      grantMechanism: 'ADMINISTRATOR_TO_USER', grantee: { value: userId, type: 'User' },
    });
    assert.equal(gr.statusCode, 201, gr.body);
  });
  after(() => h.close());

  test('openid alone: only sub; no-store, CORS, JSON; the OIDC-only token is audienced to the issuer', async () => {
    const t = await mint(['openid']);
    assert.equal(decode(t).payload.aud, ISSUER);
    const r = await get(t);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), { sub: userId });
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.headers.pragma, 'no-cache');
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.match(String(r.headers['content-type']), /^application\/json/);
  });

  test('every scope: the §5.4 claims from the SCIM user, groups and app roles', async () => {
    const r = await get(await mint(['openid', 'profile', 'email', 'phone', 'address', 'groups', 'approles']));
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), {
      sub: userId,
      name: 'Ms. Barbara J Jensen, III', given_name: 'Barbara', family_name: 'Jensen', middle_name: 'Jane', nickname: 'Babs',
      preferred_username: 'bjensen@example.com', profile: 'https://login.example.com/bjensen', picture: 'https://photos.example.com/bjensen.jpg',
      zoneinfo: 'America/Los_Angeles', locale: 'en-US', updated_at: updatedAt,
      email: 'bjensen@example.com', email_verified: false,
      phone_number: '+1 555 555 5555', phone_number_verified: false,
      address: { street_address: '100 Universal City Plaza', locality: 'Hollywood', region: 'CA', postal_code: '91608', country: 'US' },
      groups: [{ id: group.id, name: 'Tour Guides' }],
      approles: [{ id: role.id, name: 'Order Reader', appId: role.appId }],
    });
  });

  const perScope: [string[], string[]][] = [
    [['openid', 'email'], ['email', 'email_verified', 'sub']],
    [['openid', 'phone'], ['phone_number', 'phone_number_verified', 'sub']],
    [['openid', 'address'], ['address', 'sub']],
    [['openid', 'get_groups'], ['groups', 'sub']],
    [['openid', 'get_approles'], ['approles', 'sub']],
    [['openid', 'offline_access'], ['sub']],
    // An API scope beside openid: the token names the API, and still reaches userinfo.
    [['openid', 'email', 'orders.read'], ['email', 'email_verified', 'sub']],
  ];
  for (const [scopes, keys] of perScope) {
    test(`scope "${scopes.join(' ')}" -> ${keys.join(', ')}`, async () => {
      const r = await get(await mint(scopes));
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(Object.keys(r.json()).sort(), keys);
    });
  }

  test('POST with the token in the form body (RFC 6750 §2.2), and POST with the header', async () => {
    const t = await mint(['openid', 'email']);
    const want = { sub: userId, email: 'bjensen@example.com', email_verified: false };
    const byBody = await post(h, URL_, { access_token: t });
    assert.equal(byBody.statusCode, 200, byBody.body);
    assert.deepEqual(byBody.json(), want);
    assert.equal(byBody.headers['cache-control'], 'no-store');
    const byHeader = await post(h, URL_, {}, { authorization: `Bearer ${t}` });
    assert.equal(byHeader.statusCode, 200, byHeader.body);
    assert.deepEqual(byHeader.json(), want);
    const empty = await h.inject({ method: 'POST', url: URL_, headers: { authorization: `Bearer ${t}` } });
    assert.equal(empty.statusCode, 200, empty.body);
  });

  test('400 invalid_request: token in header and body, a repeated body token, a malformed Bearer header', async () => {
    const t = await mint(['openid']);
    assertOAuthError(await post(h, URL_, { access_token: t }, { authorization: `Bearer ${t}` }), 400, 'invalid_request');
    assertOAuthError(await post(h, URL_, `access_token=${t}&access_token=${t}`), 400, 'invalid_request');
    for (const a of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer {bad}']) {
      const r = await get(undefined, URL_, { authorization: a });
      assertOAuthError(r, 400, 'invalid_request');
      assert.equal(r.headers['access-control-allow-origin'], '*');
    }
  });

  test('401 without error code when no token is presented (RFC 6750 §3.1); a Basic header is no bearer token', async () => {
    assertChallenge(await get(), 401, 'invalid_token', REALM);
    assertChallenge(await post(h, URL_, {}), 401, 'invalid_token', REALM);
    assertChallenge(await get(undefined, URL_, { authorization: basic(cl.clientId, cl.secret) }), 401, 'invalid_token', REALM);
    // A JSON body is not the RFC 6750 §2.2 form-encoded method.
    const json = await h.inject({ method: 'POST', url: URL_, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ access_token: await mint(['openid']) }) });
    assertChallenge(json, 401, 'invalid_token', REALM);
  });

  test('401: a token in the URI query is not accepted (RFC 6750 §2.3 not offered), GET or POST', async () => {
    const t = await mint(['openid']);
    const r = await get(undefined, `${URL_}?access_token=${t}`);
    assertChallenge(r, 401, 'invalid_token', REALM);
    assert.match(r.json().error_description, /query/);
    assertChallenge(await post(h, `${URL_}?access_token=${t}`, {}), 401, 'invalid_token', REALM);
  });

  test('401 invalid_token: garbage, an ID token, a revoked token, an expired token', async () => {
    const invalid = `${REALM}, error="invalid_token"`;
    assertChallenge(await get('not-a-token'), 401, 'invalid_token', invalid);
    const idToken = await new IdTokenIssuer({ keys: h.t.services.keys, clock }).issue({ domain, issuer: ISSUER, client, userId, authTime: clock.now(), amr: ['pwd'] });
    assertChallenge(await get(idToken), 401, 'invalid_token', invalid);
    const revoked = await mint(['openid']);
    const rv = await post(h, '/oauth2/v1/revoke', { token: revoked }, { authorization: basic(cl.clientId, cl.secret) });
    assert.equal(rv.statusCode, 200, rv.body);
    assertChallenge(await get(revoked), 401, 'invalid_token', invalid);
    const t = await mint(['openid']);
    const exp = decode(t).payload.exp as number;
    const saved = clock.now();
    clock.set(exp * 1000);
    try {
      assertChallenge(await get(t), 401, 'invalid_token', invalid);
    } finally {
      clock.set(saved);
    }
    assert.equal((await get(t)).statusCode, 200);
  });

  test('403 insufficient_scope: a client token, a user token without openid', async () => {
    const insufficient = `${REALM}, error="insufficient_scope", scope="openid"`;
    const cc = await clientToken(h, cl.clientId, cl.secret, 'orders.read');
    assert.equal(cc.statusCode, 200, cc.body);
    assertChallenge(await get(cc.json().access_token), 403, 'insufficient_scope', insufficient);
    assertChallenge(await get(await mint(['orders.read'])), 403, 'insufficient_scope', insufficient);
  });

  test('401 invalid_token once the user is deactivated or deleted, though the JWT itself is unexpired', async () => {
    const u = await newUser({ userName: 'temp@example.com', emails: [{ value: 'temp@example.com' }] });
    const t = await mint(['openid', 'email'], u.id);
    assert.equal((await get(t)).statusCode, 200);
    const p = await scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, admin, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] });
    assert.equal(p.statusCode, 200, p.body);
    assertChallenge(await get(t), 401, 'invalid_token', `${REALM}, error="invalid_token"`);
    const u2 = await newUser({ userName: 'gone@example.com' });
    const t2 = await mint(['openid'], u2.id);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Users/${u2.id}`, admin)).statusCode, 204);
    assertChallenge(await get(t2), 401, 'invalid_token', `${REALM}, error="invalid_token"`);
  });

  test('a user with no groups gets an empty groups claim; no profile attributes gives only the required ones', async () => {
    const u = await newUser({ userName: 'plain' });
    const r = await get(await mint(['openid', 'profile', 'email', 'groups'], u.id));
    assert.equal(r.statusCode, 200, r.body);
    const b = r.json();
    assert.deepEqual(Object.keys(b).sort(), ['groups', 'preferred_username', 'sub', 'updated_at']);
    assert.deepEqual(b.groups, []);
    assert.equal(b.preferred_username, 'plain');
  });

  test('CORS preflight: 204 allowing GET and POST with Authorization from any origin', async () => {
    const r = await h.inject({ method: 'OPTIONS', url: URL_, headers: { origin: 'https://spa.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    assert.equal(r.statusCode, 204);
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.equal(r.headers['access-control-allow-methods'], 'GET, POST');
    assert.match(String(r.headers['access-control-allow-headers']), /Authorization/);
    assert.equal(r.body, '');
  });

  test('the default domain is not served under /domains/default (issue 7: its issuer is the root)', async () => {
    const r = await get(await mint(['openid']), `/domains/default${URL_}`);
    assert.equal(r.statusCode, 404, r.body);
    assert.equal(r.json().error, 'invalid_request');
  });
});
