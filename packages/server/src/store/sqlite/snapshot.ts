import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import Sqlite from 'better-sqlite3';

/**
 * A consistent copy of a live SQLite database (SQLite's online backup API), taken from its own
 * read-only connection, so it works while the server keeps writing.
 */
export async function snapshotSqlite(path: string, dest: string): Promise<void> {
  if (!existsSync(path)) throw new Error(`no database at ${path}`);
  const src = new Sqlite(path, { readonly: true, fileMustExist: true });
  try {
    await src.backup(dest);
  } finally {
    src.close();
  }
}

/** Puts a snapshot in place as the database file (refuses to replace one unless `force`). */
export function restoreSqlite(snapshot: string, path: string, force: boolean): void {
  if (existsSync(path) && !force) throw new Error(`${path} already exists; restore into an empty data directory, or pass --force to replace it`);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  for (const extra of ['-wal', '-shm']) rmSync(`${path}${extra}`, { force: true });
  copyFileSync(snapshot, path);
  // Opening it once checks that it is a SQLite database before the server sees it.
  const db = new Sqlite(path, { fileMustExist: true });
  try {
    db.pragma('integrity_check');
  } finally {
    db.close();
  }
}
