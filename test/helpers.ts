import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { FixedClock, type Clock } from '../src/core/clock.js';
import { MasterKey } from '../src/crypto/masterkey.js';
import { buildApp, type Tessera } from '../src/http/app.js';
import type { Database_ } from '../src/storage/db.js';

export const ISSUER = 'http://localhost:8080';
export const BOOT_ID = 'bootstrap-admin';
export const BOOT_SECRET = 'bootstrap-secret-0123456789abcdefghij';
export const APP_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:App';

export interface Harness {
  t: Tessera;
  clock: FixedClock | Clock;
  inject: Tessera['app']['inject'];
  close(): Promise<void>;
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  return loadConfig({}, {
    databaseUrl: 'sqlite::memory:', publicUrl: ISSUER, logLevel: 'silent', purgeIntervalSeconds: 0,
    bootstrapClientId: BOOT_ID, bootstrapClientSecret: BOOT_SECRET, dataDir: '/nonexistent', ...overrides,
  });
}

export async function harness(o: { config?: Partial<Config>; clock?: Clock; database?: Database_; masterKey?: MasterKey } = {}): Promise<Harness> {
  const clock = o.clock ?? new FixedClock(Date.now());
  const t = await buildApp({ config: testConfig(o.config), clock, masterKey: o.masterKey ?? new MasterKey(randomBytes(32)), logger: false, database: o.database });
  return { t, clock, inject: t.app.inject.bind(t.app), close: () => t.close() };
}

export const basic = (id: string, secret: string): string =>
  'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

export const form = (o: Record<string, string>): string => new URLSearchParams(o).toString();

export async function post(h: Harness, url: string, body: Record<string, string> | string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return h.inject({
    method: 'POST', url, payload: typeof body === 'string' ? body : form(body),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}

export async function clientToken(h: Harness, id: string, secret: string, scope?: string, prefix = ''): Promise<LightMyRequestResponse> {
  return post(h, `${prefix}/oauth2/v1/token`, { grant_type: 'client_credentials', ...(scope ? { scope } : {}) }, { authorization: basic(id, secret) });
}

export async function adminToken(h: Harness, scope = 'urn:opc:idm:__myscopes__'): Promise<string> {
  const r = await clientToken(h, BOOT_ID, BOOT_SECRET, scope);
  assert.equal(r.statusCode, 200, r.body);
  return r.json().access_token as string;
}

export async function scim(h: Harness, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, token: string, body?: unknown, headers: Record<string, string> = {}) {
  return h.inject({
    method, url, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}), ...headers },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
}

/** Create a resource server and a confidential client allowed its scopes; returns the client's credentials. */
export async function setupClient(h: Harness, o: { admin: string; prefix?: string; scopes?: string[]; rs?: Record<string, unknown>; client?: Record<string, unknown> } ) {
  const prefix = o.prefix ?? '';
  const scopes = o.scopes ?? ['orders.read'];
  const suffix = randomBytes(4).toString('hex');
  const rs = await scim(h, 'POST', `${prefix}/admin/v1/Apps`, o.admin, {
    schemas: [APP_SCHEMA], displayName: `rs-${suffix}`, isOAuthResource: true, audience: `https://rs-${suffix}.example.com`,
    scopes: scopes.map((value) => ({ value })), ...(o.rs ?? {}),
  });
  assert.equal(rs.statusCode, 201, rs.body);
  const cl = await scim(h, 'POST', `${prefix}/admin/v1/Apps`, o.admin, {
    schemas: [APP_SCHEMA], displayName: `client-${suffix}`, isOAuthClient: true, clientType: 'confidential',
    allowedGrants: ['client_credentials'], allowedScopes: scopes.map((fqs) => ({ fqs })), ...(o.client ?? {}),
  });
  assert.equal(cl.statusCode, 201, cl.body);
  const c = cl.json();
  return { clientId: c.name as string, secret: c.clientSecret as string, app: c, rs: rs.json(), audience: rs.json().audience as string };
}

export function decode(jwt: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()) };
}

export function assertOAuthError(r: LightMyRequestResponse, status: number, error: string): void {
  assert.equal(r.statusCode, status, `expected ${status} ${error}, got ${r.statusCode} ${r.body}`);
  const b = r.json();
  assert.equal(b.error, error, r.body);
  assert.deepEqual(Object.keys(b).sort(), ['error', 'error_description']);
  assert.match(b.error_description, /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/);
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal(r.headers.pragma, 'no-cache');
}

export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** A SCIM error (RFC 7644 §3.12): status, content type, body shape and scimType. */
export function assertScimError(r: LightMyRequestResponse, status: number, scimType?: string): void {
  assert.equal(r.statusCode, status, `expected ${status} ${scimType ?? ''}, got ${r.statusCode} ${r.body}`);
  assert.match(String(r.headers['content-type']), /^application\/scim\+json/);
  const b = r.json();
  assert.deepEqual(b.schemas, [SCIM_ERROR_SCHEMA]);
  assert.equal(b.status, String(status));
  assert.equal(typeof b.detail, 'string');
  assert.equal(b.scimType, scimType, r.body);
}

/** Grant a built-in or custom app role (by display name) to an app, user or group; returns the grant's id. */
export async function grantRole(h: Harness, admin: string, roleName: string, type: 'App' | 'User' | 'Group', granteeId: string, prefix = ''): Promise<string> {
  const roles = await scim(h, 'GET', `${prefix}/admin/v1/AppRoles?filter=${encodeURIComponent(`displayName eq "${roleName}"`)}`, admin);
  const role = roles.json().Resources?.[0] as { id: string; app: { value: string } } | undefined;
  assert.ok(role, `no app role ${roleName}: ${roles.body}`);
  const r = await scim(h, 'POST', `${prefix}/admin/v1/Grants`, admin, {
    schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:Grant'], app: { value: role.app.value }, entitlement: { attributeName: 'appRoles', attributeValue: role.id },
    grantMechanism: `ADMINISTRATOR_TO_${type.toUpperCase()}`, grantee: { value: granteeId, type },
  });
  assert.equal(r.statusCode, 201, r.body);
  return r.json().id as string;
}
