import type { Kysely } from 'kysely';

/**
 * A per-user cut-off for access tokens: tokens issued before it are refused (set on a new password
 * and on deactivation, so self-contained JWTs do not outlive the reason they were issued).
 */
// Migrations are append-only: never edit a released one, add the next file instead.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('tokens_valid_after', 'bigint').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('tokens_valid_after').execute();
}
