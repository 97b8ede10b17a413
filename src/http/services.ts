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
import { TrustedIssuerKeys } from '../identity/trusted_issuers.js';
import { claimsOf } from '../identity/claims.js';
import { DomainService } from '../identity/domains.js';
import { CommonPasswords, PasswordHasher, PasswordPolicyChecker } from '../identity/passwords.js';
import { DeleteUserGrantsHook, issuedAfterCut, RevokeUserTokensHook, UserService } from '../identity/users.js';
import { DeleteUserFactorsHook, TotpService } from '../identity/totp.js';
import { Authenticator } from '../identity/authn.js';
import { EndUserSessionsHook, SessionService } from '../identity/sessions.js';
import { CodeEntryThrottle, LoginThrottle } from '../identity/throttle.js';
import { IdTokenIssuer } from '../tokens/id_token.js';
import { UserTokens } from '../tokens/user_tokens.js';
import type { Repositories } from '../storage/ports.js';
import { AccessTokenIssuer } from '../tokens/issuer.js';
import { AccessTokenValidator } from '../tokens/validator.js';
import { ClientCertificates } from './client_certificate.js';
import { NoChangeFeed, type ChangeFeed } from '../cache/invalidation.js';

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
  /** RFC 8705: the TLS client certificate of a request (own listener or trusted proxy header). */
  clientCertificates: ClientCertificates;
  trustedIssuerKeys: TrustedIssuerKeys;
  grants: Map<string, GrantHandler>;
  users: UserService;
  totp: TotpService;
  sessions: SessionService;
  throttle: LoginThrottle;
  authn: Authenticator;
  idTokens: IdTokenIssuer;
  userTokens: UserTokens;
  /** Wrong user codes at the device verification page (RFC 8628 §5.1). */
  userCodeThrottle: CodeEntryThrottle;
  issuerOf(d: Pick<DomainRecord, 'name'>): string;
  /** How this process hears of writes made by others (cache/invalidation.ts); `live` tells whether it does now. */
  changes: ChangeFeed;
}

export function issuerFor(publicUrl: string, domainName: string): string {
  return domainName === DEFAULT_DOMAIN ? publicUrl : `${publicUrl}/domains/${domainName}`;
}

export function buildServices(
  config: Config, clock: Clock, log: FastifyBaseLogger, repos: Repositories, masterKey: MasterKey, changes: ChangeFeed = new NoChangeFeed(log),
): Services {
  const ttl = config.cacheTtlSeconds * 1000;
  // While no change notifications arrive, a cache entry may hide a change made elsewhere: keep entries briefly.
  const fallback = Math.min(ttl, config.cacheFallbackTtlSeconds * 1000);
  const freshForMs = () => (changes.live ? ttl : fallback);
  const issuerOf = (d: Pick<DomainRecord, 'name'>) => issuerFor(config.publicUrl, d.name);
  const keys = new KeyStore({ repo: repos.keys, masterKey, clock, cacheTtlMs: ttl, freshForMs, publishDelayMs: config.keyPublishDelaySeconds * 1000 });
  const catalogs = new Catalogs(repos, clock, freshForMs, issuerOf);
  changes.subscribe(catalogs);
  changes.subscribe(keys);
  // A client switched off, then on again, does not get its old tokens back (tokensValidAfter is set when it is switched off).
  const clientValid = async (d: DomainRecord, clientId: string, iat: number) => {
    const c: AppRecord | undefined = await catalogs.client(d.id, clientId);
    return c !== undefined && c.active && issuedAfterCut(iat, c.tokensValidAfter);
  };
  const events = new SecurityEvents(repos.audit, clock, log, { failuresPerMinute: config.auditFailuresPerMinute });
  const accessTokens = new AccessTokenIssuer({ keys, tokens: repos.tokens, clock, defaultTtl: config.accessTokenTtl, defaultAlg: config.defaultSigningAlg });
  const idTokens = new IdTokenIssuer({ keys, clock });
  const users = userService(repos, clock);
  const throttle = new LoginThrottle(repos.throttle, clock, {
    maxFailures: config.loginMaxFailures, ipMaxFailures: config.loginIpMaxFailures, windowMs: config.loginFailureWindowSeconds * 1000,
    lockoutMs: config.loginLockoutSeconds * 1000,
  });
  const totp = new TotpService({ mfa: repos.mfa, masterKey, clock });
  const jwksFetcher = new JwksFetcher(clock, { allowPrivate: config.unsafeAllowPrivateFetch });
  const services: Omit<Services, 'grants'> = {
    config, clock, log, repos, masterKey, keys, catalogs, issuerOf, changes, secrets: new SecretVerifier(masterKey),
    domains: new DomainService(repos, clock, issuerOf),
    events,
    accessTokens,
    idTokens,
    userTokens: new UserTokens({ claims: (d, userId, scopes) => claimsOf({ repos, catalogs }, d, userId, scopes), accessTokens, idTokens, tokens: repos.tokens, clock, refreshTtl: config.refreshTokenTtl, refreshIdle: config.refreshTokenIdleSeconds }),
    sessions: new SessionService(repos, clock, config.sessionTtlSeconds * 1000),
    throttle,
    authn: new Authenticator({
      flows: repos.authFlows, users: repos.users, userService: users, totp, throttle, events, clock, ttlMs: config.authFlowTtlSeconds * 1000,
    }),
    validator: new AccessTokenValidator({ keys, tokens: repos.tokens, revocations: repos.revocations, clock, clientValid,
      userValid: async (d, userId, iat) => {
        const u = await repos.users.get(d.id, userId);
        return u?.active === true && issuedAfterCut(iat, u.tokensValidAfter);
      } }),
    jwksFetcher,
    clientCertificates: new ClientCertificates(config, clock),
    trustedIssuerKeys: new TrustedIssuerKeys(jwksFetcher),
    users,
    totp,
    userCodeThrottle: new CodeEntryThrottle(repos.throttle, clock, {
      perBrowser: config.loginMaxFailures, perAddress: config.loginIpMaxFailures, windowMs: config.loginFailureWindowSeconds * 1000,
      lockoutMs: config.loginLockoutSeconds * 1000,
    }),
  };
  // Each grant is built with the services it uses; requests then carry request data only.
  return { ...services, grants: grantHandlers(services) };
}

function userService(repos: Repositories, clock: Clock): UserService {
  const hasher = new PasswordHasher();
  return new UserService({
    users: repos.users, clock, hasher, policy: new PasswordPolicyChecker(hasher, new CommonPasswords()),
    // The hook point for user deactivation/deletion: sessions and consents add theirs here.
    hooks: [new RevokeUserTokensHook(repos), new DeleteUserGrantsHook(repos.grants), new EndUserSessionsHook(repos), new DeleteUserFactorsHook(repos.mfa)],
  });
}
