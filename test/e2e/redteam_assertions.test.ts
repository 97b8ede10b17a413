/**
 * Red team of the assertion grants (issue 8): trusted issuers, the JWT bearer grant (RFC 7523) and the SAML 2.0
 * bearer grant (RFC 7522), attacked end to end through the token endpoint and the admin API. Each "Gn" test is a
 * finding (it failed before its fix); the others are attacks that were already refused, kept as regression guards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { LightMyRequestResponse } from 'fastify';
import { FixedClock } from '../../src/core/clock.js';
import { newId } from '../../src/core/ids.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { openDatabase } from '../../src/storage/db.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from '../contract/pg.js';
import { adminToken, APP_SCHEMA, assertOAuthError, assertScimError, basic, clientToken, decode, grantRole, harness, ISSUER, post, scim, setupClient, type Harness } from '../helpers.js';
import { assertionXml, b64u, BEARER, makeCert, sign, type AssertionOptions } from '../saml_idp.js';
import { createUser } from '../signin.js';
import type { TrustedIssuerRecord } from '../../src/core/types.js';
import { assertion, createApp, grant, JWT_BEARER, signer, trustIssuer, world, type Signer, type World } from '../jwt_bearer_world.js';

const TI_SCHEMA = 'urn:ietf:params:scim:schemas:tessera:2.0:TrustedIssuer';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ME = 'urn:opc:idm:t.user.me';
const patchOp = (...Operations: Record<string, unknown>[]) => ({ schemas: [PATCH_SCHEMA], Operations });
const uniq = () => randomBytes(4).toString('hex');
/**
 * PostgreSQL databases are opened one at a time: Kysely's migrator looks for its tables in every schema
 * (introspection is not limited to the search_path), so two fresh schemas migrating at once can each take the
 * other's tables for their own (relation "kysely_migration_lock" does not exist).
 */
let pgOpening: Promise<unknown> = Promise.resolve();
function openPg(schema: string): ReturnType<typeof openDatabase> {
  const next = pgOpening.then(() => openDatabase(PG_URL, { pgSchema: schema }));
  pgOpening = next.catch(() => {});
  return next;
}

/** A client holding the given built-in roles, and its client_credentials token with all their scopes. */
async function roleToken(h: Harness, root: string, roles: string[]): Promise<{ token: string; scopes: string[] }> {
  const c = await scim(h, 'POST', '/admin/v1/Apps', root, {
    schemas: [APP_SCHEMA], displayName: `${roles.join('+')} ${uniq()}`, isOAuthClient: true, allowedGrants: ['client_credentials'],
  });
  assert.equal(c.statusCode, 201, c.body);
  for (const role of roles) await grantRole(h, root, role, 'App', c.json().id);
  const t = await clientToken(h, c.json().name, c.json().clientSecret, 'urn:opc:idm:__myscopes__');
  assert.equal(t.statusCode, 200, t.body);
  return { token: t.json().access_token as string, scopes: String(t.json().scope).split(' ') };
}

describe('red team: trusted issuers and administrator escalation', () => {
  let h: Harness;
  let root: string;
  let boss: { id: string; userName: string };
  let appAdmin: { token: string; scopes: string[] };
  let key: Signer;
  before(async () => {
    h = await harness();
    root = await adminToken(h);
    boss = await createUser(h, root, `boss-${uniq()}`);
    await grantRole(h, root, 'Identity Domain Administrator', 'User', boss.id);
    // An Application Administrator whose console client also holds the Me role (as an admin console does).
    appAdmin = await roleToken(h, root, ['Application Administrator', 'Me']);
    assert.ok(appAdmin.scopes.includes(ME) && appAdmin.scopes.includes('urn:opc:idm:t.apps'), appAdmin.scopes.join(' '));
    key = await signer('RS256', `k-${uniq()}`);
  });
  after(() => h.close());

  test('G1: an Application Administrator cannot trust an issuer with the self-service scope (it would act as any user, administrators included, on /Me)', async () => {
    // The attack: the App Administrator's own client, its own key as a "partner", and an issuer that may yield Me.
    const portal = await createApp(h, appAdmin.token, { allowedGrants: [JWT_BEARER], allowedScopes: [{ fqs: ME }] });
    const body = {
      schemas: [TI_SCHEMA], issuer: `https://evil-${uniq()}.example`, protocol: 'jwt', jwks: { keys: [key.jwk] },
      subjectAttribute: 'userName', allowedScopes: [ME], allowedClients: [portal.clientId],
    };
    const r = await scim(h, 'POST', '/admin/v1/TrustedIssuers', appAdmin.token, body);
    if (r.statusCode === 201) {
      // What it led to: a Me token for the Identity Domain Administrator, and their profile changed by someone who may not change them.
      const t = await grant(h, await assertion(h, key.key, { iss: body.issuer, sub: boss.userName }), { scope: ME, auth: basic(portal.clientId, portal.secret!) });
      const me = t.statusCode === 200 ? await scim(h, 'GET', '/admin/v1/Me', t.json().access_token) : undefined;
      assert.fail(`issuer created; token ${t.statusCode}; /Me as ${me?.json().userName}`);
    }
    assertScimError(r, 403);
    assert.match(r.json().detail, /urn:opc:idm:t\.user\.me/);
    // Nor by PATCH onto an ordinary issuer it made, nor by PUT.
    const mine = await scim(h, 'POST', '/admin/v1/TrustedIssuers', appAdmin.token, { ...body, issuer: `https://mine-${uniq()}.example`, allowedScopes: ['openid'] });
    assert.equal(mine.statusCode, 201, mine.body);
    assertScimError(await scim(h, 'PATCH', `/admin/v1/TrustedIssuers/${mine.json().id}`, appAdmin.token, patchOp({ op: 'add', path: 'allowedScopes', value: [ME] })), 403);
    assertScimError(await scim(h, 'PUT', `/admin/v1/TrustedIssuers/${mine.json().id}`, appAdmin.token, { ...(mine.json() as Record<string, unknown>), allowedScopes: [ME] }), 403);
    // The Identity Domain Administrator (every admin scope) may.
    const ok = await scim(h, 'POST', '/admin/v1/TrustedIssuers', root, { ...body, issuer: `https://ok-${uniq()}.example` });
    assert.equal(ok.statusCode, 201, ok.body);
    // And an issuer that allows Me can then be changed only by such a caller.
    assertScimError(await scim(h, 'PATCH', `/admin/v1/TrustedIssuers/${ok.json().id}`, appAdmin.token, patchOp({ op: 'replace', path: 'jwks', value: { keys: [key.jwk] } })), 403);
  });
});


