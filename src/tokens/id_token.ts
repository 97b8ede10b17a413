import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { AppRecord, DomainRecord, SigningAlg } from '../core/types.js';
import type { KeyStore } from '../crypto/keystore.js';
import { decodeJwt, signJwt, verifySignature } from './jwt.js';

export interface IdTokenRequest {
  domain: DomainRecord;
  issuer: string;
  client: AppRecord;
  /** The subject: the user's id (the same `sub` the userinfo endpoint returns, OIDC Core §5.3.2). */
  userId: string;
  /** When the user authenticated, epoch ms. */
  authTime: number;
  nonce?: string;
  /** RFC 8176 authentication method references. */
  amr: string[];
  acr?: string;
  /** The SSO session id (OIDC Front-/Back-Channel Logout `sid`). */
  sid?: string;
  /** Issued alongside: its at_hash is included (OIDC Core §3.1.3.6, §3.2.2.10). */
  accessToken?: string;
  /** Issued alongside: its c_hash is included (OIDC Core §3.3.2.11). */
  code?: string;
  /** User claims to carry (OIDC Core §5.4: when no access token is issued, e.g. response_type=id_token). */
  claims?: Record<string, unknown>;
  /** The client's id_token_signed_response_alg; RS256 when not given. */
  alg?: SigningAlg;
}

export interface IdTokenDeps {
  keys: KeyStore;
  clock: Clock;
}

/** An ID token lives at most an hour: it proves an authentication event, it is not a session. */
export const ID_TOKEN_MAX_LIFETIME = 3600;

/**
 * OIDC Core §3.1.3.6 at_hash / §3.3.2.11 c_hash: the hash (of the JWS alg's hash function) of the
 * ASCII value, its left-most half, base64url. Ed25519 signs with SHA-512 inside, and that is the
 * hash OpenID uses for EdDSA (OIDC Core errata, as the conformance suite checks).
 */
export function halfHash(alg: SigningAlg, value: string): string {
  const h = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256').update(value, 'ascii').digest();
  return h.subarray(0, h.length / 2).toString('base64url');
}

/** Claims the issuer sets itself; caller-supplied user claims never replace them. */
const RESERVED = new Set(['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'amr', 'acr', 'sid', 'azp', 'at_hash', 'c_hash', 'jti', 'nbf']);

/** ID tokens (OIDC Core §2): signed JWTs about an authentication, for the client that asked for it. */
export class IdTokenIssuer {
  constructor(private deps: IdTokenDeps) {}

  /** Lifetime in seconds: an hour, or the client's access-token lifetime when that is shorter. */
  lifetime(client: AppRecord): number {
    return Math.max(1, Math.min(ID_TOKEN_MAX_LIFETIME, client.accessTokenExpiry ?? ID_TOKEN_MAX_LIFETIME));
  }

  async issue(r: IdTokenRequest): Promise<string> {
    const clientId = r.client.clientId;
    if (!clientId) throw new Error('an ID token needs a client with a client_id');
    // OIDC Core §15.1: RS256 is the algorithm every RP can verify (and the Registration default).
    // No fallback alg: the RP expects exactly this one, so a key still waiting out the publish delay
    // (only in domains created without it) signs at once; RPs fetch the JWKS again on an unknown
    // kid (OIDC Core §10.1.1).
    const key = await this.deps.keys.signingKey(r.domain.id, r.alg ?? 'RS256');
    const iat = Math.floor(this.deps.clock.now() / 1000);
    const claims: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r.claims ?? {})) if (!RESERVED.has(k) && v !== undefined && v !== null) claims[k] = v;
    // OIDC Core §2: iss, sub, aud (the client_id), exp, iat; auth_time in seconds; nonce exactly as
    // sent and only when sent (§3.1.2.1); azp = the client (§2: the party the token was issued to).
    const out: Record<string, unknown> = {
      iss: r.issuer, sub: r.userId, aud: clientId, exp: iat + this.lifetime(r.client), iat,
      auth_time: Math.floor(r.authTime / 1000),
    };
    if (r.nonce !== undefined) out.nonce = r.nonce;
    if (r.amr.length > 0) out.amr = r.amr;
    if (r.acr) out.acr = r.acr;
    if (r.sid) out.sid = r.sid;
    out.azp = clientId;
    // Hashes of the key that signs, so an RP checks them with the alg in the header it verified.
    if (r.accessToken !== undefined) out.at_hash = halfHash(key.alg, r.accessToken);
    if (r.code !== undefined) out.c_hash = halfHash(key.alg, r.code);
    // RFC 8725 §3.11: explicit typing; our access tokens are at+jwt, so neither passes for the other.
    return signJwt('JWT', { ...out, ...claims }, key);
  }
}

/** What an `id_token_hint` says (OIDC RP-Initiated Logout §2). */
export interface IdTokenHint {
  sub: string;
  aud: string[];
  sid?: string;
}

/** A hint claiming to be issued further in the future than this is not ours (clock skew between nodes aside). */
const FUTURE_SKEW_SECONDS = 300;
const MAX_HINT_LENGTH = 16384;

/**
 * Checks an `id_token_hint` (OIDC RP-Initiated Logout §2, OIDC Core §3.1.2.1): an ID token this
 * domain issued, signed by one of its published keys. Expired hints are accepted: RP-Initiated
 * Logout §2 says the OP need not require an unexpired one (an RP logs out long after sign-in); a
 * key removed after rotation makes an old hint fail anyway. Undefined for anything else.
 */
export async function verifyIdTokenHint(keys: KeyStore, domain: DomainRecord, issuer: string, token: string, clock: Clock): Promise<IdTokenHint | undefined> {
  const d = decodeJwt(token, MAX_HINT_LENGTH);
  if (!d) return undefined;
  // RFC 8725 §3.11 / security checklist JW-6: an access token (at+jwt) or any other JWT is not an ID token.
  if (typeof d.header.typ !== 'string' || d.header.typ.toUpperCase() !== 'JWT' || typeof d.header.kid !== 'string') return undefined;
  // Keys are per domain: another domain's ID token finds no key here.
  const key = await keys.verificationKey(domain.id, d.header.kid);
  if (!key || !verifySignature(d, key)) return undefined;
  const p = d.payload;
  if (p.iss !== issuer || typeof p.sub !== 'string' || p.sub === '') return undefined;
  const aud = typeof p.aud === 'string' ? [p.aud] : Array.isArray(p.aud) && p.aud.every((a) => typeof a === 'string') ? (p.aud as string[]) : [];
  if (aud.length === 0) return undefined;
  if (typeof p.iat !== 'number' || p.iat > Math.floor(clock.now() / 1000) + FUTURE_SKEW_SECONDS) return undefined;
  const out: IdTokenHint = { sub: p.sub, aud };
  if (typeof p.sid === 'string') out.sid = p.sid;
  return out;
}
