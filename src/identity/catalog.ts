import type { Clock } from '../core/clock.js';
import type { AppRecord, AppRoleRecord, DomainRecord, SigningAlg } from '../core/types.js';
import type { Repositories } from '../storage/ports.js';
import type { CacheChange } from '../cache/changes.js';
import type { InvalidatedCache } from '../cache/invalidation.js';

export interface ResourceServerInfo {
  appId: string;
  audience: string;
  tokenFormat: 'jwt' | 'opaque';
  signingAlg?: SigningAlg;
  accessTokenExpiry?: number;
  builtIn: boolean;
}

/** What a domain defines, cached per node: scopes -> resource servers, roles, and grants held by apps. */
export interface DomainCatalog {
  loadedAt: number;
  adminAppId: string;
  scopes: Map<string, ResourceServerInfo>;
  rolesById: Map<string, AppRoleRecord>;
  /** Lower-cased displayName -> role. */
  rolesByName: Map<string, AppRoleRecord>;
  /** App id -> ids of the roles granted to that app. */
  appRoleGrants: Map<string, Set<string>>;
  /** Scope -> its description (shown on the consent page). */
  scopeDescriptions: Map<string, string>;
}

export const adminAudience = (issuer: string): string => `${issuer}/admin/v1`;

interface Cached<T> { at: number; value: T }

/**
 * Per-node caches for the hot path (token endpoint, introspection): domains, client apps and each
 * domain's catalog. Writes through any node or process invalidate them at once (the change feed,
 * cache/invalidation.ts, calls `applyChange`); entries live at most `ttlMs()`, which is the cache TTL
 * while the feed is live and the shorter fallback TTL while it is not.
 */
export class Catalogs implements InvalidatedCache {
  private domains = new Map<string, Cached<DomainRecord | undefined>>();
  private catalogs = new Map<string, Cached<DomainCatalog>>();
  private clients = new Map<string, Cached<AppRecord | undefined>>();
  private loads = new Map<string, Promise<unknown>>();
  /**
   * Bumped by every invalidation: a load that began before it may have read what the change replaced,
   * so it answers its own callers but is not stored (else it would outlive the change by a whole TTL).
   */
  private epoch = 0;

  constructor(private repos: Repositories, private clock: Clock, private ttlMs: () => number, private issuerOf: (d: DomainRecord) => string) {}

  private fresh<T>(c: Cached<T> | undefined): c is Cached<T> { return c !== undefined && this.clock.now() - c.at < this.ttlMs(); }

  /** Coalesce concurrent loads of the same key; `store` runs only if nothing was invalidated meanwhile. */
  private once<T>(key: string, load: () => Promise<T>, store: (v: T, at: number) => void): Promise<T> {
    const p = this.loads.get(key) as Promise<T> | undefined;
    if (p) return p;
    const epoch = this.epoch;
    const q = load().then((v) => {
      if (this.epoch === epoch) store(v, this.clock.now());
      return v;
    }).finally(() => { if (this.loads.get(key) === q) this.loads.delete(key); });
    this.loads.set(key, q);
    return q;
  }

  private changed(): void {
    this.epoch++;
    // Later callers must not join a load that may have read the old state.
    this.loads.clear();
  }

  /** The cached domain if it is fresh, without touching the store (hot-path fast lane). */
  peekDomain(name: string): DomainRecord | undefined {
    const c = this.domains.get(name);
    return this.fresh(c) ? c.value : undefined;
  }

  async domainByName(name: string): Promise<DomainRecord | undefined> {
    const c = this.domains.get(name);
    if (this.fresh(c)) return c.value;
    return this.once(`d:${name}`, () => this.repos.domains.getByName(name), (value, at) => {
      if (this.domains.size > 10_000) this.domains.clear();
      this.domains.set(name, { at, value });
    });
  }

  async client(domainId: string, clientId: string): Promise<AppRecord | undefined> {
    // No client id of ours is this long or holds U+0000 (which PostgreSQL cannot even compare): unknown, without a query.
    if (clientId.length > 256 || clientId.includes('\0')) return undefined;
    const key = `${domainId}\0${clientId}`;
    const c = this.clients.get(key);
    if (this.fresh(c)) return c.value;
    return this.once(`c:${key}`, () => this.repos.apps.getByClientId(domainId, clientId), (value, at) => {
      if (this.clients.size > 100_000) this.clients.clear();
      this.clients.set(key, { at, value });
      // A client changed after this node loaded the domain's catalog must not find its roles and scopes in
      // the older catalog, even while change notifications are down: the catalog is read again at once.
      const cat = this.catalogs.get(domainId);
      if (value && cat && value.updatedAt >= cat.value.loadedAt) this.catalogs.delete(domainId);
    });
  }