describe('red team: refresh tokens from assertions follow the trusted issuer as it is now', () => {
  let h: Harness;
  let w: World;
  before(async () => { h = await harness({ config: { refreshTokenGraceSeconds: 30 } }); w = await world(h); });
  after(() => h.close());

  const refresh = (rt: string, scope?: string) => post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: rt, ...(scope ? { scope } : {}) }, { authorization: w.partner.auth });
  const first = async (scope: string) => {
    const r = await grant(h, await assertion(h, w.idp.signer.key, { iss: w.idp.rec.issuer, sub: w.ada.email }), { scope, auth: w.partner.auth });
    assert.equal(r.statusCode, 200, r.body);
    return r.json() as { refresh_token: string; scope: string };
  };
  const change = async (f: (t: TrustedIssuerRecord) => Partial<TrustedIssuerRecord>) => {
    const repo = h.t.services.repos.trustedIssuers;
    const rec = (await repo.get(w.idp.rec.domainId, w.idp.rec.id))!;
    await repo.update({ ...rec, ...f(rec) }, rec.version);
  };
  const original = () => ({ allowedScopes: w.idp.rec.allowedScopes, allowedClients: w.idp.rec.allowedClients, active: true });

  test('G2: a scope the issuer no longer allows is not refreshed; a client it no longer lists cannot refresh; without offline_access the grant ends', async () => {
    const t = await first('jb.read jb.role offline_access');
    assert.deepEqual(t.scope.split(' ').sort(), ['jb.read', 'jb.role', 'offline_access']);
    // The administrator narrows the issuer: jb.role is no longer its to give.
    await change(() => ({ allowedScopes: ['jb.read', 'offline_access'] }));
    const wide = await refresh(t.refresh_token);
    assertOAuthError(wide, 400, 'invalid_scope');
    assert.match(wide.json().error_description, /trusted issuer.*jb\.role/);
    const narrow = await refresh(t.refresh_token, 'jb.read offline_access');
    assert.equal(narrow.statusCode, 200, narrow.body);
    assert.deepEqual(narrow.json().scope.split(' ').sort(), ['jb.read', 'offline_access']);
    // The client is taken off the issuer's allowedClients: its grants from that issuer end.
    await change(() => ({ allowedClients: [w.partnerNoRefresh.clientId] }));
    const gone = await refresh(narrow.json().refresh_token);
    assertOAuthError(gone, 400, 'invalid_grant');
    assert.match(gone.json().error_description, /trusted issuer/);
    await change(original);
    // offline_access taken away: no more refreshing, whatever scope is asked for.
    const t2 = await first('jb.read offline_access');
    await change(() => ({ allowedScopes: ['jb.read'] }));
    assertOAuthError(await refresh(t2.refresh_token, 'jb.read'), 400, 'invalid_grant');
    await change(original);
  });

  test('G2: the refresh grace period (a retried rotation) does not outlive the issuer being disabled', async () => {
    const t = await first('jb.read offline_access');
    const r1 = await refresh(t.refresh_token);
    assert.equal(r1.statusCode, 200, r1.body);
    // The retry of a lost response gets the same successor, while the issuer is trusted.
    const retry = await refresh(t.refresh_token);
    assert.equal(retry.statusCode, 200, retry.body);
    await change(() => ({ active: false }));
    const after = await refresh(t.refresh_token);
    assertOAuthError(after, 400, 'invalid_grant');
    assertOAuthError(await refresh(r1.json().refresh_token), 400, 'invalid_grant');
    await change(original);
  });
});

// ---------------------------------------------------------------------------------------------
// SAML 2.0 bearer, on SQLite and on PostgreSQL (the single-use record and the lookups are in the store).

const SAML_GRANT = 'urn:ietf:params:oauth:grant-type:saml2-bearer';
const SAML_IDP = 'https://idp.redteam.example';
const samlKey = makeCert({ cn: 'idp.redteam.example' });

