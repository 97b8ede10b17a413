import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { FixedClock } from '../../src/core/clock.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { openDatabase } from '../../src/storage/db.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from '../contract/pg.js';
import type { AuditEventRecord, Jwk, TrustedIssuerRecord } from '../../src/core/types.js';
import {
  adminToken, APP_SCHEMA, assertScimError, BOOT_ID, clientToken, grantRole, harness, ISSUER, scim, setupClient, type Harness,
} from '../helpers.js';

const TI_SCHEMA = 'urn:ietf:params:scim:schemas:tessera:2.0:TrustedIssuer';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const SEARCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const ADMIN = `${ISSUER}/admin/v1`;
const BASE = '/admin/v1/TrustedIssuers';
const SETTINGS = 'urn:opc:idm:t.settings';
const APPS = 'urn:opc:idm:t.apps';
const DAY = 86_400_000;

const patchOp = (...Operations: Record<string, unknown>[]) => ({ schemas: [PATCH_SCHEMA], Operations });
const q = (filter: string) => `filter=${encodeURIComponent(filter)}`;

// ---------------------------------------------------------------------------------------------
// Keys and certificates. Certificates come from `openssl req -x509` in a subprocess, the way a partner
// or an administrator makes one (no network, no extra library; openssl is on every CI machine); JWKs
// from node:crypto.

