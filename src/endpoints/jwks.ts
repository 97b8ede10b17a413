import type { FastifyInstance } from 'fastify';
import { JWKS_MAX_AGE_SECONDS } from '../config/schema.js';
import { InvalidToken } from '../core/errors.js';
import { ctx } from '../http/context.js';
import type { Services } from '../http/services.js';
import { bearerToken } from '../admin/auth.js';

/**
 * GET /admin/v1/SigningCert/jwk: the domain's public keys: active, next (published before it signs)
 * and retired (until their tokens expire). Public unless the domain or config says otherwise; then
 * any valid access token of the domain may read it (Oracle "Access signing certificate").
 */
export function jwksEndpoint(app: FastifyInstance, s: Services): void {
  app.get('/admin/v1/SigningCert/jwk', async (req, reply) => {
    const c = ctx(req);
    const isPublic = c.domain.settings.jwksPublic ?? s.config.jwksPublic;
    if (!isPublic) {
      const token = bearerToken(req.headers.authorization);
      const v = token ? await s.validator.validateAtResource(c.domain, c.issuer, token, s.clientCertificates.of(req).certificate?.thumbprint) : undefined;
      if (!v) {
        const e = new InvalidToken('a valid access token is required to read the signing keys');
        e.headers = { 'www-authenticate': `Bearer realm="${c.issuer}", error="invalid_token"` };
        throw e;
      }
    }
    // The publish delay of new keys (TESSERA_KEY_PUBLISH_DELAY_SECONDS) is derived from this max-age.
    reply.header('access-control-allow-origin', '*').header('cache-control', `${isPublic ? 'public' : 'private'}, max-age=${JWKS_MAX_AGE_SECONDS}`);
    return s.keys.jwks(c.domain.id);
  });
}
