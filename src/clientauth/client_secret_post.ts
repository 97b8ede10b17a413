import type { AuthDeps, ClientAuthenticator, RequestParts } from './types.js';
import { fail, usableClient } from './util.js';

/** RFC 6749 §2.3.1: client_id and client_secret in the form body. */
export class ClientSecretPostAuthenticator implements ClientAuthenticator {
  readonly method = 'client_secret_post' as const;
  matches(req: RequestParts): boolean { return req.params.client_secret !== undefined; }
  async authenticate(req: RequestParts, deps: AuthDeps) {
    const id = req.params.client_id;
    const secret = req.params.client_secret!;
    if (!id) throw fail('client_secret without client_id');
    const client = await deps.findClient(id);
    const ok = deps.secrets.verify(secret, client?.secretHash);
    if (!ok || !usableClient(client, this.method)) throw fail(`post authentication failed for ${id}`);
    return { client, method: this.method };
  }
}
