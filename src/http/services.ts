import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { DEFAULT_DOMAIN, type AppRecord, type DomainRecord } from '../core/types.js';
import { KeyStore } from '../crypto/keystore.js';
import type { MasterKey } from '../crypto/masterkey.js';
import { SecretVerifier } from '../crypto/secrets.js';
import { JwksFetcher } from '../clientauth/jwks_fetcher.js';
import { SecurityEvents } from '../events/emitter.js';
import { grantHandlers, type GrantHandler } from '../grants/index.js';
import { Catalogs } from '../identity/catalog.js';
import { DomainService } from '../identity/domains.js';
import { CommonPasswords, PasswordHasher, PasswordPolicyChecker } from '../identity/passwords.js';
import { DeleteUserGrantsHook, RevokeUserTokensHook, UserService } from '../identity/users.js';
import type { Repositories } from '../storage/ports.js';
import { AccessTokenIssuer } from '../tokens/issuer.js';
import { AccessTokenValidator } from '../tokens/validator.js';

/** Everything the HTTP layer needs, built once per app (no module-level singletons). */
export interface Services {
  config: Config;
  clock: Clock;
  log: FastifyBaseLogger;
  repos: Repositories;
  masterKey: MasterKey;
  secrets: SecretVerifier;
  keys: KeyStore;
  catalogs: Catalogs;
  domains: DomainService;
  events: SecurityEvents;
  accessTokens: AccessTokenIssuer;
  validator: AccessTokenValidator;
  jwksFetcher: JwksFetcher;
  grants: Map<string, GrantHandler>;
  users: UserService;
  issuerOf(d: Pick<DomainRecord, 'name'>): string;
}

export function issuerFor(publicUrl: string, domainName: string): string {
  return domainName === DEFAULT_DOMAIN ? publicUrl : `${publicUrl}/domains/${domainName}`;
}

export function buildServices(config: Config, clock: Clock, log: FastifyBaseLogger, repos: Repositories, masterKey: MasterKey): Services {
  const ttl = config.cacheTtlSeconds * 1000;
  const issuerOf = (d: Pick<DomainRecord, 'name'>) => issuerFor(config.publicUrl, d.name);
  const keys = new KeyStore({ repo: repos.keys, masterKey, clock, cacheTtlMs: ttl });
  const catalogs = new Catalogs(repos, clock, ttl, issuerOf);
  const clientActive = async (d: DomainRecord, clientId: string) => {
    const c: AppRecord | undefined = await catalogs.client(d.id, clientId);
    return c !== undefined && c.active;
  };
  return {
    config, clock, log, repos, masterKey, keys, catalogs, issuerOf, secrets: new SecretVerifier(masterKey),
    domains: new DomainService(repos, clock),
    events: new SecurityEvents(repos.audit, clock, log),
    accessTokens: new AccessTokenIssuer({ keys, tokens: repos.tokens, clock, defaultTtl: config.accessTokenTtl, defaultAlg: config.defaultSigningAlg }),
    validator: new AccessTokenValidator({ keys, tokens: repos.tokens, revocations: repos.revocations, clock, clientActive }),
    jwksFetcher: new JwksFetcher(clock, { allowPrivate: config.unsafeAllowPrivateFetch }),
    grants: grantHandlers(),
    users: userService(repos, clock),
  };
}

function userService(repos: Repositories, clock: Clock): UserService {
  const hasher = new PasswordHasher();
  return new UserService({
    users: repos.users, clock, hasher, policy: new PasswordPolicyChecker(hasher, new CommonPasswords()),
    // The hook point for user deactivation/deletion: sessions and consents add theirs here.
    hooks: [new RevokeUserTokensHook(repos.tokens), new DeleteUserGrantsHook(repos.grants)],
  });
}
