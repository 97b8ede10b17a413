import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { migrate, openDatabase, type Database_ } from '../../src/storage/db.js';
import { kyselyRepositories } from '../../src/storage/kysely.js';
import { changeRecorder } from '../../src/cache/changes.js';
import { Conflict, type DeviceCodeRecord, type Repositories } from '../../src/storage/ports.js';
import type { DomainRecord } from '../../src/core/types.js';
import { newId, newSecret } from '../../src/core/ids.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from './pg.js';

/** The storage contract for device codes (RFC 8628), on every backend: lookups, polling, and the single-use steps. */
function contract(name: string, open: () => Promise<{ db: Database_; cleanup: () => Promise<void> }>) {
  describe(`device code storage contract: ${name}`, () => {
    let db: Database_;
    let cleanup: () => Promise<void>;
    let r: Repositories;
    let d: DomainRecord;
    let d2: DomainRecord;
    const now = Date.now();
    const device = (o: Partial<DeviceCodeRecord> = {}): DeviceCodeRecord => ({
      deviceCodeHash: newSecret(), userCodeHash: newSecret(), domainId: d.id, clientId: 'tv', grantId: newId(), scopes: ['openid', 'media.read'],
      interval: 5, status: 'pending', createdAt: now, expiresAt: now + 600_000, ...o,
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

    test('round trip; lookup by user code within the domain only; a user code is unique per domain', async () => {
      const x = device();
      await r.deviceCodes.create(x);
      assert.deepEqual(await r.deviceCodes.get(x.deviceCodeHash), x);
      assert.deepEqual(await r.deviceCodes.getByUserCode(d.id, x.userCodeHash), x);
      assert.equal(await r.deviceCodes.getByUserCode(d2.id, x.userCodeHash), undefined, 'another domain');
      assert.equal(await r.deviceCodes.get('unknown'), undefined);
      await assert.rejects(r.deviceCodes.create(device({ userCodeHash: x.userCodeHash })), (e: unknown) => e instanceof Conflict && e.what === 'userCode');
      await r.deviceCodes.create(device({ userCodeHash: x.userCodeHash, domainId: d2.id }));
    });

    test('poll: on time records the poll; too soon is slow_down and the interval grows by 5 s, kept for later polls', async () => {
      const x = device();
      await r.deviceCodes.create(x);
      assert.equal(await r.deviceCodes.poll(x.deviceCodeHash, now), 'ok');
      assert.equal((await r.deviceCodes.get(x.deviceCodeHash))?.lastPollAt, now);
      assert.equal(await r.deviceCodes.poll(x.deviceCodeHash, now + 4_999), 'slow_down');
      let rec = await r.deviceCodes.get(x.deviceCodeHash);
      assert.equal(rec?.interval, 10);
      assert.equal(rec?.lastPollAt, now + 4_999);
      assert.equal(await r.deviceCodes.poll(x.deviceCodeHash, now + 4_999 + 9_999), 'slow_down');
      assert.equal(await r.deviceCodes.poll(x.deviceCodeHash, now + 4_999 + 9_999 + 15_000), 'ok');
      rec = await r.deviceCodes.get(x.deviceCodeHash);
      assert.equal(rec?.interval, 15);
      assert.equal(await r.deviceCodes.poll('unknown', now), undefined);
    });

    test('approve, deny and redeem move the state once, only while pending (or approved) and live', async () => {
      const x = device();
      await r.deviceCodes.create(x);
      assert.equal(await r.deviceCodes.redeem(x.deviceCodeHash, now), false, 'not approved yet');
      const approval = { authTime: now, amr: ['pwd'], acr: 'urn:tessera:acr:pwd', scopes: ['openid'] };
      assert.equal(await r.deviceCodes.approve(x.deviceCodeHash, 'user-1', approval, now), true);
      assert.equal(await r.deviceCodes.approve(x.deviceCodeHash, 'user-2', approval, now), false, 'approved once');
      assert.equal(await r.deviceCodes.deny(x.deviceCodeHash, now), false, 'no denial after approval');
      assert.equal(await r.deviceCodes.poll(x.deviceCodeHash, now), undefined, 'an approved code is not polled');
      const rec = await r.deviceCodes.get(x.deviceCodeHash);
      assert.equal(rec?.status, 'approved');
      assert.equal(rec?.userId, 'user-1');
      assert.deepEqual(rec?.approval, approval);
      assert.equal(await r.deviceCodes.redeem(x.deviceCodeHash, now), true);
      assert.equal(await r.deviceCodes.redeem(x.deviceCodeHash, now), false, 'redeemed once');
      assert.equal((await r.deviceCodes.get(x.deviceCodeHash))?.status, 'redeemed');

      const y = device();
      await r.deviceCodes.create(y);
      assert.equal(await r.deviceCodes.deny(y.deviceCodeHash, now), true);
      assert.equal(await r.deviceCodes.approve(y.deviceCodeHash, 'user-1', approval, now), false, 'no approval after denial');
      assert.equal((await r.deviceCodes.get(y.deviceCodeHash))?.status, 'denied');

      const z = device({ expiresAt: now + 1000 });
      await r.deviceCodes.create(z);
      assert.equal(await r.deviceCodes.approve(z.deviceCodeHash, 'user-1', approval, now + 1000), false, 'expired');
      assert.equal(await r.deviceCodes.deny(z.deviceCodeHash, now + 1000), false, 'expired');
      assert.equal(await r.deviceCodes.approve(z.deviceCodeHash, 'user-1', approval, now), true);
      assert.equal(await r.deviceCodes.redeem(z.deviceCodeHash, now + 1000), false, 'an approved code past its end is not redeemed');
    });

    test('concurrent redemptions: exactly one wins', async () => {
      const x = device();
      await r.deviceCodes.create(x);
      await r.deviceCodes.approve(x.deviceCodeHash, 'u', { authTime: now, amr: ['pwd'], acr: 'a', scopes: [] }, now);
      const wins = await Promise.all(Array.from({ length: 10 }, () => r.deviceCodes.redeem(x.deviceCodeHash, now)));
      assert.equal(wins.filter(Boolean).length, 1);
    });

    test('purgeExpired removes only expired codes', async () => {
      const old = device({ expiresAt: now - 1 });
      const live = device();
      await r.deviceCodes.create(old);
      await r.deviceCodes.create(live);
      assert.ok((await r.deviceCodes.purgeExpired(now)) >= 1);
      assert.equal(await r.deviceCodes.get(old.deviceCodeHash), undefined);
      assert.ok(await r.deviceCodes.get(live.deviceCodeHash));
    });
  });
}

contract('SQLite', async () => ({ db: await openDatabase('sqlite::memory:'), cleanup: async () => {} }));

const schema = schemaName();
describe('PostgreSQL', async () => {
  const available = await pgAvailable();
  if (available !== true) { test('device code storage contract: PostgreSQL', { skip: String(available) }, () => {}); return; }
  contract('PostgreSQL', async () => ({ db: await openDatabase(PG_URL, { pgSchema: schema }), cleanup: () => dropSchema(schema) }));
});
