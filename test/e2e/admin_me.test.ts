import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { AppRecord, AuditEventRecord, DomainRecord } from '../../src/core/types.js';
import { lookupHash } from '../../src/crypto/secrets.js';
import { resolveUserFlowScopes } from '../../src/identity/scopes.js';
import { userRoleIds } from '../../src/identity/user_roles.js';
import {
  adminToken, APP_SCHEMA, assertScimError, clientToken, decode, harness, ISSUER, scim, type Harness,
} from '../helpers.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const GRANT = 'urn:ietf:params:scim:schemas:oracle:idcs:Grant';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const PW_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:MePasswordChanger';
const ME_SCOPE = 'urn:opc:idm:t.user.me';
const AUDIT_SCOPE = 'urn:opc:idm:t.audit.read';
const ADMIN = `${ISSUER}/admin/v1`;
const REALM = `Bearer realm="${ISSUER}"`;
const PW = 'first correct horse battery 17';
const q = (filter: string) => `filter=${encodeURIComponent(filter)}`;
const patchOp = (...Operations: Record<string, unknown>[]) => ({ schemas: [PATCH], Operations });

describe('admin Me and MePasswordChanger (self-service)', () => {
  let h: Harness;
  let admin: string;
  let domain: DomainRecord;
  let client: AppRecord;
  let clientCreds: { clientId: string; secret: string };
  const events: AuditEventRecord[] = [];

  /** A user token as a user flow would issue it to `client` (which holds the Me role). */
  const mint = async (userId: string, scopes: string[], c = client): Promise<string> => {
    const s = h.t.services;
    const r = resolveUserFlowScopes(await s.catalogs.catalog(domain), c, await userRoleIds(s.repos, domain.id, userId), scopes);
    const userTokensValidAfter = (await s.repos.users.get(domain.id, userId))?.tokensValidAfter;
    return (await s.accessTokens.issue({ domain, issuer: ISSUER, client: c, sub: userId, subType: 'user', userId, scopes: r.scopes, resourceServers: r.resourceServers, userTokensValidAfter })).token;
  };
  const newUser = async (userName: string, extra: Record<string, unknown> = {}) => {
    const r = await scim(h, 'POST', '/admin/v1/Users', admin, {
      schemas: [USER], userName, password: PW, name: { givenName: 'Barbara', familyName: 'Jensen' }, emails: [{ value: `${userName}@example.com`, primary: true }], ...extra,
    });
    assert.equal(r.statusCode, 201, r.body);
    const id = r.json().id as string;
    return { id, token: await mint(id, [ME_SCOPE]) };
  };
  const changePassword = (token: string, body: unknown) => scim(h, 'PUT', '/admin/v1/MePasswordChanger', token, body);
  const pwBody = (oldPassword: string, password: string) => ({ schemas: [PW_SCHEMA], oldPassword, password });
  const challenge = (r: LightMyRequestResponse, status: number, h_: string) => {
    assertScimError(r, status);
    assert.equal(r.headers['www-authenticate'], h_);
  };

  before(async () => {
    h = await harness({ config: { loginMaxFailures: 3 } });
    admin = await adminToken(h);
    domain = (await h.t.services.repos.domains.getByName('default'))!;
    h.t.services.events.on((e) => events.push(e));
    const apps = await scim(h, 'GET', `/admin/v1/Apps?${q('isBuiltIn eq true and isOAuthResource eq true')}`, admin);
    const adminAppId = apps.json().Resources[0].id as string;
    const roles = await scim(h, 'GET', `/admin/v1/AppRoles?${q('isBuiltIn eq true')}`, admin);
    const roleId = (name: string) => roles.json().Resources.find((x: { displayName: string }) => x.displayName === name).id as string;
    const cl = await scim(h, 'POST', '/admin/v1/Apps', admin, {
      schemas: [APP_SCHEMA], displayName: 'self-service portal', isOAuthClient: true, clientType: 'confidential', allowedGrants: ['client_credentials'],
    });
    assert.equal(cl.statusCode, 201, cl.body);
    clientCreds = { clientId: cl.json().name, secret: cl.json().clientSecret };
    // Oracle AppRoleClientsUsers: Me is granted to the client; the user needs no role for self-service.
    for (const name of ['Me', 'Audit Administrator']) {
      const g = await scim(h, 'POST', '/admin/v1/Grants', admin, {
        schemas: [GRANT], app: { value: adminAppId }, entitlement: { attributeName: 'appRoles', attributeValue: roleId(name) },
        grantMechanism: 'ADMINISTRATOR_TO_APP', grantee: { value: cl.json().id, type: 'App' },
      });
      assert.equal(g.statusCode, 201, g.body);
    }
    client = (await h.t.services.repos.apps.getByClientId(domain.id, clientCreds.clientId))!;
  });
  after(() => h.close());

  describe('GET /Me', () => {
    test('the caller\'s own User, rendered exactly as /Users/{id}, with ETag; the token is for the admin API', async () => {
      const u = await newUser('me-get');
      assert.equal(decode(u.token).payload.aud, ADMIN);
      const grp = await scim(h, 'POST', '/admin/v1/Groups', admin, { schemas: [GROUP], displayName: 'me-get-group', members: [{ value: u.id, type: 'User' }] });
      assert.equal(grp.statusCode, 201, grp.body);
      const r = await scim(h, 'GET', '/admin/v1/Me', u.token);
      assert.equal(r.statusCode, 200, r.body);
      assert.match(String(r.headers['content-type']), /^application\/scim\+json/);
      assert.equal(r.headers['cache-control'], 'no-store');
      const byAdmin = await scim(h, 'GET', `/admin/v1/Users/${u.id}`, admin);
      assert.deepEqual(r.json(), byAdmin.json());
      assert.equal(r.headers.etag, byAdmin.headers.etag);
      assert.equal(r.json().id, u.id);
      assert.equal(r.json().meta.location, `${ADMIN}/Users/${u.id}`);
      assert.deepEqual(r.json().groups.map((x: { value: string }) => x.value), [grp.json().id]);
      assert.equal('password' in r.json(), false);
    });

    test('attributes / excludedAttributes and If-None-Match work as on /Users/{id}', async () => {
      const u = await newUser('me-proj');
      const r = await scim(h, 'GET', '/admin/v1/Me?attributes=userName', u.token);
      assert.deepEqual(Object.keys(r.json()).sort(), ['id', 'schemas', 'userName']);
      const ex = await scim(h, 'GET', '/admin/v1/Me?excludedAttributes=emails,name', u.token);
      assert.equal('emails' in ex.json(), false);
      assert.equal('name' in ex.json(), false);
      const nm = await scim(h, 'GET', '/admin/v1/Me', u.token, undefined, { 'if-none-match': String(r.headers.etag) });
      assert.equal(nm.statusCode, 304);
      assert.equal(nm.body, '');
    });

    test('401 without a token, with a token for another audience (OIDC-only), with garbage', async () => {
      const u = await newUser('me-401');
      challenge(await h.inject({ method: 'GET', url: '/admin/v1/Me' }), 401, REALM);
      challenge(await scim(h, 'GET', '/admin/v1/Me', await mint(u.id, ['openid', 'profile'])), 401, `${REALM}, error="invalid_token"`);
      challenge(await scim(h, 'GET', '/admin/v1/Me', 'garbage'), 401, `${REALM}, error="invalid_token"`);
    });

    test('403: a client token carrying the Me scope has no user; a user token without the Me scope', async () => {
      const cc = await clientToken(h, clientCreds.clientId, clientCreds.secret, ME_SCOPE);
      assert.equal(cc.statusCode, 200, cc.body);
      assert.equal(cc.json().scope, ME_SCOPE);
      const meChallenge = `${REALM}, error="insufficient_scope", scope="${ME_SCOPE}"`;
      for (const [method, url, body] of [['GET', '/admin/v1/Me'], ['PUT', '/admin/v1/Me', { schemas: [USER], userName: 'x' }],
        ['PATCH', '/admin/v1/Me', patchOp({ op: 'replace', path: 'nickName', value: 'x' })], ['PUT', '/admin/v1/MePasswordChanger', pwBody(PW, 'x')]] as const) {
        challenge(await scim(h, method, url, cc.json().access_token, body), 403, meChallenge);
      }
      const u = await newUser('me-403');
      // The client holds Audit Administrator; a user who does not gets no audit scope, so the token would be refused...
      await assert.rejects(mint(u.id, [AUDIT_SCOPE]), /may not have scope/);
      // ...and one with only the Me scope cannot read the audit log either.
      challenge(await scim(h, 'GET', '/admin/v1/AuditEvents', u.token), 403, `${REALM}, error="insufficient_scope", scope="${AUDIT_SCOPE}"`);
      // A user token whose scopes do not include Me (an API token with the admin audience).
      const both = await mint(u.id, [ME_SCOPE, 'openid']);
      assert.equal((await scim(h, 'GET', '/admin/v1/Me', both)).statusCode, 200);
      const usersOnly = await scim(h, 'GET', '/admin/v1/Users', u.token);
      challenge(usersOnly, 403, `${REALM}, error="insufficient_scope", scope="urn:opc:idm:t.users urn:opc:idm:t.users.read"`);
    });

    test('401 once the user is deactivated', async () => {
      const u = await newUser('me-deactivated');
      assert.equal((await scim(h, 'GET', '/admin/v1/Me', u.token)).statusCode, 200);
      const p = await scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, admin, patchOp({ op: 'replace', path: 'active', value: false }));
      assert.equal(p.statusCode, 200, p.body);
      challenge(await scim(h, 'GET', '/admin/v1/Me', u.token), 401, `${REALM}, error="invalid_token"`);
    });
  });

  describe('PUT and PATCH /Me', () => {
    test('PUT replaces the profile; userName, active and externalId stay (an omitted userName is not a change)', async () => {
      const u = await newUser('me-put', { externalId: 'hr-42', nickName: 'Babs' });
      const r = await scim(h, 'PUT', '/admin/v1/Me', u.token, {
        schemas: [USER], name: { givenName: 'Barb', familyName: 'Jensen' }, displayName: 'Barb J', emails: [{ value: 'barb@example.org', type: 'home' }],
      });
      assert.equal(r.statusCode, 200, r.body);
      const b = r.json();
      assert.equal(b.userName, 'me-put');
      assert.equal(b.active, true);
      assert.equal(b.externalId, 'hr-42');
      assert.equal(b.displayName, 'Barb J');
      assert.deepEqual(b.emails, [{ value: 'barb@example.org', type: 'home' }]);
      assert.equal('nickName' in b, false, 'PUT replaces: the omitted nickName is gone');
      assert.equal(r.headers.etag, 'W/"2"');
      const byAdmin = (await scim(h, 'GET', `/admin/v1/Users/${u.id}`, admin)).json();
      assert.deepEqual(byAdmin, b);
      const user = (await h.t.services.repos.users.get(domain.id, u.id))!;
      assert.ok(await h.t.services.users.verifyPassword(user, PW), 'the password is untouched');
      await h.t.services.events.flush();
      assert.ok(events.some((e) => e.eventId === 'admin.replaced' && e.actorType === 'user' && e.actorId === u.id && e.targetId === u.id));
    });

    test('PUT of the resource as GET returned it (userName, active, groups unchanged) is accepted', async () => {
      const u = await newUser('me-roundtrip');
      await scim(h, 'POST', '/admin/v1/Groups', admin, { schemas: [GROUP], displayName: 'roundtrip-group', members: [{ value: u.id, type: 'User' }] });
      const got = (await scim(h, 'GET', '/admin/v1/Me', u.token)).json();
      const r = await scim(h, 'PUT', '/admin/v1/Me', u.token, { ...got, nickName: 'RT' });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().nickName, 'RT');
      assert.deepEqual(r.json().groups, got.groups);
    });

    const putRefused: [string, (cur: Record<string, unknown>) => Record<string, unknown>][] = [
      ['userName', (c) => ({ ...c, userName: 'someone-else' })],
      ['userName (case only)', (c) => ({ ...c, userName: String(c.userName).toUpperCase() })],
      ['active', (c) => ({ ...c, active: false })],
      ['password', (c) => ({ ...c, password: 'a new pass phrase 1234' })],
      ['groups', (c) => ({ ...c, groups: [{ value: 'g-not-mine' }] })],
      ['externalId', (c) => ({ ...c, externalId: 'forged' })],
      ['ExternalID (another spelling, beside externalId)', (c) => ({ ...c, ExternalID: 'forged' })],
      ['ExternalID (another spelling, alone)', ({ externalId: _e, ...c }) => ({ ...c, ExternalID: 'forged' })],
    ];
    for (const [what, edit] of putRefused) {
      test(`PUT changing ${what} -> 400 mutability, nothing written`, async () => {
        const u = await newUser(`me-put-${what.replace(/\W+/g, '-').toLowerCase()}`, { externalId: 'hr-1' });
        const cur = (await scim(h, 'GET', '/admin/v1/Me', u.token)).json();
        assertScimError(await scim(h, 'PUT', '/admin/v1/Me', u.token, { ...edit(cur), nickName: 'changed' }), 400, 'mutability');
        assert.deepEqual((await scim(h, 'GET', '/admin/v1/Me', u.token)).json(), cur);
      });
    }

    test('PATCH changes a profile attribute; audited as admin.patched by the user', async () => {
      const u = await newUser('me-patch');
      const r = await scim(h, 'PATCH', '/admin/v1/Me', u.token, patchOp({ op: 'replace', path: 'nickName', value: 'Babs' }, { op: 'add', path: 'phoneNumbers', value: [{ value: '+1 555 0100', type: 'mobile' }] }));
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().nickName, 'Babs');
      assert.deepEqual(r.json().phoneNumbers, [{ value: '+1 555 0100', type: 'mobile' }]);
      assert.equal(r.json().userName, 'me-patch');
      await h.t.services.events.flush();
      assert.ok(events.some((e) => e.eventId === 'admin.patched' && e.actorType === 'user' && e.actorId === u.id && e.targetType === 'Me'));
    });

    const patchRefused: [string, Record<string, unknown>][] = [
      ['replace userName', { op: 'replace', path: 'userName', value: 'other' }],
      ['replace active', { op: 'replace', path: 'active', value: false }],
      ['remove active', { op: 'remove', path: 'active' }],
      ['add password', { op: 'add', path: 'password', value: 'a new pass phrase 1234' }],
      ['replace without path, password', { op: 'replace', value: { password: 'a new pass phrase 1234' } }],
      ['add groups', { op: 'add', path: 'groups', value: [{ value: 'g1' }] }],
      ['remove externalId', { op: 'remove', path: 'externalId' }],
    ];
    for (const [what, op] of patchRefused) {
      test(`PATCH ${what} -> 400 mutability`, async () => {
        const u = await newUser(`me-patch-${what.replace(/\W+/g, '-').toLowerCase()}`, { externalId: 'hr-2' });
        const before_ = (await scim(h, 'GET', '/admin/v1/Me', u.token)).json();
        assertScimError(await scim(h, 'PATCH', '/admin/v1/Me', u.token, patchOp(op)), 400, 'mutability');
        assert.deepEqual((await scim(h, 'GET', '/admin/v1/Me', u.token)).json(), before_);
      });
    }

    test('If-Match: a stale version is 412, the current one passes; a bad body is 400', async () => {
      const u = await newUser('me-ifmatch');
      const body = patchOp({ op: 'replace', path: 'nickName', value: 'one' });
      assertScimError(await scim(h, 'PATCH', '/admin/v1/Me', u.token, body, { 'if-match': 'W/"7"' }), 412);
      assert.equal((await scim(h, 'PATCH', '/admin/v1/Me', u.token, body, { 'if-match': 'W/"1"' })).statusCode, 200);
      assertScimError(await scim(h, 'PUT', '/admin/v1/Me', u.token, [1, 2]), 400, 'invalidSyntax');
      assertScimError(await scim(h, 'PUT', '/admin/v1/Me', u.token, { userName: 'me-ifmatch' }), 400, 'invalidSyntax');
      assertScimError(await scim(h, 'PUT', '/admin/v1/Me', u.token, { schemas: [USER], emails: 'x' }), 400, 'invalidValue');
    });
  });

  describe('PUT /MePasswordChanger', () => {
    test('a name given twice in different case (password and Password) is 400 invalidSyntax; the password is unchanged', async () => {
      const u = await newUser('pw-twice');
      for (const body of [
        { schemas: [PW_SCHEMA], oldPassword: PW, password: 'first correct horse battery 11', Password: 'second correct horse battery 22' },
        { schemas: [PW_SCHEMA], oldPassword: 'not the password at all', OLDPASSWORD: PW, password: 'first correct horse battery 11' },
      ]) {
        const r = await changePassword(u.token, body);
        assertScimError(r, 400, 'invalidSyntax');
        assert.match(r.json().detail, /given twice/);
      }
      const user = (await h.t.services.repos.users.get(domain.id, u.id))!;
      assert.equal(await h.t.services.users.verifyPassword(user, PW), true);
    });

    test('200 without the password; the new one works, the old one not; refresh tokens revoked, sessions ended; audited', async () => {
      const u = await newUser('pw-ok');
      const s = h.t.services;
      const now = s.clock.now();
      const rt = randomBytes(16).toString('hex');
      await s.repos.tokens.insert({
        hash: lookupHash(rt), domainId: domain.id, kind: 'refresh', clientId: client.clientId!, sub: u.id, subType: 'user', scope: ME_SCOPE, aud: [],
        jti: 'rt-jti-1', issuedAt: now, expiresAt: now + 86_400_000, data: {},
      });
      for (const n of [1, 2]) {
        await s.repos.sessions.create({
          hash: lookupHash(`session-${n}-${u.id}`), sid: `sid-${n}-${u.id}`, domainId: domain.id, userId: u.id, authTime: now, amr: ['pwd'], acr: 'urn:tessera:acr:pwd',
          createdAt: now, expiresAt: now + 3_600_000,
        });
      }
      const NEW = 'second correct horse battery 23';
      const r = await changePassword(u.token, pwBody(PW, NEW));
      assert.equal(r.statusCode, 200, r.body);
      assert.match(String(r.headers['content-type']), /^application\/scim\+json/);
      const b = r.json();
      assert.deepEqual(Object.keys(b).sort(), ['meta', 'schemas']);
      assert.deepEqual(b.schemas, [PW_SCHEMA]);
      assert.equal(b.meta.resourceType, 'MePasswordChanger');
      assert.ok(!r.body.includes(NEW) && !r.body.includes(PW));
      const user = (await s.repos.users.get(domain.id, u.id))!;
      assert.equal(await s.users.verifyPassword(user, NEW), true);
      assert.equal(await s.users.verifyPassword(user, PW), false);
      assert.notEqual((await s.repos.tokens.find(lookupHash(rt)))!.revokedAt, undefined, 'RFC 9700 §4.14.2: refresh token revoked');
      assert.equal(await s.repos.sessions.findBySid(domain.id, `sid-1-${u.id}`), undefined);
      assert.equal(await s.repos.sessions.findBySid(domain.id, `sid-2-${u.id}`), undefined);
      await s.events.flush();
      assert.ok(events.some((e) => e.eventId === 'user.password.changed' && e.outcome === 'success' && e.actorId === u.id && e.targetId === u.id));
      // The token that changed it is refused now (issue 7: tokens do not outlive a new password) ...
      assertScimError(await changePassword(u.token, pwBody(NEW, PW)), 401);
      // ... and with a new one, the policy's history rule refuses the old password.
      const back = await changePassword(await mint(u.id, [ME_SCOPE]), pwBody(NEW, PW));
      assertScimError(back, 400, 'invalidValue');
      assert.match(back.json().detail, /\(history\)/);
    });

    test('a wrong oldPassword: 400 invalidValue that says no more, nothing changed, refresh tokens kept; audited as a failure', async () => {
      const u = await newUser('pw-wrong');
      const s = h.t.services;
      const now = s.clock.now();
      const rt = randomBytes(16).toString('hex');
      await s.repos.tokens.insert({
        hash: lookupHash(rt), domainId: domain.id, kind: 'refresh', clientId: client.clientId!, sub: u.id, subType: 'user', scope: ME_SCOPE, aud: [],
        jti: 'rt-jti-2', issuedAt: now, expiresAt: now + 86_400_000, data: {},
      });
      const r = await changePassword(u.token, pwBody('not my password at all', 'third correct horse battery 99'));
      assertScimError(r, 400, 'invalidValue');
      assert.equal(r.json().detail, 'oldPassword is not correct');
      const user = (await s.repos.users.get(domain.id, u.id))!;
      assert.equal(await s.users.verifyPassword(user, PW), true);
      assert.equal((await s.repos.tokens.find(lookupHash(rt)))!.revokedAt, undefined);
      await s.events.flush();
      assert.ok(events.some((e) => e.eventId === 'user.password.changed' && e.outcome === 'failure' && e.actorId === u.id));
    });

    test('wrong oldPasswords lock the account like failed sign-ins; then even the right one gets the same answer', async () => {
      const u = await newUser('pw-throttle');
      for (let i = 0; i < 3; i++) assertScimError(await changePassword(u.token, pwBody(`wrong guess number ${i}`, 'fourth correct horse battery 1')), 400, 'invalidValue');
      const r = await changePassword(u.token, pwBody(PW, 'fourth correct horse battery 1'));
      assertScimError(r, 400, 'invalidValue');
      assert.equal(r.json().detail, 'oldPassword is not correct');
      assert.equal(await h.t.services.users.verifyPassword((await h.t.services.repos.users.get(domain.id, u.id))!, PW), true);
    });

    const policy: [string, string, RegExp][] = [
      ['too short', 'Ab1!xyz', /\(minLength\)/],
      ['common', 'password1', /\(common\)/],
      ['the userName', 'pw-policy-the-username', /\(userName\)/],
      ['the current password (history)', PW, /\(history\)/],
    ];
    for (const [what, pw, rule] of policy) {
      test(`a new password that is ${what}: 400 invalidValue naming the rule`, async () => {
        const u = await newUser(what === 'the userName' ? 'pw-policy-the-username' : `pw-policy-${what.replace(/\W+/g, '-')}`);
        const r = await changePassword(u.token, pwBody(PW, pw));
        assertScimError(r, 400, 'invalidValue');
        assert.match(r.json().detail, rule);
        assert.ok(!r.body.includes(pw), 'the refused password is not echoed');
      });
    }

    const malformed: [string, unknown, string][] = [
      ['not an object', [1], 'invalidSyntax'],
      ['no schemas', { oldPassword: PW, password: 'x y z w v u t s' }, 'invalidSyntax'],
      ['another schema', { schemas: [USER], oldPassword: PW, password: 'x y z w v u t s' }, 'invalidSyntax'],
      ['no oldPassword', { schemas: [PW_SCHEMA], password: 'x y z w v u t s' }, 'invalidValue'],
      ['no password', { schemas: [PW_SCHEMA], oldPassword: PW }, 'invalidValue'],
      ['password not a string', { schemas: [PW_SCHEMA], oldPassword: PW, password: 12345678 }, 'invalidValue'],
      ['an unknown attribute', { schemas: [PW_SCHEMA], oldPassword: PW, password: 'x y z w v u t s', userName: 'admin' }, 'invalidValue'],
    ];
    for (const [what, body, scimType] of malformed) {
      test(`malformed request (${what}): 400 ${scimType}`, async () => {
        const u = await newUser(`pw-bad-${what.replace(/\W+/g, '-')}`);
        assertScimError(await changePassword(u.token, body), 400, scimType);
        assert.equal(await h.t.services.users.verifyPassword((await h.t.services.repos.users.get(domain.id, u.id))!, PW), true);
      });
    }
  });
});
