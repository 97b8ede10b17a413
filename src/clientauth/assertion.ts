import { createLocalJWKSet, jwtVerify, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import { InvalidRequest } from '../core/errors.js';
import type { AppRecord, Jwk, TokenEndpointAuthMethod } from '../core/types.js';
import { certificateJwk, parseCertificates } from '../identity/trusted_issuers.js';
import { decodeJwt } from '../tokens/jwt.js';
import type { JwksFetcher } from './jwks_fetcher.js';
import type { AuthDeps, RequestParts } from './types.js';
import { fail, usableClient } from './util.js';

export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const MAX_ASSERTION = 16384;
// Types a client assertion may carry; an ID token or access token (`at+jwt`) is refused (RFC 8725 §3.11).
const ACCEPTED_TYP = new Set([undefined, 'JWT', 'jwt', 'client-authentication+jwt']);

export const HMAC_ALGS = ['HS256', 'HS384', 'HS512'];
export const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export function matchesAssertion(req: RequestParts): boolean {
  return req.params.client_assertion !== undefined || req.params.client_assertion_type !== undefined;
}

/**
 * RFC 7523 §2.2 / §3 client authentication with a JWT. `method` decides the key: the client's
 * secret (client_secret_jwt) or its registered JWKS (private_key_jwt). Keys come only from the
 * registration, never from the JWT header (jwk/jku/x5u/x5c are ignored: RFC 8725 §3.10).
 */
export async function authenticateAssertion(req: RequestParts, deps: AuthDeps, method: Extract<TokenEndpointAuthMethod, 'client_secret_jwt' | 'private_key_jwt'>) {
  const { client_assertion: assertion, client_assertion_type: type } = req.params;
  if (type !== JWT_BEARER_ASSERTION_TYPE) throw new InvalidRequest(`client_assertion_type must be ${JWT_BEARER_ASSERTION_TYPE}`);
  if (!assertion) throw new InvalidRequest('client_assertion is missing');
  if (assertion.length > MAX_ASSERTION) throw fail('client assertion too large');
  const d = decodeJwt(assertion, MAX_ASSERTION);
  if (!d) throw fail('client assertion is not a JWS');
  const { payload: p, header: h } = d;
  // RFC 7523 §3 items 1-2: iss and sub are both the client_id.
  if (typeof p.sub !== 'string' || p.iss !== p.sub) throw fail('assertion iss and sub must both be the client_id');
  if (req.params.client_id !== undefined && req.params.client_id !== p.sub) throw fail('client_id does not match the assertion');
  if (!ACCEPTED_TYP.has(h.typ as string | undefined)) throw fail(`assertion typ ${String(h.typ)} refused`);
  const client = await deps.findClient(p.sub);
  if (!usableClient(client, method)) throw fail(`client ${p.sub} is not registered for ${method}`);

  // RFC 8725 §3.1: the key decides the algorithm, never the header alone; `none` and cross-type algorithms never
  // verify. A registered token_endpoint_auth_signing_alg pins it; without one, client_secret_jwt means HS256
  // and private_key_jwt means what the registered keys can verify (their `alg`, else their type and curve).
  const pinned = client.tokenEndpointAuthSigningAlg ?? (method === 'client_secret_jwt' ? 'HS256' : undefined);
  const family = method === 'client_secret_jwt' ? HMAC_ALGS : ASYMMETRIC_ALGS;
  const alg = typeof h.alg === 'string' ? h.alg : '';
  if (!family.includes(alg) || (pinned !== undefined && alg !== pinned)) throw fail(`assertion alg ${alg.slice(0, 20)} is not one the client registered`);

  // RFC 7523 §3 item 3: aud identifies this AS. One value only (RFC 10070 audience injection):
  // the issuer, or (unless disabled) the token endpoint URL.
  const aud = Array.isArray(p.aud) && p.aud.length === 1 ? p.aud[0] : p.aud;
  const audiences = deps.acceptTokenEndpointAudience ? [deps.issuer, deps.tokenEndpoint] : [deps.issuer];
  if (typeof aud !== 'string' || !audiences.includes(aud)) throw fail('assertion aud must be this issuer');

  const now = Math.floor(deps.clock.now() / 1000);
  const skew = deps.clockSkewSeconds;
  // RFC 7523 §3 item 4: exp is required; we also cap how far ahead it may be.
  if (typeof p.exp !== 'number' || !Number.isFinite(p.exp)) throw fail('assertion exp is missing');
  if (p.exp - now > deps.assertionMaxLifetime + skew) throw fail('assertion lifetime too long');
  if (p.iat !== undefined && (typeof p.iat !== 'number' || p.iat > now + skew)) throw fail('assertion iat is in the future');
  // RFC 7523 §3 item 7: jti, single use until exp.
  if (typeof p.jti !== 'string' || p.jti.length === 0 || p.jti.length > 256) throw fail('assertion jti is missing');

  let key: JWTVerifyGetKey | Uint8Array;
  if (method === 'client_secret_jwt') {
    if (!client.secretEnc) throw fail('client has no secret for client_secret_jwt');
    key = new TextEncoder().encode(deps.masterKey.decrypt(client.secretEnc, secretAad(client)));
  } else {
    let set: { keys: Jwk[] };
    try { set = await registeredClientKeys(client, deps.jwksFetcher, typeof h.kid === 'string' ? h.kid : undefined); } catch (e) { throw fail((e as Error).message); }
    if (pinned === undefined && !set.keys.some((k) => algsOfJwk(k).includes(alg))) throw fail(`no registered key verifies ${alg}`);
    key = createLocalJWKSet(set as never);
  }
  try {
    await jwtVerify(assertion, key as never, {
      algorithms: [alg], issuer: client.clientId, subject: client.clientId, clockTolerance: skew,
      currentDate: new Date(deps.clock.now()), requiredClaims: ['exp', 'jti'],
    });
  } catch (e) {
    throw fail(`assertion verification failed: ${e instanceof joseErrors.JOSEError ? e.code : 'error'}`);
  }
  const first = await deps.assertionJtis.consume(deps.domain.id, client.clientId!, p.jti, (p.exp + skew) * 1000, deps.clock.now());
  if (!first) throw fail('assertion replayed (jti already used)');
  return { client, method };
}

export const secretAad = (client: Pick<AppRecord, 'domainId' | 'id'>): string => `client-secret:${client.domainId}:${client.id}`;

/**
 * The asymmetric JWS algorithms a public JWK can verify: its `alg` when it names one (RFC 7517 §4.4),
 * otherwise every algorithm of its key type and curve (RFC 7518 §3; RFC 8037 for OKP). Never HMAC or none.
 */
export function algsOfJwk(k: unknown): string[] {
  if (!k || typeof k !== 'object') return [];
  const { alg, kty, crv, use } = k as { alg?: unknown; kty?: unknown; crv?: unknown; use?: unknown };
  if (use !== undefined && use !== 'sig') return [];
  if (alg !== undefined) return typeof alg === 'string' && ASYMMETRIC_ALGS.includes(alg) ? [alg] : [];
  if (kty === 'RSA') return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
  if (kty === 'EC') return crv === 'P-256' ? ['ES256'] : crv === 'P-384' ? ['ES384'] : crv === 'P-521' ? ['ES512'] : [];
  if (kty === 'OKP') return crv === 'Ed25519' || crv === 'Ed448' ? ['EdDSA'] : [];
  return [];
}

/** Why a client's registered keys cannot be used (the caller decides the error: invalid_client or invalid_grant). */
export class ClientKeysUnavailable extends Error {}

/**
 * A client's registered verification keys: its JWK Set (inline or from jwks_uri) and the keys of its
 * registered certificates (kid and x5t#S256 = the certificate's SHA-256 thumbprint). Never keys named by a
 * JWT header (RFC 8725 §3.10). A kid not in a fetched set refetches jwks_uri once (rate-limited by the fetcher).
 */
export async function registeredClientKeys(client: AppRecord, fetcher: JwksFetcher, kid: string | undefined): Promise<{ keys: Jwk[] }> {
  const keys: Jwk[] = [...(client.jwks?.keys ?? [])];
  // Validated when registered; a certificate that no longer parses verifies nothing.
  try { keys.push(...parseCertificates(client.certificates ?? []).map(certificateJwk)); } catch { throw new ClientKeysUnavailable('a registered certificate cannot be read'); }
  if (client.jwksUri) {
    try {
      let set = await fetcher.get(client.jwksUri);
      if (kid && !set.keys.some((k) => (k as Jwk).kid === kid) && !keys.some((k) => k.kid === kid)) set = await fetcher.get(client.jwksUri, true);
      keys.push(...(set.keys as Jwk[]));
    } catch (e) {
      throw new ClientKeysUnavailable(`cannot use jwks_uri: ${(e as Error).message}`);
    }
  }
  if (keys.length === 0) throw new ClientKeysUnavailable('client has no registered keys');
  return { keys };
}
