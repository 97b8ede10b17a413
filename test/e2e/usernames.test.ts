import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminToken, assertOAuthError, assertScimError, basic, decode, grantRole, harness, post, scim, type Harness } from '../helpers.js';
import { authorizeUrl, Browser, callbackParams, createUser, createWebApp, PASSWORD, pkce, REDIRECT, signIn, USER_SCHEMA } from '../signin.js';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/**
 * Issue 7 "Usernames": userName is an RFC 8265 UsernameCaseMapped identifier. Before the fix a
 * fullwidth "ａｄａ" or a Kelvin-sign "Kim" was a second account beside "ada" / "kim" (the key was
 * toLowerCase only), "ada\u200B" could be created, and signing in as "ＡＤＡ" failed.
 */
describe('userName: look-alikes, refusals, sign-in (RFC 8265)', () => {
  let h: Harness;
  let admin: string;
  let pw: { clientId: string; secret?: string };
  before(async () => {
    h = await harness();
    admin = await adminToken(h);
    pw = await createWebApp(h, admin, { allowedGrants: ['password'], redirectUris: [] });
  });
  after(() => h.close());

  const create = (userName: unknown) => scim(h, 'POST', '/admin/v1/Users', admin, { schemas: [USER_SCHEMA], userName, password: PASSWORD });
  const passwordGrant = (username: string, password = PASSWORD) =>
    post(h, '/oauth2/v1/token', { grant_type: 'password', username, password, scope: 'openid' }, { authorization: basic(pw.clientId, pw.secret!) });

  // [what, first, second, the same name?]
  const pairs: [string, string, string, boolean][] = [
    ['fullwidth letters', 'ada', 'ａｄａ', true],
    ['upper case', 'bea', 'BEA', true],
    ['Kelvin sign U+212A vs k', 'kim', '\u212Aim', true],
    ['ligature ﬁ vs fi', 'fiona', '\uFB01ona', true],
    ['combining acute vs precomposed é', 'caf\u00E9', 'cafe\u0301', true],
    ['capital sharp s ẞ vs ß', 'gruß', 'GRU\u1E9E', true],
    ['Turkish dotless ı vs i', 'kiz', 'k\u0131z', false],
    ['capital dotted İ vs i', 'ipek', '\u0130pek', false],
    ['ß vs ss', 'straße', 'strasse', false],
  ];
  for (const [what, first, second, same] of pairs) {
    test(`${what}: ${same ? '409 uniqueness on the second create' : 'two users'}`, async () => {
      const a = await create(first);
      assert.equal(a.statusCode, 201, a.body);
      const b = await create(second);
      if (same) assertScimError(b, 409, 'uniqueness');
      else assert.equal(b.statusCode, 201, b.body);
      // The other spelling signs in as the first user exactly when they are the same name.
      const r = await passwordGrant(second);
      if (same) {
        assert.equal(r.statusCode, 200, r.body);
        assert.equal(decode(r.json().access_token).payload.sub, a.json().id);
      } else {
        assert.equal(r.statusCode, 200, r.body);
        assert.equal(decode(r.json().access_token).payload.sub, b.json().id, 'the distinct user, not the first one');
      }
    });
  }

  test('the stored form is NFKC with case kept: "Ｍａｘ" is stored and shown as "Max"', async () => {
    const r = await create('Ｍａｘ');
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.json().userName, 'Max');
    const g = await scim(h, 'GET', `/admin/v1/Users/${r.json().id}`, admin);
    assert.equal(g.json().userName, 'Max');
  });

  test('a replace cannot take a look-alike of another user\'s name (409), and may change its own case', async () => {
    const a = (await create('olga')).json();
    const b = (await create('petra')).json();
    assertScimError(await scim(h, 'PUT', `/admin/v1/Users/${b.id}`, admin, { schemas: [USER_SCHEMA], userName: 'ＯＬＧＡ' }), 409, 'uniqueness');
    assertScimError(await scim(h, 'PATCH', `/admin/v1/Users/${b.id}`, admin, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'userName', value: 'Olga' }] }), 409, 'uniqueness');
    const own = await scim(h, 'PUT', `/admin/v1/Users/${a.id}`, admin, { schemas: [USER_SCHEMA], userName: 'ＯＬＧＡ' });
    assert.equal(own.statusCode, 200, own.body);
    assert.equal(own.json().userName, 'OLGA');
  });

  // [what, userName, detail]
  const refused: [string, string, RegExp][] = [
    // An empty string is unassigned in SCIM (RFC 7643 §2.5), so the required attribute is missing.
    ['empty', '', /required attribute "userName" is missing/],
    ['only spaces', '   ', /spaces/],
    ['leading space', ' ada', /spaces/],
    ['trailing space', 'ada ', /spaces/],
    ['inner space', 'ada lovelace', /spaces/],
    ['no-break space', 'ada\u00A0x', /spaces/],
    ['control character', 'ada\u0007', /control/],
    ['zero width space', 'ada\u200Bx', /invisible.*U\+200B/],
    ['zero width joiner', 'a\u200Ddax', /invisible.*U\+200D/],
    ['zero width non-joiner', 'a\u200Cdax', /invisible.*U\+200C/],
    ['right-to-left override', 'ada\u202Ex', /invisible.*U\+202E/],
    ['left-to-right isolate', 'ada\u2066x', /invisible.*U\+2066/],
    ['left-to-right mark', 'ada\u200Ex', /invisible.*U\+200E/],
    ['Arabic letter mark', 'ada\u061Cx', /invisible.*U\+061C/],
    ['soft hyphen (default ignorable)', 'ada\u00ADx', /invisible.*U\+00AD/],
    // Refused by the SCIM layer already (RFC 7493 §2.1, every string attribute), before the RFC 8265 rules.
    ['unpaired surrogate', 'ada\uD800x', /surrogate U\+D800/],
    ['private use', 'ada\uE000x', /unassigned.*U\+E000/],
    ['unassigned', 'ada\u0378x', /unassigned.*U\+0378/],
    ['non-ASCII symbol', 'ada\u2122\u221Ex', /symbols/],
    ['non-ASCII punctuation', 'ada\u3002x', /symbols.*U\+3002/],
    ['mixed directions (Bidi Rule)', 'adaאב', /right-to-left/],
    ['257 characters', 'a'.repeat(257), /at most 256/],
  ];
  for (const [what, userName, detail] of refused) {
    test(`refused on create: ${what} -> 400 invalidValue naming the rule; signing in as it fails cleanly`, async () => {
      const r = await create(userName);
      assertScimError(r, 400, 'invalidValue');
      assert.match(r.json().detail, detail);
      if (!userName) return;
      if (!/\uD800/.test(userName)) assert.match(r.json().detail, /^userName .*RFC 8265/);
      if (userName) assertOAuthError(await passwordGrant(userName), 400, 'invalid_grant');
    });
  }

  test('refused on replace and on PATCH as well (400 invalidValue), and the user is unchanged', async () => {
    const u = (await create('quentin')).json();
    assertScimError(await scim(h, 'PUT', `/admin/v1/Users/${u.id}`, admin, { schemas: [USER_SCHEMA], userName: 'quentin\u200B' }), 400, 'invalidValue');
    for (const op of [{ op: 'replace', path: 'userName', value: '\u202Equentin' }, { op: 'replace', value: { userName: 'quen tin' } }]) {
      const r = await scim(h, 'PATCH', `/admin/v1/Users/${u.id}`, admin, { schemas: [PATCH], Operations: [op] });
      assertScimError(r, 400, 'invalidValue');
      assert.match(r.json().detail, /^userName /);
    }
    const g = await scim(h, 'GET', `/admin/v1/Users/${u.id}`, admin);
    assert.equal(g.json().userName, 'quentin');
    assert.equal(g.json().meta.version, 'W/"1"');
  });

  test('filters compare keys: userName eq "ＡＤＡ", "ADA", sw "ＡＤ" find "ada"', async () => {
    for (const f of ['userName eq "ＡＤＡ"', 'userName eq "ADA"', 'userName sw "ＡＤ"', 'userName eq "Ａda"']) {
      const r = await scim(h, 'GET', `/admin/v1/Users?filter=${encodeURIComponent(f)}`, admin);
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json().Resources.map((x: { userName: string }) => x.userName), ['ada'], f);
    }
    const k = await scim(h, 'GET', `/admin/v1/Users?filter=${encodeURIComponent('userName eq "\u212AIM"')}`, admin);
    assert.deepEqual(k.json().Resources.map((x: { userName: string }) => x.userName), ['kim']);
    const none = await scim(h, 'GET', `/admin/v1/Users?filter=${encodeURIComponent('userName eq "ada\u200B"')}`, admin);
    assert.equal(none.json().totalResults, 0);
  });

  test('password grant: every width and case form signs in as the same user; a wrong password is still wrong', async () => {
    const u = await createUser(h, admin, 'Zoe');
    for (const name of ['Zoe', 'zoe', 'ZOE', 'Ｚｏｅ', 'ｚｏｅ']) {
      const r = await passwordGrant(name);
      assert.equal(r.statusCode, 200, `${name}: ${r.body}`);
      assert.equal(decode(r.json().access_token).payload.sub, u.id, name);
    }
    assertOAuthError(await passwordGrant('ｚｏｅ', 'wrong password entirely'), 400, 'invalid_grant');
  });

  test('password grant: invisible, bidi-control and overlong forms of an existing name fail as invalid_grant, never 500', async () => {
    await createUser(h, admin, 'yara');
    for (const name of ['yara\u200B', '\u200Dyara', 'yara\u202E', '\u2066yara', 'yara\u00AD', 'ya ra', ' yara', 'yara\u0000', 'y'.repeat(5000), '\uFFFDyara']) {
      assertOAuthError(await passwordGrant(name), 400, 'invalid_grant');
    }
  });

  test('login page: "ＸＥＮＡ" signs in as xena; "xena\u200B" gets the wrong-credentials page (401), not an error', async () => {
    const u = await createUser(h, admin, 'xena');
    const app = await createWebApp(h, admin);
    const login = (name: string) => {
      const { challenge } = pkce();
      return signIn(new Browser(h), authorizeUrl({ client_id: app.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: 's', code_challenge: challenge, code_challenge_method: 'S256' }), name);
    };
    const ok = await login('ＸＥＮＡ');
    assert.equal(ok.statusCode, 303, ok.body.slice(0, 300));
    assert.ok(callbackParams(ok).get('code'));
    for (const name of ['xena\u200B', 'xe\u202Ena', 'xena ']) {
      const bad = await login(name);
      assert.equal(bad.statusCode, 401, `${JSON.stringify(name)}: ${bad.statusCode}`);
      assert.match(bad.body, /incorrect username or password/);
    }
    assert.ok(u.id);
  });

  test('Authenticate API: a look-alike signs in; invisible and unpaired-surrogate names are AUTH-3001', async () => {
    await createUser(h, admin, 'wanda');
    const app = await createWebApp(h, admin, { displayName: `Custom Pages ${Date.now()}`, allowedGrants: ['authorization_code', 'client_credentials'] });
    await grantRole(h, admin, 'Signin', 'App', app.id);
    const tok = await post(h, '/oauth2/v1/token', { grant_type: 'client_credentials', scope: 'urn:opc:idm:t.security.signin' }, { authorization: basic(app.clientId, app.secret!) });
    assert.equal(tok.statusCode, 200, tok.body);
    const headers = { authorization: `Bearer ${tok.json().access_token}`, 'content-type': 'application/json' };
    const attempt = async (username: string) => {
      const start = await h.inject({ method: 'GET', url: `/sso/v1/sdk/authenticate?appName=${encodeURIComponent(app.clientId)}`, headers: { authorization: headers.authorization } });
      assert.equal(start.statusCode, 200, start.body);
      // JSON.stringify keeps an unpaired surrogate as a \ud800 escape, which JSON.parse turns back into one.
      return h.inject({ method: 'POST', url: '/sso/v1/sdk/authenticate', headers, payload: JSON.stringify({ op: 'credSubmit', requestState: start.json().requestState, credentials: { username, password: PASSWORD } }) });
    };
    const ok = await attempt('ＷＡＮＤＡ');
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(typeof ok.json().authnToken, 'string');
    for (const name of ['wanda\u200B', 'wanda\uD800', '\u202Ewanda', 'wan da']) {
      const bad = await attempt(name);
      assert.equal(bad.statusCode, 401, `${JSON.stringify(name)}: ${bad.body}`);
      assert.deepEqual(bad.json().cause, [{ code: 'AUTH-3001', message: 'You entered an incorrect username or password.' }]);
    }
  });
});
