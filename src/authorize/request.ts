import { OAuthError } from '../core/errors.js';
import { bool, num, object, oneOf, opt, str, strs } from '../core/shape.js';
import { GRANT_TYPES, type AppRecord } from '../core/types.js';
import { splitScope } from '../identity/scopes.js';

/** A validated authorization request (RFC 6749 §4.1.1, §4.2.1; OIDC Core §3.1.2.1). */
export interface AuthorizeRequest {
  clientId: string;
  /** The redirect URI responses go to (the one sent, or the single registered one). */
  redirectUri: string;
  /** RFC 6749 §4.1.3: when sent here, the token request must repeat it. */
  redirectUriSent: boolean;
  responseType: ResponseType;
  responseMode: ResponseMode;
  scopes: string[];
  state?: string;
  nonce?: string;
  prompt: string[];
  maxAge?: number;
  loginHint?: string;
  acrValues: string[];
  codeChallenge?: string;
}

import { RESPONSE_TYPES, type ResponseType } from './response_types.js';

export { RESPONSE_TYPES, type ResponseType };
export const RESPONSE_MODES = ['query', 'fragment', 'form_post'] as const;
export type ResponseMode = (typeof RESPONSE_MODES)[number];

let authorizeRequestReader: ((v: unknown, path: string) => AuthorizeRequest) | undefined;
/** An authorization request as a sign-in flow stored it (built on first use: RESPONSE_TYPES comes from the grant registry). */
export function authorizeRequestShape(): (v: unknown, path: string) => AuthorizeRequest {
  authorizeRequestReader ??= object<AuthorizeRequest>({
    clientId: str, redirectUri: str, redirectUriSent: bool, responseType: oneOf(RESPONSE_TYPES), responseMode: oneOf(RESPONSE_MODES), scopes: strs,
    state: opt(str), nonce: opt(str), prompt: strs, maxAge: opt(num), loginHint: opt(str), acrValues: strs, codeChallenge: opt(str),
  });
  return authorizeRequestReader;
}
export { ACR_MFA, ACR_PASSWORD } from '../identity/acr.js';

/**
 * An error the client cannot be told about by redirect (unknown client, bad redirect_uri): it is
 * shown to the user at Tessera (RFC 6749 §4.1.2.1, RFC 9700 §4.11.2: never an open redirector).
 */
export class AuthorizePageError extends Error {
  constructor(readonly title: string, readonly detail: string, readonly status = 400) { super(detail); }
}

/** An error that goes back to the client's redirect URI (with `state` and `iss`). */
export class AuthorizeRedirectError extends OAuthError {
  constructor(readonly request: Pick<AuthorizeRequest, 'redirectUri' | 'responseMode' | 'state'>, error: OAuthError['error'], description: string) {
    super(error, description, 302);
  }
}

const LOOPBACK = /^http:\/\/(127\.0\.0\.1|\[::1\])(:\d{1,5})?([/?].*)?$/;

/**
 * RFC 9700 §4.1.3: exact string match. RFC 8252 §7.3: for a loopback IP literal with http, only the
 * port may differ (native apps listen on an ephemeral port). `localhost` gets no such leeway.
 */
export function matchRedirectUri(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  const m = LOOPBACK.exec(requested);
  if (!m) return false;
  for (const r of registered) {
    const n = LOOPBACK.exec(r);
    if (n && n[1] === m[1] && (n[3] ?? '') === (m[3] ?? '')) return true;
  }
  return false;
}

const PKCE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const MAX_PARAM = 4096;

/** Parameters that may appear once only; a repeated one is refused (RFC 6749 §3.1). */
export function singleParams(query: Record<string, unknown>): { params: Record<string, string>; repeated: string[] } {
  const params: Record<string, string> = Object.create(null);
  const repeated: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (Array.isArray(v)) { repeated.push(k); continue; }
    if (typeof v === 'string' && v !== '') params[k] = v;
  }
  return { params, repeated };
}

/**
 * Validate an authorization request in the order RFC 6749 §4.1.2.1 demands: first the client and
 * redirect URI (errors shown at Tessera), then everything else (errors sent to the client).
 */
