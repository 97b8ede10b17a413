/**
 * Red team, issue 7 "privilege escalation": paths around the no-escalation rule (src/admin/guard.ts)
 * through the public endpoints. A failing test is a finding; a passing one is an attack that held,
 * kept because no other test covered it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import {
  adminToken, APP_SCHEMA, assertScimError, basic, clientToken, harness, post, scim, type Harness,
} from '../helpers.js';
import { createUser, PASSWORD } from '../signin.js';

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const GRANT = 'urn:ietf:params:scim:schemas:oracle:idcs:Grant';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const patchOp = (...Operations: Record<string, unknown>[]) => ({ schemas: [PATCH], Operations });

describe('red team: escalation around the guard', () => {
  let h: Harness;
  let root: string;
  let roles: Map<string, { id: string; app: string }>;

  const grant = async (roleName: string, type: 'App' | 'User' | 'Group', id: string) => {
    const role = roles.get(roleName)!;
    const r = await scim(h, 'POST', '/admin/v1/Grants', root, {
      schemas: [GRANT], app: { value: role.app }, entitlement: { attributeName: 'appRoles', attributeValue: role.id },
      grantMechanism: `ADMINISTRATOR_TO_${type.toUpperCase()}`, grantee: { value: id, type },
    });
    assert.equal(r.statusCode, 201, r.body);
    return r.json().id as string;
  };
  const app = async (displayName: string, o: Record<string, unknown> = {}) => {
    const r = await scim(h, 'POST', '/admin/v1/Apps', root, { schemas: [APP_SCHEMA], displayName, isOAuthClient: true, allowedGrants: ['client_credentials'], ...o });
    assert.equal(r.statusCode, 201, r.body);
    return { id: r.json().id as string, clientId: r.json().name as string, secret: r.json().clientSecret as string };
  };
  const tokenOf = async (c: { clientId: string; secret: string }) => {
    const r = await clientToken(h, c.clientId, c.secret, 'urn:opc:idm:__myscopes__');
    assert.equal(r.statusCode, 200, r.body);
    return r.json().access_token as string;
  };
  const group = async (displayName: string, members: { value: string; type?: string }[]) => {
    const r = await scim(h, 'POST', '/admin/v1/Groups', root, { schemas: [GROUP], displayName, members });
    assert.equal(r.statusCode, 201, r.body);
    return r.json().id as string;
  };

  before(async () => {
    h = await harness();
    root = await adminToken(h);
    const rs = (await scim(h, 'GET', '/admin/v1/AppRoles?count=100', root)).json().Resources as { id: string; displayName: string; app: { value: string } }[];
    roles = new Map(rs.map((r) => [r.displayName, { id: r.id, app: r.app.value }]));
  });
  after(() => h.close());

  // FINDING (RFC 7592): the registration access token is a credential for managing the client that no
  // guard looks at. An Application Administrator registers a client, an Identity Domain Administrator later
  // grants it an administrator role (an automation client, say); the Apps API then refuses the Application
  // Administrator any change to it ("only a caller holding ... may change an app that holds it"), but the
  // registration access token it kept still rewrites the client's grant types and redirect URIs, or deletes it.
  test('the RFC 7592 registration access token cannot change or delete a client that holds admin roles', async () => {
    const aa = await app('application-admin');
    await grant('Application Administrator', 'App', aa.id);
    const aaToken = await tokenOf(aa);
    const reg = await h.inject({
      method: 'POST', url: '/oauth2/v1/register', headers: { authorization: `Bearer ${aaToken}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ client_name: 'automation', grant_types: ['client_credentials'], response_types: [] }),
    });
    assert.equal(reg.statusCode, 201, reg.body);
    const { client_id: clientId, registration_access_token: rat } = reg.json() as { client_id: string; registration_access_token: string };
    const found = await scim(h, 'GET', `/admin/v1/Apps?filter=${encodeURIComponent(`name eq "${clientId}"`)}`, root);
    const appId = found.json().Resources[0].id as string;
    await grant('Identity Domain Administrator', 'App', appId);

    // The admin API holds: the Application Administrator may not touch it any more.
    const viaApi = await scim(h, 'PATCH', `/admin/v1/Apps/${appId}`, aaToken, patchOp({ op: 'replace', path: 'redirectUris', value: ['https://evil.example/cb'] }));
    assertScimError(viaApi, 403);
    const before_ = (await scim(h, 'GET', `/admin/v1/Apps/${appId}`, root)).json();

    const manage = (method: 'PUT' | 'DELETE', body?: unknown) => h.inject({
      method, url: `/oauth2/v1/register/${clientId}`,
      headers: { authorization: `Bearer ${rat}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { payload: JSON.stringify(body) } : {}),
    });
    const refused = (r: LightMyRequestResponse, what: string) => {
      assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${what}: expected a 4xx, got ${r.statusCode} ${r.body.slice(0, 300)}`);
    };
    refused(await manage('PUT', {
      client_id: clientId, client_name: 'automation', grant_types: ['client_credentials', 'authorization_code'], redirect_uris: ['https://evil.example/cb'],
    }), 'RFC 7592 update');
    refused(await manage('DELETE'), 'RFC 7592 delete');
    const now = await scim(h, 'GET', `/admin/v1/Apps/${appId}`, root);
    assert.equal(now.statusCode, 200, 'the administrator client was deleted through its registration access token');
    assert.deepEqual([now.json().allowedGrants, now.json().redirectUris], [before_.allowedGrants, before_.redirectUris]);
  });

  // Held (coverage): a user token keeps only what both its client and its user still hold.
  test('held: a user token whose client lost an admin role is refused though the user still holds it', async () => {
    const legacy = await app('legacy-password', { allowedGrants: ['password'] });
    const grantId = await grant('User Administrator', 'App', legacy.id);
    const u = await createUser(h, root, 'ua-user');
    await grant('User Administrator', 'User', u.id);
    const r = await post(h, '/oauth2/v1/token', { grant_type: 'password', username: u.userName, password: PASSWORD, scope: 'urn:opc:idm:__myscopes__' },
      { authorization: basic(legacy.clientId, legacy.secret) });
    assert.equal(r.statusCode, 200, r.body);
    const token = r.json().access_token as string;
    const victim = await createUser(h, root);
    const rename = () => scim(h, 'PATCH', `/admin/v1/Users/${victim.id}`, token, patchOp({ op: 'replace', path: 'displayName', value: 'x' }));
    assert.equal((await rename()).statusCode, 200);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Grants/${grantId}`, root)).statusCode, 204);
    const denied = await rename();
    assertScimError(denied, 403);
    assert.match(String(denied.headers['www-authenticate']), /insufficient_scope/);
  });

  // Held (coverage): nesting beyond MAX_GROUP_DEPTH gives nothing, and the guard measures from the group it
  // changes, so the bottom of a long chain is as free as it is harmless, and every group within reach of the
  // administrators' group is protected. A cycle does not loop.
  test('held: a chain of eleven groups over the administrators, and a cycle, neither grant nor escape', async () => {
    const uaClient = await app('user-admin-depth');
    await grant('User Administrator', 'App', uaClient.id);
    const ua = await tokenOf(uaClient);
    const admins = await group('Depth Admins', []);
    await grant('Identity Domain Administrator', 'Group', admins);
    // chain[0] is a member of chain[1] ... chain[10] is a member of Admins: chain[0] is 11 steps away.
    const chain: string[] = [];
    let parent = admins;
    for (let i = 10; i >= 0; i--) {
      const g = await group(`Depth ${i}`, []);
      const add = await scim(h, 'PATCH', `/admin/v1/Groups/${parent}`, root, patchOp({ op: 'add', path: 'members', value: [{ value: g, type: 'Group' }] }));
      assert.equal(add.statusCode, 200, add.body);
      chain[i] = g;
      parent = g;
    }
    // A cycle at the bottom: Depth 0 is also a member of a group that is a member of Depth 0.
    const loop = await group('Depth loop', [{ value: chain[0]!, type: 'Group' }]);
    assert.equal((await scim(h, 'PATCH', `/admin/v1/Groups/${chain[0]}`, root, patchOp({ op: 'add', path: 'members', value: [{ value: loop, type: 'Group' }] }))).statusCode, 200);
    const pat = await createUser(h, root, 'deep-pat');
    const addPat = (g: string) => scim(h, 'PATCH', `/admin/v1/Groups/${g}`, ua, patchOp({ op: 'add', path: 'members', value: [{ value: pat.id }] }));
    // A user in chain[i] reaches Admins in 11 - i steps; groups are followed ten deep from the user's own group.
    // Within reach (chain[2] and up): refused.
    for (const i of [2, 5, 10]) assertScimError(await addPat(chain[i]!), 403);
    // Out of reach (chain[1], chain[0]): allowed, and it gives nothing.
    for (const i of [1, 0]) assert.equal((await addPat(chain[i]!)).statusCode, 200);
    const legacy = await app('legacy-depth', { allowedGrants: ['password'] });
    await grant('Identity Domain Administrator', 'App', legacy.id);
    const settings = (userName: string) => post(h, '/oauth2/v1/token', { grant_type: 'password', username: userName, password: PASSWORD, scope: 'urn:opc:idm:t.settings' },
      { authorization: basic(legacy.clientId, legacy.secret) });
    const r = await settings(pat.userName);
    assert.equal(r.statusCode, 400, r.body);
    assert.equal(r.json().error, 'invalid_scope');
    // The edge is where the guard put it: a member of chain[2] is an administrator.
    const edge = await createUser(h, root, 'edge-admin');
    assert.equal((await scim(h, 'PATCH', `/admin/v1/Groups/${chain[2]}`, root, patchOp({ op: 'add', path: 'members', value: [{ value: edge.id }] }))).statusCode, 200);
    assert.equal((await settings(edge.userName)).statusCode, 200);
  });

  // Held (coverage): an ordinary user cannot be renamed onto an administrator's name in another case or width.
  test('held: renaming onto an administrator\'s userName in another case or width is 409 uniqueness', async () => {
    const uaClient = await app('user-admin-names');
    await grant('User Administrator', 'App', uaClient.id);
    const ua = await tokenOf(uaClient);
    const boss = await createUser(h, root, 'theboss');
    await grant('Identity Domain Administrator', 'User', boss.id);
    const pat = await createUser(h, root, 'plainpat');
    for (const name of ['TheBoss', 'ＴＨＥＢＯＳＳ', 'theboſs', 'ᵗheboss']) {
      const r = await scim(h, 'PATCH', `/admin/v1/Users/${pat.id}`, ua, patchOp({ op: 'replace', path: 'userName', value: name }));
      assertScimError(r, 409, 'uniqueness');
    }
    for (const name of ['the\u200bboss', 'theboss\u00ad', '\u202etheboss']) {
      const r = await scim(h, 'PATCH', `/admin/v1/Users/${pat.id}`, ua, patchOp({ op: 'replace', path: 'userName', value: name }));
      assertScimError(r, 400, 'invalidValue');
    }
  });
});
