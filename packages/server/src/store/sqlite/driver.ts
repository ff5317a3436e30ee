import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from '../schema.js';
import type { DialectQuirks } from '../migrations.js';

/** SQLite's quirks for the shared migrations. */
export const sqliteQuirks: DialectQuirks = {
  name: 'sqlite',
  binaryType: 'blob',
  autoIdColumn: (c) => c.primaryKey().autoIncrement(),
};

/**
 * Opens (creating if needed) a SQLite database file in WAL mode.
 * Kysely's SQLite dialect runs every query and transaction on one connection, so there is one writer.
 * SECURITY: synchronous=FULL so a committed (and therefore acknowledged) message survives power loss.
 */
export function openSqlite(path: string): Kysely<Database> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const sqlite = new Sqlite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
}
