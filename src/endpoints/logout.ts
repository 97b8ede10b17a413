import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { safeEqual } from '../crypto/secrets.js';
import { endSession, sessionOf } from '../http/browser_session.js';
import { ctx } from '../http/context.js';
import { FormBody } from '../http/form.js';
import type { Services } from '../http/services.js';
import { singleParams } from '../authorize/request.js';
import { verifyIdTokenHint } from '../tokens/id_token.js';
import { errorPage } from '../ui/html.js';
import { logoutConfirmPage, messagePage } from '../ui/pages.js';

/**
 * GET|POST /oauth2/v1/userlogout: OpenID Connect RP-Initiated Logout 1.0. The post-logout redirect
 * URI must exactly match one registered for the client named by id_token_hint or client_id (never an
 * open redirector, checklist RU-5). Without a hint for the signed-in user, the user confirms first,
 * so a cross-site link cannot sign anyone out.
 */
export function logoutEndpoint(app: FastifyInstance, s: Services): void {
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const c = ctx(req);
    const raw = req.method === 'POST' ? (req.body instanceof FormBody ? req.body.values : {}) : (req.query ?? {}) as Record<string, unknown>;
    const { params, repeated } = singleParams(raw as Record<string, unknown>);
    if (repeated.length > 0) return errorPage(reply, 400, 'Invalid request', 'A parameter was sent more than once.');
    const hint = params.id_token_hint ? await verifyIdTokenHint(s.keys, c.domain, c.issuer, params.id_token_hint, s.clock) : undefined;
    if (params.id_token_hint && !hint) return errorPage(reply, 400, 'Invalid request', 'The id_token_hint is not valid.');
    let clientId = params.client_id;
    if (hint) {
      // §2: client_id, when sent with a hint, must be one of the hint's audiences.
      if (clientId && !hint.aud.includes(clientId)) return errorPage(reply, 400, 'Invalid request', 'client_id does not match the id_token_hint.');
      clientId ??= hint.aud[0];
    }
    let redirect: string | undefined;
    if (params.post_logout_redirect_uri) {
      const client = clientId && clientId.length <= 200 ? await s.catalogs.client(c.domain.id, clientId) : undefined;
      if (!client || !client.active || !client.postLogoutRedirectUris.includes(params.post_logout_redirect_uri)) {
        return errorPage(reply, 400, 'Invalid request', 'The post-logout redirect URI is not registered for this application.');
      }
      redirect = params.post_logout_redirect_uri;
    }
    const session = await sessionOf(s, c, req);
    if (session) {
      const csrf = s.masterKey.hmac('logout', session.hash).toString('base64url');
      const confirmed = req.method === 'POST' && typeof params.csrf === 'string' && safeEqual(params.csrf, csrf) && params.confirm === 'yes';
      const hinted = hint !== undefined && hint.sub === session.userId;
      if (!confirmed && !hinted) {
        const fields: Record<string, string> = {};
        for (const k of ['id_token_hint', 'post_logout_redirect_uri', 'state', 'client_id']) if (params[k]) fields[k] = params[k]!;
        return logoutConfirmPage(reply, { action: `${c.issuer}/oauth2/v1/userlogout`, csrf, fields });
      }
    }
    await endSession(s, reply, c, session);
    if (session) s.events.emit({ eventId: 'user.logout', outcome: 'success', domainId: c.domain.id, actorType: 'user', actorId: session.userId, clientIp: req.ip, details: { client_id: clientId } });
    if (redirect) {
      const target = params.state ? `${redirect}${redirect.includes('?') ? '&' : '?'}${new URLSearchParams({ state: params.state })}` : redirect;
      return reply.status(req.method === 'POST' ? 303 : 302).header('cache-control', 'no-store').header('location', target).send();
    }
    return messagePage(reply, 'Signed out', 'You are signed out. You can close this window.');
  };
  app.get('/oauth2/v1/userlogout', handler);
  app.post('/oauth2/v1/userlogout', handler);
}
