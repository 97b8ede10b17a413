/**
 * Token exchange (RFC 8693) with a standard client library against a listening Tessera: oauth4webapi's generic
 * token endpoint request (its way of sending any grant), and the issued token checked by `jose` through the
 * published JWKS, as a resource server would.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { systemClock } from '../../src/core/clock.js';
import { adminToken, basic, harness, post, type Harness } from '../helpers.js';
import { createApp } from '../jwt_bearer_world.js';
import { createUser, PASSWORD } from '../signin.js';

const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

describe('token exchange through oauth4webapi against a running server', () => {
  let h: Harness;
  let base: string;
  const insecure = { [oauth.allowInsecureRequests]: true };

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    h = await harness({ config: { publicUrl: base }, clock: systemClock });
    await h.t.app.listen({ port, host: '127.0.0.1' });
  });
  after(() => h.close());

  test('discover, exchange a user token on behalf of its caller, verify act with jose; a refused exchange is a ResponseBodyError', async () => {
    const admin = await adminToken(h);
    const rs = (audience: string, scopes: string[]) => ({ isOAuthResource: true, audience, scopes: scopes.map((value) => ({ value })) });
    await createApp(h, admin, { allowedGrants: ['client_credentials'], ...rs('https://b.example', ['b.read']), allowedScopes: [{ fqs: 'b.read' }] });
    const a = await createApp(h, admin, { allowedGrants: [TE], allowedScopes: [{ fqs: 'b.read' }], ...rs('https://a.example', ['a.read']) });
    const web = await createApp(h, admin, { allowedGrants: ['password'], allowedScopes: [{ fqs: 'a.read' }] });
    const ada = await createUser(h, admin);
    const user = await post(h, '/oauth2/v1/token', { grant_type: 'password', username: ada.userName, password: PASSWORD, scope: 'a.read' }, { authorization: basic(web.clientId, web.secret!) });
    assert.equal(user.statusCode, 200, user.body);

    const issuer = new URL(base);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    assert.ok(as.grant_types_supported?.includes(TE), 'discovery lists the grant');
    const client: oauth.Client = { client_id: a.clientId };
    const res = await oauth.genericTokenEndpointRequest(as, client, oauth.ClientSecretBasic(a.secret!), TE, new URLSearchParams({
      subject_token: user.json().access_token, subject_token_type: AT, audience: 'https://b.example', scope: 'b.read',
    }), insecure);
    const tokens = await oauth.processGenericTokenEndpointResponse(as, client, res);
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.issued_token_type, AT);
    assert.equal(tokens.scope, 'b.read');
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(as.jwks_uri!)), { issuer: base, audience: 'https://b.example', typ: 'at+jwt' });
    assert.equal(payload.sub, ada.id);
    assert.deepEqual(payload.act, { sub: a.clientId });

    const refused = await oauth.genericTokenEndpointRequest(as, client, oauth.ClientSecretBasic(a.secret!), TE, new URLSearchParams({
      subject_token: user.json().access_token, subject_token_type: AT, audience: 'https://nowhere.example',
    }), insecure);
    await assert.rejects(oauth.processGenericTokenEndpointResponse(as, client, refused), (e: unknown) => {
      assert.ok(e instanceof oauth.ResponseBodyError);
      assert.equal(e.error, 'invalid_target');
      assert.equal(e.status, 400);
      return true;
    });
  });
});
