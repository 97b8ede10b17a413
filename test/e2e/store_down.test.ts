import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminToken, assertOAuthError, basic, clientToken, harness, post, scim, setupClient } from '../helpers.js';

/** RFC 7009 / fosite GHSA-7mqr-2v3q-v2wm: when the store fails, fail closed with 503, never a false 200. */
describe('store unavailable: fail closed', () => {
  test('revocation, introspection and admin writes answer 503 when the database is gone', async () => {
    const h = await harness();
    try {
      const admin = await adminToken(h);
      const c = await setupClient(h, { admin, scopes: ['down.read'], rs: { accessTokenFormat: 'opaque' } });
      const at = (await clientToken(h, c.clientId, c.secret, 'down.read')).json().access_token;
      await h.t.database.db.destroy();

      const rev = await post(h, '/oauth2/v1/revoke', { token: at }, { authorization: basic(c.clientId, c.secret) });
      assertOAuthError(rev, 503, 'temporarily_unavailable');
      const intro = await post(h, '/oauth2/v1/introspect', { token: at }, { authorization: basic(c.clientId, c.secret) });
      assertOAuthError(intro, 503, 'temporarily_unavailable');
      // an opaque token cannot be issued without being stored
      assertOAuthError(await clientToken(h, c.clientId, c.secret, 'down.read'), 503, 'temporarily_unavailable');
      const w = await scim(h, 'POST', '/admin/v1/Apps', admin, { schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:App'], displayName: 'x' });
      assert.equal(w.statusCode, 503, w.body);
      assert.equal(w.json().status, '503');
      assert.doesNotMatch(w.body + rev.body, /destroyed|sqlite|kysely/i, 'no internals leak');
    } finally {
      await h.close().catch(() => {});
    }
  });
});
