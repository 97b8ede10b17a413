import type { AuthDeps, ClientAuthenticator, RequestParts } from './types.js';
import { authenticateAssertion, matchesAssertion } from './assertion.js';

/** RFC 7523 §2.2 with an HMAC over the client's secret (OIDC Core §9 client_secret_jwt). */
export class ClientSecretJwtAuthenticator implements ClientAuthenticator {
  readonly method = 'client_secret_jwt' as const;
  matches = matchesAssertion;
  authenticate(req: RequestParts, deps: AuthDeps) { return authenticateAssertion(req, deps, this.method); }
}
