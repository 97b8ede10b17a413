/**
 * What the JWT bearer grant tests share: a domain with a resource server, clients, users and trusted issuers,
 * and assertions made the way a partner makes them (jose, or openssl for certificates).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { exportJWK, importPKCS8, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { newId } from '../src/core/ids.js';
import type { TrustedIssuerRecord } from '../src/core/types.js';
import { adminToken, APP_SCHEMA, basic, grantRole, ISSUER, post, scim, type Harness } from './helpers.js';
import { createUser } from './signin.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const TOKEN_ENDPOINT = `${ISSUER}/oauth2/v1/token`;
const ROLE = 'urn:ietf:params:scim:schemas:oracle:idcs:AppRole';

/** A node KeyObject signs with any alg of its type (a WebCrypto key is bound to one), as a test of alg pinning needs. */
export type SigningKey = KeyObject | CryptoKey | Uint8Array;
export interface Signer { key: KeyObject; jwk: JWK; alg: string }

export async function signer(alg: 'RS256' | 'ES256' | 'EdDSA' | 'PS256', kid: string, o: { withAlg?: boolean } = {}): Promise<Signer> {
  const { publicKey, privateKey } = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, use: 'sig', ...(o.withAlg === false ? {} : { alg }) };
  return { key: privateKey, jwk, alg };
}

