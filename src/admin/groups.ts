import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';
import { newId } from '../core/ids.js';
import { ScimError } from '../scim/errors.js';
import type { ListQuery } from '../scim/query.js';
import { GROUP_SCHEMA_ID, GroupSchema } from '../scim/resources.js';
import { filterToSql, sortToSql } from '../scim/sql.js';
import { GROUP_COLUMNS, type GroupMember, type GroupMemberView, type GroupRecord, type MemberType } from '../storage/ports.js';
import type { AdminCaller } from './auth.js';
import { assertMayManageGroup } from './guard.js';
import { compact, meta, type ResourceType, type Scim } from './resource.js';

export type GroupView = GroupRecord & { members: GroupMemberView[] };

const OWN = new Set(['schemas', 'id', 'meta', 'displayName', 'externalId', 'members']);
const MAX_MEMBERS_PER_WRITE = 10_000;
const bad = (detail: string) => new ScimError(400, 'invalidValue', detail);

/** Does the listing need `members`? Not when the client excluded them or asked only for others. */
function wantsMembers(q: ListQuery): boolean {
  if (q.attributes) return q.attributes.some((a) => /^(urn:ietf:params:scim:schemas:core:2\.0:group:)?members(\.|$)/i.test(a));
  return !q.excludedAttributes?.some((a) => /^(urn:ietf:params:scim:schemas:core:2\.0:group:)?members$/i.test(a));
}

/**
 * ISSUER/admin/v1/Groups (RFC 7643 §4.2). Members (users and groups of the same domain) are managed
 * here; a user's `groups` is derived from them. Nested groups are stored; a user's `groups` lists
 * direct memberships only.
 */
export class GroupsResource implements ResourceType<GroupView, null> {
  readonly name = 'Groups' as const;
  readonly resourceType = 'Group';
  readonly schema = GroupSchema;
  constructor(private s: Services) {}

  async view(): Promise<null> { return null; }

  render(c: DomainContext, g: GroupView): Scim {
    const members = g.members.map((m) => compact({
      value: m.id, type: m.type, display: m.display, $ref: `${c.endpoints.admin}/${m.type === 'User' ? 'Users' : 'Groups'}/${m.id}`,
    }));
    return compact({
      schemas: [GROUP_SCHEMA_ID], id: g.id, externalId: g.externalId, displayName: g.displayName, ...g.attributes,
      members: members.length ? members : undefined, meta: meta(c, 'Group', 'Groups', g),
    });
  }

  private async withMembers(c: DomainContext, groups: GroupRecord[], load = true): Promise<GroupView[]> {
    const m = load ? await this.s.repos.groups.members(c.domain.id, groups.map((g) => g.id)) : new Map<string, GroupMemberView[]>();
    return groups.map((g) => ({ ...g, members: m.get(g.id) ?? [] }));
  }

  async get(c: DomainContext, id: string) {
    const g = await this.s.repos.groups.get(c.domain.id, id);
    return g && (await this.withMembers(c, [g]))[0];
  }

  async query(c: DomainContext, q: ListQuery) {
    const { total, items } = await this.s.repos.groups.query(c.domain.id, {
      where: q.filter ? filterToSql(q.filter, GroupSchema, GROUP_COLUMNS) : undefined,
      order: sortToSql(q.sortBy, q.sortOrder === 'descending', GroupSchema, GROUP_COLUMNS),
      offset: q.startIndex - 1, limit: q.count,
    });
    return { total, items: await this.withMembers(c, items, wantsMembers(q)) };
  }

  /** Every member must be a user or group of this domain; `type`, when given, must be right. */
  private async members(c: DomainContext, b: Scim, selfId?: string): Promise<GroupMember[]> {
    const raw = Array.isArray(b.members) ? (b.members as Scim[]) : [];
    if (raw.length > MAX_MEMBERS_PER_WRITE) throw bad(`members: at most ${MAX_MEMBERS_PER_WRITE} per request`);
    const ids = raw.map((m) => String(m.value ?? ''));
    const [users, groups] = await Promise.all([this.s.repos.users.getMany(c.domain.id, ids), this.s.repos.groups.getMany(c.domain.id, ids)]);
    const userIds = new Set(users.map((u) => u.id));
    const groupIds = new Set(groups.map((g) => g.id));
    return raw.map((m, i) => {
      const id = ids[i]!;
      const given = m.type as MemberType | undefined;
      const type: MemberType | undefined = given ?? (userIds.has(id) ? 'User' : groupIds.has(id) ? 'Group' : undefined);
      if (!type || !(type === 'User' ? userIds : groupIds).has(id)) {
        throw bad(`members: no ${given ?? 'User or Group'} ${JSON.stringify(id.slice(0, 64))} in this identity domain`);
      }
      if (type === 'Group' && id === selfId) throw bad('members: a group cannot be a member of itself');
      return { type, id };
    });
  }

  private fields(b: Scim) {
    const displayName = String(b.displayName);
    if (!displayName.trim() || displayName.length > 256) throw bad('displayName must be 1 to 256 characters');
    const attributes: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(b)) if (!OWN.has(k)) attributes[k] = v;
    return { displayName, externalId: typeof b.externalId === 'string' ? b.externalId : undefined, attributes };
  }

  async create(c: DomainContext, b: Scim) {
    const f = this.fields(b);
    const members = await this.members(c, b);
    const now = this.s.clock.now();
    const rec: GroupRecord = { id: newId(), domainId: c.domain.id, displayName: f.displayName, attributes: f.attributes, version: 1, createdAt: now, updatedAt: now };
    if (f.externalId !== undefined) rec.externalId = f.externalId;
    await this.s.repos.groups.create(rec, members);
    return { rec: (await this.get(c, rec.id)) ?? { ...rec, members: [] } };
  }

  async replace(c: DomainContext, existing: GroupView, b: Scim, caller: AdminCaller) {
    // New members gain what the group gives, removed ones lose it: both need the group's admin scopes.
    await assertMayManageGroup(this.s, c, caller, existing.id);
    const f = this.fields(b);
    const members = await this.members(c, b, existing.id);
    const { members: _old, ...rec } = existing;
    const next: GroupRecord = { ...rec, displayName: f.displayName, attributes: f.attributes, updatedAt: this.s.clock.now() };
    if (f.externalId !== undefined) next.externalId = f.externalId;
    else delete next.externalId;
    const saved = await this.s.repos.groups.update(next, existing.version, members);
    return (await this.get(c, saved.id)) ?? { ...saved, members: [] };
  }

  async remove(c: DomainContext, existing: GroupView, caller: AdminCaller) {
    await assertMayManageGroup(this.s, c, caller, existing.id);
    if (!(await this.s.repos.groups.delete(c.domain.id, existing.id, existing.version))) throw new ScimError(412, undefined, 'the resource was modified');
    await this.s.repos.grants.deleteForGrantee(c.domain.id, 'Group', existing.id);
  }
}
