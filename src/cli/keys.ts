import type { Command } from 'commander';
import { DEFAULT_DOMAIN, SIGNING_ALGS_LIST, type SigningAlg } from '../core/types.js';
import { describeRotation } from '../crypto/keystore.js';
import { retention } from '../maintenance.js';
import { domainOrExit, fail, print, withTessera } from './common.js';

export function keysCommands(program: Command): void {
  const k = program.command('keys').description('signing keys');
  k.command('rotate')
    .description('promote the published next key, retire the active one, publish a new next key; for an algorithm without keys, publish one that starts signing after the publish delay')
    .option('--domain <name>', 'identity domain', DEFAULT_DOMAIN)
    .option('--alg <alg>', `algorithm (${SIGNING_ALGS_LIST.join(', ')})`)
    .action(async (o: { domain: string; alg?: string }) => {
      await withTessera(async (t) => {
        const alg = (o.alg ?? t.services.config.defaultSigningAlg) as SigningAlg;
        if (!SIGNING_ALGS_LIST.includes(alg)) fail(`--alg must be one of ${SIGNING_ALGS_LIST.join(', ')}`);
        const d = await domainOrExit(t, o.domain);
        const r = await t.services.keys.rotate(d.id, alg, await retention(t.services, d.id));
        const said = describeRotation(r, { now: t.services.clock.now(), publishDelayMs: t.services.keys.publishDelayMs, defaultAlg: t.services.config.defaultSigningAlg });
        for (const line of said.lines) print(line);
        if (said.warning) process.stderr.write(`tessera: warning: ${said.warning}\n`);
      });
    });
  k.command('list').description('list signing keys').option('--domain <name>', 'identity domain', DEFAULT_DOMAIN)
    .action(async (o: { domain: string }) => {
      await withTessera(async (t) => {
        const d = await domainOrExit(t, o.domain);
        const keys = await t.services.keys.list(d.id);
        for (const key of keys) {
          const until = key.expiresAt ? `\tpublished until ${new Date(key.expiresAt).toISOString()}` : '';
          const waiting = key.status === 'next' && !keys.some((x) => x.alg === key.alg && x.status === 'active')
            ? `\tsigns from ${new Date(t.services.keys.signsFrom(key)).toISOString()}` : '';
          print(`${key.kid}\t${key.alg}\t${key.status}\tcreated ${new Date(key.createdAt).toISOString()}${until}${waiting}`);
        }
      });
    });
}
