/**
 * Sign-in for the built-in public clients: OAuth 2.0 authorization code + PKCE (S256) with
 * oauth4webapi, as a normal top-level redirect.
 * - Tokens live in memory only (this module's `Session`); a reload signs in again through the
 *   server's SSO session (a redirect that comes straight back when the browser is signed in).
 * - sessionStorage holds only what must survive the redirect: code verifier, state, nonce and the
 *   hash route to come back to. It is removed as soon as the response is processed.
 * - The ID token's iss, aud, exp, iat and nonce are checked by processAuthorizationCodeResponse (it comes
 *   straight from the token endpoint over the page's own origin, OIDC Core §3.1.3.7).
 * - No refresh token: the clients are not allowed the grant. When the access token expires the API
 *   client's 401 sends the user through the (silent, SSO) sign-in again.
 */
import * as oauth from 'oauth4webapi';
import type { AppConfig } from './config.js';

const PENDING = 'tessera.signin';

interface Pending { verifier: string; state: string; nonce: string; route: string }

export interface Session {
  accessToken: string;
  idToken: string;
  /** The scopes the token carries (the token response's `scope`). */
  scopes: ReadonlySet<string>;
  expiresAt: number;
  /** ID token claims (sub, name, email...). */
  claims: Record<string, unknown>;
}

export class SignInError extends Error {
  constructor(message: string, readonly code?: string) { super(message); }
}

function redirectUri(): string {
  // The page's own URL without query and hash: the redirect URI registered for the client.
  return `${location.origin}${location.pathname}`;
}

function options(cfg: AppConfig): { [oauth.allowInsecureRequests]?: boolean } {
  // A development server on plain http (http://localhost:8080): allowed only when the issuer itself is http.
  return cfg.issuer.startsWith('http:') ? { [oauth.allowInsecureRequests]: true } : {};
}

const servers = new Map<string, Promise<oauth.AuthorizationServer>>();
export function discover(cfg: AppConfig): Promise<oauth.AuthorizationServer> {
  let p = servers.get(cfg.issuer);
  if (!p) {
    const issuer = new URL(cfg.issuer);
    p = oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...options(cfg) }).then((r) => oauth.processDiscoveryResponse(issuer, r));
    p.catch(() => servers.delete(cfg.issuer));
    servers.set(cfg.issuer, p);
  }
  return p;
}

/** Sends the browser to the authorization endpoint. Never returns (the page unloads). */
export async function beginSignIn(cfg: AppConfig, prompt?: string): Promise<never> {
  const as = await discover(cfg);
  const pending: Pending = {
    verifier: oauth.generateRandomCodeVerifier(), state: oauth.generateRandomState(), nonce: oauth.generateRandomNonce(), route: location.hash,
  };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(as.authorization_endpoint!);
  url.searchParams.set('client_id', cfg.clientId);
  url.searchParams.set('redirect_uri', redirectUri());
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', cfg.scope);
  url.searchParams.set('state', pending.state);
  url.searchParams.set('nonce', pending.nonce);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(pending.verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  if (prompt) url.searchParams.set('prompt', prompt);
  location.assign(url.href);
  return new Promise<never>(() => {});
}

/**
 * On page load: finishes a sign-in when the URL carries an authorization response, else starts one.
 * Resolves with the session, or rejects with a SignInError (the server refused: show it, do not loop).
 */
export async function signIn(cfg: AppConfig): Promise<Session> {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return beginSignIn(cfg);
  const raw = sessionStorage.getItem(PENDING);
  sessionStorage.removeItem(PENDING);
  // Whatever happens next, the code must not stay in the address bar or history.
  history.replaceState(null, '', redirectUri() + (raw ? (JSON.parse(raw) as Pending).route : ''));
  if (!raw) return beginSignIn(cfg); // a stale or foreign response: start over
  const pending = JSON.parse(raw) as Pending;
  const as = await discover(cfg);
  const client: oauth.Client = { client_id: cfg.clientId };
  let callback: URLSearchParams;
  try {
    callback = oauth.validateAuthResponse(as, client, params, pending.state);
  } catch (e) {
    if (e instanceof oauth.AuthorizationResponseError) throw new SignInError(e.error_description ?? e.error, e.error);
    throw new SignInError(e instanceof Error ? e.message : String(e));
  }
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), callback, redirectUri(), pending.verifier, options(cfg));
  let result: oauth.TokenEndpointResponse;
  try {
    result = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: pending.nonce, requireIdToken: true });
  } catch (e) {
    if (e instanceof oauth.ResponseBodyError) throw new SignInError(e.error_description ?? e.error, e.error);
    throw new SignInError(e instanceof Error ? e.message : String(e));
  }
  const claims = oauth.getValidatedIdTokenClaims(result) as unknown as Record<string, unknown>;
  return {
    accessToken: result.access_token, idToken: result.id_token!, claims,
    scopes: new Set((result.scope ?? '').split(' ').filter(Boolean)),
    expiresAt: Date.now() + (result.expires_in ?? 300) * 1000,
  };
}

/** RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) back to this page. */
export async function signOut(cfg: AppConfig, session: Session | undefined): Promise<never> {
  const as = await discover(cfg);
  if (!as.end_session_endpoint) { location.assign(redirectUri()); return new Promise<never>(() => {}); }
  const url = new URL(as.end_session_endpoint);
  url.searchParams.set('client_id', cfg.clientId);
  url.searchParams.set('post_logout_redirect_uri', redirectUri());
  if (session) url.searchParams.set('id_token_hint', session.idToken);
  location.assign(url.href);
  return new Promise<never>(() => {});
}
