import type { FastifyRequest } from 'fastify';
import { ScimError } from '../scim/errors.js';
import { adminAudience } from '../identity/catalog.js';
import type { Services } from '../http/services.js';
import type { ValidAccessToken } from '../tokens/validator.js';
import { currentScopes } from '../identity/token_scopes.js';

/** RFC 6750 §2.1: `Authorization: Bearer <b64token>`. */
export function bearerToken(header: string | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return m?.[1];
}

/** A 401/403 in the SCIM error shape that also carries the RFC 6750 §3 challenge. */
export class AdminAuthError extends ScimError {
  constructor(status: 401 | 403, readonly challenge: string, detail: string) { super(status, undefined, detail); }
}

export interface AdminCaller {
  token: ValidAccessToken;
  /** The token's scopes that the caller still holds (see currentScopes). */
  scopes: Set<string>;
  /** For the audit trail. */
  actorType: 'client' | 'user';
  actorId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    adminCaller: AdminCaller | null;
  }
}

/** The admin API accepts only this domain's access tokens whose audience is ISSUER/admin/v1. */
export async function authenticateAdmin(s: Services, req: FastifyRequest): Promise<AdminCaller> {
  const c = req.tessera;
  const realm = `realm="${c.issuer}"`;
  const raw = bearerToken(req.headers.authorization);
  if (!raw) throw new AdminAuthError(401, `Bearer ${realm}`, 'a bearer access token is required');
  const v = await s.validator.validateAtResource(c.domain, c.issuer, raw, s.clientCertificates.of(req).certificate?.thumbprint);
  if (!v || !v.aud.includes(adminAudience(c.issuer))) {
    throw new AdminAuthError(401, `Bearer ${realm}, error="invalid_token"`, 'the access token is invalid, expired, revoked or not meant for this API');
  }
  // The caller's rights as they are now: a role or grant taken away since issuance no longer counts.
  return {
    token: v, scopes: new Set(await currentScopes(s, c.domain, v)),
    actorType: v.subType, actorId: v.subType === 'user' ? (v.userId ?? v.sub) : v.clientId,
  };
}

/** 403 unless the caller holds one of `anyOf`. */
export function requireScope(req: FastifyRequest, anyOf: readonly string[]): void {
  const caller = req.adminCaller!;
  if (!anyOf.some((s) => caller.scopes.has(s))) {
    throw new AdminAuthError(403, `Bearer realm="${req.tessera.issuer}", error="insufficient_scope", scope="${anyOf.join(' ')}"`,
      'the access token does not allow this operation');
  }
}
