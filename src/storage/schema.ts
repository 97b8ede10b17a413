/**
 * Table shapes shared by both dialects. Portable choices: times are epoch milliseconds in BIGINT
 * (PostgreSQL int8 is parsed to a number), booleans are 0/1 integers, structured data is JSON text.
 */
export interface DomainsTable { id: string; name: string; display_name: string; settings: string; created_at: number; updated_at: number }
export interface SigningKeysTable {
  kid: string; domain_id: string; alg: string; status: 'next' | 'active' | 'retired';
  public_jwk: string; private_jwk_enc: string; created_at: number;
  activated_at: number | null; retired_at: number | null; expires_at: number | null;
}
export interface AppsTable {
  id: string; domain_id: string; client_id: string | null; display_name: string; active: number;
  is_client: number; is_resource: number; audience: string | null; is_builtin: number;
  secret_hash: string | null; secret_enc: string | null; registration_token_hash: string | null;
  data: string; version: number; created_at: number; updated_at: number;
}
export interface AppScopesTable { domain_id: string; scope: string; app_id: string }
export interface AppRolesTable {
  id: string; domain_id: string; app_id: string; display_name: string; is_builtin: number;
  data: string; version: number; created_at: number; updated_at: number;
}
export interface GrantsTable {
  id: string; domain_id: string; app_id: string; app_role_id: string; grantee_type: string; grantee_id: string;
  mechanism: string; version: number; created_at: number; updated_at: number;
}
export interface TokensTable {
  hash: string; domain_id: string; kind: string; client_id: string; sub: string; sub_type: string; scope: string;
  aud: string; jti: string; grant_id: string | null; session_id: string | null; issued_at: number; expires_at: number; revoked_at: number | null; data: string;
}
export interface RevokedJtisTable { jti: string; domain_id: string; expires_at: number }
export interface UsedJtisTable { domain_id: string; client_id: string; jti: string; expires_at: number }
export interface AuditEventsTable {
  id: string; domain_id: string; ts: number; event_id: string; outcome: string;
  actor_type: string | null; actor_id: string | null; actor_name: string | null; client_ip: string | null;
  target_type: string | null; target_id: string | null; message: string | null; details: string | null;
}

export interface DB {
  domains: DomainsTable;
  signing_keys: SigningKeysTable;
  apps: AppsTable;
  app_scopes: AppScopesTable;
  app_roles: AppRolesTable;
  grants: GrantsTable;
  tokens: TokensTable;
  revoked_jtis: RevokedJtisTable;
  used_jtis: UsedJtisTable;
  audit_events: AuditEventsTable;
}
