import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { migrate, openDatabase, type Database_ } from '../../src/storage/db.js';
import { kyselyRepositories } from '../../src/storage/kysely.js';
import { changeRecorder } from '../../src/cache/changes.js';
import { Conflict, StaleVersion, type Repositories } from '../../src/storage/ports.js';
import { newApp } from '../../src/identity/domains.js';
import type { DomainRecord, SigningKeyRecord, TokenRecord } from '../../src/core/types.js';
import { newId } from '../../src/core/ids.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from './pg.js';
import { GROUP_COLUMNS, USER_COLUMNS, type GroupRecord, type UserRecord } from '../../src/storage/ports.js';
import { filterToSql, sortToSql } from '../../src/scim/sql.js';
import { parseFilter } from '../../src/scim/filter.js';
import { GroupSchema, UserSchema } from '../../src/scim/resources.js';

/** One storage contract, run against every backend (DESIGN habit 7). */
function contract(name: string, open: () => Promise<{ db: Database_; cleanup: () => Promise<void> }>, skip: () => string | boolean = () => false) {
  describe(`storage contract: ${name}`, { skip: skip() === true ? false : skip() }, () => {
    let db: Database_;
    let cleanup: () => Promise<void>;
    let r: Repositories;
    let d: DomainRecord;
    let d2: DomainRecord;
    const now = Date.now();

    before(async () => {
      ({ db, cleanup } = await open());
      await migrate(db.db);
      r = kyselyRepositories(db.db, changeRecorder(db.dialect));
      d = { id: newId(), name: 'one', displayName: 'One', settings: { jwksPublic: false }, createdAt: now, updatedAt: now };
      d2 = { id: newId(), name: 'two', displayName: 'Two', settings: {}, createdAt: now, updatedAt: now };
      await r.domains.create(d);
      await r.domains.create(d2);
    });
    after(async () => { await db?.close(); await cleanup?.(); });

    test('migrations are idempotent: a second run applies nothing', async () => {
      assert.deepEqual(await migrate(db.db), []);
    });

    test('domains: round trip, unique name, lookup by name', async () => {
      assert.deepEqual(await r.domains.getByName('one'), d);
      assert.deepEqual(await r.domains.get(d.id), d);
      assert.equal(await r.domains.getByName('nope'), undefined);
      await assert.rejects(r.domains.create({ ...d, id: newId() }), (e: unknown) => e instanceof Conflict && e.what === 'name');
      assert.deepEqual((await r.domains.list()).map((x) => x.name), ['one', 'two']);
      await r.domains.updateSettings(d2.id, { jwksPublic: false, accessTokenTtl: 600 }, now + 5);
      const d2b = await r.domains.get(d2.id);
      assert.deepEqual(d2b?.settings, { jwksPublic: false, accessTokenTtl: 600 });
      assert.equal(d2b?.updatedAt, now + 5);
      assert.deepEqual((await r.domains.get(d.id))?.settings, d.settings, 'other domains untouched');
    });

    test('apps: round trip with JSON fields, client_id lookup scoped by domain', async () => {
      const a = newApp(d.id, now, { displayName: 'c1', isOAuthClient: true, clientId: 'cid-1', allowedGrants: ['client_credentials'],
        jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] }, metadata: { logo_uri: 'https://x/l.png' }, secretHash: 'h1$a$b' });
      await r.apps.create(a);
      assert.deepEqual(await r.apps.get(d.id, a.id), a);
      assert.deepEqual(await r.apps.getByClientId(d.id, 'cid-1'), a);
      assert.equal(await r.apps.getByClientId(d2.id, 'cid-1'), undefined, 'client ids do not cross domains');
      assert.equal(await r.apps.get(d2.id, a.id), undefined, 'ids do not cross domains');
      // the same client_id in another domain is fine
      await r.apps.create(newApp(d2.id, now, { displayName: 'c1', isOAuthClient: true, clientId: 'cid-1' }));
      await assert.rejects(r.apps.create(newApp(d.id, now, { displayName: 'dup', clientId: 'cid-1' })), (e: unknown) => e instanceof Conflict && e.what === 'name');
    });

    test('apps: scope values and audiences are unique per domain; update is optimistic', async () => {
      const rs = newApp(d.id, now, { displayName: 'rs', isOAuthResource: true, audience: 'https://rs', scopes: [{ value: 's.read' }, { value: 's.write' }] });
      await r.apps.create(rs);
      await assert.rejects(r.apps.create(newApp(d.id, now, { displayName: 'rs2', isOAuthResource: true, audience: 'https://rs2', scopes: [{ value: 's.read' }] })),
        (e: unknown) => e instanceof Conflict && e.what === 'scopes');
      await assert.rejects(r.apps.create(newApp(d.id, now, { displayName: 'rs3', isOAuthResource: true, audience: 'https://rs', scopes: [] })),
        (e: unknown) => e instanceof Conflict && e.what === 'audience');
      // another domain may reuse both
      await r.apps.create(newApp(d2.id, now, { displayName: 'rs', isOAuthResource: true, audience: 'https://rs', scopes: [{ value: 's.read' }] }));
      const updated = await r.apps.update({ ...rs, scopes: [{ value: 's.read' }] }, rs.version);
      assert.equal(updated.version, rs.version + 1);
      await assert.rejects(r.apps.update({ ...rs, displayName: 'stale' }, rs.version), StaleVersion);
      // the released scope can be claimed by another app now
      await r.apps.create(newApp(d.id, now, { displayName: 'rs4', isOAuthResource: true, audience: 'https://rs4', scopes: [{ value: 's.write' }] }));
      assert.equal(await r.apps.delete(d.id, rs.id, rs.version), false, 'stale delete refused');
      assert.equal(await r.apps.delete(d.id, rs.id, updated.version), true);
      assert.equal(await r.apps.get(d.id, rs.id), undefined);
    });

    test('roles and grants: unique names, cascade on app delete, grantee queries', async () => {
      const app = newApp(d.id, now, { displayName: 'owner', isOAuthResource: true, audience: 'https://owner', scopes: [{ value: 'o.x' }] });
      const client = newApp(d.id, now, { displayName: 'client', isOAuthClient: true, clientId: 'cid-2' });
      await r.apps.create(app);
      await r.apps.create(client);
      const role = { id: newId(), domainId: d.id, appId: app.id, displayName: 'Role One', scopes: ['o.x'], isBuiltIn: false, version: 1, createdAt: now, updatedAt: now };
      await r.appRoles.create(role);
      assert.deepEqual(await r.appRoles.get(d.id, role.id), role);
      await assert.rejects(r.appRoles.create({ ...role, id: newId() }), (e: unknown) => e instanceof Conflict && e.what === 'displayName');
      const g = { id: newId(), domainId: d.id, appId: app.id, appRoleId: role.id, granteeType: 'App' as const, granteeId: client.id, mechanism: 'ADMINISTRATOR_TO_APP', version: 1, createdAt: now, updatedAt: now };
      await r.grants.create(g);
      await assert.rejects(r.grants.create({ ...g, id: newId() }), Conflict);
      assert.deepEqual(await r.grants.listForGrantee(d.id, 'App', client.id), [g]);
      assert.deepEqual(await r.grants.listForGrantee(d2.id, 'App', client.id), []);
      await r.apps.delete(d.id, app.id);
      assert.equal(await r.appRoles.get(d.id, role.id), undefined, 'roles go with their app');
      assert.equal(await r.grants.get(d.id, g.id), undefined, 'grants go with their role');
    });

    test('assertion jti: consumed exactly once while live, even under concurrency', async () => {
      const exp = now + 60_000;
      const results = await Promise.all(Array.from({ length: 20 }, () => r.assertionJtis.consume(d.id, 'c', 'jti-1', exp, now)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await r.assertionJtis.consume(d.id, 'c', 'jti-1', exp, now + 1000), false);
      assert.equal(await r.assertionJtis.consume(d.id, 'other-client', 'jti-1', exp, now), true, 'jti is per client');
      assert.equal(await r.assertionJtis.consume(d2.id, 'c', 'jti-1', exp, now), true, 'jti is per domain');
      // after expiry (not yet purged) the id may be used again
      assert.equal(await r.assertionJtis.consume(d.id, 'c', 'jti-1', exp + 120_000, exp + 1), true);
      assert.equal(await r.assertionJtis.purgeExpired(exp + 200_000), 3);
    });

    test('tokens: stored by hash, revoke one, revoke a grant, purge expired', async () => {
      const base: TokenRecord = { hash: 'h-1', domainId: d.id, kind: 'access', clientId: 'c', sub: 'c', subType: 'client', scope: 'a b', aud: ['https://rs'],
        jti: 'j1', grantId: 'g1', issuedAt: now, expiresAt: now + 3600_000, data: {} };
      await r.tokens.insert(base);
      await r.tokens.insert({ ...base, hash: 'h-2', jti: 'j2', kind: 'refresh' });
      await r.tokens.insert({ ...base, hash: 'h-3', jti: 'j3', grantId: 'g2', expiresAt: now - 1 });
      assert.deepEqual(await r.tokens.find('h-1'), base);
      assert.equal(await r.tokens.find('nope'), undefined);
      const before = await r.tokens.revoke('h-1', now);
      assert.equal(before?.jti, 'j1');
      assert.equal((await r.tokens.find('h-1'))?.revokedAt, now);
      assert.equal(await r.tokens.revoke('unknown', now), undefined);
      assert.equal(await r.tokens.revokeGrant(d.id, 'g1', now), 1, 'only the not-yet-revoked token of the grant');
      assert.equal(await r.tokens.revokeGrant(d2.id, 'g1', now), 0);
      assert.equal(await r.tokens.purgeExpired(now), 1);
    });

    test('revocation records: per domain, purged after expiry', async () => {
      await r.revocations.revokeJti(d.id, 'jti-x', now + 1000);
      await r.revocations.revokeJti(d.id, 'jti-x', now + 1000); // idempotent
      assert.equal(await r.revocations.isRevoked(d.id, 'jti-x'), true);
      assert.equal(await r.revocations.isRevoked(d2.id, 'jti-x'), false);
      assert.equal(await r.revocations.isRevoked(d.id, 'jti-y'), false);
      assert.equal(await r.revocations.purgeExpired(now + 2000), 1);
      assert.equal(await r.revocations.isRevoked(d.id, 'jti-x'), false);
    });

    test('anyRevoked: one lookup over every id of a token, any list length, per domain', async () => {
      await r.revocations.revokeJti(d.id, 'sid:any-1', now + 1000);
      assert.equal(await r.revocations.anyRevoked(d.id, []), false);
      assert.equal(await r.revocations.anyRevoked(d.id, ['sid:any-1']), true);
      assert.equal(await r.revocations.anyRevoked(d.id, ['jti-a', 'gid:g', 'sid:any-1']), true);
      assert.equal(await r.revocations.anyRevoked(d.id, ['jti-a', 'gid:g', 'sid:other']), false);
      assert.equal(await r.revocations.anyRevoked(d2.id, ['jti-a', 'sid:any-1']), false, 'another domain');
      const many = Array.from({ length: 9 }, (_, i) => `x-${i}`);
      assert.equal(await r.revocations.anyRevoked(d.id, many), false);
      assert.equal(await r.revocations.anyRevoked(d.id, [...many, 'sid:any-1']), true, 'longer than the precompiled lists');
      for (let n = 1; n <= 7; n++) {
        const ids = Array.from({ length: n }, (_, i) => (i === n - 1 ? 'sid:any-1' : `y-${i}`));
        assert.equal(await r.revocations.anyRevoked(d.id, ids), true, `${n} ids, the revoked one last`);
      }
      assert.equal(await r.revocations.purgeExpired(now + 2000), 1);
      assert.equal(await r.revocations.anyRevoked(d.id, ['sid:any-1']), false);
    });

    test('signing keys: one active and one next per alg; rotation is atomic and single-winner', async () => {
      const key = (kid: string, status: SigningKeyRecord['status']): SigningKeyRecord => ({
        kid, domainId: d.id, alg: 'RS256', status, publicJwk: { kty: 'RSA', n: kid, e: 'AQAB' }, privateJwkEnc: 'enc', createdAt: now,
      });
      await r.keys.insert(key('k1', 'active'));
      await r.keys.insert(key('k2', 'next'));
      await assert.rejects(r.keys.insert(key('k1b', 'active')), 'a second active key is refused by the index');
      await assert.rejects(r.keys.insert(key('k2b', 'next')));
      await r.keys.insert({ ...key('e1', 'active'), alg: 'ES256' });
      const results = await Promise.all([
        r.keys.rotate(d.id, 'RS256', 'k2', key('k3', 'next'), now + 10, now + 5000),
        r.keys.rotate(d.id, 'RS256', 'k2', key('k3x', 'next'), now + 10, now + 5000),
      ]);
      assert.deepEqual(results.sort(), [false, true]);
      const byKid = new Map((await r.keys.list(d.id)).map((k) => [k.kid, k]));
      assert.equal(byKid.get('k1')?.status, 'retired');
      assert.equal(byKid.get('k1')?.expiresAt, now + 5000);
      assert.equal(byKid.get('k2')?.status, 'active');
      assert.equal(byKid.get('e1')?.status, 'active', 'other algs untouched');
      assert.equal([...byKid.values()].filter((k) => k.status === 'next').length, 1);
      assert.equal(await r.keys.deleteExpired(now + 6000), 1);
      assert.equal((await r.keys.list(d2.id)).length, 0);
    });

    test('signing keys: first activation of a published key is atomic, single-winner, and never beside an active key', async () => {
      const key = (kid: string, status: SigningKeyRecord['status'], alg: SigningKeyRecord['alg'] = 'PS256', domainId = d.id): SigningKeyRecord => ({
        kid, domainId, alg, status, publicJwk: { kty: 'RSA', n: kid, e: 'AQAB' }, privateJwkEnc: 'enc', createdAt: now,
      });
      const algKeys = async (alg: string, domainId = d.id) => (await r.keys.list(domainId)).filter((k) => k.alg === alg).sort((x, y) => x.kid.localeCompare(y.kid));
      await r.keys.insert(key('p1', 'next'));
      const results = await Promise.all([
        r.keys.activate(d.id, 'PS256', 'p1', key('p2', 'next'), now + 10),
        r.keys.activate(d.id, 'PS256', 'p1', key('p2x', 'next'), now + 10),
      ]);
      assert.deepEqual(results.sort(), [false, true], 'two nodes promoting at once: one wins');
      const ps = await algKeys('PS256');
      assert.equal(ps.length, 2, 'the loser published nothing');
      const p1 = ps.find((k) => k.kid === 'p1')!;
      assert.deepEqual([p1.status, p1.activatedAt], ['active', now + 10]);
      const next = ps.find((k) => k.status === 'next')!;
      assert.ok(['p2', 'p2x'].includes(next.kid));

      // refused, changing nothing: the same key again; the new next key while p1 is active (that is
      // a rotation); a kid of another alg or another domain; an unknown kid
      await r.keys.insert(key('e-next', 'next', 'EdDSA'));
      await r.keys.insert(key('o-next', 'next', 'PS256', d2.id));
      const refused: [string, string, string, string][] = [
        ['the same key again', d.id, 'PS256', 'p1'], ['the next key beside an active one', d.id, 'PS256', next.kid],
        ['a key of another alg', d.id, 'PS256', 'e-next'], ['a key of another domain', d.id, 'PS256', 'o-next'], ['an unknown kid', d.id, 'PS256', 'nope'],
      ];
      for (const [what, domainId, alg, kid] of refused) {
        assert.equal(await r.keys.activate(domainId, alg, kid, key(`x-${kid}`, 'next'), now + 20), false, what);
      }
      assert.deepEqual(await algKeys('PS256'), ps, 'PS256 untouched');
      assert.deepEqual((await algKeys('EdDSA')).map((k) => k.status), ['next']);
      assert.deepEqual((await algKeys('PS256', d2.id)).map((k) => k.status), ['next'], 'the other domain untouched');
      // the other domain's own key activates on its own
      assert.equal(await r.keys.activate(d2.id, 'PS256', 'o-next', key('o-next2', 'next', 'PS256', d2.id), now + 30), true);
      assert.deepEqual((await algKeys('PS256', d2.id)).map((k) => [k.kid, k.status]), [['o-next', 'active'], ['o-next2', 'next']]);
    });

    test('audit: batch insert, filter, page, order, purge', async () => {
      const ev = (i: number, eventId: string) => ({ id: `ev-${i}`, domainId: d.id, ts: now + i, eventId, outcome: 'success' as const, actorId: i % 2 ? 'a' : 'b', details: { i } });
      await r.audit.insertMany(Array.from({ length: 1200 }, (_, i) => ev(i, i < 600 ? 'token.issued' : 'admin.created')));
      await r.audit.insertMany([{ ...ev(5000, 'token.issued'), domainId: d2.id, id: 'other' }]);
      const all = await r.audit.query(d.id, { offset: 0, limit: 10, descending: true });
      assert.equal(all.total, 1200);
      assert.deepEqual(all.items.map((x) => x.id).slice(0, 2), ['ev-1199', 'ev-1198']);
      const f = await r.audit.query(d.id, { eventId: 'token.issued', actorId: 'a', since: now + 100, until: now + 199, offset: 5, limit: 3, descending: false });
      assert.equal(f.total, 50);
      assert.deepEqual(f.items.map((x) => x.ts - now), [111, 113, 115]);
      assert.deepEqual((await r.audit.get(d.id, 'ev-7'))?.details, { i: 7 });
      assert.equal(await r.audit.get(d.id, 'other'), undefined);
      assert.equal(await r.audit.purgeBefore(now + 600), 600);
    });

    const user = (domainId: string, userName: string, o: Partial<UserRecord> = {}): UserRecord => ({
      id: newId(), domainId, userName, active: true, attributes: {}, passwordHistory: [], version: 1, createdAt: now, updatedAt: now, ...o,
    });
    const group = (domainId: string, displayName: string, o: Partial<GroupRecord> = {}): GroupRecord => ({
      id: newId(), domainId, displayName, attributes: {}, version: 1, createdAt: now, updatedAt: now, ...o,
    });

    test('users: round trip, userName unique case-insensitively per domain, optimistic update', async () => {
      const u = user(d.id, 'Alice@Example.com', { externalId: 'ext-1', passwordHash: '$argon2id$x', passwordHistory: ['$argon2id$x'],
        attributes: { name: { givenName: 'Alice', familyName: 'Liddell' }, emails: [{ value: 'Alice@Example.com', primary: true }] } });
      await r.users.create(u);
      assert.deepEqual(await r.users.get(d.id, u.id), u);
      assert.deepEqual(await r.users.getByUserName(d.id, 'alice@example.COM'), u);
      assert.equal(await r.users.get(d2.id, u.id), undefined, 'ids do not cross domains');
      await assert.rejects(r.users.create(user(d.id, 'ALICE@example.com')), (e: unknown) => e instanceof Conflict && e.what === 'userName');
      await r.users.create(user(d2.id, 'alice@example.com')); // another domain may reuse it
      const noPw = user(d.id, 'nopw');
      await r.users.create(noPw);
      assert.equal((await r.users.get(d.id, noPw.id))?.passwordHash, undefined);
      const up = await r.users.update({ ...u, active: false, attributes: { displayName: 'Al' } }, u.version);
      assert.equal(up.version, 2);
      assert.deepEqual(await r.users.get(d.id, u.id), up);
      await assert.rejects(r.users.update({ ...u, active: true }, u.version), StaleVersion);
      await assert.rejects(r.users.update({ ...up, id: noPw.id, userName: 'alice@EXAMPLE.com', version: 1 }, 1), (e: unknown) => e instanceof Conflict);
      assert.deepEqual((await r.users.getMany(d.id, [u.id, noPw.id, 'nope'])).map((x) => x.id).sort(), [u.id, noPw.id].sort());
      assert.equal(await r.users.delete(d.id, u.id, 1), false, 'stale delete refused');
      assert.equal(await r.users.delete(d.id, u.id, 2), true);
      assert.equal(await r.users.get(d.id, u.id), undefined);
      await r.users.create(user(d.id, 'alice@example.com')); // the name is free again
    });

    test('users: SCIM filters and sortBy run in SQL, with the in-memory semantics', async () => {
      const dom: DomainRecord = { id: newId(), name: `q-${newId().slice(0, 8)}`, displayName: 'Q', settings: {}, createdAt: now, updatedAt: now };
      await r.domains.create(dom);
      const mk = async (userName: string, i: number, o: Partial<UserRecord> = {}) => {
        const u = user(dom.id, userName, { createdAt: now + i, updatedAt: now + i, ...o });
        await r.users.create(u);
        return u;
      };
      const a = await mk('Ann', 1, { externalId: 'EXT-a', attributes: { displayName: 'Ann A', name: { givenName: 'Ann', familyName: 'Zed' },
        emails: [{ value: 'ann@work.example', type: 'work' }, { value: 'Ann@Home.example', primary: true }] } });
      const b = await mk('bob_100%', 2, { active: false, externalId: 'ext-b', attributes: { name: { familyName: 'Young' }, emails: [{ value: 'b@x.example' }] } });
      const c = await mk('carl\\x', 3, { attributes: { displayName: 'Carl' } });
      const e = await mk('bobx1000', 4);
      const q = async (filter: string, extra: { sortBy?: string; desc?: boolean; offset?: number; limit?: number } = {}) => {
        const res = await r.users.query(dom.id, {
          where: filterToSql(parseFilter(filter), UserSchema, USER_COLUMNS), order: sortToSql(extra.sortBy, extra.desc ?? false, UserSchema, USER_COLUMNS),
          offset: extra.offset ?? 0, limit: extra.limit ?? 100,
        });
        return { total: res.total, names: res.items.map((x) => x.userName) };
      };
      const names = async (filter: string) => (await q(filter)).names;
      assert.deepEqual(await names('userName eq "ANN"'), ['Ann'], 'userName is not caseExact');
      assert.deepEqual(await names('userName sw "BOB"'), ['bob_100%', 'bobx1000']);
      assert.deepEqual(await names('userName co "_1"'), ['bob_100%'], '_ is literal, not a wildcard');
      assert.deepEqual(await names('userName ew "0%"'), ['bob_100%'], '% is literal');
      assert.deepEqual(await names('userName co "\\\\"'), ['carl\\x'], 'backslash is literal');
      assert.deepEqual(await names('externalId eq "ext-a"'), [], 'externalId is caseExact');
      assert.deepEqual(await names('externalId sw "EXT"'), ['Ann']);
      assert.deepEqual(await names('externalId co "xt-"'), ['bob_100%']);
      assert.deepEqual(await names('externalId ew "-A"'), [], 'caseExact ew');
      assert.deepEqual(await names('externalId ew "-a"'), ['Ann']);
      assert.deepEqual(await names('externalId ew "-b"'), ['bob_100%']);
      assert.deepEqual(await names('externalId pr'), ['Ann', 'bob_100%']);
      assert.deepEqual(await names('not (externalId pr)'), ['carl\\x', 'bobx1000']);
      assert.deepEqual(await names('externalId ne "EXT-a"'), ['bob_100%', 'carl\\x', 'bobx1000'], 'ne matches an unassigned value');
      assert.deepEqual(await names('not (displayName eq "carl")'), ['Ann', 'bob_100%', 'bobx1000']);
      assert.deepEqual(await names('active eq false'), ['bob_100%']);
      assert.deepEqual(await names('emails.value eq "ANN@WORK.example"'), ['Ann'], 'any address, not only the primary');
      assert.deepEqual(await names('emails co "home"'), ['Ann']);
      assert.deepEqual(await names('emails[value ew ".example" and value sw "b@"]'), ['bob_100%']);
      assert.deepEqual(await names('emails pr'), ['Ann', 'bob_100%']);
      assert.deepEqual(await names('emails.value eq null'), ['carl\\x', 'bobx1000']);
      assert.deepEqual(await names('name.familyName gt "y" or name.givenName eq "ann"'), ['Ann', 'bob_100%']);
      assert.deepEqual(await names('userName gt "bob" and userName lt "c"'), ['bob_100%', 'bobx1000']);
      assert.deepEqual(await names(`meta.created ge "${new Date(now + 3).toISOString()}"`), ['carl\\x', 'bobx1000']);
      assert.deepEqual(await names(`meta.lastModified lt "${new Date(now + 2).toISOString()}"`), ['Ann']);
      assert.deepEqual(await names(`id eq "${c.id}" or id eq "${e.id}"`), ['carl\\x', 'bobx1000']);
      // sorting: unassigned values last in both directions; paging with a total
      assert.deepEqual((await q('userName pr', { sortBy: 'name.familyName' })).names, ['bob_100%', 'Ann', 'carl\\x', 'bobx1000']);
      assert.deepEqual((await q('userName pr', { sortBy: 'name.familyName', desc: true })).names, ['Ann', 'bob_100%', 'carl\\x', 'bobx1000']);
      assert.deepEqual(await q('userName pr', { sortBy: 'userName', offset: 1, limit: 2 }), { total: 4, names: ['bob_100%', 'bobx1000'] });
      assert.deepEqual(await q('userName pr', { sortBy: 'userName', offset: 10, limit: 2 }), { total: 4, names: [] });
      assert.deepEqual(await q('userName pr', { limit: 0 }), { total: 4, names: [] });
      assert.deepEqual((await q('userName pr')).names, ['Ann', 'bob_100%', 'carl\\x', 'bobx1000'], 'default order: creation');
      void a; void b;
    });

    test('groups: members both ways, nested groups, diffed updates, cascades', async () => {
      const u1 = user(d.id, 'member-one', { attributes: { displayName: 'Member One' } });
      const u2 = user(d.id, 'member-two');
      await r.users.create(u1);
      await r.users.create(u2);
      const inner = group(d.id, 'Inner');
      await r.groups.create(inner, [{ type: 'User', id: u2.id }]);
      const g = group(d.id, 'Engineers', { externalId: 'eng' });
      await r.groups.create(g, [{ type: 'User', id: u1.id }, { type: 'User', id: u2.id }, { type: 'Group', id: inner.id }, { type: 'User', id: u1.id }]);
      assert.deepEqual(await r.groups.get(d.id, g.id), g);
      await assert.rejects(r.groups.create(group(d.id, 'ENGINEERS'), []), (e: unknown) => e instanceof Conflict && e.what === 'displayName');
      const members = (await r.groups.members(d.id, [g.id])).get(g.id)!;
      assert.deepEqual(members.map((m) => [m.type, m.display]).sort(), [['Group', 'Inner'], ['User', 'Member One'], ['User', 'member-two']].sort());
      const of = await r.groups.groupsOf(d.id, 'User', [u1.id, u2.id, 'nobody']);
      assert.deepEqual(of.get(u1.id), [{ groupId: g.id, displayName: 'Engineers' }]);
      assert.deepEqual(of.get(u2.id)?.map((x) => x.displayName), ['Engineers', 'Inner']);
      assert.deepEqual(of.get('nobody'), []);
      const where = filterToSql(parseFilter(`members.value eq "${u1.id}"`), GroupSchema, GROUP_COLUMNS);
      assert.deepEqual((await r.groups.query(d.id, { where, offset: 0, limit: 10 })).items.map((x) => x.id), [g.id]);
      const g2 = await r.groups.update({ ...g, displayName: 'Engineering' }, g.version, [{ type: 'User', id: u2.id }]);
      assert.equal(g2.version, 2);
      await assert.rejects(r.groups.update(g, g.version, []), StaleVersion);
      assert.deepEqual((await r.groups.members(d.id, [g.id])).get(g.id), [{ type: 'User', id: u2.id, display: 'member-two' }]);
      assert.equal(await r.users.delete(d.id, u2.id), true);
      assert.deepEqual((await r.groups.members(d.id, [g.id, inner.id])).get(inner.id), [], 'a deleted user leaves every group');
      await r.groups.update(g2, g2.version, [{ type: 'Group', id: inner.id }]);
      assert.equal(await r.groups.delete(d.id, inner.id, 7), false, 'stale delete refused');
      assert.equal(await r.groups.delete(d.id, inner.id), true);
      assert.deepEqual((await r.groups.members(d.id, [g.id])).get(g.id), [], 'a deleted group leaves the groups it was in');
      assert.equal(await r.groups.get(d2.id, g.id), undefined);
    });

    test('tokens: revoke every live token of one subject', async () => {
      const t: TokenRecord = { hash: 'u-1', domainId: d.id, kind: 'refresh', clientId: 'c', sub: 'user-1', subType: 'user', scope: 'openid', aud: [],
        jti: 'uj1', issuedAt: now, expiresAt: now + 3600_000, data: {} };
      await r.tokens.insert({ ...t, grantId: 'g-1' });
      await r.tokens.insert({ ...t, hash: 'u-2', jti: 'uj2', kind: 'access', grantId: 'g-2' });
      await r.tokens.insert({ ...t, hash: 'u-6', jti: 'uj6', grantId: 'g-1' });
      await r.tokens.insert({ ...t, hash: 'u-3', jti: 'uj3', sub: 'user-2' });
      await r.tokens.insert({ ...t, hash: 'u-4', jti: 'uj4', domainId: d2.id });
      await r.tokens.insert({ ...t, hash: 'u-5', jti: 'uj5', subType: 'client' });
      assert.deepEqual((await r.tokens.revokeForSubject(d.id, 'user', 'user-1', now + 1)).sort(), ['g-1', 'g-2'], 'the grant ids, once each');
      assert.equal((await r.tokens.find('u-1'))?.revokedAt, now + 1);
      assert.equal((await r.tokens.find('u-3'))?.revokedAt, undefined, 'other users untouched');
      assert.equal((await r.tokens.find('u-4'))?.revokedAt, undefined, 'other domains untouched');
      assert.equal((await r.tokens.find('u-5'))?.revokedAt, undefined, 'clients with the same sub untouched');
      assert.equal((await r.tokens.find('u-6'))?.revokedAt, now + 1);
      assert.deepEqual(await r.tokens.revokeForSubject(d.id, 'user', 'user-1', now + 2), [], 'already revoked');
    });
  });
}

contract('SQLite', async () => ({ db: await openDatabase('sqlite::memory:'), cleanup: async () => {} }));

let pgState: boolean | string = false;
before(async () => { pgState = await pgAvailable(); });
const schema = schemaName();
contract('PostgreSQL', async () => {
  if (pgState !== true) pgState = await pgAvailable();
  return { db: await openDatabase(PG_URL, { pgSchema: schema }), cleanup: () => dropSchema(schema) };
});
