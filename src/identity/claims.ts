/**
 * OpenID Connect claims about a user, from the SCIM User they are stored as (OIDC Core §5.1, §5.4).
 * Shared by the userinfo endpoint and ID tokens, so both say the same about a user.
 */
import type { DomainRecord } from '../core/types.js';
import type { Repositories, UserRecord } from '../storage/ports.js';
import type { Catalogs } from './catalog.js';
import { userRoleIds } from './user_roles.js';

/**
 * The scopes that ask for claims rather than for access to a resource server. The set lives with
 * scope resolution (which lets them pass through without a catalog lookup); re-exported here so
 * claim code need not know where.
 */
export { OIDC_SCOPES } from './scopes.js';

export interface ClaimsExtra {
  /** The groups the user belongs to directly. */
  groups?: { id: string; name: string }[];
  /** The app roles the user holds (directly or through groups). */
  approles?: { id: string; name: string; appId: string }[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A non-empty string, or undefined: OIDC Core §5.3.2 says to omit a claim with no value rather than send null or "". */
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

/**
 * RFC 7643 §2.4: of a multi-valued attribute, the value marked `primary` is the preferred one; without
 * one, the first. Only entries that `usable` accepts count (an email entry without a value is no email).
 */
function preferred(v: unknown, usable: (e: Json) => boolean): Json | undefined {
  if (!Array.isArray(v)) return undefined;
  const entries = v.filter((e): e is Json => isObject(e) && usable(e));
  return entries.find((e) => e.primary === true) ?? entries[0];
}

/** Set `k` only when the value is present: claims are omitted, never null (OIDC Core §5.3.2). */
function put(out: Json, k: string, v: unknown): void {
  if (v !== undefined) out[k] = v;
}

/** OIDC Core §5.4 `profile`: the §5.1 profile claims the SCIM User carries. */
function profileClaims(user: UserRecord, out: Json): void {
  const a = user.attributes;
  const name = isObject(a.name) ? a.name : {};
  const given = str(name.givenName);
  const middle = str(name.middleName);
  const family = str(name.familyName);
  // §5.1 `name`: the full name in displayable form. SCIM's name.formatted is exactly that; the
  // displayName is the next best; failing both, the parts in the order §5.1 lists them.
  const composed = [given, middle, family].filter(Boolean).join(' ');
  put(out, 'name', str(name.formatted) ?? str(a.displayName) ?? (composed || undefined));
  put(out, 'given_name', given);
  put(out, 'family_name', family);
  put(out, 'middle_name', middle);
  put(out, 'nickname', str(a.nickName));
  // §5.1: preferred_username is a shorthand the user is known by; the sign-in name is the one SCIM has.
  put(out, 'preferred_username', str(user.userName));
  put(out, 'profile', str(a.profileUrl));
  // §5.1 `picture` is a URL of a profile picture: a SCIM photo of type "photo" rather than a thumbnail when both exist.
  const photo = preferred(a.photos, (e) => str(e.value) !== undefined && e.type !== 'thumbnail')
    ?? preferred(a.photos, (e) => str(e.value) !== undefined);
  put(out, 'picture', str(photo?.value));
  // No SCIM core attribute holds these; an attribute of that name (an extension, an import) is passed on.
  put(out, 'website', str(a.website));
  put(out, 'gender', str(a.gender));
  put(out, 'birthdate', str(a.birthdate));
  // §5.1 zoneinfo is an IANA time zone name, which is what SCIM timezone holds (RFC 7643 §4.1.1).
  put(out, 'zoneinfo', str(a.timezone));
  put(out, 'locale', str(a.locale));
  // §5.1 updated_at: seconds since the epoch, a JSON number.
  out.updated_at = Math.floor(user.updatedAt / 1000);
}

/** OIDC Core §5.4 `email`. */
function emailClaims(user: UserRecord, out: Json): void {
  const e = preferred(user.attributes.emails, (x) => str(x.value) !== undefined);
  if (!e) return;
  out.email = e.value;
  // §5.1 email_verified: true only when the provider took affirmative steps to verify it; an
  // address an administrator or the user typed in is not verified.
  out.email_verified = e.verified === true;
}

/** OIDC Core §5.4 `phone`. */
function phoneClaims(user: UserRecord, out: Json): void {
  const p = preferred(user.attributes.phoneNumbers, (x) => str(x.value) !== undefined);
  if (!p) return;
  out.phone_number = p.value;
  out.phone_number_verified = p.verified === true;
}

const ADDRESS_FIELDS: [scim: string, oidc: string][] = [
  ['formatted', 'formatted'], ['streetAddress', 'street_address'], ['locality', 'locality'],
  ['region', 'region'], ['postalCode', 'postal_code'], ['country', 'country'],
];

/** OIDC Core §5.4 `address`: the preferred SCIM address as a §5.1.1 Address Claim. */
function addressClaims(user: UserRecord, out: Json): void {
  const has = (x: Json) => ADDRESS_FIELDS.some(([k]) => str(x[k]) !== undefined);
  const a = preferred(user.attributes.addresses, has);
  if (!a) return;
  const address: Json = {};
  for (const [scim, oidc] of ADDRESS_FIELDS) put(address, oidc, str(a[scim]));
  out.address = address;
}

/** Whether `scopes` ask for the groups claim (so a caller loads memberships only when needed). */
export const wantsGroups = (scopes: ReadonlySet<string>): boolean => scopes.has('groups') || scopes.has('get_groups');
/** Whether `scopes` ask for the approles claim. */
export const wantsAppRoles = (scopes: ReadonlySet<string>): boolean => scopes.has('approles') || scopes.has('get_approles');

/**
 * The claims `scopes` ask for about `user` (OIDC Core §5.4), plus the `groups` and `approles`
 * claims of the identity-domain scopes of the same names (`get_groups` / `get_approles` are
 * synonyms). Absent values are omitted. `sub` is not added: the caller knows the subject.
 */
export function userClaims(user: UserRecord, scopes: ReadonlySet<string>, extra: ClaimsExtra = {}): Record<string, unknown> {
  const out: Json = {};
  if (scopes.has('profile')) profileClaims(user, out);
  if (scopes.has('email')) emailClaims(user, out);
  if (scopes.has('address')) addressClaims(user, out);
  if (scopes.has('phone')) phoneClaims(user, out);
  // An empty list is a value (a member of no group), so it is sent; a list the caller did not load is not.
  if (wantsGroups(scopes) && extra.groups) out.groups = extra.groups.map((g) => ({ id: g.id, name: g.name }));
  if (wantsAppRoles(scopes) && extra.approles) out.approles = extra.approles.map((r) => ({ id: r.id, name: r.name, appId: r.appId }));
  return out;
}

export interface ClaimsExtraDeps {
  repos: Pick<Repositories, 'groups' | 'grants'>;
  catalogs: Pick<Catalogs, 'catalog'>;
}

/**
 * The groups and app roles of a user, loaded only when `scopes` ask for them (for userinfo, and for
 * an ID token that carries the claims itself, OIDC Core §5.4 response_type=id_token).
 */
export async function loadClaimsExtra(d: ClaimsExtraDeps, domain: DomainRecord, userId: string, scopes: ReadonlySet<string>, roleIds?: ReadonlySet<string>): Promise<ClaimsExtra> {
  const extra: ClaimsExtra = {};
  if (wantsGroups(scopes)) {
    const of = await d.repos.groups.groupsOf(domain.id, 'User', [userId]);
    extra.groups = (of.get(userId) ?? []).map((g) => ({ id: g.groupId, name: g.displayName }));
  }
  if (wantsAppRoles(scopes)) {
    // Direct, group and nested-group grants, as for scopes (identity/user_roles.ts).
    // A caller that resolved the user's roles for this request already passes them (looked up once per request).
    const [ids, cat] = await Promise.all([roleIds ?? userRoleIds(d.repos, domain.id, userId), d.catalogs.catalog(domain)]);
    extra.approles = [];
    for (const id of ids) {
      const r = cat.rolesById.get(id);
      if (r) extra.approles.push({ id: r.id, name: r.displayName, appId: r.appId });
    }
  }
  return extra;
}

/**
 * The claims of `scopes` about a user, read now: for userinfo, and for an ID token that carries them
 * itself (OIDC Core §5.4 response_type=id_token, or an app with `claimsInIdToken`). Undefined for a
 * user who is gone.
 */
export async function claimsOf(
  d: ClaimsExtraDeps & { repos: Pick<Repositories, 'users'> }, domain: DomainRecord, userId: string, scopes: ReadonlySet<string>, roleIds?: ReadonlySet<string>,
): Promise<Json | undefined> {
  const user = await d.repos.users.get(domain.id, userId);
  return user && userClaims(user, scopes, await loadClaimsExtra(d, domain, userId, scopes, roleIds));
}
