import type { Clock } from '../core/clock.js';
import { newClientId, newId } from '../core/ids.js';
import { DEFAULT_DOMAIN, type AppRecord, type DomainRecord } from '../core/types.js';
import type { MasterKey } from '../crypto/masterkey.js';
import { hashSecret } from '../crypto/secrets.js';
import { Conflict, StaleVersion, type Repositories } from '../storage/ports.js';
import { ADMIN_APP_NAME, ADMIN_SCOPE_DEFS, BUILTIN_CLIENTS, BUILTIN_ROLES, IDENTITY_DOMAIN_ADMINISTRATOR, type BuiltinClientDef } from './builtins.js';

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
  /** `issuerOf` gives the browser apps' redirect URIs; without it (unit tests) the built-in clients are not managed. */
  constructor(private repos: Repositories, private clock: Clock, private issuerOf?: (d: Pick<DomainRecord, 'name'>) => string) {}

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
    await this.ensureBuiltinClients(domain);
    return domain;
  }

  /** The fields of a built-in browser-app client that nobody may change: brought back at every start. */
  private builtinClientFields(domain: DomainRecord, def: BuiltinClientDef): Partial<AppRecord> {
    const url = this.issuerOf!(domain) + def.path;
    return {
      displayName: def.name, description: def.description, active: true, isBuiltIn: true, isOAuthClient: true, clientId: def.clientId,
      clientType: 'public', tokenEndpointAuthMethod: 'none', allowedGrants: ['authorization_code'], redirectUris: [url],
      postLogoutRedirectUris: [url], allowedScopes: [], defaultScopes: [], isOAuthResource: false, scopes: [],
      pkceRequired: true, bypassConsent: false, allowOffline: false, allowUserAssertions: false, allowTokenExchangeImpersonation: false,
    };
  }

  /**
   * Creates or repairs the console and account clients of a domain and their role grants. Idempotent;
   * a lost race with another node (Conflict on create, StaleVersion on update) is fine, anything else throws.
   */
  async ensureBuiltinClients(domain: DomainRecord): Promise<void> {
    if (!this.issuerOf) return;
    const roles = (await this.repos.appRoles.list(domain.id)).filter((r) => r.isBuiltIn);
    for (const def of BUILTIN_CLIENTS) {
      const want = this.builtinClientFields(domain, def);
      let app = await this.repos.apps.getByClientId(domain.id, def.clientId);
      if (!app) {
        const created = newApp(domain.id, this.clock.now(), { ...want, displayName: def.name });
        try {
          await this.repos.apps.create(created);
          app = created;
        } catch (e) {
          if (!(e instanceof Conflict)) throw e;
          app = await this.repos.apps.getByClientId(domain.id, def.clientId);
          if (!app) throw e;
        }
      }
      const drift = (Object.keys(want) as (keyof AppRecord)[]).some((k) => JSON.stringify(app![k] ?? null) !== JSON.stringify(want[k] ?? null));
      if (drift) {
        try {
          app = await this.repos.apps.update({ ...app, ...want, updatedAt: this.clock.now() }, app.version);
        } catch (e) {
          if (!(e instanceof StaleVersion)) throw e;
        }
      }
      const granted = new Set((await this.repos.grants.listForGrantee(domain.id, 'App', app.id)).map((g) => g.appRoleId));
      for (const name of def.roles) {
        const role = roles.find((r) => r.displayName === name);
        if (!role || granted.has(role.id)) continue;
        const now = this.clock.now();
        try {
          await this.repos.grants.create({
            id: newId(), domainId: domain.id, appId: role.appId, appRoleId: role.id, granteeType: 'App', granteeId: app.id,
            mechanism: 'ADMINISTRATOR_TO_APP', version: 1, createdAt: now, updatedAt: now,
          });
        } catch (e) {
          if (!(e instanceof Conflict)) throw e;
        }
      }
    }
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
    await this.ensureBuiltinClients(domain);
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
    // The console and account clients are public on purpose: a bootstrap secret must not turn them into administrators.
    if (existing?.isBuiltIn) throw new Error(`${clientId} is a built-in client; choose another TESSERA_BOOTSTRAP_CLIENT_ID`);
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
