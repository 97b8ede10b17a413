import type { FastifyInstance } from 'fastify';
import { InvalidClient, InvalidRequest } from '../core/errors.js';
import type { AppRecord } from '../core/types.js';
import { lookupHash } from '../crypto/secrets.js';
import { ctx, noStore, type DomainContext } from '../http/context.js';
import { formParams } from '../http/form.js';
import type { Services } from '../http/services.js';
import { currentScopes } from '../identity/token_scopes.js';
import { authenticate } from '../http/client_auth.js';

const INACTIVE = { active: false } as const;

/** POST /oauth2/v1/introspect: RFC 7662, for access tokens and refresh tokens. */
export function introspectEndpoint(app: FastifyInstance, s: Services): void {
  app.post('/oauth2/v1/introspect', async (req, reply) => {
    noStore(reply);
    const params = formParams(req.body);
    // RFC 7662 §2.1: the caller must be authorized; a public client cannot prove who it is.
    const { client, method } = await authenticate(s, req, { authorization: req.headers.authorization, params });
    if (method === 'none') throw new InvalidClient('introspection requires client authentication');
    const token = params.token;
    if (!token) throw new InvalidRequest('token is required');
    // RFC 7662 §2.1: token_type_hint is only a hint; both kinds are looked up whatever it says.
    const c = ctx(req);
    const v = await s.validator.validate(c.domain, c.issuer, token);
    if (!v) return token.includes('.') || token.length > 200 ? INACTIVE : refreshToken(s, c, client, token);
    // RFC 7662 §2.2: inactive, and also not ours to see: a token is shown to the client it was
    // issued to and to resource servers in its audience; anyone else learns only active:false.
    const visible = v.clientId === client.clientId || (client.isOAuthResource && client.audience !== undefined && v.aud.includes(client.audience));
    if (!visible) return INACTIVE;
    // What the token allows now: a role or grant taken away since issuance is gone from `scope`.
    const scopes = await currentScopes(s, c.domain, v);
    if (scopes.length === 0 && v.scope !== '') return INACTIVE;
    const out: Record<string, unknown> = {
      active: true, scope: scopes.join(' '), client_id: v.clientId, token_type: 'Bearer', exp: v.exp, iat: v.iat,
      sub: v.sub, sub_type: v.subType, aud: v.aud.length === 1 ? v.aud[0] : v.aud, iss: c.issuer, jti: v.jti,
    };
    if (v.userId) out.user_id = v.userId;
    // RFC 8693 §4.1: a delegated token's actor (chain) is part of what a resource server learns about it.
    if (v.act) out.act = v.act;
    // RFC 8705 §3.2: the resource server checks the binding against the certificate it was shown.
    if (v.cnf) out.cnf = v.cnf;
    return out;
  });
}

/**
 * RFC 7662 §2.1 covers refresh tokens too: shown to the client they were issued to only (resource servers
 * never see refresh tokens), while live, and while the client and the user may still hold tokens.
 */
async function refreshToken(s: Services, c: DomainContext, client: AppRecord, token: string): Promise<Record<string, unknown>> {
  const rec = await s.repos.tokens.find(lookupHash(token));
  const now = s.clock.now();
  if (!rec || rec.kind !== 'refresh' || rec.domainId !== c.domain.id || rec.clientId !== client.clientId) return INACTIVE;
  if (rec.revokedAt !== undefined || rec.expiresAt <= now || !client.active) return INACTIVE;
  const user = await s.repos.users.get(c.domain.id, rec.sub);
  if (!user?.active) return INACTIVE;
  return {
    active: true, token_type: 'refresh_token', scope: rec.scope, client_id: rec.clientId, sub: rec.sub, sub_type: rec.subType, user_id: rec.sub,
    iat: Math.floor(rec.issuedAt / 1000), exp: Math.floor(rec.expiresAt / 1000), iss: c.issuer,
  };
}
