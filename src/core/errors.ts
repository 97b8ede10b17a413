/**
 * Typed OAuth errors. The wire code is the identity: handlers throw these, one error handler
 * renders them (JSON at the token-style endpoints, redirect or HTML at the authorization endpoint).
 * `description` is client-safe; `debug` is for logs only.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'access_denied'
  | 'unsupported_token_type'
  // RFC 8707 §2 / RFC 8693 §2.2.2: no token can be issued for the requested resource or audience
  | 'invalid_target'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'server_error'
  | 'temporarily_unavailable'
  // authorization endpoint (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6)
  | 'unsupported_response_type'
  | 'login_required'
  | 'consent_required'
  | 'interaction_required'
  | 'account_selection_required'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  // device authorization grant (RFC 8628 §3.5)
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token';

export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly status = 400,
    readonly debug?: string,
  ) {
    super(description);
  }
  /** Extra response headers (e.g. WWW-Authenticate). */
  headers?: Record<string, string>;
}

export class InvalidRequest extends OAuthError {
  constructor(d = 'the request is malformed', debug?: string) { super('invalid_request', d, 400, debug); }
}
export class InvalidClient extends OAuthError {
  constructor(d = 'client authentication failed', debug?: string) { super('invalid_client', d, 401, debug); }
}
export class InvalidGrant extends OAuthError {
  constructor(d = 'grant is invalid', debug?: string) { super('invalid_grant', d, 400, debug); }
}
export class UnauthorizedClient extends OAuthError {
  constructor(d = 'the client is not allowed to use this grant type', debug?: string) { super('unauthorized_client', d, 400, debug); }
}
export class UnsupportedGrantType extends OAuthError {
  constructor(d = 'unsupported grant_type', debug?: string) { super('unsupported_grant_type', d, 400, debug); }
}
export class InvalidScope extends OAuthError {
  constructor(d = 'the requested scope is invalid', debug?: string) { super('invalid_scope', d, 400, debug); }
}
/** RFC 8707 §2, RFC 8693 §2.2.2: the requested resource or audience is not one a token may be issued for. */
export class InvalidTarget extends OAuthError {
  constructor(d = 'the requested target is not valid', debug?: string) { super('invalid_target', d, 400, debug); }
}
export class InvalidToken extends OAuthError {
  constructor(d = 'the access token is invalid', status = 401, debug?: string) { super('invalid_token', d, status, debug); }
}
export class InsufficientScope extends OAuthError {
  constructor(d = 'the access token does not allow this operation', debug?: string) { super('insufficient_scope', d, 403, debug); }
}
export class InvalidClientMetadata extends OAuthError {
  constructor(d: string, debug?: string) { super('invalid_client_metadata', d, 400, debug); }
}
export class InvalidRedirectUri extends OAuthError {
  constructor(d: string, debug?: string) { super('invalid_redirect_uri', d, 400, debug); }
}
/** The store failed: fail closed (RFC 9700 spirit, fosite GHSA-7mqr-2v3q-v2wm) with 503, never pretend success. */
export class StoreUnavailable extends OAuthError {
  constructor(debug?: string) { super('temporarily_unavailable', 'the service is temporarily unavailable', 503, debug); }
}

/** RFC 6749 §5.2 / RFC 6750 §3 error_description charset: %x20-21 / %x23-5B / %x5D-7E. */
export function safeDescription(s: string): string {
  return s.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?').slice(0, 300);
}
