/**
 * Issue 9, mutual TLS behind a TLS-terminating proxy (RFC 8705 with TESSERA_TLS_CLIENT_CERT_HEADER): the header
 * counts only on connections from a TESSERA_TRUST_PROXY address, its certificate's chain is checked again, and
 * garbage never becomes a certificate. Also the settings, the admin and registration validation, and discovery
 * without mTLS.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, ConfigError } from '../../src/config/load.js';
import { adminToken, APP_SCHEMA, assertOAuthError, assertScimError, decode, form, grantRole, harness, scim, type Harness } from '../helpers.js';
import { Pki, jwkOf, type KeyPair } from '../mtls_world.js';

const pki = new Pki();
const ca = pki.ca('proxy-client-ca', '/CN=Proxy Client CA');
const alice = pki.issue(ca, 'p-alice', '/O=Example/CN=alice', 'DNS:alice.example');
const bob = pki.issue(ca, 'p-bob', '/O=Example/CN=bob', 'DNS:bob.example');
const forged = pki.issue(pki.ca('p-rogue', '/CN=Rogue'), 'p-forged', '/O=Example/CN=alice', 'DNS:alice.example');
const selfA = pki.selfSigned('p-self');
after(() => pki.close());

const PROXY = '10.20.30.40';
const HEADER = 'x-ssl-client-cert';
const nginx = (c: KeyPair) => encodeURIComponent(c.cert);

describe('client certificates from a trusted proxy\'s header (pem: nginx $ssl_client_escaped_cert)', () => {
  let h: Harness;
  let admin: string;
  let clientId: string;
  let selfId: string;
  before(async () => {
    h = await harness({ config: { trustProxy: ['10.0.0.0/8', '192.168.1.1'], tlsClientCertHeader: HEADER, tlsClientCa: ca.certFile } });
    admin = await adminToken(h);
    const mk = async (extra: Record<string, unknown>) => {
      const r = await scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: `c-${Math.random()}`, isOAuthClient: true, allowedGrants: ['client_credentials'], ...extra });
      assert.equal(r.statusCode, 201, r.body);
      return r.json();
    };
    const c = await mk({ tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSubjectDn: 'CN=alice,O=Example', tlsClientCertificateBoundAccessTokens: true });
    clientId = c.name;
    await grantRole(h, admin, 'Identity Domain Administrator', 'App', c.id);
    const self = await mk({ tokenEndpointAuthMethod: 'self_signed_tls_client_auth', jwks: { keys: [jwkOf(selfA)] } });
    selfId = self.name;
    await grantRole(h, admin, 'Identity Domain Administrator', 'App', self.id);
  });
  after(() => h.close());

  const tokenVia = (o: { from?: string; header?: string | string[]; id?: string; name?: string }) => h.inject({
    method: 'POST', url: '/oauth2/v1/token', remoteAddress: o.from ?? PROXY,
    payload: form({ grant_type: 'client_credentials', client_id: o.id ?? clientId, scope: 'urn:opc:idm:__myscopes__' }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(o.header !== undefined ? { [o.name ?? HEADER]: o.header } : {}) },
  });

  test('a certificate forwarded by a listed proxy authenticates tls_client_auth; the token is bound to it', async () => {
    const r = await tokenVia({ header: nginx(alice) });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(decode(r.json().access_token).payload.cnf, { 'x5t#S256': alice.thumbprint });
    // 192.168.1.1 is listed as a single address; an IPv4-mapped IPv6 peer is the same address.
    assert.equal((await tokenVia({ from: '192.168.1.1', header: nginx(alice) })).statusCode, 200);
    assert.equal((await tokenVia({ from: '::ffff:10.1.1.1', header: nginx(alice) })).statusCode, 200);
  });
  test('self_signed_tls_client_auth through the header', async () => {
    const r = await tokenVia({ id: selfId, header: nginx(selfA) });
    assert.equal(r.statusCode, 200, r.body);
    assertOAuthError(await tokenVia({ id: selfId, header: nginx(alice) }), 401, 'invalid_client');
  });
  test('refused: the header from an address that is not a listed proxy, 401 invalid_client (X-Forwarded-For changes nothing)', async () => {
    assertOAuthError(await tokenVia({ from: '192.0.2.7', header: nginx(alice) }), 401, 'invalid_client');
    assertOAuthError(await tokenVia({ from: '192.168.1.2', header: nginx(alice) }), 401, 'invalid_client');
    const spoof = await h.inject({
      method: 'POST', url: '/oauth2/v1/token', remoteAddress: '192.0.2.7', payload: form({ grant_type: 'client_credentials', client_id: clientId }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', [HEADER]: nginx(alice), 'x-forwarded-for': PROXY },
    });
    assertOAuthError(spoof, 401, 'invalid_client');
  });
  test('refused: a forwarded certificate from an untrusted CA (Tessera checks the chain again), 401 invalid_client', async () => {
    assertOAuthError(await tokenVia({ header: nginx(forged) }), 401, 'invalid_client');
  });
  test('refused: malformed headers (garbage, bad %-encoding, two certificates, sent twice, 60 KB), 401 invalid_client, never a 500', async () => {
    for (const header of ['garbage', '%E0%A4%A', encodeURIComponent(alice.cert + bob.cert), encodeURIComponent(alice.cert.replace(/[A-Z]/, '*')),
      encodeURIComponent('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'), 'A'.repeat(60_000), [nginx(alice), nginx(alice)]]) {
      assertOAuthError(await tokenVia({ header }), 401, 'invalid_client');
    }
  });
  test('refused: no header, 401 invalid_client', async () => assertOAuthError(await tokenVia({}), 401, 'invalid_client'));
  test('a bound token at the admin API: with the forwarded certificate 200; another certificate, none, or an untrusted sender: 401 invalid_token', async () => {
    const at = (await tokenVia({ header: nginx(alice) })).json().access_token;
    const get = (from: string, cert?: KeyPair) => h.inject({ method: 'GET', url: '/admin/v1/Apps?count=1', remoteAddress: from, headers: { authorization: `Bearer ${at}`, ...(cert ? { [HEADER]: nginx(cert) } : {}) } });
    assert.equal((await get(PROXY, alice)).statusCode, 200);
    for (const r of [await get(PROXY, bob), await get(PROXY), await get('192.0.2.7', alice)]) {
      assertScimError(r, 401);
      assert.match(String(r.headers['www-authenticate']), /error="invalid_token"/);
    }
  });
  test('introspection shows the cnf of a token bound through the header', async () => {
    const at = (await tokenVia({ header: nginx(alice) })).json().access_token;
    const r = await h.inject({ method: 'POST', url: '/oauth2/v1/introspect', remoteAddress: PROXY, payload: form({ token: at, client_id: clientId }), headers: { 'content-type': 'application/x-www-form-urlencoded', [HEADER]: nginx(alice) } });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json().cnf, { 'x5t#S256': alice.thumbprint });
  });
});

describe('Envoy x-forwarded-client-cert (xfcc)', () => {
  let h: Harness;
  let clientId: string;
  before(async () => {
    h = await harness({ config: { trustProxy: [PROXY], tlsClientCertHeader: 'x-forwarded-client-cert', tlsClientCertHeaderFormat: 'xfcc', tlsClientCa: ca.certFile } });
    const admin = await adminToken(h);
    const r = await scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: 'xfcc', isOAuthClient: true, allowedGrants: ['client_credentials'], tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSanDns: 'alice.example' });
    assert.equal(r.statusCode, 201, r.body);
    clientId = r.json().name;
    await grantRole(h, admin, 'Identity Domain Administrator', 'App', r.json().id);
  });
  after(() => h.close());
  const via = (header: string) => h.inject({
    method: 'POST', url: '/oauth2/v1/token', remoteAddress: PROXY, payload: form({ grant_type: 'client_credentials', client_id: clientId, scope: 'urn:opc:idm:__myscopes__' }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-client-cert': header },
  });
  test('the first element\'s Cert= is the client\'s certificate', async () => {
    const r = await via(`By=spiffe://proxy;Hash=abc;Cert="${nginx(alice)}";Subject="CN=alice,O=Example";URI=,By=spiffe://edge;Cert="${nginx(bob)}"`);
    assert.equal(r.statusCode, 200, r.body);
  });
  test('refused: another hop\'s certificate does not count, no Cert=, garbage: 401 invalid_client', async () => {
    assertOAuthError(await via(`By=spiffe://proxy;Hash=abc,By=spiffe://edge;Cert="${nginx(alice)}"`), 401, 'invalid_client');
    assertOAuthError(await via(`Cert="${nginx(bob)}"`), 401, 'invalid_client');
    assertOAuthError(await via('Cert="%%%"'), 401, 'invalid_client');
  });
});

describe('the settings', () => {
  test('TESSERA_TRUST_PROXY: true, false or a list of addresses / CIDR ranges; anything else stops start-up naming the key', () => {
    assert.equal(loadConfig({ TESSERA_TRUST_PROXY: 'true' }).trustProxy, true);
    assert.equal(loadConfig({ TESSERA_TRUST_PROXY: 'off' }).trustProxy, false);
    assert.deepEqual(loadConfig({ TESSERA_TRUST_PROXY: '10.0.0.0/8, 2001:db8::/32,127.0.0.1' }).trustProxy, ['10.0.0.0/8', '2001:db8::/32', '127.0.0.1']);
    assert.throws(() => loadConfig({ TESSERA_TRUST_PROXY: '10.0.0.0/33' }), (e: Error) => e instanceof ConfigError && /TESSERA_TRUST_PROXY/.test(e.message));
    assert.throws(() => loadConfig({ TESSERA_TRUST_PROXY: 'proxy.example.com' }), (e: Error) => e instanceof ConfigError && /TESSERA_TRUST_PROXY/.test(e.message));
  });
  test('the certificate header needs listed proxies: with true (any peer) or false, start-up is refused', () => {
    for (const TESSERA_TRUST_PROXY of ['true', 'false']) {
      assert.throws(() => loadConfig({ TESSERA_TRUST_PROXY, TESSERA_TLS_CLIENT_CERT_HEADER: HEADER }), (e: Error) => e instanceof ConfigError && /TESSERA_TLS_CLIENT_CERT_HEADER.*TESSERA_TRUST_PROXY/.test(e.message));
    }
    assert.throws(() => loadConfig({ TESSERA_TRUST_PROXY: PROXY, TESSERA_TLS_CLIENT_CERT_HEADER: 'bad header' }), /TESSERA_TLS_CLIENT_CERT_HEADER/);
    assert.throws(() => loadConfig({ TESSERA_TLS_CERT: '/x.pem' }), /TESSERA_TLS_CERT and TESSERA_TLS_KEY/);
  });
});

describe('registration and the admin API validate the certificate metadata; without mTLS nothing is advertised', () => {
  let h: Harness;
  let plain: Harness;
  let admin: string;
  before(async () => {
    h = await harness({ config: { trustProxy: [PROXY], tlsClientCertHeader: HEADER, tlsClientCa: ca.certFile } });
    plain = await harness();
    admin = await adminToken(h);
  });
  after(async () => { await h.close(); await plain.close(); });
  const app = (extra: Record<string, unknown>) => scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: `v-${Math.random()}`, isOAuthClient: true, allowedGrants: ['client_credentials'], ...extra });

  test('admin: refused with 400 invalidValue: no name, two names, a malformed DN, a bad SAN value, a name with another method, self-signed without keys, a public mTLS client, bound tokens with implicit', async () => {
    for (const extra of [
      { tokenEndpointAuthMethod: 'tls_client_auth' },
      { tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSubjectDn: 'CN=a', tlsClientAuthSanDns: 'a.example' },
      { tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSubjectDn: 'CN=a,' },
      { tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSubjectDn: 'XYZ=a' },
      { tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSubjectDn: 'CN=a\\q' },
      { tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSanIp: '10.0.0.300' },
      { tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSanDns: 'not a name' },
      { tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSanUri: 'relative/path' },
      { tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSanEmail: 'no-at-sign' },
      { tokenEndpointAuthMethod: 'client_secret_basic', tlsClientAuthSanDns: 'a.example' },
      { tokenEndpointAuthMethod: 'self_signed_tls_client_auth' },
      { clientType: 'public', tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSanDns: 'a.example', allowedGrants: ['refresh_token'] },
      { tlsClientCertificateBoundAccessTokens: true, allowedGrants: ['implicit'], redirectUris: ['https://app.example.com/cb'] },
    ]) {
      const r = await app(extra);
      assertScimError(r, 400, 'invalidValue');
    }
  });
  test('admin: the attributes are read back', async () => {
    const r = await app({ tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSanUri: 'spiffe://example.org/x', tlsClientCertificateBoundAccessTokens: true });
    assert.equal(r.statusCode, 201, r.body);
    const got = await scim(h, 'GET', `/admin/v1/Apps/${r.json().id}`, admin);
    assert.equal(got.json().tlsClientAuthSanUri, 'spiffe://example.org/x');
    assert.equal(got.json().tlsClientCertificateBoundAccessTokens, true);
    assert.equal(got.json().tokenEndpointAuthMethod, 'tls_client_auth');
  });
  const register = (t: Harness, token: string, body: Record<string, unknown>) => t.inject({ method: 'POST', url: '/oauth2/v1/register', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  test('registration (RFC 7591 with RFC 8705 metadata): tls_client_auth_subject_dn and the binding flag are kept and returned; no secret', async () => {
    const r = await register(h, admin, { client_name: 'm', grant_types: ['client_credentials'], token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=alice,O=Example', tls_client_certificate_bound_access_tokens: true });
    assert.equal(r.statusCode, 201, r.body);
    const b = r.json();
    assert.equal(b.tls_client_auth_subject_dn, 'CN=alice,O=Example');
    assert.equal(b.tls_client_certificate_bound_access_tokens, true);
    assert.equal(b.client_secret, undefined);
    assert.equal(b.client_secret_expires_at, undefined);
  });
  test('registration refused with 400 invalid_client_metadata: no name, two names, a bad value, a non-boolean flag', async () => {
    for (const body of [
      { token_endpoint_auth_method: 'tls_client_auth' },
      { token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_dns: 'a.example', tls_client_auth_san_uri: 'https://a.example' },
      { token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_ip: 'nope' },
      { token_endpoint_auth_method: 'self_signed_tls_client_auth' },
      { token_endpoint_auth_method: 'client_secret_basic', tls_client_certificate_bound_access_tokens: 'yes' },
    ]) {
      const r = await register(h, admin, { grant_types: ['client_credentials'], ...body });
      assertOAuthError(r, 400, 'invalid_client_metadata');
    }
    const ok = await register(h, admin, { grant_types: ['client_credentials'], token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [jwkOf(selfA)] } });
    assert.equal(ok.statusCode, 201, ok.body);
  });
  test('without an HTTPS listener with a client CA or a proxy header, discovery lists no mTLS and registration refuses it', async () => {
    const m = (await plain.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json();
    assert.equal(m.mtls_endpoint_aliases, undefined);
    assert.equal(m.tls_client_certificate_bound_access_tokens, undefined);
    assert.ok(!m.token_endpoint_auth_methods_supported.includes('tls_client_auth'));
    assert.ok(!m.token_endpoint_auth_methods_supported.includes('self_signed_tls_client_auth'));
    const idcs = await plain.inject({ method: 'GET', url: '/.well-known/idcs-configuration' });
    assert.equal(idcs.statusCode, 200);
    assert.equal(idcs.json().secure_token_endpoint, undefined);
    const plainAdmin = await adminToken(plain);
    assertOAuthError(await register(plain, plainAdmin, { grant_types: ['client_credentials'], token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_dns: 'a.example' }), 400, 'invalid_client_metadata');
    assertOAuthError(await register(plain, plainAdmin, { grant_types: ['client_credentials'], tls_client_certificate_bound_access_tokens: true }), 400, 'invalid_client_metadata');
    // With the proxy header configured, it is listed (and aliases point at the public URL).
    const on = (await h.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json();
    assert.equal(on.mtls_endpoint_aliases.token_endpoint, on.token_endpoint);
    assert.equal(on.tls_client_certificate_bound_access_tokens, true);
  });
});
