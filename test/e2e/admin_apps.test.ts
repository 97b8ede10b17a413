import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { newApp } from '../../src/identity/domains.js';
import {
  adminToken, APP_SCHEMA, assertOAuthError, clientToken, harness, ISSUER, scim, type Harness, assertScimError } from '../helpers.js';

const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const SEARCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ADMIN = `${ISSUER}/admin/v1`;

/** RFC 7644 §3.12: status as a string, scimType only when given, and the SCIM media type. */
const patchOp = (...Operations: Record<string, unknown>[]) => ({ schemas: [PATCH_SCHEMA], Operations });
const client = (o: Record<string, unknown> = {}) => ({
  schemas: [APP_SCHEMA], displayName: `c-${Math.random().toString(36).slice(2, 8)}`, isOAuthClient: true, clientType: 'confidential',
  allowedGrants: ['client_credentials'], ...o,
});
let uniq = 0;
const resourceServer = (o: Record<string, unknown> = {}) => {
  const n = `${++uniq}-${Math.random().toString(36).slice(2, 8)}`;
  return { schemas: [APP_SCHEMA], displayName: `rs-${n}`, isOAuthResource: true, audience: `https://rs-${n}.example.com`, scopes: [{ value: `s${n}.read` }], ...o };
};

describe('admin Apps: create and read', () => {
  let h: Harness;
  let admin: string;
  let created: LightMyRequestResponse;
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, resourceServer({ scopes: [{ value: 'cr.read' }] }));
    assert.equal(rs.statusCode, 201, rs.body);
    created = await scim(h, 'POST', '/admin/v1/Apps', admin, client({ displayName: 'Billing job', allowedScopes: [{ fqs: 'cr.read' }] }));
  });
  after(() => h.close());

  test('201 with Location, ETag, meta, a generated client_id (name) and the secret, once', async () => {
    assert.equal(created.statusCode, 201, created.body);
    assert.match(String(created.headers['content-type']), /^application\/scim\+json/);
    assert.equal(created.headers['cache-control'], 'no-store');
    const b = created.json();
    assert.deepEqual(b.schemas, [APP_SCHEMA]);
    assert.equal(typeof b.id, 'string');
    assert.equal(created.headers.location, `${ADMIN}/Apps/${b.id}`);
    assert.equal(created.headers.etag, 'W/"1"');
    assert.deepEqual(Object.keys(b.meta).sort(), ['created', 'lastModified', 'location', 'resourceType', 'version']);
    assert.equal(b.meta.resourceType, 'App');
    assert.equal(b.meta.location, created.headers.location);
    assert.equal(b.meta.version, created.headers.etag);
    assert.ok(!Number.isNaN(Date.parse(b.meta.created)) && b.meta.created === b.meta.lastModified);
    assert.equal(b.displayName, 'Billing job');
    assert.equal(b.active, true);
    assert.equal(b.isOAuthClient, true);
    assert.equal(b.clientType, 'confidential');
    assert.equal(b.tokenEndpointAuthMethod, 'client_secret_basic');
    assert.deepEqual(b.allowedScopes, [{ fqs: 'cr.read' }]);
    assert.equal(typeof b.name, 'string');
    assert.ok(b.name.length >= 16 && b.name !== b.id);
    assert.equal(typeof b.clientSecret, 'string');
    assert.ok(Buffer.from(b.clientSecret, 'base64url').length >= 32, 'a 256-bit secret');
    // the secret works at the token endpoint
    assert.equal((await clientToken(h, b.name, b.clientSecret, 'cr.read')).statusCode, 200);
  });

  test('the client_id and secret are generated: a client-supplied name or clientSecret (readOnly) is ignored', async () => {
    const r = await scim(h, 'POST', '/admin/v1/Apps', admin, client({ name: 'my-chosen-id', clientSecret: 'my-chosen-secret-0123456789abcdef', allowedScopes: [{ fqs: 'cr.read' }] }));
    assert.equal(r.statusCode, 201, r.body);
    assert.notEqual(r.json().name, 'my-chosen-id');
    assert.notEqual(r.json().clientSecret, 'my-chosen-secret-0123456789abcdef');
    assertOAuthError(await clientToken(h, r.json().name, 'my-chosen-secret-0123456789abcdef', 'cr.read'), 401, 'invalid_client');
    assert.equal((await clientToken(h, r.json().name, r.json().clientSecret, 'cr.read')).statusCode, 200);
    const other = await scim(h, 'POST', '/admin/v1/Apps', admin, client());
    assert.notEqual(other.json().name, r.json().name);
  });

  test('GET by id: same resource, ETag, never the secret (even when asked for)', async () => {
    const b = created.json();
    for (const q of ['', '?attributes=clientSecret', '?attributes=clientSecret,name', '?excludedAttributes=displayName']) {
      const r = await scim(h, 'GET', `/admin/v1/Apps/${b.id}${q}`, admin);
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.headers.etag, 'W/"1"');
      assert.equal(r.headers['cache-control'], 'no-store');
      assert.equal(r.json().id, b.id);
      assert.equal(r.json().clientSecret, undefined, q);
      assert.doesNotMatch(r.body, new RegExp(b.clientSecret.replace(/[-]/g, '\\-')));
    }
    const full = (await scim(h, 'GET', `/admin/v1/Apps/${b.id}`, admin)).json();
    const { clientSecret: _, ...rest } = b;
    assert.deepEqual(full, rest);
  });

  test('list and .search never show a secret', async () => {
    const secret = created.json().clientSecret as string;
    for (const r of [
      await scim(h, 'GET', '/admin/v1/Apps', admin),
      await scim(h, 'GET', '/admin/v1/Apps?attributes=clientSecret', admin),
      await scim(h, 'POST', '/admin/v1/Apps/.search', admin, { schemas: [SEARCH_SCHEMA], attributes: ['clientSecret', 'name'] }),
    ]) {
      assert.equal(r.statusCode, 200, r.body);
      assert.ok(r.json().Resources.length >= 3);
      assert.ok(r.json().Resources.every((a: Record<string, unknown>) => !('clientSecret' in a)));
      assert.ok(!r.body.includes(secret));
    }
  });

  test('unknown id: 404 in the SCIM error shape; ids are case-sensitive', async () => {
    assertScimError(await scim(h, 'GET', '/admin/v1/Apps/no-such-id', admin), 404);
    const id = created.json().id as string;
    if (id.toUpperCase() !== id) assertScimError(await scim(h, 'GET', `/admin/v1/Apps/${id.toUpperCase()}`, admin), 404);
    assertScimError(await scim(h, 'DELETE', '/admin/v1/Apps/no-such-id', admin), 404);
    assertScimError(await scim(h, 'PUT', '/admin/v1/Apps/no-such-id', admin, client()), 404);
    assertScimError(await scim(h, 'PATCH', '/admin/v1/Apps/no-such-id', admin, patchOp({ op: 'replace', path: 'displayName', value: 'x' })), 404);
  });

  test('attributes on a create narrows the response, but the new secret is still shown', async () => {
    const r = await scim(h, 'POST', '/admin/v1/Apps?attributes=name', admin, client());
    assert.equal(r.statusCode, 201, r.body);
    assert.deepEqual(Object.keys(r.json()).sort(), ['clientSecret', 'id', 'name', 'schemas']);
    assert.equal((await clientToken(h, r.json().name, r.json().clientSecret, 'cr.read')).statusCode, 400, 'authenticated (not allowed cr.read)');
  });

  test('a public client gets no secret and tokenEndpointAuthMethod none', async () => {
    const r = await scim(h, 'POST', '/admin/v1/Apps', admin, client({
      clientType: 'public', allowedGrants: ['authorization_code'], redirectUris: ['https://app.example.com/cb'],
    }));
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.json().clientSecret, undefined);
    assert.equal(r.json().tokenEndpointAuthMethod, 'none');
  });

  test('the built-in Identity Domain API app is listed with the admin audience', async () => {
    const r = await scim(h, 'GET', `/admin/v1/Apps?filter=${encodeURIComponent('isBuiltIn eq true and isOAuthResource eq true')}`, admin);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().totalResults, 1);
    const a = r.json().Resources[0];
    assert.equal(a.displayName, 'Identity Domain API');
    assert.equal(a.isOAuthResource, true);
    assert.equal(a.audience, ADMIN);
    assert.ok(a.scopes.some((s: { value: string }) => s.value === 'urn:opc:idm:t.settings'));
  });
});

