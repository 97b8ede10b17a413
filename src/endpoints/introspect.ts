import type { FastifyInstance } from 'fastify';
import { InvalidClient, InvalidRequest } from '../core/errors.js';
import { ctx, noStore } from '../http/context.js';
import { formParams } from '../http/form.js';
import type { Services } from '../http/services.js';
import { authenticate } from './token.js';

/** POST /oauth2/v1/introspect: RFC 7662. */
export function introspectEndpoint(app: FastifyInstance, s: Services): void {
  app.post('/oauth2/v1/introspect', async (req, reply) => {
    noStore(reply);
    const params = formParams(req.body);
    // RFC 7662 §2.1: the caller must be authorized; a public client cannot prove who it is.
    const { client, method } = await authenticate(s, req, { authorization: req.headers.authorization, params });
    if (method === 'none') throw new InvalidClient('introspection requires client authentication');
    const token = params.token;
    if (!token) throw new InvalidRequest('token is required');
    const c = ctx(req);
    const v = await s.validator.validate(c.domain, c.issuer, token);
    // RFC 7662 §2.2: inactive, and also not ours to see: a token is shown to the client it was
    // issued to and to resource servers in its audience; anyone else learns only active:false.
    const visible = v && (v.clientId === client.clientId || (client.isOAuthResource && client.audience !== undefined && v.aud.includes(client.audience)));
    if (!v || !visible) return { active: false };
    const out: Record<string, unknown> = {
      active: true, scope: v.scope, client_id: v.clientId, token_type: 'Bearer', exp: v.exp, iat: v.iat,
      sub: v.sub, sub_type: v.subType, aud: v.aud.length === 1 ? v.aud[0] : v.aud, iss: c.issuer, jti: v.jti,
    };
    if (v.userId) out.user_id = v.userId;
    return out;
  });
}