const work = mkdtempSync(join(tmpdir(), 'tessera-ti-'));
let certN = 0;
/** A self-signed certificate from openssl: `newkey` as for `openssl req -newkey`. */
function opensslCert(newkey: string[], o: { days?: number; subj?: string } = {}): string {
  const n = ++certN;
  const out = join(work, `c${n}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', ...newkey, '-nodes', '-keyout', join(work, `k${n}.pem`), '-out', out,
    '-subj', o.subj ?? `/O=Example Partner/CN=partner-${n}`, '-days', String(o.days ?? 30)], { stdio: 'pipe' });
  return readFileSync(out, 'utf8');
}
const RSA_CERT = opensslCert(['rsa:2048'], { subj: '/C=NL/O=Example Partner/CN=idp.partner.example' });
const RSA_CERT_2 = opensslCert(['rsa:2048']);
const EC_CERT = opensslCert(['ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
const ED_CERT = opensslCert(['ed25519']);
const WEAK_CERT = opensslCert(['rsa:1024']);
const SHORT_CERT = opensslCert(['rsa:2048'], { days: 1 });
const SHORT_CERT_2 = opensslCert(['rsa:2048'], { days: 1 });
after(() => rmSync(work, { recursive: true, force: true }));

const thumb = (pem: string) => createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');
const pemBody = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');

const publicJwk = (kp: { publicKey: { export(o: { format: 'jwk' }): unknown } }, extra: Record<string, unknown> = {}): Jwk =>
  ({ ...(kp.publicKey.export({ format: 'jwk' }) as Jwk), ...extra });
const RSA_JWK = publicJwk(generateKeyPairSync('rsa', { modulusLength: 2048 }), { kid: 'rsa-1', use: 'sig', alg: 'RS256' });
const RSA_JWK_2 = publicJwk(generateKeyPairSync('rsa', { modulusLength: 2048 }), { kid: 'rsa-2' });
const EC_JWK = publicJwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }), { kid: 'ec-1' });
const ED_JWK = publicJwk(generateKeyPairSync('ed25519'), { kid: 'ed-1' });
const WEAK_JWK = publicJwk(generateKeyPairSync('rsa', { modulusLength: 1024 }), { kid: 'weak' });
const SECP256K1_JWK = publicJwk(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }));

let uniq = 0;
const name = () => `${++uniq}-${Math.random().toString(36).slice(2, 8)}`;
const jwtIssuer = (o: Record<string, unknown> = {}) => ({ schemas: [TI_SCHEMA], issuer: `https://idp-${name()}.example.com`, protocol: 'jwt', jwks: { keys: [RSA_JWK] }, ...o });
const samlIssuer = (o: Record<string, unknown> = {}) => ({ schemas: [TI_SCHEMA], issuer: `urn:example:partner:${name()}`, protocol: 'saml2', certificates: [{ value: RSA_CERT }], ...o });

/** A client holding one built-in admin role, and its token. */
async function roleToken(h: Harness, root: string, role: string, prefix = ''): Promise<string> {
  const c = await scim(h, 'POST', `${prefix}/admin/v1/Apps`, root, {
    schemas: [APP_SCHEMA], displayName: `${role} ${name()}`, isOAuthClient: true, allowedGrants: ['client_credentials'],
  });
  assert.equal(c.statusCode, 201, c.body);
  await grantRole(h, root, role, 'App', c.json().id, prefix);
  const t = await clientToken(h, c.json().name, c.json().clientSecret, 'urn:opc:idm:__myscopes__', prefix);
  assert.equal(t.statusCode, 200, t.body);
  return t.json().access_token as string;
}

interface CertificateJson { value: string; x5tS256: string; subject: string; issuer: string; notBefore: string; notAfter: string }
/** A TrustedIssuer as the API renders it. */
interface IssuerJson {
  [k: string]: unknown;
  id: string; issuer: string; protocol: string; active: boolean;
  meta: { version: string; created: string; lastModified: string; location: string; resourceType: string };
  certificates?: CertificateJson[]; allowedScopes?: string[];
}
/** An attribute of a /Schemas document (RFC 7643 §7). */
interface AttributeJson { name: string; type: string; required: boolean; caseExact: boolean; mutability: string; uniqueness: string; canonicalValues?: string[]; subAttributes?: AttributeJson[] }

async function created(h: Harness, token: string, body: Record<string, unknown>, prefix = ''): Promise<IssuerJson> {
  const r = await scim(h, 'POST', `${prefix}${BASE}`, token, body);
  assert.equal(r.statusCode, 201, r.body);
  return r.json() as IssuerJson;
}

/** 400 invalidValue (or the given scimType) whose detail names the attribute. */
function refused(r: LightMyRequestResponse, detail: RegExp, scimType = 'invalidValue', what = ''): void {
  assertScimError(r, 400, scimType);
  assert.match(r.json().detail, detail, `${what}: ${r.body}`);
}

describe('admin TrustedIssuers: create, read, replace, patch, delete', () => {
  let h: Harness;
  let root: string;
  let domainId: string;
  let client: { clientId: string };
  const events: AuditEventRecord[] = [];
  before(async () => {
    h = await harness();
    root = await adminToken(h);
    domainId = (await h.t.services.repos.domains.getByName('default'))!.id;
    client = await setupClient(h, { admin: root, scopes: ['orders.read', 'orders.write'] });
    h.t.services.events.on((e) => events.push(e));
  });
  after(() => h.close());

  test('POST a jwt issuer: 201, Location, ETag, the defaults, exactly these attributes; the grants read the same record', async () => {
    const r = await scim(h, 'POST', BASE, root, { schemas: [TI_SCHEMA], issuer: 'https://login.partner.example', protocol: 'jwt', jwks: { keys: [RSA_JWK] } });
    assert.equal(r.statusCode, 201, r.body);
    assert.match(String(r.headers['content-type']), /^application\/scim\+json/);
    assert.equal(r.headers['cache-control'], 'no-store');
    const b = r.json();
    assert.equal(r.headers.location, `${ADMIN}/TrustedIssuers/${b.id}`);
    assert.equal(r.headers.etag, 'W/"1"');
    assert.deepEqual(Object.keys(b).sort(), ['active', 'id', 'issuer', 'jwks', 'maxAssertionLifetime', 'meta', 'protocol', 'schemas', 'subjectAttribute']);
    assert.deepEqual(b.schemas, [TI_SCHEMA]);
    assert.deepEqual({ issuer: b.issuer, protocol: b.protocol, active: b.active, subjectAttribute: b.subjectAttribute, maxAssertionLifetime: b.maxAssertionLifetime },
      { issuer: 'https://login.partner.example', protocol: 'jwt', active: true, subjectAttribute: 'userName', maxAssertionLifetime: 300 });
    assert.deepEqual(b.jwks, { keys: [RSA_JWK] });
    assert.deepEqual(b.meta, { resourceType: 'TrustedIssuer', created: b.meta.created, lastModified: b.meta.created, version: 'W/"1"', location: r.headers.location });

    const rec = await h.t.services.repos.trustedIssuers.getByIssuer(domainId, 'jwt', 'https://login.partner.example');
    assert.deepEqual(rec, {
      id: b.id, domainId, issuer: 'https://login.partner.example', protocol: 'jwt', active: true, jwks: { keys: [RSA_JWK] }, certificates: [],
      subjectAttribute: 'userName', allowedScopes: [], allowedClients: [], maxAssertionLifetime: 300,
      version: 1, createdAt: Date.parse(b.meta.created), updatedAt: Date.parse(b.meta.created),
    } satisfies TrustedIssuerRecord);
    assert.equal(await h.t.services.repos.trustedIssuers.getByIssuer(domainId, 'saml2', 'https://login.partner.example'), undefined);
    // The keys the JWT grant will verify with are the ones registered here.
    assert.deepEqual((await h.t.services.trustedIssuerKeys.jwtKeys(rec!)).keys, [RSA_JWK]);
  });

  test('POST with every attribute: all come back, the certificate with its thumbprint, subject and validity; the record matches', async () => {
    const body = {
      schemas: [TI_SCHEMA], issuer: 'https://full.partner.example', protocol: 'jwt', active: false, displayName: 'Partner IdP', description: 'Our partner',
      jwks: { keys: [EC_JWK, ED_JWK] }, certificates: [{ value: RSA_CERT }], subjectAttribute: 'email',
      allowedScopes: ['orders.read', 'openid'], allowedClients: [client.clientId], audience: 'https://tessera.example/assertions', maxAssertionLifetime: 600,
    };
    const b = await created(h, root, body);
    const cert = new X509Certificate(RSA_CERT);
    assert.deepEqual(b.certificates, [{
      value: cert.toString(), x5tS256: thumb(RSA_CERT), subject: 'C=NL, O=Example Partner, CN=idp.partner.example', issuer: 'C=NL, O=Example Partner, CN=idp.partner.example',
      notBefore: new Date(cert.validFrom).toISOString(), notAfter: new Date(cert.validTo).toISOString(),
    }]);
    assert.equal(thumb(RSA_CERT), execFileSync('sh', ['-c', 'openssl x509 -outform DER | openssl dgst -sha256 -binary | openssl base64 -A'], { input: RSA_CERT }).toString()
      .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), 'the thumbprint is the one openssl computes');
    const { schemas: _s, ...rest } = body;
    for (const [k, v] of Object.entries(rest)) if (k !== 'certificates') assert.deepEqual(b[k], v, k);
    const rec = (await h.t.services.repos.trustedIssuers.getByIssuer(domainId, 'jwt', 'https://full.partner.example'))!;
    assert.deepEqual({ ...rec, id: undefined, version: undefined, createdAt: undefined, updatedAt: undefined, domainId: undefined }, {
      ...rest, certificates: [cert.toString()], id: undefined, version: undefined, createdAt: undefined, updatedAt: undefined, domainId: undefined,
    });
    // jwtKeys: inline keys, then the certificate's key selectable by its thumbprint.
    const keys = (await h.t.services.trustedIssuerKeys.jwtKeys(rec)).keys;
    assert.deepEqual(keys.map((k) => k.kid), ['ec-1', 'ed-1', thumb(RSA_CERT)]);
    assert.doesNotMatch(JSON.stringify(b), /PRIVATE KEY|"d":/);
  });

  test('POST a saml2 issuer: certificates only; the PEM is stored normalised (explanatory text dropped)', async () => {
    const withText = `Subject: CN=partner\n${RSA_CERT}\n`;
    const b = await created(h, root, samlIssuer({ issuer: 'https://sp.partner.example/metadata', certificates: [{ value: withText }, { value: EC_CERT }, { value: ED_CERT }] }));
    assert.deepEqual(b.certificates!.map((c: { value: string }) => c.value), [RSA_CERT, EC_CERT, ED_CERT].map((p) => new X509Certificate(p).toString()));
    assert.deepEqual(b.certificates!.map((c: { x5tS256: string }) => c.x5tS256), [RSA_CERT, EC_CERT, ED_CERT].map(thumb));
    assert.equal('jwks' in b || 'jwksUri' in b, false);
    const rec = (await h.t.services.repos.trustedIssuers.getByIssuer(domainId, 'saml2', 'https://sp.partner.example/metadata'))!;
    assert.deepEqual(h.t.services.trustedIssuerKeys.samlCertificates(rec).map((c) => c.fingerprint256), [RSA_CERT, EC_CERT, ED_CERT].map((p) => new X509Certificate(p).fingerprint256));
  });

  test('GET by id, If-None-Match (304), attributes and excludedAttributes', async () => {
    const b = await created(h, root, samlIssuer({ displayName: 'read me' }));
    const r = await scim(h, 'GET', `${BASE}/${b.id}`, root);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers.etag, 'W/"1"');
    assert.deepEqual(r.json(), b);
    for (const tag of ['W/"1"', '"1"', '*', 'W/"7", W/"1"']) {
      const nm = await scim(h, 'GET', `${BASE}/${b.id}`, root, undefined, { 'if-none-match': tag });
      assert.equal(nm.statusCode, 304, tag);
      assert.equal(nm.body, '');
    }
    assert.equal((await scim(h, 'GET', `${BASE}/${b.id}`, root, undefined, { 'if-none-match': 'W/"2"' })).statusCode, 200);
    const only = (await scim(h, 'GET', `${BASE}/${b.id}?attributes=issuer,certificates.x5tS256`, root)).json();
    assert.deepEqual(only, { schemas: [TI_SCHEMA], id: b.id, issuer: b.issuer, certificates: [{ x5tS256: thumb(RSA_CERT) }] });
    const without = (await scim(h, 'GET', `${BASE}/${b.id}?excludedAttributes=certificates,meta`, root)).json();
    assert.deepEqual(Object.keys(without).sort(), ['active', 'displayName', 'id', 'issuer', 'maxAssertionLifetime', 'protocol', 'schemas', 'subjectAttribute']);
  });

  test('unknown ids are 404 for every method', async () => {
    for (const id of ['nope', 'x'.repeat(90), '%00', '..']) {
      assertScimError(await scim(h, 'GET', `${BASE}/${id}`, root), 404);
      assertScimError(await scim(h, 'PUT', `${BASE}/${id}`, root, jwtIssuer()), 404);
      assertScimError(await scim(h, 'PATCH', `${BASE}/${id}`, root, patchOp({ op: 'replace', path: 'active', value: false })), 404);
      assertScimError(await scim(h, 'DELETE', `${BASE}/${id}`, root), 404);
    }
  });

  test('PUT replaces (omitted attributes go back to their defaults); If-Match must name the current version', async () => {
    const b = await created(h, root, jwtIssuer({ displayName: 'before', allowedScopes: ['orders.read'], maxAssertionLifetime: 120, subjectAttribute: 'id' }));
    const next = { schemas: [TI_SCHEMA], issuer: b.issuer, protocol: 'jwt', jwks: { keys: [RSA_JWK_2] }, description: 'after' };
    assertScimError(await scim(h, 'PUT', `${BASE}/${b.id}`, root, next, { 'if-match': 'W/"2"' }), 412);
    const r = await scim(h, 'PUT', `${BASE}/${b.id}`, root, next, { 'if-match': 'W/"1"' });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers.etag, 'W/"2"');
    const a = r.json();
    assert.equal(a.description, 'after');
    assert.equal('displayName' in a || 'allowedScopes' in a, false);
    assert.equal(a.maxAssertionLifetime, 300);
    assert.equal(a.subjectAttribute, 'userName');
    assert.deepEqual(a.jwks, { keys: [RSA_JWK_2] });
    assert.equal(a.meta.created, b.meta.created);
    assert.deepEqual((await scim(h, 'GET', `${BASE}/${b.id}`, root)).json(), a);
    // PUT of what GET returned (read-only certificate details included) changes nothing but the version.
    const saml = await created(h, root, samlIssuer());
    const again = await scim(h, 'PUT', `${BASE}/${saml.id}`, root, saml);
    assert.equal(again.statusCode, 200, again.body);
    assert.deepEqual({ ...(again.json() as IssuerJson), meta: undefined }, { ...saml, meta: undefined });
    // protocol is immutable: omitted, it is kept; changed, it is refused.
    const kept = await scim(h, 'PUT', `${BASE}/${saml.id}`, root, { schemas: [TI_SCHEMA], issuer: saml.issuer, certificates: [{ value: RSA_CERT_2 }] });
    assert.equal(kept.statusCode, 200, kept.body);
    assert.equal(kept.json().protocol, 'saml2');
    refused(await scim(h, 'PUT', `${BASE}/${saml.id}`, root, { ...saml, protocol: 'jwt', certificates: [{ value: RSA_CERT }] }), /protocol.*immutable/, 'mutability');
  });

  test('PATCH of each attribute', async () => {
    const cases: [string, Record<string, unknown>, Record<string, unknown>, (b: IssuerJson) => void][] = [
      ['displayName', {}, { op: 'replace', path: 'displayName', value: 'Renamed' }, (b) => assert.equal(b.displayName, 'Renamed')],
      ['description', { description: 'x' }, { op: 'remove', path: 'description' }, (b) => assert.equal('description' in b, false)],
      ['active', {}, { op: 'replace', path: 'active', value: false }, (b) => assert.equal(b.active, false)],
      ['issuer', {}, { op: 'replace', path: 'issuer', value: 'https://renamed.partner.example' }, (b) => assert.equal(b.issuer, 'https://renamed.partner.example')],
      ['subjectAttribute', {}, { op: 'replace', path: 'subjectAttribute', value: 'externalId' }, (b) => assert.equal(b.subjectAttribute, 'externalId')],
      ['allowedScopes (add)', { allowedScopes: ['openid'] }, { op: 'add', path: 'allowedScopes', value: ['orders.write'] }, (b) => assert.deepEqual(b.allowedScopes, ['openid', 'orders.write'])],
      ['allowedScopes (remove one)', { allowedScopes: ['openid', 'orders.read'] }, { op: 'remove', path: 'allowedScopes', value: ['openid'] }, (b) => assert.deepEqual(b.allowedScopes, ['orders.read'])],
      ['allowedClients', {}, { op: 'add', path: 'allowedClients', value: [client.clientId] }, (b) => assert.deepEqual(b.allowedClients, [client.clientId])],
      ['audience', {}, { op: 'add', path: 'audience', value: 'urn:tessera:sp' }, (b) => assert.equal(b.audience, 'urn:tessera:sp')],
      ['maxAssertionLifetime', {}, { op: 'replace', path: 'maxAssertionLifetime', value: 3600 }, (b) => assert.equal(b.maxAssertionLifetime, 3600)],
      ['jwks (re-key)', {}, { op: 'replace', path: 'jwks', value: { keys: [EC_JWK] } }, (b) => assert.deepEqual(b.jwks, { keys: [EC_JWK] })],
      ['jwks.keys (add a key)', {}, { op: 'add', path: 'jwks.keys', value: [ED_JWK] }, (b) => assert.deepEqual(b.jwks, { keys: [RSA_JWK, ED_JWK] })],
      ['jwks -> jwksUri', {}, { op: 'remove', path: 'jwks' }, (b) => assert.equal(b.jwksUri, 'https://keys.partner.example/jwks.json')],
      ['certificates (add)', {}, { op: 'add', path: 'certificates', value: [{ value: RSA_CERT }] }, (b) => assert.deepEqual(b.certificates!.map((c: { x5tS256: string }) => c.x5tS256), [thumb(RSA_CERT)])],
      ['certificates (remove by thumbprint)', { certificates: [{ value: RSA_CERT }, { value: EC_CERT }] }, { op: 'remove', path: `certificates[x5tS256 eq "${thumb(RSA_CERT)}"]` },
        (b) => assert.deepEqual(b.certificates!.map((c: { x5tS256: string }) => c.x5tS256), [thumb(EC_CERT)])],
    ];
    for (const [what, initial, op, check] of cases) {
      const b = await created(h, root, jwtIssuer(initial));
      const ops = what === 'jwks -> jwksUri' ? [op, { op: 'add', path: 'jwksUri', value: 'https://keys.partner.example/jwks.json' }] : [op];
      const r = await scim(h, 'PATCH', `${BASE}/${b.id}`, root, patchOp(...ops), { 'if-match': 'W/"1"' });
      assert.equal(r.statusCode, 200, `${what}: ${r.body}`);
      assert.equal(r.headers.etag, 'W/"2"', what);
      check(r.json());
      assert.deepEqual((await scim(h, 'GET', `${BASE}/${b.id}`, root)).json(), r.json(), what);
      const rec = (await h.t.services.repos.trustedIssuers.get(domainId, b.id))!;
      assert.equal(rec.version, 2, what);
      assert.deepEqual((await h.t.services.repos.trustedIssuers.getByIssuer(domainId, 'jwt', r.json().issuer))?.id, b.id, what);
    }
  });

  test('PATCH refusals: protocol is immutable, certificate details are read-only, the rules still hold, a stale If-Match is 412', async () => {
    const b = await created(h, root, jwtIssuer({ certificates: [{ value: RSA_CERT }] }));
    const cases: [string, Record<string, unknown>[], string, RegExp][] = [
      ['protocol', [{ op: 'replace', path: 'protocol', value: 'saml2' }], 'mutability', /protocol/],
      ['x5tS256', [{ op: 'replace', path: `certificates[x5tS256 eq "${thumb(RSA_CERT)}"].x5tS256`, value: 'x' }], 'mutability', /certificates\.x5tS256.*readOnly/],
      ['certificates.x5tS256 of every value', [{ op: 'replace', path: 'certificates.x5tS256', value: 'x' }], 'invalidPath', /certificates\[filter\]/],
      ['notAfter', [{ op: 'replace', path: `certificates[x5tS256 eq "${thumb(RSA_CERT)}"].notAfter`, value: '2099-01-01T00:00:00Z' }], 'mutability', /readOnly/],
      ['meta', [{ op: 'replace', path: 'meta.created', value: '2001-01-01T00:00:00Z' }], 'mutability', /readOnly/],
      ['no key left', [{ op: 'remove', path: 'jwks' }, { op: 'remove', path: 'certificates' }], 'invalidValue', /a jwt issuer needs a key source/],
      ['both jwks and jwksUri', [{ op: 'add', path: 'jwksUri', value: 'https://keys.partner.example/jwks.json' }], 'invalidValue', /jwks or jwksUri, not both/],
      ['issuer removed', [{ op: 'remove', path: 'issuer' }], 'invalidValue', /issuer/],
      ['bad lifetime', [{ op: 'replace', path: 'maxAssertionLifetime', value: 5 }], 'invalidValue', /maxAssertionLifetime must be an integer between 30 and 3600/],
      ['unknown scope', [{ op: 'add', path: 'allowedScopes', value: ['nope.read'] }], 'invalidValue', /allowedScopes: "nope.read" is not defined/],
      ['remove a certificate that is not there', [{ op: 'remove', path: 'certificates[x5tS256 eq "nothing"]' }], 'noTarget', /./],
    ];
    for (const [what, ops, scimType, detail] of cases) refused(await scim(h, 'PATCH', `${BASE}/${b.id}`, root, patchOp(...ops)), detail, scimType, what);
    assertScimError(await scim(h, 'PATCH', `${BASE}/${b.id}`, root, patchOp({ op: 'replace', path: 'active', value: false }), { 'if-match': 'W/"0"' }), 412);
    const rec = (await h.t.services.repos.trustedIssuers.get(domainId, b.id))!;
    assert.equal(rec.version, 1, 'nothing was written');
    assert.equal(rec.active, true);
  });

  test('DELETE: 204, then gone (and not found by issuer); a stale If-Match is 412', async () => {
    const b = await created(h, root, jwtIssuer());
    assertScimError(await scim(h, 'DELETE', `${BASE}/${b.id}`, root, undefined, { 'if-match': 'W/"9"' }), 412);
    const r = await scim(h, 'DELETE', `${BASE}/${b.id}`, root, undefined, { 'if-match': 'W/"1"' });
    assert.equal(r.statusCode, 204, r.body);
    assert.equal(r.body, '');
    assertScimError(await scim(h, 'GET', `${BASE}/${b.id}`, root), 404);
    assertScimError(await scim(h, 'DELETE', `${BASE}/${b.id}`, root), 404);
    assert.equal(await h.t.services.repos.trustedIssuers.getByIssuer(domainId, 'jwt', b.issuer), undefined);
  });

  test('every change is audited with actor and target, in the store too', async () => {
    const b = await created(h, root, jwtIssuer());
    assert.equal((await scim(h, 'PATCH', `${BASE}/${b.id}`, root, patchOp({ op: 'replace', path: 'displayName', value: 'x' }))).statusCode, 200);
    assert.equal((await scim(h, 'PUT', `${BASE}/${b.id}`, root, { ...b, displayName: 'y' })).statusCode, 200);
    assert.equal((await scim(h, 'DELETE', `${BASE}/${b.id}`, root)).statusCode, 204);
    const mine = events.filter((e) => e.targetId === b.id);
    assert.deepEqual(mine.map((e) => [e.eventId, e.outcome, e.actorType, e.actorId, e.targetType]), [
      ['admin.created', 'success', 'client', BOOT_ID, 'TrustedIssuer'], ['admin.patched', 'success', 'client', BOOT_ID, 'TrustedIssuer'],
      ['admin.replaced', 'success', 'client', BOOT_ID, 'TrustedIssuer'], ['admin.deleted', 'success', 'client', BOOT_ID, 'TrustedIssuer'],
    ]);
    await h.t.services.events.flush();
    for (const eventId of ['admin.created', 'admin.patched', 'admin.replaced', 'admin.deleted']) {
      const stored = await scim(h, 'GET', `/admin/v1/AuditEvents?${q(`eventId eq "${eventId}" and actorId eq "${BOOT_ID}"`)}&count=1000`, root);
      assert.equal(stored.statusCode, 200, stored.body);
      const e = (stored.json().Resources as Record<string, unknown>[]).filter((x) => x.targetId === b.id);
      assert.deepEqual(e.map((x) => [x.eventId, x.outcome, x.targetType]), [[eventId, 'success', 'TrustedIssuer']]);
    }
    // A refused write changes nothing and records no change.
    const before = events.length;
    refused(await scim(h, 'POST', BASE, root, jwtIssuer({ maxAssertionLifetime: 1 })), /maxAssertionLifetime/);
    assert.equal(events.slice(before).filter((e) => e.eventId.startsWith('admin.') && e.outcome === 'success').length, 0);
  });
});

