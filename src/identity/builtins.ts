import type { ScopeDef } from '../core/types.js';
import { ADMIN_SCOPES } from './admin_scopes.js';

/**
 * The identity domain API is itself a resource server: a built-in App per domain whose scopes gate
 * `/admin/v1/*`, and built-in AppRoles that carry those scopes ("AppRoles directly translate into
 * identity domain OAuth scopes", Oracle AppRoleClientsUsers).
 */
export const ADMIN_APP_NAME = 'Identity Domain API';

export { ADMIN_SCOPES };

/**
 * Admin-API scopes a user needs no role for: they act on the signed-in user only. The client still
 * needs them (through the Me role), so an app cannot reach them unless an administrator allowed it.
 */
export const SELF_SERVICE_SCOPES: ReadonlySet<string> = new Set([ADMIN_SCOPES.me]);

export const ADMIN_SCOPE_DEFS: ScopeDef[] = [
  { value: ADMIN_SCOPES.users, description: 'Manage users' },
  { value: ADMIN_SCOPES.usersRead, description: 'Read users' },
  { value: ADMIN_SCOPES.groups, description: 'Manage groups' },
  { value: ADMIN_SCOPES.groupsRead, description: 'Read groups' },
  { value: ADMIN_SCOPES.resetPassword, description: "Reset users' passwords" },
  { value: ADMIN_SCOPES.apps, description: 'Manage apps, app roles, grants and client registrations' },
  { value: ADMIN_SCOPES.auditRead, description: 'Read audit events' },
  { value: ADMIN_SCOPES.settings, description: 'Manage domain settings, signing keys and identity domains' },
  { value: ADMIN_SCOPES.me, description: 'Read and change your own profile and password' },
  { value: ADMIN_SCOPES.signin, description: 'Sign users in through the Authenticate API' },
];

export const BUILTIN_ROLES: { name: string; description: string; scopes: string[] }[] = [
  { name: 'Identity Domain Administrator', description: 'Everything in the identity domain', scopes: Object.values(ADMIN_SCOPES) },
  { name: 'User Administrator', description: 'Users and groups', scopes: [ADMIN_SCOPES.users, ADMIN_SCOPES.usersRead, ADMIN_SCOPES.groups, ADMIN_SCOPES.groupsRead] },
  // Oracle's Application Administrator also reads AuditEvents (RequiredRolePerEndpointExt).
  { name: 'Application Administrator', description: 'Apps, app roles, grants and client registration', scopes: [ADMIN_SCOPES.apps, ADMIN_SCOPES.auditRead] },
  { name: 'Help Desk Administrator', description: 'Read users and groups, reset passwords', scopes: [ADMIN_SCOPES.usersRead, ADMIN_SCOPES.groupsRead, ADMIN_SCOPES.resetPassword] },
  { name: 'Audit Administrator', description: 'Read audit events', scopes: [ADMIN_SCOPES.auditRead] },
  // Granted to client apps (Oracle AppRoleClientsUsers: "granted only to clients").
  { name: 'Me', description: 'Lets an app act for the signed-in user on their own profile', scopes: [ADMIN_SCOPES.me] },
  { name: 'Signin', description: 'Lets an app sign users in through the Authenticate API (custom sign-in pages)', scopes: [ADMIN_SCOPES.signin] },
];
export const IDENTITY_DOMAIN_ADMINISTRATOR = 'Identity Domain Administrator';

/** Scope values that expand instead of naming one scope (Oracle Scopes.htm). */
export const MY_SCOPES = 'urn:opc:idm:__myscopes__';
export const ROLE_SCOPE_PREFIX = 'urn:opc:idm:role.';
export const EXPIRY_SCOPE_PREFIX = 'urn:opc:resource:expiry=';

/**
 * The browser apps served by Tessera itself (web/console, web/account): built-in PUBLIC clients of
 * every domain (authorization code + PKCE S256, no secret, no other grant). They are first party (no
 * consent page) and cannot be changed through the admin API or dynamic registration.
 * - The console holds every built-in administrator role and asks for `__myscopes__`, which in a user
 *   flow yields only roles held by both the client and the user: its token carries exactly the admin
 *   scopes of the signed-in user (plus the self-service Me scope), never more.
 * - The account page holds the Me role only.
 */
export const CONSOLE_CLIENT_ID = 'tessera-console';
export const ACCOUNT_CLIENT_ID = 'tessera-account';
export const CONSOLE_APP_NAME = 'Tessera Console';
export const ACCOUNT_APP_NAME = 'Tessera Account';
/** Path of each browser app under the domain's issuer (its redirect URI and post-logout redirect URI). */
export const CONSOLE_PATH = '/console/';
export const ACCOUNT_PATH = '/myaccount/';
export const CONSOLE_SCOPE = `openid profile email ${MY_SCOPES} ${ADMIN_SCOPES.me}`;
export const ACCOUNT_SCOPE = `openid profile email ${ADMIN_SCOPES.me}`;

export interface BuiltinClientDef { clientId: string; name: string; description: string; path: string; roles: string[]; scope: string }
export const BUILTIN_CLIENTS: readonly BuiltinClientDef[] = [
  {
    clientId: CONSOLE_CLIENT_ID, name: CONSOLE_APP_NAME, description: 'The administration console (/console/), a built-in public client', path: CONSOLE_PATH,
    roles: BUILTIN_ROLES.filter((r) => r.name !== 'Signin').map((r) => r.name), scope: CONSOLE_SCOPE,
  },
  { clientId: ACCOUNT_CLIENT_ID, name: ACCOUNT_APP_NAME, description: 'The account page (/myaccount/), a built-in public client', path: ACCOUNT_PATH, roles: ['Me'], scope: ACCOUNT_SCOPE },
];

/** Is this one of the built-in browser-app clients (first party, not changeable)? */
export function isBuiltinClient(a: { isBuiltIn: boolean; isOAuthClient: boolean; clientId?: string }): boolean {
  return a.isBuiltIn && a.isOAuthClient && BUILTIN_CLIENTS.some((b) => b.clientId === a.clientId);
}
