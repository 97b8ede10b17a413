import type { Clock } from '../core/clock.js';
import type { AppRecord, DomainRecord, TokenEndpointAuthMethod } from '../core/types.js';
import type { MasterKey } from '../crypto/masterkey.js';
import type { SecretVerifier } from '../crypto/secrets.js';
import type { AssertionJtiRepository } from '../storage/ports.js';
import type { JwksFetcher } from './jwks_fetcher.js';
import type { PresentedCertificate } from './certificate.js';

export interface RequestParts {
  authorization?: string;
  params: Record<string, string>;
  /** The TLS client certificate of the request (RFC 8705), when one came. */
  certificate?: PresentedCertificate;
  /** Why a certificate that seemed to come was not used (an untrusted proxy, a malformed header). */
  certificateProblem?: string;
}

export interface AuthDeps {
  domain: DomainRecord;
  issuer: string;
  tokenEndpoint: string;
  clock: Clock;
  masterKey: MasterKey;
  secrets: SecretVerifier;
  findClient(clientId: string): Promise<AppRecord | undefined>;
  assertionJtis: AssertionJtiRepository;
  jwksFetcher: JwksFetcher;
  clockSkewSeconds: number;
  assertionMaxLifetime: number;
  acceptTokenEndpointAudience: boolean;
}

export interface AuthenticatedClient {
  client: AppRecord;
  method: TokenEndpointAuthMethod;
}

export interface ClientAuthenticator {
  readonly method: TokenEndpointAuthMethod;
  matches(req: RequestParts): boolean;
  /** Throws InvalidClient (or InvalidRequest for malformed input). */
  authenticate(req: RequestParts, deps: AuthDeps): Promise<AuthenticatedClient>;
}

/** Parameters that belong to client authentication, dropped before a grant handler sees the request. */
export const CLIENT_AUTH_PARAMS = new Set(['client_id', 'client_secret', 'client_assertion', 'client_assertion_type']);
