import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { FixedClock } from '../../src/core/clock.js';
import { newApp } from '../../src/identity/domains.js';
import { adminToken, APP_SCHEMA, assertOAuthError, assertScimError, harness, ISSUER, post, scim, type Harness } from '../helpers.js';

const TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const TOKEN_ENDPOINT = `${ISSUER}/oauth2/v1/token`;

describe('client authentication with JWTs (RFC 7523 §2.2)', () => {
  let h: Harness;
  let admin: string;
  let pk: { clientId: string; key: CryptoKey; jwk: JWK };
  let hs: { clientId: string; secret: string };
  let n = 0;

  const now = () => Math.floor(h.clock.now() / 1000);
  const assertion = async (o: { sub?: string; iss?: string; aud?: unknown; exp?: number | null; iat?: number; jti?: string | null; alg?: string; key?: CryptoKey | Uint8Array; typ?: string; header?: Record<string, unknown> } = {}) => {
    const claims: Record<string, unknown> = { iss: o.iss ?? pk.clientId, sub: o.sub ?? pk.clientId, aud: o.aud ?? ISSUER };
    if (o.exp !== null) claims.exp = o.exp ?? now() + 60;
    if (o.iat !== undefined) claims.iat = o.iat;
    if (o.jti !== null) claims.jti = o.jti ?? `jti-${++n}-${Math.random()}`;
    return new SignJWT(claims).setProtectedHeader({ alg: o.alg ?? 'ES256', ...(o.typ ? { typ: o.typ } : {}), ...(o.header ?? {}) }).sign(o.key ?? pk.key);
  };
  const tokenWith = (a: string, extra: Record<string, string> = {}) =>
    post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'pk.read', client_assertion_type: TYPE, client_assertion: a, ...extra });

  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: 'pk-rs', isOAuthResource: true, audience: 'https://pk.example', scopes: [{ value: 'pk.read' }] });
    assert.equal(rs.statusCode, 201, rs.body);
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    const c = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: 'pk-client', isOAuthClient: true, clientType: 'confidential', tokenEndpointAuthMethod: 'private_key_jwt',
      tokenEndpointAuthSigningAlg: 'ES256', jwks: { keys: [jwk] }, allowedGrants: ['client_credentials'], allowedScopes: [{ fqs: 'pk.read' }],
    });
    assert.equal(c.statusCode, 201, c.body);
    assert.equal(c.json().clientSecret, undefined, 'private_key_jwt clients get no secret');
    pk = { clientId: c.json().name, key: privateKey, jwk };
    const s = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: 'hs-client', isOAuthClient: true, clientType: 'confidential', tokenEndpointAuthMethod: 'client_secret_jwt',
      allowedGrants: ['client_credentials'], allowedScopes: [{ fqs: 'pk.read' }],
    });
    assert.equal(s.statusCode, 201, s.body);
    hs = { clientId: s.json().name, secret: s.json().clientSecret };
  });
  after(() => h.close());

  test('private_key_jwt: a valid assertion gets a token; aud may be the issuer or the token endpoint', async () => {
    for (const aud of [ISSUER, TOKEN_ENDPOINT, [ISSUER]]) {
      const r = await tokenWith(await assertion({ aud }));
      assert.equal(r.statusCode, 200, `${JSON.stringify(aud)}: ${r.body}`);
    }
    const typed = await tokenWith(await assertion({ typ: 'client-authentication+jwt' }));
    assert.equal(typed.statusCode, 200, typed.body);
  });

  test('the same assertion twice: the second is refused (jti replay)', async () => {
    const a = await assertion();
    assert.equal((await tokenWith(a)).statusCode, 200);
    assertOAuthError(await tokenWith(a), 401, 'invalid_client');
  });

  test('concurrent replays: exactly one wins', async () => {
    const a = await assertion();
    const rs = await Promise.all(Array.from({ length: 10 }, () => tokenWith(a)));
    assert.equal(rs.filter((r) => r.statusCode === 200).length, 1);
  });

  const bad: [string, () => Promise<string>][] = [
    ['aud of another server', () => assertion({ aud: 'https://other.example' })],
    ['aud with two values', () => assertion({ aud: [ISSUER, 'https://other.example'] })],
    ['no exp', () => assertion({ exp: null })],
    ['exp a day ahead', () => assertion({ exp: now() + 86400 })],
    ['expired', () => assertion({ exp: now() - 120 })],
    ['iat in the future', () => assertion({ iat: now() + 600 })],
    ['no jti', () => assertion({ jti: null })],
    ['iss differs from sub', () => assertion({ iss: 'someone-else' })],
    ['sub of an unknown client', () => assertion({ sub: 'nobody', iss: 'nobody' })],
    ['typ at+jwt (an access token)', () => assertion({ typ: 'at+jwt' })],
    ['a key that is not registered', async () => assertion({ key: (await generateKeyPair('ES256')).privateKey })],
    ['an attacker key embedded in the header', async () => {
      const { publicKey, privateKey } = await generateKeyPair('ES256');
      return assertion({ key: privateKey, header: { jwk: await exportJWK(publicKey) } });
    }],
    ['jku pointing elsewhere', async () => assertion({ key: (await generateKeyPair('ES256')).privateKey, header: { jku: 'https://evil.example/jwks' } })],
    ['alg none', async () => {
      const p1 = (await assertion()).split('.')[1];
      const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
      return `${none}.${p1}.`;
    }],
    ['HS256 keyed with the public key (key confusion)', () => assertion({ alg: 'HS256', key: new TextEncoder().encode(JSON.stringify(pk.jwk)) })],
  ];
  for (const [name, make] of bad) {
    test(`refused: ${name}`, async () => {
      assertOAuthError(await tokenWith(await make()), 401, 'invalid_client');
    });
  }

  // RFC 8725 §2.9, §3.10 (JW-4): kid is an opaque lookup key, never a path or query.
  for (const kid of ['../../dev/null', "' OR 1=1--", 'k'.repeat(10_000), 42]) {
    test(`refused: kid ${JSON.stringify(kid).slice(0, 30)}`, async () => {
      const a = await assertion({ header: { kid } as Record<string, unknown> });
      assertOAuthError(await tokenWith(a), 401, 'invalid_client');
    });
  }

  // RFC 8725 §2.6, §3.7 (JW-8): malformed compact serialisations are a clean 401, never a 500 or a hang.
  const b64 = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
  const malformed: [string, () => Promise<string> | string][] = [
    ['four segments', async () => `${await assertion()}.extra`],
    ['five segments (a JWE)', () => `${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`],
    ['bad base64url in the header', async () => `@@@.${(await assertion()).split('.')[1]}.sig`],
    ['header is not JSON', async () => `${b64('not json')}.${(await assertion()).split('.')[1]}.sig`],
    ['payload is a JSON array', () => `${b64({ alg: 'ES256' })}.${b64([1, 2])}.sig`],
    ['duplicate keys in the payload', () => `${b64({ alg: 'ES256' })}.${b64(`{"sub":"${pk.clientId}","sub":"other","iss":"other"}`)}.sig`],
    ['non-UTF-8 bytes', () => `${Buffer.from([0xff, 0xfe, 0xfd]).toString('base64url')}.${Buffer.from([0xc3, 0x28]).toString('base64url')}.sig`],
    ['crit header with an unknown extension', async () => {
      // jose refuses to produce this, so sign it by hand (ES256 over WebCrypto is already IEEE P1363).
      const input = `${b64({ alg: 'ES256', crit: ['x-unknown'], 'x-unknown': 1 })}.${b64({ iss: pk.clientId, sub: pk.clientId, aud: ISSUER, exp: now() + 60, jti: `crit-${Math.random()}` })}`;
      const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pk.key as never, new TextEncoder().encode(input));
      return `${input}.${Buffer.from(sig).toString('base64url')}`;
    }],
    ['a 40 KB header', () => assertion({ header: { pad: 'x'.repeat(40_000) } })],
  ];
  for (const [name, make] of malformed) {
    test(`refused: ${name}`, async () => {
      const r = await tokenWith(await make());
      assert.ok(r.statusCode === 401 || r.statusCode === 400 || r.statusCode === 413, `${r.statusCode} ${r.body}`);
      assert.ok(['invalid_client', 'invalid_request'].includes(r.json().error), r.body);
    });
  }

  test('client_id in the body must match the assertion', async () => {
    assertOAuthError(await tokenWith(await assertion(), { client_id: hs.clientId }), 401, 'invalid_client');
  });

  test('client_secret_jwt: HS256 over the secret works; the alg is pinned', async () => {
    const key = new TextEncoder().encode(hs.secret);
    const mk = (alg: string, k: Uint8Array | CryptoKey = key) => new SignJWT({ iss: hs.clientId, sub: hs.clientId, aud: ISSUER, jti: `j-${Math.random()}` })
      .setProtectedHeader({ alg }).setExpirationTime(now() + 60).sign(k);
    assert.equal((await tokenWith(await mk('HS256'))).statusCode, 200);
    assertOAuthError(await tokenWith(await mk('HS512')), 401, 'invalid_client');
    assertOAuthError(await tokenWith(await mk('ES256', pk.key)), 401, 'invalid_client');
    assertOAuthError(await tokenWith(await mk('HS256', new TextEncoder().encode('not-the-secret-xxxxxxxxxxxxxxxxxxxxxx'))), 401, 'invalid_client');
    // the secret is stored encrypted, never in the clear
    const repos = h.t.services.repos;
    const row = await repos.apps.getByClientId((await repos.domains.getByName('default'))!.id, hs.clientId);
    assert.ok(row?.secretEnc && !row.secretEnc.includes(hs.secret));
    assert.ok(row?.secretHash && !row.secretHash.includes(hs.secret));
  });

  test('a private_key_jwt client cannot use a secret', async () => {
    const r = await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'pk.read', client_id: pk.clientId, client_secret: 'anything-at-all' });
    assertOAuthError(r, 401, 'invalid_client');
  });
});

