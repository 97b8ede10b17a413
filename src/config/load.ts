import { readFileSync } from 'node:fs';
import { SETTINGS, BadValue, shownValue, type Config } from './schema.js';

export class ConfigError extends Error {}

/**
 * Build the configuration: defaults, then the JSON file named by TESSERA_CONFIG (keys are the
 * setting names, e.g. "publicUrl", or the environment names), then the environment, then `overrides`.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  let file: Record<string, unknown> = {};
  const path = env.TESSERA_CONFIG;
  if (path) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
      file = parsed as Record<string, unknown>;
    } catch (e) {
      // V8's JSON.parse messages quote the text around the error, which may be a secret.
      const why = e instanceof SyntaxError ? `not valid JSON${/ at position \d+/.exec(e.message)?.[0] ?? ''}` : (e as Error).message;
      throw new ConfigError(`TESSERA_CONFIG: cannot read ${path}: ${why}`);
    }
    const known = new Set(SETTINGS.flatMap((s) => [s.key, s.env]));
    for (const k of Object.keys(file)) if (!known.has(k)) throw new ConfigError(`${path}: unknown setting "${k}"`);
  }
  const out: Partial<Config> = {};
  for (const s of SETTINGS) {
    let raw: unknown;
    let from = '';
    if (s.key in overrides && overrides[s.key] !== undefined) { raw = overrides[s.key]; from = `option ${s.key}`; }
    else if (env[s.env] !== undefined && env[s.env] !== '') { raw = env[s.env]; from = s.env; }
    else if (file[s.key] !== undefined) { raw = file[s.key]; from = `${path}: ${s.key}`; }
    else if (file[s.env] !== undefined) { raw = file[s.env]; from = `${path}: ${s.env}`; }
    if (from === '') {
      const d = s.default;
      (out as Record<string, unknown>)[s.key] = typeof d === 'function' ? (d as (c: Partial<Config>) => unknown)(out) : d;
      continue;
    }
    try {
      (out as Record<string, unknown>)[s.key] = s.parse(raw);
    } catch (e) {
      if (e instanceof BadValue) throw new ConfigError(`${from}: ${e.message} (${shownValue(s, raw)})`);
      throw e;
    }
  }
  const c = out as Config;
  if ((c.bootstrapClientId === undefined) !== (c.bootstrapClientSecret === undefined)) {
    throw new ConfigError('TESSERA_BOOTSTRAP_CLIENT_ID and TESSERA_BOOTSTRAP_CLIENT_SECRET must be set together');
  }
  if ((c.bootstrapAdminUsername === undefined) !== (c.bootstrapAdminPassword === undefined)) {
    throw new ConfigError(`${c.bootstrapAdminUsername === undefined ? 'TESSERA_BOOTSTRAP_ADMIN_USERNAME' : 'TESSERA_BOOTSTRAP_ADMIN_PASSWORD'} is not set:`
      + ' TESSERA_BOOTSTRAP_ADMIN_USERNAME and TESSERA_BOOTSTRAP_ADMIN_PASSWORD must be set together');
  }
  // node:http refuses a headers timeout above the request timeout; name the keys instead of its message.
  if (c.headersTimeoutSeconds > c.requestTimeoutSeconds) {
    throw new ConfigError(`TESSERA_HEADERS_TIMEOUT_SECONDS (${c.headersTimeoutSeconds}) must not exceed TESSERA_REQUEST_TIMEOUT_SECONDS (${c.requestTimeoutSeconds})`);
  }
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) throw new ConfigError('TESSERA_TLS_CERT and TESSERA_TLS_KEY must be set together');
  // A forwarded certificate is only as good as the peer that forwarded it: with `true` any client could send the header.
  if (c.tlsClientCertHeader !== undefined && !Array.isArray(c.trustProxy)) {
    throw new ConfigError('TESSERA_TLS_CLIENT_CERT_HEADER needs TESSERA_TRUST_PROXY to list the proxy addresses (true or false would let any client send a certificate)');
  }
  if (c.metricsPort !== undefined && c.metricsPort === c.port) {
    throw new ConfigError(`TESSERA_METRICS_PORT (${c.metricsPort}) must differ from PORT: the metrics port is a listener of its own`);
  }
  return c;
}

/** Markdown table of every setting, for the README and `tessera config`. */
export function describeSettings(): string {
  const rows = SETTINGS.map((s) => {
    const d = typeof s.default === 'function' ? '(derived)' : s.default === undefined ? '' : String(s.default);
    return `| \`${s.env}\` | \`${s.key}\` | ${d} | ${s.description} |`;
  });
  return ['| environment | config file key | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
