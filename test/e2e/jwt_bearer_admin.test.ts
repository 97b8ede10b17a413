/**
 * The App attributes the JWT bearer grant brings (issue 8): `certificates` (keys for the client's JWTs,
 * private_key_jwt included) and `allowUserAssertions` (a client whose own assertions may name any user),
 * which only a caller holding every admin scope may set, and never dynamic registration.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate, randomBytes } from 'node:crypto';
import { adminToken, APP_SCHEMA, assertOAuthError, assertScimError, basic, clientToken, grantRole, harness, post, scim, type Harness } from '../helpers.js';
import { assertion, certificate, createApp, grant, JWT_BEARER, opensslMissing, signer, trustIssuer } from '../jwt_bearer_world.js';
import { createUser } from '../signin.js';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const skipCerts = opensslMissing && !process.env.CI ? 'openssl is needed to make certificates' : false;

describe('App attributes for the JWT bearer grant', () => {
  let h: Harness;
  let admin: string;
  let rsScope: string;
  const app = (body: Record<string, unknown>, token = admin) => scim(h, 'POST', '/admin/v1/Apps', token, {
    schemas: [APP_SCHEMA], displayName: `a-${randomBytes(4).toString('hex')}`, isOAuthClient: true, clientType: 'confidential', ...body,
  });

  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    rsScope = `jba.${randomBytes(3).toString('hex')}`;
    const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: 'jba-api', isOAuthResource: true, audience: 'https://jba.example.com', scopes: [{ value: rsScope }] });
    assert.equal(rs.statusCode, 201, rs.body);
  });
  after(() => h.close());

  describe('allowUserAssertions', () => {
    let appAdmin: string;
    let keys: { keys: unknown[] };
    before(async () => {
      const c = await createApp(h, admin, { allowedGrants: ['client_credentials'] });
      await grantRole(h, admin, 'Application Administrator', 'App', c.id);
      const r = await clientToken(h, c.clientId, c.secret!, 'urn:opc:idm:__myscopes__');
      assert.equal(r.statusCode, 200, r.body);
      appAdmin = r.json().access_token;
      keys = { keys: [(await signer('ES256', 'k1')).jwk] };
    });

    test('an Identity Domain Administrator sets it; it is rendered, and false by default', async () => {
      const r = await app({ allowedGrants: [JWT_BEARER], jwks: keys, allowUserAssertions: true });
      assert.equal(r.statusCode, 201, r.body);
      assert.equal(r.json().allowUserAssertions, true);
      const plain = await app({ allowedGrants: [JWT_BEARER], jwks: keys });
      assert.equal(plain.json().allowUserAssertions, false);
      const got = await scim(h, 'GET', `/admin/v1/Apps/${r.json().id}`, admin);
      assert.equal(got.json().allowUserAssertions, true);
    });

    test('the no-escalation guard: an Application Administrator may neither set it nor change (re-key) a client that has it; 403', async () => {
      const denied = await app({ allowedGrants: [JWT_BEARER], jwks: keys, allowUserAssertions: true }, appAdmin);
      assertScimError(denied, 403);
      assert.match(denied.json().detail, /every admin scope .* may let a client assert any user/);
      // It may make an ordinary jwt-bearer client, and the flag stays off.
      const ok = await app({ allowedGrants: [JWT_BEARER], jwks: keys }, appAdmin);
      assert.equal(ok.statusCode, 201, ok.body);
      assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${ok.json().id}`, appAdmin, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'allowUserAssertions', value: true }] }), 403);
      const trusted = await app({ allowedGrants: [JWT_BEARER], jwks: keys, allowUserAssertions: true });
      const other = { keys: [(await signer('ES256', 'k2')).jwk] };
      assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${trusted.json().id}`, appAdmin, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'jwks', value: other }] }), 403);
      const rename = await scim(h, 'PATCH', `/admin/v1/Apps/${trusted.json().id}`, appAdmin, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'renamed' }] });
      assertScimError(rename, 403);
      assert.match(rename.json().detail, /may change a client that may assert any user/);
      const still = await scim(h, 'GET', `/admin/v1/Apps/${trusted.json().id}`, admin);
      assert.deepEqual(still.json().jwks, keys, 'the keys did not change');
      // The administrator may.
      const re = await scim(h, 'PATCH', `/admin/v1/Apps/${trusted.json().id}`, admin, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'jwks', value: other }] });
      assert.equal(re.statusCode, 200, re.body);
    });

    test('it needs a confidential client with the jwt-bearer grant and registered keys', async () => {
      for (const body of [
        { allowedGrants: ['client_credentials'], allowUserAssertions: true },
        { allowedGrants: [JWT_BEARER], allowUserAssertions: true },
        { clientType: 'public', allowedGrants: ['authorization_code'], redirectUris: ['https://app.example.com/cb'], allowUserAssertions: true },
      ]) {
        const r = await app(body);
        assertScimError(r, 400, 'invalidValue');
        assert.match(r.json().detail, /allowUserAssertions/);
      }
    });

    test('never through dynamic registration: the metadata is ignored, and RFC 7592 cannot change a client an administrator trusted', async () => {
      const jwk = (await signer('ES256', 'dcr-1')).jwk;
      const reg = await h.inject({
        method: 'POST', url: '/oauth2/v1/register', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ grant_types: [JWT_BEARER], jwks: { keys: [jwk] }, allowUserAssertions: true, allow_user_assertions: true, response_types: [] }),
      });
      assert.equal(reg.statusCode, 201, reg.body);
      const b = reg.json();
      assert.deepEqual(b.grant_types, [JWT_BEARER]);
      const list = await scim(h, 'GET', `/admin/v1/Apps?filter=${encodeURIComponent(`name eq "${b.client_id}"`)}`, admin);
      const a = list.json().Resources[0];
      assert.equal(a.allowUserAssertions, false);
      // An administrator trusts it; its registration access token may then neither change nor delete it.
      const p = await scim(h, 'PATCH', `/admin/v1/Apps/${a.id}`, admin, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'allowUserAssertions', value: true }] });
      assert.equal(p.statusCode, 200, p.body);
      const put = await h.inject({
        method: 'PUT', url: `/oauth2/v1/register/${b.client_id}`, headers: { authorization: `Bearer ${b.registration_access_token}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ client_id: b.client_id, grant_types: [JWT_BEARER], jwks: { keys: [(await signer('ES256', 'dcr-2')).jwk] }, response_types: [] }),
      });
      assertOAuthError(put, 403, 'access_denied');
      const del = await h.inject({ method: 'DELETE', url: `/oauth2/v1/register/${b.client_id}`, headers: { authorization: `Bearer ${b.registration_access_token}` } });
      assertOAuthError(del, 403, 'access_denied');
    });

    test('keys are for private_key_jwt or the jwt-bearer grant: a client_secret_basic client without the grant may not register them', async () => {
      const r = await app({ allowedGrants: ['client_credentials'], jwks: keys });
      assertScimError(r, 400, 'invalidValue');
      assert.match(r.json().detail, /only used with private_key_jwt, self_signed_tls_client_auth or the urn:ietf:params:oauth:grant-type:jwt-bearer grant/);
      assertScimError(await app({ allowedGrants: [JWT_BEARER], jwks: keys, jwksUri: 'https://keys.example.com/jwks' }), 400, 'invalidValue');
    });
  });

  describe('certificates', { skip: skipCerts }, () => {
    test('invalid PEM, too many, or a key that cannot sign: 400 naming the certificate', async () => {
      for (const [certificates, why] of [
        [['not a certificate'], /certificates\[0\] is not a PEM certificate/],
        [['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'], /certificates\[0\] is not a valid X.509 certificate/],
        [Array(11).fill('x'), /at most 10/],
      ] as const) {
        const r = await app({ allowedGrants: [JWT_BEARER], certificates });
        assertScimError(r, 400, 'invalidValue');
        assert.match(r.json().detail, why);
      }
      const rsa = await certificate('rsa');
      const r = await app({ tokenEndpointAuthMethod: 'private_key_jwt', tokenEndpointAuthSigningAlg: 'ES256', allowedGrants: ['client_credentials'], certificates: [rsa.pem] });
      assertScimError(r, 400, 'invalidValue');
      assert.match(r.json().detail, /can verify tokenEndpointAuthSigningAlg ES256/);
    });

    test('private_key_jwt with a registered certificate: the client assertion selects it by kid = its x5t#S256', async () => {
      const cert = await certificate('ec');
      const thumb = createHash('sha256').update(new X509Certificate(cert.pem).raw).digest('base64url');
      const c = await app({ tokenEndpointAuthMethod: 'private_key_jwt', allowedGrants: ['client_credentials'], allowedScopes: [{ fqs: rsScope }], certificates: [cert.pem] });
      assert.equal(c.statusCode, 201, c.body);
      assert.deepEqual(c.json().certificates, [cert.pem]);
      const clientId = c.json().name;
      const send = async (header: Record<string, unknown>) => post(h, '/oauth2/v1/token', {
        grant_type: 'client_credentials', scope: rsScope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await assertion(h, cert.key, { iss: clientId, sub: clientId }, { alg: 'ES256', ...header }),
      });
      assert.equal((await send({ kid: thumb })).statusCode, 200);
      assert.equal((await send({})).statusCode, 200);
      assertOAuthError(await send({ kid: 'another' }), 401, 'invalid_client');
    });

    test('jwt-bearer: a client-signed assertion picks the certificate by x5t#S256 or x5t (Oracle sends x5t); a wrong thumbprint verifies nothing', async () => {
      const [one, two] = [await certificate('rsa'), await certificate('ec')];
      const c = await createApp(h, admin, { allowedGrants: [JWT_BEARER], allowedScopes: [{ fqs: rsScope }], certificates: [one.pem, two.pem] });
      const der = (pem: string) => new X509Certificate(pem).raw;
      const s256 = (pem: string) => createHash('sha256').update(der(pem)).digest('base64url');
      const s1 = (pem: string) => createHash('sha1').update(der(pem)).digest('base64url');
      const mk = (cert: typeof one, header: Record<string, unknown>) => assertion(h, cert.key, { iss: c.clientId, sub: c.clientId }, { alg: cert.alg, ...header });
      for (const [cert, header] of [[one, { 'x5t#S256': s256(one.pem) }], [two, { 'x5t#S256': s256(two.pem) }], [one, { x5t: s1(one.pem) }], [two, {}]] as const) {
        const r = await grant(h, await mk(cert, header), { scope: rsScope });
        assert.equal(r.statusCode, 200, `${JSON.stringify(header)}: ${r.body}`);
      }
      for (const header of [{ 'x5t#S256': s256(two.pem) }, { x5t: s1(two.pem) }, { 'x5t#S256': 'AAAA' }, { 'x5t#S256': 5 }]) {
        const r = await grant(h, await mk(one, header), { scope: rsScope });
        assertOAuthError(r, 400, 'invalid_grant');
      }
    });

    test('a trusted issuer\'s certificate, selected by x5t#S256', async () => {
      const cert = await certificate('rsa');
      const thumb = createHash('sha256').update(new X509Certificate(cert.pem).raw).digest('base64url');
      const user = await createUser(h, admin, `cert-${randomBytes(3).toString('hex')}`);
      const t = await trustIssuer(h, { issuer: `https://cert-${randomBytes(3).toString('hex')}.example`, certificates: [cert.pem], allowedScopes: [rsScope] });
      const partner = await createApp(h, admin, { allowedGrants: [JWT_BEARER], allowedScopes: [{ fqs: rsScope }] });
      const a = await assertion(h, cert.key, { iss: t.issuer, sub: user.userName }, { alg: 'RS256', 'x5t#S256': thumb });
      const r = await grant(h, a, { scope: rsScope, auth: basic(partner.clientId, partner.secret!) });
      assert.equal(r.statusCode, 200, r.body);
      const wrong = await assertion(h, cert.key, { iss: t.issuer, sub: user.userName }, { alg: 'RS256', 'x5t#S256': 'x'.repeat(43) });
      assertOAuthError(await grant(h, wrong, { scope: rsScope, auth: basic(partner.clientId, partner.secret!) }), 400, 'invalid_grant');
    });
  });
});
