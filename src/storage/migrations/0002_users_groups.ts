import type { Kysely } from 'kysely';

/**
 * Users, groups and group memberships (RFC 7643 §4.1, §4.2).
 *
 * The columns other than `data` are what the admin API filters and sorts on in SQL (src/scim/sql.ts):
 * `*_lower` columns hold the lower-cased value of attributes that are not caseExact, so a filter
 * compares them with a lower-cased operand on either dialect and an index serves it. Everything else of
 * the SCIM resource lives in `data` (JSON text). Emails get their own table so `emails.value` filters
 * match any of a user's addresses, not only the primary one.
 */
// Migrations are append-only: never edit a released one, add the next file instead.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull().references('domains.id').onDelete('cascade'))
    .addColumn('user_name', 'text', (c) => c.notNull())
    .addColumn('user_name_lower', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text')
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('display_name', 'text')
    .addColumn('display_name_lower', 'text')
    .addColumn('given_name_lower', 'text')
    .addColumn('family_name_lower', 'text')
    .addColumn('email_lower', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text')
    .addColumn('password_history', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    // RFC 7643 §4.1.1: userName is unique (uniqueness "server") and not caseExact.
    .addUniqueConstraint('users_user_name_uq', ['domain_id', 'user_name_lower'])
    .execute();
  await db.schema.createIndex('users_domain_created').on('users').columns(['domain_id', 'created_at']).execute();
  await db.schema.createIndex('users_domain_external_id').on('users').columns(['domain_id', 'external_id']).execute();
  await db.schema.createIndex('users_domain_email').on('users').columns(['domain_id', 'email_lower']).execute();
  await db.schema.createIndex('users_domain_family_name').on('users').columns(['domain_id', 'family_name_lower']).execute();
  await db.schema.createIndex('users_domain_display_name').on('users').columns(['domain_id', 'display_name_lower']).execute();

  await db.schema.createTable('user_emails')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('domain_id', 'text', (c) => c.notNull())
    .addColumn('value_lower', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('user_emails_pk', ['user_id', 'value_lower'])
    .execute();
  await db.schema.createIndex('user_emails_value').on('user_emails').columns(['domain_id', 'value_lower']).execute();

  await db.schema.createTable('groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull().references('domains.id').onDelete('cascade'))
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('display_name_lower', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('groups_display_name_uq', ['domain_id', 'display_name_lower'])
    .execute();
  await db.schema.createIndex('groups_domain_created').on('groups').columns(['domain_id', 'created_at']).execute();

  await db.schema.createTable('group_members')
    .addColumn('group_id', 'text', (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addColumn('member_type', 'text', (c) => c.notNull())
    .addColumn('member_id', 'text', (c) => c.notNull())
    .addColumn('domain_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'member_type', 'member_id'])
    .execute();
  // A user's `groups` (RFC 7643 §4.1.2) is read through this index.
  await db.schema.createIndex('group_members_member').on('group_members').columns(['member_type', 'member_id']).execute();

  // Revoking every token of a user (deactivation, deletion) looks tokens up by subject.
  await db.schema.createIndex('tokens_subject').on('tokens').columns(['domain_id', 'sub_type', 'sub']).execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
