import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { FixedClock } from '../../src/core/clock.js';
import { loadConfig, ConfigError } from '../../src/config/load.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { openDatabase } from '../../src/storage/db.js';
import { adminToken, basic, clientToken, decode, harness, ISSUER, post, scim, setupClient, type Harness } from '../helpers.js';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const jwksOf = async (h: Harness, prefix = ''): Promise<JSONWebKeySet> => {
  const r = await h.inject({ url: `${prefix}/admin/v1/SigningCert/jwk` });
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['cache-control']), /max-age=300\b/, 'the max-age the publish delay is derived from');
  return r.json();
};
const keysOf = async (h: Harness, admin: string, prefix = '') =>
  (await scim(h, 'GET', `${prefix}/admin/v1/SigningKeys`, admin)).json().Resources as { kid: string; alg: string; status: string; signsFrom?: string }[];

/** A resource server that verifies with the JWKS it fetched at some moment and never refetches. */
const verifyWith = (jwks: JSONWebKeySet, h: Harness, audience: string, token: string) =>
  jwtVerify(token, createLocalJWKSet(jwks), { issuer: ISSUER, audience, typ: 'at+jwt', currentDate: new Date(h.clock.now()) });

describe('a key for a new algorithm is published before it signs', () => {
  test('a resource server switching to ES256 gets RS256 tokens until the ES256 key has been published for the delay; a JWKS cached at the switch verifies both', async () => {
    const clock = new FixedClock(Date.now());
    const h = await harness({ clock });
    try {
      const admin = await adminToken(h);
      const c = await setupClient(h, { admin, scopes: ['sw.read'] });
      const token = async () => (await clientToken(h, c.clientId, c.secret, 'sw.read')).json().access_token as string;
      const rsKid = decode(await token()).header.kid;
      const cachedBefore = await jwksOf(h);

      const p = await scim(h, 'PATCH', `/admin/v1/Apps/${c.rs.id}`, admin, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'accessTokenSigningAlg', value: 'ES256' }] });
      assert.equal(p.statusCode, 200, p.body);
      const cachedAtSwitch = await jwksOf(h);
      const es = cachedAtSwitch.keys.filter((k) => k.alg === 'ES256');
      assert.equal(es.length, 1, 'the ES256 key is in the JWKS from the start');
      const esKid = es[0]!.kid!;
      const delay = h.t.services.config.keyPublishDelaySeconds * 1000;
      assert.equal(delay, 305_000);
      assert.deepEqual((await keysOf(h, admin)).filter((k) => k.alg === 'ES256').map((k) => [k.kid, k.status, k.signsFrom]),
        [[esKid, 'next', new Date(clock.now() + delay).toISOString()]]);

      for (const wait of [0, delay - 1000, 999]) {
        clock.advance(wait);
        const t = await token();
        assert.deepEqual([decode(t).header.alg, decode(t).header.kid], ['RS256', rsKid], `after ${wait} ms more: still the default alg`);
        // a resource server that cached the JWKS before the switch still verifies these
        await verifyWith(cachedBefore, h, c.audience, t);
      }

      clock.advance(1);
      const t = await token();
      assert.deepEqual([decode(t).header.alg, decode(t).header.kid], ['ES256', esKid], 'the published key signs once the delay has passed');
      const v = await verifyWith(cachedAtSwitch, h, c.audience, t);
      assert.equal(v.protectedHeader.alg, 'ES256');
      await assert.rejects(verifyWith(cachedBefore, h, c.audience, t), 'only a JWKS older than the switch lacks it');
      const after = (await keysOf(h, admin)).filter((k) => k.alg === 'ES256');
      assert.deepEqual(after.map((k) => k.status).sort(), ['active', 'next'], 'a next key is published behind it');
      assert.equal(after.find((k) => k.status === 'active')!.kid, esKid);
      assert.equal(after.find((k) => k.status === 'next')!.signsFrom, undefined, 'an ordinary next key: signs at the next rotation');
      const i = await post(h, '/oauth2/v1/introspect', { token: t }, { authorization: basic(c.clientId, c.secret) });
      assert.equal(i.json().active, true, i.body);
    } finally {
      await h.close();
    }
  });

  test('an app created for EdDSA in an existing domain waits too; a token for resource servers with different algs uses the default', async () => {
    const clock = new FixedClock(Date.now());
    const h = await harness({ clock });
    try {
      const admin = await adminToken(h);
      const ed = await setupClient(h, { admin, scopes: ['ed.read'], rs: { accessTokenSigningAlg: 'EdDSA' } });
      assert.equal(decode((await clientToken(h, ed.clientId, ed.secret, 'ed.read')).json().access_token).header.alg, 'RS256');
      clock.advance(305_000);
      assert.equal(decode((await clientToken(h, ed.clientId, ed.secret, 'ed.read')).json().access_token).header.alg, 'EdDSA');
    } finally {
      await h.close();
    }
  });

  test('a brand-new domain signs with its first keys at once (nothing can have cached its JWKS)', async () => {
    const h = await harness();
    try {
      const admin = await adminToken(h);
      const d = await scim(h, 'POST', '/admin/v1/IdentityDomains', admin, { name: 'fresh' });
      assert.equal(d.statusCode, 201, d.body);
      const { client_id, client_secret } = d.json().adminClient;
      const r = await post(h, '/domains/fresh/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'urn:opc:idm:__myscopes__' }, { authorization: basic(client_id, client_secret) });
      assert.equal(r.statusCode, 200, r.body);
      const keys = await keysOf(h, r.json().access_token, '/domains/fresh');
      assert.deepEqual(keys.map((k) => [k.alg, k.status]).sort(), [['RS256', 'active'], ['RS256', 'next']]);
      assert.equal(decode(r.json().access_token).header.kid, keys.find((k) => k.status === 'active')!.kid);
    } finally {
      await h.close();
    }
  });

  test('with ES256 as the default alg a new deployment signs ES256 at once and also holds RS256 keys for ID tokens', async () => {
    const h = await harness({ config: { defaultSigningAlg: 'ES256' } });
    try {
      const admin = await adminToken(h);
      assert.equal(decode(admin).header.alg, 'ES256');
      assert.deepEqual((await keysOf(h, admin)).map((k) => [k.alg, k.status]).sort(),
        [['ES256', 'active'], ['ES256', 'next'], ['RS256', 'active'], ['RS256', 'next']]);
    } finally {
      await h.close();
    }
  });

  test('two nodes promoting the same key at once: one active key, one next key, every token signed by it', async () => {
    const clock = new FixedClock(Date.now());
    const mk = new MasterKey(randomBytes(32));
    const database = await openDatabase('sqlite::memory:');
    const a = await harness({ clock, masterKey: mk, database });
    const b = await harness({ clock, masterKey: mk, database });
    try {
      const admin = await adminToken(a);
      const c = await setupClient(a, { admin, scopes: ['two.read'], rs: { accessTokenSigningAlg: 'PS256' } });
      // both nodes have the pending key cached
      for (const n of [a, b]) assert.equal(decode((await clientToken(n, c.clientId, c.secret, 'two.read')).json().access_token).header.alg, 'RS256');
      clock.advance(305_000);
      const tokens = await Promise.all([a, b, a, b, a, b].map((n) => clientToken(n, c.clientId, c.secret, 'two.read')));
      const kids = new Set(tokens.map((r) => { assert.equal(r.statusCode, 200, r.body); return decode(r.json().access_token).header.kid; }));
      assert.equal(kids.size, 1, 'one key signs on both nodes');
      const domain = (await a.t.services.repos.domains.getByName('default'))!;
      const ps = (await a.t.services.repos.keys.list(domain.id)).filter((k) => k.alg === 'PS256');
      assert.deepEqual(ps.map((k) => k.status).sort(), ['active', 'next']);
      assert.equal(ps.find((k) => k.status === 'active')!.kid, [...kids][0]);
    } finally {
      await a.close();
      await b.close();
      await database.close();
    }
  });

  test('TESSERA_KEY_PUBLISH_DELAY_SECONDS: derived from the JWKS max-age and the cache TTL unless set; 0 signs at once', async () => {
    assert.equal(loadConfig({}).keyPublishDelaySeconds, 305);
    assert.equal(loadConfig({ TESSERA_CACHE_TTL_SECONDS: '60' }).keyPublishDelaySeconds, 360);
    assert.equal(loadConfig({ TESSERA_CACHE_TTL_SECONDS: '60', TESSERA_KEY_PUBLISH_DELAY_SECONDS: '900' }).keyPublishDelaySeconds, 900);
    for (const v of ['-1', 'soon', '86401']) {
      assert.throws(() => loadConfig({ TESSERA_KEY_PUBLISH_DELAY_SECONDS: v }), (e: unknown) => e instanceof ConfigError && /^TESSERA_KEY_PUBLISH_DELAY_SECONDS/.test(e.message), v);
    }
    const h = await harness({ config: { keyPublishDelaySeconds: 0 } });
    try {
      const admin = await adminToken(h);
      const c = await setupClient(h, { admin, scopes: ['now.read'], rs: { accessTokenSigningAlg: 'ES256' } });
      assert.equal(decode((await clientToken(h, c.clientId, c.secret, 'now.read')).json().access_token).header.alg, 'ES256');
    } finally {
      await h.close();
    }
  });
});
