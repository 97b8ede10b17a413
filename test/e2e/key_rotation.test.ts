import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FixedClock } from '../../src/core/clock.js';
import { runMaintenance } from '../../src/maintenance.js';
import { adminToken, basic, clientToken, decode, harness, post, setupClient } from '../helpers.js';

describe('automatic key rotation (TESSERA_KEY_ROTATION_DAYS)', () => {
  test('an active key older than the period is rotated; its tokens stay valid until they expire, then the key is dropped', async () => {
    const clock = new FixedClock(Date.now());
    const h = await harness({ clock, config: { keyRotationDays: 1, cacheTtlSeconds: 0 } });
    try {
      const admin = await adminToken(h);
      const c = await setupClient(h, { admin, scopes: ['rot.read'] });
      const old = (await clientToken(h, c.clientId, c.secret, 'rot.read')).json().access_token;
      const oldKid = decode(old).header.kid as string;
      const jwksKids = async () => (await h.inject({ url: '/admin/v1/SigningCert/jwk' })).json().keys.map((k: { kid: string }) => k.kid) as string[];
      const nextKid = (await jwksKids()).find((k) => k !== oldKid)!;

      assert.equal((await runMaintenance(h.t.services)).rotated, 0, 'a young key is kept');
      clock.advance(86_400_000 + 1000);
      assert.equal((await runMaintenance(h.t.services)).rotated, 1);

      const fresh = (await clientToken(h, c.clientId, c.secret, 'rot.read')).json().access_token;
      assert.equal(decode(fresh).header.kid, nextKid, 'the key published as next signs now');
      assert.ok((await jwksKids()).includes(oldKid), 'the retired key is still published');
      // the old token expired by now (one day passed), but a token signed just before rotation would still verify:
      const introspect = (t: string) => post(h, '/oauth2/v1/introspect', { token: t }, { authorization: basic(c.clientId, c.secret) });
      assert.equal((await introspect(fresh)).json().active, true);

      // after the longest token lifetime (+ skew + cache TTL) the retired key is removed
      clock.advance(3600_000 + 120_000);
      const r = await runMaintenance(h.t.services);
      assert.equal(r.keys, 1, JSON.stringify(r));
      assert.ok(!(await jwksKids()).includes(oldKid));
      assert.equal((await jwksKids()).length, 2, 'active + next');
    } finally {
      await h.close();
    }
  });
});
