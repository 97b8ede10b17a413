/**
 * Every setting Tessera reads, with its environment variable, default and description, in one place.
 * `load.ts` applies them in order: defaults, then the optional JSON config file, then the environment,
 * then explicit overrides (CLI flags, test options). A bad value stops start-up with a message naming the key.
 */
import { availableParallelism } from 'node:os';
import ipaddr from 'ipaddr.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const SIGNING_ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  dataDir: string;
  databaseUrl: string;
  masterKey: string | undefined;
  bootstrapClientId: string | undefined;
  bootstrapClientSecret: string | undefined;
  bootstrapAdminUsername: string | undefined;
  bootstrapAdminPassword: string | undefined;
  logLevel: LogLevel;
  logRequests: boolean;
  /** false, true (any peer: unsafe behind no proxy) or the proxy addresses/CIDRs whose forwarding headers are believed. */
  trustProxy: boolean | string[];
  cacheTtlSeconds: number;
  bodyLimitBytes: number;
  headersTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  keepAliveTimeoutSeconds: number;
  maxConnections: number;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  codeTtl: number;
  refreshTokenIdleSeconds: number;
  refreshTokenGraceSeconds: number;
  sessionTtlSeconds: number;
  authFlowTtlSeconds: number;
  loginMaxFailures: number;
  loginLockoutSeconds: number;
  loginIpMaxFailures: number;
  loginFailureWindowSeconds: number;
  defaultSigningAlg: SigningAlg;
  clockSkewSeconds: number;
  clientAssertionMaxLifetime: number;
  clientAssertionAcceptTokenEndpointAudience: boolean;
  jwksPublic: boolean;
  purgeIntervalSeconds: number;
  auditRetentionDays: number;
  auditFailuresPerMinute: number;
  keyRotationDays: number;
  keyPublishDelaySeconds: number;
  unsafeAllowPrivateFetch: boolean;
  unsafeSamlAllowSha1: boolean;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tlsClientCa: string | undefined;
  tlsClientCertHeader: string | undefined;
  tlsClientCertHeaderFormat: ClientCertHeaderFormat;
  mtlsPublicUrl: string | undefined;
  deviceCodeTtl: number;
  deviceCodeInterval: number;
  cacheFallbackTtlSeconds: number;
  listenDatabaseUrl: string | undefined;
  changePollMs: number;
  workers: number;
  databasePoolSize: number;
  metricsToken: string | undefined;
  metricsPort: number | undefined;
  metricsHost: string;
  logFormat: LogFormat;
}

/** `auto`: pretty one-line logs when stdout is a terminal and NODE_ENV is not production, JSON otherwise. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** How a TLS-terminating proxy forwards the client certificate: URL-encoded PEM (nginx `$ssl_client_escaped_cert`, AWS ALB) or Envoy's XFCC `Cert=`. */
export const CLIENT_CERT_HEADER_FORMATS = ['pem', 'xfcc'] as const;
export type ClientCertHeaderFormat = (typeof CLIENT_CERT_HEADER_FORMATS)[number];

type Parser<T> = (raw: unknown) => T;

export interface SettingDef<K extends keyof Config = keyof Config> {
  key: K;
  env: string;
  description: string;
  default: Config[K] | ((c: Partial<Config>) => Config[K]);
  parse: Parser<Config[K]>;
  /**
   * Never echoed in a message (a configuration error): 'value', the whole value is a secret;
   * 'password', the password in a URL's user information (RFC 3986 §3.2.1) is.
   */
  secret?: 'value' | 'password';
}

class BadValue extends Error {}

