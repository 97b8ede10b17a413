/**
 * Issue 10, "every node": two nodes of two workers each (four app instances on one store), every one
 * caching for 300 s with a frozen clock, so only the change notifications can make a change made
 * through one instance visible on the others. Each change must be effective everywhere within one
 * second (polled every 50 ms). Run on PostgreSQL (LISTEN/NOTIFY) and on one SQLite file (change log).
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { FixedClock } from '../../src/core/clock.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { openDatabase } from '../../src/storage/db.js';
import { runMaintenance } from '../../src/maintenance.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from '../contract/pg.js';
import { adminToken, assertOAuthError, basic, clientToken, decode, grantRole, harness, post, scim, setupClient, type Harness } from '../helpers.js';
import { assertion, grant, world, type World } from '../jwt_bearer_world.js';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const patchOp = (...Operations: Record<string, unknown>[]) => ({ schemas: [PATCH], Operations });
const ADMIN_SCOPE = 'urn:opc:idm:t.apps';

/** Poll `check` every 50 ms (also used to warm the caches: a new client or scope reaches the others by the same notifications) for up to one second; the last failure is reported. */
async function withinOneSecond(what: string, check: () => Promise<void>): Promise<number> {
  const start = Date.now();
  let last: unknown;
  for (;;) {
    try { await check(); return Date.now() - start; } catch (e) { last = e; }
    if (Date.now() - start > 1000) throw new Error(`${what}: not effective within 1 s: ${(last as Error).message}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const intro = (h: Harness, token: string, auth: string): Promise<LightMyRequestResponse> => post(h, '/oauth2/v1/introspect', { token }, { authorization: auth });

function flow(nodes: () => Harness[], env: () => Record<string, string>, skip: string | false) {
  let w: World;
  let admin: string;
  const others = () => nodes().slice(1);
  before(async () => {
    if (!skip) w = await world(nodes()[0]!);
  });
  // A fresh administrator token for each test (a test moves the clocks by days).
  beforeEach(async () => {
    if (!skip) admin = await adminToken(nodes()[0]!);
  });

  test('a client disabled through one instance is refused by the three others', { skip }, async () => {
    const [a] = nodes();
    const c = await setupClient(a!, { admin, scopes: ['inv.dis'] });
    for (const h of nodes()) await withinOneSecond('warm', async () => assert.equal((await clientToken(h, c.clientId, c.secret, 'inv.dis')).statusCode, 200, 'warm: cached as active everywhere'));
    const r = await scim(a!, 'PATCH', `/admin/v1/Apps/${c.app.id}`, admin, patchOp({ op: 'replace', path: 'active', value: false }));
    assert.equal(r.statusCode, 200, r.body);
    for (const h of others()) {
      await withinOneSecond('disabled client', async () => assertOAuthError(await clientToken(h, c.clientId, c.secret, 'inv.dis'), 401, 'invalid_client'));
    }
  });

  test('a token revoked through one instance is inactive on the others', { skip }, async () => {
    const [a, , b1] = nodes();
    const c = await setupClient(b1!, { admin, scopes: ['inv.rev'] });
    const auth = basic(c.clientId, c.secret);
    const at = (await clientToken(b1!, c.clientId, c.secret, 'inv.rev')).json().access_token as string;
    for (const h of nodes()) await withinOneSecond('warm', async () => assert.equal((await intro(h, at, auth)).json().active, true));
    assert.equal((await post(a!, '/oauth2/v1/revoke', { token: at }, { authorization: auth })).statusCode, 200);
    for (const h of others()) await withinOneSecond('revoked token', async () => assert.deepEqual((await intro(h, at, auth)).json(), { active: false }));
  });

  test('a grant revoked through one instance (its refresh token): its access token and refresh token are refused on the others', { skip }, async () => {
    const [a] = nodes();
    const r = await grant(a!, await assertion(a!, w.idp.signer.key, { iss: w.idp.rec.issuer, sub: w.ada.email }, { kid: 'idp-1' }), { scope: 'jb.read offline_access', auth: w.partner.auth });
    assert.equal(r.statusCode, 200, r.body);
    const { access_token: at, refresh_token: rt } = r.json() as { access_token: string; refresh_token: string };
    for (const h of nodes()) await withinOneSecond('warm', async () => assert.equal((await intro(h, at, w.partner.auth)).json().active, true));
    assert.equal((await post(a!, '/oauth2/v1/revoke', { token: rt, token_type_hint: 'refresh_token' }, { authorization: w.partner.auth })).statusCode, 200);
    for (const h of others()) {
      await withinOneSecond('revoked grant', async () => assert.deepEqual((await intro(h, at, w.partner.auth)).json(), { active: false }));
    }
    assertOAuthError(await post(nodes()[3]!, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: rt }, { authorization: w.partner.auth }), 400, 'invalid_grant');
  });

  test('keys rotated through one instance sign on the others at once; the retired key, purged, leaves their JWKS', { skip }, async () => {
    const [a] = nodes();
    const c = await setupClient(a!, { admin, scopes: ['inv.key'] });
    const kid = async (h: Harness) => {
      const r = await clientToken(h, c.clientId, c.secret, 'inv.key');
      assert.equal(r.statusCode, 200, r.body);
      return decode(r.json().access_token).header.kid as string;
    };
    const jwks = async (h: Harness) => ((await h.inject({ url: '/admin/v1/SigningCert/jwk' })).json().keys as { kid: string }[]).map((k) => k.kid);
    const before = await kid(a!);
    for (const h of nodes()) await withinOneSecond('warm', async () => assert.equal(await kid(h), before, 'warm: every instance signs with the same key'));
    const rot = await scim(a!, 'POST', '/admin/v1/SigningKeys/rotate', admin, { alg: 'RS256' });
    assert.equal(rot.statusCode, 200, rot.body);
    const { active, next, retired } = rot.json() as { active: string; next: string; retired: string };
    assert.equal(retired, before);
    for (const h of others()) {
      await withinOneSecond('rotated key', async () => assert.equal(await kid(h), active));
      assert.ok((await jwks(h)).includes(next), 'the new next key is published everywhere');
    }
    // Past the retired key's publication: every instance still has it cached (the clocks moved, the caches were warmed after).
    for (const h of nodes()) (h.clock as FixedClock).advance(10 * 86_400_000);
    for (const h of nodes()) assert.ok((await jwks(h)).includes(before), 'warm: the retired key is still cached');
    const purged = await runMaintenance(a!.t.services);
    assert.ok(purged.keys! >= 1, JSON.stringify(purged));
    for (const [i, h] of others().entries()) {
      await withinOneSecond('purged key', async () => assert.ok(!(await jwks(h)).includes(before), `instance ${i + 1}: ${JSON.stringify(h.t.services.changes.stats)} ${h.t.services.changes.live}`));
    }
  });

  test('a domain setting changed through one instance applies on the others', { skip }, async () => {
    const [a] = nodes();
    const c = await setupClient(a!, { admin, scopes: ['inv.ttl'] });
    const ttl = async (h: Harness) => (await clientToken(h, c.clientId, c.secret, 'inv.ttl')).json().expires_in as number;
    const was = await ttl(a!);
    for (const h of nodes()) await withinOneSecond('warm', async () => assert.equal(await ttl(h), was));
    const want = was === 900 ? 1200 : 900;
    const r = await scim(a!, 'PATCH', '/admin/v1/Settings', admin, { accessTokenTtl: want });
    assert.equal(r.statusCode, 200, r.body);
    for (const h of others()) await withinOneSecond('setting', async () => assert.equal(await ttl(h), want));
  });

  test('a role granted to a client through one instance applies on the others, and so does its removal', { skip }, async () => {
    const [a] = nodes();
    const c = await setupClient(a!, { admin, scopes: ['inv.role'] });
    const scopes = async (h: Harness) => {
      const r = await clientToken(h, c.clientId, c.secret, ADMIN_SCOPE);
      return r.statusCode === 200 ? String(r.json().scope) : `${r.statusCode} ${r.json().error}`;
    };
    const without = await scopes(a!);
    assert.doesNotMatch(without, new RegExp(`^${ADMIN_SCOPE}$`));
    for (const h of nodes()) await withinOneSecond('warm', async () => assert.equal(await scopes(h), without, 'warm: the catalog without the grant is cached everywhere'));
    const g = await grantRole(a!, admin, 'Identity Domain Administrator', 'App', c.app.id);
    for (const h of others()) await withinOneSecond('granted role', async () => assert.equal(await scopes(h), ADMIN_SCOPE));
    assert.equal((await scim(a!, 'DELETE', `/admin/v1/Grants/${g}`, admin)).statusCode, 204);
    for (const h of others()) await withinOneSecond('removed grant', async () => assert.equal(await scopes(h), without));
  });

  test('an app role changed through one instance (its scopes): the others issue the new scopes', { skip }, async () => {
    const [a] = nodes();
    const roles = await scim(a!, 'GET', `/admin/v1/AppRoles?filter=${encodeURIComponent('displayName eq "JB Other"')}`, admin);
    const role = roles.json().Resources[0] as { id: string };
    const ask = async (h: Harness) => {
      const r = await grant(h, await assertion(h, w.idp.signer.key, { iss: w.idp.rec.issuer, sub: w.ada.email }, { kid: 'idp-1' }), { scope: 'jb.other', auth: w.partner.auth });
      return r.statusCode === 200 ? String(r.json().scope) : `${r.statusCode} ${r.json().error}`;
    };
    const was = await ask(a!);
    for (const h of nodes()) await withinOneSecond('warm', async () => assert.equal(await ask(h), was));
    // Give ada the role: users' roles are read from the store at every use (not cached), roles' scopes are.
    await grantRole(a!, admin, 'JB Other', 'User', w.ada.id);
    const now = await ask(a!);
    assert.equal(now, 'jb.other', 'ada holds JB Other now');
    for (const h of others()) await withinOneSecond('user grant', async () => assert.equal(await ask(h), 'jb.other'));
    const r = await scim(a!, 'PATCH', `/admin/v1/AppRoles/${role.id}`, admin, patchOp({ op: 'replace', path: 'scopes', value: [{ value: 'jb.write' }] }));
    assert.equal(r.statusCode, 200, r.body);
    for (const h of others()) await withinOneSecond('changed role', async () => assert.notEqual(await ask(h), 'jb.other'));
  });

  test('a user deactivated, then one deleted, through one instance: their tokens are inactive on the others', { skip }, async () => {
    const [a] = nodes();
    const user = async () => {
      const r = await scim(a!, 'POST', '/admin/v1/Users', admin, {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `u-${randomBytes(3).toString('hex')}`, emails: [{ value: `u-${randomBytes(3).toString('hex')}@example.com`, primary: true }],
      });
      assert.equal(r.statusCode, 201, r.body);
      const u = r.json() as { id: string; userName: string; emails: { value: string }[] };
      const t = await grant(a!, await assertion(a!, w.idp.signer.key, { iss: w.idp.rec.issuer, sub: u.emails[0]!.value }, { kid: 'idp-1' }), { scope: 'jb.read', auth: w.partner.auth });
      assert.equal(t.statusCode, 200, t.body);
      return { ...u, at: t.json().access_token as string };
    };
    const auth = w.partner.auth;
    const [u1, u2] = [await user(), await user()];
    for (const h of nodes()) for (const u of [u1, u2]) await withinOneSecond('warm', async () => assert.equal((await intro(h, u.at, auth)).json().active, true));
    assert.equal((await scim(a!, 'PATCH', `/admin/v1/Users/${u1.id}`, admin, patchOp({ op: 'replace', path: 'active', value: false }))).statusCode, 200);
    assert.equal((await scim(a!, 'DELETE', `/admin/v1/Users/${u2.id}`, admin)).statusCode, 204);
    for (const h of others()) {
      for (const u of [u1, u2]) await withinOneSecond('user gone', async () => assert.deepEqual((await intro(h, u.at, auth)).json(), { active: false }));
    }
  });

  test('a trusted issuer deactivated through one instance: its assertions are refused on the others', { skip }, async () => {
    const [a] = nodes();
    const ask = async (h: Harness) => grant(h, await assertion(h, w.idp.signer.key, { iss: w.idp.rec.issuer, sub: w.ada.email }, { kid: 'idp-1' }), { scope: 'jb.read', auth: w.partner.auth });
    for (const h of nodes()) await withinOneSecond('warm', async () => assert.equal((await ask(h)).statusCode, 200));
    const r = await scim(a!, 'PATCH', `/admin/v1/TrustedIssuers/${w.idp.rec.id}`, admin, patchOp({ op: 'replace', path: 'active', value: false }));
    assert.equal(r.statusCode, 200, r.body);
    for (const h of others()) await withinOneSecond('trusted issuer', async () => assertOAuthError(await ask(h), 400, 'invalid_grant'));
  });

  test('an identity domain created through one instance is served by the others (no cached "no such domain")', { skip }, async () => {
    const [a] = nodes();
    const name = `inv-${randomBytes(3).toString('hex')}`;
    const md = (h: Harness) => h.inject({ url: `/domains/${name}/.well-known/openid-configuration` });
    for (const h of nodes()) assert.equal((await md(h)).statusCode, 404, 'warm: cached as unknown');
    const r = await scim(a!, 'POST', '/admin/v1/IdentityDomains', admin, { name });
    assert.equal(r.statusCode, 201, r.body);
    for (const h of others()) await withinOneSecond('new domain', async () => assert.equal((await md(h)).statusCode, 200));
  });

  test('a client created by the CLI (another process) with an administrator role gets admin tokens from every instance', { skip }, async () => {
    for (const h of nodes()) assert.equal((await clientToken(h, w.other.clientId, w.other.secret!, 'jb.read')).statusCode, 200, 'warm: catalogs cached');
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'client', 'create', '--name', 'from-cli', '--role', 'Identity Domain Administrator'], {
      env: { ...process.env, ...env(), TESSERA_LOG_LEVEL: 'error' }, encoding: 'utf8', timeout: 60_000,
    });
    assert.equal(cli.status, 0, cli.stderr);
    const id = /client_id=(\S+)/.exec(cli.stdout)![1]!;
    const secret = /client_secret=(\S+)/.exec(cli.stdout)![1]!;
    for (const h of nodes()) {
      await withinOneSecond('CLI client', async () => {
        const r = await clientToken(h, id, secret, ADMIN_SCOPE);
        assert.equal(r.statusCode, 200, r.body);
        assert.equal(r.json().scope, ADMIN_SCOPE);
      });
    }
  });
}

const CONFIG = { cacheTtlSeconds: 300, purgeIntervalSeconds: 0 };

describe('four instances on one PostgreSQL schema (LISTEN/NOTIFY)', async () => {
  const available = await pgAvailable();
  const skip = available === true ? false : String(available);
  const schema = schemaName();
  const raw = randomBytes(32);
  let hs: Harness[] = [];
  before(async () => {
    if (skip) return;
    const mk = new MasterKey(raw);
    for (let i = 0; i < 4; i++) hs.push(await harness({ config: CONFIG, masterKey: mk, database: await openDatabase(PG_URL, { pgSchema: schema }) }));
    for (const h of hs) assert.equal(h.t.services.changes.live, true, 'every instance listens');
  });
  after(async () => {
    for (const h of hs) { await h.close(); await h.t.database.close(); }
    hs = [];
    if (!skip) await dropSchema(schema);
  });
  flow(() => hs, () => ({
    TESSERA_DATABASE_URL: `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, TESSERA_MASTER_KEY: raw.toString('hex'),
  }), skip);
});

describe('four instances on one SQLite file (the change log)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-inv-'));
  const file = join(dir, 'shared.db');
  const raw = randomBytes(32);
  let hs: Harness[] = [];
  before(async () => {
    const mk = new MasterKey(raw);
    for (let i = 0; i < 4; i++) hs.push(await harness({ config: CONFIG, masterKey: mk, database: await openDatabase(`sqlite:${file}`) }));
    for (const h of hs) assert.equal(h.t.services.changes.live, true, 'every instance polls');
  });
  after(async () => {
    for (const h of hs) { await h.close(); await h.t.database.close(); }
    hs = [];
    rmSync(dir, { recursive: true, force: true });
  });
  flow(() => hs, () => ({ TESSERA_DATABASE_URL: `sqlite:${file}`, TESSERA_MASTER_KEY: raw.toString('hex') }), false);
});
