import type { FastifyInstance } from 'fastify';
import { UnauthorizedClient } from '../core/errors.js';
import { newId, newSecret } from '../core/ids.js';
import { GRANT_TYPES } from '../core/types.js';
import { lookupHash } from '../crypto/secrets.js';
import { checkDeviceScopes } from '../device/approval.js';
import { formatUserCode, newUserCode, userCodeHash } from '../device/user_code.js';
import { authenticate } from '../http/client_auth.js';
import { ctx, noStore } from '../http/context.js';
import { formParams } from '../http/form.js';
import type { Services } from '../http/services.js';
import { splitScope } from '../identity/scopes.js';
import { Conflict } from '../storage/ports.js';

/**
 * POST /oauth2/v1/device: the device authorization endpoint (RFC 8628 §3.1–3.2). The client
 * authenticates exactly as at the token endpoint (a public client with its client_id, §3.1), must be
 * allowed the device_code grant, and gets a device code to poll with and a user code for the person.
 */
export function deviceAuthorizationEndpoint(app: FastifyInstance, s: Services): void {
  app.post('/oauth2/v1/device', async (req, reply) => {
    noStore(reply);
    // RFC 6749 §3.1 (which §3.1 of RFC 8628 follows): a repeated parameter is invalid_request.
    const params = formParams(req.body);
    const c = ctx(req);
    const { client } = await authenticate(s, req, { authorization: req.headers.authorization, params });
    if (!client.allowedGrants.includes(GRANT_TYPES.deviceCode)) throw new UnauthorizedClient(`the client may not use ${GRANT_TYPES.deviceCode}`);
    // The scope is checked against what the client may ask for now; the user's roles narrow it at approval.
    const scopes = splitScope(params.scope);
    const cat = await s.catalogs.catalog(c.domain);
    checkDeviceScopes(cat, client, scopes);
    const now = s.clock.now();
    const deviceCode = newSecret();
    const interval = s.config.deviceCodeInterval;
    const ttl = s.config.deviceCodeTtl;
    // A user code clashing with a live one of the domain (unique constraint) is drawn again.
    for (let attempt = 0; ; attempt++) {
      const userCode = newUserCode();
      try {
        await s.repos.deviceCodes.create({
          deviceCodeHash: lookupHash(deviceCode), userCodeHash: userCodeHash(s.masterKey, userCode), domainId: c.domain.id, clientId: client.clientId!,
          grantId: newId(), scopes, interval, status: 'pending', createdAt: now, expiresAt: now + ttl * 1000,
        });
      } catch (e) {
        if (e instanceof Conflict && e.what === 'userCode' && attempt < 5) continue;
        throw e;
      }
      s.events.emit({
        eventId: 'device.authorization_requested', outcome: 'success', domainId: c.domain.id, actorType: 'client', actorId: client.clientId, clientIp: req.ip,
        details: { scope: scopes.join(' ') },
      });
      const verificationUri = `${c.issuer}/ui/v1/device`;
      const shown = formatUserCode(userCode);
      return {
        device_code: deviceCode, user_code: shown, verification_uri: verificationUri,
        verification_uri_complete: `${verificationUri}?${new URLSearchParams({ user_code: shown })}`, expires_in: ttl, interval,
      };
    }
  });
}
