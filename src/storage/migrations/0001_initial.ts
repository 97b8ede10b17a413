import { sql, type Kysely } from 'kysely';

// Migrations are append-only: never edit a released one, add the next file instead.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('domains')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema.createTable('signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull().references('domains.id').onDelete('cascade'))
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('private_jwk_enc', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('activated_at', 'bigint')
    .addColumn('retired_at', 'bigint')
    .addColumn('expires_at', 'bigint')
    .execute();
  await db.schema.createIndex('signing_keys_domain').on('signing_keys').columns(['domain_id', 'alg', 'status']).execute();
  // At most one active and one next key per domain and alg, even when two nodes create keys at once.
  await db.schema.createIndex('signing_keys_one_active').on('signing_keys').columns(['domain_id', 'alg']).unique()
    .where(sql.ref('status'), '=', 'active').execute();
  await db.schema.createIndex('signing_keys_one_next').on('signing_keys').columns(['domain_id', 'alg']).unique()
    .where(sql.ref('status'), '=', 'next').execute();

  await db.schema.createTable('apps')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull().references('domains.id').onDelete('cascade'))
    .addColumn('client_id', 'text')
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('is_client', 'integer', (c) => c.notNull())
    .addColumn('is_resource', 'integer', (c) => c.notNull())
    .addColumn('audience', 'text')
    .addColumn('is_builtin', 'integer', (c) => c.notNull())
    .addColumn('secret_hash', 'text')
    .addColumn('secret_enc', 'text')
    .addColumn('registration_token_hash', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('apps_client_id_uq', ['domain_id', 'client_id'])
    .addUniqueConstraint('apps_audience_uq', ['domain_id', 'audience'])
    .execute();

  await db.schema.createTable('app_scopes')
    .addColumn('domain_id', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('app_scopes_pk', ['domain_id', 'scope'])
    .execute();

  await db.schema.createTable('app_roles')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull().references('domains.id').onDelete('cascade'))
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('is_builtin', 'integer', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('app_roles_name_uq', ['domain_id', 'display_name'])
    .execute();

  await db.schema.createTable('grants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull().references('domains.id').onDelete('cascade'))
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('app_role_id', 'text', (c) => c.notNull().references('app_roles.id').onDelete('cascade'))
    .addColumn('grantee_type', 'text', (c) => c.notNull())
    .addColumn('grantee_id', 'text', (c) => c.notNull())
    .addColumn('mechanism', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('grants_uq', ['domain_id', 'app_role_id', 'grantee_type', 'grantee_id'])
    .execute();
  await db.schema.createIndex('grants_grantee').on('grants').columns(['domain_id', 'grantee_type', 'grantee_id']).execute();

  await db.schema.createTable('tokens')
    .addColumn('hash', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('sub', 'text', (c) => c.notNull())
    .addColumn('sub_type', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('aud', 'text', (c) => c.notNull())
    .addColumn('jti', 'text', (c) => c.notNull())
    .addColumn('grant_id', 'text')
    .addColumn('issued_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('tokens_grant').on('tokens').columns(['grant_id']).execute();
  await db.schema.createIndex('tokens_expiry').on('tokens').columns(['expires_at']).execute();

  await db.schema.createTable('revoked_jtis')
    .addColumn('jti', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('revoked_jtis_expiry').on('revoked_jtis').columns(['expires_at']).execute();

  await db.schema.createTable('used_jtis')
    .addColumn('domain_id', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('jti', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('used_jtis_pk', ['domain_id', 'client_id', 'jti'])
    .execute();
  await db.schema.createIndex('used_jtis_expiry').on('used_jtis').columns(['expires_at']).execute();

  await db.schema.createTable('audit_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull())
    .addColumn('ts', 'bigint', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('actor_type', 'text')
    .addColumn('actor_id', 'text')
    .addColumn('actor_name', 'text')
    .addColumn('client_ip', 'text')
    .addColumn('target_type', 'text')
    .addColumn('target_id', 'text')
    .addColumn('message', 'text')
    .addColumn('details', 'text')
    .execute();
  await db.schema.createIndex('audit_domain_ts').on('audit_events').columns(['domain_id', 'ts']).execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
