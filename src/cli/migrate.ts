import { migrate, openDatabase } from '../storage/db.js';
import { config, print } from './common.js';

export async function migrateCommand(): Promise<void> {
  const cfg = config();
  const db = await openDatabase(cfg.databaseUrl);
  try {
    const applied = await migrate(db.db);
    print(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await db.close();
  }
}
