import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminToken, APP_SCHEMA, BOOT_ID, BOOT_SECRET, clientToken, harness, scim, type Harness } from '../helpers.js';

const GRANT_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:Grant';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** An Application Administrator manages apps but can neither take over nor lock out the administrators. */
describe('admin API: no privilege escalation, no lock-out', () => {
  let h: Harness;
  let root: string;
  let appAdmin: string;
  let bootAppId: string;
  let idaGrantId: string;
  let adminAppId: string;
  let roles: Map<string, { id: string; scopes: string[] }>;

  before(async () => {
    h = await harness();
    root = await adminToken(h);
    const rs = (await scim(h, 'GET', '/admin/v1/AppRoles?count=100', root)).json().Resources as { id: string; displayName: string; app: { value: string }; scopes: { value: string }[] }[];
    roles = new Map(rs.map((r) => [r.displayName, { id: r.id, scopes: r.scopes.map((x) => x.value) }]));
    adminAppId = rs[0]!.app.value;
    const c = await scim(h, 'POST', '/admin/v1/Apps', root, { schemas: [APP_SCHEMA], displayName: 'app-admin', isOAuthClient: true, allowedGrants: ['client_credentials'] });
    const g = await scim(h, 'POST', '/admin/v1/Grants', root, {
      schemas: [GRANT_SCHEMA], app: { value: adminAppId }, entitlement: { attributeName: 'appRoles', attributeValue: roles.get('Application Administrator')!.id },
      grantMechanism: 'ADMINISTRATOR_TO_APP', grantee: { value: c.json().id, type: 'App' },
    });
    assert.equal(g.statusCode, 201, g.body);
    const t = await clientToken(h, c.json().name, c.json().clientSecret, 'urn:opc:idm:__myscopes__');
    appAdmin = t.json().access_token;
    const boot = (await scim(h, 'GET', `/admin/v1/Apps?filter=${encodeURIComponent(`name eq "${BOOT_ID}"`)}`, root)).json().Resources[0];
    bootAppId = boot.id;
    idaGrantId = (await scim(h, 'GET', `/admin/v1/Grants?filter=${encodeURIComponent(`grantee.value eq "${bootAppId}"`)}`, root)).json().Resources[0].id;
  });
  after(() => h.close());

  test('cannot modify, disable, re-key or delete the administrator client', async () => {
    const cases: [string, () => ReturnType<typeof scim>][] = [
      ['rename', () => scim(h, 'PATCH', `/admin/v1/Apps/${bootAppId}`, appAdmin, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'mine' }] })],
      ['disable', () => scim(h, 'PATCH', `/admin/v1/Apps/${bootAppId}`, appAdmin, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] })],
      ['delete', () => scim(h, 'DELETE', `/admin/v1/Apps/${bootAppId}`, appAdmin)],
      ['remove its admin grant', () => scim(h, 'DELETE', `/admin/v1/Grants/${idaGrantId}`, appAdmin)],
    ];
    for (const [name, run] of cases) {
      const r = await run();
      assert.equal(r.statusCode, 403, `${name}: ${r.body}`);
    }
    assert.equal((await clientToken(h, BOOT_ID, BOOT_SECRET, 'urn:opc:idm:__myscopes__')).statusCode, 200, 'the administrator still works');
  });

  test('cannot change or delete a custom role of the identity domain API that carries scopes it lacks', async () => {
    const r = await scim(h, 'POST', '/admin/v1/AppRoles', root, { schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:AppRole'], displayName: 'Key Keeper', app: { value: adminAppId }, scopes: [{ value: 'urn:opc:idm:t.settings' }] });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/AppRoles/${r.json().id}`, appAdmin)).statusCode, 403);
    const put = await scim(h, 'PATCH', `/admin/v1/AppRoles/${r.json().id}`, appAdmin, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'description', value: 'x' }] });
    assert.equal(put.statusCode, 403);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/AppRoles/${r.json().id}`, root)).statusCode, 204);
  });

  test('still manages ordinary apps', async () => {
    const c = await scim(h, 'POST', '/admin/v1/Apps', appAdmin, { schemas: [APP_SCHEMA], displayName: 'ordinary', isOAuthClient: true, allowedGrants: [] });
    assert.equal(c.statusCode, 201);
    assert.equal((await scim(h, 'PATCH', `/admin/v1/Apps/${c.json().id}`, appAdmin, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'renamed' }] })).statusCode, 200);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Apps/${c.json().id}`, appAdmin)).statusCode, 204);
  });

  test('denied admin requests are audited', async () => {
    await scim(h, 'GET', '/admin/v1/SigningKeys', appAdmin);
    await h.inject({ url: '/admin/v1/Apps' });
    const r = await scim(h, 'GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent('eventId eq "admin.access_denied"')}`, root);
    assert.equal(r.statusCode, 200, r.body);
    const targets = r.json().Resources.map((e: { targetId: string; outcome: string }) => `${e.outcome} ${e.targetId}`);
    assert.ok(targets.includes('failure GET /admin/v1/SigningKeys'), JSON.stringify(targets));
    assert.ok(targets.includes('failure GET /admin/v1/Apps'));
  });
});
