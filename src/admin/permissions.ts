import { ADMIN_SCOPES as S } from '../identity/builtins.js';

/**
 * Which scopes allow which operations on each admin resource (after Oracle's
 * RequiredRolePerEndpointExt table). Any one listed scope suffices.
 */
export const PERMISSIONS = {
  Apps: { read: [S.apps], write: [S.apps] },
  AppRoles: { read: [S.apps], write: [S.apps] },
  Grants: { read: [S.apps], write: [S.apps] },
  // Trusting an issuer is like registering a client's keys: the Application Administrator's business.
  TrustedIssuers: { read: [S.apps], write: [S.apps] },
  AuditEvents: { read: [S.auditRead], write: [] },
  Users: { read: [S.users, S.usersRead], write: [S.users] },
  AuthenticationFactorsRemover: { read: [], write: [S.users] },
  // A user's SSO sessions: listing them is reading the user; signing them out is changing the user.
  Sessions: { read: [S.users, S.usersRead], write: [S.users] },
  UserLockedStateChanger: { read: [], write: [S.users] },
  // An administrator's password reset: the Help Desk Administrator's one write.
  UserPasswordChanger: { read: [], write: [S.users, S.resetPassword] },
  AppClientSecretRegenerator: { read: [], write: [S.apps] },
  Groups: { read: [S.groups, S.groupsRead], write: [S.groups] },
  SigningKeys: { read: [S.settings], write: [S.settings] },
  IdentityDomains: { read: [S.settings], write: [S.settings] },
} as const satisfies Record<string, { read: readonly string[]; write: readonly string[] }>;

export type AdminResource = keyof typeof PERMISSIONS;
