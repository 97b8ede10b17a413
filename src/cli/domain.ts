import type { Command } from 'commander';
import { firstAlgs } from '../crypto/keystore.js';
import { Conflict } from '../storage/ports.js';
import { DOMAIN_NAME } from '../identity/domains.js';
import { fail, print, withTessera } from './common.js';

export function domainCommands(program: Command): void {
  const d = program.command('domain').description('identity domains (tenants)');
  d.command('create <name>').description('create an identity domain (issuer PUBLIC_URL/domains/NAME)')
    .option('--display-name <text>', 'human-readable name')
    .action(async (name: string, o: { displayName?: string }) => {
      if (!DOMAIN_NAME.test(name)) fail('domain names are 1-63 lower-case letters, digits and hyphens');
      await withTessera(async (t) => {
        try {
          const dom = await t.services.domains.create(name, o.displayName ?? name);
          await t.services.keys.ensure(dom.id, ...firstAlgs(t.services.config.defaultSigningAlg));
          print(`created domain ${name}; issuer ${t.services.issuerOf(dom)}`);
        } catch (e) {
          if (e instanceof Conflict) fail(`domain ${name} already exists`);
          throw e;
        }
      });
    });
  d.command('list').description('list identity domains').action(async () => {
    await withTessera(async (t) => {
      for (const dom of await t.services.repos.domains.list()) print(`${dom.name}\t${t.services.issuerOf(dom)}`);
    });
  });
}