export function parseAuthorizeRequest(
  params: Record<string, string>, repeated: readonly string[], findClient: (id: string) => AppRecord | undefined,
): { client: AppRecord; request: AuthorizeRequest } {
  if (repeated.includes('client_id') || repeated.includes('redirect_uri')) {
    throw new AuthorizePageError('Invalid request', 'client_id and redirect_uri may appear only once.');
  }
  const clientId = params.client_id;
  if (!clientId) throw new AuthorizePageError('Invalid request', 'The request has no client_id.');
  const client = clientId.length <= 200 ? findClient(clientId) : undefined;
  if (!client || !client.active || !client.isOAuthClient) throw new AuthorizePageError('Unknown application', 'The application that sent you here is not known.');
  let redirectUri = params.redirect_uri;
  const redirectUriSent = redirectUri !== undefined;
  if (redirectUri !== undefined) {
    if (redirectUri.length > 2000 || !matchRedirectUri(client.redirectUris, redirectUri)) {
      throw new AuthorizePageError('Invalid redirect URI', 'The redirect URI of this request is not registered for the application.');
    }
  } else {
    // RFC 6749 §3.1.2.3: may be omitted only if exactly one is registered (OIDC requires it; we are lenient as OAuth allows).
    if (client.redirectUris.length !== 1) throw new AuthorizePageError('Invalid request', 'The request has no redirect_uri.');
    redirectUri = client.redirectUris[0]!;
  }

  const rawType = params.response_type;
  const responseType = rawType?.split(' ').filter(Boolean).sort((a, b) => (a === 'id_token' ? -1 : b === 'id_token' ? 1 : 0)).join(' ');
  const implicit = responseType !== undefined && responseType !== 'code';
  // Until the response mode is known, errors go the default way for the response type (RFC 6749 §4.2.2.1: fragment).
  let responseMode: ResponseMode = implicit ? 'fragment' : 'query';
  const base = { redirectUri, responseMode, state: params.state };
  const fail = (error: OAuthError['error'], d: string) => new AuthorizeRedirectError({ ...base, responseMode }, error, d);

  const mode = params.response_mode;
  if (mode !== undefined) {
    if (!(RESPONSE_MODES as readonly string[]).includes(mode)) throw fail('invalid_request', 'unsupported response_mode');
    // RFC 9700 §4.3.1 / OAuth Multiple Response Types §2.1: tokens never in the query string.
    if (implicit && mode === 'query') throw fail('invalid_request', 'response_mode=query is not allowed with tokens in the response');
    responseMode = mode as ResponseMode;
  }
  if (repeated.length > 0) throw fail('invalid_request', `parameter included more than once: ${[...repeated].sort().join(', ').slice(0, 200)}`);
  for (const [k, v] of Object.entries(params)) if (v.length > MAX_PARAM) throw fail('invalid_request', `parameter ${k.slice(0, 50)} is too long`);
  if (params.request !== undefined) throw fail('request_not_supported', 'request objects are not supported');
  if (params.request_uri !== undefined) throw fail('request_uri_not_supported', 'request_uri is not supported');
  if (!rawType) throw fail('invalid_request', 'response_type is required');
  if (!(RESPONSE_TYPES as readonly string[]).includes(responseType!)) throw fail('unsupported_response_type', 'unsupported response_type');
  const rt = responseType as ResponseType;
  // RFC 9700 §2.1.2: implicit only for clients that opted in; code only for clients allowed the code grant.
  if (rt === 'code' ? !client.allowedGrants.includes(GRANT_TYPES.authorizationCode) : !client.allowedGrants.includes(GRANT_TYPES.implicit)) {
    throw fail('unauthorized_client', `the client may not use response_type=${rt}`);
  }

  let scopes: string[];
  try { scopes = splitScope(params.scope); } catch (e) { throw fail('invalid_scope', (e as Error).message); }
  const oidc = scopes.includes('openid');
  if (rt !== 'code' && rt !== 'token' && !oidc) throw fail('invalid_scope', 'response_type id_token needs the openid scope');
  // OIDC Core §3.2.2.1: nonce is required when an ID token comes from the authorization endpoint.
  if (rt.includes('id_token') && !params.nonce) throw fail('invalid_request', 'nonce is required for response types returning an ID token');

  const prompt = (params.prompt ?? '').split(' ').filter(Boolean);
  for (const p of prompt) if (!['none', 'login', 'consent', 'select_account'].includes(p)) throw fail('invalid_request', 'unsupported prompt value');
  // OIDC Core §3.1.2.1: none with any other value is an error.
  if (prompt.includes('none') && prompt.length > 1) throw fail('invalid_request', 'prompt=none cannot be combined with other values');

  let maxAge: number | undefined;
  if (params.max_age !== undefined) {
    if (!/^\d{1,9}$/.test(params.max_age)) throw fail('invalid_request', 'max_age must be a non-negative integer');
    maxAge = Number(params.max_age);
  }

  // PKCE (RFC 7636; RFC 9700 §2.1.1): S256 only; plain (and a challenge without a method, which means plain) is refused.
  let codeChallenge: string | undefined;
  if (rt === 'code') {
    const method = params.code_challenge_method;
    codeChallenge = params.code_challenge;
    if (codeChallenge !== undefined) {
      if (method !== 'S256') throw fail('invalid_request', 'code_challenge_method must be S256');
      if (!PKCE_CHALLENGE.test(codeChallenge)) throw fail('invalid_request', 'code_challenge must be a base64url SHA-256 value (43 characters)');
    } else if (method !== undefined) {
      throw fail('invalid_request', 'code_challenge_method without code_challenge');
    } else if (client.clientType === 'public' || client.pkceRequired !== false) {
      throw fail('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256');
    }
  }

  return {
    client,
    request: {
      clientId, redirectUri, redirectUriSent, responseType: rt, responseMode, scopes, state: params.state, nonce: params.nonce, prompt, maxAge,
      loginHint: params.login_hint, acrValues: (params.acr_values ?? '').split(' ').filter(Boolean), codeChallenge,
    },
  };
}
