/**
 * Issue 7: "Metadata must be truthful." Generic clients choose what to do from discovery and from
 * what registration accepts; a grant listed but not served, or served but not listed, breaks them.
 * Every list (discovery, the registration allow-list, admin allowedGrants validation, the SCIM
 * canonical values) must agree with the grants the server really serves. Today discovery lists
 * response type `token` without the `implicit` grant, and registration and the admin API accept
 * jwt-bearer, saml2-bearer and device_code grants that no handler serves.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { adminToken, APP_SCHEMA, assertScimError, basic, harness, post, scim, setupClient, type Harness } from '../helpers.js';

// Every standard grant type Tessera lists is served now (device_code since issue 9); the custom one below stays unserved.
const NOT_SERVED: string[] = [];
/** Legacy grants only an administrator may give an App (RFC 9700 §2.1.2, §2.4): never by dynamic registration. */
const ADMIN_ONLY = ['implicit', 'password', 'urn:ietf:params:oauth:grant-type:token-exchange'];

describe('metadata is truthful: discovery, registration, admin validation and SCIM agree with the grants served', () => {
  let h: Harness;
  let admin: string;
  let meta: { grant_types_supported: string[]; response_types_supported: string[] };
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    const r = await h.inject({ url: '/.well-known/openid-configuration' });
    assert.equal(r.statusCode, 200);
    meta = r.json();
  });
  after(() => h.close());

  test('every grant in grant_types_supported is served by the token endpoint, except implicit, which the authorization endpoint serves', async () => {
    const c = await setupClient(h, { admin, scopes: ['meta.read'] });
    for (const g of meta.grant_types_supported) {
      if (g === 'implicit') {
        // RFC 8414 §2: implicit is served through response types that return tokens from the authorization endpoint.
        assert.ok(meta.response_types_supported.some((rt) => rt.split(' ').includes('token') || rt.split(' ').includes('id_token')));
        continue;
      }
      const r = await post(h, '/oauth2/v1/token', { grant_type: g }, { authorization: basic(c.clientId, c.secret) });
      assert.notEqual(r.json().error, 'unsupported_grant_type', `${g} is listed but not served: ${r.body}`);
    }
  });

  test('a response type that returns an access token from the authorization endpoint implies implicit in grant_types_supported', () => {
    // RFC 8414 §2 / OIDC Discovery §3: grant_types_supported must list implicit when token response types are offered.
    const tokenTypes = meta.response_types_supported.filter((rt) => rt.split(' ').includes('token'));
    assert.ok(tokenTypes.length > 0, 'this server offers response_type token (implicit opt-in per App)');
    assert.ok(meta.grant_types_supported.includes('implicit'), `response_types_supported ${JSON.stringify(meta.response_types_supported)} but grant_types_supported ${JSON.stringify(meta.grant_types_supported)}`);
  });

  test('grants no handler serves are unsupported_grant_type at the token endpoint and absent from discovery', async () => {
    const c = await setupClient(h, { admin, scopes: ['meta.read2'] });
    for (const g of [...NOT_SERVED, 'urn:example:grant-type:custom']) {
      assert.ok(!meta.grant_types_supported.includes(g), g);
      const r = await post(h, '/oauth2/v1/token', { grant_type: g }, { authorization: basic(c.clientId, c.secret) });
      assert.equal(r.statusCode, 400, `${g}: ${r.body}`);
      assert.equal(r.json().error, 'unsupported_grant_type', g);
    }
  });

  test('dynamic registration accepts the grants the token endpoint serves, and refuses those it does not', async () => {
    const iat = await adminToken(h, 'urn:opc:idm:t.apps');
    const register = (grants: string[]) => h.inject({
      method: 'POST', url: '/oauth2/v1/register', headers: { authorization: `Bearer ${iat}`, 'content-type': 'application/json' },
      payload: JSON.stringify({
        client_name: `meta-${randomBytes(3).toString('hex')}`, redirect_uris: ['https://app.example.com/cb'], grant_types: grants,
        response_types: grants.includes('authorization_code') ? ['code'] : [],
      }),
    });
    const registrable = meta.grant_types_supported.filter((g) => !ADMIN_ONLY.includes(g));
    assert.deepEqual([...registrable].sort(), ['authorization_code', 'client_credentials', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'urn:ietf:params:oauth:grant-type:saml2-bearer']);
    for (const g of registrable) {
      const grants = g === 'refresh_token' ? ['authorization_code', 'refresh_token'] : [g];
      const r = await register(grants);
      assert.equal(r.statusCode, 201, `${g}: ${r.body}`);
      assert.deepEqual(r.json().grant_types, grants);
    }
    for (const g of [...NOT_SERVED, ...ADMIN_ONLY, 'urn:example:grant-type:custom']) {
      const r = await register([g]);
      assert.equal(r.statusCode, 400, `${g} must be refused: ${r.body}`);
      assert.equal(r.json().error, 'invalid_client_metadata', g);
    }
  });

  test('admin API allowedGrants: accepts every grant served (implicit included), refuses grants no handler serves', async () => {
    const create = (grants: string[]) => scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: `grants-${randomBytes(3).toString('hex')}`, isOAuthClient: true, clientType: 'confidential',
      allowedGrants: grants, redirectUris: ['https://app.example.com/cb'],
    });
    const served = [...new Set([...meta.grant_types_supported, 'implicit'])];
    for (const g of served) {
      const r = await create([g]);
      assert.equal(r.statusCode, 201, `${g}: ${r.body}`);
    }
    for (const g of [...NOT_SERVED, 'urn:example:grant-type:custom']) {
      const r = await create(['authorization_code', g]);
      assert.equal(r.statusCode, 400, `${g} must be refused: ${r.body}`);
      assertScimError(r, 400, 'invalidValue');
      assert.match(r.json().detail, /allowedGrants/, g);
    }
  });

  test('the SCIM schema\'s canonical values for allowedGrants are the grants served', async () => {
    const r = await h.inject({ url: `/admin/v1/Schemas/${APP_SCHEMA}` });
    assert.equal(r.statusCode, 200, r.body);
    const attr = (r.json().attributes as { name: string; canonicalValues?: string[] }[]).find((a) => a.name === 'allowedGrants');
    assert.ok(attr?.canonicalValues, 'allowedGrants has canonical values');
    assert.deepEqual([...attr.canonicalValues].sort(), [...new Set([...meta.grant_types_supported, 'implicit'])].sort());
  });
});
