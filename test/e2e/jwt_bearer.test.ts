/**
 * Issue 8: the JWT bearer grant (RFC 7523 §2.1) end to end through the token endpoint, with assertions made
 * the way a partner makes them (jose). Security checklist §6-7 (JW-1...JW-8, JB-1...JB-4): every refusal is
 * checked for its status and error code.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createPublicKey, randomBytes, type JsonWebKey } from 'node:crypto';
import { SignJWT } from 'jose';
import type { AuditEventRecord } from '../../src/core/types.js';
import { FixedClock } from '../../src/core/clock.js';
import { assertOAuthError, basic, decode, harness, ISSUER, post, scim, type Harness } from '../helpers.js';
import { assertion, createApp, grant, JWT_BEARER, signer, TOKEN_ENDPOINT, trustIssuer, world, type SigningKey, type World } from '../jwt_bearer_world.js';

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
  const fromIdp = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key: SigningKey = w.idp.signer.key) =>
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

  describe('every check refuses, with its status and error code (security checklist JW-1...JW-8, JB-1...JB-3)', () => {
    /** A refused request: status, error code, and the check that refused it (its description). */
    const refused = (r: Awaited<ReturnType<typeof grant>>, status: number, error: string, why: RegExp) => {
      assertOAuthError(r, status, error);
      assert.match(r.json().error_description, why);
    };
    const asPartner = (a: string, scope = 'jb.read') => grant(h, a, { scope, auth: w.partner.auth });
    const claims = () => ({ iss: w.idp.rec.issuer, sub: w.ada.email, aud: ISSUER, exp: now() + 60, iat: now(), jti: `j-${randomBytes(6).toString('hex')}` });
    /** A JWS put together by hand (for what jose will not sign). */
    const raw = (header: unknown, payload: unknown, sig = 'c2ln') => `${b64(header)}.${b64(payload)}.${sig}`;

    test('missing, empty or repeated assertion parameter: invalid_request', async () => {
      refused(await post(h, '/oauth2/v1/token', { grant_type: JWT_BEARER, scope: 'jb.read' }, { authorization: w.partner.auth }), 400, 'invalid_request', /assertion is required/);
      refused(await post(h, '/oauth2/v1/token', 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=', { authorization: w.partner.auth }), 400, 'invalid_request', /assertion is required/);
      const a = await fromIdp();
      refused(await post(h, '/oauth2/v1/token', `grant_type=${encodeURIComponent(JWT_BEARER)}&assertion=${a}&assertion=${a}`, { authorization: w.partner.auth }), 400, 'invalid_request', /more than once/);
    });

    test('JW-1: alg none (any spelling, with or without a signature) and a missing alg', async () => {
      refused(await asPartner(`${b64({ alg: 'none' })}.${b64(claims())}.`), 400, 'invalid_grant', /not a JWT/);
      for (const alg of ['none', 'None', 'NONE', '', undefined]) {
        refused(await asPartner(raw({ alg, kid: 'idp-1' }, claims())), 400, 'invalid_grant', /alg .* is refused/);
      }
    });

    test('JW-2: HMAC is never accepted, not even keyed with the issuer\'s RSA public key (key confusion)', async () => {
      const pem = createPublicKey({ key: w.idp.signer.jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        const a = await new SignJWT(claims()).setProtectedHeader({ alg, kid: 'idp-1' }).sign(new TextEncoder().encode(pem));
        refused(await asPartner(a), 400, 'invalid_grant', new RegExp(`alg ${alg} is refused`));
      }
      // A client's own assertion with its client secret as HMAC key.
      const hs = await new SignJWT({ ...claims(), iss: w.self.clientId, sub: w.self.clientId }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(w.self.secret!));
      refused(await grant(h, hs, { scope: 'jb.read' }), 400, 'invalid_grant', /alg HS256 is refused/);
    });

    test('the alg must be one the registered key can verify: ES256 or PS256 against an RS256 key, EdDSA against an EC key', async () => {
      const es = await signer('ES256', 'idp-1');
      refused(await asPartner(await fromIdp({}, { alg: 'ES256' }, es.key)), 400, 'invalid_grant', /no registered key .*verifies ES256/);
      // The same RSA key, but its JWK says alg RS256 (RFC 7517 §4.4): PS256 is not for it.
      refused(await asPartner(await fromIdp({}, { alg: 'PS256' })), 400, 'invalid_grant', /no registered key .*verifies PS256/);
      const ed = await signer('EdDSA', 'trusted-1');
      refused(await grant(h, await assertion(h, ed.key, { iss: w.trusted.clientId, sub: w.trusted.clientId }, { alg: 'EdDSA', kid: 'trusted-1' }), { scope: 'jb.read' }), 400, 'invalid_grant', /no registered key .*verifies EdDSA/);
    });

    test('a client that pinned its alg (tokenEndpointAuthSigningAlg) signs its assertions with that alg only', async () => {
      const s = await signer('RS256', 'pin-1', { withAlg: false });
      const c = await createApp(h, w.admin, { allowedGrants: [JWT_BEARER], allowedScopes: [{ fqs: 'jb.read' }], tokenEndpointAuthMethod: 'private_key_jwt', tokenEndpointAuthSigningAlg: 'PS256', jwks: { keys: [s.jwk] } });
      const mk = (alg: string) => assertion(h, s.key, { iss: c.clientId, sub: c.clientId }, { alg, kid: 'pin-1' });
      refused(await grant(h, await mk('RS256'), { scope: 'jb.read' }), 400, 'invalid_grant', /not the client's registered PS256/);
      assert.equal((await grant(h, await mk('PS256'), { scope: 'jb.read' })).statusCode, 200);
    });

    test('JW-3: keys named by the header (jwk, jku, x5u, x5c) are ignored: an attacker\'s key never verifies, and nothing is fetched', async () => {
      const evil = await signer('RS256', 'idp-1');
      fetched.length = 0;
      const headers: Record<string, unknown>[] = [
        { jwk: evil.jwk }, { jku: `${jwksBase}/evil-jku` }, { x5u: `${jwksBase}/evil-x5u` }, { x5c: ['MIIBevil'] },
      ];
      served['/evil-jku'] = { keys: [evil.jwk] };
      for (const extra of headers) {
        refused(await asPartner(await fromIdp({}, extra, evil.key)), 400, 'invalid_grant', /signature does not verify/);
      }
      // The issuer's own signature with those headers: they are ignored, not refused.
      for (const extra of headers) {
        const r = await asPartner(await fromIdp({}, extra));
        assert.equal(r.statusCode, 200, `${Object.keys(extra)[0]}: ${r.body}`);
      }
      assert.deepEqual(fetched, [], 'no header URL is ever fetched');
    });

    test('JW-4: kid fuzz is an opaque lookup: path traversal, SQL, 10 KB, a number, empty', async () => {
      for (const [kid, why] of [['../../dev/null', /with this kid/], ["' OR 1=1--", /with this kid/], ['k'.repeat(10_000), /kid is not usable/], [7, /kid is not usable/], ['', /kid is not usable/], [{ a: 1 }, /kid is not usable/]] as const) {
        refused(await asPartner(await fromIdp({}, { kid })), 400, 'invalid_grant', why);
      }
      // The right key under another kid, and the right kid with the wrong key.
      const evil = await signer('RS256', 'idp-1');
      refused(await asPartner(await fromIdp({}, {}, evil.key)), 400, 'invalid_grant', /does not verify/);
    });

    const claimCases: [string, () => Record<string, unknown>, RegExp][] = [
      ['no iss', () => ({ iss: null }), /has no iss/],
      ['iss of an unknown issuer', () => ({ iss: 'https://unknown.example' }), /not a trusted issuer/],
      ['iss with U+0000', () => ({ iss: `${w.idp.rec.issuer}\u0000` }), /iss is not usable/],
      ['no sub', () => ({ sub: null }), /has no sub/],
      ['sub not a string', () => ({ sub: 42 }), /has no sub/],
      ['no aud', () => ({ aud: null }), /aud must be one value/],
      ['aud of another server', () => ({ aud: 'https://other-as.example' }), /aud must be one value/],
      ['aud: this issuer and another', () => ({ aud: [ISSUER, 'https://other-as.example'] }), /aud must be one value/],
      ['aud: two of our own values', () => ({ aud: [ISSUER, TOKEN_ENDPOINT] }), /aud must be one value/],
      ['aud: empty array', () => ({ aud: [] }), /aud must be one value/],
      ['aud: another issuer\'s audience', () => ({ aud: 'https://tessera.example.com/other' }), /aud must be one value/],
      ['no exp', () => ({ exp: null }), /has no exp/],
      ['exp as a string (the gateway sample)', () => ({ exp: String(now() + 60) }), /exp is not a NumericDate/],
      ['exp past, beyond the skew', () => ({ exp: now() - 61 }), /expired/],
      ['exp beyond the issuer\'s maxAssertionLifetime and the skew', () => ({ exp: now() + 300 + 61 }), /lives too long/],
      ['nbf in the future, beyond the skew', () => ({ nbf: now() + 61 }), /not valid yet/],
      ['iat in the future, beyond the skew', () => ({ iat: now() + 61 }), /issued in the future/],
      ['iat as a string', () => ({ iat: String(now()) }), /iat is not a NumericDate/],
      ['exp - iat longer than the maximum lifetime', () => ({ iat: now() - 400, exp: now() + 30 }), /exp - iat/],
      ['no jti', () => ({ jti: null }), /has no jti/],
      ['jti of 300 characters', () => ({ jti: 'j'.repeat(300) }), /jti is not usable/],
      ['jti not a string', () => ({ jti: 12 }), /has no jti/],
    ];
    for (const [name, over, why] of claimCases) {
      test(`JW-5: ${name}: invalid_grant`, async () => refused(await asPartner(await fromIdp(over())), 400, 'invalid_grant', why));
    }

    test('JW-5: the skew boundaries are honoured (config clockSkewSeconds, 60 s): just inside passes', async () => {
      for (const c of [{ exp: now() - 59 }, { exp: now() + 300 + 60 }, { nbf: now() + 59 }, { iat: now() + 59 }]) {
        const r = await asPartner(await fromIdp(c));
        assert.equal(r.statusCode, 200, `${JSON.stringify(c)}: ${r.body}`);
      }
    });

    test('a client-signed assertion\'s lifetime is capped by TESSERA_CLIENT_ASSERTION_MAX_LIFETIME (300 s)', async () => {
      refused(await grant(h, await fromSelf({ exp: now() + 361 }), { scope: 'jb.read' }), 400, 'invalid_grant', /at most 300 s ahead/);
    });

    test('JW-6: access tokens, client authentication JWTs, request objects and other typed JWTs are refused by typ', async () => {
      for (const typ of ['at+jwt', 'application/at+jwt', 'AT+JWT', 'client-authentication+jwt', 'oauth-authz-req+jwt', 'logout+jwt', 'JOSE', 'secevent+jwt']) {
        refused(await asPartner(await fromIdp({}, { typ })), 400, 'invalid_grant', /typ .* is refused/);
      }
      // One of Tessera's own access tokens (RFC 9068) presented as a grant.
      const own = await grant(h, await fromSelf(), { scope: 'jb.read' });
      refused(await asPartner(own.json().access_token), 400, 'invalid_grant', /typ at\+jwt is refused/);
    });

    test('JW-6: an OpenID Connect ID token is not a grant: refused by its aud, and by its ID-token-only claims', async () => {
      // An ID token the trusted IdP issued to one of its clients (aud = that client).
      refused(await asPartner(await fromIdp({ aud: 'tessera-at-the-idp', nonce: null, auth_time: now() })), 400, 'invalid_grant', /aud must be one value/);
      // Even with an aud we accept (the issuer's configured audience is its client id for us): nonce, at_hash, c_hash give it away.
      for (const c of ['nonce', 'at_hash', 'c_hash', 's_hash']) {
        refused(await asPartner(await fromIdp({ aud: w.idp.rec.audience!, [c]: 'x' })), 400, 'invalid_grant', new RegExp(`carries ${c}`));
      }
    });

    test('unknown crit (RFC 7515 §4.1.11) is refused', async () => {
      for (const crit of [['urn:example:ext'], ['exp'], ['b64']]) {
        const header: Record<string, unknown> = { crit, 'urn:example:ext': true, exp: 1 };
        refused(await asPartner(raw({ alg: 'RS256', kid: 'idp-1', ...header }, claims())), 400, 'invalid_grant', /critical header/);
      }
    });

    test('JW-7 / JW-8: malformed JWTs are a 400 (invalid_grant), never a 500', async () => {
      const cases: [string, string, RegExp][] = [
        ['two segments', `${b64({ alg: 'RS256' })}.${b64(claims())}`, /not a JWT/],
        ['four segments', `${raw({ alg: 'RS256' }, claims())}.x`, /not a JWT/],
        ['five segments (a JWE)', `${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`, /encrypted \(JWE\)/],
        ['a JWE with p2c 2e9', `${b64({ alg: 'PBES2-HS256+A128KW', enc: 'A128GCM', p2c: 2e9, p2s: 'AAAAAAAAAAA' })}.a.b.c.d`, /encrypted \(JWE\)/],
        ['base64 with + and /', `${b64({ alg: 'RS256' })}.ab+c/d.sig`, /not a JWT/],
        ['a header that is not JSON', `${b64('{"alg":')}.${b64(claims())}.sig`, /not a JWT/],
        ['a header that is a JSON array', `${b64(['RS256'])}.${b64(claims())}.sig`, /not a JWT/],
        ['claims that are a JSON string', `${b64({ alg: 'RS256', kid: 'idp-1' })}.${b64('"x"')}.sig`, /not a JWT/],
        ['non-UTF-8 claims', `${b64({ alg: 'RS256', kid: 'idp-1' })}.${Buffer.from([0xff, 0xfe, 0x7b]).toString('base64url')}.sig`, /not a JWT/],
        ['garbage', 'not-a-jwt', /not a JWT/],
        ['20 KB', raw({ alg: 'RS256', kid: 'idp-1', pad: 'p'.repeat(20_000) }, claims()), /larger than/],
        ['a forged signature', `${(await fromIdp()).split('.').slice(0, 2).join('.')}.${Buffer.alloc(256, 1).toString('base64url')}`, /does not verify/],
        ['tampered claims', await (async () => { const [hd, , sig] = (await fromIdp()).split('.'); return `${hd}.${b64({ ...claims(), sub: w.bob.email })}.${sig}`; })(), /does not verify/],
      ];
      for (const [name, a, why] of cases) {
        const r = await asPartner(a);
        assert.equal(r.statusCode, 400, `${name}: ${r.body}`);
        refused(r, 400, 'invalid_grant', why);
      }
      // A body over the limit (1 MB) is refused before parsing.
      const big = await post(h, '/oauth2/v1/token', { grant_type: JWT_BEARER, assertion: 'a'.repeat(1 << 20) }, { authorization: w.partner.auth });
      assertOAuthError(big, 413, 'invalid_request');
    });

    test('JB-1: an unconfigured, disabled or other-protocol trusted issuer: invalid_grant', async () => {
      const s = await signer('RS256', 'off-1');
      const disabled = await trustIssuer(h, { issuer: `https://off-${randomBytes(3).toString('hex')}.example`, active: false, jwks: { keys: [s.jwk as never] }, subjectAttribute: 'email', allowedScopes: ['jb.read'] });
      const saml = await trustIssuer(h, { issuer: `https://saml-${randomBytes(3).toString('hex')}.example`, protocol: 'saml2', jwks: { keys: [s.jwk as never] }, subjectAttribute: 'email', allowedScopes: ['jb.read'] });
      for (const t of [disabled, saml]) {
        refused(await asPartner(await assertion(h, s.key, { iss: t.issuer, sub: w.ada.email }, { kid: 'off-1' })), 400, 'invalid_grant', /not a trusted issuer/);
      }
      // Switched on again, it works: the refusal was the switch.
      await h.t.services.repos.trustedIssuers.update({ ...disabled, active: true }, disabled.version);
      assert.equal((await asPartner(await assertion(h, s.key, { iss: disabled.issuer, sub: w.ada.email }, { kid: 'off-1' }))).statusCode, 200);
    });

    test('JB-2: a subject outside the issuer\'s namespace, a disabled user, an unknown or ambiguous one: one invalid_grant, whoever exists', async () => {
      const user = (await scim(h, 'GET', `/admin/v1/Users/${w.ada.id}`, w.admin)).json();
      const { createUser } = await import('../signin.js');
      const shared = `shared-${randomBytes(3).toString('hex')}@example.com`;
      for (const n of ['one', 'two']) await createUser(h, w.admin, `${n}-${randomBytes(3).toString('hex')}`, { emails: [{ value: shared, primary: true }] });
      const descriptions = new Set<string>();
      // The idp maps by email: ada's externalId (issuer B's namespace), userName and id name no one through it.
      for (const sub of [user.externalId, w.ada.userName, w.ada.id, w.bob.email, 'nobody@example.com', shared]) {
        const r = await asPartner(await fromIdp({ sub }));
        refused(r, 400, 'invalid_grant', /does not name an active user/);
        descriptions.add(r.json().error_description);
      }
      assert.equal(descriptions.size, 1, 'the same answer for every subject that is not exactly one active user');
    });

    test('JB-3: a replayed assertion is refused (jti single use until exp); concurrent replays: exactly one wins', async () => {
      const a = await fromIdp();
      assert.equal((await asPartner(a)).statusCode, 200);
      refused(await asPartner(a), 400, 'invalid_grant', /already used/);
      // Also after a failure elsewhere: presenting it through another client does not revive it.
      refused(await grant(h, a, { scope: 'jb.read', auth: w.partnerNoRefresh.auth }), 400, 'invalid_grant', /already used/);
      const b = await fromIdp();
      const rs = await Promise.all(Array.from({ length: 10 }, () => asPartner(b)));
      assert.deepEqual(rs.map((r) => r.statusCode).sort(), [200, ...Array(9).fill(400)]);
      const c = await fromSelf();
      const cs = await Promise.all(Array.from({ length: 5 }, () => grant(h, c, { scope: 'jb.read' })));
      assert.equal(cs.filter((r) => r.statusCode === 200).length, 1);
    });

    test('a jti is per issuer: the same jti from two issuers is two assertions', async () => {
      const id = `same-${randomBytes(4).toString('hex')}`;
      assert.equal((await asPartner(await fromIdp({ jti: id }))).statusCode, 200);
      assert.equal((await grant(h, await fromSelf({ jti: id }), { scope: 'jb.read' })).statusCode, 200);
    });

    test('the issuer\'s allowedClients: another client may not present its assertions (unauthorized_client)', async () => {
      const s = await signer('ES256', 'only-1');
      const t = await trustIssuer(h, { issuer: `https://only-${randomBytes(3).toString('hex')}.example`, jwks: { keys: [s.jwk as never] }, subjectAttribute: 'email', allowedScopes: ['jb.read'], allowedClients: [w.partnerNoRefresh.clientId] });
      const mk = () => assertion(h, s.key, { iss: t.issuer, sub: w.ada.email }, { alg: 'ES256', kid: 'only-1' });
      refused(await asPartner(await mk()), 400, 'unauthorized_client', /may not present assertions from this issuer/);
      assert.equal((await grant(h, await mk(), { scope: 'jb.read', auth: w.partnerNoRefresh.auth })).statusCode, 200);
    });

    test('a user deactivated after an assertion was made: the assertion names no active user', async () => {
      const { createUser } = await import('../signin.js');
      const u = await createUser(h, w.admin, `late-${randomBytes(3).toString('hex')}`);
      const a = await fromIdp({ sub: `${u.userName}@example.com` });
      const off = await scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, w.admin, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] });
      assert.equal(off.statusCode, 200, off.body);
      refused(await asPartner(a), 400, 'invalid_grant', /does not name an active user/);
    });

    test('a malformed scope parameter: invalid_scope', async () => {
      refused(await asPartner(await fromIdp(), 'jb.read "quoted"'), 400, 'invalid_scope', /invalid characters/);
    });
  });
});