  /**
   * The domain's catalog. `fresh`: read from the store now, whatever is cached. Admin writes validate and
   * authorize against it: a resource server or role created a moment ago through another worker or node
   * (whose change notification may still be on its way) must be known, and the no-escalation rule must see
   * the roles as they are, not as this process last heard of them.
   */
  async catalog(domain: DomainRecord, opts: { fresh?: boolean } = {}): Promise<DomainCatalog> {
    const c = this.catalogs.get(domain.id);
    if (!opts.fresh && this.fresh(c)) return c.value;
    const store = (value: DomainCatalog, at: number) => { this.catalogs.set(domain.id, { at, value }); };
    if (opts.fresh) {
      // Not joined with a load in flight: that one may have begun before the write this caller just made.
      const epoch = this.epoch;
      const value = await this.loadCatalog(domain);
      if (this.epoch === epoch) store(value, this.clock.now());
      return value;
    }
    return this.once(`k:${domain.id}`, () => this.loadCatalog(domain), store);
  }

  private async loadCatalog(domain: DomainRecord): Promise<DomainCatalog> {
    // loadedAt is when reading began: anything changed since may be missing from what was read.
    const started = this.clock.now();
    const [apps, roles, grants] = await Promise.all([
      this.repos.apps.list(domain.id), this.repos.appRoles.list(domain.id), this.repos.grants.list(domain.id),
    ]);
    return buildCatalog(apps, roles, grants.filter((g) => g.granteeType === 'App'), this.issuerOf(domain), started);
  }

  invalidate(domainId: string): void {
    this.changed();
    this.catalogs.delete(domainId);
    for (const k of this.clients.keys()) if (k.startsWith(`${domainId}\0`)) this.clients.delete(k);
  }
  invalidateDomains(): void { this.changed(); this.domains.clear(); }

  /** A write made anywhere (cache/changes.ts says what each kind covers). */
  applyChange(c: CacheChange): void {
    switch (c.kind) {
      case 'domain':
        this.changed();
        if (c.id !== undefined) this.domains.delete(c.id);
        for (const [name, e] of this.domains) if (e.value?.id === c.domainId) this.domains.delete(name);
        return;
      case 'app':
        this.changed();
        this.catalogs.delete(c.domainId);
        if (c.id !== undefined) this.clients.delete(`${c.domainId}\0${c.id}`);
        else for (const k of this.clients.keys()) if (k.startsWith(`${c.domainId}\0`)) this.clients.delete(k);
        return;
      case 'catalog':
        this.changed();
        this.catalogs.delete(c.domainId);
        return;
      case 'keys':
        return;
    }
  }

  flush(): void {
    this.changed();
    this.domains.clear();
    this.catalogs.clear();
    this.clients.clear();
  }
}

function buildCatalog(apps: AppRecord[], roles: AppRoleRecord[], appGrants: { granteeId: string; appRoleId: string }[], issuer: string, now: number): DomainCatalog {
  const scopes = new Map<string, ResourceServerInfo>();
  const scopeDescriptions = new Map<string, string>();
  let adminAppId = '';
  for (const a of apps) {
    if (!a.isOAuthResource) continue;
    if (a.isBuiltIn) adminAppId = a.id;
    // A disabled resource server grants nothing.
    if (!a.active) continue;
    const info: ResourceServerInfo = {
      appId: a.id, audience: a.isBuiltIn ? adminAudience(issuer) : (a.audience ?? a.id), tokenFormat: a.accessTokenFormat,
      signingAlg: a.accessTokenSigningAlg, accessTokenExpiry: a.accessTokenExpiry, builtIn: a.isBuiltIn,
    };
    for (const s of a.scopes) {
      scopes.set(s.value, info);
      if (s.description) scopeDescriptions.set(s.value, s.description);
    }
  }
  const rolesById = new Map(roles.map((r) => [r.id, r]));
  const rolesByName = new Map(roles.map((r) => [r.displayName.toLowerCase(), r]));
  const appRoleGrants = new Map<string, Set<string>>();
  for (const g of appGrants) {
    let set = appRoleGrants.get(g.granteeId);
    if (!set) appRoleGrants.set(g.granteeId, (set = new Set()));
    set.add(g.appRoleId);
  }
  return { loadedAt: now, adminAppId, scopes, rolesById, rolesByName, appRoleGrants, scopeDescriptions };
}
