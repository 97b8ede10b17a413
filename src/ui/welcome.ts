import type { FastifyReply } from 'fastify';
import { esc, sendPage } from './html.js';

/** What every welcome page shows: where client libraries point, and the way to the browser apps. */
export interface WelcomeBase {
  domainName: string;
  domainDisplayName: string;
  issuer: string;
  discovery: string;
  console: string;
  account: string;
}

/** The first-run form (only while the domain has no administrator user, only on the machine itself). */
export interface FirstAdminForm {
  action: string;
  csrf: string;
  minLength: number;
  userName?: string;
  email?: string;
  error?: string;
}

export type WelcomeState =
  | { kind: 'form'; form: FirstAdminForm }
  | { kind: 'remote'; cli: string }
  | { kind: 'ready' };

const links = (p: WelcomeBase) => '<ul id="links">'
  + `<li><a href="${esc(p.console)}">Admin console</a></li>`
  + `<li><a href="${esc(p.account)}">My account</a> <span class="muted">(sign in, profile, password)</span></li>`
  + `<li><a href="${esc(p.discovery)}">Discovery document</a> <span class="muted">(OpenID Provider metadata)</span></li></ul>`;

const head = (p: WelcomeBase) => `<h1>Tessera is running</h1><p class="muted" id="domain">Identity domain ${esc(p.domainDisplayName)}${p.domainDisplayName !== p.domainName ? ` (${esc(p.domainName)})` : ''}</p>`
  + `<p>Issuer for client libraries:<br><code id="issuer">${esc(p.issuer)}</code></p>${links(p)}`;

function firstAdminForm(f: FirstAdminForm): string {
  return '<h2>Create the first administrator</h2>'
    + '<p>This identity domain has no administrator yet. The user you create here holds the Identity Domain Administrator role and can sign in to the console.</p>'
    + (f.error ? `<p class="error" role="alert" id="error">${esc(f.error)}</p>` : '')
    + `<form method="post" action="${esc(f.action)}" autocomplete="off"><input type="hidden" name="csrf" value="${esc(f.csrf)}">`
    + `<label for="username">User name</label><input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="256" required value="${esc(f.userName ?? '')}">`
    + `<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="new-password" minlength="${f.minLength}" required aria-describedby="pwrule">`
    + `<p class="muted" id="pwrule">At least ${f.minLength} characters; not a common password, not the user name.</p>`
    + `<label for="password2">Password again</label><input type="password" id="password2" name="password2" autocomplete="new-password" minlength="${f.minLength}" required>`
    + `<label for="email">Email <span class="muted">(optional)</span></label><input type="text" id="email" name="email" inputmode="email" autocomplete="email" autocapitalize="none" spellcheck="false" maxlength="254" value="${esc(f.email ?? '')}">`
    + '<button type="submit">Create administrator</button></form>';
}

/** GET / and /domains/NAME/: the welcome page, with the first-run form, the way to it, or neither. */
export function welcomePage(reply: FastifyReply, p: WelcomeBase, state: WelcomeState, status = 200): FastifyReply {
  let body = head(p);
  if (state.kind === 'form') body += firstAdminForm(state.form);
  else if (state.kind === 'remote') {
    body += '<h2>No administrator yet</h2><p id="remote">This identity domain has no administrator yet. The form to create one is only offered on the machine itself:'
      + ' open this page there, at a localhost address, without a proxy in between. Or run on the server:</p>'
      + `<p><code id="cli">${esc(state.cli)}</code></p>`
      + '<p class="muted">or set TESSERA_BOOTSTRAP_ADMIN_USERNAME and TESSERA_BOOTSTRAP_ADMIN_PASSWORD and restart.</p>';
  }
  return sendPage(reply, status, 'Tessera', body);
}

/** After the form: the administrator exists; the console is the next step. */
export function administratorCreatedPage(reply: FastifyReply, p: WelcomeBase, userName: string): FastifyReply {
  return sendPage(reply, 201, 'Administrator created', '<h1>Administrator created</h1>'
    + `<p id="created">The user <strong>${esc(userName)}</strong> is now an Identity Domain Administrator of ${esc(p.domainDisplayName)}.</p>`
    + `<p><a href="${esc(p.console)}" id="open-console">Open the console</a> and sign in as ${esc(userName)}.</p>`
    + `<p class="muted">Issuer for client libraries: <code>${esc(p.issuer)}</code></p>`);
}

/** A refused first-run POST: an HTML page saying why and what to do instead. */
export function firstRunRefusedPage(reply: FastifyReply, status: number, title: string, detail: string, p: WelcomeBase): FastifyReply {
  return sendPage(reply, status, title, `<h1>${esc(title)}</h1><p class="error" role="alert">${esc(detail)}</p>${links(p)}`);
}
