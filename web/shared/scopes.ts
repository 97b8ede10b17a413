/** Admin-API scopes (src/identity/builtins.ts ADMIN_SCOPES) and what the signed-in user's token allows. */
export const SCOPES = {
  users: 'urn:opc:idm:t.users',
  usersRead: 'urn:opc:idm:t.users.read',
  groups: 'urn:opc:idm:t.groups',
  groupsRead: 'urn:opc:idm:t.groups.read',
  resetPassword: 'urn:opc:idm:t.user.resetpassword',
  apps: 'urn:opc:idm:t.apps',
  auditRead: 'urn:opc:idm:t.audit.read',
  settings: 'urn:opc:idm:t.settings',
  me: 'urn:opc:idm:t.user.me',
} as const;

/** The token's scopes; `can(a, b)` is true when any one of them is held (as the server's PERMISSIONS table reads). */
export class Scopes {
  constructor(private readonly held: ReadonlySet<string>) {}
  can(...any: string[]): boolean { return any.some((s) => this.held.has(s)); }
  /** Any administration scope at all (Me alone is not administration). */
  get isAdmin(): boolean {
    return Object.values(SCOPES).some((s) => s !== SCOPES.me && this.held.has(s));
  }
  get list(): string[] { return [...this.held]; }
}
