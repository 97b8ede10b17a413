import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../http/services.js';
import { toOAuthError } from '../http/errors.js';
import { ScimError, scimErrorBody } from '../scim/errors.js';
import { resourceTypeToScim, schemaToScim, serviceProviderConfig } from '../scim/schema.js';
import { ALL_RESOURCE_TYPES, ALL_SCHEMAS } from '../scim/resources.js';
import { AdminAuthError, authenticateAdmin } from './auth.js';
import { AppRolesResource } from './approles.js';
import { AppsResource } from './apps.js';
import { appClientSecretRegeneratorRoutes } from './app_secret.js';
import { AuditEventsResource } from './audit.js';
import { domainAdminRoutes } from './domains.js';
import { authenticationFactorsRemoverRoutes } from './factors.js';
import { GrantsResource } from './grants.js';
import { GroupsResource } from './groups.js';
import { meRoutes } from './me.js';
import { myFactorRoutes } from './my_factors.js';
import { sessionRoutes } from './sessions.js';
import { consentRoutes } from './consents.js';
import { TrustedIssuersResource } from './trusted_issuers.js';
import { UsersResource } from './users.js';
import { userLockedStateChangerRoutes } from './user_lock.js';
import { userPasswordChangerRoutes } from './user_password.js';
import { registerResource } from './resource.js';

const PUBLIC = new Set(['ServiceProviderConfig', 'ResourceTypes', 'Schemas']);

/** Errors in the SCIM shape (RFC 7644 §3.12), with the RFC 6750 challenge on 401/403; denials are audited. */
const scimErrorHandler = (s: Services) => (err: unknown, req: FastifyRequest, reply: FastifyReply): void => {
  let e: ScimError;
  if (err instanceof ScimError) e = err;
  else {
    const o = toOAuthError(err, req);
    const scimType = o.status === 400 && o.error === 'invalid_request' ? 'invalidSyntax' : undefined;
    e = new ScimError(o.status, scimType, o.status >= 500 ? o.description : o.description);
  }
  if (e instanceof AdminAuthError) {
    reply.header('www-authenticate', e.challenge);
  }
  if ((e.status === 401 || e.status === 403) && req.tessera) {
    const caller = req.adminCaller;
    s.events.emit({
      eventId: 'admin.access_denied', outcome: 'failure', domainId: req.tessera.domain.id, actorType: caller?.actorType, actorVerified: caller !== null && caller !== undefined,
      actorId: caller?.actorId, clientIp: req.ip, targetType: 'endpoint', targetId: `${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`,
      message: e.detail,
    });
  }
  void reply.status(e.status).type('application/scim+json').send(scimErrorBody(e));
};

/** The identity domain REST API, mounted at ISSUER/admin/v1. */
export function adminPlugin(s: Services) {
  return async (app: FastifyInstance) => {
    app.decorateRequest('adminCaller', null);
    const onError = scimErrorHandler(s);
    app.setErrorHandler(onError);
    app.setNotFoundHandler((req, reply) => onError(new ScimError(404, undefined, 'no such admin endpoint'), req, reply));
    app.addHook('onRequest', async (req) => {
      const first = req.url.split('?')[0]!.split('/admin/v1/')[1]?.split('/')[0] ?? '';
      if (PUBLIC.has(first)) return;
      req.adminCaller = await authenticateAdmin(s, req);
    });
    app.addHook('onSend', async (_req, reply) => { reply.header('cache-control', 'no-store'); });

    registerResource(app, s, new AppsResource(s));
    registerResource(app, s, new AppRolesResource(s));
    registerResource(app, s, new GrantsResource(s));
    registerResource(app, s, new AuditEventsResource(s));
    registerResource(app, s, new UsersResource(s));
    registerResource(app, s, new GroupsResource(s));
    registerResource(app, s, new TrustedIssuersResource(s));
    domainAdminRoutes(app, s);
    authenticationFactorsRemoverRoutes(app, s);
    meRoutes(app, s);
    sessionRoutes(app, s);
    myFactorRoutes(app, s);
    userLockedStateChangerRoutes(app, s);
    userPasswordChangerRoutes(app, s);
    appClientSecretRegeneratorRoutes(app, s);
    consentRoutes(app, s);

    // RFC 7644 §4: discovery of the service provider's configuration, resource types and schemas.
    app.get('/ServiceProviderConfig', async (req, reply) => {
      reply.type('application/scim+json');
      return serviceProviderConfig(req.tessera.endpoints.admin, { changePassword: false });
    });
    app.get('/ResourceTypes', async (req, reply) => {
      reply.type('application/scim+json');
      const all = ALL_RESOURCE_TYPES.map((rt) => resourceTypeToScim(rt, req.tessera.endpoints.admin));
      return { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: all.length, startIndex: 1, itemsPerPage: all.length, Resources: all };
    });
    app.get('/ResourceTypes/:id', async (req, reply) => {
      const rt = ALL_RESOURCE_TYPES.find((x) => x.id === (req.params as { id: string }).id);
      if (!rt) throw new ScimError(404, undefined, 'no such resource type');
      reply.type('application/scim+json');
      return resourceTypeToScim(rt, req.tessera.endpoints.admin);
    });
    app.get('/Schemas', async (req, reply) => {
      reply.type('application/scim+json');
      const all = ALL_SCHEMAS.map((x) => schemaToScim(x, req.tessera.endpoints.admin));
      return { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: all.length, startIndex: 1, itemsPerPage: all.length, Resources: all };
    });
    app.get('/Schemas/:id', async (req, reply) => {
      const sc = ALL_SCHEMAS.find((x) => x.id === (req.params as { id: string }).id);
      if (!sc) throw new ScimError(404, undefined, 'no such schema');
      reply.type('application/scim+json');
      return schemaToScim(sc, req.tessera.endpoints.admin);
    });
  };
}
