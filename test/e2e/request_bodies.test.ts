import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminToken, assertOAuthError, assertScimError, basic, BOOT_ID, BOOT_SECRET, harness, type Harness } from '../helpers.js';
import { USER_SCHEMA } from '../signin.js';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const webClient = { client_name: 'registered web app', grant_types: ['authorization_code'], response_types: ['code'], redirect_uris: ['https://app.example.com/cb'] };

/**
 * Issue 7 "Ambiguous input" and "Body-less requests", through the HTTP layer of each protocol: the
 * token endpoint (RFC 6749 §5.2 errors), registration (RFC 7591 §3.2.2 invalid_client_metadata) and
 * the admin API (RFC 7644 §3.12 SCIM errors).
 */
describe('request bodies: duplicate names, charsets, UTF-8, body-less requests', () => {
  let h: Harness;
  let admin: string;
  before(async () => { h = await harness(); admin = await adminToken(h); });
  after(() => h.close());

  const send = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload: string | Buffer | undefined, headers: Record<string, string> = {}, token = admin) =>
    h.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...headers }, ...(payload !== undefined ? { payload } : {}) });
  const scimJson = (charset?: string) => ({ 'content-type': `application/scim+json${charset ? `; charset=${charset}` : ''}` });
  const newUser = async (userName: string) => {
    const r = await send('POST', '/admin/v1/Users', JSON.stringify({ schemas: [USER_SCHEMA], userName }), scimJson());
    assert.equal(r.statusCode, 201, r.body);
    return r.json() as { id: string; userName: string };
  };
  const CC = 'grant_type=client_credentials&scope=urn:opc:idm:__myscopes__';
  const token = (payload: string | Buffer, contentType: string) =>
    h.inject({ method: 'POST', url: '/oauth2/v1/token', payload, headers: { 'content-type': contentType, authorization: basic(BOOT_ID, BOOT_SECRET) } });

  describe('duplicate JSON member names (RFC 7493 §2.3) and prototype poisoning', () => {
    // [what, body] — each would otherwise mean whatever its last duplicate says.
    const scimBodies: [string, string][] = [
      ['top-level userName twice', `{"schemas":["${USER_SCHEMA}"],"userName":"dup-a","userName":"dup-b"}`],
      ['nested name.givenName twice', `{"schemas":["${USER_SCHEMA}"],"userName":"dup-c","name":{"givenName":"A","givenName":"B"}}`],
      ['twice inside an array element', `{"schemas":["${USER_SCHEMA}"],"userName":"dup-d","emails":[{"value":"a@x","value":"b@x"}]}`],
      ['the same name spelled with an escape', `{"schemas":["${USER_SCHEMA}"],"userName":"dup-e","\\u0075serName":"dup-f"}`],
      ['active twice (false, then true)', `{"schemas":["${USER_SCHEMA}"],"userName":"dup-g","active":false,"active":true}`],
    ];
    for (const [what, body] of scimBodies) {
      test(`admin API: ${what} -> 400 invalidSyntax, nothing created`, async () => {
        const r = await send('POST', '/admin/v1/Users', body, scimJson());
        assertScimError(r, 400, 'invalidSyntax');
        assert.match(r.json().detail, /given more than once/);
      });
    }
    test('admin API: nothing of the refused bodies was created', async () => {
      const r = await send('GET', `/admin/v1/Users?filter=${encodeURIComponent('userName sw "dup-"')}`, undefined);
      assert.equal(r.json().totalResults, 0);
    });

    test('admin API: userName and username in one body are one attribute given twice -> 400 invalidSyntax', async () => {
      const r = await send('POST', '/admin/v1/Users', JSON.stringify({ schemas: [USER_SCHEMA], userName: 'case-a', username: 'case-b' }), scimJson());
      assertScimError(r, 400, 'invalidSyntax');
    });

    test('registration: a metadata name given twice, at the top or nested -> 400 invalid_client_metadata', async () => {
      const bodies = [
        '{"client_name":"one","client_name":"two","grant_types":["client_credentials"],"response_types":[]}',
        '{"client_name":"jwks","grant_types":["client_credentials"],"response_types":[],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"EC","crv":"P-256","kty":"RSA","x":"a","y":"b"}]}}',
      ];
      for (const b of bodies) {
        const r = await send('POST', '/oauth2/v1/register', b, { 'content-type': 'application/json' });
        assertOAuthError(r, 400, 'invalid_client_metadata');
        assert.match(r.json().error_description, /given more than once/);
      }
    });

    test('prototype poisoning is still refused: __proto__ and constructor.prototype', async () => {
      for (const b of [
        `{"schemas":["${USER_SCHEMA}"],"userName":"proto","__proto__":{"isAdmin":true}}`,
        `{"schemas":["${USER_SCHEMA}"],"userName":"proto","name":{"constructor":{"prototype":{"isAdmin":true}}}}`,
      ]) {
        const r = await send('POST', '/admin/v1/Users', b, scimJson());
        assertScimError(r, 400, 'invalidSyntax');
        assert.match(r.json().detail, /prototype/);
      }
      const reg = await send('POST', '/oauth2/v1/register', '{"client_name":"x","__proto__":{"a":1}}', { 'content-type': 'application/json' });
      assertOAuthError(reg, 400, 'invalid_client_metadata');
    });

    test('nesting beyond 64 levels -> 400 (not a stack overflow)', async () => {
      const deep = `{"schemas":["${USER_SCHEMA}"],"userName":"deep","x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
      const r = await send('POST', '/admin/v1/Users', deep, scimJson());
      assertScimError(r, 400, 'invalidSyntax');
      assert.match(r.json().detail, /nested deeper than 64/);
      assertOAuthError(await send('POST', '/oauth2/v1/register', `{"client_name":${'['.repeat(100)}${']'.repeat(100)}}`, { 'content-type': 'application/json' }), 400, 'invalid_client_metadata');
    });

    test('broken JSON is still 400 in each format', async () => {
      assertScimError(await send('POST', '/admin/v1/Users', '{"schemas":', scimJson()), 400, 'invalidSyntax');
      assertScimError(await send('POST', '/admin/v1/Users', `{"schemas":["${USER_SCHEMA}"],"userName":"c" /* comment */}`, scimJson()), 400, 'invalidSyntax');
      assertOAuthError(await send('POST', '/oauth2/v1/register', '{"client_name":"x",}', { 'content-type': 'application/json' }), 400, 'invalid_client_metadata');
    });
  });

  describe('SCIM messages read case-insensitively: one name in two spellings is ambiguous', () => {
    test('PATCH with Operations and operations -> 400 invalidSyntax; the user is unchanged', async () => {
      const u = await newUser('patch-twice');
      const body = JSON.stringify({
        schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'first' }], operations: [{ op: 'replace', path: 'active', value: false }],
      });
      const r = await send('PATCH', `/admin/v1/Users/${u.id}`, body, scimJson());
      assertScimError(r, 400, 'invalidSyntax');
      assert.match(r.json().detail, /"Operations" and "operations"/);
      const g = (await send('GET', `/admin/v1/Users/${u.id}`, undefined)).json();
      assert.equal(g.active, true);
      assert.equal(g.displayName, undefined);
      assert.equal(g.meta.version, 'W/"1"');
    });

    const ops: [string, Record<string, unknown>][] = [
      ['op and Op', { op: 'replace', Op: 'remove', path: 'displayName', value: 'x' }],
      ['path and PATH', { op: 'replace', path: 'displayName', PATH: 'nickName', value: 'x' }],
      ['value and Value', { op: 'replace', path: 'displayName', value: 'x', Value: 'y' }],
      ['displayName and DisplayName in a path-less value', { op: 'replace', value: { displayName: 'x', DisplayName: 'y' } }],
      ['displayName and its schema-qualified name in a path-less value', { op: 'add', value: { displayName: 'x', [`${USER_SCHEMA}:displayName`]: 'y' } }],
    ];
    for (const [what, op] of ops) {
      test(`PATCH operation with ${what} -> 400 invalidSyntax`, async () => {
        const u = await newUser(`op-${what.replace(/[^a-z]/gi, '').slice(0, 40)}`);
        const r = await send('PATCH', `/admin/v1/Users/${u.id}`, JSON.stringify({ schemas: [PATCH], Operations: [op] }), scimJson());
        assertScimError(r, 400, 'invalidSyntax');
      });
    }

    test('PATCH schemas and Schemas -> 400 invalidSyntax', async () => {
      const u = await newUser('schemas-twice');
      const r = await send('PATCH', `/admin/v1/Users/${u.id}`, JSON.stringify({ schemas: [PATCH], Schemas: ['x'], Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] }), scimJson());
      assertScimError(r, 400, 'invalidSyntax');
    });

    test('SearchRequest with filter and Filter, or schemas and Schemas -> 400 invalidSyntax', async () => {
      for (const b of [
        { schemas: [SEARCH], filter: 'userName eq "a"', Filter: 'userName eq "b"' },
        { schemas: [SEARCH], count: 1, COUNT: 2 },
        { schemas: [SEARCH], Schemas: [SEARCH] },
      ]) {
        const r = await send('POST', '/admin/v1/Users/.search', JSON.stringify(b), scimJson());
        assertScimError(r, 400, 'invalidSyntax');
        assert.match(r.json().detail, /given more than once/);
      }
    });
  });

  describe('charset (only UTF-8) and invalid UTF-8', () => {
    for (const [i, cs] of ['utf-8', 'UTF-8', 'utf8', '"utf-8"'].entries()) {
      test(`charset=${cs} is read: admin API, registration, token endpoint`, async () => {
        const r = await send('POST', '/admin/v1/Users', JSON.stringify({ schemas: [USER_SCHEMA], userName: `cs-${i}` }), scimJson(cs));
        assert.equal(r.statusCode, 201, r.body);
        const reg = await send('POST', '/oauth2/v1/register', JSON.stringify(webClient), { 'content-type': `application/json; charset=${cs}` });
        assert.equal(reg.statusCode, 201, reg.body);
        const t = await token(CC, `application/x-www-form-urlencoded; charset=${cs}`);
        assert.equal(t.statusCode, 200, t.body);
      });
    }

    for (const cs of ['iso-8859-1', 'latin1', 'utf-16', 'windows-1252', 'us-ascii']) {
      test(`charset=${cs} is refused in every format: SCIM invalidSyntax, invalid_client_metadata, invalid_request`, async () => {
        const r = await send('POST', '/admin/v1/Users', JSON.stringify({ schemas: [USER_SCHEMA], userName: `latin-${cs}` }), scimJson(cs));
        assertScimError(r, 400, 'invalidSyntax');
        assert.match(r.json().detail, /charset .* is not supported; send UTF-8/);
        const reg = await send('POST', '/oauth2/v1/register', JSON.stringify(webClient), { 'content-type': `application/json; charset=${cs}` });
        assertOAuthError(reg, 400, 'invalid_client_metadata');
        assert.match(reg.json().error_description, /charset/);
        const t = await token(CC, `application/x-www-form-urlencoded; charset=${cs}`);
        assertOAuthError(t, 400, 'invalid_request');
        assert.match(t.json().error_description, /charset .* is not supported/);
      });
    }

    test('invalid UTF-8 bytes -> 400 in every format, never replaced by U+FFFD', async () => {
      const bad = Buffer.concat([Buffer.from(`{"schemas":["${USER_SCHEMA}"],"userName":"ada`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
      const r = await send('POST', '/admin/v1/Users', bad, scimJson());
      assertScimError(r, 400, 'invalidSyntax');
      assert.match(r.json().detail, /not valid UTF-8/);
      const overlong = Buffer.concat([Buffer.from('{"client_name":"x'), Buffer.from([0xc0, 0xaf]), Buffer.from('","grant_types":["client_credentials"],"response_types":[]}')]);
      const reg = await send('POST', '/oauth2/v1/register', overlong, { 'content-type': 'application/json' });
      assertOAuthError(reg, 400, 'invalid_client_metadata');
      const form = Buffer.concat([Buffer.from(`${CC}&x=`), Buffer.from([0xed, 0xa0, 0x80])]);
      assertOAuthError(await token(form, 'application/x-www-form-urlencoded'), 400, 'invalid_request');
    });
  });

  describe('body-less requests are never refused for their Content-Type', () => {
    for (const type of ['application/scim+json', 'application/json', 'application/scim+json; charset=utf-8', 'text/plain', 'application/x-unknown']) {
      test(`DELETE /admin/v1/Users/{id} with Content-Type ${type} and no body -> 204`, async () => {
        const u = await newUser(`del-${type.replace(/\W/g, '')}`);
        const r = await send('DELETE', `/admin/v1/Users/${u.id}`, undefined, { 'content-type': type });
        assert.equal(r.statusCode, 204, r.body);
        assert.equal((await send('GET', `/admin/v1/Users/${u.id}`, undefined)).statusCode, 404);
      });
    }

    test('DELETE with Content-Length: 0 and a JSON type -> 204', async () => {
      const u = await newUser('del-length-zero');
      const r = await send('DELETE', `/admin/v1/Users/${u.id}`, undefined, { 'content-type': 'application/scim+json', 'content-length': '0' });
      assert.equal(r.statusCode, 204, r.body);
    });

    test('GET with a JSON Content-Type -> 200', async () => {
      for (const type of ['application/json', 'application/scim+json', 'text/plain']) {
        const r = await send('GET', '/admin/v1/Users?count=1', undefined, { 'content-type': type });
        assert.equal(r.statusCode, 200, r.body);
      }
    });

    test('POST /admin/v1/SigningKeys/rotate without a body, with or without a JSON Content-Type -> 200', async () => {
      for (const headers of [{ 'content-type': 'application/json' }, { 'content-type': 'application/scim+json' }, {}] as Record<string, string>[]) {
        const r = await send('POST', '/admin/v1/SigningKeys/rotate', undefined, headers);
        assert.equal(r.statusCode, 200, `${JSON.stringify(headers)}: ${r.body}`);
        assert.equal(typeof r.json().active, 'string');
      }
    });

    test('DELETE /oauth2/v1/register/{id} (RFC 7592 §2.3) with a JSON Content-Type and no body -> 204', async () => {
      const reg = await send('POST', '/oauth2/v1/register', JSON.stringify(webClient), { 'content-type': 'application/json' });
      assert.equal(reg.statusCode, 201, reg.body);
      const { client_id, registration_access_token } = reg.json();
      const r = await send('DELETE', `/oauth2/v1/register/${client_id}`, undefined, { 'content-type': 'application/json' }, registration_access_token);
      assert.equal(r.statusCode, 204, r.body);
    });

    test('a JSON POST without a body is read as no body: the handler answers in its own terms', async () => {
      const u = await send('POST', '/admin/v1/Users', undefined, scimJson());
      assertScimError(u, 400, 'invalidSyntax');
      assert.match(u.json().detail, /must be a JSON object/);
      assertOAuthError(await send('POST', '/oauth2/v1/register', undefined, { 'content-type': 'application/json' }), 400, 'invalid_client_metadata');
      const t = await h.inject({ method: 'POST', url: '/oauth2/v1/token', headers: { 'content-type': 'application/json', authorization: basic(BOOT_ID, BOOT_SECRET) } });
      assertOAuthError(t, 400, 'invalid_request');
    });

    test('a body of an unknown type keeps a clear 400 in each format', async () => {
      const u = await send('POST', '/admin/v1/Users', 'userName=ada', { 'content-type': 'text/plain' });
      assertScimError(u, 400, 'invalidSyntax');
      assert.match(u.json().detail, /unsupported content type text\/plain/);
      const d = await newUser('del-with-body');
      assertScimError(await send('DELETE', `/admin/v1/Users/${d.id}`, 'junk', { 'content-type': 'text/plain' }), 400, 'invalidSyntax');
      assertOAuthError(await send('POST', '/oauth2/v1/register', 'client_name=x', { 'content-type': 'text/plain' }), 400, 'invalid_client_metadata');
      const t = await token(CC, 'text/plain');
      assertOAuthError(t, 400, 'invalid_request');
      assert.match(t.json().error_description, /unsupported content type/);
    });
  });
});
