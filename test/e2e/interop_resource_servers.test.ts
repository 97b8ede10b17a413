/**
 * Resource servers validating Tessera's RFC 9068 JWT access tokens offline, the way APIs do it:
 * express-oauth2-jwt-bearer (Auth0's express middleware: issuerBaseURL + audience) and jose
 * (createRemoteJWKSet + jwtVerify). They must accept a token for their audience and refuse one
 * for another audience, an expired one, one signed by another identity domain, an ID token, a
 * tampered one and an unsigned one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import express, { type NextFunction, type Request, type Response } from 'express';
import { auth, requiredScopes, type AuthOptions } from 'express-oauth2-jwt-bearer';
import { createRemoteJWKSet, customFetch, jwtVerify, type JWTVerifyOptions } from 'jose';
import { basic, decode, scim, setupClient } from '../helpers.js';
import { createUser, createWebApp, pkce, REDIRECT } from '../signin.js';
import { listenApp, listeningTessera, stopAt, WebBrowser, type Listening } from '../interop.js';

type Creds = { clientId: string; secret: string; audience: string };

/** client_credentials at a token endpoint over HTTP. */
async function ccToken(tokenEndpoint: string, c: Creds, scope: string): Promise<string> {
  const r = await fetch(tokenEndpoint, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(c.clientId, c.secret) },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  const b = await r.json() as Record<string, string>;
  assert.equal(r.status, 200, JSON.stringify(b));
  return b.access_token!;
}

