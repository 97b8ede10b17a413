const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'about:', 'blob:', 'filesystem:', 'ws:', 'wss:']);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Registration-time check of one redirect URI; returns why it is refused, or undefined.
 * RFC 6749 §3.1.2: absolute, no fragment. RFC 9700 §2.1/§4.1.3 and RFC 8252 §7: https, or http on a
 * loopback host (native apps), or a private-use scheme in reverse-domain form (e.g. com.example.app:/cb).
 * Never `javascript:`, `data:`, ... (Keycloak CVE-2020-10776).
 */
export function redirectUriProblem(uri: unknown): string | undefined {
  if (typeof uri !== 'string' || uri.length === 0) return 'must be a non-empty string';
  if (uri.length > 2000) return 'is too long';
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (/[\s\x00-\x1f\x7f]/.test(uri)) return 'must not contain whitespace or control characters';
  let u: URL;
  try { u = new URL(uri); } catch { return 'must be an absolute URI'; }
  if (FORBIDDEN_SCHEMES.has(u.protocol)) return `scheme ${u.protocol} is not allowed`;
  if (uri.includes('#')) return 'must not contain a fragment';
  if (u.username || u.password) return 'must not contain user information';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:') return LOOPBACK_HOSTS.has(u.hostname) ? undefined : 'http is allowed only for loopback hosts; use https';
  // RFC 8252 §7.1: private-use URI schemes use reverse domain names.
  if (/^[a-z][a-z0-9+-]*\.[a-z0-9+\-.]+:$/i.test(u.protocol)) return undefined;
  return `scheme ${u.protocol} is not allowed`;
}