describe('admin TrustedIssuers: validation (400 invalidValue naming the attribute, never a 500)', () => {
  let h: Harness;
  let root: string;
  let resourceOnlyApp: string;
  before(async () => {
    h = await harness();
    root = await adminToken(h);
    await setupClient(h, { admin: root, scopes: ['orders.read'] });
    const rs = await scim(h, 'POST', '/admin/v1/Apps', root, { schemas: [APP_SCHEMA], displayName: 'plain app' });
    assert.equal(rs.statusCode, 201, rs.body);
    resourceOnlyApp = rs.json().id;
  });
  after(() => h.close());

  const x5c = (pem: string) => [pemBody(pem)];
  const rows: [string, () => Record<string, unknown>, RegExp, string?][] = [
    // issuer
    ['issuer missing', () => jwtIssuer({ issuer: undefined }), /required attribute "issuer" is missing/],
    ['issuer empty', () => jwtIssuer({ issuer: '' }), /required attribute "issuer" is missing/],
    ['issuer not a string', () => jwtIssuer({ issuer: 42 }), /"issuer" must be a string/],
    ['issuer too long', () => jwtIssuer({ issuer: `https://x.example/${'a'.repeat(2031)}` }), /issuer must be at most 2048 characters/],
    ['issuer with a newline', () => jwtIssuer({ issuer: 'https://idp.example\n.com' }), /issuer must not contain control/],
    ['issuer with DEL', () => jwtIssuer({ issuer: 'https://idp.example\u007f' }), /issuer must not contain control/],
    ['issuer with a C1 control', () => jwtIssuer({ issuer: 'https://idp.example\u0085' }), /issuer must not contain control/],
    ['issuer with a zero-width space', () => jwtIssuer({ issuer: 'https://idp\u200b.example' }), /issuer must not contain control or invisible/],
    ['issuer with a bidi override', () => jwtIssuer({ issuer: 'https://idp.example/\u202egnp' }), /issuer must not contain control or invisible/],
    ['issuer with U+0000', () => jwtIssuer({ issuer: 'https://idp.example\u0000' }), /"issuer" must not contain U\+0000/],
    ['issuer with trailing white space', () => jwtIssuer({ issuer: 'https://idp.example ' }), /issuer must not start or end with white space/],
    ['issuer is this domain', () => jwtIssuer({ issuer: ISSUER }), /issuer is this identity domain itself/],
    ['issuer is a client id', () => jwtIssuer({ issuer: BOOT_ID }), /issuer is a client id of this identity domain/],
    // protocol
    ['protocol missing', () => jwtIssuer({ protocol: undefined }), /required attribute "protocol" is missing/],
    ['protocol unknown', () => jwtIssuer({ protocol: 'oidc' }), /"protocol" must be one of jwt, saml2/],
    ['protocol wrong case', () => jwtIssuer({ protocol: 'JWT' }), /"protocol" must be one of jwt, saml2/],
    // key sources
    ['jwt without keys', () => jwtIssuer({ jwks: undefined }), /a jwt issuer needs a key source: jwks, jwksUri or certificates/],
    ['jwt with an empty key set', () => jwtIssuer({ jwks: { keys: [] } }), /"jwks\.keys" is required/],
    ['jwt with jwks and jwksUri', () => jwtIssuer({ jwksUri: 'https://idp.example.com/jwks' }), /give jwks or jwksUri, not both/],
    ['saml2 without certificates', () => samlIssuer({ certificates: undefined }), /a saml2 issuer needs certificates/],
    ['saml2 with jwks', () => samlIssuer({ jwks: { keys: [RSA_JWK] } }), /a saml2 issuer is verified with certificates only/],
    ['saml2 with jwksUri', () => samlIssuer({ jwksUri: 'https://idp.example.com/jwks' }), /a saml2 issuer is verified with certificates only/],
    // jwks
    ['21 keys', () => jwtIssuer({ jwks: { keys: Array.from({ length: 21 }, (_, i) => ({ ...EC_JWK, kid: `k${i}` })) } }), /jwks\.keys must hold 1 to 20 keys/],
    ['a private RSA key', () => jwtIssuer({ jwks: { keys: [{ ...RSA_JWK, d: 'AQAB' }] } }), /"jwks\.keys" has no sub-attribute "d"/],
    ['a symmetric key', () => jwtIssuer({ jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }), /"jwks\.keys" has no sub-attribute "k"/],
    ['an oct key without k', () => jwtIssuer({ jwks: { keys: [{ kty: 'oct', alg: 'HS256' }] } }), /jwks\.keys\[0\] is not a valid public oct key/],
    ['a key without kty', () => jwtIssuer({ jwks: { keys: [{ n: RSA_JWK.n, e: 'AQAB' }] } }), /"jwks\.keys\.kty" is required/],
    ['an RSA key without n', () => jwtIssuer({ jwks: { keys: [{ kty: 'RSA', e: 'AQAB' }] } }), /jwks\.keys\[0\] is not a valid public RSA key/],
    ['an EC point off the curve', () => jwtIssuer({ jwks: { keys: [{ ...EC_JWK, y: EC_JWK.x }] } }), /jwks\.keys\[0\] is not a valid public EC key/],
    ['an encryption key', () => jwtIssuer({ jwks: { keys: [{ ...RSA_JWK, use: 'enc', alg: undefined }] } }), /jwks\.keys\[0\] is not a signing key/],
    ['an HMAC alg', () => jwtIssuer({ jwks: { keys: [{ ...RSA_JWK, alg: 'HS256' }] } }), /jwks\.keys\[0\] is not a signing key/],
    ['alg none', () => jwtIssuer({ jwks: { keys: [{ ...RSA_JWK, alg: 'none' }] } }), /jwks\.keys\[0\] is not a signing key/],
    ['an alg of another key type', () => jwtIssuer({ jwks: { keys: [{ ...RSA_JWK, alg: 'ES256' }] } }), /jwks\.keys\[0\]: alg ES256 does not fit a RSA key/],
    ['a curve we do not verify', () => jwtIssuer({ jwks: { keys: [SECP256K1_JWK] } }), /jwks\.keys\[0\] is not a signing key/],
    ['a 1024-bit RSA key', () => jwtIssuer({ jwks: { keys: [WEAK_JWK] } }), /jwks\.keys\[0\] is an RSA key of 1024 bits \(at least 2048/],
    ['a kid twice', () => jwtIssuer({ jwks: { keys: [RSA_JWK, { ...RSA_JWK_2, kid: 'rsa-1' }] } }), /jwks\.keys\[1\]: kid "rsa-1" is used twice/],
    ['x5c of another key', () => jwtIssuer({ jwks: { keys: [{ ...RSA_JWK, x5c: x5c(RSA_CERT) }] } }), /jwks\.keys\[0\]: the key of x5c\[0\] is not this key/],
    ['x5c that is no certificate', () => jwtIssuer({ jwks: { keys: [{ ...RSA_JWK, x5c: ['bm90IGEgY2VydA'] }] } }), /jwks\.keys\[0\]\.x5c\[0\] is not a base64 DER X\.509 certificate/],
    ['jwks not an object', () => jwtIssuer({ jwks: 'keys' }), /"jwks" must be an object/],
    // jwksUri
    ['jwksUri over http', () => jwtIssuer({ jwks: undefined, jwksUri: 'http://idp.example.com/jwks' }), /jwksUri must be an https URL/],
    ['jwksUri on loopback', () => jwtIssuer({ jwks: undefined, jwksUri: 'https://127.0.0.1/jwks' }), /jwksUri must not point at a private, loopback or link-local address/],
    ['jwksUri on a private address', () => jwtIssuer({ jwks: undefined, jwksUri: 'https://10.1.2.3/jwks' }), /jwksUri must not point at a private/],
    ['jwksUri on localhost', () => jwtIssuer({ jwks: undefined, jwksUri: 'https://localhost/jwks' }), /jwksUri must not point at a private/],
    ['jwksUri with credentials', () => jwtIssuer({ jwks: undefined, jwksUri: 'https://u:p@idp.example.com/jwks' }), /jwksUri must not carry credentials/],
    ['jwksUri not a URI', () => jwtIssuer({ jwks: undefined, jwksUri: 'idp.example.com/jwks' }), /"jwksUri" must be an absolute URI/],
    // certificates
    ['a certificate that is not PEM', () => samlIssuer({ certificates: [{ value: 'MIIB...' }] }), /certificates\[0\] is not a PEM X\.509 certificate/],
    ['PEM markers around garbage', () => samlIssuer({ certificates: [{ value: RSA_CERT }, { value: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----' }] }), /certificates\[1\] is not a PEM X\.509 certificate/],
    ['a chain in one value', () => samlIssuer({ certificates: [{ value: RSA_CERT + EC_CERT }] }), /certificates\[0\] holds 2 certificates: give one per value/],
    ['the same certificate twice', () => samlIssuer({ certificates: [{ value: RSA_CERT }, { value: `\n${RSA_CERT}` }] }), /certificates\[1\] is listed twice/],
    ['a 1024-bit RSA certificate', () => samlIssuer({ certificates: [{ value: WEAK_CERT }] }), /certificates\[0\]: its key is an RSA key of 1024 bits/],
    ['21 certificates', () => samlIssuer({ certificates: Array.from({ length: 21 }, () => ({ value: RSA_CERT })) }), /certificates must hold at most 20 certificates/],
    ['a huge certificate value', () => samlIssuer({ certificates: [{ value: RSA_CERT + ' '.repeat(20_000) }] }), /certificates\[0\] is too long/],
    ['a certificate as a string', () => samlIssuer({ certificates: [RSA_CERT] }), /"certificates" must be an object/],
    ['a certificate without value', () => samlIssuer({ certificates: [{ subject: 'CN=x' }] }), /"certificates\.value" is required/],
    // the rest
    ['subjectAttribute unknown', () => jwtIssuer({ subjectAttribute: 'mail' }), /"subjectAttribute" must be one of userName, email, externalId, id/],
    ['a scope no one defines', () => jwtIssuer({ allowedScopes: ['payroll.read'] }), /allowedScopes: "payroll.read" is not defined by any resource server/],
    ['__myscopes__ in allowedScopes', () => jwtIssuer({ allowedScopes: ['urn:opc:idm:__myscopes__'] }), /allowedScopes: "urn:opc:idm:__myscopes__" is not defined/],
    ['a scope twice', () => jwtIssuer({ allowedScopes: ['openid', 'orders.read', 'openid'] }), /allowedScopes: "openid" is listed twice/],
    ['allowedScopes not an array', () => jwtIssuer({ allowedScopes: 'openid' }), /"allowedScopes" is multi-valued and must be an array/],
    ['an unknown client', () => jwtIssuer({ allowedClients: ['no-such-client'] }), /allowedClients: "no-such-client" is not an OAuth client of this domain/],
    ['an app id instead of a client id', () => jwtIssuer({ allowedClients: [resourceOnlyApp] }), /allowedClients: ".*" is not an OAuth client of this domain/],
    ['a client twice', () => jwtIssuer({ allowedClients: [BOOT_ID, BOOT_ID] }), new RegExp(`allowedClients: "${BOOT_ID}" is listed twice`)],
    ['a very long client id', () => jwtIssuer({ allowedClients: ['c'.repeat(5000)] }), /allowedClients: ".*" is not an OAuth client/],
    ['audience too long', () => jwtIssuer({ audience: `https://a.example/${'a'.repeat(1000)}` }), /audience must be at most 1000 characters/],
    ['audience with a control character', () => jwtIssuer({ audience: 'urn:a\tb' }), /audience must not contain control/],
    ['lifetime too short', () => jwtIssuer({ maxAssertionLifetime: 29 }), /maxAssertionLifetime must be an integer between 30 and 3600 seconds/],
    ['lifetime too long', () => jwtIssuer({ maxAssertionLifetime: 3601 }), /maxAssertionLifetime must be an integer between 30 and 3600 seconds/],
    ['lifetime negative', () => jwtIssuer({ maxAssertionLifetime: -300 }), /maxAssertionLifetime must be an integer between 30/],
    ['lifetime fractional', () => jwtIssuer({ maxAssertionLifetime: 300.5 }), /"maxAssertionLifetime" must be an integer/],
    ['lifetime as a string', () => jwtIssuer({ maxAssertionLifetime: '300' }), /"maxAssertionLifetime" must be an integer/],
    ['active as a string', () => jwtIssuer({ active: 'yes' }), /"active" must be true or false/],
    ['an unknown attribute', () => jwtIssuer({ privateKey: 'x' }), /unknown attribute "privateKey"/],
    ['the App schema', () => jwtIssuer({ schemas: [APP_SCHEMA] }), /schema .* is not supported by this resource type/],
    ['no schemas', () => jwtIssuer({ schemas: undefined }), /"schemas" is required/, 'invalidSyntax'],
  ];

  for (const [what, body, detail, scimType] of rows) {
    test(`POST: ${what}`, async () => {
      const b = JSON.parse(JSON.stringify(body())) as Record<string, unknown>;
      const r = await scim(h, 'POST', BASE, root, b);
      refused(r, detail, scimType ?? 'invalidValue', what);
    });
  }

  test('PUT applies the same rules (a sample), and a refused PUT changes nothing', async () => {
    const b = await created(h, root, jwtIssuer());
    const put: [string, Record<string, unknown>, RegExp][] = [
      ['no key source', { jwks: undefined }, /a jwt issuer needs a key source/],
      ['a private key', { jwks: { keys: [{ ...RSA_JWK, d: 'AQAB' }] } }, /"jwks\.keys" has no sub-attribute "d"/],
      ['a weak key', { jwks: { keys: [WEAK_JWK] } }, /is an RSA key of 1024 bits/],
      ['a bad lifetime', { maxAssertionLifetime: 3601 }, /maxAssertionLifetime must be an integer between 30 and 3600/],
      ['an unknown client', { allowedClients: ['nobody'] }, /allowedClients: "nobody" is not an OAuth client/],
      ['a control character in the issuer', { issuer: 'https://idp.example\r' }, /issuer must not contain control/],
      ['another protocol', { protocol: 'saml2', jwks: undefined, certificates: [{ value: RSA_CERT }] }, /protocol.*immutable/],
    ];
    for (const [what, change, detail] of put) {
      const r = await scim(h, 'PUT', `${BASE}/${b.id}`, root, JSON.parse(JSON.stringify({ ...b, ...change })));
      refused(r, detail, what === 'another protocol' ? 'mutability' : 'invalidValue', what);
    }
    const domainId = (await h.t.services.repos.domains.getByName('default'))!.id;
    assert.equal((await h.t.services.repos.trustedIssuers.get(domainId, b.id))!.version, 1);
  });

  test('malformed bodies are 400 invalidSyntax, not 500', async () => {
    for (const payload of ['', 'null', '[]', '"x"', '{', '{"schemas":["' + TI_SCHEMA + '"],"issuer":"a","issuer":"b"}']) {
      const r = await h.inject({ method: 'POST', url: BASE, headers: { authorization: `Bearer ${root}`, 'content-type': 'application/scim+json' }, payload });
      assert.equal(r.statusCode, 400, `${payload}: ${r.body}`);
      assert.equal(r.json().status, '400');
    }
  });
});

describe('admin TrustedIssuers: certificate validity periods', () => {
  let h: Harness;
  let clock: FixedClock;
  const t0 = Date.now();
  before(async () => {
    clock = new FixedClock(t0);
    h = await harness({ clock });
  });
  after(() => h.close());

  test('an expired certificate is refused when added, kept when it was already there; a not-yet-valid one is accepted', async () => {
    let root = await adminToken(h);
    const saml = await created(h, root, samlIssuer({ certificates: [{ value: SHORT_CERT }] }));
    const jwt = await created(h, root, jwtIssuer({ jwks: undefined, certificates: [{ value: SHORT_CERT }] }));
    const notAfter = new X509Certificate(SHORT_CERT).validTo;
    clock.set(t0 + 2 * DAY);
    root = await adminToken(h);
    // Added now: refused, naming the certificate and when it expired.
    refused(await scim(h, 'POST', BASE, root, samlIssuer({ certificates: [{ value: SHORT_CERT }] })), new RegExp(`certificates\\[0\\] expired on ${new Date(notAfter).toISOString().replace(/[.]/g, '\\.')}`));
    refused(await scim(h, 'PATCH', `${BASE}/${saml.id}`, root, patchOp({ op: 'add', path: 'certificates', value: [{ value: SHORT_CERT_2 }] })), /certificates\[1\] expired on/);
    // Already there: an edit of something else, a PUT of what GET returned, and a re-key that keeps it all work.
    const edit = await scim(h, 'PATCH', `${BASE}/${saml.id}`, root, patchOp({ op: 'replace', path: 'displayName', value: 'still here' }));
    assert.equal(edit.statusCode, 200, edit.body);
    assert.equal(edit.json().certificates[0].notAfter, new Date(notAfter).toISOString());
    assert.equal((await scim(h, 'PUT', `${BASE}/${jwt.id}`, root, (await scim(h, 'GET', `${BASE}/${jwt.id}`, root)).json())).statusCode, 200);
    const add = await scim(h, 'PATCH', `${BASE}/${saml.id}`, root, patchOp({ op: 'add', path: 'certificates', value: [{ value: RSA_CERT }] }));
    assert.equal(add.statusCode, 200, add.body);
    // ... and removing it is always possible.
    const rm = await scim(h, 'PATCH', `${BASE}/${saml.id}`, root, patchOp({ op: 'remove', path: `certificates[x5tS256 eq "${thumb(SHORT_CERT)}"]` }));
    assert.equal(rm.statusCode, 200, rm.body);
    assert.deepEqual(rm.json().certificates.map((c: { x5tS256: string }) => c.x5tS256), [thumb(RSA_CERT)]);
    // Back in time: the certificates made today are not valid yet from the server's point of view, and are accepted (announced rollover).
    clock.set(t0 - 2 * DAY);
    root = await adminToken(h);
    const early = await scim(h, 'POST', BASE, root, samlIssuer({ certificates: [{ value: RSA_CERT_2 }] }));
    assert.equal(early.statusCode, 201, early.body);
    assert.ok(Date.parse(early.json().certificates[0].notBefore) > clock.now());
  });
});

describe('admin TrustedIssuers: filter, sort, page, uniqueness', () => {
  let h: Harness;
  let root: string;
  before(async () => {
    h = await harness();
    root = await adminToken(h);
    for (const b of [
      jwtIssuer({ issuer: 'https://b.example', displayName: 'B' }),
      jwtIssuer({ issuer: 'https://a.example', active: false }),
      samlIssuer({ issuer: 'https://a.example' }),
      samlIssuer({ issuer: 'urn:c' }),
    ]) await created(h, root, b);
  });
  after(() => h.close());

  const list = async (query: string) => {
    const r = await scim(h, 'GET', `${BASE}?${query}`, root);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json().schemas, [LIST_SCHEMA]);
    return r.json();
  };

  test('issuer eq, protocol eq, active eq, and/or; issuer is case-exact', async () => {
    const one = await list(q('issuer eq "https://b.example"'));
    assert.equal(one.totalResults, 1);
    assert.equal(one.Resources[0].displayName, 'B');
    assert.deepEqual((await list(q('protocol eq "saml2"'))).Resources.map((r: { issuer: string }) => r.issuer).sort(), ['https://a.example', 'urn:c']);
    assert.deepEqual((await list(q('issuer eq "https://a.example"'))).Resources.map((r: { protocol: string }) => r.protocol).sort(), ['jwt', 'saml2']);
    assert.deepEqual((await list(q('issuer eq "https://a.example" and protocol eq "jwt"'))).Resources.map((r: { active: boolean }) => r.active), [false]);
    assert.equal((await list(q('active eq false'))).totalResults, 1);
    assert.equal((await list(q('issuer eq "HTTPS://B.EXAMPLE"'))).totalResults, 0);
    assert.equal((await list(q('issuer sw "https://"'))).totalResults, 3);
    assert.equal((await list(q('certificates.x5tS256 eq "' + thumb(RSA_CERT) + '"'))).totalResults, 2);
    assert.equal((await list(q('displayName pr'))).totalResults, 1);
  });

  test('sortBy, startIndex, count, attributes; .search', async () => {
    const sorted = await list('sortBy=issuer&sortOrder=descending&attributes=issuer');
    assert.deepEqual(sorted.Resources.map((r: { issuer: string }) => r.issuer), ['urn:c', 'https://b.example', 'https://a.example', 'https://a.example']);
    assert.deepEqual(Object.keys(sorted.Resources[0]).sort(), ['id', 'issuer', 'schemas']);
    const page = await list('sortBy=issuer&startIndex=2&count=1');
    assert.deepEqual([page.totalResults, page.startIndex, page.itemsPerPage, page.Resources.length], [4, 2, 1, 1]);
    const s = await scim(h, 'POST', `${BASE}/.search`, root, { schemas: [SEARCH_SCHEMA], filter: 'protocol eq "jwt"', attributes: ['issuer'] });
    assert.equal(s.statusCode, 200, s.body);
    assert.equal(s.json().totalResults, 2);
  });

  test('bad filters are 400 invalidFilter', async () => {
    for (const f of ['issuer eq', 'nope eq "x"', 'issuer xx "a"', '(issuer eq "a"']) {
      assertScimError(await scim(h, 'GET', `${BASE}?${q(f)}`, root), 400, 'invalidFilter');
    }
  });

  test('409 uniqueness for the same issuer and protocol, on create, PUT and PATCH; the other protocol is fine', async () => {
    const dup = await scim(h, 'POST', BASE, root, jwtIssuer({ issuer: 'https://b.example' }));
    assertScimError(dup, 409, 'uniqueness');
    assert.match(dup.json().detail, /issuer is already in use/);
    assertScimError(await scim(h, 'POST', BASE, root, samlIssuer({ issuer: 'urn:c' })), 409, 'uniqueness');
    const other = await scim(h, 'POST', BASE, root, samlIssuer({ issuer: 'https://b.example' }));
    assert.equal(other.statusCode, 201, other.body);
    const d = await created(h, root, jwtIssuer({ issuer: 'https://d.example' }));
    assertScimError(await scim(h, 'PATCH', `${BASE}/${d.id}`, root, patchOp({ op: 'replace', path: 'issuer', value: 'https://b.example' })), 409, 'uniqueness');
    assertScimError(await scim(h, 'PUT', `${BASE}/${d.id}`, root, { ...d, issuer: 'https://a.example' }), 409, 'uniqueness');
    // case matters: the issuer is compared exactly, as the grants compare it
    assert.equal((await scim(h, 'POST', BASE, root, jwtIssuer({ issuer: 'https://B.example' }))).statusCode, 201);
    assert.equal((await scim(h, 'GET', `${BASE}/${d.id}`, root)).json().issuer, 'https://d.example');
  });
});

describe('admin TrustedIssuers: permissions and escalation', () => {
  let h: Harness;
  let root: string;
  let appAdmin: string;
  const events: AuditEventRecord[] = [];
  let ordinary: IssuerJson;
  let powerful: IssuerJson;
  let appsCapped: IssuerJson;
  before(async () => {
    h = await harness();
    root = await adminToken(h);
    h.t.services.events.on((e) => events.push(e));
    await setupClient(h, { admin: root, scopes: ['orders.read'] });
    appAdmin = await roleToken(h, root, 'Application Administrator');
    ordinary = await created(h, root, jwtIssuer({ allowedScopes: ['orders.read', 'openid'] }));
    powerful = await created(h, root, jwtIssuer({ allowedScopes: ['openid', SETTINGS] }));
    appsCapped = await created(h, root, samlIssuer({ allowedScopes: [APPS] }));
  });
  after(() => h.close());

  const requests = (id: string): [string, 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', string, unknown?][] => [
    ['list', 'GET', BASE], ['search', 'POST', `${BASE}/.search`, { schemas: [SEARCH_SCHEMA] }], ['get', 'GET', `${BASE}/${id}`],
    ['create', 'POST', BASE, jwtIssuer()], ['replace', 'PUT', `${BASE}/${id}`, jwtIssuer()],
    ['patch', 'PATCH', `${BASE}/${id}`, patchOp({ op: 'replace', path: 'active', value: false })], ['delete', 'DELETE', `${BASE}/${id}`],
  ];

  for (const role of ['User Administrator', 'Help Desk Administrator', 'Audit Administrator', 'Me']) {
    test(`${role}: 403 for every operation, audited as admin.access_denied; nothing changes`, async () => {
      const token = await roleToken(h, root, role);
      const before = events.length;
      for (const [what, method, url, body] of requests(ordinary.id)) {
        const r = await scim(h, method, url, token, body);
        assertScimError(r, 403);
        assert.match(String(r.headers['www-authenticate']), /insufficient_scope/, what);
      }
      const audited = events.slice(before).filter((e) => e.eventId === 'admin.access_denied');
      assert.equal(audited.length, 7);
      assert.ok(audited.every((e) => e.outcome === 'failure' && e.targetType === 'endpoint'));
      const now = (await scim(h, 'GET', `${BASE}/${ordinary.id}`, root)).json();
      assert.equal(now.meta.version, ordinary.meta.version);
    });
  }

  test('no token: 401; another audience\'s token: 401', async () => {
    const r = await h.inject({ url: BASE });
    assertScimError(r, 401);
    assert.match(String(r.headers['www-authenticate']), /^Bearer/);
    assertScimError(await scim(h, 'GET', BASE, 'not-a-token'), 401);
  });

  test('Application Administrator manages ordinary issuers and those within its own scopes', async () => {
    const list = await scim(h, 'GET', BASE, appAdmin);
    assert.equal(list.statusCode, 200, list.body);
    assert.equal(list.json().totalResults, 3, 'it sees every issuer, the powerful one too');
    const mine = await scim(h, 'POST', BASE, appAdmin, jwtIssuer({ allowedScopes: ['orders.read'] }));
    assert.equal(mine.statusCode, 201, mine.body);
    const rekey = await scim(h, 'PATCH', `${BASE}/${ordinary.id}`, appAdmin, patchOp({ op: 'replace', path: 'jwks', value: { keys: [EC_JWK] } }));
    assert.equal(rekey.statusCode, 200, rekey.body);
    // t.apps is a scope it holds: it may trust an issuer with it, and change that issuer.
    const withApps = await scim(h, 'POST', BASE, appAdmin, jwtIssuer({ allowedScopes: [APPS] }));
    assert.equal(withApps.statusCode, 201, withApps.body);
    const swap = await scim(h, 'PATCH', `${BASE}/${appsCapped.id}`, appAdmin, patchOp({ op: 'add', path: 'certificates', value: [{ value: RSA_CERT_2 }] }));
    assert.equal(swap.statusCode, 200, swap.body);
    assert.equal((await scim(h, 'PUT', `${BASE}/${mine.json().id}`, appAdmin, { ...(mine.json() as IssuerJson), description: 'x' })).statusCode, 200);
    assert.equal((await scim(h, 'DELETE', `${BASE}/${mine.json().id}`, appAdmin)).statusCode, 204);
  });

  test('Application Administrator cannot create, re-key, change, disable or delete an issuer allowing urn:opc:idm:t.settings', async () => {
    const before = events.length;
    const cases: [string, () => ReturnType<typeof scim>, RegExp][] = [
      ['create', () => scim(h, 'POST', BASE, appAdmin, jwtIssuer({ allowedScopes: ['openid', SETTINGS] })), /^only a caller holding urn:opc:idm:t\.settings may trust an issuer with it$/],
      ['create (saml2)', () => scim(h, 'POST', BASE, appAdmin, samlIssuer({ allowedScopes: [SETTINGS] })), /^only a caller holding urn:opc:idm:t\.settings may trust an issuer with it$/],
      ['widen an ordinary one', () => scim(h, 'PATCH', `${BASE}/${ordinary.id}`, appAdmin, patchOp({ op: 'add', path: 'allowedScopes', value: [SETTINGS] })), /^only a caller holding urn:opc:idm:t\.settings may trust an issuer with it$/],
      ['widen by PUT', () => scim(h, 'PUT', `${BASE}/${ordinary.id}`, appAdmin, { ...ordinary, allowedScopes: [SETTINGS] }), /may trust an issuer with it$/],
      ['re-key (jwks)', () => scim(h, 'PATCH', `${BASE}/${powerful.id}`, appAdmin, patchOp({ op: 'replace', path: 'jwks', value: { keys: [EC_JWK] } })), /^only a caller holding urn:opc:idm:t\.settings may change a trusted issuer that allows it$/],
      ['re-key (jwksUri)', () => scim(h, 'PATCH', `${BASE}/${powerful.id}`, appAdmin, patchOp({ op: 'remove', path: 'jwks' }, { op: 'add', path: 'jwksUri', value: 'https://attacker.example/jwks' })), /may change a trusted issuer that allows it$/],
      ['re-key (certificate)', () => scim(h, 'PATCH', `${BASE}/${powerful.id}`, appAdmin, patchOp({ op: 'add', path: 'certificates', value: [{ value: RSA_CERT }] })), /may change a trusted issuer that allows it$/],
      ['drop the scope and re-key at once', () => scim(h, 'PUT', `${BASE}/${powerful.id}`, appAdmin, { ...powerful, allowedScopes: ['openid'], jwks: { keys: [EC_JWK] } }), /may change a trusted issuer that allows it$/],
      ['rename', () => scim(h, 'PATCH', `${BASE}/${powerful.id}`, appAdmin, patchOp({ op: 'replace', path: 'displayName', value: 'mine' })), /may change a trusted issuer that allows it$/],
      ['retarget subjects', () => scim(h, 'PATCH', `${BASE}/${powerful.id}`, appAdmin, patchOp({ op: 'replace', path: 'subjectAttribute', value: 'externalId' })), /may change a trusted issuer that allows it$/],
      ['disable', () => scim(h, 'PATCH', `${BASE}/${powerful.id}`, appAdmin, patchOp({ op: 'replace', path: 'active', value: false })), /may change a trusted issuer that allows it$/],
      ['delete', () => scim(h, 'DELETE', `${BASE}/${powerful.id}`, appAdmin), /may change a trusted issuer that allows it$/],
    ];
    for (const [what, run, detail] of cases) {
      const r = await run();
      assertScimError(r, 403);
      assert.match(r.json().detail, detail, `${what}: ${r.body}`);
    }
    const denied = events.slice(before).filter((e) => e.eventId === 'admin.access_denied');
    assert.equal(denied.length, cases.length, 'each denial is audited');
    assert.ok(denied.every((e) => e.outcome === 'failure' && /^(POST|PUT|PATCH|DELETE) \/admin\/v1\/TrustedIssuers/.test(e.targetId ?? '') && /t\.settings/.test(e.message ?? '')));
    // Nothing changed, and nothing new was trusted.
    const p = (await scim(h, 'GET', `${BASE}/${powerful.id}`, root)).json();
    assert.deepEqual(p, powerful);
    assert.deepEqual((await scim(h, 'GET', `${BASE}?${q(`allowedScopes eq "${SETTINGS}"`)}`, root)).json().Resources.map((r: { id: string }) => r.id), [powerful.id]);
  });

  test('the Identity Domain Administrator may do all of it', async () => {
    const r = await scim(h, 'PATCH', `${BASE}/${powerful.id}`, root, patchOp({ op: 'replace', path: 'jwks', value: { keys: [ED_JWK] } }));
    assert.equal(r.statusCode, 200, r.body);
    assert.equal((await scim(h, 'POST', BASE, root, samlIssuer({ allowedScopes: [SETTINGS] }))).statusCode, 201);
    assert.equal((await scim(h, 'DELETE', `${BASE}/${powerful.id}`, root)).statusCode, 204);
  });

  test('a role taken away stops working at once (scopes are checked as held now)', async () => {
    const c = await scim(h, 'POST', '/admin/v1/Apps', root, { schemas: [APP_SCHEMA], displayName: 'temp admin', isOAuthClient: true, allowedGrants: ['client_credentials'] });
    const grantId = await grantRole(h, root, 'Application Administrator', 'App', c.json().id);
    const token = (await clientToken(h, c.json().name, c.json().clientSecret, 'urn:opc:idm:__myscopes__')).json().access_token as string;
    assert.equal((await scim(h, 'GET', BASE, token)).statusCode, 200);
    assert.equal((await scim(h, 'DELETE', `/admin/v1/Grants/${grantId}`, root)).statusCode, 204);
    assertScimError(await scim(h, 'POST', BASE, token, jwtIssuer()), 403);
  });
});

describe('admin TrustedIssuers: identity domains are isolated', () => {
  let h: Harness;
  let root: string;
  let acme: string;
  const P = '/domains/acme';
  let mine: IssuerJson;
  let rootClient: string;
  before(async () => {
    h = await harness();
    root = await adminToken(h);
    const d = await scim(h, 'POST', '/admin/v1/IdentityDomains', root, { name: 'acme' });
    assert.equal(d.statusCode, 201, d.body);
    const t = await clientToken(h, d.json().adminClient.client_id, d.json().adminClient.client_secret, 'urn:opc:idm:__myscopes__', P);
    acme = t.json().access_token;
    rootClient = (await setupClient(h, { admin: root, scopes: ['orders.read'] })).clientId;
    mine = await created(h, root, jwtIssuer({ issuer: 'https://shared.partner.example', allowedScopes: ['orders.read'] }));
  });
  after(() => h.close());

  test('another domain\'s issuers are 404 for every method and absent from its list', async () => {
    assertScimError(await scim(h, 'GET', `${P}${BASE}/${mine.id}`, acme), 404);
    assertScimError(await scim(h, 'PUT', `${P}${BASE}/${mine.id}`, acme, jwtIssuer()), 404);
    assertScimError(await scim(h, 'PATCH', `${P}${BASE}/${mine.id}`, acme, patchOp({ op: 'replace', path: 'active', value: false })), 404);
    assertScimError(await scim(h, 'DELETE', `${P}${BASE}/${mine.id}`, acme), 404);
    const l = await scim(h, 'GET', `${P}${BASE}?${q('issuer eq "https://shared.partner.example"')}`, acme);
    assert.equal(l.statusCode, 200, l.body);
    assert.equal(l.json().totalResults, 0);
    assert.equal((await scim(h, 'GET', `${BASE}/${mine.id}`, root)).json().active, true);
    // acme's administrator token is no good at the default domain either
    assertScimError(await scim(h, 'GET', `${BASE}/${mine.id}`, acme), 401);
  });

  test('each domain trusts on its own: the same issuer in acme is another record; scopes and clients are acme\'s own', async () => {
    refused(await scim(h, 'POST', `${P}${BASE}`, acme, jwtIssuer({ issuer: 'https://shared.partner.example', allowedScopes: ['orders.read'] })), /allowedScopes: "orders.read" is not defined/);
    refused(await scim(h, 'POST', `${P}${BASE}`, acme, jwtIssuer({ issuer: 'https://shared.partner.example', allowedClients: [rootClient] })), /allowedClients: .* is not an OAuth client of this domain/);
    const theirs = await created(h, acme, jwtIssuer({ issuer: 'https://shared.partner.example', jwks: { keys: [EC_JWK] } }), P);
    assert.equal(theirs.meta.location, `${ISSUER}${P}/admin/v1/TrustedIssuers/${theirs.id}`);
    const acmeId = (await h.t.services.repos.domains.getByName('acme'))!.id;
    const defaultId = (await h.t.services.repos.domains.getByName('default'))!.id;
    assert.deepEqual((await h.t.services.repos.trustedIssuers.getByIssuer(acmeId, 'jwt', 'https://shared.partner.example'))?.jwks, { keys: [EC_JWK] });
    assert.deepEqual((await h.t.services.repos.trustedIssuers.getByIssuer(defaultId, 'jwt', 'https://shared.partner.example'))?.jwks, { keys: [RSA_JWK] });
    // acme's own issuer URL is "this domain" there, but an ordinary issuer in the default domain.
    refused(await scim(h, 'POST', `${P}${BASE}`, acme, jwtIssuer({ issuer: `${ISSUER}${P}` })), /issuer is this identity domain itself/);
    assert.equal((await scim(h, 'POST', BASE, root, jwtIssuer({ issuer: `${ISSUER}${P}` }))).statusCode, 201);
  });
});

describe('admin TrustedIssuers: SCIM discovery', () => {
  let h: Harness;
  before(async () => { h = await harness(); });
  after(() => h.close());

  test('ResourceTypes and Schemas describe TrustedIssuer', async () => {
    const rt = await h.inject({ url: '/admin/v1/ResourceTypes/TrustedIssuer' });
    assert.equal(rt.statusCode, 200, rt.body);
    assert.deepEqual(rt.json(), {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'], id: 'TrustedIssuer', name: 'TrustedIssuer', endpoint: '/TrustedIssuers',
      description: 'Parties whose signed assertions the token endpoint accepts.', schema: TI_SCHEMA,
      meta: { resourceType: 'ResourceType', location: `${ADMIN}/ResourceTypes/TrustedIssuer` },
    });
    assert.ok((await h.inject({ url: '/admin/v1/ResourceTypes' })).json().Resources.some((r: { id: string }) => r.id === 'TrustedIssuer'));
    const all = (await h.inject({ url: '/admin/v1/Schemas' })).json();
    assert.ok(all.Resources.some((s: { id: string }) => s.id === TI_SCHEMA));
    const s = await h.inject({ url: `/admin/v1/Schemas/${TI_SCHEMA}` });
    assert.equal(s.statusCode, 200, s.body);
    const attrs = new Map((s.json().attributes as AttributeJson[]).map((a) => [a.name, a]));
    assert.deepEqual([...attrs.keys()], ['id', 'issuer', 'protocol', 'active', 'displayName', 'description', 'jwks', 'jwksUri', 'certificates',
      'subjectAttribute', 'allowedScopes', 'allowedClients', 'audience', 'maxAssertionLifetime', 'meta']);
    assert.deepEqual([attrs.get('issuer')!.required, attrs.get('issuer')!.caseExact, attrs.get('issuer')!.uniqueness], [true, true, 'server']);
    assert.deepEqual([attrs.get('protocol')!.mutability, attrs.get('protocol')!.canonicalValues], ['immutable', ['jwt', 'saml2']]);
    assert.deepEqual(attrs.get('subjectAttribute')!.canonicalValues, ['userName', 'email', 'externalId', 'id']);
    assert.equal(attrs.get('maxAssertionLifetime')!.type, 'integer');
    const cert = new Map(attrs.get('certificates')!.subAttributes!.map((a) => [a.name, a.mutability]));
    assert.deepEqual(Object.fromEntries(cert), { value: 'readWrite', x5tS256: 'readOnly', subject: 'readOnly', issuer: 'readOnly', notBefore: 'readOnly', notAfter: 'readOnly' });
    const jwk = attrs.get('jwks')!.subAttributes![0]!.subAttributes!.map((a) => a.name);
    for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) assert.ok(!jwk.includes(m), `no private member ${m} in the schema`);
  });
});

describe('admin TrustedIssuers on PostgreSQL, two nodes', async () => {
  const available = await pgAvailable();
  const skip = available === true ? false : String(available);
  const schema = schemaName();
  let a: Harness;
  let b: Harness;
  let root: string;
  before(async () => {
    if (available !== true) return;
    const mk = new MasterKey(randomBytes(32));
    a = await harness({ masterKey: mk, database: await openDatabase(PG_URL, { pgSchema: schema }) });
    b = await harness({ masterKey: mk, database: await openDatabase(PG_URL, { pgSchema: schema }) });
    root = await adminToken(a);
  });
  after(async () => {
    if (available !== true) return;
    for (const h of [a, b]) { await h.close(); await h.t.database.close(); }
    await dropSchema(schema);
  });

  test('written through one node, read by the other as the grants read it; uniqueness and versions hold in SQL', { skip }, async () => {
    const t = await created(a, root, samlIssuer({ issuer: 'https://pg.partner.example', allowedScopes: ['openid'] }));
    const domainId = (await b.t.services.repos.domains.getByName('default'))!.id;
    const rec = await b.t.services.repos.trustedIssuers.getByIssuer(domainId, 'saml2', 'https://pg.partner.example');
    assert.equal(rec?.id, t.id);
    assert.deepEqual(rec?.certificates, [new X509Certificate(RSA_CERT).toString()]);
    assert.deepEqual((await scim(b, 'GET', `${BASE}/${t.id}`, root)).json(), t);
    // The unique index answers 409 on either node, for create and for a rename onto another issuer.
    assertScimError(await scim(b, 'POST', BASE, root, samlIssuer({ issuer: 'https://pg.partner.example' })), 409, 'uniqueness');
    const other = await created(b, root, samlIssuer({ issuer: 'https://pg2.partner.example' }));
    assertScimError(await scim(a, 'PATCH', `${BASE}/${other.id}`, root, patchOp({ op: 'replace', path: 'issuer', value: 'https://pg.partner.example' })), 409, 'uniqueness');
    assert.equal((await scim(a, 'POST', BASE, root, jwtIssuer({ issuer: 'https://pg.partner.example' }))).statusCode, 201);
    // Two writers holding version 1: one wins, the other gets 412.
    const [x, y] = await Promise.all([
      scim(a, 'PATCH', `${BASE}/${t.id}`, root, patchOp({ op: 'replace', path: 'displayName', value: 'from a' }), { 'if-match': 'W/"1"' }),
      scim(b, 'PATCH', `${BASE}/${t.id}`, root, patchOp({ op: 'replace', path: 'displayName', value: 'from b' }), { 'if-match': 'W/"1"' }),
    ]);
    assert.deepEqual([x.statusCode, y.statusCode].sort(), [200, 412], `${x.body} ${y.body}`);
    // U+0000 never reaches PostgreSQL (which cannot hold it): 400 or 404, not 500.
    refused(await scim(a, 'POST', BASE, root, jwtIssuer({ issuer: 'https://nul\u0000.example' })), /U\+0000/);
    assertScimError(await scim(a, 'GET', `${BASE}/a%00b`, root), 404);
    assertScimError(await scim(a, 'GET', `${BASE}?${q('issuer eq "a\u0000b"')}`, root), 400, 'invalidFilter');
  });
});