/** A self-signed certificate and its private key, made with openssl as a partner would. */
export async function certificate(kind: 'rsa' | 'ec' = 'ec'): Promise<{ pem: string; key: CryptoKey; alg: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cert-'));
  try {
    const newkey = kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    const r = spawnSync('openssl', ['req', '-x509', ...newkey, '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=partner.example', '-days', '2'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const alg = kind === 'rsa' ? 'RS256' : 'ES256';
    return { pem: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: await importPKCS8(readFileSync(join(dir, 'key.pem'), 'utf8'), alg), alg };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
export const opensslMissing = spawnSync('sh', ['-c', 'command -v openssl'], { stdio: 'ignore' }).status !== 0;

export interface Client { id: string; clientId: string; secret?: string }

export async function createApp(h: Harness, admin: string, body: Record<string, unknown>): Promise<Client> {
  const r = await scim(h, 'POST', '/admin/v1/Apps', admin, {
    schemas: [APP_SCHEMA], displayName: `jb-${randomBytes(4).toString('hex')}`, isOAuthClient: true, clientType: 'confidential', ...body,
  });
  assert.equal(r.statusCode, 201, r.body);
  return { id: r.json().id, clientId: r.json().name, secret: r.json().clientSecret };
}

let jtis = 0;
export const jti = (): string => `jti-${++jtis}-${randomBytes(6).toString('hex')}`;

/**
 * A signed assertion: claims default to a valid one (aud = issuer, exp one minute ahead, iat now, fresh jti);
 * a claim set to null is left out.
 */
export async function assertion(
  h: Harness, key: SigningKey, claims: Record<string, unknown>, header: Record<string, unknown> = {},
): Promise<string> {
  const now = Math.floor(h.clock.now() / 1000);
  const all: Record<string, unknown> = { aud: ISSUER, exp: now + 60, iat: now, jti: jti(), ...claims };
  for (const [k, v] of Object.entries(all)) if (v === null) delete all[k];
  return new SignJWT(all).setProtectedHeader({ alg: 'RS256', ...header } as never).sign(key);
}

/** A token request with the jwt-bearer grant; `auth` is a Basic header (or none: the assertion is the client's credential). */
export function grant(h: Harness, a: string, o: { scope?: string; auth?: string; extra?: Record<string, string> } = {}): Promise<LightMyRequestResponse> {
  return post(h, '/oauth2/v1/token', { grant_type: JWT_BEARER, assertion: a, ...(o.scope ? { scope: o.scope } : {}), ...(o.extra ?? {}) },
    o.auth ? { authorization: o.auth } : {});
}

export async function trustIssuer(h: Harness, o: Partial<TrustedIssuerRecord> & Pick<TrustedIssuerRecord, 'issuer'>): Promise<TrustedIssuerRecord> {
  const d = (await h.t.services.repos.domains.getByName('default'))!;
  const now = h.clock.now();
  const rec: TrustedIssuerRecord = {
    id: newId(), domainId: d.id, protocol: 'jwt', active: true, certificates: [], subjectAttribute: 'userName', allowedScopes: [],
    allowedClients: [], maxAssertionLifetime: 300, version: 1, createdAt: now, updatedAt: now, ...o,
  };
  await h.t.services.repos.trustedIssuers.create(rec);
  return rec;
}

export interface World {
  admin: string;
  /** Resource server scopes: jb.read, jb.write, jb.role (role "JB Role"), jb.other (role "JB Other"). */
  partner: Client & { auth: string };
  /** Like partner without the refresh_token grant. */
  partnerNoRefresh: Client & { auth: string };
  /** Allowed client_credentials only (not the jwt-bearer grant). */
  other: Client & { auth: string };
  /** Signs its own assertions (RS256 JWKS), client_secret_basic, jwt-bearer only. */
  self: Client & { auth: string; signer: Signer };
  /** Like self, marked allowUserAssertions (ES256 JWKS). */
  trusted: Client & { signer: Signer };
  idp: { rec: TrustedIssuerRecord; signer: Signer };
  ada: { id: string; userName: string; email: string };
  bob: { id: string; userName: string; email: string };
}

/** The domain the tests run in (any backend); trusted issuers are created through the repository (the admin resource is built elsewhere). */
export async function world(h: Harness): Promise<World> {
  const admin = await adminToken(h);
  const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, {
    schemas: [APP_SCHEMA], displayName: 'jb-api', isOAuthResource: true, audience: 'https://jb-api.example.com',
    scopes: ['jb.read', 'jb.write', 'jb.role', 'jb.other'].map((value) => ({ value })),
  });
  assert.equal(rs.statusCode, 201, rs.body);
  for (const [name, scope] of [['JB Role', 'jb.role'], ['JB Other', 'jb.other']]) {
    const r = await scim(h, 'POST', '/admin/v1/AppRoles', admin, { schemas: [ROLE], displayName: name, app: { value: rs.json().id }, scopes: [{ value: scope }] });
    assert.equal(r.statusCode, 201, r.body);
  }
  const scopes = ['jb.read', 'jb.write', 'openid', 'profile', 'offline_access'].map((fqs) => ({ fqs }));
  const withAuth = (c: Client) => ({ ...c, auth: basic(c.clientId, c.secret!) });
  const partner = withAuth(await createApp(h, admin, { allowedGrants: [JWT_BEARER, 'refresh_token'], allowedScopes: scopes }));
  const partnerNoRefresh = withAuth(await createApp(h, admin, { allowedGrants: [JWT_BEARER], allowedScopes: scopes }));
  const other = withAuth(await createApp(h, admin, { allowedGrants: ['client_credentials'], allowedScopes: scopes }));
  const selfSigner = await signer('RS256', 'self-1');
  const self = { ...withAuth(await createApp(h, admin, { allowedGrants: [JWT_BEARER, 'refresh_token'], allowedScopes: scopes, defaultScopes: ['jb.read'], jwks: { keys: [selfSigner.jwk] } })), signer: selfSigner };
  const trustedSigner = await signer('ES256', 'trusted-1');
  const trusted = { ...(await createApp(h, admin, { allowedGrants: [JWT_BEARER], allowedScopes: scopes, jwks: { keys: [trustedSigner.jwk] }, allowUserAssertions: true })), signer: trustedSigner };
  for (const c of [partner, self, trusted]) await grantRole(h, admin, 'JB Role', 'App', c.id);
  await grantRole(h, admin, 'JB Other', 'App', partner.id);

  const a = await createUser(h, admin, `ada-${randomBytes(3).toString('hex')}`, { externalId: `b-${randomBytes(3).toString('hex')}` });
  const ada = { ...a, email: `${a.userName}@example.com` };
  await grantRole(h, admin, 'JB Role', 'User', ada.id);
  const b = await createUser(h, admin, `bob-${randomBytes(3).toString('hex')}`, { active: false });
  const bob = { ...b, email: `${b.userName}@example.com` };

  const idpSigner = await signer('RS256', 'idp-1');
  const idp = {
    rec: await trustIssuer(h, {
      issuer: `https://idp-${randomBytes(3).toString('hex')}.example.com`, jwks: { keys: [idpSigner.jwk as never] }, subjectAttribute: 'email',
      allowedScopes: ['jb.read', 'jb.role', 'jb.other', 'openid', 'profile', 'offline_access'], audience: 'https://tessera.example.com/partners',
    }),
    signer: idpSigner,
  };
  return { admin, partner, partnerNoRefresh, other, self, trusted, idp, ada, bob };
}