describe('admin Apps: list, filter, sort, page, project, .search', () => {
  let h: Harness;
  let admin: string;
  const ids: Record<string, string> = {};
  const clientIds: Record<string, string> = {};
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, { ...resourceServer(), displayName: 'flt-beta', scopes: [{ value: 'flt.read' }] });
    assert.equal(rs.statusCode, 201, rs.body);
    ids.beta = rs.json().id;
    for (const [key, body] of Object.entries({
      alpha: client({ displayName: 'flt-alpha', allowedScopes: [{ fqs: 'flt.read' }] }),
      apple: client({ displayName: 'flt-apple', active: false }),
      avocado: { schemas: [APP_SCHEMA], displayName: 'flt-avocado' },
      cherry: client({ displayName: 'flt-cherry', clientType: 'public', allowedGrants: ['authorization_code'], redirectUris: ['https://c.example/cb'] }),
    })) {
      const r = await scim(h, 'POST', '/admin/v1/Apps', admin, body);
      assert.equal(r.statusCode, 201, r.body);
      ids[key] = r.json().id;
      if (r.json().name) clientIds[key] = r.json().name;
    }
  });
  after(() => h.close());

  const names = (r: LightMyRequestResponse): string[] => r.json().Resources.map((a: { displayName: string }) => a.displayName).sort();
  const cases: [string, string[]][] = [
    ['displayName eq "flt-alpha"', ['flt-alpha']],
    ['displayName eq "FLT-ALPHA"', ['flt-alpha']], // displayName is not caseExact (RFC 7643 §2.1)
    ['displayName sw "flt-a" and active eq true', ['flt-alpha', 'flt-avocado']],
    ['displayName sw "flt-" and isOAuthClient eq true', ['flt-alpha', 'flt-apple', 'flt-cherry']],
    ['displayName sw "flt-" and allowedGrants eq "client_credentials"', ['flt-alpha', 'flt-apple']],
    ['displayName sw "flt-" and isOAuthResource eq true', ['flt-beta']],
    ['displayName sw "flt-" and active eq false', ['flt-apple']],
    ['displayName sw "flt-" and clientType eq "public"', ['flt-cherry']],
    ['displayName co "voc"', ['flt-avocado']],
    ['displayName sw "flt-" and allowedScopes[fqs eq "flt.read"]', ['flt-alpha']],
    ['displayName sw "flt-" and not (isOAuthClient eq true)', ['flt-avocado', 'flt-beta']],
    ['displayName eq "nothing-like-this"', []],
  ];
  for (const [filter, expected] of cases) {
    test(`filter ${filter}`, async () => {
      const r = await scim(h, 'GET', `/admin/v1/Apps?filter=${encodeURIComponent(filter)}`, admin);
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json().schemas, [LIST_SCHEMA]);
      assert.deepEqual(names(r), expected);
      assert.equal(r.json().totalResults, expected.length);
      assert.equal(r.json().itemsPerPage, expected.length);
    });
  }

  test('filter on name (the client_id) finds one client', async () => {
    const r = await scim(h, 'GET', `/admin/v1/Apps?filter=${encodeURIComponent(`name eq "${clientIds.alpha}"`)}`, admin);
    assert.deepEqual(r.json().Resources.map((a: { id: string }) => a.id), [ids.alpha]);
  });

  const badFilters = [
    'clientSecret eq "x"', 'clientSecret pr', 'clientSecret sw "a"', 'isOAuthClient eq true or clientSecret co "a"', // returned: never
    'displayName eq', 'displayName xx "a"', '(displayName eq "a"', 'displayName eq "a" and', 'noSuchAttr eq "a"', 'active gt true',
    'displayName eq "unterminated', '"x" eq displayName',
  ];
  for (const f of badFilters) {
    test(`bad filter ${f}: 400 invalidFilter`, async () => {
      assertScimError(await scim(h, 'GET', `/admin/v1/Apps?filter=${encodeURIComponent(f)}`, admin), 400, 'invalidFilter');
      assertScimError(await scim(h, 'POST', '/admin/v1/Apps/.search', admin, { schemas: [SEARCH_SCHEMA], filter: f }), 400, 'invalidFilter');
    });
  }

  test('sortBy, sortOrder, startIndex and count page a sorted list', async () => {
    const f = encodeURIComponent('displayName sw "flt-"');
    const asc = await scim(h, 'GET', `/admin/v1/Apps?filter=${f}&sortBy=displayName`, admin);
    assert.deepEqual(asc.json().Resources.map((a: { displayName: string }) => a.displayName), ['flt-alpha', 'flt-apple', 'flt-avocado', 'flt-beta', 'flt-cherry']);
    const desc = await scim(h, 'GET', `/admin/v1/Apps?filter=${f}&sortBy=displayName&sortOrder=descending`, admin);
    assert.deepEqual(desc.json().Resources.map((a: { displayName: string }) => a.displayName), ['flt-cherry', 'flt-beta', 'flt-avocado', 'flt-apple', 'flt-alpha']);
    const p2 = (await scim(h, 'GET', `/admin/v1/Apps?filter=${f}&sortBy=displayName&startIndex=3&count=2`, admin)).json();
    assert.equal(p2.totalResults, 5);
    assert.equal(p2.startIndex, 3);
    assert.equal(p2.itemsPerPage, 2);
    assert.deepEqual(p2.Resources.map((a: { displayName: string }) => a.displayName), ['flt-avocado', 'flt-beta']);
    const last = (await scim(h, 'GET', `/admin/v1/Apps?filter=${f}&sortBy=displayName&startIndex=5&count=2`, admin)).json();
    assert.deepEqual(last.Resources.map((a: { displayName: string }) => a.displayName), ['flt-cherry']);
    const beyond = (await scim(h, 'GET', `/admin/v1/Apps?filter=${f}&startIndex=99`, admin)).json();
    assert.equal(beyond.totalResults, 5);
    assert.equal(beyond.itemsPerPage, 0);
    assert.deepEqual(beyond.Resources, []);
    // RFC 7644 §3.4.2.4: startIndex < 1 is read as 1
    const zero = (await scim(h, 'GET', `/admin/v1/Apps?filter=${f}&sortBy=displayName&startIndex=0&count=1`, admin)).json();
    assert.equal(zero.startIndex, 1);
    assert.deepEqual(zero.Resources.map((a: { displayName: string }) => a.displayName), ['flt-alpha']);
  });

  test('count=0 (and a negative count) gives totalResults only', async () => {
    for (const c of ['0', '-3']) {
      const r = await scim(h, 'GET', `/admin/v1/Apps?count=${c}`, admin);
      assert.equal(r.statusCode, 200, r.body);
      const b = r.json();
      assert.ok(b.totalResults >= 6, r.body);
      assert.equal(b.itemsPerPage, 0);
      assert.deepEqual(b.Resources ?? [], []);
    }
  });

  test('bad paging and sorting parameters: 400 invalidValue', async () => {
    for (const q of ['count=abc', 'startIndex=1.5', 'count=1&count=2', 'sortOrder=sideways', 'sortBy=clientSecret', 'sortBy=noSuchAttr', 'sortBy=a%20b', 'attributes=a%20b']) {
      assertScimError(await scim(h, 'GET', `/admin/v1/Apps?${q}`, admin), 400, 'invalidValue');
    }
  });

  test('attributes / excludedAttributes project the resources; id and schemas are always there', async () => {
    const f = encodeURIComponent(`displayName eq "flt-alpha"`);
    const only = (await scim(h, 'GET', `/admin/v1/Apps?filter=${f}&attributes=displayName`, admin)).json().Resources[0];
    assert.deepEqual(Object.keys(only).sort(), ['displayName', 'id', 'schemas']);
    const sub = (await scim(h, 'GET', `/admin/v1/Apps?filter=${f}&attributes=meta.version,allowedScopes`, admin)).json().Resources[0];
    assert.deepEqual(Object.keys(sub).sort(), ['allowedScopes', 'id', 'meta', 'schemas']);
    assert.deepEqual(Object.keys(sub.meta), ['version']);
    const ex = (await scim(h, 'GET', `/admin/v1/Apps?filter=${f}&excludedAttributes=allowedGrants,meta,id`, admin)).json().Resources[0];
    assert.equal(ex.allowedGrants, undefined);
    assert.equal(ex.meta, undefined);
    assert.equal(ex.id, ids.alpha, 'id is returned always (RFC 7643 §3.1)');
    assert.equal(ex.displayName, 'flt-alpha');
    const one = (await scim(h, 'GET', `/admin/v1/Apps/${ids.alpha}?attributes=name`, admin)).json();
    assert.deepEqual(Object.keys(one).sort(), ['id', 'name', 'schemas']);
    assert.equal(one.name, clientIds.alpha);
  });

  test('POST /Apps/.search takes a SearchRequest and answers like GET', async () => {
    const body = { schemas: [SEARCH_SCHEMA], filter: 'displayName sw "flt-a"', sortBy: 'displayName', sortOrder: 'descending', attributes: ['displayName'], startIndex: 1, count: 2 };
    const r = await scim(h, 'POST', '/admin/v1/Apps/.search', admin, body);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers.location, undefined);
    const b = r.json();
    assert.deepEqual(b.schemas, [LIST_SCHEMA]);
    assert.equal(b.totalResults, 3);
    assert.deepEqual(b.Resources, [
      { schemas: [APP_SCHEMA], id: ids.avocado, displayName: 'flt-avocado' },
      { schemas: [APP_SCHEMA], id: ids.apple, displayName: 'flt-apple' },
    ]);
    const get = await scim(h, 'GET', `/admin/v1/Apps?filter=${encodeURIComponent(body.filter)}&sortBy=displayName&sortOrder=descending&attributes=displayName&count=2`, admin);
    assert.deepEqual(get.json(), b);
  });

  test('.search refuses what is not a SearchRequest', async () => {
    for (const body of [
      {}, { filter: 'displayName eq "x"' }, { schemas: [APP_SCHEMA] }, { schemas: 'x' }, { schemas: [SEARCH_SCHEMA, APP_SCHEMA] }, [], 'x', 7,
    ]) {
      assertScimError(await scim(h, 'POST', '/admin/v1/Apps/.search', admin, body), 400, 'invalidSyntax');
    }
    const broken = await h.inject({ method: 'POST', url: '/admin/v1/Apps/.search', payload: '{"schemas":', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/scim+json' } });
    assertScimError(broken, 400, 'invalidSyntax');
    assertScimError(await scim(h, 'POST', '/admin/v1/Apps/.search', admin, { schemas: [SEARCH_SCHEMA], count: 'many' }), 400, 'invalidValue');
  });

  test('count is capped at 1000', async () => {
    // Seed plain apps straight into the store (creating 1000 over HTTP is slow and beside the point).
    const domain = h.t.services.catalogs;
    const d = await domain.domainByName('default');
    const now = h.clock.now();
    for (let i = 0; i < 1001; i++) await h.t.services.repos.apps.create(newApp(d!.id, now, { displayName: `bulk-${String(i).padStart(4, '0')}` }));
    const r = await scim(h, 'GET', '/admin/v1/Apps?count=5000', admin);
    assert.equal(r.statusCode, 200);
    const b = r.json();
    assert.ok(b.totalResults >= 1007, String(b.totalResults));
    assert.equal(b.itemsPerPage, 1000);
    assert.equal(b.Resources.length, 1000);
    const dflt = (await scim(h, 'GET', '/admin/v1/Apps', admin)).json();
    assert.ok(dflt.itemsPerPage <= 1000);
    const s = (await scim(h, 'POST', '/admin/v1/Apps/.search', admin, { schemas: [SEARCH_SCHEMA], count: 100000, attributes: ['id'] })).json();
    assert.equal(s.Resources.length, 1000);
  });
});

