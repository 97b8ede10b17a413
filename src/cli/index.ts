#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { describeSettings } from '../config/load.js';
import { clientCommands } from './client.js';
import { domainCommands } from './domain.js';
import { keysCommands } from './keys.js';
import { migrateCommand } from './migrate.js';
import { serve } from './serve.js';
import { userCommands } from './user.js';

// package.json sits two levels up from both src/cli (tsx) and dist/cli (built).
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('tessera').description('Tessera identity domain server').version(version).showHelpAfterError();
program.command('serve').description('run the server (migrates the database first)')
  .option('--port <port>', 'override PORT').option('--host <host>', 'override HOST')
  .action(serve);
program.command('migrate').description('apply database migrations').action(migrateCommand);
program.command('config').description('list every setting with its default').action(() => { process.stdout.write(describeSettings() + '\n'); });
domainCommands(program);
clientCommands(program);
userCommands(program);
keysCommands(program);

program.parseAsync().catch((e: unknown) => {
  process.stderr.write(`tessera: ${(e as Error).message}\n`);
  process.exit(1);
});