function samlSuite(name: string, open: () => Promise<{ h: Harness; cleanup: () => Promise<void>; otherNode?: () => Promise<Harness> }>) {
  describe(`red team: SAML 2.0 bearer on ${name}`, async () => {
    const pg = name === 'PostgreSQL' ? await pgAvailable() : true;
    const skip = pg === true ? false : String(pg);
    let h: Harness;
    let cleanup: () => Promise<void>;
    let otherNode: (() => Promise<Harness>) | undefined;
    let admin: string;
    let client: { clientId: string; secret: string };
    let ada: { id: string; userName: string };
    let domainId: string;
    const now = () => h.clock.now();
    const trust = async (o: Partial<TrustedIssuerRecord> = {}): Promise<TrustedIssuerRecord> => {
      const t: TrustedIssuerRecord = {
        id: newId(), domainId, issuer: SAML_IDP, protocol: 'saml2', active: true, certificates: [samlKey.cert], subjectAttribute: 'userName',
        allowedScopes: ['orders.read', 'openid'], allowedClients: [], maxAssertionLifetime: 300, version: 1, createdAt: now(), updatedAt: now(), ...o,
      };
      await h.t.services.repos.trustedIssuers.create(t);
      return t;
    };
    const token = (a: string, prefix = '', c = client) => post(h, `${prefix}/oauth2/v1/token`, { grant_type: SAML_GRANT, assertion: a, scope: 'orders.read' }, { authorization: basic(c.clientId, c.secret) });
    const xml = (o: Partial<AssertionOptions> = {}) => assertionXml({ now: now(), issuer: SAML_IDP, nameId: ada.userName, ...o });
    const refusedWith = async (r: Promise<LightMyRequestResponse>, msg: RegExp, what = '') => {
      const res = await r;
      assertOAuthError(res, 400, 'invalid_grant');
      assert.match(res.json().error_description, msg, `${what}: ${res.body}`);
    };

    before(async () => {
      if (skip) return;
      ({ h, cleanup, otherNode } = await open());
      admin = await adminToken(h);
      domainId = (await h.t.services.repos.domains.getByName('default'))!.id;
      const c = await setupClient(h, { admin, scopes: ['orders.read'], client: { allowedGrants: [SAML_GRANT] } });
      client = { clientId: c.clientId, secret: c.secret };
      ada = await createUser(h, admin, `ada-${uniq()}`);
      await trust();
    });
    after(async () => { if (!skip) await cleanup(); });

    test('G3: an assertion with two bearer confirmations is single use until the later one ends, not the first', { skip }, async () => {
      // RFC 7522 §3: any one bearer SubjectConfirmation that fits is enough; here the first ends in 60 s, the second in 290 s.
      const second = `<saml:SubjectConfirmation Method="${BEARER}"><saml:SubjectConfirmationData Recipient="${ISSUER}/oauth2/v1/token" NotOnOrAfter="${new Date(now() + 290_000).toISOString()}"/></saml:SubjectConfirmation>`;
      const a = b64u(sign(xml({ notOnOrAfter: 60, conditionsNotOnOrAfter: null }).replace('</saml:Subject>', `${second}</saml:Subject>`), samlKey));
      const start = now();
      try {
        const r = await token(a);
        assert.equal(r.statusCode, 200, r.body);
        // Past the first confirmation (and the skew), the second still fits: the assertion is still acceptable, so still spent.
        (h.clock as FixedClock).set(start + 130_000);
        await refusedWith(token(a), /already used/, 'replayed after the first confirmation ended');
        (h.clock as FixedClock).set(start + 280_000);
        await refusedWith(token(a), /already used/, 'replayed just before the second ended');
      } finally {
        (h.clock as FixedClock).set(start);
      }
    });

    test('replays: on another node (the store decides, concurrently too), in another identity domain that trusts the same IdP', { skip }, async () => {
      const a = b64u(sign(xml(), samlKey));
      if (otherNode) {
        const b = await otherNode();
        try {
          const tokenOn = (x: Harness) => post(x, '/oauth2/v1/token', { grant_type: SAML_GRANT, assertion: a, scope: 'orders.read' }, { authorization: basic(client.clientId, client.secret) });
          const rs = await Promise.all([tokenOn(h), tokenOn(b), tokenOn(h), tokenOn(b)]);
          assert.deepEqual(rs.map((r) => r.statusCode).sort(), [200, 400, 400, 400], rs.map((r) => r.body).join('\n'));
        } finally { await b.close(); }
      } else {
        assert.equal((await token(a)).statusCode, 200);
        await refusedWith(token(a), /already used/);
      }
      // Another domain trusting the same IdP and certificate, with a user of the same name: the Audience is not its own.
      const d = await scim(h, 'POST', '/admin/v1/IdentityDomains', admin, { name: `saml${uniq()}` });
      assert.equal(d.statusCode, 201, d.body);
      const P = `/domains/${d.json().name}`;
      const acmeAdmin = (await clientToken(h, d.json().adminClient.client_id, d.json().adminClient.client_secret, 'urn:opc:idm:__myscopes__', P)).json().access_token as string;
      const ac = await setupClient(h, { admin: acmeAdmin, prefix: P, scopes: ['orders.read'], client: { allowedGrants: [SAML_GRANT] } });
      await createUser(h, acmeAdmin, ada.userName, {}, P);
      const ti = await scim(h, 'POST', `${P}/admin/v1/TrustedIssuers`, acmeAdmin, { schemas: [TI_SCHEMA], issuer: SAML_IDP, protocol: 'saml2', certificates: [{ value: samlKey.cert }], allowedScopes: ['orders.read'] });
      assert.equal(ti.statusCode, 201, ti.body);
      const fresh = b64u(sign(xml(), samlKey));
      await refusedWith(token(fresh, P, { clientId: ac.clientId, secret: ac.secret }), /Audience must name this authorization server/);
      assert.equal((await token(fresh)).statusCode, 200, 'still good where it was meant to go');
    });
  });
}

