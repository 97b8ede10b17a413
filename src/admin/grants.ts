import { newId } from '../core/ids.js';
import { GRANT_MECHANISMS, type AppRecord, type GranteeType, type GrantRecord } from '../core/types.js';
import { isBuiltinClient } from '../identity/builtins.js';
import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';
import { ScimError } from '../scim/errors.js';
import { GrantSchema } from '../scim/resources.js';
import { Conflict } from '../storage/ports.js';
import type { AdminCaller } from './auth.js';
import { adminScopesOf, assertNoEscalation } from './guard.js';
import { compact, meta, type ResourceType, type Scim } from './resource.js';

interface GrantView { names: Map<string, string>; grantees: Map<string, string> }

/** Display names of the user and group grantees of `grants` (`Type:id` -> name), loaded in two queries. */
export async function granteeNames(s: Services, domainId: string, grants: readonly GrantRecord[]): Promise<Map<string, string>> {
  const ids = (t: string) => grants.filter((g) => g.granteeType === t).map((g) => g.granteeId);
  const [users, groups] = await Promise.all([s.repos.users.getMany(domainId, ids('User')), s.repos.groups.getMany(domainId, ids('Group'))]);
  const out = new Map<string, string>();
  for (const u of users) out.set(`User:${u.id}`, typeof u.attributes.displayName === 'string' ? u.attributes.displayName : u.userName);
  for (const g of groups) out.set(`Group:${g.id}`, g.displayName);
  return out;
}

/** Grants assign an AppRole to an App, a User or a Group (Oracle `grant_approles_to_groups`). Immutable once made. */
export class GrantsResource implements ResourceType<GrantRecord, GrantView> {
  readonly name = 'Grants' as const;
  readonly resourceType = 'Grant';
  readonly schema = GrantSchema;
  constructor(private s: Services) {}

  async view(c: DomainContext): Promise<GrantView> {
    const [apps, grants] = await Promise.all([this.s.repos.apps.list(c.domain.id), this.s.repos.grants.list(c.domain.id)]);
    return { names: new Map(apps.map((a) => [a.id, a.displayName])), grantees: await granteeNames(this.s, c.domain.id, grants) };
  }

  render(c: DomainContext, g: GrantRecord, view: GrantView): Scim {
    return compact({
      schemas: [GrantSchema.id], id: g.id,
      app: { value: g.appId, display: view.names.get(g.appId) },
      entitlement: { attributeName: 'appRoles', attributeValue: g.appRoleId },
      grantMechanism: g.mechanism,
      grantee: compact({
        value: g.granteeId, type: g.granteeType,
        display: g.granteeType === 'App' ? view.names.get(g.granteeId) : view.grantees.get(`${g.granteeType}:${g.granteeId}`),
      }),
      meta: meta(c, 'Grant', 'Grants', g),
    });
  }

  get(c: DomainContext, id: string) { return this.s.repos.grants.get(c.domain.id, id); }
  list(c: DomainContext) { return this.s.repos.grants.list(c.domain.id); }

  async create(c: DomainContext, b: Scim, caller: AdminCaller) {
    const appId = String((b.app as Scim | undefined)?.value ?? '');
    const ent = (b.entitlement ?? {}) as Scim;
    const grantee = (b.grantee ?? {}) as Scim;
    if (ent.attributeName !== 'appRoles') throw new ScimError(400, 'invalidValue', 'entitlement.attributeName must be "appRoles"');
    const roleId = String(ent.attributeValue ?? '');
    const type = grantee.type as GranteeType;
    const granteeId = String(grantee.value ?? '');
    if (!(type in GRANT_MECHANISMS)) throw new ScimError(400, 'invalidValue', 'grantee.type must be App, User or Group');
    if (b.grantMechanism !== GRANT_MECHANISMS[type]) {
      throw new ScimError(400, 'invalidValue', `grantMechanism must be ${GRANT_MECHANISMS[type]} for a grantee of type ${type}`);
    }
    const role = await this.s.repos.appRoles.get(c.domain.id, roleId);
    if (!role) throw new ScimError(400, 'invalidValue', `app role ${roleId.slice(0, 64)} does not exist`);
    if (role.appId !== appId) throw new ScimError(400, 'invalidValue', 'the app role does not belong to app.value');
    // The grantee must exist in this identity domain (ids never cross domains).
    const exists = type === 'App' ? await this.s.repos.apps.get(c.domain.id, granteeId)
      : type === 'User' ? await this.s.repos.users.get(c.domain.id, granteeId)
        : await this.s.repos.groups.get(c.domain.id, granteeId);
    if (!exists) throw new ScimError(400, 'invalidValue', `grantee ${type.toLowerCase()} ${granteeId.slice(0, 64)} does not exist`);
    if (type === 'App' && isBuiltinClient(exists as AppRecord)) throw new ScimError(400, 'mutability', 'the roles of the built-in console and account clients cannot be changed');
    const app = await this.s.repos.apps.get(c.domain.id, appId);
    if (app?.isBuiltIn) assertNoEscalation(caller, new Set(app.scopes.map((x) => x.value)), role.scopes);
    const now = this.s.clock.now();
    const rec: GrantRecord = {
      id: newId(), domainId: c.domain.id, appId, appRoleId: roleId, granteeType: type, granteeId, mechanism: GRANT_MECHANISMS[type],
      version: 1, createdAt: now, updatedAt: now,
    };
    try {
      await this.s.repos.grants.create(rec);
    } catch (e) {
      // The store's unique key (role, grantee): say what is taken, not which column.
      if (e instanceof Conflict) throw new ScimError(409, 'uniqueness', `app role ${role.displayName} is already granted to this ${type.toLowerCase()}`);
      throw e;
    }
    return { rec };
  }

  async remove(c: DomainContext, existing: GrantRecord, caller: AdminCaller) {
    if (existing.granteeType === 'App') {
      const grantee = await this.s.repos.apps.get(c.domain.id, existing.granteeId);
      if (grantee && isBuiltinClient(grantee)) throw new ScimError(400, 'mutability', 'the roles of the built-in console and account clients cannot be changed');
    }
    // Taking an admin role away needs the role's scopes, as giving it does (no locking administrators out).
    const cat = await this.s.catalogs.catalog(c.domain, { fresh: true });
    const role = cat.rolesById.get(existing.appRoleId);
    if (role && role.appId === cat.adminAppId) assertNoEscalation(caller, adminScopesOf(cat), role.scopes);
    if (!(await this.s.repos.grants.delete(c.domain.id, existing.id, existing.version))) throw new ScimError(412, undefined, 'the resource was modified');
  }
}
