import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadClaimsExtra, OIDC_SCOPES, userClaims, type ClaimsExtraDeps } from '../../../src/identity/claims.js';
import type { DomainCatalog } from '../../../src/identity/catalog.js';
import type { AppRoleRecord, DomainRecord, GrantRecord } from '../../../src/core/types.js';
import type { MembershipView } from '../../../src/storage/ports.js';
import type { UserRecord } from '../../../src/storage/ports.js';

const UPDATED = Date.UTC(2025, 0, 31, 12, 0, 0, 750);

const user = (attributes: Record<string, unknown> = {}, o: Partial<UserRecord> = {}): UserRecord => ({
  id: 'u1', domainId: 'd1', userName: 'bjensen@example.com', active: true, attributes, passwordHistory: [],
  version: 1, createdAt: UPDATED - 1000, updatedAt: UPDATED, ...o,
});

const FULL = {
  name: { formatted: 'Ms. Barbara J Jensen, III', familyName: 'Jensen', givenName: 'Barbara', middleName: 'Jane', honorificPrefix: 'Ms.' },
  displayName: 'Babs Jensen',
  nickName: 'Babs',
  profileUrl: 'https://login.example.com/bjensen',
  emails: [
    { value: 'bjensen@home.example', type: 'home' },
    { value: 'bjensen@work.example', type: 'work', primary: true },
  ],
  phoneNumbers: [{ value: '+1 555 555 5555', type: 'work' }, { value: '+1 555 555 4444', type: 'mobile' }],
  addresses: [
    { type: 'home', streetAddress: '456 Hollywood Blvd', locality: 'Hollywood', region: 'CA', postalCode: '91608', country: 'US' },
    {
      type: 'work', streetAddress: '100 Universal City Plaza', locality: 'Hollywood', region: 'CA', postalCode: '91608', country: 'US',
      formatted: '100 Universal City Plaza\nHollywood, CA 91608 USA', primary: true,
    },
  ],
  photos: [{ value: 'https://photos.example.com/thumb.jpg', type: 'thumbnail' }, { value: 'https://photos.example.com/full.jpg', type: 'photo' }],
  locale: 'en-US',
  timezone: 'America/Los_Angeles',
  title: 'Tour Guide',
};

const scopes = (s: string) => new Set(s.split(' '));