const int = (min: number, max: number): Parser<number> => (raw) => {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new BadValue(`must be an integer between ${min} and ${max}`);
  return n;
};
const bool: Parser<boolean> = (raw) => {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string') {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  }
  throw new BadValue('must be true or false');
};
const str: Parser<string> = (raw) => {
  if (typeof raw !== 'string' || raw.length === 0) throw new BadValue('must be a non-empty string');
  return raw;
};
const optStr: Parser<string | undefined> = (raw) => (raw === undefined || raw === '' ? undefined : str(raw));
const oneOf = <T extends string>(values: readonly T[]): Parser<T> => (raw) => {
  if (typeof raw === 'string' && (values as readonly string[]).includes(raw)) return raw as T;
  throw new BadValue(`must be one of ${values.join(', ')}`);
};
const url: Parser<string> = (raw) => {
  const s = str(raw);
  let u: URL;
  try { u = new URL(s); } catch { throw new BadValue('must be an absolute URL'); }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new BadValue('must be an http(s) URL');
  if (u.search || u.hash) throw new BadValue('must not have a query or fragment (it becomes the issuer, RFC 8414 §2)');
  return s.replace(/\/+$/, '');
};
/** `true`/`false`, or a comma-separated list of IP addresses and CIDR ranges (Fastify's trustProxy accepts both). */
const trustProxy: Parser<boolean | string[]> = (raw) => {
  if (typeof raw === 'boolean') return raw;
  const items = Array.isArray(raw) ? raw : typeof raw === 'string' && !/^\s*(1|0|true|false|yes|no|on|off)?\s*$/i.test(raw) ? raw.split(',') : undefined;
  if (!items) return bool(raw);
  const list = items.map((x) => (typeof x === 'string' ? x.trim() : '')).filter((x) => x !== '');
  if (list.length === 0) throw new BadValue('must be true, false or a comma-separated list of IP addresses / CIDR ranges');
  for (const x of list) {
    try { if (x.includes('/')) ipaddr.parseCIDR(x); else ipaddr.parse(x); } catch { throw new BadValue(`${JSON.stringify(x).slice(0, 60)} is not an IP address or CIDR range`); }
  }
  return list;
};
/** An HTTP header name (RFC 9110 §5.1 token), lower-cased. */
const headerName: Parser<string | undefined> = (raw) => {
  const s = optStr(raw);
  if (s === undefined) return undefined;
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/.test(s)) throw new BadValue('must be an HTTP header name');
  return s.toLowerCase();
};
const optPort: Parser<number | undefined> = (raw) => (raw === undefined || raw === '' ? undefined : int(1, 65535)(raw));
const optUrl: Parser<string | undefined> = (raw) => (raw === undefined || raw === '' ? undefined : url(raw));

