import type { Kysely } from 'kysely';

/**
 * Device authorization grant (RFC 8628): one row per device code. The device code is stored as its
 * SHA-256, the user code as a keyed hash (unique per domain, so a lookup finds one request).
 */
// Migrations are append-only: never edit a released one, add the next file instead.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('device_codes')
    .addColumn('device_code_hash', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull().references('domains.id').onDelete('cascade'))
    .addColumn('user_code_hash', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('grant_id', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('poll_interval', 'integer', (c) => c.notNull())
    .addColumn('last_poll_at', 'bigint')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('approval', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('device_codes_user_code_uq', ['domain_id', 'user_code_hash'])
    .execute();
  await db.schema.createIndex('device_codes_expiry').on('device_codes').columns(['expires_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('device_codes').execute();
}