describe('userClaims (OIDC Core §5.1, §5.4)', () => {
  test('profile maps the SCIM name, nickName, userName, profileUrl, photo, timezone, locale and updated_at (seconds)', () => {
    assert.deepEqual(userClaims(user(FULL), scopes('openid profile')), {
      name: 'Ms. Barbara J Jensen, III', given_name: 'Barbara', family_name: 'Jensen', middle_name: 'Jane', nickname: 'Babs',
      preferred_username: 'bjensen@example.com', profile: 'https://login.example.com/bjensen', picture: 'https://photos.example.com/full.jpg',
      zoneinfo: 'America/Los_Angeles', locale: 'en-US', updated_at: Math.floor(UPDATED / 1000),
    });
  });

  test('profile name falls back to displayName, then to the parts; absent values are omitted, never null', () => {
    assert.equal(userClaims(user({ displayName: 'Babs', name: { givenName: 'Barbara' } }), scopes('profile')).name, 'Babs');
    assert.equal(userClaims(user({ name: { givenName: 'Barbara', familyName: 'Jensen' } }), scopes('profile')).name, 'Barbara Jensen');
    const bare = userClaims(user(), scopes('profile'));
    assert.deepEqual(bare, { preferred_username: 'bjensen@example.com', updated_at: Math.floor(UPDATED / 1000) });
    for (const v of Object.values(userClaims(user({ nickName: '', name: { givenName: null } }), scopes('profile')))) assert.notEqual(v, null);
    assert.equal('nickname' in userClaims(user({ nickName: '  ' }), scopes('profile')), false);
  });

  test('profile passes on website, gender and birthdate when the user carries them', () => {
    const c = userClaims(user({ website: 'https://babs.example', gender: 'female', birthdate: '0000-10-31' }), scopes('profile'));
    assert.equal(c.website, 'https://babs.example');
    assert.equal(c.gender, 'female');
    assert.equal(c.birthdate, '0000-10-31');
  });

  test('picture: the only photo is used even if it is a thumbnail', () => {
    assert.equal(userClaims(user({ photos: [{ value: 'https://p.example/t.jpg', type: 'thumbnail' }] }), scopes('profile')).picture, 'https://p.example/t.jpg');
  });

  test('email: the primary address, email_verified false unless the entry says verified', () => {
    assert.deepEqual(userClaims(user(FULL), scopes('email')), { email: 'bjensen@work.example', email_verified: false });
    assert.deepEqual(userClaims(user({ emails: [{ value: 'a@x.example', verified: true }] }), scopes('email')), { email: 'a@x.example', email_verified: true });
    // "verified": "true" (a string) is not an affirmative verification.
    assert.equal(userClaims(user({ emails: [{ value: 'a@x.example', verified: 'true' }] }), scopes('email')).email_verified, false);
  });

  test('email without a primary takes the first entry that has a value; no email at all gives no claims', () => {
    assert.equal(userClaims(user({ emails: [{ type: 'work' }, { value: 'second@x.example' }, { value: 'third@x.example' }] }), scopes('email')).email, 'second@x.example');
    assert.deepEqual(userClaims(user(), scopes('email')), {});
    assert.deepEqual(userClaims(user({ emails: 'not-an-array' }), scopes('email')), {});
  });

  test('phone: the first number (no primary), phone_number_verified false unless stated', () => {
    assert.deepEqual(userClaims(user(FULL), scopes('phone')), { phone_number: '+1 555 555 5555', phone_number_verified: false });
    assert.deepEqual(userClaims(user({ phoneNumbers: [{ value: '+1', primary: false }, { value: '+2', primary: true, verified: true }] }), scopes('phone')),
      { phone_number: '+2', phone_number_verified: true });
  });

  test('address: the primary address as a §5.1.1 object with snake_case members', () => {
    assert.deepEqual(userClaims(user(FULL), scopes('address')), {
      address: {
        formatted: '100 Universal City Plaza\nHollywood, CA 91608 USA', street_address: '100 Universal City Plaza', locality: 'Hollywood',
        region: 'CA', postal_code: '91608', country: 'US',
      },
    });
    assert.deepEqual(userClaims(user({ addresses: [{ type: 'home' }, { locality: 'Paris' }] }), scopes('address')), { address: { locality: 'Paris' } });
    assert.deepEqual(userClaims(user({ addresses: [{ type: 'home' }] }), scopes('address')), {});
  });

  test('each scope yields only its own claims; openid and unknown scopes yield none', () => {
    assert.deepEqual(userClaims(user(FULL), scopes('openid offline_access urn:opc:idm:t.user.me')), {});
    const email = userClaims(user(FULL), scopes('email'));
    assert.deepEqual(Object.keys(email).sort(), ['email', 'email_verified']);
    const all = userClaims(user(FULL), scopes('profile email phone address'));
    assert.deepEqual(Object.keys(all).sort(), [
      'address', 'email', 'email_verified', 'family_name', 'given_name', 'locale', 'middle_name', 'name', 'nickname', 'phone_number',
      'phone_number_verified', 'picture', 'preferred_username', 'profile', 'updated_at', 'zoneinfo',
    ]);
    assert.equal('sub' in all, false);
  });

  const extra = {
    groups: [{ id: 'g1', name: 'Admins' }],
    approles: [{ id: 'r1', name: 'Reader', appId: 'a1' }],
  };
  const cases: [string, Record<string, unknown>][] = [
    ['groups', { groups: [{ id: 'g1', name: 'Admins' }] }],
    ['get_groups', { groups: [{ id: 'g1', name: 'Admins' }] }],
    ['approles', { approles: [{ id: 'r1', name: 'Reader', appId: 'a1' }] }],
    ['get_approles', { approles: [{ id: 'r1', name: 'Reader', appId: 'a1' }] }],
    ['groups approles', { groups: [{ id: 'g1', name: 'Admins' }], approles: [{ id: 'r1', name: 'Reader', appId: 'a1' }] }],
    ['profile', { preferred_username: 'bjensen@example.com', updated_at: Math.floor(UPDATED / 1000) }],
  ];
  for (const [s, want] of cases) {
    test(`scope "${s}" with groups and app roles supplied yields ${Object.keys(want).join(', ')}`, () => {
      assert.deepEqual(userClaims(user(), scopes(s), extra), want);
    });
  }

  test('groups/approles: an empty list is sent, a list the caller did not load is not', () => {
    assert.deepEqual(userClaims(user(), scopes('groups approles'), { groups: [], approles: [] }), { groups: [], approles: [] });
    assert.deepEqual(userClaims(user(), scopes('groups approles'), {}), {});
  });

  test('OIDC_SCOPES is the pass-through set', () => {
    assert.deepEqual([...OIDC_SCOPES].sort(), ['address', 'approles', 'email', 'get_approles', 'get_groups', 'groups', 'offline_access', 'openid', 'phone', 'profile']);
  });
});

