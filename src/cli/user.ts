import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { DEFAULT_DOMAIN } from '../core/types.js';
import { administratorRole, hasAdministratorUser } from '../identity/administrators.js';
import { auditAdministrator, createAdministrator } from '../identity/first_admin.js';
import { PasswordPolicyViolation } from '../identity/passwords.js';
import { userRoleIds } from '../identity/user_roles.js';
import { prepareUserName, UserNameRefused } from '../identity/usernames.js';
import { Conflict } from '../storage/ports.js';
import { domainOrExit, fail, print, withTessera } from './common.js';

interface CreateOptions { username: string; password?: string; passwordStdin?: boolean; email?: string; domain: string; admin?: boolean }

/** All of stdin, less one trailing line break (`echo pw |` and `<<<` add one). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks on the terminal without echoing what is typed. */
function prompt(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    let asked = false;
    // readline echoes through _writeToOutput: show the question, nothing of the answer.
    (rl as unknown as { _writeToOutput(s: string): void })._writeToOutput = (s: string) => {
      if (!asked) { process.stderr.write(s); asked = true; }
    };
    rl.question(question, (answer) => { rl.close(); process.stderr.write('\n'); resolve(answer); });
  });
}

async function passwordOf(o: CreateOptions): Promise<string> {
  if (o.password !== undefined && o.passwordStdin) fail('give either --password or --password-stdin, not both');
  if (o.password !== undefined) {
    // Other users of this machine see command lines (ps, /proc/PID/cmdline), and shells keep a history.
    process.stderr.write('tessera: warning: a password on the command line can be seen by other users (ps) and stays in the shell history; prefer --password-stdin\n');
    return o.password;
  }
  if (o.passwordStdin) return readStdin();
  if (!process.stdin.isTTY) fail('no password: pipe it in with --password-stdin (or run in a terminal to be asked)');
  const first = await prompt('Password: ');
  const second = await prompt('Password again: ');
  if (first !== second) fail('the two passwords differ');
  return first;
}

export function userCommands(program: Command): void {
  const u = program.command('user').description('users (people who sign in)');
  u.command('create').description('create a user; --admin makes it an Identity Domain Administrator')
    .requiredOption('--username <name>', 'user name (what the user signs in with)')
    .option('--password-stdin', 'read the password from standard input (preferred)')
    .option('--password <password>', 'the password (visible to other users in ps: prefer --password-stdin)')
    .option('--email <address>', 'email address')
    .option('--domain <name>', 'identity domain', DEFAULT_DOMAIN)
    .option('--admin', 'grant the built-in Identity Domain Administrator role')
    .action(async (o: CreateOptions) => {
      let userName: string;
      try { userName = prepareUserName(o.username).stored; } catch (e) {
        if (e instanceof UserNameRefused) fail(e.message);
        throw e;
      }
      const email = o.email?.trim();
      if (email !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) fail(`not an email address: ${email}`);
      const password = await passwordOf(o);
      if (password === '') fail('the password is empty');
      await withTessera(async (t) => {
        const s = t.services;
        const d = await domainOrExit(t, o.domain);
        try {
          if (o.admin) {
            const made = await createAdministrator({ repos: s.repos, users: s.users, clock: s.clock }, d, { userName, password, ...(email ? { email } : {}) }, { exclusive: false });
            auditAdministrator(s.events, made, 'cli');
            print(`created user ${made.user.userName} (id ${made.user.id}) with the Identity Domain Administrator role in domain ${d.name}`);
          } else {
            const user = await s.users.create(d, { userName, password, active: true, attributes: email ? { emails: [{ value: email, primary: true, type: 'work' }] } : {} });
            s.events.emit({ eventId: 'admin.created', outcome: 'success', domainId: d.id, targetType: 'User', targetId: user.id, details: { via: 'cli', userName } });
            print(`created user ${user.userName} (id ${user.id}) in domain ${d.name}`);
          }
        } catch (e) {
          if (e instanceof PasswordPolicyViolation) fail(`the password does not meet the password policy of domain ${d.name} (${e.rule}): ${e.message}`);
          if (e instanceof Conflict && e.what === 'userName') fail(`a user named ${userName} exists already in domain ${d.name}`);
          throw e;
        }
      });
    });
  u.command('list').description('list users (user name, id, active, administrator)').option('--domain <name>', 'identity domain', DEFAULT_DOMAIN)
    .action(async (o: { domain: string }) => {
      await withTessera(async (t) => {
        const s = t.services;
        const d = await domainOrExit(t, o.domain);
        const role = await administratorRole(s.repos, d.id);
        for (let offset = 0; ; offset += 500) {
          const { items } = await s.repos.users.query(d.id, { offset, limit: 500 });
          for (const user of items) {
            const admin = role !== undefined && (await userRoleIds(s.repos, d.id, user.id)).has(role.id);
            print(`${user.userName}\t${user.id}\t${user.active ? 'active' : 'inactive'}${admin ? '\tadministrator' : ''}`);
          }
          if (items.length < 500) break;
        }
        if (!(await hasAdministratorUser(s.repos, d.id))) process.stderr.write(`tessera: domain ${d.name} has no administrator user yet: npx tessera user create --admin --username NAME --password-stdin${d.name === DEFAULT_DOMAIN ? '' : ` --domain ${d.name}`}\n`);
      });
    });
}