const pgUrl: Parser<string | undefined> = (raw) => {
  const s = optStr(raw);
  if (s === undefined || /^postgres(ql)?:\/\//.test(s)) return s;
  throw new BadValue('must be postgres://...');
};
const dbUrl: Parser<string> = (raw) => {
  const s = str(raw);
  if (s === 'sqlite::memory:' || /^sqlite:.+/.test(s) || /^postgres(ql)?:\/\//.test(s)) return s;
  throw new BadValue('must be sqlite:PATH, sqlite::memory: or postgres://...');
};
const masterKey: Parser<string | undefined> = (raw) => {
  const s = optStr(raw);
  if (s === undefined) return undefined;
  const b = Buffer.from(s, s.length === 64 && /^[0-9a-f]+$/i.test(s) ? 'hex' : 'base64');
  if (b.length !== 32) throw new BadValue('must be 32 bytes, as 64 hex characters or base64');
  return s;
};
const secretSetting: Parser<string | undefined> = (raw) => {
  const s = optStr(raw);
  // Client secrets are stored with a fast keyed hash (they are not passwords), so they must carry their own entropy.
  if (s !== undefined && s.length < 24) throw new BadValue('must be at least 24 characters (use a random secret, e.g. `openssl rand -base64 32`)');
  return s;
};

/**
 * PostgreSQL connections per worker when TESSERA_DATABASE_POOL_SIZE is unset: one process keeps the
 * pool of 10 it always had; several share about 10 per node (at least 2 each, so one slow query does
 * not stall a worker), which keeps a node at 10-16 connections up to 8 workers.
 */
export const defaultPoolSize = (workers: number): number => Math.max(2, Math.floor(10 / workers));

/** How long the JWKS endpoint lets verifiers cache the key set (its `cache-control: max-age`). */
export const JWKS_MAX_AGE_SECONDS = 300;

export const SETTINGS: SettingDef[] = [
  { key: 'port', env: 'PORT', default: 8080, parse: int(0, 65535), description: 'TCP port to listen on.' },
  { key: 'host', env: 'HOST', default: '127.0.0.1', parse: str, description: 'Interface to listen on (0.0.0.0 for all).' },
  { key: 'publicUrl', env: 'TESSERA_PUBLIC_URL', default: (c) => `http://localhost:${c.port ?? 8080}`, parse: url,
    description: 'External base URL; the default domain issuer. Other domains are PUBLIC_URL/domains/NAME.' },
  { key: 'dataDir', env: 'TESSERA_DATA_DIR', default: './data', parse: str, description: 'Directory for the SQLite file and the generated master key.' },
  { key: 'databaseUrl', env: 'TESSERA_DATABASE_URL', default: (c) => `sqlite:${c.dataDir ?? './data'}/tessera.db`, parse: dbUrl, secret: 'password',
    description: 'sqlite:PATH, sqlite::memory: or postgres://user@host:port/db.' },
  { key: 'masterKey', env: 'TESSERA_MASTER_KEY', default: undefined, parse: masterKey, secret: 'value',
    description: '32-byte key (hex or base64) that encrypts signing keys and client_secret_jwt secrets at rest. Generated into DATA_DIR/master.key when unset. All nodes sharing a database need the same key.' },
  { key: 'bootstrapClientId', env: 'TESSERA_BOOTSTRAP_CLIENT_ID', default: undefined, parse: optStr,
    description: 'On start, create or update this confidential client in the default domain with the Identity Domain Administrator role.' },
  { key: 'bootstrapClientSecret', env: 'TESSERA_BOOTSTRAP_CLIENT_SECRET', default: undefined, parse: secretSetting, secret: 'value',
    description: 'Secret of the bootstrap client (at least 24 characters).' },
  { key: 'bootstrapAdminUsername', env: 'TESSERA_BOOTSTRAP_ADMIN_USERNAME', default: undefined, parse: optStr,
    description: 'On start, create this user in the default domain with the Identity Domain Administrator role when no user has this name. An existing user is left as it is: its password and roles are not changed.' },
  { key: 'bootstrapAdminPassword', env: 'TESSERA_BOOTSTRAP_ADMIN_PASSWORD', default: undefined, parse: optStr, secret: 'value',
    description: 'Password of the bootstrap administrator user, used only when the user is created (it must meet the default domain\'s password policy; never logged).' },
  { key: 'logLevel', env: 'TESSERA_LOG_LEVEL', default: 'info', parse: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const), description: 'Log level.' },
  { key: 'logRequests', env: 'TESSERA_LOG_REQUESTS', default: false, parse: bool, description: 'Log every request (off by default: it costs throughput).' },
  { key: 'trustProxy', env: 'TESSERA_TRUST_PROXY', default: false, parse: trustProxy,
    description: 'Trust X-Forwarded-For for client addresses: `true` (from any peer), or a comma-separated list of the proxies\' addresses / CIDR ranges (only from those). The client certificate header (TESSERA_TLS_CLIENT_CERT_HEADER) needs the list. The issuer never comes from request headers.' },
  { key: 'cacheTtlSeconds', env: 'TESSERA_CACHE_TTL_SECONDS', default: 5, parse: int(0, 3600),
    description: 'How long a node caches domains, apps, roles and keys. Changes made through another node take effect within this time.' },
  { key: 'bodyLimitBytes', env: 'TESSERA_BODY_LIMIT_BYTES', default: 65536, parse: int(1024, 10485760), description: 'Largest request body accepted (413 above).' },
  { key: 'headersTimeoutSeconds', env: 'TESSERA_HEADERS_TIMEOUT_SECONDS', default: 10, parse: int(1, 3600),
    description: 'A client must send the request line and headers within this time, or the connection is closed (slowloris).' },
  { key: 'requestTimeoutSeconds', env: 'TESSERA_REQUEST_TIMEOUT_SECONDS', default: 30, parse: int(1, 3600),
    description: 'A client must send the whole request, body included, within this time, or it gets 408 and the connection is closed. At least the headers timeout.' },
  { key: 'keepAliveTimeoutSeconds', env: 'TESSERA_KEEP_ALIVE_TIMEOUT_SECONDS', default: 5, parse: int(1, 3600),
    description: 'An idle keep-alive connection is closed after this time. Behind a load balancer, set it above the balancer\'s idle timeout (e.g. 65 for 60).' },
  { key: 'maxConnections', env: 'TESSERA_MAX_CONNECTIONS', default: 1000, parse: int(1, 1000000),
    description: 'Open client connections per node; connections beyond it are closed at once.' },
  { key: 'accessTokenTtl', env: 'TESSERA_ACCESS_TOKEN_TTL', default: 3600, parse: int(60, 31536000), description: 'Default access token lifetime, seconds (apps may override).' },
  { key: 'refreshTokenTtl', env: 'TESSERA_REFRESH_TOKEN_TTL', default: 604800, parse: int(60, 31536000), description: 'Default refresh token lifetime, seconds.' },
  { key: 'codeTtl', env: 'TESSERA_CODE_TTL', default: 60, parse: int(10, 600), description: 'Authorization code lifetime, seconds.' },
  { key: 'refreshTokenIdleSeconds', env: 'TESSERA_REFRESH_TOKEN_IDLE_SECONDS', default: 259200, parse: int(60, 31536000),
    description: 'A refresh token unused for this long expires (idle lifetime); the family also ends at the absolute lifetime.' },
  { key: 'refreshTokenGraceSeconds', env: 'TESSERA_REFRESH_TOKEN_GRACE_SECONDS', default: 0, parse: int(0, 60),
    description: 'Seconds during which a just-rotated refresh token may be retried and gets the same new refresh token (0 = off: any reuse revokes the family).' },
  { key: 'sessionTtlSeconds', env: 'TESSERA_SESSION_TTL_SECONDS', default: 28800, parse: int(60, 2592000), description: 'SSO session lifetime, seconds (8 h as in the seeds).' },
  { key: 'authFlowTtlSeconds', env: 'TESSERA_AUTH_FLOW_TTL_SECONDS', default: 900, parse: int(60, 3600),
    description: 'How long a sign-in in progress (requestState, login page) stays valid, seconds.' },
  { key: 'loginMaxFailures', env: 'TESSERA_LOGIN_MAX_FAILURES', default: 5, parse: int(1, 1000),
    description: 'Failed sign-ins (password or one-time code) of one account before it is locked.' },
  { key: 'loginLockoutSeconds', env: 'TESSERA_LOGIN_LOCKOUT_SECONDS', default: 900, parse: int(1, 86400), description: 'How long a locked account stays locked, seconds.' },
  { key: 'loginIpMaxFailures', env: 'TESSERA_LOGIN_IP_MAX_FAILURES', default: 50, parse: int(1, 100000),
    description: 'Failed sign-ins from one source address (any account) before that address is refused for the lockout period.' },
  { key: 'loginFailureWindowSeconds', env: 'TESSERA_LOGIN_FAILURE_WINDOW_SECONDS', default: 900, parse: int(1, 86400),
    description: 'Failures are counted within this window, seconds.' },
  { key: 'defaultSigningAlg', env: 'TESSERA_DEFAULT_SIGNING_ALG', default: 'RS256', parse: oneOf(SIGNING_ALGS), description: 'Default JWT signing algorithm.' },
  { key: 'clockSkewSeconds', env: 'TESSERA_CLOCK_SKEW_SECONDS', default: 60, parse: int(0, 300), description: 'Clock skew tolerated on received JWTs (RFC 8725 §3.8).' },
  { key: 'clientAssertionMaxLifetime', env: 'TESSERA_CLIENT_ASSERTION_MAX_LIFETIME', default: 300, parse: int(30, 3600),
    description: 'Longest lifetime (exp - now) accepted for client assertions and for a client\'s own jwt-bearer grant assertions, seconds.' },
  { key: 'clientAssertionAcceptTokenEndpointAudience', env: 'TESSERA_CLIENT_ASSERTION_ACCEPT_TOKEN_ENDPOINT_AUD', default: true, parse: bool,
    description: 'Accept the token endpoint URL as client assertion `aud` besides the issuer (RFC 7523 §3). Turn off to accept the issuer only (RFC 10070).' },
  { key: 'jwksPublic', env: 'TESSERA_JWKS_PUBLIC', default: true, parse: bool, description: 'Serve /admin/v1/SigningCert/jwk without a token (a domain setting may override).' },
  { key: 'purgeIntervalSeconds', env: 'TESSERA_PURGE_INTERVAL_SECONDS', default: 60, parse: int(0, 86400),
    description: 'How often expired tokens, revocation records, used assertion ids and retired keys are purged (0: never).' },
  { key: 'auditRetentionDays', env: 'TESSERA_AUDIT_RETENTION_DAYS', default: 90, parse: int(1, 3650), description: 'How long audit events are kept.' },
  { key: 'auditFailuresPerMinute', env: 'TESSERA_AUDIT_FAILURES_PER_MINUTE', default: 60, parse: int(0, 1_000_000),
    description: 'Failure events of one kind (failed client authentication, failed sign-in, denied admin request...) recorded per source address and minute; the rest are counted in one audit.suppressed event (0: no limit).' },
  { key: 'keyRotationDays', env: 'TESSERA_KEY_ROTATION_DAYS', default: 0, parse: int(0, 3650),
    description: 'Rotate signing keys automatically when the active key is older than this (0: only on `tessera keys rotate`).' },
  { key: 'keyPublishDelaySeconds', env: 'TESSERA_KEY_PUBLISH_DELAY_SECONDS', default: (c) => JWKS_MAX_AGE_SECONDS + (c.cacheTtlSeconds ?? 5), parse: int(0, 86400),
    description: `A signing key for an algorithm the domain had no key for is published this long before it signs (default: the JWKS max-age, ${JWKS_MAX_AGE_SECONDS} s, plus the cache TTL); meanwhile tokens for that algorithm use the default algorithm.` },
  { key: 'unsafeAllowPrivateFetch', env: 'TESSERA_UNSAFE_ALLOW_PRIVATE_FETCH', default: false, parse: bool,
    description: 'UNSAFE, tests only: allow fetching jwks_uri from loopback/private addresses.' },
  { key: 'unsafeSamlAllowSha1', env: 'TESSERA_UNSAFE_SAML_ALLOW_SHA1', default: false, parse: bool,
    description: 'UNSAFE, for a legacy IdP that cannot sign otherwise: accept SAML assertions signed with RSA-SHA1 or digested with SHA-1 (collisions are practical since 2020, SHAttered/Shambles). Applies to every trusted issuer.' },
  { key: 'tlsCert', env: 'TESSERA_TLS_CERT', default: undefined, parse: optStr,
    description: 'PEM file with the server certificate (and chain): Tessera then listens with HTTPS instead of HTTP. Needs TESSERA_TLS_KEY.' },
  { key: 'tlsKey', env: 'TESSERA_TLS_KEY', default: undefined, parse: optStr, description: 'PEM file with the private key of TESSERA_TLS_CERT.' },
  { key: 'tlsClientCa', env: 'TESSERA_TLS_CLIENT_CA', default: undefined, parse: optStr,
    description: 'PEM file with the CA certificates that issue client certificates for tls_client_auth (RFC 8705 §2.1). With TESSERA_TLS_CERT the HTTPS listener asks for (never requires) a client certificate; a forwarded certificate (TESSERA_TLS_CLIENT_CERT_HEADER) is checked against it too.' },
  { key: 'tlsClientCertHeader', env: 'TESSERA_TLS_CLIENT_CERT_HEADER', default: undefined, parse: headerName,
    description: 'Behind a TLS-terminating proxy: the request header carrying the client certificate (e.g. x-ssl-client-cert, x-forwarded-client-cert). Honoured only on connections from a TESSERA_TRUST_PROXY address; unset, no header is read.' },
  { key: 'tlsClientCertHeaderFormat', env: 'TESSERA_TLS_CLIENT_CERT_HEADER_FORMAT', default: 'pem', parse: oneOf(CLIENT_CERT_HEADER_FORMATS),
    description: 'Format of that header: `pem` (URL-encoded PEM, nginx $ssl_client_escaped_cert, AWS ALB) or `xfcc` (Envoy x-forwarded-client-cert, its Cert= element).' },
  { key: 'mtlsPublicUrl', env: 'TESSERA_MTLS_PUBLIC_URL', default: undefined, parse: optUrl,
    description: 'External base URL at which clients present certificates, when it is not TESSERA_PUBLIC_URL (a separate proxy host): discovery\'s mtls_endpoint_aliases point there.' },
  { key: 'deviceCodeTtl', env: 'TESSERA_DEVICE_CODE_TTL', default: 600, parse: int(60, 3600),
    description: 'Lifetime of a device code and its user code (RFC 8628 `expires_in`), seconds.' },
  { key: 'deviceCodeInterval', env: 'TESSERA_DEVICE_CODE_INTERVAL', default: 5, parse: int(1, 60),
    description: 'Seconds a device must wait between token requests (RFC 8628 `interval`); each poll that comes sooner gets `slow_down` and adds 5 s for that device code.' },
  { key: 'cacheFallbackTtlSeconds', env: 'TESSERA_CACHE_FALLBACK_TTL_SECONDS', default: 1, parse: int(0, 3600),
    description: 'While this process hears no change notifications (PostgreSQL listener disconnected, SQLite change log unreadable), cached domains, apps, roles and keys live at most this long (or the cache TTL, if shorter); every cache is flushed when the feed goes down and again when it is back.' },
  { key: 'listenDatabaseUrl', env: 'TESSERA_DATABASE_LISTEN_URL', default: undefined, parse: pgUrl, secret: 'password',
    description: 'PostgreSQL only: the connection for LISTEN (change notifications), when TESSERA_DATABASE_URL goes through a pooler that cannot keep a session\'s LISTEN (PgBouncer in transaction or statement mode). Default: TESSERA_DATABASE_URL.' },
  { key: 'changePollMs', env: 'TESSERA_CHANGE_POLL_MS', default: 250, parse: int(20, 10000),
    description: 'SQLite only: how often each process reads the change log that other processes on the same file write, milliseconds.' },
  { key: 'workers', env: 'TESSERA_WORKERS', default: () => availableParallelism(), parse: int(1, 1024),
    description: '`tessera serve` processes sharing one listening port (node:cluster workers; default: the number of available CPUs). 1: a single process, no cluster.' },
  { key: 'databasePoolSize', env: 'TESSERA_DATABASE_POOL_SIZE', default: (c) => defaultPoolSize(c.workers ?? 1), parse: int(1, 1000),
    description: 'PostgreSQL connections per worker process (default: 10 divided among the workers, at least 2 each). A node opens workers x this; keep nodes x workers x this below the server\'s max_connections.' },
  { key: 'metricsToken', env: 'TESSERA_METRICS_TOKEN', default: undefined, parse: secretSetting, secret: 'value',
    description: 'Bearer secret (at least 24 characters) that GET /metrics requires, compared in constant time. Without it and without TESSERA_METRICS_PORT, /metrics is off (404).' },
  { key: 'metricsPort', env: 'TESSERA_METRICS_PORT', default: undefined, parse: optPort,
    description: 'Serve /metrics on this port of its own, at TESSERA_METRICS_HOST, instead of the public port (which then answers 404 for /metrics). With workers, the primary process listens and sums the workers\' metrics.' },
  { key: 'metricsHost', env: 'TESSERA_METRICS_HOST', default: '127.0.0.1', parse: str, description: 'Interface the metrics port listens on.' },
  { key: 'logFormat', env: 'TESSERA_LOG_FORMAT', default: 'auto', parse: oneOf(LOG_FORMATS),
    description: '`json` (one JSON object a line), `pretty` (readable one-line logs) or `auto`: pretty when stdout is a terminal and NODE_ENV is not production, JSON otherwise.' },
];

/** Is mutual TLS usable: certificates arrive on the HTTPS listener (with a client CA) or from a trusted proxy's header? */
export const mtlsEnabled = (c: Pick<Config, 'tlsCert' | 'tlsClientCa' | 'tlsClientCertHeader' | 'trustProxy'>): boolean =>
  (c.tlsCert !== undefined && c.tlsClientCa !== undefined) || (c.tlsClientCertHeader !== undefined && Array.isArray(c.trustProxy));

/**
 * How a value may appear in a message: secrets are never shown (only their length), and a URL's
 * password is masked. The masking is deliberately greedy (up to the last "@"), because a bad value
 * need not be a well-formed URL and a password may itself contain "@" or "/".
 */
export function shownValue(s: SettingDef, raw: unknown): string {
  const v = String(raw);
  if (s.secret === 'value') return `a secret of ${v.length} characters, not shown`;
  const masked = s.secret === 'password' ? v.replace(/^([^:/?#]*:\/\/[^:@/?#]*:).*@/s, '$1***@') : v;
  return `got ${JSON.stringify(masked).slice(0, 80)}`;
}

export { BadValue };
