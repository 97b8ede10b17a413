import type { Kysely, Migration } from 'kysely';
import { prepareUserName, userNameKey, UserNameRefused } from '../../identity/usernames.js';

/** Where a data migration reports what it had to leave alone (the server's log; stderr for the CLI). */
export type MigrationLog = (message: string) => void;

/** Most individual lines one run writes; the rest is counted in the summary. */
const MAX_LINES = 100;

/**
 * `users.user_name_lower` becomes the RFC 8265 key of the userName (src/identity/usernames.ts):
 * NFKC, lower-cased, NFKC again, instead of toLowerCase alone, so existing look-alikes ("ａｄａ",
 * "ﬁona", a combining é) are found by the names they look like.
 *
 * Never fails on data: a row whose new key is already held by another user of its domain (the
 * oldest keeps it) stays as it was and is logged, as is a name the new rules refuse (it keeps a key,
 * but nobody can sign in with it until an administrator renames the user). Holds no state between
 * rows beyond the keys in use, so it is one read and one update per changed row.
 */
// Migrations are append-only: never edit a released one, add the next file instead.
export function migration(log: MigrationLog): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      const rows = await db.selectFrom('users').select(['id', 'domain_id', 'user_name', 'user_name_lower'])
        .orderBy('domain_id').orderBy('created_at').orderBy('id').execute() as { id: string; domain_id: string; user_name: string; user_name_lower: string }[];
      // domain -> key -> the user holding it; the unique constraint (domain_id, user_name_lower) must hold after every update.
      const held = new Map<string, Map<string, string>>();
      for (const r of rows) {
        let m = held.get(r.domain_id);
        if (!m) held.set(r.domain_id, (m = new Map()));
        m.set(r.user_name_lower, r.id);
      }
      let lines = 0;
      const note = (msg: string) => { if (lines++ < MAX_LINES) log(msg); };
      let updated = 0;
      let collisions = 0;
      let refused = 0;
      for (const r of rows) {
        try {
          prepareUserName(r.user_name);
        } catch (e) {
          if (!(e instanceof UserNameRefused)) throw e;
          refused++;
          note(`user ${r.id} (domain ${r.domain_id}): its userName is refused by RFC 8265 (${e.rule}); it cannot sign in until renamed`);
        }
        const key = userNameKey(r.user_name);
        if (key === r.user_name_lower) continue;
        const keys = held.get(r.domain_id)!;
        const holder = keys.get(key);
        if (holder !== undefined && holder !== r.id) {
          collisions++;
          note(`user ${r.id} (domain ${r.domain_id}): its userName is the same RFC 8265 name as user ${holder}'s; left unchanged (it cannot sign in by that name): rename one of them`);
          continue;
        }
        await db.updateTable('users').set({ user_name_lower: key }).where('id', '=', r.id).execute();
        if (keys.get(r.user_name_lower) === r.id) keys.delete(r.user_name_lower);
        keys.set(key, r.id);
        updated++;
      }
      if (collisions || refused || lines > MAX_LINES) {
        log(`migration 0004_usernames: ${updated} user name keys recomputed, ${collisions} left unchanged (same name as another user), ${refused} names refused by RFC 8265`);
      }
    },
  };
}
