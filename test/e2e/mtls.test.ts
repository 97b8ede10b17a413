/**
 * Issue 9, mutual TLS (RFC 8705) over a real TLS connection: Tessera's own HTTPS listener asks for a client
 * certificate, node:https presents one. Client authentication (tls_client_auth, self_signed_tls_client_auth),
 * certificate-bound tokens at the admin API and userinfo, introspection's cnf, a resource server's check with
 * jose, a public client's bound refresh token, and oauth4webapi's mTLS support. Every refusal with its status and code.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { adminToken, APP_SCHEMA, assertScimError, basic, decode, form, grantRole, harness, post, scim, type Harness } from '../helpers.js';
import { Browser, authorizeUrl, callbackParams, createUser, pkce, REDIRECT, signIn } from '../signin.js';
import { freePort, jwkOf, mtlsFetch, Pki, tlsRequest, type KeyPair, type TlsResponse } from '../mtls_world.js';
import { openDatabase } from '../../src/storage/db.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from '../contract/pg.js';

// The whole suite on both stores (issue 9: each flow end to end on SQLite and PostgreSQL).
const pgReady = await pgAvailable();
for (const store of ['SQLite', 'PostgreSQL'] as const) describe(`mutual TLS on Tessera's HTTPS listener (RFC 8705) on ${store}`, { skip: store === 'PostgreSQL' && pgReady !== true ? String(pgReady) : false }, () => {
  const pgSchema = store === 'PostgreSQL' ? schemaName() : undefined;
  const pki = new Pki();
  const clientCa = pki.ca('client-ca', '/O=Tessera Tests/CN=Client CA');
  const serverCa = pki.ca('server-ca', '/CN=Server CA');
  const server = pki.issue(serverCa, 'server', '/CN=localhost', 'DNS:localhost,IP:127.0.0.1');
  const ALICE_SUBJECT = '/C=US/O=Example, Inc./OU=Payments/CN=alice-client';
  const ALICE_SAN = 'DNS:alice.client.example,URI:spiffe://example.org/alice,IP:10.1.2.3,email:alice@client.example';
  const alice = pki.issue(clientCa, 'alice', ALICE_SUBJECT, ALICE_SAN);
  const bob = pki.issue(clientCa, 'bob', '/C=US/O=Example, Inc./CN=bob-client', 'DNS:bob.client.example');
  // Same subject and names as alice, from a CA Tessera does not trust.
  const forged = pki.issue(pki.ca('rogue-ca', '/CN=Rogue CA'), 'forged', ALICE_SUBJECT, ALICE_SAN);
  const selfA = pki.selfSigned('self-a');
  const selfB = pki.selfSigned('self-b');
  const ALICE_DN = 'CN=alice-client,OU=Payments,O=Example\\, Inc.,C=US';

  let h: Harness;
  let port: number;
  let base: string;
  let admin: string;
  let audience: string;
  const ids: Record<string, string> = {};

  const tls = (o: Parameters<typeof tlsRequest>[2]) => tlsRequest(port, serverCa.cert, o);
  const token = (clientId: string, client: KeyPair | undefined, params: Record<string, string> = { grant_type: 'client_credentials', scope: 'pay.read' }) =>
    tls({ path: '/oauth2/v1/token', body: form({ ...params, client_id: clientId }), client });
  const assertError = (r: TlsResponse, status: number, error: string) => {
    assert.equal(r.status, status, r.body);
    assert.equal(r.json().error, error, r.body);
    assert.deepEqual(Object.keys(r.json()).sort(), ['error', 'error_description']);
    assert.equal(r.headers['cache-control'], 'no-store');
  };
  const newClient = async (name: string, extra: Record<string, unknown>) => {
    const r = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: name, isOAuthClient: true, clientType: 'confidential', allowedGrants: ['client_credentials'],
      allowedScopes: [{ fqs: 'pay.read' }], ...extra,
    });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.json().clientSecret, undefined, 'a certificate client gets no secret');
    ids[name] = r.json().id;
    return r.json().name as string;
  };
  let dnClient: string, sanDns: string, sanUri: string, sanIp: string, sanEmail: string, otherDn: string, otherSan: string, selfSigned: string;

  before(async () => {
    port = await freePort();
    base = `https://localhost:${port}`;
    h = await harness({ database: pgSchema ? await openDatabase(PG_URL, { pgSchema }) : undefined, config: { publicUrl: base, mtlsPublicUrl: `https://127.0.0.1:${port}`, tlsCert: server.certFile, tlsKey: server.keyFile, tlsClientCa: clientCa.certFile } });
    await h.t.app.listen({ port, host: '127.0.0.1' });
    admin = await adminToken(h);
    const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: 'payments', isOAuthResource: true, audience: 'https://payments.example.com', scopes: [{ value: 'pay.read' }],
    });
    assert.equal(rs.statusCode, 201, rs.body);
    audience = rs.json().audience;
    dnClient = await newClient('dn', { tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSubjectDn: ALICE_DN, tlsClientCertificateBoundAccessTokens: true });
    sanDns = await newClient('san-dns', { tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSanDns: 'ALICE.client.example' });
    sanUri = await newClient('san-uri', { tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSanUri: 'spiffe://example.org/alice' });
    sanIp = await newClient('san-ip', { tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSanIp: '10.1.2.3' });
    sanEmail = await newClient('san-email', { tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSanEmail: 'alice@CLIENT.example' });
    otherDn = await newClient('other-dn', { tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSubjectDn: 'CN=bob-client,O=Example\\, Inc.,C=US' });
    otherSan = await newClient('other-san', { tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSanDns: 'carol.client.example' });
    selfSigned = await newClient('self', { tokenEndpointAuthMethod: 'self_signed_tls_client_auth', jwks: { keys: [jwkOf(selfA)] }, tlsClientCertificateBoundAccessTokens: true });
  });
  after(async () => {
    await h.close();
    if (pgSchema) { await h.t.database.close(); await dropSchema(pgSchema); }
    pki.close();
  });

  describe('tls_client_auth (RFC 8705 §2.1)', () => {
    test('the registered subject DN (RFC 4514, matched attribute by attribute, case-insensitively) authenticates; the token is bound to the certificate', async () => {
      const r = await token(dnClient, alice);
      assert.equal(r.status, 200, r.body);
      assert.equal(r.headers['cache-control'], 'no-store');
      assert.deepEqual(Object.keys(r.json()).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
      const p = decode(r.json().access_token).payload;
      assert.deepEqual(p.cnf, { 'x5t#S256': createHash('sha256').update(alice.x509.raw).digest('base64url') });
      assert.equal(p.client_id, dnClient);
      // The same DN written differently (spacing, case) is the same DN.
      const again = await scim(h, 'PATCH', `/admin/v1/Apps/${ids.dn}`, admin, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'tlsClientAuthSubjectDn', value: 'cn=Alice-Client, ou=payments , o=example\\2C inc.,c=us' }],
      });
      assert.equal(again.statusCode, 200, again.body);
      assert.equal((await token(dnClient, alice)).status, 200);
    });
    for (const [name, get] of [['dNSName (case-insensitive)', () => sanDns], ['URI', () => sanUri], ['IP address', () => sanIp], ['rfc822Name (domain case-insensitive)', () => sanEmail]] as const) {
      test(`the registered subjectAltName ${name} authenticates; an unbound client's token has no cnf`, async () => {
        const r = await token(get(), alice);
        assert.equal(r.status, 200, r.body);
        assert.equal(decode(r.json().access_token).payload.cnf, undefined);
      });
    }
    test('refused: no certificate, 401 invalid_client', async () => assertError(await token(dnClient, undefined), 401, 'invalid_client'));
    test('refused: a certificate with the right DN from an untrusted CA, 401 invalid_client', async () => {
      assertError(await token(dnClient, forged), 401, 'invalid_client');
      assertError(await token(sanDns, forged), 401, 'invalid_client');
    });
    test('refused: a self-signed certificate for tls_client_auth, 401 invalid_client', async () => assertError(await token(sanDns, selfA), 401, 'invalid_client'));
    test('refused: a trusted certificate with another subject DN, 401 invalid_client', async () => {
      assertError(await token(otherDn, alice), 401, 'invalid_client');
      assertError(await token(dnClient, bob), 401, 'invalid_client');
    });
    test('refused: a trusted certificate without the registered subjectAltName, 401 invalid_client', async () => {
      assertError(await token(otherSan, alice), 401, 'invalid_client');
      assertError(await token(sanUri, bob), 401, 'invalid_client');
      assertError(await token(sanIp, bob), 401, 'invalid_client');
    });
    test('refused: a secret sent by a certificate client, 401 invalid_client; an unknown client_id, 401 invalid_client', async () => {
      assertError(await tls({ path: '/oauth2/v1/token', body: form({ grant_type: 'client_credentials', client_id: dnClient, client_secret: 'x'.repeat(30) }), client: alice }), 401, 'invalid_client');
      assertError(await token('no-such-client', alice), 401, 'invalid_client');
    });
    test('refused over plain inject (no TLS connection at all), 401 invalid_client', async () => {
      const r = await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', client_id: dnClient });
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().error, 'invalid_client');
    });
    test('a secret client on the same listener still authenticates with its secret, with or without a certificate', async () => {
      const r = await tls({ path: '/oauth2/v1/token', body: form({ grant_type: 'client_credentials', scope: 'urn:opc:idm:__myscopes__' }), headers: { authorization: basic('bootstrap-admin', 'bootstrap-secret-0123456789abcdefghij') }, client: bob });
      assert.equal(r.status, 200, r.body);
      assert.equal(decode(r.json().access_token).payload.cnf, undefined);
    });
  });

  describe('self_signed_tls_client_auth (RFC 8705 §2.2)', () => {
    test('a self-signed certificate whose key is in the client\'s jwks authenticates (no chain); the token is bound', async () => {
      const r = await token(selfSigned, selfA);
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(decode(r.json().access_token).payload.cnf, { 'x5t#S256': selfA.thumbprint });
    });
    test('refused: a self-signed certificate whose key is not registered, 401 invalid_client', async () => assertError(await token(selfSigned, selfB), 401, 'invalid_client'));
    test('refused: a CA-issued certificate whose key is not registered, 401 invalid_client', async () => assertError(await token(selfSigned, alice), 401, 'invalid_client'));
    test('refused: no certificate, 401 invalid_client', async () => assertError(await token(selfSigned, undefined), 401, 'invalid_client'));
  });

  describe('certificate-bound access tokens at Tessera\'s resource endpoints (RFC 8705 §3)', () => {
    let bound: string;
    let adminClient: string;
    before(async () => {
      adminClient = await newClient('admin-bound', { tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSanDns: 'alice.client.example', tlsClientCertificateBoundAccessTokens: true, allowedScopes: [] });
      await grantRole(h, admin, 'Identity Domain Administrator', 'App', ids['admin-bound']!);
      const r = await token(adminClient, alice, { grant_type: 'client_credentials', scope: 'urn:opc:idm:__myscopes__' });
      assert.equal(r.status, 200, r.body);
      bound = r.json().access_token;
    });
    test('the admin API accepts the bound token with its certificate', async () => {
      const r = await tls({ path: '/admin/v1/Apps?count=1', headers: { authorization: `Bearer ${bound}` }, client: alice });
      assert.equal(r.status, 200, r.body);
    });
    test('refused at the admin API: another trusted certificate, none, or no TLS at all: 401 invalid_token', async () => {
      for (const client of [bob, undefined, selfA]) {
        const r = await tls({ path: '/admin/v1/Apps?count=1', headers: { authorization: `Bearer ${bound}` }, client });
        assert.equal(r.status, 401, r.body);
        assert.match(String(r.headers['www-authenticate']), /error="invalid_token"/);
      }
      assertScimError(await scim(h, 'GET', '/admin/v1/Apps?count=1', bound), 401);
    });
    test('introspection shows cnf (RFC 8705 §3.2) to the token\'s client and says nothing else new', async () => {
      const r = await tls({ path: '/oauth2/v1/introspect', body: form({ token: bound, client_id: adminClient }), client: alice });
      assert.equal(r.status, 200, r.body);
      const b = r.json();
      assert.equal(b.active, true);
      assert.deepEqual(b.cnf, { 'x5t#S256': alice.thumbprint });
      assert.deepEqual(Object.keys(b).sort(), ['aud', 'client_id', 'cnf', 'exp', 'iat', 'iss', 'jti', 'scope', 'sub', 'sub_type', 'token_type', 'active'].sort());
    });
    test('a resource server checks the cnf claim with jose against the certificate it sees', async () => {
      const jwks = await tls({ path: '/admin/v1/SigningCert/jwk' });
      assert.equal(jwks.status, 200);
      const { payload } = await jwtVerify(bound, createLocalJWKSet(jwks.json()), { issuer: base, typ: 'at+jwt' });
      const seen = (c: KeyPair) => createHash('sha256').update(c.x509.raw).digest('base64url');
      assert.equal((payload.cnf as Record<string, string>)['x5t#S256'], seen(alice));
      assert.notEqual((payload.cnf as Record<string, string>)['x5t#S256'], seen(bob));
    });

    test('userinfo: a bound user token with its certificate; refused with another or none, 401 invalid_token', async () => {
      const user = await createUser(h, admin);
      const app = await scim(h, 'POST', '/admin/v1/Apps', admin, {
        schemas: [APP_SCHEMA], displayName: 'pw-bound', isOAuthClient: true, clientType: 'confidential', allowedGrants: ['password'],
        tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSanEmail: 'alice@client.example', tlsClientCertificateBoundAccessTokens: true,
      });
      assert.equal(app.statusCode, 201, app.body);
      const r = await tls({ path: '/oauth2/v1/token', client: alice, body: form({ grant_type: 'password', username: user.userName, password: 'correct horse battery staple 9', scope: 'openid', client_id: app.json().name }) });
      assert.equal(r.status, 200, r.body);
      const at = r.json().access_token;
      assert.deepEqual(decode(at).payload.cnf, { 'x5t#S256': alice.thumbprint });
      const ok = await tls({ path: '/oauth2/v1/userinfo', headers: { authorization: `Bearer ${at}` }, client: alice });
      assert.equal(ok.status, 200, ok.body);
      assert.equal(ok.json().sub, user.id);
      for (const client of [bob, undefined]) {
        const no = await tls({ path: '/oauth2/v1/userinfo', headers: { authorization: `Bearer ${at}` }, client });
        assert.equal(no.status, 401, no.body);
        assert.equal(no.json().error, 'invalid_token');
        assert.match(String(no.headers['www-authenticate']), /error="invalid_token"/);
      }
    });
  });

  describe('a public client\'s bound refresh token (RFC 8705 §4)', () => {
    test('code flow with PKCE, tokens bound to the certificate; a refresh from another certificate fails with invalid_grant, without one with invalid_request', async () => {
      const user = await createUser(h, admin);
      const app = await scim(h, 'POST', '/admin/v1/Apps', admin, {
        schemas: [APP_SCHEMA], displayName: 'spa-bound', isOAuthClient: true, clientType: 'public', allowedGrants: ['authorization_code', 'refresh_token'],
        redirectUris: [REDIRECT], tlsClientCertificateBoundAccessTokens: true, bypassConsent: true,
      });
      assert.equal(app.statusCode, 201, app.body);
      const clientId = app.json().name as string;
      const { verifier, challenge } = pkce();
      const b = new Browser(h, base);
      const cb = await signIn(b, authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'openid offline_access', state: 's1', code_challenge: challenge, code_challenge_method: 'S256' }), user.userName);
      const code = callbackParams(cb).get('code')!;
      assert.ok(code, cb.body);
      // A public client's self-signed certificate binds as well as any (RFC 8705 §3: no chain needed for binding).
      const r = await token(clientId, selfB, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(decode(r.json().access_token).payload.cnf, { 'x5t#S256': selfB.thumbprint });
      const refresh = r.json().refresh_token as string;
      assertError(await token(clientId, alice, { grant_type: 'refresh_token', refresh_token: refresh }), 400, 'invalid_grant');
      assertError(await token(clientId, undefined, { grant_type: 'refresh_token', refresh_token: refresh }), 400, 'invalid_request');
      // The rightful certificate still refreshes: the refusals above did not burn or revoke the family.
      const ok = await token(clientId, selfB, { grant_type: 'refresh_token', refresh_token: refresh });
      assert.equal(ok.status, 200, ok.body);
      assert.deepEqual(decode(ok.json().access_token).payload.cnf, { 'x5t#S256': selfB.thumbprint });
      // And the rotated one is bound too.
      assertError(await token(clientId, alice, { grant_type: 'refresh_token', refresh_token: ok.json().refresh_token }), 400, 'invalid_grant');
    });
    test('a client that asked for bound tokens and presents no certificate gets none: 400 invalid_request ', async () => {
      const r = await scim(h, 'POST', '/admin/v1/Apps', admin, {
        schemas: [APP_SCHEMA], displayName: 'secret-bound', isOAuthClient: true, clientType: 'confidential', allowedGrants: ['client_credentials'],
        allowedScopes: [{ fqs: 'pay.read' }], tlsClientCertificateBoundAccessTokens: true,
      });
      assert.equal(r.statusCode, 201, r.body);
      const { name, clientSecret } = r.json();
      const no = await tls({ path: '/oauth2/v1/token', body: form({ grant_type: 'client_credentials', scope: 'pay.read' }), headers: { authorization: basic(name, clientSecret) } });
      assertError(no, 400, 'invalid_request');
      const yes = await tls({ path: '/oauth2/v1/token', body: form({ grant_type: 'client_credentials', scope: 'pay.read' }), headers: { authorization: basic(name, clientSecret) }, client: bob });
      assert.equal(yes.status, 200, yes.body);
      assert.deepEqual(decode(yes.json().access_token).payload.cnf, { 'x5t#S256': bob.thumbprint });
    });
  });

  describe('discovery (RFC 8705 §3.3, §5) and the seeds\' idcs-configuration', () => {
    test('lists the methods, the binding flag and mtls_endpoint_aliases at the mTLS base URL', async () => {
      const r = await tls({ path: '/.well-known/openid-configuration' });
      const m = r.json();
      assert.equal(m.tls_client_certificate_bound_access_tokens, true);
      for (const k of ['token_endpoint_auth_methods_supported', 'revocation_endpoint_auth_methods_supported', 'introspection_endpoint_auth_methods_supported']) {
        assert.ok(m[k].includes('tls_client_auth') && m[k].includes('self_signed_tls_client_auth'), k);
      }
      const alias = `https://127.0.0.1:${port}`;
      assert.equal(m.mtls_endpoint_aliases.token_endpoint, `${alias}/oauth2/v1/token`);
      assert.equal(m.mtls_endpoint_aliases.revocation_endpoint, `${alias}/oauth2/v1/revoke`);
      assert.equal(m.mtls_endpoint_aliases.introspection_endpoint, `${alias}/oauth2/v1/introspect`);
      assert.equal(m.mtls_endpoint_aliases.userinfo_endpoint, `${alias}/oauth2/v1/userinfo`);
      assert.equal(m.mtls_endpoint_aliases.authorization_endpoint, undefined, 'browser pages are not aliased');
      const idcs = await tls({ path: '/.well-known/idcs-configuration' });
      assert.equal(idcs.status, 200);
      assert.equal(idcs.json().secure_token_endpoint, `${alias}/oauth2/v1/token`);
    });
  });

  describe('a standard client: oauth4webapi with TlsClientAuth and use_mtls_endpoint_aliases', () => {
    test('client credentials through the mTLS alias, the token bound to the client\'s certificate', async () => {
      const seen: string[] = [];
      const f = mtlsFetch(port, serverCa.cert, alice);
      const fetchVia: typeof f = (url, init) => { seen.push(url); return f(url, init); };
      const issuer = new URL(base);
      const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { [oauth.customFetch]: fetchVia as never }));
      const client: oauth.Client & { use_mtls_endpoint_aliases: true } = { client_id: dnClient, use_mtls_endpoint_aliases: true };
      const res = await oauth.clientCredentialsGrantRequest(as, client, oauth.TlsClientAuth(), { scope: 'pay.read' }, { [oauth.customFetch]: fetchVia as never });
      const tok = await oauth.processClientCredentialsResponse(as, client, res);
      assert.equal(tok.token_type, 'bearer');
      assert.equal(seen.at(-1), `https://127.0.0.1:${port}/oauth2/v1/token`);
      assert.deepEqual(decode(tok.access_token).payload.cnf, { 'x5t#S256': alice.thumbprint });
      assert.equal(decode(tok.access_token).payload.aud, audience);
    });
  });
});
