import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FixedClock } from '../../src/core/clock.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { describeRotation } from '../../src/crypto/keystore.js';
import { runMaintenance, retention } from '../../src/maintenance.js';
import { openDatabase } from '../../src/storage/db.js';
import { dropSchema, pgAvailable, PG_URL, schemaName } from '../contract/pg.js';
import { harness, type Harness } from '../helpers.js';

/**
 * Rotation by age runs on every node (and on the duty worker of each node's cluster): all of them
 * see the same aged key at the same moment. Exactly one rotation may happen; a second one would
 * promote a `next` key published a moment ago, which verifiers that cache the JWKS do not have.
 */
const DAY = 86_400_000;
const CONFIG = { keyRotationDays: 1, cacheTtlSeconds: 0 };

async function nodes(kind: 'sqlite' | 'postgres', n: number): Promise<{ hs: Harness[]; clock: FixedClock; done(): Promise<void> }> {
  const mk = new MasterKey(randomBytes(32));
  const clock = new FixedClock(Date.now());
  const hs: Harness[] = [];
  if (kind === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-rot-'));
    for (let i = 0; i < n; i++) hs.push(await harness({ clock, config: CONFIG, masterKey: mk, database: await openDatabase(`sqlite:${join(dir, 'shared.db')}`) }));
    return { hs, clock, done: async () => { for (const h of hs) { await h.close(); await h.t.database.close(); } await rm(dir, { recursive: true, force: true }); } };
  }
  const schema = schemaName();
  for (let i = 0; i < n; i++) hs.push(await harness({ clock, config: CONFIG, masterKey: mk, database: await openDatabase(PG_URL, { pgSchema: schema }) }));
  return { hs, clock, done: async () => { for (const h of hs) { await h.close(); await h.t.database.close(); } await dropSchema(schema); } };
}

async function keysOf(h: Harness, alg = 'RS256') {
  const d = (await h.t.services.repos.domains.getByName('default'))!;
  return (await h.t.services.repos.keys.list(d.id)).filter((k) => k.alg === alg);
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`rotation by age on several nodes (${kind})`, async () => {
    const available = kind === 'sqlite' ? true : await pgAvailable();
    const skip = available === true ? false : String(available);
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => { for (const c of cleanups) await c(); });

    // On SQLite the nodes are the workers of one machine, and only one of them runs the duties; nodes in
    // one test process would also block each other in SQLite's busy wait. The race is PostgreSQL's.
    test('three nodes running maintenance at once rotate an aged key exactly once, round after round', { skip: kind === 'sqlite' ? 'one machine: the duties run on one worker' : skip }, async () => {
      const w = await nodes(kind, 3);
      cleanups.push(w.done);
      const [a] = w.hs as [Harness];
      for (let round = 0; round < 4; round++) {
        const before = await keysOf(a);
        const active = before.find((k) => k.status === 'active')!;
        const next = before.find((k) => k.status === 'next')!;
        w.clock.advance(DAY + 1000);
        const results = await Promise.all(w.hs.map((h) => runMaintenance(h.t.services)));
        const rotated = results.reduce((n, r) => n + r.rotated!, 0);
        assert.equal(rotated, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.rotated))}`);
        const now = await keysOf(a);
        const nowActive = now.filter((k) => k.status === 'active');
        const nowNext = now.filter((k) => k.status === 'next');
        assert.equal(nowActive.length, 1);
        assert.equal(nowActive[0]!.kid, next.kid, `round ${round}: the key published a day ago signs, not the one published just now`);
        assert.equal(nowNext.length, 1, 'one new next key, not one per node');
        assert.equal(now.find((k) => k.kid === active.kid)?.status, 'retired');
      }
    });

    test('a rotation that names a key another node already rotated is superseded and changes nothing', { skip }, async () => {
      const w = await nodes(kind, 2);
      cleanups.push(w.done);
      const [a, b] = w.hs as [Harness, Harness];
      const d = (await a.t.services.repos.domains.getByName('default'))!;
      const aged = (await keysOf(a)).find((k) => k.status === 'active')!;
      const first = await a.t.services.keys.rotate(d.id, 'RS256', await retention(a.t.services, d.id), { activeKid: aged.kid });
      assert.equal(first.outcome, 'rotated');
      const after1 = (await keysOf(a)).map((k) => `${k.kid}:${k.status}`).sort();
      const late = await b.t.services.keys.rotate(d.id, 'RS256', await retention(b.t.services, d.id), { activeKid: aged.kid });
      assert.equal(late.outcome, 'superseded');
      assert.equal(late.outcome === 'superseded' && late.active?.kid, first.outcome === 'rotated' && first.active.kid);
      assert.deepEqual((await keysOf(a)).map((k) => `${k.kid}:${k.status}`).sort(), after1, 'nothing changed');
      const said = describeRotation(late, { now: w.clock.now(), publishDelayMs: 0, defaultAlg: 'RS256' });
      assert.match(said.lines.join(' '), /rotated the key at the same moment; nothing more changed/);
      // A rotation that names nothing still rotates (the CLI and the admin API after a deliberate second press).
      const again = await b.t.services.keys.rotate(d.id, 'RS256', await retention(b.t.services, d.id));
      assert.equal(again.outcome, 'rotated');
    });
  });
}