samlSuite('SQLite', async () => {
  const h = await harness();
  return { h, cleanup: () => h.close() };
});
samlSuite('PostgreSQL', async () => {
  const schema = schemaName();
  const mk = new MasterKey(randomBytes(32));
  const h = await harness({ masterKey: mk, database: await openPg(schema) });
  const nodes: Harness[] = [];
  const otherNode = async () => {
    const b = await harness({ masterKey: mk, clock: h.clock, database: await openPg(schema) });
    nodes.push(b);
    return b;
  };
  return { h, otherNode, cleanup: async () => { for (const b of nodes) await b.t.database.close(); await h.close(); await h.t.database.close(); await dropSchema(schema); } };
});

describe('red team: a trusted issuer\'s jwks_uri is not a fetch amplifier', () => {
  let h: Harness;
  let clock: FixedClock;
  let w: World;
  let server: Server;
  let base: string;
  const hits: Record<string, number> = {};
  const served: Record<string, { status: number; body?: unknown; delayMs?: number }> = {};
  before(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? '';
      hits[path] = (hits[path] ?? 0) + 1;
      const s = served[path] ?? { status: 404 };
      setTimeout(() => res.writeHead(s.status, { 'content-type': 'application/json' }).end(JSON.stringify(s.body ?? {})), s.delayMs ?? 0);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    clock = new FixedClock(Date.now());
    h = await harness({ clock, config: { unsafeAllowPrivateFetch: true } });
    w = await world(h);
  });
  after(async () => {
    await h.close();
    await new Promise((r) => server.close(r));
  });

  const issuerWithUri = async (path: string) => {
    const t = await trustIssuer(h, { issuer: `https://uri-${uniq()}.example`, jwksUri: `${base}${path}`, subjectAttribute: 'email', allowedScopes: ['jb.read'] });
    return t;
  };
  /** A well-formed assertion for the issuer with a kid it never published (anyone holding client credentials can make one). */
  const unknownKid = async (t: TrustedIssuerRecord, s: Signer) => assertion(h, s.key, { iss: t.issuer, sub: w.ada.email }, { kid: `nope-${uniq()}` });

  test('G4: concurrent assertions with unknown kids share one refetch of the jwks_uri', async () => {
    const s = await signer('RS256', 'k1');
    served['/jwks-a'] = { status: 200, body: { keys: [s.jwk] }, delayMs: 50 };
    const t = await issuerWithUri('/jwks-a');
    const ok = await grant(h, await assertion(h, s.key, { iss: t.issuer, sub: w.ada.email }, { kid: 'k1' }), { scope: 'jb.read', auth: w.partner.auth });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(hits['/jwks-a'], 1);
    clock.advance(61_000);
    const rs = await Promise.all(Array.from({ length: 20 }, async () => grant(h, await unknownKid(t, s), { scope: 'jb.read', auth: w.partner.auth })));
    for (const r of rs) assertOAuthError(r, 400, 'invalid_grant');
    assert.equal(hits['/jwks-a'], 2, 'one refetch for twenty requests');
  });

  test('G4: a jwks_uri that fails is not fetched again for every request (nor for every concurrent one)', async () => {
    const s = await signer('RS256', 'k2');
    served['/jwks-down'] = { status: 503, delayMs: 20 };
    const t = await issuerWithUri('/jwks-down');
    const rs = await Promise.all(Array.from({ length: 10 }, async () => grant(h, await assertion(h, s.key, { iss: t.issuer, sub: w.ada.email }, { kid: 'k2' }), { scope: 'jb.read', auth: w.partner.auth })));
    for (const r of rs) {
      assertOAuthError(r, 400, 'invalid_grant');
      assert.match(r.json().error_description, /jwks_uri cannot be read/);
    }
    for (let i = 0; i < 10; i++) assertOAuthError(await grant(h, await unknownKid(t, s), { scope: 'jb.read', auth: w.partner.auth }), 400, 'invalid_grant');
    assert.equal(hits['/jwks-down'], 1, 'one fetch, then the failure is remembered for a while');
    // Once the partner is back, a later request fetches again.
    served['/jwks-down'] = { status: 200, body: { keys: [s.jwk] } };
    clock.advance(61_000);
    const ok = await grant(h, await assertion(h, s.key, { iss: t.issuer, sub: w.ada.email }, { kid: 'k2' }), { scope: 'jb.read', auth: w.partner.auth });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(hits['/jwks-down'], 2);
  });
});

describe('red team: JWT bearer assertions made before the user\'s tokens were cut off', () => {
  let h: Harness;
  let clock: FixedClock;
  let w: World;
  before(async () => { clock = new FixedClock(Date.now()); h = await harness({ clock }); w = await world(h); });
  after(() => h.close());

  const cutOff = async (userId: string) => {
    for (const active of [false, true]) {
      const r = await scim(h, 'PATCH', `/admin/v1/Users/${userId}`, w.admin, patchOp({ op: 'replace', path: 'active', value: active }));
      assert.equal(r.statusCode, 200, r.body);
    }
  };

  test('G5: an assertion issued before the user was deactivated (and reactivated) is spent, as a SAML one is; one issued after works', async () => {
    const before = await assertion(h, w.idp.signer.key, { iss: w.idp.rec.issuer, sub: w.ada.email });
    const noIat = await assertion(h, w.idp.signer.key, { iss: w.idp.rec.issuer, sub: w.ada.email, iat: null });
    const own = await assertion(h, w.trusted.signer.key, { iss: w.trusted.clientId, sub: w.ada.userName }, { alg: 'ES256' });
    clock.advance(5_000);
    await cutOff(w.ada.id);
    clock.advance(5_000);
    for (const [what, a, auth] of [['trusted issuer', before, w.partner.auth], ['no iat', noIat, w.partner.auth], ['trusted client', own, undefined]] as const) {
      const r = await grant(h, a, { scope: 'jb.read', ...(auth ? { auth } : {}) });
      assertOAuthError(r, 400, 'invalid_grant');
      assert.match(r.json().error_description, /does not name an active user/, what);
    }
    const after = await grant(h, await assertion(h, w.idp.signer.key, { iss: w.idp.rec.issuer, sub: w.ada.email }), { scope: 'jb.read', auth: w.partner.auth });
    assert.equal(after.statusCode, 200, after.body);
    assert.equal(decode(after.json().access_token).payload.sub, w.ada.id);
  });
});

