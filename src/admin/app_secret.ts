/**
 * POST ISSUER/admin/v1/AppClientSecretRegenerator (Oracle identity domains' action of that name): a new
 * client secret for a confidential app, returned in this response only; the old one stops working at once.
 */
import type { FastifyInstance } from 'fastify';
import { secretAad } from '../clientauth/assertion.js';
import { newSecret } from '../core/ids.js';
import { usesSecret, type AppRecord } from '../core/types.js';
import { hashSecret } from '../crypto/secrets.js';
import type { Services } from '../http/services.js';
import { ScimError } from '../scim/errors.js';
import { requireScope } from './auth.js';
import { assertMayManage } from './guard.js';
import { PERMISSIONS } from './permissions.js';
import { iso, storeError } from './resource.js';
import { actionBody } from './self.js';

export const APP_CLIENT_SECRET_REGENERATOR_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:AppClientSecretRegenerator';
const MAX_ID = 128;

export function appClientSecretRegeneratorRoutes(app: FastifyInstance, s: Services): void {
  app.post('/AppClientSecretRegenerator', async (req, reply) => {
    requireScope(req, PERMISSIONS.AppClientSecretRegenerator.write);
    const b = actionBody(req.body, APP_CLIENT_SECRET_REGENERATOR_SCHEMA, ['appId']);
    const appId = b.get('appid');
    if (typeof appId !== 'string' || appId === '' || appId.length > MAX_ID) throw new ScimError(400, 'invalidValue', 'appId must name the app whose secret is replaced');
    const c = req.tessera;
    // Only apps of this domain: another domain's id is as unknown here as a made-up one.
    const existing = await s.repos.apps.get(c.domain.id, appId);
    if (!existing) throw new ScimError(404, undefined, 'no such app');
    if (existing.isBuiltIn) throw new ScimError(400, 'mutability', 'a built-in app\'s credentials cannot be changed');
    if (!existing.isOAuthClient || !existing.clientId || existing.clientType !== 'confidential' || !usesSecret(existing.tokenEndpointAuthMethod)) {
      throw new ScimError(400, 'invalidValue', `the app does not authenticate with a client secret (tokenEndpointAuthMethod ${existing.tokenEndpointAuthMethod})`);
    }
    // The secret is the client's credential: whoever sets it can act as the client, so only a caller holding
    // every admin scope the client holds may (as for changing its keys, guard.ts).
    const caller = req.adminCaller!;
    assertMayManage(caller, await s.catalogs.catalog(c.domain, { fresh: true }), existing);
    const secret = newSecret();
    const next: AppRecord = { ...existing, secretHash: hashSecret(s.masterKey, secret), updatedAt: s.clock.now() };
    // client_secret_jwt verifies an HMAC keyed with the raw secret: it is kept encrypted at rest, under the app's AAD.
    // An app that kept one from an earlier client_secret_jwt setting gets the new secret there too, never the old.
    if (existing.tokenEndpointAuthMethod === 'client_secret_jwt' || existing.secretEnc) next.secretEnc = s.masterKey.encrypt(secret, secretAad(next));
    const saved = await s.repos.apps.update(next, existing.version).catch((e: unknown) => storeError(e, false));
    // Every node drops its cached copy of the client, so the old secret fails on the next request.
    s.catalogs.invalidate(c.domain.id);
    s.events.emit({
      eventId: 'client.secret_regenerated', outcome: 'success', domainId: c.domain.id, actorType: caller.actorType, actorId: caller.actorId,
      clientIp: req.ip, targetType: 'App', targetId: existing.id, details: { client_id: existing.clientId },
    });
    return reply.status(201).type('application/scim+json').send({
      schemas: [APP_CLIENT_SECRET_REGENERATOR_SCHEMA], appId: existing.id, clientId: existing.clientId,
      clientSecret: secret, // shown once, in this response only
      meta: { resourceType: 'AppClientSecretRegenerator', created: iso(saved.updatedAt), location: `${c.endpoints.admin}/Apps/${existing.id}` },
    });
  });
}
