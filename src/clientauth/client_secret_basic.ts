import { InvalidClient } from '../core/errors.js';
import type { AppRecord } from '../core/types.js';
import type { ClientAuthenticator, RequestParts, AuthDeps } from './types.js';
import { usableClient } from './util.js';

/** The application/x-www-form-urlencoded decoding of `s` (when it differs and is valid), then `s` itself. */
function formVariants(s: string): string[] {
  if (!/[%+]/.test(s)) return [s];
  try {
    const d = decodeURIComponent(s.replace(/\+/g, ' '));
    return d === s ? [s] : [d, s];
  } catch {
    return [s];
  }
}

/** RFC 6749 §2.3.1: HTTP Basic with the form-urlencoded client_id and client_secret. */
export class ClientSecretBasicAuthenticator implements ClientAuthenticator {
  readonly method = 'client_secret_basic' as const;

  matches(req: RequestParts): boolean {
    return typeof req.authorization === 'string' && /^basic(\s|$)/i.test(req.authorization);
  }

  async authenticate(req: RequestParts, deps: AuthDeps) {
    const err = (debug: string) => {
      const e = new InvalidClient('client authentication failed', debug);
      // RFC 6749 §5.2: 401 with a challenge matching the scheme the client used.
      e.headers = { 'www-authenticate': `Basic realm="${deps.issuer}", charset="UTF-8"` };
      return e;
    };
    const b64 = req.authorization!.replace(/^basic\s*/i, '').trim();
    if (!b64 || b64.length > 4096 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw err('malformed Basic credentials');
    const decoded = Buffer.from(b64, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) throw err('Basic credentials without a colon');
    const rawId = decoded.slice(0, i);
    const rawSecret = decoded.slice(i + 1);
    if (!rawId || !rawSecret) throw err('empty client_id or secret');
    // RFC 6749 §2.3.1 has clients form-urlencode both parts first; many (curl -u, most libraries) do
    // not, so a secret with `+` would never match. Try the decoded form, then the raw one.
    let client: AppRecord | undefined;
    let id = rawId;
    for (const candidate of formVariants(rawId)) {
      client = await deps.findClient(candidate);
      if (client) { id = candidate; break; }
    }
    // RFC 6749 §2.3.1: a client_id in the body must agree with the authenticated one.
    if (req.params.client_id !== undefined && req.params.client_id !== id) throw err('client_id parameter does not match Basic credentials');
    const ok = formVariants(rawSecret).some((secret) => deps.secrets.verify(secret, client?.secretHash));
    if (!ok || !usableClient(client, this.method)) throw err(`basic authentication failed for ${id.slice(0, 100)}`);
    return { client, method: this.method };
  }
}
