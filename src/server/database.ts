/**
 * The server's SQLite database (better-sqlite3): opened in WAL mode with foreign keys on, and migrated to the
 * latest schema version on open.
 */
import Database from 'better-sqlite3';
import { LilnetError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import { MIGRATIONS, type Migration } from './migrations.ts';

const log = moduleLogger('server.database');

export type Db = Database.Database;

/** Opens (creating when absent) the database file and applies every pending migration. */
export function openDatabase(file: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, migrations);
  return db;
}

/** Returns the schema version of the database: the highest applied migration, 0 for a new file. */
export function schemaVersion(db: Db): number {
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as {
    version: number | null;
  };
  return row.version ?? 0;
}

function migrate(db: Db, migrations: readonly Migration[]): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)',
  );
  const current = schemaVersion(db);
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `the database has schema version ${current}, newer than this lilnet's ${latest}`,
      { hint: 'run the lilnet version that created this data folder, or use another --data folder' },
    );
  }
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(
        migration.version,
        new Date().toISOString(),
      );
    })();
    log.info({ version: migration.version, description: migration.description }, 'applied schema migration');
  }
}
