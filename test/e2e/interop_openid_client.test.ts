/**
 * openid-client 6 (panva), the most used OpenID Connect relying-party library for Node, against a
 * listening Tessera: discovery, dynamic registration as generic clients do it, code + PKCE through
 * the login and consent pages, userinfo, refresh rotation, revocation, introspection, private_key_jwt.
 * Issue 7 "Interoperability" lists the bugs some of these tests catch; see each test's comment.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { adminToken, APP_SCHEMA, decode, scim, setupClient } from '../helpers.js';
import { createUser, createWebApp, REDIRECT } from '../signin.js';
import { expectOAuthError, explained, listeningTessera, oauthErrorOf, stopAt, WebBrowser, type Listening } from '../interop.js';

const insecure = { execute: [client.allowInsecureRequests] };
const OIDC_SCOPES = ['openid', 'profile', 'email', 'address', 'phone', 'offline_access', 'groups', 'approles'];

/** Rejects with the library's error for an OAuth error answer (ResponseBodyError) of that status and code. */
async function rejectsWith(p: Promise<unknown>, status: number, error: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.deepEqual({ status: oauthErrorOf(e).status, error: oauthErrorOf(e).error }, { status, error }, String(e));
    return true;
  });
}

describe('openid-client 6 against a listening Tessera', () => {
  let t: Listening;
  let server: URL;
  before(async () => { t = await listeningTessera(); server = new URL(t.base); });
  after(() => t.close());

  const register = async (metadata: Partial<client.ClientMetadata>, auth?: client.ClientAuth) =>
    explained(client.dynamicClientRegistration(server, { client_name: `oc-${randomBytes(3).toString('hex')}`, ...metadata }, auth,
      { ...insecure, initialAccessToken: await adminToken(t.h, 'urn:opc:idm:t.apps') }));

  /** The browser part of a code flow: authorization URL by the library, login and consent by the person. */
  async function authorize(config: client.Configuration, username: string, scope = 'openid profile email offline_access', b = new WebBrowser()) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT, scope, state, nonce, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const r = await b.signIn(url.href, username, { stop: stopAt(REDIRECT) });
    assert.ok(r.location?.startsWith(`${REDIRECT}?`), `expected the redirect to the client, got ${r.status} ${r.location ?? r.body.slice(0, 300)}`);
    return { callback: new URL(r.location!), verifier, state, nonce, browser: b };
  }

  async function signInTokens(config: client.Configuration, username: string, scope?: string) {
    const a = await authorize(config, username, scope);
    return client.authorizationCodeGrant(config, a.callback, { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce, idTokenExpected: true });
  }

  test('discovery: an http issuer needs the documented allowInsecureRequests; then the metadata a client needs', async () => {
    // The library refuses plain http by default: this is the option a development setup needs.
    await assert.rejects(client.discovery(server, 'any'), (e: unknown) => oauthErrorOf(e).code === 'OAUTH_HTTP_REQUEST_FORBIDDEN');
    const config = await client.discovery(server, 'any', undefined, undefined, insecure);
    const m = config.serverMetadata();
    assert.equal(m.issuer, t.base);
    assert.equal(m.token_endpoint, `${t.base}/oauth2/v1/token`);
    assert.equal(m.registration_endpoint, `${t.base}/oauth2/v1/register`);
    assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
    assert.ok(m.supportsPKCE());
    for (const s of OIDC_SCOPES) assert.ok(m.scopes_supported?.includes(s), `scopes_supported lists ${s}`);
    assert.ok(m.token_endpoint_auth_methods_supported?.includes('private_key_jwt'));
    assert.ok(m.token_endpoint_auth_signing_alg_values_supported?.includes('ES256'));
    // Not an issuer: a 404, and the library gives up.
    assert.equal((await fetch(`${t.base}/domains/nope/.well-known/openid-configuration`)).status, 404);
    await assert.rejects(client.discovery(new URL(`${t.base}/domains/nope`), 'any', undefined, undefined, insecure));
  });

  // Issue 7: "Dynamic registration refuses standard OpenID scopes" (today: 400 invalid_client_metadata
  // "scope openid is not defined in this domain").
  test('dynamic registration with scope "openid profile email", as generic clients send it, is accepted', async () => {
    const config = await register({
      redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic', scope: 'openid profile email',
    });
    const md = config.clientMetadata();
    assert.equal(typeof md.client_id, 'string');
    assert.equal(typeof md.client_secret, 'string');
    assert.deepEqual(String(md.scope).split(' ').sort(), ['email', 'openid', 'profile']);
    // ... and the registered client signs a user in with those scopes.
    const user = await createUser(t.h, t.admin);
    const tokens = await signInTokens(config, user.userName, 'openid profile email');
    assert.equal(tokens.claims()?.sub, user.id);
  });

  // Issue 7: "The OIDC scopes (openid profile email address phone offline_access groups approles) are
  // always registrable and belong in allowedScopes too."
  test('every OIDC scope is registrable', async () => {
    const config = await register({ redirect_uris: [REDIRECT], scope: OIDC_SCOPES.join(' ') });
    assert.deepEqual(String(config.clientMetadata().scope).split(' ').sort(), [...OIDC_SCOPES].sort());
  });

  test('an App may list the OIDC scopes in allowedScopes (admin API)', async () => {
    const r = await scim(t.h, 'POST', '/admin/v1/Apps', t.admin, {
      schemas: [APP_SCHEMA], displayName: `oidc-scopes-${randomBytes(3).toString('hex')}`, isOAuthClient: true, clientType: 'confidential',
      allowedGrants: ['authorization_code'], redirectUris: [REDIRECT], allowedScopes: OIDC_SCOPES.map((fqs) => ({ fqs })),
    });
    assert.equal(r.statusCode, 201, r.body);
    assert.deepEqual(r.json().allowedScopes.map((x: { fqs: string }) => x.fqs).sort(), [...OIDC_SCOPES].sort());
  });

  test('registration refusals: no or wrong initial access token, undefined scopes, admin scopes beyond the caller', async () => {
    const reg = (body: unknown, token?: string) => fetch(`${t.base}/oauth2/v1/register`, {
      method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    const ok = { redirect_uris: [REDIRECT] };
    const noToken = await reg(ok);
    assert.match(String(noToken.headers.get('www-authenticate')), /^Bearer /);
    await expectOAuthError(noToken, 401, 'invalid_token');
    await expectOAuthError(await reg(ok, 'not-a-token'), 401, 'invalid_token');
    // An admin token without urn:opc:idm:t.apps: RFC 6750 §3.1 insufficient_scope.
    await expectOAuthError(await reg(ok, await adminToken(t.h, 'urn:opc:idm:t.users')), 403, 'insufficient_scope');
    // A token for another resource server is not an initial access token.
    const rs = await setupClient(t.h, { admin: t.admin, scopes: ['oc.other'] });
    const rsToken = (await client.clientCredentialsGrant(
      await client.discovery(server, rs.clientId, rs.secret, client.ClientSecretBasic(rs.secret), insecure), { scope: 'oc.other' })).access_token;
    await expectOAuthError(await reg(ok, rsToken), 401, 'invalid_token');
    const apps = await adminToken(t.h, 'urn:opc:idm:t.apps');
    await expectOAuthError(await reg({ ...ok, scope: 'openid no.such.scope' }, apps), 400, 'invalid_client_metadata');
    // RFC 7591 §2: the caller cannot register a client with admin scopes it does not hold itself.
    await expectOAuthError(await reg({ ...ok, scope: 'urn:opc:idm:t.settings' }, apps), 400, 'invalid_client_metadata');
    await expectOAuthError(await reg({ ...ok, scope: 'openid profile', grant_types: ['implicit'] }, apps), 400, 'invalid_client_metadata');
    await expectOAuthError(await reg({ ...ok, response_types: ['token'] }, apps), 400, 'invalid_client_metadata');
  });

  test('code + PKCE with a registered client: login and consent, ID token checked by the library, userinfo, refresh rotation, revocation', async () => {
    // Registered without `scope`, so this flow does not depend on the registration bug above.
    const config = await register({ redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] });
    // The library verifies the ID token's signature with the issuer's JWKS (off by default over TLS, OIDC Core §3.1.3.7).
    client.enableNonRepudiationChecks(config);
    const user = await createUser(t.h, t.admin, undefined, { displayName: 'Ada Lovelace' });
    const a = await authorize(config, user.userName);
    assert.equal(a.callback.searchParams.get('iss'), t.base, 'RFC 9207 iss on the authorization response');
    // Client-side checks before anything is sent: the library refuses a callback with another state.
    await assert.rejects(client.authorizationCodeGrant(config, a.callback, { pkceCodeVerifier: a.verifier, expectedState: 'another-state', expectedNonce: a.nonce }));
    const tokens = await client.authorizationCodeGrant(config, a.callback, {
      pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce, idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    assert.equal(claims.iss, t.base);
    assert.equal(claims.sub, user.id);
    assert.equal(claims.aud, config.clientMetadata().client_id);
    assert.equal(claims.nonce, a.nonce);
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.scope, 'openid profile email offline_access');
    assert.ok(tokens.refresh_token);

    const info = await client.fetchUserInfo(config, tokens.access_token, user.id);
    assert.equal(info.sub, user.id);
    assert.equal(info.name, 'Ada Lovelace');
    assert.equal(info.email, `${user.userName}@example.com`);
    assert.equal(info.preferred_username, user.userName);

    // Refresh rotation (RFC 9700 §4.14.2): a new refresh token each time; the ID token keeps the subject.
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token);
    assert.notEqual(refreshed.access_token, tokens.access_token);
    assert.equal(refreshed.claims()?.sub, user.id);

    // RFC 7009: revoking an access token; userinfo refuses it with RFC 6750 invalid_token.
    await client.tokenRevocation(config, refreshed.access_token);
    await assert.rejects(client.fetchUserInfo(config, refreshed.access_token, user.id), (e: unknown) => {
      const c = e as client.WWWAuthenticateChallengeError;
      assert.equal(c.status, 401, String(e));
      assert.equal(c.cause?.[0]?.parameters.error, 'invalid_token');
      return true;
    });
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true, 'the other access token of the grant lives on');
    // Revoking the refresh token: it cannot be used again, and (RFC 7009 §2.1) the grant's access tokens end with it.
    await client.tokenRevocation(config, refreshed.refresh_token!);
    await rejectsWith(client.refreshTokenGrant(config, refreshed.refresh_token!), 400, 'invalid_grant');
    assert.deepEqual({ ...(await client.tokenIntrospection(config, tokens.access_token)) }, { active: false });
  });

  test('the server refuses a wrong PKCE verifier, a code redeemed by another client, and a code redeemed twice', async () => {
    const config = await register({ redirect_uris: [REDIRECT] });
    const other = await register({ redirect_uris: [REDIRECT] });
    const user = await createUser(t.h, t.admin);
    const a = await authorize(config, user.userName, 'openid');
    // RFC 7636 §4.6: the verifier must match the challenge.
    await rejectsWith(client.authorizationCodeGrant(config, a.callback, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: a.state, expectedNonce: a.nonce }), 400, 'invalid_grant');
    const b = await authorize(config, user.userName, 'openid', a.browser);
    // RFC 6749 §4.1.3: the code was issued to another client.
    await rejectsWith(client.authorizationCodeGrant(other, b.callback, { pkceCodeVerifier: b.verifier, expectedState: b.state, expectedNonce: b.nonce }), 400, 'invalid_grant');
    // RFC 6749 §4.1.2: a code is single use, and its second redemption revokes what the first one issued.
    const c = await authorize(config, user.userName, 'openid', a.browser);
    const checks = { pkceCodeVerifier: c.verifier, expectedState: c.state, expectedNonce: c.nonce };
    const tokens = await client.authorizationCodeGrant(config, c.callback, checks);
    await rejectsWith(client.authorizationCodeGrant(config, c.callback, checks), 400, 'invalid_grant');
    assert.deepEqual({ ...(await client.tokenIntrospection(config, tokens.access_token)) }, { active: false });
  });

  // Issue 7: "Refresh token introspection answers {"active":false} for a live refresh token".
  test('introspection of a refresh token: active for the client it was issued to, inactive for another client, once rotated and once revoked', async () => {
    const config = await register({ redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] });
    const other = await register({ redirect_uris: [REDIRECT] });
    const user = await createUser(t.h, t.admin);
    const tokens = await signInTokens(config, user.userName);
    const rt = tokens.refresh_token!;
    // RFC 7662 §2.2: another client learns nothing about it.
    assert.deepEqual({ ...(await client.tokenIntrospection(other, rt)) }, { active: false });
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true);
    // RFC 7662 §2.1 covers refresh tokens; the client it was issued to sees it as active.
    const live = await client.tokenIntrospection(config, rt);
    assert.equal(live.active, true, JSON.stringify(live));
    assert.equal(live.client_id, config.clientMetadata().client_id);
    assert.equal(live.sub, user.id);
    assert.deepEqual(String(live.scope).split(' ').sort(), ['email', 'offline_access', 'openid', 'profile']);
    assert.equal(typeof live.exp, 'number');
    assert.ok(live.exp! > Date.now() / 1000);
    // Rotated: the old one is inactive, the new one active.
    const next = await client.refreshTokenGrant(config, rt);
    assert.deepEqual({ ...(await client.tokenIntrospection(config, rt)) }, { active: false });
    assert.equal((await client.tokenIntrospection(config, next.refresh_token!)).active, true);
    await client.tokenRevocation(config, next.refresh_token!);
    assert.deepEqual({ ...(await client.tokenIntrospection(config, next.refresh_token!)) }, { active: false });
  });
});

