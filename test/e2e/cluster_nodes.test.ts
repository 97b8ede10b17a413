/**
 * Issue 10, "every node": two nodes of two workers each (two `tessera serve` processes with TESSERA_WORKERS=2)
 * on one PostgreSQL schema, with a 300 s cache TTL so that only the change feed can make a change seen. A
 * change made through node A is effective on every worker of node B within one second: a disabled client,
 * a role granted to a client, a rotated signing key.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { APP_SCHEMA, adminToken, basic, post, scim, setupClient, type Harness } from '../helpers.js';
import { startCluster, type Cluster } from '../cluster_world.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from '../contract/pg.js';

const available = await pgAvailable();
const skip = available === true ? false : String(available);
const ROLE_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:AppRole';

/** Enough requests on new connections that each of the node's two workers answers some (round-robin). */
const EACH_WORKER = 4;

/** Polls until `check` passes for EACH_WORKER requests in a row, for at most one second after the change. */
async function withinOneSecond(what: string, check: () => Promise<void>): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    try {
      for (let i = 0; i < EACH_WORKER; i++) await check();
      return Date.now() - t0;
    } catch (e) {
      if (Date.now() - t0 > 1000) throw new Error(`${what}: not effective on every worker of node B within 1 s: ${(e as Error).message}`, { cause: e });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('two nodes of two workers each on one PostgreSQL', { skip }, () => {
  const schema = schemaName();
  const url = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const masterKey = randomBytes(32).toString('hex');
  const dirs: string[] = [];
  let a: Cluster; let b: Cluster;
  let A: Harness; let B: Harness;
  let admin: string;
  before(async () => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try { await c.query(`CREATE SCHEMA ${schema}`); } finally { await c.end(); }
    const node = () => {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-nodes-'));
      dirs.push(dir);
      return startCluster({ TESSERA_DATA_DIR: dir, TESSERA_DATABASE_URL: url, TESSERA_MASTER_KEY: masterKey, TESSERA_CACHE_TTL_SECONDS: '300', TESSERA_DATABASE_POOL_SIZE: '2' });
    };
    a = await node();
    b = await node();
    A = a.harness; B = b.harness;
    admin = await adminToken(A);
  });
  after(async () => {
    for (const c of [a, b]) if (c && c.child.exitCode === null && c.child.signalCode === null) await c.stop('SIGTERM').catch(() => c.child.kill('SIGKILL'));
    await dropSchema(schema);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('a client disabled through node A gets no token from any worker of node B', async () => {
    const cl = await setupClient(A, { admin, scopes: ['nodes.read'] });
    const token = () => post(B, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'nodes.read' }, { authorization: basic(cl.clientId, cl.secret) });
    // Both of B's workers cache the client as active.
    for (let i = 0; i < EACH_WORKER; i++) assert.equal((await token()).statusCode, 200);
    const off = await scim(A, 'PATCH', `/admin/v1/Apps/${cl.app.id as string}`, admin, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] });
    assert.equal(off.statusCode, 200, off.body);
    await withinOneSecond('disabled client', async () => {
      const r = await token();
      assert.equal(r.statusCode, 401, r.body);
      assert.equal(r.json().error, 'invalid_client');
    });
  });

  test('a role granted to a client through node A is in its next token from any worker of node B', async () => {
    const rs = await scim(A, 'POST', '/admin/v1/Apps', admin, { schemas: [APP_SCHEMA], displayName: `rs-${randomBytes(3).toString('hex')}`, isOAuthResource: true, audience: `https://role-${randomBytes(3).toString('hex')}.example.com`, scopes: [{ value: 'reports.read' }] });
    assert.equal(rs.statusCode, 201, rs.body);
    const role = await scim(A, 'POST', '/admin/v1/AppRoles', admin, { schemas: [ROLE_SCHEMA], displayName: 'Reports reader', app: { value: rs.json().id }, scopes: [{ value: 'reports.read' }] });
    assert.equal(role.statusCode, 201, role.body);
    const cl = await setupClient(A, { admin, scopes: ['nodes2.read'] });
    const token = () => post(B, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'reports.read' }, { authorization: basic(cl.clientId, cl.secret) });
    for (let i = 0; i < EACH_WORKER; i++) assert.equal((await token()).json().error, 'invalid_scope');
    const g = await scim(A, 'POST', '/admin/v1/Grants', admin, {
      schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:Grant'], app: { value: rs.json().id }, entitlement: { attributeName: 'appRoles', attributeValue: role.json().id },
      grantMechanism: 'ADMINISTRATOR_TO_APP', grantee: { value: cl.app.id, type: 'App' },
    });
    assert.equal(g.statusCode, 201, g.body);
    await withinOneSecond('granted role', async () => {
      const r = await token();
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().scope, 'reports.read');
    });
  });

  test('a key rotated through node A signs on every worker of node B', async () => {
    const cl = await setupClient(A, { admin, scopes: ['nodes3.read'] });
    const kid = async () => {
      const r = await post(B, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'nodes3.read' }, { authorization: basic(cl.clientId, cl.secret) });
      assert.equal(r.statusCode, 200, r.body);
      return JSON.parse(Buffer.from((r.json().access_token as string).split('.')[0]!, 'base64url').toString()).kid as string;
    };
    const before = await kid();
    const rot = await scim(A, 'POST', '/admin/v1/SigningKeys/rotate', admin, { alg: 'RS256' });
    assert.equal(rot.statusCode, 200, rot.body);
    await withinOneSecond('rotated key', async () => assert.notEqual(await kid(), before));
  });
});
