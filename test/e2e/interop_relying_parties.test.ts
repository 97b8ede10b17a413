/**
 * Web apps built with the relying-party middleware people use in express, signing a user in against a
 * listening Tessera: express-openid-connect (Auth0's) and passport + passport-openidconnect.
 * Both read the user's profile from the ID token. Issue 7 ("Relying parties that read profile claims
 * from the ID token ... get only sub") adds a per-App setting for that, `claimsInIdToken: true`
 * (boolean, default false): the granted scopes' claims go in the ID token even when an access
 * token is issued. The tests that set it fail today: the App attribute does not exist yet.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import eoc from 'express-openid-connect';
import passportModule from 'passport';
import { Strategy as OpenIDConnectStrategy, type Profile } from 'passport-openidconnect';
import { APP_SCHEMA, assertScimError, scim } from '../helpers.js';
import { createUser, createWebApp } from '../signin.js';
import { freePort, listenApp, listeningTessera, WebBrowser, type Listening } from '../interop.js';

/** Errors reach the browser as JSON with the OAuth code the middleware saw. */
function errorsAsJson(app: express.Express): void {
  app.use((err: { status?: number; error?: string; message?: string; code?: string }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(err.status ?? 500).json({ error: err.error ?? err.code ?? 'server_error', message: err.message });
  });
}

const { auth, requiresAuth } = eoc;
const json = (body: string) => JSON.parse(body) as Record<string, unknown>;

describe('express-openid-connect (response_type code) against a listening Tessera', () => {
  let t: Listening;
  const closers: (() => Promise<void>)[] = [];
  before(async () => { t = await listeningTessera(); });
  after(async () => { for (const c of closers) await c(); await t.close(); });

  /** A Tessera web app for the middleware's redirect URI (BASE/callback), and the express app using it. */
  async function rp(appSettings: Record<string, unknown> = {}, o: { secret?: string; responseType?: 'code' | 'id_token' } = {}) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const tapp = await createWebApp(t.h, t.admin, { redirectUris: [`${base}/callback`], ...appSettings });
    const app = express();
    app.use(auth({
      issuerBaseURL: t.base, baseURL: base, clientID: tapp.clientId, clientSecret: o.secret ?? tapp.secret, secret: randomBytes(32).toString('hex'),
      authRequired: false, enableTelemetry: false, clientAuthMethod: 'client_secret_basic',
      authorizationParams: { response_type: o.responseType ?? 'code', scope: 'openid profile email' },
    }));
    app.get('/profile', requiresAuth(), (req, res) => { res.json({ user: req.oidc.user, scope: req.oidc.accessToken?.access_token ? 'present' : 'absent' }); });
    app.get('/userinfo', requiresAuth(), async (req, res, next) => { try { res.json(await req.oidc.fetchUserInfo()); } catch (e) { next(e); } });
    errorsAsJson(app);
    const server = await listenApp(app as never, port);
    closers.push(server.close);
    return { base, tapp };
  }

  test('default App: sign in through the middleware; req.oidc.user has the subject, userinfo has the profile; the ID token stays minimal', async () => {
    const user = await createUser(t.h, t.admin, undefined, { displayName: 'Ada Lovelace' });
    const { base } = await rp();
    const b = new WebBrowser();
    const r = await b.signIn(`${base}/profile`, user.userName);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.url, `${base}/profile`);
    const p = json(r.body);
    const u = p.user as Record<string, unknown>;
    assert.equal(u.sub, user.id);
    // claimsInIdToken defaults to false: the access token carries the profile to userinfo, the ID token does not.
    assert.equal(u.name, undefined);
    assert.equal(u.email, undefined);
    assert.equal(p.scope, 'present');
    const ui = await b.get(`${base}/userinfo`);
    assert.equal(ui.status, 200, ui.body);
    assert.equal(json(ui.body).name, 'Ada Lovelace');
    assert.equal(json(ui.body).email, `${user.userName}@example.com`);
    // The session is the middleware's: a second request needs no sign-in.
    const again = await b.get(`${base}/profile`);
    assert.equal(again.status, 200);
    assert.equal(b.visited.at(-1), `${base}/profile`);
  });

  // Issue 7: "Relying parties that read profile claims from the ID token (express-openid-connect, passport) get only sub".
  test('App with claimsInIdToken: true: req.oidc.user carries the profile and email claims from the ID token', async () => {
    const user = await createUser(t.h, t.admin, undefined, { displayName: 'Ada Lovelace' });
    const { base, tapp } = await rp({ claimsInIdToken: true });
    const shown = await scim(t.h, 'GET', `/admin/v1/Apps/${tapp.id}`, t.admin);
    assert.equal(shown.json().claimsInIdToken, true);
    const b = new WebBrowser();
    const r = await b.signIn(`${base}/profile`, user.userName);
    assert.equal(r.status, 200, r.body);
    const u = json(r.body).user as Record<string, unknown>;
    assert.equal(u.sub, user.id);
    assert.equal(u.name, 'Ada Lovelace');
    assert.equal(u.given_name, 'Ada');
    assert.equal(u.family_name, 'Lovelace');
    assert.equal(u.preferred_username, user.userName);
    assert.equal(u.email, `${user.userName}@example.com`);
    // Only the granted scopes' claims: no phone or address was asked for.
    assert.equal(u.phone_number, undefined);
    assert.equal(u.address, undefined);
  });

  test('claimsInIdToken must be a boolean', async () => {
    const r = await scim(t.h, 'POST', '/admin/v1/Apps', t.admin, {
      schemas: [APP_SCHEMA], displayName: `cit-${randomBytes(3).toString('hex')}`, isOAuthClient: true, clientType: 'confidential',
      allowedGrants: ['authorization_code'], redirectUris: ['https://app.example.com/cb'], claimsInIdToken: 'yes',
    });
    assertScimError(r, 400, 'invalidValue');
  });

  test('refusals reach the app as OAuth errors: consent denied (access_denied), a wrong client secret (the 401 Basic challenge)', async () => {
    const user = await createUser(t.h, t.admin);
    const { base } = await rp();
    const denied = await new WebBrowser().signIn(`${base}/profile`, user.userName, { consent: 'deny' });
    assert.equal(denied.status, 400, denied.body);
    assert.equal(json(denied.body).error, 'access_denied');
    const wrong = await rp({}, { secret: 'not-the-secret-0123456789abcdefghij' });
    const b = new WebBrowser();
    const r = await b.signIn(`${wrong.base}/profile`, user.userName);
    assert.equal(r.status, 400, r.body);
    // RFC 6749 §5.2: a failed Basic authentication is a 401 with a WWW-Authenticate challenge, which
    // openid-client reports as such (before the invalid_client body).
    assert.equal(json(r.body).error, 'OAUTH_WWW_AUTHENTICATE_CHALLENGE');
    const again = await b.request(`${wrong.base}/profile`);
    assert.equal(again.status, 302, 'still not signed in at the app');
    assert.ok(again.location?.startsWith(`${t.base}/oauth2/v1/authorize?`), again.location);
  });

  test('the middleware\'s default response_type id_token is refused for a code-flow App (unauthorized_client): configure response_type code', async () => {
    const user = await createUser(t.h, t.admin);
    const { base } = await rp({}, { responseType: 'id_token' });
    const b = new WebBrowser();
    const r = await b.signIn(`${base}/profile`, user.userName);
    // RFC 9700 §2.1.2: implicit only for Apps that opted in (allowedGrants implicit); the error comes back by form_post.
    assert.equal(r.status, 400, r.body);
    assert.equal(json(r.body).error, 'unauthorized_client');
    assert.ok(!b.visited.some((u) => u.includes('/ui/v1/signin/')), 'no login page for a request that cannot succeed');
  });
});

