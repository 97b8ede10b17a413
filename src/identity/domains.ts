import type { Clock } from '../core/clock.js';
import { newClientId, newId } from '../core/ids.js';
import { DEFAULT_DOMAIN, type AppRecord, type DomainRecord } from '../core/types.js';
import type { MasterKey } from '../crypto/masterkey.js';
import { hashSecret } from '../crypto/secrets.js';
import { Conflict, StaleVersion, type Repositories } from '../storage/ports.js';
import { ADMIN_APP_NAME, ADMIN_SCOPE_DEFS, BUILTIN_ROLES, IDENTITY_DOMAIN_ADMINISTRATOR } from './builtins.js';

// Domain names appear in URLs (/domains/NAME): keep them to a safe, case-stable alphabet.
export const DOMAIN_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function newApp(domainId: string, now: number, fields: Partial<AppRecord> & { displayName: string }): AppRecord {
  return {
    id: newId(), domainId, active: true, isBuiltIn: false, isOAuthClient: false, clientType: 'confidential',
    tokenEndpointAuthMethod: 'client_secret_basic', allowedGrants: [], redirectUris: [], postLogoutRedirectUris: [],
    allowedScopes: [], defaultScopes: [], isOAuthResource: false, scopes: [], accessTokenFormat: 'jwt', metadata: {},
    version: 1, createdAt: now, updatedAt: now, ...fields,
  };
}

export class DomainService {
  constructor(private repos: Repositories, private clock: Clock) {}

  /** Create a domain with its built-in identity domain API app and administrator roles. */
  async create(name: string, displayName = name): Promise<DomainRecord> {
    if (!DOMAIN_NAME.test(name)) throw new Error('domain names are 1-63 lower-case letters, digits and hyphens');
    const now = this.clock.now();
    const domain: DomainRecord = { id: newId(), name, displayName, settings: {}, createdAt: now, updatedAt: now };
    await this.repos.domains.create(domain);
    const admin = newApp(domain.id, now, {
      displayName: ADMIN_APP_NAME, description: 'The identity domain REST API (/admin/v1)', isBuiltIn: true,
      isOAuthResource: true, scopes: ADMIN_SCOPE_DEFS,
    });
    await this.repos.apps.create(admin);
    for (const r of BUILTIN_ROLES) {
      await this.repos.appRoles.create({
        id: newId(), domainId: domain.id, appId: admin.id, displayName: r.name, description: r.description, scopes: r.scopes,
        isBuiltIn: true, version: 1, createdAt: now, updatedAt: now,
      });
    }
    return domain;
  }

  /**
   * Brings a domain created by an older release up to the current built-ins: scopes added to the
   * identity domain API app and built-in roles added since. Idempotent; safe on several nodes.
   */
  async upgradeBuiltins(domain: DomainRecord): Promise<void> {
    const apps = await this.repos.apps.list(domain.id);
    const admin = apps.find((a) => a.isBuiltIn && a.isOAuthResource);
    if (!admin) return;
    const have = new Set(admin.scopes.map((x) => x.value));
    const missing = ADMIN_SCOPE_DEFS.filter((d) => !have.has(d.value));
    if (missing.length > 0) {
      try {
        await this.repos.apps.update({ ...admin, scopes: [...admin.scopes, ...missing], updatedAt: this.clock.now() }, admin.version);
      } catch (e) {
        // Another node upgraded it first; anything else (the store is down) is not ours to swallow.
        if (!(e instanceof StaleVersion)) throw e;
      }
    }
    const roles = new Set((await this.repos.appRoles.list(domain.id)).filter((r) => r.isBuiltIn).map((r) => r.displayName));
    for (const r of BUILTIN_ROLES) {
      if (roles.has(r.name)) continue;
      const now = this.clock.now();
      try {
        await this.repos.appRoles.create({
          id: newId(), domainId: domain.id, appId: admin.id, displayName: r.name, description: r.description, scopes: r.scopes,
          isBuiltIn: true, version: 1, createdAt: now, updatedAt: now,
        });
      } catch (e) {
        // Another node created it first.
        if (!(e instanceof Conflict)) throw e;
      }
    }
  }

  async ensureDefault(): Promise<DomainRecord> {
    const d = await this.repos.domains.getByName(DEFAULT_DOMAIN);
    if (d) return d;
    try {
      return await this.create(DEFAULT_DOMAIN, 'Default');
    } catch (e) {
      // Another node created it first.
      const again = await this.repos.domains.getByName(DEFAULT_DOMAIN);
      if (again) return again;
      throw e;
    }
  }

  /** A confidential client with a given secret, holding the given built-in role (bootstrap admin). */
  async upsertConfidentialClient(domain: DomainRecord, mk: MasterKey, clientId: string, secret: string, roleName = IDENTITY_DOMAIN_ADMINISTRATOR): Promise<AppRecord> {
    const now = this.clock.now();
    const existing = await this.repos.apps.getByClientId(domain.id, clientId);
    let app: AppRecord;
    if (existing) {
      app = await this.repos.apps.update({
        ...existing, active: true, isOAuthClient: true, clientType: 'confidential', secretHash: hashSecret(mk, secret),
        allowedGrants: [...new Set([...existing.allowedGrants, 'client_credentials'])],
        tokenEndpointAuthMethod: existing.tokenEndpointAuthMethod === 'client_secret_post' ? 'client_secret_post' : 'client_secret_basic',
        updatedAt: now,
      }, existing.version);
    } else {
      app = newApp(domain.id, now, {
        displayName: clientId, clientId, isOAuthClient: true, clientType: 'confidential', allowedGrants: ['client_credentials'],
        secretHash: hashSecret(mk, secret), description: 'Bootstrap administrator client (TESSERA_BOOTSTRAP_CLIENT_ID)',
      });
      await this.repos.apps.create(app);
    }
    const role = (await this.repos.appRoles.list(domain.id)).find((r) => r.isBuiltIn && r.displayName === roleName);
    if (!role) throw new Error(`built-in role ${roleName} is missing in domain ${domain.name}`);
    const grants = await this.repos.grants.listForGrantee(domain.id, 'App', app.id);
    if (!grants.some((g) => g.appRoleId === role.id)) {
      await this.repos.grants.create({
        id: newId(), domainId: domain.id, appId: role.appId, appRoleId: role.id, granteeType: 'App', granteeId: app.id,
        mechanism: 'ADMINISTRATOR_TO_APP', version: 1, createdAt: now, updatedAt: now,
      });
    }
    return app;
  }
}

export { newClientId };
