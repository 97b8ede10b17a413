import type { Command } from 'commander';
import { newClientId, newId, newSecret } from '../core/ids.js';
import { hashSecret } from '../crypto/secrets.js';
import { checkClientFields } from '../admin/apps.js';
import { newApp } from '../identity/domains.js';
import { DEFAULT_DOMAIN, type AppRecord } from '../core/types.js';
import { domainOrExit, fail, print, withTessera } from './common.js';

const collect = (v: string, prev: string[]) => [...prev, v];

export function clientCommands(program: Command): void {
  const c = program.command('client').description('OAuth clients (apps)');
  c.command('create').description('create a confidential client; prints its client_id and secret once')
    .requiredOption('--name <name>', 'display name')
    .option('--domain <name>', 'identity domain', DEFAULT_DOMAIN)
    .option('--grant <type>', 'allowed grant type (repeatable)', collect, [] as string[])
    .option('--role <name>', 'app role to grant (repeatable), e.g. "Identity Domain Administrator"', collect, [] as string[])
    .option('--scope <scope>', 'allowed scope (repeatable)', collect, [] as string[])
    .action(async (o: { name: string; domain: string; grant: string[]; role: string[]; scope: string[] }) => {
      await withTessera(async (t) => {
        const s = t.services;
        const d = await domainOrExit(t, o.domain);
        const now = s.clock.now();
        const secret = newSecret();
        const app: AppRecord = newApp(d.id, now, {
          displayName: o.name, isOAuthClient: true, clientType: 'confidential', clientId: newClientId(),
          allowedGrants: o.grant.length ? o.grant : ['client_credentials'], allowedScopes: o.scope, secretHash: hashSecret(s.masterKey, secret),
        });
        try { checkClientFields(app, { allowPrivateFetch: s.config.unsafeAllowPrivateFetch }, (m) => new Error(m)); } catch (e) { fail((e as Error).message); }
        const cat = await s.catalogs.catalog(d, { fresh: true });
        for (const sc of o.scope) if (!cat.scopes.has(sc)) fail(`scope ${sc} is not defined in domain ${d.name}`);
        const roles = await s.repos.appRoles.list(d.id);
        const wanted = o.role.map((name) => roles.find((r) => r.displayName.toLowerCase() === name.toLowerCase()) ?? fail(`no app role "${name}"`));
        // Grants first: a running server that sees the new client finds its roles with it (it reloads the
        // domain's catalog for a client newer than the catalog), so the client works at once.
        for (const r of wanted) {
          await s.repos.grants.create({ id: newId(), domainId: d.id, appId: r.appId, appRoleId: r.id, granteeType: 'App', granteeId: app.id,
            mechanism: 'ADMINISTRATOR_TO_APP', version: 1, createdAt: now, updatedAt: now });
        }
        await s.repos.apps.create({ ...app, createdAt: s.clock.now(), updatedAt: s.clock.now() });
        print(`client_id=${app.clientId}`);
        print(`client_secret=${secret}`);
        process.stderr.write('The secret is shown only now; it is stored hashed.\n');
      });
    });
  c.command('list').description('list OAuth clients').option('--domain <name>', 'identity domain', DEFAULT_DOMAIN)
    .action(async (o: { domain: string }) => {
      await withTessera(async (t) => {
        const d = await domainOrExit(t, o.domain);
        for (const a of await t.services.repos.apps.list(d.id)) {
          if (a.isOAuthClient) print(`${a.clientId}\t${a.clientType}\t${a.active ? 'active' : 'inactive'}\t${a.allowedGrants.join(',')}\t${a.displayName}`);
        }
      });
    });
  c.command('delete <clientId>').description('delete an OAuth client').option('--domain <name>', 'identity domain', DEFAULT_DOMAIN)
    .action(async (clientId: string, o: { domain: string }) => {
      await withTessera(async (t) => {
        const d = await domainOrExit(t, o.domain);
        const a = await t.services.repos.apps.getByClientId(d.id, clientId);
        if (!a) fail(`no client ${clientId} in domain ${d.name}`);
        if (a.isBuiltIn) fail('built-in apps cannot be deleted');
        await t.services.repos.apps.delete(d.id, a.id);
        await t.services.repos.grants.deleteForGrantee(d.id, 'App', a.id);
        print(`deleted ${clientId}`);
      });
    });
}
