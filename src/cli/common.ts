import { loadConfig, ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { buildApp, type Tessera } from '../http/app.js';
import type { DomainRecord } from '../core/types.js';

export function config(overrides: Partial<Config> = {}): Config {
  try {
    return loadConfig(process.env, overrides);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`tessera: configuration error: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

/** Run an administrative command against the configured database (migrated, default domain present). */
export async function withTessera<T>(fn: (t: Tessera) => Promise<T>): Promise<T> {
  const cfg = config({ logLevel: process.env.TESSERA_LOG_LEVEL ? undefined : 'warn' } as Partial<Config>);
  // A one-shot command: its writes notify the running servers; it needs to hear nobody.
  const t = await buildApp({ config: cfg, listenForChanges: false });
  try {
    return await fn(t);
  } finally {
    await t.close();
  }
}

export async function domainOrExit(t: Tessera, name: string): Promise<DomainRecord> {
  const d = await t.services.repos.domains.getByName(name);
  if (!d) fail(`no identity domain named "${name}"`);
  return d!;
}

export function fail(msg: string): never {
  process.stderr.write(`tessera: ${msg}\n`);
  process.exit(1);
}

export const print = (s: string): void => { process.stdout.write(s + '\n'); };
