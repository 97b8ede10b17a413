import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InvalidRequest, InvalidToken } from '../core/errors.js';
import { ctx, noStore } from '../http/context.js';
import { formParams, queryParams } from '../http/form.js';
import type { Services } from '../http/services.js';
import { currentScopes } from '../identity/token_scopes.js';

/**
 * GET|POST /oauth2/v1/tokeninfo (Axway "Access Token Information": GET in 7.5/7.6, POST in 7.7):
 * 200 {audience, client_id, user_id?, scope, expires_in} or 400 with an OAuth error.
 */
export function tokeninfoEndpoint(app: FastifyInstance, s: Services): void {
  const handler = async (req: FastifyRequest, params: Record<string, string>) => {
    const token = params.access_token;
    if (!token) throw new InvalidRequest('access_token is required');
    const c = ctx(req);
    const v = await s.validator.validate(c.domain, c.issuer, token);
    // As introspection: the scopes still held now; a token left with none is no longer valid.
    const scopes = v && (await currentScopes(s, c.domain, v));
    if (!v || !scopes || (scopes.length === 0 && v.scope !== '')) throw new InvalidToken('the access token is invalid, expired or revoked', 400);
    const out: Record<string, unknown> = {
      audience: v.aud.length === 1 ? v.aud[0] : v.aud, client_id: v.clientId, scope: scopes.join(' '),
      expires_in: Math.max(0, v.exp - Math.floor(s.clock.now() / 1000)),
    };
    if (v.userId) out.user_id = v.userId;
    return out;
  };
  app.get('/oauth2/v1/tokeninfo', async (req, reply) => { noStore(reply); return handler(req, queryParams(req.query)); });
  app.post('/oauth2/v1/tokeninfo', async (req, reply) => { noStore(reply); return handler(req, formParams(req.body)); });
}
