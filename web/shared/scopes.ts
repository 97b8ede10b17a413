import { ADMIN_SCOPES } from '../../src/identity/admin_scopes.js';

/** Admin-API scopes, from the server's own table (the Signin scope is not the console's), and what the signed-in user's token allows. */
const { signin: _signin, ...scopes } = ADMIN_SCOPES;
export const SCOPES = scopes;

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