/**
 * Issue 7: "private_key_jwt with an EC key": a client registered with an ES256 JWK but without
 * token_endpoint_auth_signing_alg fails today (the server assumes RS256). The fix accepts exactly
 * the asymmetric algorithms the registered keys can verify (the JWK's alg, else its kty and crv).
 */
describe('openid-client private_key_jwt with an EC P-256 key', () => {
  let t: Listening;
  let server: URL;
  let meta: client.ServerMetadata;
  let ec: { privateKey: CryptoKey; jwk: JWK; kid: string };
  before(async () => {
    t = await listeningTessera();
    server = new URL(t.base);
    meta = (await client.discovery(server, 'any', undefined, undefined, insecure)).serverMetadata();
    const pair = await generateKeyPair('ES256', { extractable: true });
    const kid = `ec-${randomBytes(4).toString('hex')}`;
    ec = { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid }, kid };
  });
  after(() => t.close());

  /** A client configuration that authenticates with the library's PrivateKeyJwt. */
  const pkjConfig = (clientId: string, key = ec.privateKey, kid: string | null = ec.kid) => {
    const config = new client.Configuration(meta, clientId, {}, client.PrivateKeyJwt(kid ? { key, kid } : key));
    client.allowInsecureRequests(config);
    return config;
  };

  async function rsWithScope(scope: string) {
    const rs = await setupClient(t.h, { admin: t.admin, scopes: [scope] });
    return rs.audience;
  }

  async function adminPkjClient(jwk: JWK, o: Record<string, unknown> = {}) {
    const scope = `pkj.${randomBytes(3).toString('hex')}`;
    const audience = await rsWithScope(scope);
    const app = await createWebApp(t.h, t.admin, {
      tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [jwk] }, allowedGrants: ['authorization_code', 'client_credentials'],
      allowedScopes: [{ fqs: scope }], ...o,
    });
    assert.equal(app.secret, undefined, 'a private_key_jwt client gets no secret');
    return { clientId: app.clientId, scope, audience };
  }

  /** The code flow whose token request authenticates with the client's key. */
  async function codeFlow(config: client.Configuration) {
    const user = await createUser(t.h, t.admin);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT, scope: 'openid', state, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const r = await new WebBrowser().signIn(url.href, user.userName, { stop: stopAt(REDIRECT) });
    assert.ok(r.location?.startsWith(`${REDIRECT}?code=`) || r.location?.includes('code='), `expected a code, got ${r.status} ${r.location}`);
    const tokens = await explained(client.authorizationCodeGrant(config, new URL(r.location!), { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: true }));
    assert.equal(tokens.claims()?.sub, user.id);
  }

  test('registered by DCR with a JWK that says alg ES256 and no token_endpoint_auth_signing_alg: client_credentials', async () => {
    const scope = 'pkj.dcr';
    const audience = await rsWithScope(scope);
    const reg = await explained(client.dynamicClientRegistration(server, {
      client_name: 'pkj-dcr', token_endpoint_auth_method: 'private_key_jwt', grant_types: ['client_credentials'], response_types: [],
      jwks: { keys: [{ ...ec.jwk, alg: 'ES256', use: 'sig' }] }, scope,
    }, client.None(), { ...insecure, initialAccessToken: await adminToken(t.h, 'urn:opc:idm:t.apps') }));
    const md = reg.clientMetadata();
    assert.equal(md.client_secret, undefined);
    assert.equal(md.token_endpoint_auth_signing_alg, undefined);
    const tokens = await explained(client.clientCredentialsGrant(pkjConfig(md.client_id), { scope }));
    const at = decode(tokens.access_token).payload;
    assert.equal(at.client_id, md.client_id);
    assert.equal(at.aud, audience);
    assert.equal(at.scope, scope);
  });

  test('registered by the admin API with a JWK without alg: client_credentials and the code flow token request', async () => {
    const c = await adminPkjClient(ec.jwk);
    const config = pkjConfig(c.clientId);
    const cc = await explained(client.clientCredentialsGrant(config, { scope: c.scope }));
    assert.equal(decode(cc.access_token).payload.client_id, c.clientId);
    await codeFlow(config);
  });

  test('a key registered without kid is found too (one key in the set)', async () => {
    const { kid: _kid, ...noKid } = ec.jwk;
    const c = await adminPkjClient(noKid);
    const cc = await explained(client.clientCredentialsGrant(pkjConfig(c.clientId, ec.privateKey, null), { scope: c.scope }));
    assert.equal(decode(cc.access_token).payload.client_id, c.clientId);
  });

  test('with token_endpoint_auth_signing_alg ES256 registered, the library authenticates in both grants (the alg is pinned)', async () => {
    const c = await adminPkjClient({ ...ec.jwk, alg: 'ES256' }, { tokenEndpointAuthSigningAlg: 'ES256' });
    const cc = await explained(client.clientCredentialsGrant(pkjConfig(c.clientId), { scope: c.scope }));
    assert.equal(decode(cc.access_token).payload.client_id, c.clientId);
    await codeFlow(pkjConfig(c.clientId));
    // Pinned: an RS256 key (even a registered one would not do) is refused.
    const rsa = await generateKeyPair('RS256');
    await rejectsWith(client.clientCredentialsGrant(pkjConfig(c.clientId, rsa.privateKey), { scope: c.scope }), 401, 'invalid_client');
  });

  test('refused assertions for an EC client without a registered alg: HMAC, none, another key type, another curve, an unregistered key; a replayed one', async () => {
    const c = await adminPkjClient(ec.jwk);
    const assertion = async (alg: string, key: CryptoKey | Uint8Array, kid = ec.kid, jti = randomBytes(12).toString('hex')) =>
      new SignJWT({ jti }).setProtectedHeader({ alg, kid }).setIssuer(c.clientId).setSubject(c.clientId).setAudience(t.base)
        .setIssuedAt().setExpirationTime('60s').sign(key);
    const unsecured = () => {
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      return `${b64({ alg: 'none', kid: ec.kid })}.${b64({ iss: c.clientId, sub: c.clientId, aud: t.base, iat: now, exp: now + 60, jti: randomBytes(12).toString('hex') })}.`;
    };
    const token = (clientAssertion: string) => fetch(meta.token_endpoint!, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials', scope: c.scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: clientAssertion,
      }),
    });
    const rsa = await generateKeyPair('RS256');
    const p384 = await generateKeyPair('ES384');
    const ed = await generateKeyPair('EdDSA');
    const otherP256 = await generateKeyPair('ES256');
    const cases: [string, () => Promise<string> | string][] = [
      // RFC 8725 §3.1 / §2.1: never `none`, never HMAC with a public key as the secret.
      ['HS256 keyed with some secret', () => assertion('HS256', randomBytes(32))],
      ['HS256 keyed with the public JWK', () => assertion('HS256', new TextEncoder().encode(JSON.stringify(ec.jwk)))],
      ['alg none', unsecured],
      ['RS256 from an RSA key', () => assertion('RS256', rsa.privateKey)],
      ['ES384 from a P-384 key', () => assertion('ES384', p384.privateKey)],
      ['EdDSA from an Ed25519 key', () => assertion('EdDSA', ed.privateKey)],
      ['ES256 from an unregistered P-256 key', () => assertion('ES256', otherP256.privateKey)],
    ];
    for (const [name, make] of cases) {
      const r = await token(await make());
      await expectOAuthError(r, 401, 'invalid_client').catch((e: Error) => { throw new Error(`${name}: ${e.message}`); });
    }
    // The registered key works, once (RFC 7523 §3 item 7: jti single use).
    const good = await assertion('ES256', ec.privateKey);
    const first = await token(good);
    assert.equal(first.status, 200, await first.clone().text());
    await expectOAuthError(await token(good), 401, 'invalid_client');
  });
});
