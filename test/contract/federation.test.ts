import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { migrate, openDatabase, type Database_ } from '../../src/storage/db.js';
import { kyselyRepositories } from '../../src/storage/kysely.js';
import { changeRecorder } from '../../src/cache/changes.js';
import { Conflict, StaleVersion, type Repositories, type UserRecord } from '../../src/storage/ports.js';
import type { DomainRecord, TrustedIssuerRecord } from '../../src/core/types.js';
import { newId } from '../../src/core/ids.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from './pg.js';

/** The storage contract for federation (trusted issuers, users found by an assertion's subject), on every backend. */
function contract(name: string, open: () => Promise<{ db: Database_; cleanup: () => Promise<void> }>) {
  describe(`federation storage contract: ${name}`, () => {
    let db: Database_;
    let cleanup: () => Promise<void>;
    let r: Repositories;
    let d: DomainRecord;
    let d2: DomainRecord;
    const now = Date.now();
    const issuer = (o: Partial<TrustedIssuerRecord> = {}): TrustedIssuerRecord => ({
      id: newId(), domainId: d.id, issuer: 'https://idp.example.com', protocol: 'jwt', active: true, certificates: [], subjectAttribute: 'userName',
      allowedScopes: ['a.read'], allowedClients: [], maxAssertionLifetime: 300, version: 1, createdAt: now, updatedAt: now, ...o,
    });

    before(async () => {
      ({ db, cleanup } = await open());
      await migrate(db.db);
      r = kyselyRepositories(db.db, changeRecorder(db.dialect));
      d = { id: newId(), name: 'one', displayName: 'One', settings: {}, createdAt: now, updatedAt: now };
      d2 = { id: newId(), name: 'two', displayName: 'Two', settings: {}, createdAt: now, updatedAt: now };
      await r.domains.create(d);
      await r.domains.create(d2);
    });
    after(async () => { await db?.close(); await cleanup?.(); });

    test('trusted issuers: round trip, lookup by protocol and issuer within the domain only', async () => {
      const t = issuer({ jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k' }] }, audience: 'https://aud', displayName: 'IdP' });
      await r.trustedIssuers.create(t);
      assert.deepEqual(await r.trustedIssuers.get(d.id, t.id), t);
      assert.deepEqual(await r.trustedIssuers.getByIssuer(d.id, 'jwt', t.issuer), t);
      assert.equal(await r.trustedIssuers.getByIssuer(d.id, 'saml2', t.issuer), undefined, 'another protocol');
      assert.equal(await r.trustedIssuers.getByIssuer(d2.id, 'jwt', t.issuer), undefined, 'another domain');
      assert.equal(await r.trustedIssuers.getByIssuer(d.id, 'jwt', 'https://IDP.example.com'), undefined, 'exact match only');
      assert.equal(await r.trustedIssuers.getByIssuer(d.id, 'jwt', 'a\u0000b'), undefined, 'U+0000 finds nothing (and never reaches PostgreSQL)');
      assert.equal(await r.trustedIssuers.get(d2.id, t.id), undefined);
      assert.deepEqual((await r.trustedIssuers.list(d.id)).map((x) => x.id), [t.id]);
    });

    test('trusted issuers: one issuer per domain and protocol; the same string may be trusted for the other protocol and in another domain', async () => {
      await assert.rejects(r.trustedIssuers.create(issuer()), (e: unknown) => e instanceof Conflict && e.what === 'issuer');
      await r.trustedIssuers.create(issuer({ protocol: 'saml2' }));
      await r.trustedIssuers.create(issuer({ domainId: d2.id }));
    });

    test('trusted issuers: optimistic update, conflicting rename, delete with and without a version', async () => {
      const t = issuer({ issuer: 'https://other.example.com' });
      await r.trustedIssuers.create(t);
      const u = await r.trustedIssuers.update({ ...t, active: false, allowedClients: ['c1'], updatedAt: now + 1 }, 1);
      assert.equal(u.version, 2);
      assert.deepEqual(await r.trustedIssuers.get(d.id, t.id), u);
      await assert.rejects(r.trustedIssuers.update({ ...u, description: 'x' }, 1), StaleVersion);
      await assert.rejects(r.trustedIssuers.update({ ...u, issuer: 'https://idp.example.com' }, 2), (e: unknown) => e instanceof Conflict && e.what === 'issuer');
      assert.equal(await r.trustedIssuers.delete(d.id, t.id, 1), false, 'stale delete refused');
      assert.equal(await r.trustedIssuers.delete(d2.id, t.id), false, 'not in that domain');
      assert.equal(await r.trustedIssuers.delete(d.id, t.id, 2), true);
      assert.equal(await r.trustedIssuers.get(d.id, t.id), undefined);
    });

    test('users.findBy: email case-insensitively, externalId exactly, within the domain, at most `limit`', async () => {
      const user = (o: Partial<UserRecord>): UserRecord => ({
        id: newId(), domainId: d.id, userName: `u-${newId().slice(0, 8)}`, active: true, attributes: {}, passwordHistory: [], version: 1, createdAt: now, updatedAt: now, ...o,
      });
      const a = user({ externalId: 'EXT-1', attributes: { emails: [{ value: 'Ada@Example.com', primary: true }, { value: 'ada@work.example' }] } });
      const b = user({ attributes: { emails: [{ value: 'shared@example.com' }] } });
      const c = user({ attributes: { emails: [{ value: 'SHARED@example.com' }] } });
      const other = user({ domainId: d2.id, externalId: 'EXT-1', attributes: { emails: [{ value: 'ada@example.com' }] } });
      for (const u of [a, b, c, other]) await r.users.create(u);
      assert.deepEqual((await r.users.findBy(d.id, 'email', 'ada@example.com', 2)).map((u) => u.id), [a.id]);
      assert.deepEqual((await r.users.findBy(d.id, 'email', 'ADA@WORK.EXAMPLE', 2)).map((u) => u.id), [a.id]);
      assert.equal((await r.users.findBy(d.id, 'email', 'shared@example.com', 2)).length, 2, 'ambiguous: both found');
      assert.equal((await r.users.findBy(d.id, 'email', 'shared@example.com', 1)).length, 1);
      assert.deepEqual((await r.users.findBy(d.id, 'externalId', 'EXT-1', 2)).map((u) => u.id), [a.id]);
      assert.deepEqual(await r.users.findBy(d.id, 'externalId', 'ext-1', 2), [], 'externalId is caseExact');
      assert.deepEqual(await r.users.findBy(d.id, 'email', 'nobody@example.com', 2), []);
      assert.deepEqual(await r.users.findBy(d.id, 'externalId', 'a\u0000b', 2), []);
    });
  });
}

contract('SQLite', async () => ({ db: await openDatabase('sqlite::memory:'), cleanup: async () => {} }));

const schema = schemaName();
describe('PostgreSQL', async () => {
  const available = await pgAvailable();
  if (available !== true) { test('federation storage contract: PostgreSQL', { skip: String(available) }, () => {}); return; }
  contract('PostgreSQL', async () => ({ db: await openDatabase(PG_URL, { pgSchema: schema }), cleanup: () => dropSchema(schema) }));
});