describe('passport + passport-openidconnect against a listening Tessera', () => {
  let t: Listening;
  const closers: (() => Promise<void>)[] = [];
  before(async () => { t = await listeningTessera(); });
  after(async () => { for (const c of closers) await c(); await t.close(); });

  /**
   * passport-openidconnect 0.1.2 sends no code_challenge (it has no PKCE) and posts the client
   * secret in the token request body; it reads the profile from the ID token unless told to load
   * userinfo (skipUserProfile: false).
   */
  async function rp(appSettings: Record<string, unknown>, o: { skipUserProfile?: boolean } = {}) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const tapp = await createWebApp(t.h, t.admin, { redirectUris: [`${base}/cb`], ...appSettings });
    const passport = new passportModule.Passport();
    passport.use(new OpenIDConnectStrategy({
      issuer: t.base, authorizationURL: `${t.base}/oauth2/v1/authorize`, tokenURL: `${t.base}/oauth2/v1/token`, userInfoURL: `${t.base}/oauth2/v1/userinfo`,
      clientID: tapp.clientId, clientSecret: tapp.secret!, callbackURL: `${base}/cb`, scope: ['profile', 'email'],
      ...(o.skipUserProfile !== undefined ? { skipUserProfile: o.skipUserProfile } : {}),
    }, (_issuer: string, profile: Profile, done: (err: Error | null, user?: Express.User) => void) => done(null, profile as unknown as Express.User)));
    passport.serializeUser((u, done) => done(null, u));
    passport.deserializeUser((u: Express.User, done) => done(null, u));
    const app = express();
    app.use(session({ secret: randomBytes(16).toString('hex'), resave: false, saveUninitialized: false }));
    app.use(passport.session());
    app.get('/login', passport.authenticate('openidconnect'));
    app.get('/cb', passport.authenticate('openidconnect', { failureRedirect: '/failed', failureMessage: true }), (_req, res) => res.redirect('/me'));
    app.get('/me', (req, res) => { if (req.user) res.json(req.user); else res.status(401).json({ error: 'not signed in' }); });
    app.get('/failed', (req, res) => { res.status(403).json({ error: 'failed', messages: (req.session as unknown as { messages?: string[] }).messages }); });
    errorsAsJson(app);
    const server = await listenApp(app as never, port);
    closers.push(server.close);
    return { base, tapp };
  }

  test('a default App (PKCE required) refuses the PKCE-less library: invalid_request back at the callback, no login page', async () => {
    const user = await createUser(t.h, t.admin);
    const { base } = await rp({});
    const b = new WebBrowser();
    const r = await b.signIn(`${base}/login`, user.userName);
    assert.equal(r.status, 500, r.body);
    assert.equal(json(r.body).error, 'invalid_request');
    const cb = new URL(b.visited.find((u) => u.startsWith(`${base}/cb`))!);
    assert.match(cb.searchParams.get('error_description') ?? '', /PKCE is required/);
    assert.ok(!b.visited.some((u) => u.includes('/ui/v1/signin/')));
  });

  test('pkceRequired: false on a confidential App: the user signs in; without claimsInIdToken the profile has only the id', async () => {
    const user = await createUser(t.h, t.admin, undefined, { displayName: 'Ada Lovelace' });
    const { base } = await rp({ pkceRequired: false });
    const b = new WebBrowser();
    const r = await b.signIn(`${base}/login`, user.userName);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.url, `${base}/me`);
    const p = json(r.body);
    assert.equal(p.id, user.id);
    assert.equal(p.displayName, undefined);
    assert.equal(p.emails, undefined);
  });

  // Issue 7: profile claims in the ID token for libraries that read them there.
  test('pkceRequired: false and claimsInIdToken: true: passport\'s profile has displayName and emails from Tessera', async () => {
    const user = await createUser(t.h, t.admin, undefined, { displayName: 'Ada Lovelace' });
    const { base } = await rp({ pkceRequired: false, claimsInIdToken: true });
    const r = await new WebBrowser().signIn(`${base}/login`, user.userName);
    assert.equal(r.status, 200, r.body);
    const p = json(r.body);
    assert.equal(p.id, user.id);
    assert.equal(p.displayName, 'Ada Lovelace');
    assert.equal(p.username, user.userName);
    assert.deepEqual(p.emails, [{ value: `${user.userName}@example.com` }]);
    assert.deepEqual(p.name, { familyName: 'Lovelace', givenName: 'Ada' });
  });

  test('skipUserProfile: false loads the profile from userinfo instead (works without claimsInIdToken)', async () => {
    const user = await createUser(t.h, t.admin, undefined, { displayName: 'Ada Lovelace' });
    const { base } = await rp({ pkceRequired: false }, { skipUserProfile: false });
    const r = await new WebBrowser().signIn(`${base}/login`, user.userName);
    assert.equal(r.status, 200, r.body);
    const p = json(r.body);
    assert.equal(p.id, user.id);
    assert.equal(p.displayName, 'Ada Lovelace');
    assert.deepEqual(p.emails, [{ value: `${user.userName}@example.com` }]);
  });

  test('pkceRequired: false is refused for a public App (RFC 9700 §2.1.1); consent denied ends at the failure route', async () => {
    const r = await scim(t.h, 'POST', '/admin/v1/Apps', t.admin, {
      schemas: [APP_SCHEMA], displayName: `pub-${randomBytes(3).toString('hex')}`, isOAuthClient: true, clientType: 'public',
      allowedGrants: ['authorization_code'], redirectUris: ['https://app.example.com/cb'], pkceRequired: false,
    });
    assertScimError(r, 400, 'invalidValue');
    const user = await createUser(t.h, t.admin);
    const { base } = await rp({ pkceRequired: false });
    const b = new WebBrowser();
    const denied = await b.signIn(`${base}/login`, user.userName, { consent: 'deny' });
    assert.equal(denied.status, 403, denied.body);
    assert.equal(denied.url, `${base}/failed`);
    assert.equal(new URL(b.visited.find((u) => u.startsWith(`${base}/cb`))!).searchParams.get('error'), 'access_denied');
    assert.equal((await b.get(`${base}/me`)).status, 401);
  });
});
