import type { Kysely } from 'kysely';

/**
 * Issue 10: the change log through which processes sharing one SQLite file tell each other what to
 * drop from their caches (src/cache/invalidation.ts polls it). `id` is SQLite's rowid, assigned in
 * commit order because SQLite runs one write transaction at a time; the purge always keeps the newest
 * row so ids never restart. PostgreSQL announces changes with NOTIFY instead and never writes here.
 */
// Migrations are append-only: never edit a released one, add the next file instead.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('cache_changes')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('ref', 'text')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('cache_changes_at').on('cache_changes').columns(['at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('cache_changes').execute();
}
