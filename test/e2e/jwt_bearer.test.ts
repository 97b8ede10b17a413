/**
 * Issue 8: the JWT bearer grant (RFC 7523 §2.1) end to end through the token endpoint, with assertions made
 * the way a partner makes them (jose). Security checklist §6-7 (JW-1...JW-8, JB-1...JB-4): every refusal is
 * checked for its status and error code.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { exportSPKI, SignJWT, type CryptoKey } from 'jose';
import type { AuditEventRecord } from '../../src/core/types.js';
import { FixedClock } from '../../src/core/clock.js';
import { assertOAuthError, basic, decode, harness, ISSUER, post, scim, type Harness } from '../helpers.js';
import { assertion, createApp, grant, JWT_BEARER, signer, TOKEN_ENDPOINT, trustIssuer, world, type World } from '../jwt_bearer_world.js';

const b64 = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');

describe('JWT bearer grant (RFC 7523 §2.1)', () => {
  let h: Harness;
  let clock: FixedClock;
  let w: World;
  const events: AuditEventRecord[] = [];
  /** A request for JWKS from the jwks test server, by path. */
  const fetched: string[] = [];
  let jwksServer: Server;
  let jwksBase: string;
  const served: Record<string, unknown> = {};

  const now = () => Math.floor(clock.now() / 1000);
  /** An assertion from the trusted issuer about ada (by email, its subject attribute). */
  const fromIdp = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key: CryptoKey | Uint8Array = w.idp.signer.key) =>
    assertion(h, key, { iss: w.idp.rec.issuer, sub: w.ada.email, ...claims }, { kid: 'idp-1', ...header });
  /** The self client's own assertion about itself. */
  const fromSelf = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    assertion(h, w.self.signer.key, { iss: w.self.clientId, sub: w.self.clientId, ...claims }, { kid: 'self-1', ...header });

  before(async () => {
    jwksServer = createServer((req, res) => {
      fetched.push(req.url ?? '');
      const body = served[req.url ?? ''];
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {}));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    jwksBase = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}`;
    clock = new FixedClock(Date.now());
    // Private fetching on: a jku or x5u in a header could be fetched here, so "nothing was fetched" means something.
    h = await harness({ clock, config: { unsafeAllowPrivateFetch: true } });
    h.t.services.events.on((e) => events.push(e));
    w = await world(h);
  });
  after(async () => {
    await h.close();
    await new Promise((r) => jwksServer.close(r));
  });

  describe('assertions from a trusted issuer', () => {
    test('a user token for the user the assertion names: sub = user id, sub_type user, scopes capped by the issuer; audited with the issuer', async () => {
      const r = await grant(h, await fromIdp(), { scope: 'jb.read', auth: w.partner.auth });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.headers['cache-control'], 'no-store');
      const body = r.json();
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.scope, 'jb.read');
      const at = decode(body.access_token);
      assert.equal(at.header.typ, 'at+jwt');
      assert.equal(at.payload.sub, w.ada.id);
      assert.equal(at.payload.sub_type, 'user');
      assert.equal(at.payload.client_id, w.partner.clientId);
      assert.equal(at.payload.aud, 'https://jb-api.example.com');
      await new Promise((r) => setTimeout(r, 100));
      const ev = events.find((e) => e.eventId === 'token.issued' && e.targetId === at.payload.jti);
      assert.ok(ev, 'token.issued is audited');
      assert.equal(ev.actorId, w.ada.id);
      assert.equal(ev.details?.grant_type, JWT_BEARER);
      assert.equal(ev.details?.assertion_issuer, w.idp.rec.issuer);
      assert.equal(ev.details?.trusted_issuer_id, w.idp.rec.id);
      assert.equal(ev.details?.client_id, w.partner.clientId);
    });

    test('aud may be the issuer, the token endpoint URL, the trusted issuer\'s audience, or a one-element array of them', async () => {
      for (const aud of [ISSUER, TOKEN_ENDPOINT, w.idp.rec.audience!, [ISSUER], [TOKEN_ENDPOINT]]) {
        const r = await grant(h, await fromIdp({ aud }), { scope: 'jb.read', auth: w.partner.auth });
        assert.equal(r.statusCode, 200, `${JSON.stringify(aud)}: ${r.body}`);
      }
    });

    test('typ JWT, application/jwt or none are plain JWTs: accepted', async () => {
      for (const typ of ['JWT', 'jwt', 'application/jwt', undefined]) {
        const r = await grant(h, await fromIdp({}, typ ? { typ } : {}), { scope: 'jb.read', auth: w.partner.auth });
        assert.equal(r.statusCode, 200, `${typ}: ${r.body}`);
      }
    });

    test('scopes: the request, the issuer\'s allowedScopes and the roles both client and user hold', async () => {
      // jb.write is allowed to the client but not by the issuer: dropped from a wider request, refused alone.
      const both = await grant(h, await fromIdp(), { scope: 'jb.read jb.write', auth: w.partner.auth });
      assert.equal(both.statusCode, 200, both.body);
      assert.equal(both.json().scope, 'jb.read');
      assertOAuthError(await grant(h, await fromIdp(), { scope: 'jb.write', auth: w.partner.auth }), 400, 'invalid_scope');
      // __myscopes__: JB Role (client and ada hold it); JB Other is the client's only, so it is dropped.
      const mine = await grant(h, await fromIdp(), { scope: 'urn:opc:idm:__myscopes__', auth: w.partner.auth });
      assert.equal(mine.statusCode, 200, mine.body);
      assert.equal(mine.json().scope, 'jb.role');
      const role = await grant(h, await fromIdp(), { scope: 'urn:opc:idm:role.JB%20Role', auth: w.partner.auth });
      assert.equal(role.json().scope, 'jb.role', role.body);
      // A scope the client may not have at all.
      assertOAuthError(await grant(h, await fromIdp(), { scope: 'jb.nothing', auth: w.partner.auth }), 400, 'invalid_scope');
    });

    test('an issuer with no allowedScopes yields nothing: invalid_scope', async () => {
      const s = await signer('ES256', 'none-1');
      const t = await trustIssuer(h, { issuer: `https://none-${randomBytes(3).toString('hex')}.example`, jwks: { keys: [s.jwk as never] }, subjectAttribute: 'email' });
      const a = await assertion(h, s.key, { iss: t.issuer, sub: w.ada.email }, { alg: 'ES256', kid: 'none-1' });
      assertOAuthError(await grant(h, a, { scope: 'jb.read', auth: w.partner.auth }), 400, 'invalid_scope');
    });

    test('openid: an ID token without amr or acr (the user did not sign in here); the access token reads userinfo', async () => {
      const r = await grant(h, await fromIdp(), { scope: 'openid profile jb.read', auth: w.partner.auth });
      assert.equal(r.statusCode, 200, r.body);
      const id = decode(r.json().id_token).payload;
      assert.equal(id.sub, w.ada.id);
      assert.equal(id.aud, w.partner.clientId);
      for (const c of ['amr', 'acr', 'nonce']) assert.equal(id[c], undefined, c);
      const info = await h.inject({ url: '/oauth2/v1/userinfo', headers: { authorization: `Bearer ${r.json().access_token}` } });
      assert.equal(info.statusCode, 200, info.body);
      assert.equal(info.json().sub, w.ada.id);
    });

    test('refresh tokens only for clients allowed the refresh grant that ask for offline_access; the refresh works', async () => {
      const plain = await grant(h, await fromIdp(), { scope: 'jb.read', auth: w.partner.auth });
      assert.equal(plain.json().refresh_token, undefined);
      const off = await grant(h, await fromIdp(), { scope: 'jb.read offline_access', auth: w.partner.auth });
      assert.equal(off.statusCode, 200, off.body);
      assert.equal(typeof off.json().refresh_token, 'string');
      const refreshed = await post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: off.json().refresh_token }, { authorization: w.partner.auth });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      assert.equal(decode(refreshed.json().access_token).payload.sub, w.ada.id);
      const noGrant = await grant(h, await fromIdp(), { scope: 'jb.read offline_access', auth: w.partnerNoRefresh.auth });
      assert.equal(noGrant.statusCode, 200, noGrant.body);
      assert.equal(noGrant.json().refresh_token, undefined, 'a client without the refresh grant gets no refresh token');
    });

    test('the subject is found through the issuer\'s subjectAttribute (externalId, userName, id)', async () => {
      const user = (await scim(h, 'GET', `/admin/v1/Users/${w.ada.id}`, w.admin)).json();
      for (const [attr, value] of [['externalId', user.externalId], ['userName', w.ada.userName], ['id', w.ada.id]] as const) {
        const s = await signer('ES256', `${attr}-1`);
        const t = await trustIssuer(h, { issuer: `https://${attr.toLowerCase()}-${randomBytes(3).toString('hex')}.example`, jwks: { keys: [s.jwk as never] }, subjectAttribute: attr, allowedScopes: ['jb.read'] });
        const r = await grant(h, await assertion(h, s.key, { iss: t.issuer, sub: value }, { alg: 'ES256', kid: `${attr}-1` }), { scope: 'jb.read', auth: w.partner.auth });
        assert.equal(r.statusCode, 200, `${attr}: ${r.body}`);
        assert.equal(decode(r.json().access_token).payload.sub, w.ada.id, attr);
      }
    });

    test('keys from the issuer\'s jwks_uri; a new kid refetches it (partner key rotation)', async () => {
      const s1 = await signer('RS256', 'uri-1');
      served['/idp-jwks'] = { keys: [s1.jwk] };
      const t = await trustIssuer(h, { issuer: `https://uri-${randomBytes(3).toString('hex')}.example`, jwksUri: `${jwksBase}/idp-jwks`, subjectAttribute: 'email', allowedScopes: ['jb.read'] });
      const a1 = await assertion(h, s1.key, { iss: t.issuer, sub: w.ada.email }, { kid: 'uri-1' });
      assert.equal((await grant(h, a1, { scope: 'jb.read', auth: w.partner.auth })).statusCode, 200);
      const s2 = await signer('RS256', 'uri-2');
      served['/idp-jwks'] = { keys: [s1.jwk, s2.jwk] };
      // The fetcher refetches an unknown kid at most once a minute.
      clock.advance(61_000);
      const a2 = await assertion(h, s2.key, { iss: t.issuer, sub: w.ada.email }, { kid: 'uri-2' });
      const r = await grant(h, a2, { scope: 'jb.read', auth: w.partner.auth });
      assert.equal(r.statusCode, 200, r.body);
    });
  });

  describe('assertions a client signs itself', () => {
    test('sub = the client: a client token as client_credentials gives, without other client authentication (the seeds\' gateway case)', async () => {
      const r = await grant(h, await fromSelf(), { scope: 'jb.read' });
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json();
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
      const at = decode(body.access_token).payload;
      assert.equal(at.sub, w.self.clientId);
      assert.equal(at.sub_type, 'client');
      assert.equal(at.client_id, w.self.clientId);
      // No scope asked: the client's default scopes; no refresh token even with the refresh grant (RFC 6749 §4.4.3).
      const dflt = await grant(h, await fromSelf(), { scope: 'offline_access' });
      assertOAuthError(dflt, 400, 'invalid_scope');
      const none = await grant(h, await fromSelf());
      assert.equal(none.json().scope, 'jb.read', none.body);
      assert.equal(none.json().refresh_token, undefined);
      await new Promise((r) => setTimeout(r, 100));
      const ev = events.find((e) => e.eventId === 'token.issued' && e.targetId === at.jti);
      assert.equal(ev?.details?.grant_type, JWT_BEARER);
      assert.equal(ev?.details?.assertion_issuer, w.self.clientId);
      assert.equal(ev?.actorType, 'client');
    });

    test('the client may also authenticate, as the same client; another client\'s credentials make it an untrusted issuer', async () => {
      const same = await grant(h, await fromSelf(), { scope: 'jb.read', auth: w.self.auth });
      assert.equal(same.statusCode, 200, same.body);
      assertOAuthError(await grant(h, await fromSelf(), { scope: 'jb.read', auth: w.partner.auth }), 400, 'invalid_grant');
      // A wrong secret for the right client is a failed client authentication.
      assertOAuthError(await grant(h, await fromSelf(), { scope: 'jb.read', auth: basic(w.self.clientId, 'wrong') }), 401, 'invalid_client');
    });

    test('sub = a user: a user token only for a client marked allowUserAssertions (sub is the userName)', async () => {
      const a = await assertion(h, w.trusted.signer.key, { iss: w.trusted.clientId, sub: w.ada.userName }, { alg: 'ES256', kid: 'trusted-1' });
      const r = await grant(h, a, { scope: 'jb.read urn:opc:idm:__myscopes__' });
      assert.equal(r.statusCode, 200, r.body);
      const at = decode(r.json().access_token).payload;
      assert.equal(at.sub, w.ada.id);
      assert.equal(at.sub_type, 'user');
      assert.equal(at.client_id, w.trusted.clientId);
      assert.deepEqual(r.json().scope.split(' ').sort(), ['jb.read', 'jb.role']);
      // Not marked: unauthorized_client, before anything is looked up about the user.
      for (const sub of [w.ada.userName, 'no-such-user']) {
        assertOAuthError(await grant(h, await fromSelf({ sub }), { scope: 'jb.read' }), 400, 'unauthorized_client');
      }
    });

    test('a trusted client\'s assertion for an unknown or disabled user: one invalid_grant for both', async () => {
      const descriptions = new Set<string>();
      for (const sub of ['no-such-user', w.bob.userName]) {
        const r = await grant(h, await assertion(h, w.trusted.signer.key, { iss: w.trusted.clientId, sub }, { alg: 'ES256', kid: 'trusted-1' }), { scope: 'jb.read' });
        assertOAuthError(r, 400, 'invalid_grant');
        descriptions.add(r.json().error_description);
      }
      assert.equal(descriptions.size, 1);
    });

    test('keys from the client\'s jwks_uri', async () => {
      const s = await signer('EdDSA', 'uri-c1');
      served['/client-jwks'] = { keys: [s.jwk] };
      const c = await createApp(h, w.admin, { allowedGrants: [JWT_BEARER], allowedScopes: [{ fqs: 'jb.read' }], jwksUri: `${jwksBase}/client-jwks` });
      const r = await grant(h, await assertion(h, s.key, { iss: c.clientId, sub: c.clientId }, { alg: 'EdDSA', kid: 'uri-c1' }), { scope: 'jb.read' });
      assert.equal(r.statusCode, 200, r.body);
    });

    test('without client authentication, iss must be a usable client of the domain: invalid_client otherwise', async () => {
      // A trusted issuer's assertion needs the client to authenticate.
      assertOAuthError(await grant(h, await fromIdp(), { scope: 'jb.read' }), 401, 'invalid_client');
      assertOAuthError(await grant(h, await fromSelf({ iss: 'no-such-client', sub: 'no-such-client' }), { scope: 'jb.read' }), 401, 'invalid_client');
      // A disabled client.
      const s = await signer('ES256', 'off-1');
      const c = await createApp(h, w.admin, { allowedGrants: [JWT_BEARER], allowedScopes: [{ fqs: 'jb.read' }], jwks: { keys: [s.jwk] }, active: false });
      const a = await assertion(h, s.key, { iss: c.clientId, sub: c.clientId }, { alg: 'ES256', kid: 'off-1' });
      assertOAuthError(await grant(h, a, { scope: 'jb.read' }), 401, 'invalid_client');
    });

    test('a client not allowed the grant: unauthorized_client, with or without other client authentication', async () => {
      const s = await signer('ES256', 'ng-1');
      const c = await createApp(h, w.admin, { allowedGrants: ['client_credentials'], allowedScopes: [{ fqs: 'jb.read' }], tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [s.jwk] } });
      const a = await assertion(h, s.key, { iss: c.clientId, sub: c.clientId }, { alg: 'ES256', kid: 'ng-1' });
      assertOAuthError(await grant(h, a, { scope: 'jb.read' }), 400, 'unauthorized_client');
      assertOAuthError(await grant(h, await fromIdp(), { scope: 'jb.read', auth: w.other.auth }), 400, 'unauthorized_client');
    });

    test('a public client cannot use the grant: refused at registration, and a client_id alone authenticates nothing here', async () => {
      const r = await scim(h, 'POST', '/admin/v1/Apps', w.admin, {
        schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:App'], displayName: 'jb-public', isOAuthClient: true, clientType: 'public', allowedGrants: [JWT_BEARER],
      });
      assert.equal(r.statusCode, 400, r.body);
      const pub = await createApp(h, w.admin, { clientType: 'public', allowedGrants: ['authorization_code'], redirectUris: ['https://app.example.com/cb'] });
      assertOAuthError(await grant(h, await fromIdp(), { scope: 'jb.read', extra: { client_id: pub.clientId } }), 401, 'invalid_client');
    });

    test('a client\'s assertion and its client authentication JWTs share one jti namespace: a JWT spent as one is spent as the other', async () => {
      const s = await signer('ES256', 'pk-1');
      const c = await createApp(h, w.admin, { allowedGrants: [JWT_BEARER, 'client_credentials'], allowedScopes: [{ fqs: 'jb.read' }], tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [s.jwk] } });
      const a = await assertion(h, s.key, { iss: c.clientId, sub: c.clientId }, { alg: 'ES256', kid: 'pk-1' });
      const cc = await post(h, '/oauth2/v1/token', {
        grant_type: 'client_credentials', scope: 'jb.read', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a,
      });
      assert.equal(cc.statusCode, 200, cc.body);
      assertOAuthError(await grant(h, a, { scope: 'jb.read' }), 400, 'invalid_grant');
      // A client authentication JWT typed as such (RFC 10070) is no grant at all.
      const typed = await assertion(h, s.key, { iss: c.clientId, sub: c.clientId }, { alg: 'ES256', kid: 'pk-1', typ: 'client-authentication+jwt' });
      assertOAuthError(await grant(h, typed, { scope: 'jb.read' }), 400, 'invalid_grant');
    });
  });
});
