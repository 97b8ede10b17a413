import type { FastifyInstance } from 'fastify';
import { InvalidRequest, OAuthError } from '../core/errors.js';
import { lookupHash } from '../crypto/secrets.js';
import { ctx, noStore } from '../http/context.js';
import { formParams } from '../http/form.js';
import type { Services } from '../http/services.js';
import { revokeGrant } from '../identity/revocation.js';
import { decodeJwt, verifySignature } from '../tokens/jwt.js';
import { authenticate } from '../http/client_auth.js';

const notYours = () => new OAuthError('unauthorized_client', 'the token was not issued to this client', 403);

/**
 * POST /oauth2/v1/revoke: RFC 7009. Unknown or invalid tokens get 200 (§2.2); another client's token
 * is refused (§2.1; 403 as in Axway). Store failures surface as 503, never as a false 200.
 */
export function revokeEndpoint(app: FastifyInstance, s: Services): void {
  app.post('/oauth2/v1/revoke', async (req, reply) => {
    noStore(reply);
    const params = formParams(req.body);
    const { client } = await authenticate(s, req, { authorization: req.headers.authorization, params });
    const token = params.token;
    if (!token) throw new InvalidRequest('token is required');
    if (token.length > 8192) return reply.status(200).send();
    const c = ctx(req);
    const now = s.clock.now();
    const audit = (jti: string, kind: string) => s.events.emit({
      eventId: 'token.revoked', outcome: 'success', domainId: c.domain.id, actorType: 'client', actorId: client.clientId,
      clientIp: req.ip, targetType: kind, targetId: jti,
    });

    if (!token.includes('.')) {
      const rec = await s.repos.tokens.find(lookupHash(token));
      if (!rec || rec.domainId !== c.domain.id) return reply.status(200).send();
      if (rec.clientId !== client.clientId) throw notYours();
      await s.repos.tokens.revoke(rec.hash, now);
      // Tokens exchanged from an opaque access token name its jti (RFC 8693 cascade, tokens/act.ts): listed until it would have expired.
      if (rec.kind === 'access') await s.repos.revocations.revokeJti(c.domain.id, rec.jti, rec.expiresAt);
      // Revoking a refresh token revokes every token of its grant, JWT access tokens included (Axway; RFC 7009 §2.1 MAY).
      if (rec.kind === 'refresh' && rec.grantId) await revokeGrant(s.repos, c.domain.id, rec.grantId, now);
      audit(rec.jti, rec.kind === 'refresh' ? 'refresh_token' : 'access_token');
      return reply.status(200).send();
    }

    const d = decodeJwt(token);
    if (!d || d.header.typ !== 'at+jwt' || typeof d.header.kid !== 'string') return reply.status(200).send();
    const key = await s.keys.verificationKey(c.domain.id, d.header.kid);
    if (!key || !verifySignature(d, key)) return reply.status(200).send();
    const { jti, exp, client_id: owner, iss } = d.payload;
    if (iss !== c.issuer || typeof jti !== 'string' || typeof exp !== 'number' || exp * 1000 <= now) return reply.status(200).send();
    if (owner !== client.clientId) throw notYours();
    await s.repos.revocations.revokeJti(c.domain.id, jti, exp * 1000);
    audit(jti, 'access_token');
    return reply.status(200).send();
  });
}
