import type { AuthDeps, ClientAuthenticator, RequestParts } from './types.js';
import { fail, usableClient } from './util.js';

/** Public clients identify themselves with client_id only (RFC 6749 §2.1, §3.2.1). */
export class NoneAuthenticator implements ClientAuthenticator {
  readonly method = 'none' as const;
  matches(req: RequestParts): boolean { return req.params.client_id !== undefined; }
  async authenticate(req: RequestParts, deps: AuthDeps) {
    const client = await deps.findClient(req.params.client_id!);
    if (!usableClient(client, this.method) || client.clientType !== 'public') throw fail(`client ${req.params.client_id} must authenticate`);
    return { client, method: this.method };
  }
}
