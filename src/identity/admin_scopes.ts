/**
 * The identity domain API's scopes. A file of its own that imports nothing, so the browser apps (web/) use
 * the same table as the server.
 */
export const ADMIN_SCOPES = {
  users: 'urn:opc:idm:t.users',
  usersRead: 'urn:opc:idm:t.users.read',
  groups: 'urn:opc:idm:t.groups',
  groupsRead: 'urn:opc:idm:t.groups.read',
  resetPassword: 'urn:opc:idm:t.user.resetpassword',
  apps: 'urn:opc:idm:t.apps',
  auditRead: 'urn:opc:idm:t.audit.read',
  settings: 'urn:opc:idm:t.settings',
  /** Self-service: the signed-in user's own profile and password (/admin/v1/Me, MePasswordChanger). */
  me: 'urn:opc:idm:t.user.me',
  /** The Authenticate API (/sso/v1/sdk/authenticate) for custom sign-in pages. */
  signin: 'urn:opc:idm:t.security.signin',
} as const;