describe('admin Apps: replace, patch, delete and ETags', () => {
  let h: Harness;
  let admin: string;
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    assert.equal((await scim(h, 'POST', '/admin/v1/Apps', admin, resourceServer({ scopes: [{ value: 'ed.read' }, { value: 'ed.write' }] }))).statusCode, 201);
  });
  after(() => h.close());

  const mk = async (o: Record<string, unknown> = {}) => {
    const r = await scim(h, 'POST', '/admin/v1/Apps', admin, client({ allowedScopes: [{ fqs: 'ed.read' }], ...o }));
    assert.equal(r.statusCode, 201, r.body);
    return r.json();
  };

  test('PUT replaces the resource, bumps the version, keeps id, name and the secret', async () => {
    const a = await mk();
    const r = await scim(h, 'PUT', `/admin/v1/Apps/${a.id}`, admin, client({
      displayName: 'renamed', description: 'now with a description', allowedScopes: [{ fqs: 'ed.read' }, { fqs: 'ed.write' }],
    }));
    assert.equal(r.statusCode, 200, r.body);
    const b = r.json();
    assert.equal(r.headers.etag, 'W/"2"');
    assert.equal(b.meta.version, 'W/"2"');
    assert.equal(b.id, a.id);
    assert.equal(b.name, a.name);
    assert.equal(b.clientSecret, undefined);
    assert.equal(b.displayName, 'renamed');
    assert.equal(b.description, 'now with a description');
    assert.ok(Date.parse(b.meta.lastModified) >= Date.parse(b.meta.created));
    assert.deepEqual((await scim(h, 'GET', `/admin/v1/Apps/${a.id}`, admin)).json(), b);
    const t = await clientToken(h, a.name, a.clientSecret, 'ed.write');
    assert.equal(t.statusCode, 200, t.body);
  });

  test('PUT: read-only values sent back are ignored; an omitted optional value is cleared', async () => {
    const a = await mk({ description: 'd' });
    const { clientSecret: _, ...current } = a;
    const r = await scim(h, 'PUT', `/admin/v1/Apps/${a.id}`, admin, { ...current, description: undefined, name: 'forged', id: 'forged', meta: { version: 'W/"99"' } });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().id, a.id);
    assert.equal(r.json().name, a.name);
    assert.equal(r.json().description, undefined);
  });

  test('PUT cannot change clientType (400 mutability)', async () => {
    const a = await mk();
    const r = await scim(h, 'PUT', `/admin/v1/Apps/${a.id}`, admin, client({ clientType: 'public', allowedGrants: ['authorization_code'], redirectUris: ['https://x.example/cb'] }));
    assertScimError(r, 400, 'mutability');
    const p = await scim(h, 'PATCH', `/admin/v1/Apps/${a.id}`, admin, patchOp({ op: 'replace', path: 'clientType', value: 'public' }));
    assertScimError(p, 400, 'mutability');
    assert.equal((await scim(h, 'GET', `/admin/v1/Apps/${a.id}`, admin)).json().clientType, 'confidential');
  });

  test('If-Match: a stale version is 412 on PUT, PATCH and DELETE; the current one (or *) passes', async () => {
    const a = await mk();
    const stale = 'W/"7"';
    assertScimError(await scim(h, 'PUT', `/admin/v1/Apps/${a.id}`, admin, client({ displayName: 'x' }), { 'if-match': stale }), 412);
    assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${a.id}`, admin, patchOp({ op: 'replace', path: 'displayName', value: 'x' }), { 'if-match': stale }), 412);
    assertScimError(await scim(h, 'DELETE', `/admin/v1/Apps/${a.id}`, admin, undefined, { 'if-match': stale }), 412);
    assert.equal((await scim(h, 'GET', `/admin/v1/Apps/${a.id}`, admin)).headers.etag, 'W/"1"', 'nothing changed');

    const ok = await scim(h, 'PATCH', `/admin/v1/Apps/${a.id}`, admin, patchOp({ op: 'replace', path: 'displayName', value: 'v2' }), { 'if-match': 'W/"1"' });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.headers.etag, 'W/"2"');
    // the old tag is now stale
    assertScimError(await scim(h, 'PUT', `/admin/v1/Apps/${a.id}`, admin, client({ displayName: 'v3' }), { 'if-match': 'W/"1"' }), 412);
    const put = await scim(h, 'PUT', `/admin/v1/Apps/${a.id}`, admin, client({ displayName: 'v3', allowedScopes: [{ fqs: 'ed.read' }] }), { 'if-match': 'W/"2"' });
    assert.equal(put.statusCode, 200, put.body);
    assert.equal(put.headers.etag, 'W/"3"');
    const star = await scim(h, 'PATCH', `/admin/v1/Apps/${a.id}`, admin, patchOp({ op: 'replace', path: 'description', value: 'any' }), { 'if-match': '*' });
    assert.equal(star.statusCode, 200, star.body);
    const del = await scim(h, 'DELETE', `/admin/v1/Apps/${a.id}`, admin, undefined, { 'if-match': 'W/"4"' });
    assert.equal(del.statusCode, 204, del.body);
  });

  test('If-None-Match with the current version: 304 without a body; a stale one: 200', async () => {
    const a = await mk();
    const r = await scim(h, 'GET', `/admin/v1/Apps/${a.id}`, admin, undefined, { 'if-none-match': 'W/"1"' });
    assert.equal(r.statusCode, 304);
    assert.equal(r.body, '');
    assert.equal(r.headers.etag, 'W/"1"');
    await scim(h, 'PATCH', `/admin/v1/Apps/${a.id}`, admin, patchOp({ op: 'replace', path: 'displayName', value: 'changed' }));
    const r2 = await scim(h, 'GET', `/admin/v1/Apps/${a.id}`, admin, undefined, { 'if-none-match': 'W/"1"' });
    assert.equal(r2.statusCode, 200);
    assert.equal(r2.json().displayName, 'changed');
    assert.equal(r2.headers.etag, 'W/"2"');
  });

  test('If-None-Match is a list compared weakly, or * (RFC 7232 §3.2)', async () => {
    const a = await mk();
    for (const inm of ['W/"9", W/"1"', '"1"', '*', 'W/"0",W/"1"']) {
      const r = await scim(h, 'GET', `/admin/v1/Apps/${a.id}`, admin, undefined, { 'if-none-match': inm });
      assert.equal(r.statusCode, 304, inm);
    }
    for (const inm of ['W/"9", W/"2"', '"11"', 'W/"1"x']) {
      const r = await scim(h, 'GET', `/admin/v1/Apps/${a.id}`, admin, undefined, { 'if-none-match': inm });
      assert.equal(r.statusCode, 200, inm);
    }
  });

  test('PATCH add / replace / remove on attributes (RFC 7644 §3.5.2)', async () => {
    const a = await mk({ redirectUris: ['https://a.example/cb'], allowedGrants: ['client_credentials', 'authorization_code'] });
    const r = await scim(h, 'PATCH', `/admin/v1/Apps/${a.id}`, admin, patchOp(
      { op: 'add', path: 'redirectUris', value: ['https://b.example/cb'] },
      { op: 'replace', path: 'displayName', value: 'patched' },
      { op: 'add', path: 'allowedScopes', value: [{ fqs: 'ed.write' }] },
      { op: 'add', value: { description: 'added without a path' } },
    ));
    assert.equal(r.statusCode, 200, r.body);
    const b = r.json();
    assert.deepEqual(b.redirectUris, ['https://a.example/cb', 'https://b.example/cb']);
    assert.equal(b.displayName, 'patched');
    assert.equal(b.description, 'added without a path');
    assert.deepEqual(b.allowedScopes.map((x: { fqs: string }) => x.fqs).sort(), ['ed.read', 'ed.write']);
    assert.equal(b.name, a.name);
    assert.equal(b.meta.version, 'W/"2"');

    const r2 = await scim(h, 'PATCH', `/admin/v1/Apps/${a.id}`, admin, patchOp(
      { op: 'remove', path: 'allowedScopes[fqs eq "ed.read"]' },
      { op: 'remove', path: 'description' },
      { op: 'replace', path: 'redirectUris', value: ['https://c.example/cb'] },
    ));
    assert.equal(r2.statusCode, 200, r2.body);
    assert.deepEqual(r2.json().allowedScopes, [{ fqs: 'ed.write' }]);
    assert.equal(r2.json().description, undefined);
    assert.deepEqual(r2.json().redirectUris, ['https://c.example/cb']);
    // the change reaches the token endpoint: ed.read is no longer allowed
    assertOAuthError(await clientToken(h, a.name, a.clientSecret, 'ed.read'), 400, 'invalid_scope');
    assert.equal((await clientToken(h, a.name, a.clientSecret, 'ed.write')).statusCode, 200);
  });

  test('PATCH with a value filter on a resource server\'s scopes', async () => {
    const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, resourceServer({ scopes: [{ value: 'pf.read' }, { value: 'pf.write' }] }));
    const id = rs.json().id;
    const r = await scim(h, 'PATCH', `/admin/v1/Apps/${id}`, admin, patchOp(
      { op: 'replace', path: 'scopes[value eq "pf.read"].description', value: 'Read things' },
      { op: 'remove', path: 'scopes[value eq "pf.write"]' },
    ));
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json().scopes, [{ value: 'pf.read', description: 'Read things' }]);
    // pf.write is free again: another resource server may define it
    assert.equal((await scim(h, 'POST', '/admin/v1/Apps', admin, resourceServer({ scopes: [{ value: 'pf.write' }] }))).statusCode, 201);
  });

  const badPatches: [string, unknown, number, string][] = [
    ['remove with a filter matching nothing', patchOp({ op: 'remove', path: 'allowedScopes[fqs eq "nope"]' }), 400, 'noTarget'],
    ['remove without a path', patchOp({ op: 'remove' }), 400, 'noTarget'],
    ['replace a readOnly attribute (name)', patchOp({ op: 'replace', path: 'name', value: 'mine' }), 400, 'mutability'],
    ['replace a readOnly attribute (isBuiltIn)', patchOp({ op: 'replace', path: 'isBuiltIn', value: true }), 400, 'mutability'],
    ['add clientSecret', patchOp({ op: 'add', path: 'clientSecret', value: 'chosen-secret' }), 400, 'mutability'],
    ['unknown path', patchOp({ op: 'replace', path: 'noSuchAttr', value: 1 }), 400, 'invalidPath'],
    ['value filter on a simple attribute', patchOp({ op: 'remove', path: 'redirectUris[value eq "x"]' }), 400, 'invalidPath'],
    ['malformed filter in a path', patchOp({ op: 'remove', path: 'allowedScopes[fqs eq ]' }), 400, 'invalidPath'],
    ['unknown op', patchOp({ op: 'merge', path: 'displayName', value: 'x' }), 400, 'invalidSyntax'],
    ['replace without a value', patchOp({ op: 'replace', path: 'displayName' }), 400, 'invalidSyntax'],
    ['no Operations', { schemas: [PATCH_SCHEMA] }, 400, 'invalidSyntax'],
    ['empty Operations', { schemas: [PATCH_SCHEMA], Operations: [] }, 400, 'invalidSyntax'],
    ['wrong schemas', { schemas: [APP_SCHEMA], Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] }, 400, 'invalidSyntax'],
    ['an array body', [{ op: 'replace', path: 'displayName', value: 'x' }], 400, 'invalidSyntax'],
    ['wrong value type', patchOp({ op: 'replace', path: 'active', value: 'yes' }), 400, 'invalidValue'],
    ['remove a required attribute', patchOp({ op: 'remove', path: 'displayName' }), 400, 'invalidValue'],
    ['an invalid result (http redirect URI)', patchOp({ op: 'add', path: 'redirectUris', value: ['http://evil.example/cb'] }), 400, 'invalidValue'],
    ['an undefined scope', patchOp({ op: 'add', path: 'allowedScopes', value: [{ fqs: 'not.defined' }] }), 400, 'invalidValue'],
  ];
  for (const [name, body, status, scimType] of badPatches) {
    test(`PATCH refused: ${name}`, async () => {
      const a = await mk();
      assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${a.id}`, admin, body), status, scimType);
      const now = await scim(h, 'GET', `/admin/v1/Apps/${a.id}`, admin);
      assert.equal(now.headers.etag, 'W/"1"', 'a refused PATCH changes nothing');
    });
  }

  test('DELETE: 204, then 404; the client can no longer get tokens', async () => {
    const a = await mk();
    assert.equal((await clientToken(h, a.name, a.clientSecret, 'ed.read')).statusCode, 200);
    const r = await scim(h, 'DELETE', `/admin/v1/Apps/${a.id}`, admin);
    assert.equal(r.statusCode, 204);
    assert.equal(r.body, '');
    assertScimError(await scim(h, 'GET', `/admin/v1/Apps/${a.id}`, admin), 404);
    assertScimError(await scim(h, 'DELETE', `/admin/v1/Apps/${a.id}`, admin), 404);
    assertOAuthError(await clientToken(h, a.name, a.clientSecret, 'ed.read'), 401, 'invalid_client');
  });

  test('deleting a resource server frees its audience and scopes; its clients get nothing', async () => {
    const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, resourceServer({ audience: 'https://gone.example', scopes: [{ value: 'gone.read' }] }));
    const c = await mk({ allowedScopes: [{ fqs: 'gone.read' }] });
    assert.equal((await clientToken(h, c.name, c.clientSecret, 'gone.read')).statusCode, 200);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Apps/${rs.json().id}`, admin)).statusCode, 204);
    assertOAuthError(await clientToken(h, c.name, c.clientSecret, 'gone.read'), 400, 'invalid_scope');
    const again = await scim(h, 'POST', '/admin/v1/Apps', admin, resourceServer({ audience: 'https://gone.example', scopes: [{ value: 'gone.read' }] }));
    assert.equal(again.statusCode, 201, again.body);
  });

  test('the built-in Identity Domain API app cannot be replaced, patched or deleted', async () => {
    const list = await scim(h, 'GET', `/admin/v1/Apps?filter=${encodeURIComponent('displayName eq "Identity Domain API"')}`, admin);
    const builtin = list.json().Resources[0];
    assert.equal(builtin.isBuiltIn, true);
    const { meta: _m, id: _i, isBuiltIn: _b, grantedAppRoles: _g, ...writable } = builtin;
    assertScimError(await scim(h, 'PUT', `/admin/v1/Apps/${builtin.id}`, admin, { ...writable, description: 'mine now' }), 400, 'mutability');
    assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${builtin.id}`, admin, patchOp({ op: 'replace', path: 'active', value: false })), 400, 'mutability');
    assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${builtin.id}`, admin, patchOp({ op: 'add', path: 'scopes', value: [{ value: 'extra.scope' }] })), 400, 'mutability');
    assertScimError(await scim(h, 'DELETE', `/admin/v1/Apps/${builtin.id}`, admin), 400, 'mutability');
    const after_ = await scim(h, 'GET', `/admin/v1/Apps/${builtin.id}`, admin);
    assert.equal(after_.statusCode, 200);
    assert.deepEqual(after_.json(), builtin);
    assert.equal((await scim(h, 'GET', '/admin/v1/Apps', admin)).statusCode, 200, 'the admin API still works');
  });
});

describe('admin Apps: validation', () => {
  let h: Harness;
  let admin: string;
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    assert.equal((await scim(h, 'POST', '/admin/v1/Apps', admin, resourceServer({ audience: 'https://taken.example', scopes: [{ value: 'taken.read' }] }))).statusCode, 201);
  });
  after(() => h.close());

  const ecPublic = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
  const pkj = { tokenEndpointAuthMethod: 'private_key_jwt', tokenEndpointAuthSigningAlg: 'ES256' };

  const invalid: [string, Record<string, unknown>, number, string][] = [
    ['public client with client_credentials', client({ clientType: 'public' }), 400, 'invalidValue'],
    ['public client with a secret method', client({ clientType: 'public', allowedGrants: [], tokenEndpointAuthMethod: 'client_secret_basic' }), 400, 'invalidValue'],
    ['confidential client with tokenEndpointAuthMethod none', client({ tokenEndpointAuthMethod: 'none' }), 400, 'invalidValue'],
    ['private_key_jwt without jwks', client(pkj), 400, 'invalidValue'],
    ['private_key_jwt with jwks and jwksUri', client({ ...pkj, jwks: { keys: [ecPublic] }, jwksUri: 'https://keys.example/jwks' }), 400, 'invalidValue'],
    ['jwks holding a private key (d)', client({ ...pkj, jwks: { keys: [{ ...ecPublic, d: 'jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI' }] } }), 400, 'invalidValue'],
    ['jwks holding a symmetric key (k)', client({ ...pkj, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }), 400, 'invalidValue'],
    ['jwks with an empty key set', client({ ...pkj, jwks: { keys: [] } }), 400, 'invalidValue'],
    ['jwks for a secret-based client', client({ jwks: { keys: [ecPublic] } }), 400, 'invalidValue'],
    ['jwksUri that is not a URL', client({ ...pkj, jwksUri: 'not a url' }), 400, 'invalidValue'],
    // Issue 7: the same rules as at registration (RFC 7591 jwks_uri), not only "a URL".
    ['jwksUri over http', client({ ...pkj, jwksUri: 'http://keys.example.com/jwks' }), 400, 'invalidValue'],
    ['jwksUri at 127.0.0.1', client({ ...pkj, jwksUri: 'https://127.0.0.1/jwks' }), 400, 'invalidValue'],
    ['jwksUri at the cloud metadata address', client({ ...pkj, jwksUri: 'https://169.254.169.254/latest/meta-data' }), 400, 'invalidValue'],
    ['jwksUri at 10.x', client({ ...pkj, jwksUri: 'https://10.0.0.8/jwks' }), 400, 'invalidValue'],
    ['jwksUri at [::1]', client({ ...pkj, jwksUri: 'https://[::1]/jwks' }), 400, 'invalidValue'],
    ['jwksUri at [::ffff:127.0.0.1]', client({ ...pkj, jwksUri: 'https://[::ffff:127.0.0.1]/jwks' }), 400, 'invalidValue'],
    ['jwksUri at localhost', client({ ...pkj, jwksUri: 'https://localhost/jwks' }), 400, 'invalidValue'],
    ['jwksUri with credentials', client({ ...pkj, jwksUri: 'https://user:pw@keys.example.com/jwks' }), 400, 'invalidValue'],
    ['an HMAC alg with private_key_jwt', client({ ...pkj, tokenEndpointAuthSigningAlg: 'HS256', jwks: { keys: [ecPublic] } }), 400, 'invalidValue'],
    ['redirect URI javascript:', client({ allowedGrants: ['authorization_code'], redirectUris: ['javascript:alert(1)'] }), 400, 'invalidValue'],
    ['redirect URI data:', client({ allowedGrants: ['authorization_code'], redirectUris: ['data:text/html,<script>alert(1)</script>'] }), 400, 'invalidValue'],
    ['redirect URI with a fragment', client({ allowedGrants: ['authorization_code'], redirectUris: ['https://app.example/cb#frag'] }), 400, 'invalidValue'],
    ['redirect URI with an empty fragment', client({ allowedGrants: ['authorization_code'], redirectUris: ['https://app.example/cb#'] }), 400, 'invalidValue'],
    ['redirect URI plain http, not loopback', client({ allowedGrants: ['authorization_code'], redirectUris: ['http://app.example/cb'] }), 400, 'invalidValue'],
    ['redirect URI relative', client({ allowedGrants: ['authorization_code'], redirectUris: ['/cb'] }), 400, 'invalidValue'],
    ['redirect URI with user info', client({ allowedGrants: ['authorization_code'], redirectUris: ['https://user:pw@app.example/cb'] }), 400, 'invalidValue'],
    ['redirect URI with a space', client({ allowedGrants: ['authorization_code'], redirectUris: ['https://app.example/c b'] }), 400, 'invalidValue'],
    ['post-logout redirect URI javascript:', client({ postLogoutRedirectUris: ['javascript:alert(1)'] }), 400, 'invalidValue'],
    ['authorization_code without a redirect URI', client({ allowedGrants: ['authorization_code'] }), 400, 'invalidValue'],
    ['unknown grant type', client({ allowedGrants: ['magic'] }), 400, 'invalidValue'],
    ['duplicate grant type', client({ allowedGrants: ['client_credentials', 'client_credentials'] }), 400, 'invalidValue'],
    ['unknown tokenEndpointAuthMethod', client({ tokenEndpointAuthMethod: 'tls_client_auth' }), 400, 'invalidValue'],
    ['clientType not canonical', client({ clientType: 'trusted' }), 400, 'invalidValue'],
    ['allowedScopes naming an undefined scope', client({ allowedScopes: [{ fqs: 'undefined.scope' }] }), 400, 'invalidValue'],
    ['defaultScopes naming an undefined scope', client({ defaultScopes: ['undefined.scope'] }), 400, 'invalidValue'],
    ['allowedScopes item without fqs', client({ allowedScopes: [{}] }), 400, 'invalidValue'],
    ['resource server without audience', resourceServer({ audience: undefined }), 400, 'invalidValue'],
    ['resource server claiming the admin audience', resourceServer({ audience: `${ISSUER}/admin/v1` }), 400, 'invalidValue'],
    ['duplicate audience', resourceServer({ audience: 'https://taken.example' }), 409, 'uniqueness'],
    ['a scope another app defines', resourceServer({ scopes: [{ value: 'taken.read' }] }), 409, 'uniqueness'],
    ['a scope the admin API defines', resourceServer({ scopes: [{ value: 'urn:opc:idm:t.apps' }] }), 400, 'invalidValue'],
    ['reserved scope openid', resourceServer({ scopes: [{ value: 'openid' }] }), 400, 'invalidValue'],
    ['reserved scope offline_access', resourceServer({ scopes: [{ value: 'offline_access' }] }), 400, 'invalidValue'],
    ['reserved scope urn:opc:idm:*', resourceServer({ scopes: [{ value: 'urn:opc:idm:t.mine' }] }), 400, 'invalidValue'],
    ['reserved scope urn:opc:idm:__myscopes__', resourceServer({ scopes: [{ value: 'urn:opc:idm:__myscopes__' }] }), 400, 'invalidValue'],
    ['reserved scope urn:opc:resource:*', resourceServer({ scopes: [{ value: 'urn:opc:resource:expiry=5' }] }), 400, 'invalidValue'],
    ['scope with a space', resourceServer({ scopes: [{ value: 'a b' }] }), 400, 'invalidValue'],
    ['scope with a quote', resourceServer({ scopes: [{ value: 'a"b' }] }), 400, 'invalidValue'],
    ['scope listed twice', resourceServer({ scopes: [{ value: 'twice.read' }, { value: 'twice.read' }] }), 400, 'invalidValue'],
    ['empty scope', resourceServer({ scopes: [{ value: '' }] }), 400, 'invalidValue'],
    ['accessTokenExpiry below 60', client({ accessTokenExpiry: 59 }), 400, 'invalidValue'],
    ['accessTokenExpiry above a year', client({ accessTokenExpiry: 31536001 }), 400, 'invalidValue'],
    ['accessTokenExpiry 0', resourceServer({ accessTokenExpiry: 0 }), 400, 'invalidValue'],
    ['accessTokenExpiry negative', resourceServer({ accessTokenExpiry: -60 }), 400, 'invalidValue'],
    ['accessTokenExpiry fractional', client({ accessTokenExpiry: 120.5 }), 400, 'invalidValue'],
    ['accessTokenExpiry as a string', client({ accessTokenExpiry: '600' }), 400, 'invalidValue'],
    ['accessTokenSigningAlg not offered', resourceServer({ accessTokenSigningAlg: 'HS256' }), 400, 'invalidValue'],
    ['accessTokenFormat unknown', resourceServer({ accessTokenFormat: 'saml' }), 400, 'invalidValue'],
    ['missing displayName', { schemas: [APP_SCHEMA], isOAuthClient: false }, 400, 'invalidValue'],
    ['displayName of the wrong type', { schemas: [APP_SCHEMA], displayName: 42 }, 400, 'invalidValue'],
    ['unknown attribute', client({ favouriteColour: 'blue' }), 400, 'invalidValue'],
    ['unknown sub-attribute', client({ allowedScopes: [{ fqs: 'taken.read', extra: 1 }] }), 400, 'invalidValue'],
    ['attribute given twice (different case)', { ...client(), DisplayName: 'again' }, 400, 'invalidSyntax'],
    ['wrong schemas (User)', { ...client(), schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'] }, 400, 'invalidValue'],
    ['schemas without the App schema', { ...client(), schemas: [] }, 400, 'invalidValue'],
    ['no schemas', { ...client(), schemas: undefined }, 400, 'invalidSyntax'],
    ['schemas not an array', { ...client(), schemas: APP_SCHEMA }, 400, 'invalidSyntax'],
    ['multi-valued attribute given a single value', client({ allowedGrants: 'client_credentials' }), 400, 'invalidValue'],
  ];
  for (const [name, body, status, scimType] of invalid) {
    test(`create refused: ${name}`, async () => {
      const before_ = (await scim(h, 'GET', '/admin/v1/Apps?count=0', admin)).json().totalResults;
      assertScimError(await scim(h, 'POST', '/admin/v1/Apps', admin, body), status, scimType);
      assert.equal((await scim(h, 'GET', '/admin/v1/Apps?count=0', admin)).json().totalResults, before_, 'nothing was created');
    });
  }

  const valid: [string, Record<string, unknown>][] = [
    ['https redirect URI', client({ allowedGrants: ['authorization_code'], redirectUris: ['https://app.example/cb?x=1'] })],
    ['http loopback redirect URIs', client({ allowedGrants: ['authorization_code'], redirectUris: ['http://127.0.0.1:8123/cb', 'http://localhost/cb', 'http://[::1]:9000/cb'] })],
    ['private-use scheme redirect URI (RFC 8252 §7.1)', client({ allowedGrants: ['authorization_code'], redirectUris: ['com.example.app:/oauth2redirect'] })],
    ['accessTokenExpiry 60', client({ accessTokenExpiry: 60 })],
    ['accessTokenExpiry 31536000', resourceServer({ accessTokenExpiry: 31536000 })],
    ['private_key_jwt with public jwks', client({ ...pkj, jwks: { keys: [{ ...ecPublic, kid: 'k1', use: 'sig', alg: 'ES256' }] } })],
    ['private_key_jwt with jwksUri', client({ ...pkj, jwksUri: 'https://keys.example/jwks.json' })],
    ['client and resource server at once, allowed its own scope', resourceServer({ isOAuthClient: true, allowedGrants: ['client_credentials'], scopes: [{ value: 'self.read' }], allowedScopes: [{ fqs: 'self.read' }] })],
    ['a plain app (neither client nor resource server)', { schemas: [APP_SCHEMA], displayName: 'just an app' }],
    ['schemas in another case', { ...client(), schemas: [APP_SCHEMA.toUpperCase()] }],
  ];
  for (const [name, body] of valid) {
    test(`create accepted: ${name}`, async () => {
      const r = await scim(h, 'POST', '/admin/v1/Apps', admin, body);
      assert.equal(r.statusCode, 201, r.body);
    });
  }

  test('the client + resource server can get a token for its own scope', async () => {
    const r = await scim(h, 'POST', '/admin/v1/Apps', admin, resourceServer({ isOAuthClient: true, allowedGrants: ['client_credentials'], scopes: [{ value: 'own.read' }], allowedScopes: [{ fqs: 'own.read' }] }));
    assert.equal(r.statusCode, 201, r.body);
    assert.equal((await clientToken(h, r.json().name, r.json().clientSecret, 'own.read')).statusCode, 200);
  });

  test('malformed bodies are 4xx SCIM errors, never 500', async () => {
    const raw = (payload: string, type = 'application/scim+json') => h.inject({
      method: 'POST', url: '/admin/v1/Apps', payload, headers: { authorization: `Bearer ${admin}`, 'content-type': type },
    });
    for (const payload of ['{', '{"schemas":', 'not json', '{"a":1}}', '\u0000']) assertScimError(await raw(payload), 400, 'invalidSyntax');
    for (const payload of ['[]', '"a string"', '42', 'null', 'true']) assertScimError(await raw(payload), 400, 'invalidSyntax');
    assert.equal((await raw(JSON.stringify(client()), 'application/json; charset=utf-8')).statusCode, 201, 'plain application/json is accepted too');
  });

  test('a body that is not JSON at all (form, text, none): 4xx SCIM error', async () => {
    for (const [payload, type] of [['displayName=x', 'application/x-www-form-urlencoded'], ['displayName', 'text/plain']] as const) {
      const r = await h.inject({ method: 'POST', url: '/admin/v1/Apps', payload, headers: { authorization: `Bearer ${admin}`, 'content-type': type } });
      assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${type}: ${r.statusCode}`);
      assert.deepEqual(r.json().schemas, [ERROR_SCHEMA]);
    }
    const none = await h.inject({ method: 'POST', url: '/admin/v1/Apps', headers: { authorization: `Bearer ${admin}` } });
    assertScimError(none, 400, 'invalidSyntax');
    const empty = await h.inject({ method: 'POST', url: '/admin/v1/Apps', payload: '', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/scim+json' } });
    assertScimError(empty, 400, 'invalidSyntax');
  });

  test('a replace is validated like a create', async () => {
    const c = await scim(h, 'POST', '/admin/v1/Apps', admin, client());
    const id = c.json().id;
    assertScimError(await scim(h, 'PUT', `/admin/v1/Apps/${id}`, admin, client({ allowedGrants: ['authorization_code'], redirectUris: ['javascript:alert(1)'] })), 400, 'invalidValue');
    assertScimError(await scim(h, 'PUT', `/admin/v1/Apps/${id}`, admin, client({ tokenEndpointAuthMethod: 'none' })), 400, 'invalidValue');
    assertScimError(await scim(h, 'PUT', `/admin/v1/Apps/${id}`, admin, client({ accessTokenExpiry: 10 })), 400, 'invalidValue');
    assertScimError(await scim(h, 'PUT', `/admin/v1/Apps/${id}`, admin, { ...client(), unknownThing: 1 }), 400, 'invalidValue');
    const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, resourceServer());
    assertScimError(await scim(h, 'PUT', `/admin/v1/Apps/${rs.json().id}`, admin, resourceServer({ audience: 'https://taken.example' })), 409, 'uniqueness');
    assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${rs.json().id}`, admin, patchOp({ op: 'add', path: 'scopes', value: [{ value: 'taken.read' }] })), 409, 'uniqueness');
    assertScimError(await scim(h, 'PATCH', `/admin/v1/Apps/${rs.json().id}`, admin, patchOp({ op: 'add', path: 'scopes', value: [{ value: 'openid' }] })), 400, 'invalidValue');
    assert.equal((await scim(h, 'GET', `/admin/v1/Apps/${id}`, admin)).headers.etag, 'W/"1"');
  });
});
