import { newId } from '../core/ids.js';
import type { AppRoleRecord, GrantRecord } from '../core/types.js';
import { isBuiltinClient } from '../identity/builtins.js';
import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';
import { ScimError } from '../scim/errors.js';
import { AppRoleSchema } from '../scim/resources.js';
import type { AdminCaller } from './auth.js';
import { adminScopesOf, assertNoEscalation } from './guard.js';
import { granteeNames } from './grants.js';
import { compact, meta, type ResourceType, type Scim } from './resource.js';

interface RoleView { appNames: Map<string, string>; adminAppId?: string; grants: GrantRecord[]; grantees: Map<string, string> }

export class AppRolesResource implements ResourceType<AppRoleRecord, RoleView> {
  readonly name = 'AppRoles' as const;
  readonly resourceType = 'AppRole';
  readonly schema = AppRoleSchema;
  constructor(private s: Services) {}

  async view(c: DomainContext): Promise<RoleView> {
    const [apps, grants] = await Promise.all([this.s.repos.apps.list(c.domain.id), this.s.repos.grants.list(c.domain.id)]);
    return {
      appNames: new Map(apps.map((a) => [a.id, a.displayName])), adminAppId: apps.find((a) => a.isBuiltIn && a.isOAuthResource)?.id, grants,
      grantees: await granteeNames(this.s, c.domain.id, grants),
    };
  }

  render(c: DomainContext, r: AppRoleRecord, view: RoleView): Scim {
    return compact({
      schemas: [AppRoleSchema.id], id: r.id, displayName: r.displayName, description: r.description, isBuiltIn: r.isBuiltIn,
      app: { value: r.appId, display: view.appNames.get(r.appId), $ref: `${c.endpoints.admin}/Apps/${r.appId}` },
      scopes: r.scopes.map((value) => ({ value })),
      // Apps, users and groups the role is granted to, with their display names.
      members: view.grants.filter((g) => g.appRoleId === r.id).map((g) => compact({
        value: g.granteeId, type: g.granteeType,
        display: g.granteeType === 'App' ? view.appNames.get(g.granteeId) : view.grantees.get(`${g.granteeType}:${g.granteeId}`),
      })),
      meta: meta(c, 'AppRole', 'AppRoles', r),
    });
  }

  get(c: DomainContext, id: string) { return this.s.repos.appRoles.get(c.domain.id, id); }
  list(c: DomainContext) { return this.s.repos.appRoles.list(c.domain.id); }

  /** A role's scopes must be defined by the app it belongs to; admin-API scopes only from a caller holding them. */
  private async check(c: DomainContext, appId: string, scopes: string[], caller: AdminCaller, previous: string[] = []) {
    const app = await this.s.repos.apps.get(c.domain.id, appId);
    if (!app) throw new ScimError(400, 'invalidValue', `app ${appId.slice(0, 64)} does not exist`);
    if (isBuiltinClient(app)) throw new ScimError(400, 'mutability', 'the built-in console and account clients cannot have app roles');
    const defined = new Set(app.scopes.map((x) => x.value));
    for (const sc of scopes) if (!defined.has(sc)) throw new ScimError(400, 'invalidValue', `scope ${sc} is not defined by app ${app.displayName}`);
    if (new Set(scopes).size !== scopes.length) throw new ScimError(400, 'invalidValue', 'a scope is listed twice');
    if (app.isBuiltIn) assertNoEscalation(caller, defined, scopes.filter((x) => !previous.includes(x)));
  }

  /**
   * RFC 7643 §2.1 / §7: displayName is not caseExact and its uniqueness is "server", so two roles
   * may not differ in case only. (The store's constraint is case-sensitive; role scopes
   * `urn:opc:idm:role.NAME` are looked up case-insensitively, where a case variant would shadow the
   * real role, e.g. a custom "identity domain administrator".)
   */
  private async checkUniqueName(c: DomainContext, name: string, selfId?: string) {
    const lower = name.toLowerCase();
    const clash = (await this.s.repos.appRoles.list(c.domain.id)).some((r) => r.id !== selfId && r.displayName.toLowerCase() === lower);
    if (clash) throw new ScimError(409, 'uniqueness', 'displayName is already in use');
  }

  private scopesOf(b: Scim): string[] {
    return Array.isArray(b.scopes) ? (b.scopes as Scim[]).map((x) => String(x.value ?? '')) : [];
  }

  async create(c: DomainContext, b: Scim, caller: AdminCaller) {
    const appId = String((b.app as Scim | undefined)?.value ?? '');
    const scopes = this.scopesOf(b);
    await this.check(c, appId, scopes, caller);
    await this.checkUniqueName(c, String(b.displayName));
    const now = this.s.clock.now();
    const rec: AppRoleRecord = {
      id: newId(), domainId: c.domain.id, appId, displayName: String(b.displayName), description: typeof b.description === 'string' ? b.description : undefined,
      scopes, isBuiltIn: false, version: 1, createdAt: now, updatedAt: now,
    };
    await this.s.repos.appRoles.create(rec);
    return { rec };
  }

  async replace(c: DomainContext, existing: AppRoleRecord, b: Scim, caller: AdminCaller) {
    if (existing.isBuiltIn) throw new ScimError(400, 'mutability', 'built-in roles cannot be modified');
    const appId = String((b.app as Scim | undefined)?.value ?? existing.appId);
    if (appId !== existing.appId) throw new ScimError(400, 'mutability', 'app is immutable');
    await this.assertMayManage(c, existing, caller);
    const scopes = this.scopesOf(b);
    await this.check(c, appId, scopes, caller, existing.scopes);
    await this.checkUniqueName(c, String(b.displayName), existing.id);
    return this.s.repos.appRoles.update({
      ...existing, displayName: String(b.displayName), description: typeof b.description === 'string' ? b.description : undefined,
      scopes, updatedAt: this.s.clock.now(),
    }, existing.version);
  }

  /** Changing or deleting a role of the identity domain API needs every admin scope it carries. */
  private async assertMayManage(c: DomainContext, role: AppRoleRecord, caller: AdminCaller) {
    const cat = await this.s.catalogs.catalog(c.domain, { fresh: true });
    if (role.appId === cat.adminAppId) assertNoEscalation(caller, adminScopesOf(cat), role.scopes);
  }

  async remove(c: DomainContext, existing: AppRoleRecord, caller: AdminCaller) {
    if (existing.isBuiltIn) throw new ScimError(400, 'mutability', 'built-in roles cannot be deleted');
    await this.assertMayManage(c, existing, caller);
    if (!(await this.s.repos.appRoles.delete(c.domain.id, existing.id, existing.version))) throw new ScimError(412, undefined, 'the resource was modified');
  }
}