describe('loadClaimsExtra', () => {
  const DOMAIN = { id: 'd1', name: 'd1' } as DomainRecord;
  const role = (id: string, name: string): AppRoleRecord => ({ id, domainId: 'd1', appId: `app-${id}`, displayName: name, scopes: [], isBuiltIn: false, version: 1, createdAt: 0, updatedAt: 0 });
  const grant = (granteeType: 'User' | 'Group', granteeId: string, appRoleId: string) => ({ granteeType, granteeId, appRoleId }) as GrantRecord;
  /** u1 is in g1, g1 is in g2; u1 holds r1 directly, g2 holds r2; r-gone was granted but the role no longer exists. */
  const fake = () => {
    const calls: string[] = [];
    const memberships: Record<string, MembershipView[]> = { 'User:u1': [{ groupId: 'g1', displayName: 'Guides' }], 'Group:g1': [{ groupId: 'g2', displayName: 'Staff' }] };
    const grants = [grant('User', 'u1', 'r1'), grant('Group', 'g2', 'r2'), grant('User', 'u1', 'r-gone')];
    const deps: ClaimsExtraDeps = {
      repos: {
        groups: {
          groupsOf: async (_d: string, type: string, ids: readonly string[]) => {
            calls.push(`groupsOf:${type}`);
            return new Map(ids.map((id) => [id, memberships[`${type}:${id}`] ?? []]));
          },
        } as never,
        grants: {
          listForGrantee: async (_d: string, type: string, id: string) => { calls.push('grants'); return grants.filter((g) => g.granteeType === type && g.granteeId === id); },
        } as never,
      },
      catalogs: { catalog: async () => { calls.push('catalog'); return { rolesById: new Map([['r1', role('r1', 'Reader')], ['r2', role('r2', 'Writer')]]) } as DomainCatalog; } },
    };
    return { deps, calls };
  };

  test('direct groups only; app roles through direct and nested-group grants; a vanished role is left out', async () => {
    const { deps } = fake();
    const extra = await loadClaimsExtra(deps, DOMAIN, 'u1', scopes('openid groups approles'));
    assert.deepEqual(extra.groups, [{ id: 'g1', name: 'Guides' }]);
    assert.deepEqual(extra.approles?.sort((a, b) => a.id.localeCompare(b.id)), [{ id: 'r1', name: 'Reader', appId: 'app-r1' }, { id: 'r2', name: 'Writer', appId: 'app-r2' }]);
  });

  test('nothing is loaded when the scopes do not ask for groups or app roles', async () => {
    const { deps, calls } = fake();
    assert.deepEqual(await loadClaimsExtra(deps, DOMAIN, 'u1', scopes('openid profile email')), {});
    assert.deepEqual(calls, []);
    const g = fake();
    await loadClaimsExtra(g.deps, DOMAIN, 'u1', scopes('get_groups'));
    assert.deepEqual(g.calls, ['groupsOf:User']);
  });
});