/** Same header and signature, another payload: what an attacker widening a token's scope sends. */
function tampered(jwt: string, change: Record<string, unknown>): string {
  const [h, p, s] = jwt.split('.');
  const payload = { ...JSON.parse(Buffer.from(p!, 'base64url').toString()), ...change };
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
}
/** RFC 7519 §6 unsecured JWT with a real token's claims and kid. */
function unsigned(jwt: string): string {
  const { header, payload } = decode(jwt);
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ ...header, alg: 'none' })}.${b64(payload)}.`;
}

describe('resource servers with express-oauth2-jwt-bearer and jose against a listening Tessera', () => {
  let t: Listening;
  let rs: Creds; // RS256 (the default alg)
  let es: Creds; // accessTokenSigningAlg ES256
  let otherAud: Creds;
  let otherDomain: Creds; // another identity domain, same audience string as `rs`
  let tokenEndpoint: string;
  let jwksUri: string;
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    // A key for a new algorithm is published TESSERA_KEY_PUBLISH_DELAY_SECONDS before it signs (issue 7); these
    // verifiers fetch the JWKS per test, so no delay is needed here (the next describe tests the delay itself).
    t = await listeningTessera({ config: { keyPublishDelaySeconds: 0 } });
    tokenEndpoint = `${t.base}/oauth2/v1/token`;
    jwksUri = (await (await fetch(`${t.base}/.well-known/openid-configuration`)).json() as { jwks_uri: string }).jwks_uri;
    rs = await setupClient(t.h, { admin: t.admin, scopes: ['orders.read', 'orders.write'] });
    es = await setupClient(t.h, { admin: t.admin, scopes: ['es.read'], rs: { accessTokenSigningAlg: 'ES256' } });
    otherAud = await setupClient(t.h, { admin: t.admin, scopes: ['other.read'] });
    const d = await scim(t.h, 'POST', '/admin/v1/IdentityDomains', t.admin, { name: 'rsother' });
    assert.equal(d.statusCode, 201, d.body);
    const dAdmin = await ccToken(`${t.base}/domains/rsother/oauth2/v1/token`,
      { clientId: d.json().adminClient.client_id, secret: d.json().adminClient.client_secret, audience: '' }, 'urn:opc:idm:__myscopes__');
    otherDomain = await setupClient(t.h, { admin: dAdmin, prefix: '/domains/rsother', scopes: ['orders.read'], rs: { audience: rs.audience } });
  });
  after(async () => { for (const c of closers) await c(); await t.close(); });

  /** An express API protected by express-oauth2-jwt-bearer; errors answered as the middleware sets them (status, WWW-Authenticate). */
  async function api(options: AuthOptions) {
    const app = express();
    app.get('/orders', auth({ issuerBaseURL: t.base, ...options }), (req, res) => { res.json(req.auth!.payload); });
    app.get('/orders/write', auth({ issuerBaseURL: t.base, ...options }), requiredScopes('orders.write'), (_req, res) => { res.json({ ok: true }); });
    app.use((err: { status?: number; code?: string; headers?: Record<string, string> }, _req: Request, res: Response, _next: NextFunction) => {
      res.status(err.status ?? 500).set(err.headers ?? {}).json({ error: err.code ?? 'server_error', message: (err as { message?: string }).message });
    });
    const server = await listenApp(app as never);
    closers.push(server.close);
    return async (token: string | undefined, path = '/orders') => {
      const r = await fetch(`${server.base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: r.status, body: await r.json() as Record<string, unknown>, challenge: r.headers.get('www-authenticate') ?? '' };
    };
  }

  /** A user's ID token for an App whose client_id a (misconfigured) resource server takes as its audience. */
  async function idToken(): Promise<{ idToken: string; clientId: string }> {
    const user = await createUser(t.h, t.admin);
    const app = await createWebApp(t.h, t.admin);
    const { verifier, challenge } = pkce();
    const url = `${t.base}/oauth2/v1/authorize?${new URLSearchParams({
      client_id: app.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: 's', code_challenge: challenge, code_challenge_method: 'S256',
    })}`;
    const r = await new WebBrowser().signIn(url, user.userName, { stop: stopAt(REDIRECT) });
    const code = new URL(r.location!).searchParams.get('code')!;
    const tr = await fetch(tokenEndpoint, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(app.clientId, app.secret!) },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }),
    });
    const b = await tr.json() as Record<string, string>;
    assert.equal(tr.status, 200, JSON.stringify(b));
    return { idToken: b.id_token!, clientId: app.clientId };
  }

  test('express-oauth2-jwt-bearer accepts an RS256 client_credentials token for its audience, checks scopes', async () => {
    const call = await api({ audience: rs.audience, strict: true });
    const token = await ccToken(tokenEndpoint, rs, 'orders.read');
    assert.equal(decode(token).header.alg, 'RS256');
    const r = await call(token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.client_id, rs.clientId);
    assert.equal(r.body.aud, rs.audience);
    assert.equal(r.body.iss, t.base);
    assert.equal(r.body.scope, 'orders.read');
    // RFC 6750 §3.1: a token without the scope the route needs.
    const w = await call(token, '/orders/write');
    assert.equal(w.status, 403);
    assert.equal(w.body.error, 'insufficient_scope');
    assert.equal((await call(await ccToken(tokenEndpoint, rs, 'orders.read orders.write'), '/orders/write')).status, 200);
  });

  test('express-oauth2-jwt-bearer refuses: no token, another audience, another identity domain, an ID token, tampered, unsigned', async () => {
    const call = await api({ audience: rs.audience, strict: true });
    const good = await ccToken(tokenEndpoint, rs, 'orders.read');
    const none = await call(undefined);
    assert.equal(none.status, 401);
    assert.match(none.challenge, /^Bearer realm=/);
    const id = await idToken();
    const idAsAudience = await api({ audience: id.clientId, strict: true });
    const cases: [string, string, typeof call][] = [
      ['a token for another audience', await ccToken(tokenEndpoint, otherAud, 'other.read'), call],
      ['a token of another identity domain (same audience string)', await ccToken(`${t.base}/domains/rsother/oauth2/v1/token`, otherDomain, 'orders.read'), call],
      // RFC 9068 §4 / RFC 8725 §3.11: typ at+jwt tells an access token from an ID token (typ JWT), even when aud matches.
      ['an ID token whose aud is the API audience', id.idToken, idAsAudience],
      ['a tampered token (scope widened)', tampered(good, { scope: 'orders.read orders.write' }), call],
      ['an unsigned token (alg none)', unsigned(good), call],
    ];
    for (const [name, token, c] of cases) {
      const r = await c(token);
      assert.deepEqual([r.status, r.body.error], [401, 'invalid_token'], `${name}: ${JSON.stringify(r.body)}`);
      assert.match(r.challenge, /error="invalid_token"/, name);
    }
  });

  test('expired tokens are refused: a 1-second token (urn:opc:resource:expiry=1) after it ends, by both libraries and by introspection', async () => {
    const call = await api({ audience: rs.audience, clockTolerance: 0 });
    const token = await ccToken(tokenEndpoint, rs, 'orders.read urn:opc:resource:expiry=1');
    const { payload } = decode(token);
    assert.equal(Number(payload.exp) - Number(payload.iat), 1);
    const JWKS = createRemoteJWKSet(new URL(jwksUri));
    // Valid at its iat (iat is whole seconds, so "now" may already be past a 1-second token's exp).
    await jwtVerify(token, JWKS, { issuer: t.base, audience: rs.audience, typ: 'at+jwt', currentDate: new Date(Number(payload.iat) * 1000) });
    await sleep(2200);
    const r = await call(token);
    assert.deepEqual([r.status, r.body.error], [401, 'invalid_token']);
    await assert.rejects(jwtVerify(token, JWKS, { issuer: t.base, audience: rs.audience, typ: 'at+jwt' }), { code: 'ERR_JWT_EXPIRED' });
    const intro = await fetch(`${t.base}/oauth2/v1/introspect`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(rs.clientId, rs.secret) },
      body: new URLSearchParams({ token }),
    });
    assert.deepEqual(await intro.json(), { active: false });
  });

  test('jose createRemoteJWKSet + jwtVerify: accepts its audience; refuses another audience, another domain\'s key, an ID token, tampered, unsigned', async () => {
    const JWKS = createRemoteJWKSet(new URL(jwksUri));
    const opts: JWTVerifyOptions = { issuer: t.base, audience: rs.audience, typ: 'at+jwt', algorithms: ['RS256'] };
    const good = await ccToken(tokenEndpoint, rs, 'orders.read');
    const { payload, protectedHeader } = await jwtVerify(good, JWKS, opts);
    assert.equal(payload.client_id, rs.clientId);
    assert.equal(protectedHeader.typ, 'at+jwt');
    const id = await idToken();
    const cases: [string, string, JWTVerifyOptions, string][] = [
      ['another audience', await ccToken(tokenEndpoint, otherAud, 'other.read'), opts, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
      // Without the issuer check, the signature alone refuses it: the other domain's keys are not in this JWKS.
      ['another identity domain', await ccToken(`${t.base}/domains/rsother/oauth2/v1/token`, otherDomain, 'orders.read'), { ...opts, issuer: undefined }, 'ERR_JWKS_NO_MATCHING_KEY'],
      ['an ID token (typ JWT)', id.idToken, { ...opts, audience: id.clientId }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
      ['tampered', tampered(good, { scope: 'orders.read orders.write' }), opts, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'],
      ['unsigned', unsigned(good), opts, 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ];
    for (const [name, token, o, code] of cases) {
      await assert.rejects(jwtVerify(token, JWKS, o), (e: { code?: string }) => { assert.equal(e.code, code, name); return true; });
    }
  });

  test('an ES256 resource server: both libraries verify its tokens; an RS256-only verifier refuses them', async () => {
    const token = await ccToken(tokenEndpoint, es, 'es.read');
    assert.equal(decode(token).header.alg, 'ES256');
    // With issuerBaseURL, express-oauth2-jwt-bearer 1.10 allows only the algorithms of discovery's
    // id_token_signing_alg_values_supported for access tokens too; Tessera signs ID tokens with RS256
    // only, so an ES256 API names the issuer and the JWKS URI itself (see the report on issue 7).
    const call = await api({ issuerBaseURL: undefined, issuer: t.base, jwksUri, audience: es.audience, tokenSigningAlg: 'ES256', strict: true });
    const r = await call(token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.client_id, es.clientId);
    const JWKS = createRemoteJWKSet(new URL(jwksUri));
    const opts: JWTVerifyOptions = { issuer: t.base, audience: es.audience, typ: 'at+jwt' };
    assert.equal((await jwtVerify(token, JWKS, { ...opts, algorithms: ['ES256'] })).protectedHeader.alg, 'ES256');
    await assert.rejects(jwtVerify(token, JWKS, { ...opts, algorithms: ['RS256'] }), { code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    const rsOnly = await api({ issuerBaseURL: undefined, issuer: t.base, jwksUri, audience: es.audience, tokenSigningAlg: 'RS256' });
    const refused = await rsOnly(token);
    assert.deepEqual([refused.status, refused.body.error], [401, 'invalid_token'], JSON.stringify(refused.body));
  });
});

/**
 * Issue 7: "Keys for a new algorithm are used the moment they are published, so resource servers
 * with a cached JWKS fail. A key for a new algorithm is published before it signs, like any rotation."
 *
 * Assumption (the lead adjusts it to the final setting's name): when a resource server first asks
 * for an algorithm the domain has no key for, that key is published as `next` and starts signing
 * only after a delay (at least the JWKS cache time of verifiers); until then tokens for that resource
 * server are signed with the domain's default algorithm (RS256), whose key verifiers already hold.
 * The delay is not reached in this test. Today the new ES256 key signs at once and the verifier,
 * inside jose's refetch cooldown, finds no key for its kid (ERR_JWKS_NO_MATCHING_KEY).
 */
describe('a key for a new algorithm is published before it signs', () => {
  let t: Listening;
  before(async () => { t = await listeningTessera(); });
  after(() => t.close());

  test('a verifier with a cached JWKS verifies the first tokens of a new ES256 resource server without fetching the JWKS again', async () => {
    const jwksUri = `${t.base}/admin/v1/SigningCert/jwk`;
    let fetches = 0;
    const JWKS = createRemoteJWKSet(new URL(jwksUri), {
      cooldownDuration: 60_000, [customFetch]: (url, init) => { fetches++; return fetch(url, init); },
    });
    const first = await setupClient(t.h, { admin: t.admin, scopes: ['a.read'] });
    await jwtVerify(await ccToken(`${t.base}/oauth2/v1/token`, first, 'a.read'), JWKS, { issuer: t.base, audience: first.audience });
    assert.equal(fetches, 1);

    const es = await setupClient(t.h, { admin: t.admin, scopes: ['b.read'], rs: { accessTokenSigningAlg: 'ES256' } });
    const token = await ccToken(`${t.base}/oauth2/v1/token`, es, 'b.read');
    const published = (await (await fetch(jwksUri)).json() as { keys: { kty: string; alg: string }[] }).keys;
    assert.ok(published.some((k) => k.kty === 'EC' && k.alg === 'ES256'), 'the ES256 key is published ahead');
    const { protectedHeader } = await jwtVerify(token, JWKS, { issuer: t.base, audience: es.audience, typ: 'at+jwt', algorithms: ['RS256', 'ES256'] });
    assert.equal(fetches, 1, 'no JWKS refetch was needed');
    assert.equal(protectedHeader.alg, 'RS256', 'until the ES256 key may sign, the default algorithm signs');
  });
});