/** An RSA key pair whose public exponent is as large as its modulus (valid RSA, RFC 8017 §3.1, but a verify costs as much as a signature). */
function hugeExponentKey(): { privateKey: KeyObject; jwk: Record<string, string> } {
  const b2n = (b: string) => BigInt(`0x${Buffer.from(b, 'base64url').toString('hex')}`);
  const n2b = (n: bigint) => { const x = n.toString(16); return Buffer.from(x.length % 2 ? `0${x}` : x, 'hex').toString('base64url'); };
  const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
  const inverse = (a: bigint, m: bigint) => {
    let [r0, r1, x0, x1] = [a % m, m, 1n, 0n];
    while (r1 !== 0n) { const q = r0 / r1; [r0, r1] = [r1, r0 - q * r1]; [x0, x1] = [x1, x0 - q * x1]; }
    return ((x0 % m) + m) % m;
  };
  const j = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as Record<string, string>;
  const p = b2n(j.p!), q = b2n(j.q!), n = p * q, phi = (p - 1n) * (q - 1n);
  let e = (n >> 1n) | 1n;
  while (gcd(e, phi) !== 1n) e += 2n;
  const d = inverse(e, phi);
  const privateKey = createPrivateKey({ key: { kty: 'RSA', n: n2b(n), e: n2b(e), d: n2b(d), p: j.p, q: j.q, dp: n2b(d % (p - 1n)), dq: n2b(d % (q - 1n)), qi: j.qi }, format: 'jwk' });
  return { privateKey, jwk: { kty: 'RSA', n: n2b(n), e: n2b(e), kid: `huge-${uniq()}`, alg: 'RS256', use: 'sig' } };
}

describe('red team: JWT bearer keys that cost too much to verify', () => {
  let h: Harness;
  let w: World;
  before(async () => { h = await harness(); w = await world(h); });
  after(() => h.close());

  test('G7: an RSA key with a huge public exponent (or a modulus over 8192 bits) verifies nothing, and the admin API refuses it', async () => {
    const huge = hugeExponentKey();
    const t = await trustIssuer(h, { issuer: `https://huge-${uniq()}.example`, jwks: { keys: [huge.jwk as never] }, subjectAttribute: 'email', allowedScopes: ['jb.read'] });
    const r = await grant(h, await assertion(h, huge.privateKey, { iss: t.issuer, sub: w.ada.email }, { kid: huge.jwk.kid }), { scope: 'jb.read', auth: w.partner.auth });
    assertOAuthError(r, 400, 'invalid_grant');
    assert.match(r.json().error_description, /signature does not verify/);
    const body = { schemas: [TI_SCHEMA], issuer: `https://huge-${uniq()}.example`, protocol: 'jwt', subjectAttribute: 'email', allowedScopes: ['jb.read'] };
    const a = await scim(h, 'POST', '/admin/v1/TrustedIssuers', w.admin, { ...body, jwks: { keys: [huge.jwk] } });
    assertScimError(a, 400, 'invalidValue');
    assert.match(a.json().detail, /jwks\.keys\[0\].*exponent/);
    const big = generateKeyPairSync('rsa', { modulusLength: 8200 }).publicKey.export({ format: 'jwk' });
    const b = await scim(h, 'POST', '/admin/v1/TrustedIssuers', w.admin, { ...body, jwks: { keys: [{ ...big, kid: 'big' }] } });
    assertScimError(b, 400, 'invalidValue');
    assert.match(b.json().detail, /8200 bits/);
  });
});

