/** A refresh token from a trusted issuer's assertion lasts as long as the domain trusts that issuer (issue 8). */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertOAuthError, harness, post, type Harness } from '../helpers.js';
import { assertion, grant, world, type World } from '../jwt_bearer_world.js';

describe('assertion grants: refresh tokens follow the trusted issuer', () => {
  let h: Harness;
  let w: World;
  before(async () => { h = await harness(); w = await world(h); });
  after(() => h.close());

  const refresh = (rt: string) => post(h, '/oauth2/v1/token', { grant_type: 'refresh_token', refresh_token: rt }, { authorization: w.partner.auth });

  test('refreshes while the issuer is active; invalid_grant once it is disabled or deleted', async () => {
    const first = await grant(h, await assertion(h, w.idp.signer.key, { iss: w.idp.rec.issuer, sub: w.ada.email }), { scope: 'jb.read offline_access', auth: w.partner.auth });
    assert.equal(first.statusCode, 200, first.body);
    const rt1 = first.json().refresh_token as string;
    assert.ok(rt1, 'a refresh token for a client that allows it');
    const r2 = await refresh(rt1);
    assert.equal(r2.statusCode, 200, r2.body);
    const repo = h.t.services.repos.trustedIssuers;
    const rec = (await repo.get(w.idp.rec.domainId, w.idp.rec.id))!;
    await repo.update({ ...rec, active: false }, rec.version);
    const r3 = await refresh(r2.json().refresh_token);
    assertOAuthError(r3, 400, 'invalid_grant');
    assert.match(r3.json().error_description, /trusted issuer/);
    const back = (await repo.get(w.idp.rec.domainId, w.idp.rec.id))!;
    await repo.update({ ...back, active: true }, back.version);
    // A new grant after re-enabling works; deleting the issuer ends it as disabling did.
    const again = await grant(h, await assertion(h, w.idp.signer.key, { iss: w.idp.rec.issuer, sub: w.ada.email }), { scope: 'jb.read offline_access', auth: w.partner.auth });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(await repo.delete(w.idp.rec.domainId, w.idp.rec.id), true);
    assertOAuthError(await refresh(again.json().refresh_token), 400, 'invalid_grant');
  });
});
