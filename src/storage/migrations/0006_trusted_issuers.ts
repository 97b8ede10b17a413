import type { Kysely } from 'kysely';

/**
 * Trusted issuers: parties whose signed assertions (JWT bearer, RFC 7523; SAML 2.0 bearer, RFC 7522)
 * the domain accepts. The issuer string is unique per domain and protocol; the rest is JSON.
 */
// Migrations are append-only: never edit a released one, add the next file instead.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('trusted_issuers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull().references('domains.id').onDelete('cascade'))
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('trusted_issuers_issuer_uq', ['domain_id', 'protocol', 'issuer'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('trusted_issuers').execute();
}
