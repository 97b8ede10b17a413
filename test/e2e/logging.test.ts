import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { buildApp } from '../../src/http/app.js';
import { MasterKey } from '../../src/crypto/masterkey.js';
import { adminToken, testConfig, type Harness } from '../helpers.js';
import { FixedClock } from '../../src/core/clock.js';

test('with request logging on, tokens in query strings never reach the log (RFC 9700 §4.3.2)', async () => {
  let out = '';
  const stream = new Writable({ write(chunk, _e, cb) { out += chunk; cb(); } });
  const clock = new FixedClock(Date.now());
  const t = await buildApp({ config: testConfig({ logRequests: true, logLevel: 'info' }), clock, masterKey: new MasterKey(randomBytes(32)), logger: { stream } });
  const h: Harness = { t, clock, inject: t.app.inject.bind(t.app), close: () => t.close() };
  try {
    const at = await adminToken(h);
    const r = await h.inject({ url: `/oauth2/v1/tokeninfo?access_token=${encodeURIComponent(at)}` });
    assert.equal(r.statusCode, 200);
    assert.match(out, /\/oauth2\/v1\/tokeninfo/, 'the request is logged');
    assert.ok(!out.includes(at) && !out.includes(at.slice(0, 40)), 'but not the token');
  } finally {
    await h.close();
  }
});
