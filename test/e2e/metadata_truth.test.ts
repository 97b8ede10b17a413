/**
 * Issue 7, "Metadata must be truthful": discovery, registration, the admin API's allowedGrants
 * validation and the SCIM schema all derive from the one grant registry, so what is advertised is
 * exactly what is served.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminToken, APP_SCHEMA, assertOAuthError, assertScimError, basic, harness, post, scim, type Harness } from '../helpers.js';
import { GRANT_REGISTRY } from '../../src/grants/index.js';

const UNSERVED = ['made-up'];

describe('metadata is truthful: one grant registry', () => {
  let h: Harness;
  let admin: string;
  let meta: Record<string, string[]>;
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    meta = (await h.inject({ url: '/.well-known/openid-configuration' })).json();
  });
  after(() => h.close());

  test('every advertised grant is served by the token endpoint or, for implicit, by its response types', async () => {
    const served = new Set(h.t.services.grants.keys());
    for (const g of meta.grant_types_supported!) {
      if (g === 'implicit') continue;
      assert.ok(served.has(g), `${g} is advertised but no handler serves it`);
      // The token endpoint knows it (a client not allowed it gets unauthorized_client, not unsupported_grant_type).
      const r = await post(h, '/oauth2/v1/token', { grant_type: g }, { authorization: basic('bootstrap-admin', 'bootstrap-secret-0123456789abcdefghij') });
      assert.notEqual(r.json().error, 'unsupported_grant_type', `${g}: ${r.body}`);
    }
    for (const g of served) assert.ok(meta.grant_types_supported!.includes(g), `${g} is served but not advertised`);
    // Issue 8: the SAML 2.0 bearer grant (RFC 7522) is served.
    assert.ok(served.has('urn:ietf:params:oauth:grant-type:saml2-bearer'));
    for (const g of UNSERVED) {
      assert.ok(!meta.grant_types_supported!.includes(g), g);
      assertOAuthError(await post(h, '/oauth2/v1/token', { grant_type: g }, { authorization: basic('bootstrap-admin', 'bootstrap-secret-0123456789abcdefghij') }), 400, 'unsupported_grant_type');
    }
  });

  test('response types and grant types agree: token and id_token come with implicit, code with authorization_code', () => {
    assert.deepEqual(meta.response_types_supported, ['code', 'token', 'id_token', 'id_token token']);
    assert.ok(meta.grant_types_supported!.includes('implicit'));
    assert.ok(meta.grant_types_supported!.includes('authorization_code'));
    for (const rt of meta.response_types_supported!) assert.ok(GRANT_REGISTRY.some((g) => g.responseTypes.includes(rt as never)), rt);
  });

  test('registration accepts exactly the self-registrable served grants; legacy ones are refused, unserved ones are unsupported', async () => {
    const reg = (grants: string[], extra: Record<string, unknown> = {}) => h.inject({
      method: 'POST', url: '/oauth2/v1/register', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ grant_types: grants, redirect_uris: ['https://app.example.com/cb'], ...extra }),
    });
    for (const g of ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'urn:ietf:params:oauth:grant-type:saml2-bearer']) {
      const r = await reg(g === 'authorization_code' ? [g] : [g], g === 'authorization_code' ? {} : { response_types: [] });
      assert.equal(r.statusCode, 201, `${g}: ${r.body}`);
    }
    for (const g of ['password', 'implicit']) {
      const r = await reg([g], { response_types: [] });
      assertOAuthError(r, 400, 'invalid_client_metadata');
      assert.match(r.json().error_description, /cannot be registered dynamically/);
    }
    for (const g of UNSERVED) {
      const r = await reg([g], { response_types: [] });
      assertOAuthError(r, 400, 'invalid_client_metadata');
      assert.match(r.json().error_description, /is not supported/);
    }
    for (const rt of ['token', 'id_token', 'code token', 'none']) assertOAuthError(await reg(['authorization_code'], { response_types: ['code', rt] }), 400, 'invalid_client_metadata');
    assertOAuthError(await reg(['authorization_code'], { response_types: [] }), 400, 'invalid_client_metadata');
  });

  test('the admin API accepts every advertised grant in allowedGrants and nothing else; the SCIM schema lists the same values', async () => {
    const app = (allowedGrants: string[]) => scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: `g-${allowedGrants.join('-').slice(0, 40)}-${Math.random()}`, isOAuthClient: true, allowedGrants,
      redirectUris: ['https://app.example.com/cb'],
    });
    for (const g of meta.grant_types_supported!) assert.equal((await app([g])).statusCode, 201, g);
    for (const g of UNSERVED) assertScimError(await app([g]), 400, 'invalidValue');
    const schema = (await h.inject({ url: '/admin/v1/Schemas/urn:ietf:params:scim:schemas:oracle:idcs:App' })).json();
    const attr = schema.attributes.find((a: { name: string }) => a.name === 'allowedGrants');
    assert.deepEqual([...attr.canonicalValues].sort(), [...meta.grant_types_supported!].sort());
  });
});
