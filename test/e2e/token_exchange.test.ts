/**
 * Issue 9, token exchange (RFC 8693) through the token endpoint: the on-behalf-of chain with nested `act`,
 * impersonation only for clients an administrator allowed it, trusted-issuer JWT subjects with may_act, scope
 * narrowing, invalid_target, the cascade when the subject token is revoked, and the attacks of the brief.
 * RFC 8693 §2.2.2: an invalid or unacceptable subject or actor token is invalid_request (a MUST).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { AuditEventRecord } from '../../src/core/types.js';
import { FixedClock } from '../../src/core/clock.js';
import { SELF_REGISTRABLE_GRANT_TYPES } from '../../src/grants/index.js';
import { adminToken, assertOAuthError, assertScimError, basic, clientToken, decode, grantRole, harness, ISSUER, post, scim, type Harness } from '../helpers.js';
import { authorizeUrl, Browser, callbackParams, createUser, createWebApp, PASSWORD, pkce, REDIRECT, signIn } from '../signin.js';
import { assertion, createApp, signer, trustIssuer, type Client, type Signer } from '../jwt_bearer_world.js';
import { openDatabase } from '../../src/storage/db.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from '../contract/pg.js';

const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const patchOp = (...Operations: Record<string, unknown>[]) => ({ schemas: [PATCH], Operations });
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

type C = Client & { auth: string };

// The whole suite on both stores (issue 9: each flow end to end on SQLite and PostgreSQL).
const pgReady = await pgAvailable();
for (const store of ['SQLite', 'PostgreSQL'] as const) describe(`token exchange (RFC 8693) on ${store}`, { skip: store === 'PostgreSQL' && pgReady !== true ? String(pgReady) : false }, () => {
  const pgSchema = store === 'PostgreSQL' ? schemaName() : undefined;
  let h: Harness;
  let clock: FixedClock;
  let admin: string;
  /** A (https://a.example: a.read a.write) and B (https://b.example: b.read b.write) are resource servers and clients; C is a resource server only. */
  let apiA: C; let apiB: C; let apiO: C;
  /** Gets user tokens by the password grant (a.read a.write o.read openid offline_access). */
  let frontend: C;
  /** Allowed token exchange and impersonation, for B's scopes. */
  let imp: C;
  let ada: { id: string; userName: string };
  let bob: { id: string; userName: string };
  let jwks: ReturnType<typeof createLocalJWKSet>;
  let idp: { issuer: string; signer: Signer; id: string };
  const events: AuditEventRecord[] = [];

  const withAuth = (c: Client): C => ({ ...c, auth: basic(c.clientId, c.secret!) });
  const userToken = async (scope = 'a.read openid', user = ada.userName) => {
    const r = await post(h, '/oauth2/v1/token', { grant_type: 'password', username: user, password: PASSWORD, scope }, { authorization: frontend.auth });
    assert.equal(r.statusCode, 200, r.body);
    return r.json() as { access_token: string; refresh_token?: string; id_token?: string; expires_in: number };
  };
  const exchange = (auth: string | undefined, params: Record<string, string>) =>
    post(h, '/oauth2/v1/token', { grant_type: TE, subject_token_type: AT, ...params }, auth ? { authorization: auth } : {});
  const ok = async (auth: string, params: Record<string, string>) => {
    const r = await exchange(auth, params);
    assert.equal(r.statusCode, 200, r.body);
    return r.json() as { access_token: string; scope: string; expires_in: number };
  };
  const introspect = async (token: string, by: C) => (await post(h, '/oauth2/v1/introspect', { token }, { authorization: by.auth })).json();
  const userinfo = (token: string) => h.inject({ url: '/oauth2/v1/userinfo', headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    clock = new FixedClock(Date.now());
    h = await harness({ clock, database: pgSchema ? await openDatabase(PG_URL, { pgSchema }) : undefined });
    h.t.services.events.on((e) => events.push(e));
    admin = await adminToken(h);
    const rs = (audience: string, scopes: string[], extra: Record<string, unknown> = {}) =>
      ({ isOAuthResource: true, audience, scopes: scopes.map((value) => ({ value })), ...extra });
    const fqs = (...s: string[]) => s.map((x) => ({ fqs: x }));
    const c = await scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:App'], displayName: 'api-c', ...rs('https://c.example', ['c.read']) });
    assert.equal(c.statusCode, 201, c.body);
    apiB = withAuth(await createApp(h, admin, { allowedGrants: [TE], allowedScopes: fqs('c.read', 'b.read'), ...rs('https://b.example', ['b.read', 'b.write']) }));
    apiA = withAuth(await createApp(h, admin, { allowedGrants: [TE, 'client_credentials'], allowedScopes: fqs('a.read', 'a.write', 'b.read', 'b.write', 'openid'), ...rs('https://a.example', ['a.read', 'a.write']) }));
    apiO = withAuth(await createApp(h, admin, { allowedGrants: [TE], allowedScopes: fqs('b.read'), ...rs('https://o.example', ['o.read'], { accessTokenFormat: 'opaque' }) }));
    imp = withAuth(await createApp(h, admin, { allowedGrants: [TE], allowedScopes: fqs('b.read'), allowTokenExchangeImpersonation: true, ...rs('https://imp.example', ['imp.read']) }));
    frontend = withAuth(await createApp(h, admin, { allowedGrants: ['password', 'refresh_token'], allowedScopes: fqs('a.read', 'a.write', 'o.read', 'imp.read', 'openid', 'offline_access') }));
    ada = await createUser(h, admin, `ada-${Date.now()}`);
    bob = await createUser(h, admin, `bob-${Date.now()}`);
    jwks = createLocalJWKSet((await h.inject({ url: '/admin/v1/SigningCert/jwk' })).json() as JSONWebKeySet);
    const s = await signer('RS256', 'idp-1');
    const rec = await trustIssuer(h, { issuer: 'https://idp.partner.example', jwks: { keys: [s.jwk as never] }, allowedScopes: ['b.read', 'c.read'] });
    idp = { issuer: rec.issuer, signer: s, id: rec.id };
  });
  after(async () => {
    await h.close();
    if (pgSchema) { await h.t.database.close(); await dropSchema(pgSchema); }
  });

  describe('on behalf of: an API calls a downstream API for its caller', () => {
    test('frontend token -> API A exchanges it for API B -> API B exchanges that for C: nested act, verified with jose; audited', async () => {
      const user = await userToken('a.read');
      const subject = decode(user.access_token).payload;
      assert.equal(subject.aud, 'https://a.example');
      const r = await exchange(apiA.auth, { subject_token: user.access_token, audience: 'https://b.example', scope: 'b.read' });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.headers['cache-control'], 'no-store');
      const body = r.json();
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'issued_token_type', 'scope', 'token_type']);
      assert.equal(body.issued_token_type, AT);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.scope, 'b.read');
      const { payload, protectedHeader } = await jwtVerify(body.access_token, jwks, { issuer: ISSUER, audience: 'https://b.example', typ: 'at+jwt', currentDate: new Date(clock.now()) });
      assert.equal(protectedHeader.typ, 'at+jwt');
      assert.equal(payload.sub, ada.id);
      assert.equal(payload.sub_type, 'user');
      assert.equal(payload.client_id, apiA.clientId);
      assert.deepEqual(payload.act, { sub: apiA.clientId });
      assert.equal(payload.gid, subject.gid, 'the subject\'s grant: revoking it revokes this one');
      assert.deepEqual(payload.exchanged_from, [subject.jti]);
      assert.ok((payload.exp as number) <= (subject.exp as number), 'no longer than the subject token');

      // API B is in that token's audience (its own audience value): it exchanges it again, for C.
      const r2 = await exchange(apiB.auth, { subject_token: body.access_token, resource: 'https://c.example' });
      assert.equal(r2.statusCode, 200, r2.body);
      assert.equal(r2.json().scope, 'c.read');
      const { payload: p2 } = await jwtVerify(r2.json().access_token, jwks, { issuer: ISSUER, audience: 'https://c.example', currentDate: new Date(clock.now()) });
      assert.equal(p2.sub, ada.id);
      assert.deepEqual(p2.act, { sub: apiB.clientId, act: { sub: apiA.clientId } }, 'RFC 8693 §4.1: the current actor outermost');
      assert.deepEqual(p2.exchanged_from, [payload.jti, subject.jti]);
      // Introspection shows the chain to the client the token was issued to.
      const i = await introspect(r2.json().access_token, apiB);
      assert.equal(i.active, true);
      assert.deepEqual(i.act, { sub: apiB.clientId, act: { sub: apiA.clientId } });
      await new Promise((res) => setTimeout(res, 50));
      const ev = events.find((e) => e.eventId === 'token.issued' && e.targetId === payload.jti);
      assert.ok(ev, 'token.issued audited');
      assert.equal(ev.details?.grant_type, TE);
      assert.equal(ev.details?.client_id, apiA.clientId);
      assert.equal(ev.details?.subject_client_id, frontend.clientId);
      assert.equal(ev.details?.act, apiA.clientId);
      assert.equal(ev.actorId, ada.id);
    });

    test('audience may name the resource server by its client id (an app both client and resource server)', async () => {
      const user = await userToken('a.read');
      const r = await ok(apiA.auth, { subject_token: user.access_token, audience: apiB.clientId, scope: 'b.write' });
      assert.equal(decode(r.access_token).payload.aud, 'https://b.example');
    });

    test('a client not in the subject token\'s audience may not exchange it: invalid_request', async () => {
      const user = await userToken('a.read');
      // B is not the audience of a token for A (its audience is https://a.example).
      assertOAuthError(await exchange(apiB.auth, { subject_token: user.access_token, resource: 'https://c.example' }), 400, 'invalid_request');
      // Nor is a client that is no resource server at all.
      const other = withAuth(await createApp(h, admin, { allowedGrants: [TE], allowedScopes: [{ fqs: 'b.read' }] }));
      assertOAuthError(await exchange(other.auth, { subject_token: user.access_token, audience: 'https://b.example' }), 400, 'invalid_request');
    });

    test('client rules: not allowed the grant -> unauthorized_client; unauthenticated, wrong secret or public -> invalid_client', async () => {
      const user = await userToken('a.read');
      assertOAuthError(await exchange(frontend.auth, { subject_token: user.access_token }), 400, 'unauthorized_client');
      assertOAuthError(await exchange(undefined, { subject_token: user.access_token }), 401, 'invalid_client');
      assertOAuthError(await exchange(basic(apiA.clientId, 'wrong'), { subject_token: user.access_token }), 401, 'invalid_client');
      const pub = await scim(h, 'POST', '/admin/v1/Apps', admin, {
        schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:App'], displayName: 'spa', isOAuthClient: true, clientType: 'public',
        allowedGrants: ['authorization_code', TE], redirectUris: ['https://spa.example/cb'],
      });
      assert.equal(pub.statusCode, 201, pub.body);
      assertOAuthError(await exchange(undefined, { subject_token: user.access_token, client_id: pub.json().name }), 401, 'invalid_client');
    });

    test('the grant is listed in discovery, and dynamic registration cannot ask for it', async () => {
      const meta = (await h.inject({ url: '/.well-known/openid-configuration' })).json();
      assert.ok(meta.grant_types_supported.includes(TE));
      assert.ok(!SELF_REGISTRABLE_GRANT_TYPES.has(TE), 'an administrator allows it, a client cannot register for it');
    });
  });

  describe('request errors', () => {
    test('missing, duplicate or unsupported parameters and token types: invalid_request', async () => {
      const user = await userToken('a.read');
      const t = user.access_token;
      const cases: Record<string, string>[] = [
        { subject_token_type: AT },
        { subject_token: t, subject_token_type: '' },
        { subject_token: t, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' },
        { subject_token: t, subject_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' },
        { subject_token: t, subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' },
        { subject_token: t, actor_token: t + 'x' },
        { subject_token: t, actor_token_type: AT },
        { subject_token: t, actor_token: t + 'x', actor_token_type: 'urn:ietf:params:oauth:token-type:saml1' },
        { subject_token: t, requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' },
        { subject_token: t, requested_token_type: 'urn:ietf:params:oauth:token-type:id_token' },
      ];
      for (const c of cases) {
        const body = new URLSearchParams({ grant_type: TE, ...c });
        if (c.subject_token_type === '') body.delete('subject_token_type');
        const r = await post(h, '/oauth2/v1/token', body.toString(), { authorization: apiA.auth });
        assertOAuthError(r, 400, 'invalid_request');
      }
      // RFC 6749 §3.2: a repeated parameter (two audiences).
      const dup = `${new URLSearchParams({ grant_type: TE, subject_token: t, subject_token_type: AT, audience: 'https://b.example' })}&audience=${encodeURIComponent('https://c.example')}`;
      assertOAuthError(await post(h, '/oauth2/v1/token', dup, { authorization: apiA.auth }), 400, 'invalid_request');
      assertOAuthError(await exchange(apiA.auth, { subject_token: t, scope: 'a.read offline_access' }), 400, 'invalid_scope');
    });

    test('invalid_target: unknown audience or resource, a non-URI resource, the identity domain API, a target whose scopes the client may not request', async () => {
      const t = (await userToken('a.read')).access_token;
      for (const target of <Record<string, string>[]>[
        { audience: 'https://nowhere.example' }, { resource: 'https://nowhere.example' }, { resource: 'not a uri' }, { resource: 'https://b.example#frag' },
        { audience: `${ISSUER}/admin/v1` }, { resource: `${ISSUER}/admin/v1` }, { audience: 'https://c.example' }, { audience: 'x'.repeat(2000) },
        { audience: 'https://b.example', resource: 'https://nowhere.example' },
      ]) {
        assertOAuthError(await exchange(apiA.auth, { subject_token: t, ...target }), 400, 'invalid_target');
      }
    });
  });

  describe('scopes: narrowing, never widening', () => {
    test('without a target: the subject\'s scopes or fewer, never more (openid neither)', async () => {
      const user = await userToken('a.read a.write openid');
      const same = await ok(apiA.auth, { subject_token: user.access_token });
      assert.equal(same.scope, 'openid a.read a.write');
      const narrow = await ok(apiA.auth, { subject_token: user.access_token, scope: 'a.read' });
      assert.equal(narrow.scope, 'a.read');
      const thin = (await userToken('a.read')).access_token;
      assertOAuthError(await exchange(apiA.auth, { subject_token: thin, scope: 'a.read a.write' }), 400, 'invalid_scope');
      assertOAuthError(await exchange(apiA.auth, { subject_token: thin, scope: 'openid' }), 400, 'invalid_scope');
      // The subject token's own audience named as the target is no change of audience: still no widening.
      assertOAuthError(await exchange(apiA.auth, { subject_token: thin, audience: 'https://a.example', scope: 'a.write' }), 400, 'invalid_scope');
    });

    test('with a target: only the target\'s scopes the client may request', async () => {
      const t = (await userToken('a.read')).access_token;
      // a.read is not B's; c.read is not B's either, and A may not request it.
      assertOAuthError(await exchange(apiA.auth, { subject_token: t, audience: 'https://b.example', scope: 'a.read' }), 400, 'invalid_scope');
      assertOAuthError(await exchange(apiA.auth, { subject_token: t, audience: 'https://b.example', scope: 'c.read' }), 400, 'invalid_scope');
      assertOAuthError(await exchange(apiA.auth, { subject_token: t, audience: 'https://b.example', scope: 'b.nothing' }), 400, 'invalid_scope');
      const all = await ok(apiA.auth, { subject_token: t, audience: 'https://b.example' });
      assert.equal(all.scope, 'b.read b.write', 'no scope: what the client may request there');
    });

    test('a client subject: the new token may carry only what that client could have', async () => {
      const cc = await clientToken(h, apiA.clientId, apiA.secret!, 'b.read');
      assert.equal(cc.statusCode, 200, cc.body);
      // apiB is in the token's audience (https://b.example); the subject client (A) may have b.read, not c.read.
      assertOAuthError(await exchange(apiB.auth, { subject_token: cc.json().access_token, resource: 'https://c.example' }), 400, 'invalid_scope');
    });
  });

  describe('subject tokens that are refused (invalid_request)', () => {
    test('revoked, expired, another domain\'s, an ID token, a refresh token, garbage, 60 KB, alg none, another audience', async () => {
      const user = await userToken('a.read openid offline_access');
      const revoked = (await userToken('a.read')).access_token;
      assert.equal((await post(h, '/oauth2/v1/revoke', { token: revoked }, { authorization: frontend.auth })).statusCode, 200);
      const d = await scim(h, 'POST', '/admin/v1/IdentityDomains', admin, { name: `te${Date.now() % 100000}`, displayName: 'Other' });
      assert.equal(d.statusCode, 201, d.body);
      const otherDomain = await clientToken(h, d.json().adminClient.client_id, d.json().adminClient.client_secret, 'urn:opc:idm:__myscopes__', `/domains/${d.json().name}`);
      const p = decode(user.access_token);
      const none = `${b64({ ...p.header, alg: 'none' })}.${b64(p.payload)}.`;
      const noneSigned = `${b64({ ...p.header, alg: 'none' })}.${b64(p.payload)}.${'A'.repeat(10)}`;
      const forB = (await ok(apiA.auth, { subject_token: user.access_token, audience: 'https://b.example' })).access_token;
      const tokens: [string, string][] = [
        ['revoked', revoked], ['ID token', user.id_token!], ['refresh token', user.refresh_token!], ['garbage', 'not-a-token'],
        ['60 KB', 'a'.repeat(60_000)], ['alg none', none], ['alg none with a signature', noneSigned],
        // A token for B presented by A: its audience is another client.
        ['another audience', forB],
      ];
      if (otherDomain.statusCode === 200) tokens.push(['another domain', otherDomain.json().access_token]);
      else assert.fail(`no token in the other domain: ${otherDomain.body} ${d.body}`);
      for (const [name, t] of tokens) {
        const r = await exchange(apiA.auth, { subject_token: t });
        assert.equal(r.statusCode, 400, `${name}: ${r.body}`);
        assertOAuthError(r, 400, 'invalid_request');
      }
      clock.advance((user.expires_in + 1) * 1000);
      try {
        assertOAuthError(await exchange(apiA.auth, { subject_token: user.access_token }), 400, 'invalid_request');
      } finally { clock.advance(-(user.expires_in + 1) * 1000); }
    });

    test('an opaque subject token is exchanged; revoking it ends the exchanged token', async () => {
      const user = await userToken('o.read');
      assert.ok(!user.access_token.includes('.'), 'opaque');
      const r = await ok(apiO.auth, { subject_token: user.access_token, audience: 'https://b.example' });
      const p = decode(r.access_token).payload;
      assert.equal(p.sub, ada.id);
      assert.deepEqual(p.act, { sub: apiO.clientId });
      assert.equal((await introspect(r.access_token, apiO)).active, true);
      assert.equal((await post(h, '/oauth2/v1/revoke', { token: user.access_token }, { authorization: frontend.auth })).statusCode, 200);
      assert.deepEqual(await introspect(r.access_token, apiO), { active: false });
    });
  });

  describe('the cascade: revoking the subject ends what was exchanged from it', () => {
    /** A user token with openid (so userinfo can be asked), exchanged by A without a target, then by A again. */
    const chain = async (user = ada.userName) => {
      const subject = await userToken('a.read openid', user);
      const first = (await ok(apiA.auth, { subject_token: subject.access_token })).access_token;
      const second = (await ok(apiA.auth, { subject_token: first })).access_token;
      for (const t of [first, second]) {
        assert.equal((await introspect(t, apiA)).active, true);
        assert.equal((await userinfo(t)).statusCode, 200);
      }
      return { subject, first, second };
    };
    const ended = async (...tokens: string[]) => {
      for (const t of tokens) {
        assert.deepEqual(await introspect(t, apiA), { active: false });
        assert.equal((await userinfo(t)).statusCode, 401);
      }
    };

    test('RFC 7009 revocation of the subject access token', async () => {
      const c = await chain();
      assert.equal((await post(h, '/oauth2/v1/revoke', { token: c.subject.access_token }, { authorization: frontend.auth })).statusCode, 200);
      await ended(c.first, c.second);
    });

    test('revoking the subject\'s refresh token (its family)', async () => {
      const subject = await userToken('a.read openid offline_access');
      const first = (await ok(apiA.auth, { subject_token: subject.access_token, scope: 'a.read openid' })).access_token;
      assert.equal((await userinfo(first)).statusCode, 200);
      assert.equal((await post(h, '/oauth2/v1/revoke', { token: subject.refresh_token! }, { authorization: frontend.auth })).statusCode, 200);
      await ended(first);
    });

    test('a password change and a deactivation', async () => {
      const u = await createUser(h, admin, `carol-${Date.now()}`);
      let c = await chain(u.userName);
      clock.advance(1000);
      assert.equal((await scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, admin, patchOp({ op: 'replace', path: 'password', value: 'another long passphrase 77' }))).statusCode, 200);
      await ended(c.first, c.second);
      const d = await createUser(h, admin, `dave-${Date.now()}`);
      c = await chain(d.userName);
      clock.advance(1000);
      assert.equal((await scim(h, 'PATCH', `/admin/v1/Users/${d.id}`, admin, patchOp({ op: 'replace', path: 'active', value: false }))).statusCode, 200);
      await ended(c.first, c.second);
    });

    test('logout of the session the subject token came from', async () => {
      const web = await createWebApp(h, admin, { bypassConsent: true, allowedScopes: [{ fqs: 'a.read' }, { fqs: 'openid' }, { fqs: 'offline_access' }] });
      const browser = new Browser(h);
      const { verifier, challenge } = pkce();
      const r = await signIn(browser, authorizeUrl({ client_id: web.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid a.read offline_access', state: 's', code_challenge: challenge, code_challenge_method: 'S256' }), ada.userName);
      const code = callbackParams(r).get('code')!;
      const tokens = await post(h, '/oauth2/v1/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, { authorization: basic(web.clientId, web.secret!) });
      assert.equal(tokens.statusCode, 200, tokens.body);
      const exchanged = (await ok(apiA.auth, { subject_token: tokens.json().access_token, scope: 'a.read openid' })).access_token;
      assert.equal((await userinfo(exchanged)).statusCode, 200);
      const out = await browser.get(`/oauth2/v1/userlogout?${new URLSearchParams({ id_token_hint: tokens.json().id_token })}`);
      assert.equal(out.statusCode, 200, out.body);
      await ended(exchanged);
    });

    test('a subject client switched off ends its exchanged tokens', async () => {
      const x = withAuth(await createApp(h, admin, { allowedGrants: ['client_credentials'], allowedScopes: [{ fqs: 'b.read' }] }));
      const cc = await clientToken(h, x.clientId, x.secret!, 'b.read');
      const t = (await ok(apiB.auth, { subject_token: cc.json().access_token, scope: 'b.read' }));
      assert.equal((await introspect(t.access_token, apiB)).active, true);
      clock.advance(1000);
      assert.equal((await scim(h, 'PATCH', `/admin/v1/Apps/${x.id}`, admin, patchOp({ op: 'replace', path: 'active', value: false }))).statusCode, 200);
      assert.deepEqual(await introspect(t.access_token, apiB), { active: false });
    });
  });

  describe('delegation and impersonation', () => {
    test('without an actor token the client is the actor; a client an administrator allowed impersonation gets no act', async () => {
      const user = await userToken('a.read');
      assert.deepEqual(decode((await ok(apiA.auth, { subject_token: user.access_token, audience: 'https://b.example' })).access_token).payload.act, { sub: apiA.clientId });
      const forImp = await userToken('imp.read');
      const r = await ok(imp.auth, { subject_token: forImp.access_token, audience: 'https://b.example', scope: 'b.read' });
      const p = decode(r.access_token).payload;
      assert.equal(p.sub, ada.id);
      assert.equal(p.client_id, imp.clientId);
      assert.equal(p.act, undefined, 'impersonation: no act');
      assert.equal((await introspect(r.access_token, imp)).act, undefined);
    });

    test('an actor token: the client\'s own token names it; another user\'s token, or the subject token itself, is refused', async () => {
      const user = await userToken('a.read');
      const own = await clientToken(h, apiA.clientId, apiA.secret!, 'b.read');
      assert.equal(own.statusCode, 200, own.body);
      const r = await ok(apiA.auth, { subject_token: user.access_token, actor_token: own.json().access_token, actor_token_type: AT, audience: 'https://b.example' });
      assert.deepEqual(decode(r.access_token).payload.act, { sub: apiA.clientId });
      // An actor token beats impersonation: the actor is named.
      const forImp = await userToken('imp.read');
      const bobs = await userToken('a.read', bob.userName);
      for (const actor of [bobs.access_token, forImp.access_token, user.access_token, 'garbage']) {
        assertOAuthError(await exchange(apiA.auth, { subject_token: user.access_token, actor_token: actor, actor_token_type: AT }), 400, 'invalid_request');
      }
      // Another client's own client token is not this client.
      const bTok = await clientToken(h, apiB.clientId, apiB.secret!, 'c.read');
      assertOAuthError(await exchange(apiA.auth, { subject_token: user.access_token, actor_token: bTok.json().access_token, actor_token_type: AT }), 400, 'invalid_request');
    });

    test('chains longer than five actors are refused', async () => {
      let t = (await userToken('a.read openid')).access_token;
      for (let i = 0; i < 5; i++) t = (await ok(apiA.auth, { subject_token: t, scope: 'a.read' })).access_token;
      assertOAuthError(await exchange(apiA.auth, { subject_token: t, scope: 'a.read' }), 400, 'invalid_request');
    });
  });

  describe('a trusted issuer\'s JWT as the subject token', () => {
    const jwtFor = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
      assertion(h, idp.signer.key, { iss: idp.issuer, sub: ada.userName, ...claims }, { kid: 'idp-1', typ: 'JWT', ...header });

    test('a user token for the user it names, act = the client, scopes capped by the issuer; used once', async () => {
      const j = await jwtFor();
      const r = await exchange(apiA.auth, { subject_token: j, subject_token_type: JWT, audience: 'https://b.example' });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().scope, 'b.read', 'b.write is not among the issuer\'s allowedScopes');
      const p = decode(r.json().access_token).payload;
      assert.equal(p.sub, ada.id);
      assert.deepEqual(p.act, { sub: apiA.clientId });
      assertOAuthError(await exchange(apiA.auth, { subject_token: j, subject_token_type: JWT, audience: 'https://b.example' }), 400, 'invalid_request');
      assertOAuthError(await exchange(apiA.auth, { subject_token: await jwtFor(), subject_token_type: JWT, audience: 'https://b.example', scope: 'b.write' }), 400, 'invalid_scope');
    });

    test('refused: alg none, a wrong signature, a wrong aud, expired, too long-lived, an unknown or inactive user, an access token typed as jwt', async () => {
      const now = Math.floor(clock.now() / 1000);
      const other = await signer('RS256', 'idp-1');
      const good = decode(await jwtFor());
      const bad = [
        `${b64({ alg: 'none', typ: 'JWT' })}.${b64(good.payload)}.`,
        await assertion(h, other.key, { iss: idp.issuer, sub: ada.userName }, { kid: 'idp-1' }),
        await jwtFor({ aud: 'https://elsewhere.example' }),
        await jwtFor({ exp: now - 120, iat: now - 180 }),
        await jwtFor({ exp: now + 3600 }),
        await jwtFor({ sub: 'nobody-here' }),
        await jwtFor({ nonce: 'n' }),
        (await userToken('a.read')).access_token,
      ];
      for (const t of bad) assertOAuthError(await exchange(apiA.auth, { subject_token: t, subject_token_type: JWT, audience: 'https://b.example' }), 400, 'invalid_request');
    });

    test('may_act: only the actor it names may exchange it', async () => {
      const j = await jwtFor({ may_act: { sub: apiB.clientId } });
      assertOAuthError(await exchange(apiA.auth, { subject_token: j, subject_token_type: JWT, audience: 'https://b.example' }), 400, 'invalid_request');
      const r = await exchange(apiB.auth, { subject_token: j, subject_token_type: JWT, resource: 'https://c.example' });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(decode(r.json().access_token).payload.act, { sub: apiB.clientId });
      // An actor named by may_act through an actor token (A's own client token, A named).
      const j2 = await jwtFor({ may_act: { sub: apiA.clientId } });
      const own = (await clientToken(h, apiA.clientId, apiA.secret!, 'b.read')).json().access_token;
      const r2 = await exchange(apiA.auth, { subject_token: j2, subject_token_type: JWT, actor_token: own, actor_token_type: AT, audience: 'https://b.example' });
      assert.equal(r2.statusCode, 200, r2.body);
      assert.deepEqual(decode(r2.json().access_token).payload.act, { sub: apiA.clientId });
    });

    test('the issuer\'s allowedClients and active flag', async () => {
      const s = await signer('ES256', 'p-1');
      const t = await trustIssuer(h, { issuer: 'https://picky.example', jwks: { keys: [s.jwk as never] }, allowedScopes: ['b.read'], allowedClients: [apiB.clientId] });
      const j = await assertion(h, s.key, { iss: t.issuer, sub: ada.userName }, { alg: 'ES256', kid: 'p-1' });
      assertOAuthError(await exchange(apiA.auth, { subject_token: j, subject_token_type: JWT, audience: 'https://b.example' }), 400, 'unauthorized_client');
      const off = await trustIssuer(h, { issuer: 'https://off.example', jwks: { keys: [s.jwk as never] }, allowedScopes: ['b.read'] });
      const j2 = await assertion(h, s.key, { iss: off.issuer, sub: ada.userName }, { alg: 'ES256', kid: 'p-1' });
      await h.t.services.repos.trustedIssuers.update({ ...off, active: false }, off.version);
      assertOAuthError(await exchange(apiA.auth, { subject_token: j2, subject_token_type: JWT, audience: 'https://b.example' }), 400, 'invalid_request');
    });
  });

  describe('the admin guard for allowTokenExchangeImpersonation', () => {
    test('full administrators set it (rendered, false by default); an Application Administrator gets 403; it needs the grant', async () => {
      const c = await createApp(h, admin, { allowedGrants: ['client_credentials'] });
      await grantRole(h, admin, 'Application Administrator', 'App', c.id);
      const appAdmin = (await clientToken(h, c.clientId, c.secret!, 'urn:opc:idm:__myscopes__')).json().access_token as string;
      const body = (o: Record<string, unknown>) => ({ schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:App'], displayName: `i-${Math.random()}`, isOAuthClient: true, clientType: 'confidential', allowedGrants: [TE], ...o });
      const set = await scim(h, 'POST', '/admin/v1/Apps', admin, body({ allowTokenExchangeImpersonation: true }));
      assert.equal(set.statusCode, 201, set.body);
      assert.equal(set.json().allowTokenExchangeImpersonation, true);
      const plain = await scim(h, 'POST', '/admin/v1/Apps', appAdmin, body({}));
      assert.equal(plain.statusCode, 201, plain.body);
      assert.equal(plain.json().allowTokenExchangeImpersonation, false);
      assertScimError(await scim(h, 'POST', '/admin/v1/Apps', appAdmin, body({ allowTokenExchangeImpersonation: true })), 403);
      assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${plain.json().id}`, appAdmin, patchOp({ op: 'replace', path: 'allowTokenExchangeImpersonation', value: true })), 403);
      assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${set.json().id}`, appAdmin, patchOp({ op: 'replace', path: 'displayName', value: 'renamed' })), 403);
      assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${set.json().id}`, appAdmin, patchOp({ op: 'replace', path: 'allowTokenExchangeImpersonation', value: false })), 403);
      assertScimError(await scim(h, 'POST', '/admin/v1/Apps', admin, body({ allowedGrants: ['client_credentials'], allowTokenExchangeImpersonation: true })), 400, 'invalidValue');
      const schema = await scim(h, 'GET', '/admin/v1/Schemas/urn:ietf:params:scim:schemas:oracle:idcs:App', admin);
      assert.ok(JSON.stringify(schema.json()).includes('allowTokenExchangeImpersonation'), 'in the SCIM schema');
    });
  });
});
