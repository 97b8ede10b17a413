import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import * as oauth from 'oauth4webapi';
import { systemClock } from '../../src/core/clock.js';
import { adminToken, harness, scim, setupClient, type Harness } from '../helpers.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

/** A standard OAuth client library against a listening Tessera: discovery, client_credentials, RFC 9068 validation. */
describe('oauth4webapi against a running server', () => {
  let h: Harness;
  let base: string;
  const insecure = { [oauth.allowInsecureRequests]: true };

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // Real time, so a key for a new alg signs at once (no publish delay): nothing has cached this JWKS.
    h = await harness({ config: { publicUrl: base, keyPublishDelaySeconds: 0 }, clock: systemClock });
    await h.t.app.listen({ port, host: '127.0.0.1' });
  });
  after(() => h.close());

  async function flow(issuerUrl: string, c: { clientId: string; secret: string; audience: string }, scope: string, alg?: string) {
    const issuer = new URL(issuerUrl);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    assert.equal(as.issuer, issuerUrl);
    assert.ok(as.grant_types_supported?.includes('client_credentials'));
    const client: oauth.Client = { client_id: c.clientId };
    const res = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(c.secret), new URLSearchParams({ scope }), insecure);
    const tokens = await oauth.processClientCredentialsResponse(as, client, res);
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.scope, scope);
    // A resource server validating the access token the RFC 9068 way (typ, iss, aud, exp, signature via jwks_uri).
    const request = new Request(`${c.audience}/orders`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const claims = await oauth.validateJwtAccessToken(as, request, c.audience, { ...insecure, ...(alg ? { signingAlgorithms: [alg as oauth.JWSAlgorithm] } : {}) });
    assert.equal(claims.client_id, c.clientId);
    assert.equal(claims.sub, c.clientId);
    assert.equal(claims.iss, issuerUrl);
    assert.equal(claims.scope, scope);
    // and a wrong audience is refused by the library
    await assert.rejects(oauth.validateJwtAccessToken(as, request, 'https://someone-else.example', insecure));
    return { as, tokens };
  }

  test('default domain: discover, get a token, validate it as an RFC 9068 resource server', async () => {
    const admin = await adminToken(h);
    const c = await setupClient(h, { admin, scopes: ['std.read'] });
    await flow(base, c, 'std.read');
  });

  test('ES256 tokens validate too', async () => {
    const admin = await adminToken(h);
    const c = await setupClient(h, { admin, scopes: ['std.es'], rs: { accessTokenSigningAlg: 'ES256' } });
    await flow(base, c, 'std.es', 'ES256');
  });

  test('a domain with a path issuer: RFC 8414 path-inserted discovery works with the library', async () => {
    const admin = await adminToken(h);
    const d = await scim(h, 'POST', '/admin/v1/IdentityDomains', admin, { name: 'std' });
    assert.equal(d.statusCode, 201, d.body);
    const r = await h.inject({
      method: 'POST', url: '/domains/std/oauth2/v1/token', payload: 'grant_type=client_credentials&scope=urn%3Aopc%3Aidm%3A__myscopes__',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`${d.json().adminClient.client_id}:${d.json().adminClient.client_secret}`).toString('base64') },
    });
    assert.equal(r.statusCode, 200, r.body);
    const c = await setupClient(h, { admin: r.json().access_token, prefix: '/domains/std', scopes: ['std.path'] });
    await flow(`${base}/domains/std`, c, 'std.path');
  });

  test('revocation and introspection through the library', async () => {
    const admin = await adminToken(h);
    const c = await setupClient(h, { admin, scopes: ['std.rev'] });
    const { as, tokens } = await flow(base, c, 'std.rev');
    const client: oauth.Client = { client_id: c.clientId };
    const auth = oauth.ClientSecretBasic(c.secret);
    const active = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, tokens.access_token, insecure));
    assert.equal(active.active, true);
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, tokens.access_token, insecure));
    const inactive = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, tokens.access_token, insecure));
    assert.equal(inactive.active, false);
  });
});