describe('red team: TrustedIssuers input on PostgreSQL (U+0000, filters, PATCH paths)', async () => {
  const available = await pgAvailable();
  const skip = available === true ? false : String(available);
  const schema = schemaName();
  let h: Harness;
  let root: string;
  let existing: string;
  const cert = makeCert({ cn: 'nul.example' }).cert;
  const jwk = { kty: 'EC', ...(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as object), kid: 'ec-1' };
  const body = (o: Record<string, unknown> = {}) => ({ schemas: [TI_SCHEMA], issuer: `https://pg-${uniq()}.example`, protocol: 'jwt', jwks: { keys: [jwk] }, allowedScopes: ['openid'], ...o });
  before(async () => {
    if (skip) return;
    h = await harness({ database: await openPg(schema) });
    root = await adminToken(h);
    const r = await scim(h, 'POST', '/admin/v1/TrustedIssuers', root, body());
    assert.equal(r.statusCode, 201, r.body);
    existing = r.json().id;
  });
  after(async () => { if (skip) return; await h.close(); await h.t.database.close(); await dropSchema(schema); });

  test('U+0000 in any string attribute, on POST, PUT and PATCH, is a 400, never a 500', { skip }, async () => {
    const N = '\u0000';
    const bodies: [string, Record<string, unknown>][] = [
      ['displayName', { displayName: `a${N}b` }], ['description', { description: `a${N}b` }], ['audience', { audience: `urn:a${N}b` }],
      ['allowedClients', { allowedClients: [`c${N}`] }], ['allowedScopes', { allowedScopes: [`openid${N}`] }], ['subjectAttribute', { subjectAttribute: `email${N}` }],
      ['jwksUri', { jwks: undefined, jwksUri: `https://k.example/${N}` }], ['jwks kid', { jwks: { keys: [{ ...jwk, kid: `k${N}` }] } }],
      ['jwks kty', { jwks: { keys: [{ ...jwk, kty: `EC${N}` }] } }], ['certificate', { jwks: undefined, certificates: [{ value: `${cert}${N}` }] }],
      ['schemas', { schemas: [`${TI_SCHEMA}${N}`] }], ['an attribute name', { [`x${N}`]: 1 }],
    ];
    for (const [what, o] of bodies) {
      for (const [method, url] of [['POST', '/admin/v1/TrustedIssuers'], ['PUT', `/admin/v1/TrustedIssuers/${existing}`]] as const) {
        const r = await scim(h, method, url, root, body(o));
        assert.equal(r.statusCode, 400, `${method} ${what}: ${r.statusCode} ${r.body}`);
      }
    }
    for (const [path, value] of [['displayName', `x${N}`], ['allowedClients', [`c${N}`]], [`displayName${N}`, 'x'], ['audience', `a${N}`], ['jwks', { keys: [{ ...jwk, kid: N }] }]] as const) {
      const r = await scim(h, 'PATCH', `/admin/v1/TrustedIssuers/${existing}`, root, patchOp({ op: 'replace', path, value }));
      assert.ok(r.statusCode === 400, `PATCH ${JSON.stringify(path)}: ${r.statusCode} ${r.body}`);
    }
    for (const f of ['displayName eq "a\u0000"', 'allowedClients eq "\u0000"', 'audience co "\u0000"', 'id eq "\u0000"', 'jwksUri sw "\u0000"']) {
      const r = await scim(h, 'GET', `/admin/v1/TrustedIssuers?filter=${encodeURIComponent(f)}`, root);
      assert.ok(r.statusCode === 400 || (r.statusCode === 200 && r.json().totalResults === 0), `${f}: ${r.statusCode} ${r.body}`);
    }
    const s = await scim(h, 'GET', `/admin/v1/TrustedIssuers?sortBy=${encodeURIComponent('issuer\u0000')}`, root);
    assert.ok(s.statusCode === 400 || s.statusCode === 200, `sortBy: ${s.statusCode} ${s.body}`);
    // Nothing changed.
    const now = await scim(h, 'GET', `/admin/v1/TrustedIssuers/${existing}`, root);
    assert.equal(now.json().meta.version, 'W/"1"');
  });
});

