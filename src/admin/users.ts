import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';
import { PasswordPolicyViolation } from '../identity/passwords.js';
import type { NewUser } from '../identity/users.js';
import { ScimError } from '../scim/errors.js';
import type { ListQuery } from '../scim/query.js';
import { USER_SCHEMA_ID, UserSchema } from '../scim/resources.js';
import { filterToSql, sortToSql } from '../scim/sql.js';
import { USER_COLUMNS, type MembershipView, type UserRecord } from '../storage/ports.js';
import { compact, meta, type ResourceType, type Scim } from './resource.js';

/** A user with the groups it belongs to (RFC 7643 §4.1.2 `groups`, derived from memberships). */
export type UserView = UserRecord & { groups: MembershipView[] };

/** Attributes with a place of their own in the record; the rest of the resource is kept as given. */
const OWN = new Set(['schemas', 'id', 'meta', 'userName', 'externalId', 'active', 'password', 'groups']);
const MAX_USER_NAME = 256;

const withoutGroups = ({ groups: _groups, ...u }: UserView): UserRecord => u;

/** ISSUER/admin/v1/Users (RFC 7643 §4.1, RFC 7644 §3). Listing pages in SQL: a domain may hold 10^5+ users. */
export class UsersResource implements ResourceType<UserView, null> {
  readonly name = 'Users' as const;
  readonly resourceType = 'User';
  readonly schema = UserSchema;
  constructor(private s: Services) {}

  async view(): Promise<null> { return null; }

  render(c: DomainContext, u: UserView): Scim {
    const groups = u.groups.map((g) => ({ value: g.groupId, $ref: `${c.endpoints.admin}/Groups/${g.groupId}`, display: g.displayName, type: 'direct' }));
    return compact({
      schemas: [USER_SCHEMA_ID], id: u.id, externalId: u.externalId, userName: u.userName, ...u.attributes, active: u.active,
      groups: groups.length ? groups : undefined,
      meta: meta(c, 'User', 'Users', u),
    });
  }

  private async withGroups(c: DomainContext, users: UserRecord[]): Promise<UserView[]> {
    const of = await this.s.repos.groups.groupsOf(c.domain.id, 'User', users.map((u) => u.id));
    return users.map((u) => ({ ...u, groups: of.get(u.id) ?? [] }));
  }

  async get(c: DomainContext, id: string) {
    const u = await this.s.repos.users.get(c.domain.id, id);
    return u && (await this.withGroups(c, [u]))[0];
  }

  async query(c: DomainContext, q: ListQuery) {
    // RFC 7644 §3.4.2.2: only mapped attributes filter in SQL; others are 400 invalidFilter, never a scan.
    const { total, items } = await this.s.repos.users.query(c.domain.id, {
      where: q.filter ? filterToSql(q.filter, UserSchema, USER_COLUMNS) : undefined,
      order: sortToSql(q.sortBy, q.sortOrder === 'descending', UserSchema, USER_COLUMNS),
      offset: q.startIndex - 1, limit: q.count,
    });
    return { total, items: await this.withGroups(c, items) };
  }

  private input(b: Scim): NewUser {
    const userName = String(b.userName);
    // RFC 7643 §4.1.1: userName is REQUIRED and non-empty; bounded so it can be a sign-in name.
    // eslint-disable-next-line no-control-regex -- control characters are what this refuses
    if (!userName.trim() || userName.length > MAX_USER_NAME || /[\u0000-\u001f\u007f]/.test(userName)) {
      throw new ScimError(400, 'invalidValue', `userName must be 1 to ${MAX_USER_NAME} characters without control characters`);
    }
    const attributes: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(b)) if (!OWN.has(k)) attributes[k] = v;
    const u: NewUser = { userName, active: b.active !== false, attributes };
    if (typeof b.externalId === 'string') u.externalId = b.externalId;
    if (typeof b.password === 'string') u.password = b.password;
    return u;
  }

  /** A policy violation is 400 invalidValue naming the rule (never the password). */
  private async passwordChecked<T>(f: () => Promise<T>): Promise<T> {
    try { return await f(); } catch (e) {
      if (e instanceof PasswordPolicyViolation) throw new ScimError(400, 'invalidValue', `password does not meet the password policy (${e.rule}): ${e.message}`);
      throw e;
    }
  }

  async create(c: DomainContext, b: Scim) {
    const input = this.input(b);
    const rec = await this.passwordChecked(() => this.s.users.create(c.domain, input));
    return { rec: { ...rec, groups: [] } };
  }

  async replace(c: DomainContext, existing: UserView, b: Scim) {
    // RFC 7644 §3.5.1: a PUT without `password` (it is never returned) leaves the password as it is.
    const input = this.input(b);
    const saved = await this.passwordChecked(() => this.s.users.update(c.domain, withoutGroups(existing), input));
    return { ...saved, groups: existing.groups };
  }

  async remove(c: DomainContext, existing: UserView) {
    if (!(await this.s.users.delete(c.domain, withoutGroups(existing), existing.version))) throw new ScimError(412, undefined, 'the resource was modified');
  }
}