/** Issue 7: a client registered with keys but no token_endpoint_auth_signing_alg (what generic clients send). */
describe('private_key_jwt without a registered algorithm: the keys decide', () => {
  let h: Harness;
  let admin: string;
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: 'alg-rs', isOAuthResource: true, audience: 'https://alg.example', scopes: [{ value: 'alg.read' }] });
    assert.equal(rs.statusCode, 201, rs.body);
  });
  after(() => h.close());

  const register = async (keys: JWK[], extra: Record<string, unknown> = {}) => scim(h, 'POST', '/admin/v1/Apps', admin, {
    schemas: [APP_SCHEMA], displayName: `alg-${Math.random()}`, isOAuthClient: true, clientType: 'confidential', tokenEndpointAuthMethod: 'private_key_jwt',
    jwks: { keys }, allowedGrants: ['client_credentials'], allowedScopes: [{ fqs: 'alg.read' }], ...extra,
  });
  const sign = (clientId: string, alg: string, key: CryptoKey | Uint8Array, header: Record<string, unknown> = {}) =>
    new SignJWT({ iss: clientId, sub: clientId, aud: ISSUER, jti: `j-${Math.random()}` }).setProtectedHeader({ alg, ...header })
      .setExpirationTime(Math.floor(h.clock.now() / 1000) + 60).sign(key);
  const send = (a: string) => post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'alg.read', client_assertion_type: TYPE, client_assertion: a });

  for (const [name, alg, withAlg] of [['EC P-256 with alg', 'ES256', true], ['EC P-256 without alg', 'ES256', false], ['EC P-384', 'ES384', false],
    ['RSA without alg (RS256)', 'RS256', false], ['RSA without alg (PS256)', 'PS256', false], ['Ed25519', 'EdDSA', false]] as const) {
    test(`${name}: the assertion the key can verify is accepted`, async () => {
      const { publicKey, privateKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
      const jwk = { ...(await exportJWK(publicKey)), kid: 'k', ...(withAlg ? { alg } : {}) };
      const c = await register([jwk]);
      assert.equal(c.statusCode, 201, c.body);
      const r = await send(await sign(c.json().name, alg, privateKey));
      assert.equal(r.statusCode, 200, r.body);
    });
  }

  test('refused: another algorithm than the keys allow, HMAC over the public key, none, another key, a pinned alg that differs', async () => {
    const ec = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(ec.publicKey)), kid: 'ec' };
    const c = await register([jwk]);
    const id = c.json().name as string;
    const rsa = await generateKeyPair('RS256');
    const other = await generateKeyPair('ES256');
    const hmacKey = new TextEncoder().encode(JSON.stringify(jwk));
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: id, sub: id, aud: ISSUER, jti: 'n1', exp: Math.floor(h.clock.now() / 1000) + 60 })).toString('base64url')}.`;
    for (const [what, a] of [
      ['RS256 (no RSA key registered)', await sign(id, 'RS256', rsa.privateKey)],
      ['HS256 keyed with the public JWK', await sign(id, 'HS256', hmacKey)],
      ['alg none', unsigned],
      ['ES256 by an unregistered key', await sign(id, 'ES256', other.privateKey)],
    ] as const) {
      assertOAuthError(await send(a), 401, 'invalid_client');
      void what;
    }
    // One RSA key, pinned to PS256: an RS256 assertion by the same key is refused.
    const ps = await generateKeyPair('PS256', { extractable: true });
    const asRs256 = await importJWK(await exportJWK(ps.privateKey), 'RS256');
    const pinned = await register([{ ...(await exportJWK(ps.publicKey)), kid: 'r' }], { tokenEndpointAuthSigningAlg: 'PS256' });
    assert.equal(pinned.statusCode, 201, pinned.body);
    assertOAuthError(await send(await sign(pinned.json().name, 'RS256', asRs256)), 401, 'invalid_client');
    assert.equal((await send(await sign(pinned.json().name, 'PS256', ps.privateKey))).statusCode, 200);
  });

  test('registration refuses keys that can verify nothing, or not the pinned algorithm', async () => {
    const ec = await exportJWK((await generateKeyPair('ES256')).publicKey);
    assertScimError(await register([{ kty: 'foo', x: 'y' } as JWK]), 400, 'invalidValue');
    assertScimError(await register([{ ...ec, use: 'enc' }]), 400, 'invalidValue');
    assertScimError(await register([{ ...ec, alg: 'HS256' }]), 400, 'invalidValue');
    assertScimError(await register([ec], { tokenEndpointAuthSigningAlg: 'RS256' }), 400, 'invalidValue');
  });
});

describe('private_key_jwt with jwks_uri', () => {
  let server: Server;
  let jwks: { keys: JWK[] } = { keys: [] };
  let fetches = 0;
  before(async () => {
    server = createServer((_req, res) => { fetches++; res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(jwks)); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const setup = async (h: Harness, uri: string) => {
    const admin = await adminToken(h);
    await scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: 'u-rs', isOAuthResource: true, audience: 'https://u.example', scopes: [{ value: 'u.read' }] });
    const c = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: 'u-client', isOAuthClient: true, clientType: 'confidential', tokenEndpointAuthMethod: 'private_key_jwt',
      jwksUri: uri, allowedGrants: ['client_credentials'], allowedScopes: [{ fqs: 'u.read' }],
    });
    assert.equal(c.statusCode, 201, c.body);
    return c.json().name as string;
  };

  test('keys are fetched from jwks_uri (private addresses allowed only by the unsafe test switch), cached, refetched for a new kid', async () => {
    const h = await harness({ config: { unsafeAllowPrivateFetch: true } });
    try {
      const port = (server.address() as { port: number }).port;
      const clientId = await setup(h, `http://127.0.0.1:${port}/jwks`);
      const k1 = await generateKeyPair('RS256');
      jwks = { keys: [{ ...(await exportJWK(k1.publicKey)), kid: 'a' }] };
      const mk = (key: CryptoKey, kid: string) => new SignJWT({ iss: clientId, sub: clientId, aud: ISSUER, jti: `j-${Math.random()}` })
        .setProtectedHeader({ alg: 'RS256', kid }).setExpirationTime(Math.floor(h.clock.now() / 1000) + 60).sign(key);
      const send = async (a: string) => post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'u.read', client_assertion_type: TYPE, client_assertion: a });
      assert.equal((await send(await mk(k1.privateKey, 'a'))).statusCode, 200);
      assert.equal((await send(await mk(k1.privateKey, 'a'))).statusCode, 200);
      assert.equal(fetches, 1, 'cached');
      const k2 = await generateKeyPair('RS256');
      jwks = { keys: [...jwks.keys, { ...(await exportJWK(k2.publicKey)), kid: 'b' }] };
      // an unknown kid triggers at most one refetch per minute
      (h.clock as FixedClock).advance(61_000);
      assert.equal((await send(await mk(k2.privateKey, 'b'))).statusCode, 200);
      assert.equal(fetches, 2);
    } finally { await h.close(); }
  });

  test('without the unsafe switch, loopback and link-local jwks_uri are refused by the admin API, and never fetched if stored anyway', async () => {
    const h = await harness();
    try {
      const admin = await adminToken(h);
      const d = (await h.t.services.repos.domains.getByName('default'))!;
      for (const uri of ['https://127.0.0.1/jwks', 'https://169.254.169.254/latest', 'https://[::1]/jwks', 'https://10.0.0.1/jwks']) {
        const before = fetches;
        const c = await scim(h, 'POST', '/admin/v1/Apps', admin, {
          schemas: [APP_SCHEMA], displayName: 'ssrf', isOAuthClient: true, clientType: 'confidential', tokenEndpointAuthMethod: 'private_key_jwt',
          jwksUri: uri, allowedGrants: [],
        });
        assert.equal(c.statusCode, 400, c.body);
        assert.equal(c.json().scimType, 'invalidValue');
        // As if a public name now resolved to a private address: the fetch refuses on its own.
        const clientId = `ssrf-${Math.random().toString(36).slice(2)}`;
        await h.t.services.repos.apps.create(newApp(d.id, h.clock.now(), {
          displayName: 'ssrf', isOAuthClient: true, clientId, tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: uri, allowedGrants: ['client_credentials'],
        }));
        const { privateKey } = await generateKeyPair('RS256');
        const a = await new SignJWT({ iss: clientId, sub: clientId, aud: ISSUER, jti: 'x' }).setProtectedHeader({ alg: 'RS256' })
          .setExpirationTime(Math.floor(h.clock.now() / 1000) + 60).sign(privateKey);
        const r = await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', client_assertion_type: TYPE, client_assertion: a });
        assertOAuthError(r, 401, 'invalid_client');
        assert.equal(fetches, before);
      }
    } finally { await h.close(); }
  });
});
