import type { AuthDeps, ClientAuthenticator, RequestParts } from './types.js';
import { authenticateAssertion, matchesAssertion } from './assertion.js';

/** RFC 7523 §2.2 signed with a key from the client's registered JWKS (OIDC Core §9 private_key_jwt). */
export class PrivateKeyJwtAuthenticator implements ClientAuthenticator {
  readonly method = 'private_key_jwt' as const;
  matches = matchesAssertion;
  authenticate(req: RequestParts, deps: AuthDeps) { return authenticateAssertion(req, deps, this.method); }
}