describe('red team: already refused (regression guards)', () => {
  let h: Harness;
  let w: World;
  let server: Server;
  let base: string;
  const hits: Record<string, number> = {};
  before(async () => {
    server = createServer((req, res) => {
      hits[req.url ?? ''] = (hits[req.url ?? ''] ?? 0) + 1;
      if (req.url === '/redirect') res.writeHead(302, { location: `${base}/target` }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    h = await harness();
    w = await world(h);
  });
  after(async () => { await h.close(); await new Promise((r) => server.close(r)); });
  const fromIdp = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    assertion(h, w.idp.signer.key, { iss: w.idp.rec.issuer, sub: w.ada.email, ...claims }, header);

  test('jwksUri SSRF: every spelling of loopback, link-local, private, NAT64 / 6to4 wrappers and unspecified addresses is refused at registration', async () => {
    const uris = [
      'https://127.1/jwks', 'https://2130706433/jwks', 'https://0x7f000001/jwks', 'https://0177.0.0.1/jwks', 'https://[::1]/jwks', 'https://[::ffff:127.0.0.1]/jwks',
      'https://[::ffff:7f00:1]/jwks', 'https://169.254.169.254/latest/meta-data', 'https://[fe80::1]/jwks', 'https://0.0.0.0/jwks', 'https://[::]/jwks',
      'https://100.64.0.1/jwks', 'https://192.168.1.1/jwks', 'https://[fd00::1]/jwks', 'https://[64:ff9b::7f00:1]/jwks', 'https://[2002:7f00:1::]/jwks',
      'https://a.localhost/jwks', 'https://224.0.0.1/jwks',
    ];
    for (const jwksUri of uris) {
      const r = await scim(h, 'POST', '/admin/v1/TrustedIssuers', w.admin, { schemas: [TI_SCHEMA], issuer: `https://ssrf-${uniq()}.example`, protocol: 'jwt', jwksUri, allowedScopes: ['jb.read'] });
      assertScimError(r, 400, 'invalidValue');
      assert.match(r.json().detail, /jwksUri (must not point at a private|must be an https URL)/, jwksUri);
    }
  });

  test('G8: a jwksUri host with a trailing dot (localhost., 127.0.0.1.) is refused at registration like the same host without it', async () => {
    for (const jwksUri of ['https://localhost./jwks', 'https://LOCALHOST./jwks', 'https://a.localhost./jwks', 'https://127.0.0.1./jwks', 'https://169.254.169.254./latest']) {
      const r = await scim(h, 'POST', '/admin/v1/TrustedIssuers', w.admin, { schemas: [TI_SCHEMA], issuer: `https://dot-${uniq()}.example`, protocol: 'jwt', jwksUri, allowedScopes: ['jb.read'] });
      assertScimError(r, 400, 'invalidValue');
      assert.match(r.json().detail, /jwksUri must not point at a private, loopback or link-local address/, jwksUri);
    }
  });

  test('jwksUri SSRF at fetch time: a private address stored by other means is never connected to; a redirect is not followed', async () => {
    const t = await trustIssuer(h, { issuer: `https://stored-${uniq()}.example`, jwksUri: `${base}/private`, subjectAttribute: 'email', allowedScopes: ['jb.read'] });
    const r = await grant(h, await assertion(h, w.idp.signer.key, { iss: t.issuer, sub: w.ada.email }), { scope: 'jb.read', auth: w.partner.auth });
    assertOAuthError(r, 400, 'invalid_grant');
    assert.equal(hits['/private'], undefined, 'not fetched (private fetching is off)');
    const p = await harness({ config: { unsafeAllowPrivateFetch: true } });
    try {
      const pw = await world(p);
      const t2 = await trustIssuer(p, { issuer: `https://redir-${uniq()}.example`, jwksUri: `${base}/redirect`, subjectAttribute: 'email', allowedScopes: ['jb.read'] });
      const r2 = await grant(p, await assertion(p, pw.idp.signer.key, { iss: t2.issuer, sub: pw.ada.email }), { scope: 'jb.read', auth: pw.partner.auth });
      assertOAuthError(r2, 400, 'invalid_grant');
      assert.match(r2.json().error_description, /jwks_uri cannot be read/);
      assert.equal(hits['/redirect'], 1);
      assert.equal(hits['/target'], undefined, 'the redirect was not followed');
    } finally { await p.close(); }
  });

  test('kid naming another issuer\'s key, signed with that key: keys come from the assertion\'s own issuer only', async () => {
    const other = await signer('RS256', `other-${uniq()}`);
    await trustIssuer(h, { issuer: `https://other-${uniq()}.example`, jwks: { keys: [other.jwk as never] }, subjectAttribute: 'email', allowedScopes: ['jb.read'] });
    const r = await grant(h, await assertion(h, other.key, { iss: w.idp.rec.issuer, sub: w.ada.email }, { kid: other.jwk.kid }), { scope: 'jb.read', auth: w.partner.auth });
    assertOAuthError(r, 400, 'invalid_grant');
    assert.match(r.json().error_description, /no registered key of the issuer verifies RS256 with this kid/);
    // Without a kid, the other issuer's key is not among those tried either.
    const r2 = await grant(h, await assertion(h, other.key, { iss: w.idp.rec.issuer, sub: w.ada.email }), { scope: 'jb.read', auth: w.partner.auth });
    assertOAuthError(r2, 400, 'invalid_grant');
    assert.match(r2.json().error_description, /signature does not verify/);
  });

  test('a replay spelled differently (signature with other trailing bits, a header re-encoded) is still the same jti: refused', async () => {
    const a = await fromIdp();
    assert.equal((await grant(h, a, { scope: 'jb.read', auth: w.partner.auth })).statusCode, 200);
    const [hd, pl, sig] = a.split('.') as [string, string, string];
    const last = sig.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    for (const v of [`${hd}.${pl}.${sig.slice(0, -1)}${sibling}`, `${hd}.${pl}.${sig}=`, `${hd}=.${pl}.${sig}`, ` ${a}`, `${a}.`]) {
      const r = await grant(h, v, { scope: 'jb.read', auth: w.partner.auth });
      assertOAuthError(r, 400, 'invalid_grant');
    }
  });

  test('sub mapping: another domain\'s user id, a user id with other case, a NUL, an invisible character in a userName, an email shared by two users', async () => {
    const d = await scim(h, 'POST', '/admin/v1/IdentityDomains', w.admin, { name: `acme${uniq()}` });
    assert.equal(d.statusCode, 201, d.body);
    const acmeAdmin = (await clientToken(h, d.json().adminClient.client_id, d.json().adminClient.client_secret, 'urn:opc:idm:__myscopes__', `/domains/${d.json().name}`)).json().access_token as string;
    const stranger = await createUser(h, acmeAdmin, `stranger-${uniq()}`, {}, `/domains/${d.json().name}`);
    const byId = await trustIssuer(h, { issuer: `https://byid-${uniq()}.example`, jwks: { keys: [w.idp.signer.jwk as never] }, subjectAttribute: 'id', allowedScopes: ['jb.read'] });
    const byName = await trustIssuer(h, { issuer: `https://byname-${uniq()}.example`, jwks: { keys: [w.idp.signer.jwk as never] }, subjectAttribute: 'userName', allowedScopes: ['jb.read'] });
    const refusedSub = async (iss: string, sub: string) => {
      const r = await grant(h, await assertion(h, w.idp.signer.key, { iss, sub }), { scope: 'jb.read', auth: w.partner.auth });
      assertOAuthError(r, 400, 'invalid_grant');
      assert.match(r.json().error_description, /does not name an active user|sub is not usable/, sub);
    };
    await refusedSub(byId.issuer, stranger.id);
    await refusedSub(byId.issuer, w.ada.id.toUpperCase());
    await refusedSub(byId.issuer, `${w.ada.id}\u0000`);
    await refusedSub(byName.issuer, `${w.ada.userName}\u200b`);
    await refusedSub(byName.issuer, `${w.ada.userName}\u0000`);
    const twin = await createUser(h, w.admin, `twin-${uniq()}`, { emails: [{ value: w.ada.email.toUpperCase(), type: 'work' }] });
    await refusedSub(w.idp.rec.issuer, w.ada.email);
    const del = await scim(h, 'DELETE', `/admin/v1/Users/${twin.id}`, w.admin);
    assert.equal(del.statusCode, 204, del.body);
    const ok = await grant(h, await fromIdp(), { scope: 'jb.read', auth: w.partner.auth });
    assert.equal(ok.statusCode, 200, ok.body);
  });

  test('an issuer listing a client that holds admin roles yields no admin scope for an administrator it names, through __myscopes__ or role.NAME', async () => {
    const boss = await createUser(h, w.admin, `boss-${uniq()}`);
    await grantRole(h, w.admin, 'Identity Domain Administrator', 'User', boss.id);
    const console_ = await createApp(h, w.admin, { allowedGrants: [JWT_BEARER], allowedScopes: [{ fqs: 'jb.read' }] });
    await grantRole(h, w.admin, 'Identity Domain Administrator', 'App', console_.id);
    const t = await trustIssuer(h, { issuer: `https://adm-${uniq()}.example`, jwks: { keys: [w.idp.signer.jwk as never] }, subjectAttribute: 'userName', allowedScopes: ['jb.read', 'openid'], allowedClients: [console_.clientId] });
    const auth = basic(console_.clientId, console_.secret!);
    for (const scope of ['urn:opc:idm:__myscopes__', 'urn:opc:idm:role.Identity%20Domain%20Administrator', 'urn:opc:idm:t.settings', `${ME} jb.read`]) {
      const r = await grant(h, await assertion(h, w.idp.signer.key, { iss: t.issuer, sub: boss.userName }), { scope, auth });
      if (r.statusCode === 200) assert.deepEqual(r.json().scope.split(' ').filter((s: string) => s.startsWith('urn:opc:idm:')), [], `${scope}: ${r.body}`);
      else assertOAuthError(r, 400, 'invalid_scope');
    }
  });

  test('a disabled issuer, a disabled client, a public client, a client another issuer lists only: refused; the scope cap holds for role.NAME', async () => {
    const repo = h.t.services.repos.trustedIssuers;
    const t = await trustIssuer(h, { issuer: `https://cap-${uniq()}.example`, jwks: { keys: [w.idp.signer.jwk as never] }, subjectAttribute: 'email', allowedScopes: ['jb.read'] });
    const a = () => assertion(h, w.idp.signer.key, { iss: t.issuer, sub: w.ada.email });
    // ada and the partner both hold JB Role, but the issuer does not allow jb.role.
    assertOAuthError(await grant(h, await a(), { scope: 'urn:opc:idm:role.JB%20Role', auth: w.partner.auth }), 400, 'invalid_scope');
    const mine = await grant(h, await a(), { scope: 'urn:opc:idm:__myscopes__ jb.read', auth: w.partner.auth });
    assert.equal(mine.statusCode, 200, mine.body);
    assert.equal(mine.json().scope, 'jb.read');
    const rec = (await repo.get(t.domainId, t.id))!;
    await repo.update({ ...rec, active: false }, rec.version);
    assertOAuthError(await grant(h, await a(), { scope: 'jb.read', auth: w.partner.auth }), 400, 'invalid_grant');
    const pub = await scim(h, 'POST', '/admin/v1/Apps', w.admin, { schemas: [APP_SCHEMA], displayName: `pub-${uniq()}`, isOAuthClient: true, clientType: 'public', allowedGrants: [JWT_BEARER], redirectUris: ['https://app.example/cb'] });
    assert.equal(pub.statusCode, 400, pub.body);
    const off = await createApp(h, w.admin, { allowedGrants: [JWT_BEARER], allowedScopes: [{ fqs: 'jb.read' }] });
    assert.equal((await scim(h, 'PATCH', `/admin/v1/Apps/${off.id}`, w.admin, patchOp({ op: 'replace', path: 'active', value: false }))).statusCode, 200);
    assertOAuthError(await grant(h, await fromIdp(), { scope: 'jb.read', auth: basic(off.clientId, off.secret!) }), 401, 'invalid_client');
  });
});

describe('red team: a trusted client\'s user grants follow its allowUserAssertions', () => {
  let h: Harness;
  let w: World;
  before(async () => { h = await harness(); w = await world(h); });
  after(() => h.close());

  test('G9: once an administrator takes allowUserAssertions away, the refresh tokens it gave for users stop working; its own client grants are unaffected', async () => {
    const s = await signer('ES256', `gw-${uniq()}`);
    const gw = await createApp(h, w.admin, {
      allowedGrants: [JWT_BEARER, 'refresh_token'], allowedScopes: [{ fqs: 'jb.read' }, { fqs: 'offline_access' }], jwks: { keys: [s.jwk] }, allowUserAssertions: true,
    });
    const asUser = await grant(h, await assertion(h, s.key, { iss: gw.clientId, sub: w.ada.userName }, { alg: 'ES256' }), { scope: 'jb.read offline_access' });
    assert.equal(asUser.statusCode, 200, asUser.body);
    const rt = asUser.json().refresh_token as string;
    assert.ok(rt);
    const auth = basic(gw.clientId, gw.secret!);
    const r1 = await post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: rt }, { authorization: auth });
    assert.equal(r1.statusCode, 200, r1.body);
    const off = await scim(h, 'PATCH', `/admin/v1/Apps/${gw.id}`, w.admin, patchOp({ op: 'replace', path: 'allowUserAssertions', value: false }));
    assert.equal(off.statusCode, 200, off.body);
    assertOAuthError(await grant(h, await assertion(h, s.key, { iss: gw.clientId, sub: w.ada.userName }, { alg: 'ES256' }), { scope: 'jb.read' }), 400, 'unauthorized_client');
    const r2 = await post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: r1.json().refresh_token }, { authorization: auth });
    assertOAuthError(r2, 400, 'invalid_grant');
    assert.match(r2.json().error_description, /allowUserAssertions/);
    // Its own client token (sub = itself) still works.
    const own = await grant(h, await assertion(h, s.key, { iss: gw.clientId, sub: gw.clientId }, { alg: 'ES256' }), { scope: 'jb.read' });
    assert.equal(own.statusCode, 200, own.body);
  });
});
