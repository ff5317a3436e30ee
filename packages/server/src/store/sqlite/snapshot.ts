import { constants, copyFileSync, existsSync, linkSync, mkdirSync, renameSync, rmSync } from 'node:fs';
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

/** Checks that a snapshot is a sound SQLite database (integrity_check says ok) before it is used. */
export function checkSqliteSnapshot(snapshot: string): void {
  let db: Sqlite.Database;
  try {
    db = new Sqlite(snapshot, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new Error(`the backup does not hold a SQLite database (${(e as Error).message})`);
  }
  try {
    const r = db.pragma('integrity_check', { simple: true });
    if (r !== 'ok') throw new Error(`the database in the backup fails SQLite's integrity check: ${String(r)}`);
  } catch (e) {
    throw new Error(`the database in the backup is damaged (${(e as Error).message})`);
  } finally {
    db.close();
  }
}

/** Moves `from` to `to`, copying first when they are on different filesystems. */
function moveInto(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    const tmp = `${to}.restoring`;
    copyFileSync(from, tmp);
    renameSync(tmp, to);
    rmSync(from, { force: true });
  }
}

/**
 * Installs a checked snapshot as the database at `path`. An existing database is kept as `keepAs`
 * (a hard link, so `path` never disappears), with its -wal and -shm files beside it under that name.
 * SECURITY: the last step is one rename over `path`: a reader sees the old database or the new one.
 */
export function installSqlite(snapshot: string, path: string, keepAs: string): string | undefined {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let kept: string | undefined;
  if (existsSync(path)) {
    try {
      linkSync(path, keepAs);
    } catch (e) {
      // Never overwrite something kept earlier; copy only where hard links are not possible.
      if ((e as NodeJS.ErrnoException).code === 'EEXIST')
        throw new Error(`${keepAs} already exists; move it away and restore again`);
      copyFileSync(path, keepAs, constants.COPYFILE_EXCL);
    }
    kept = keepAs;
  }
  for (const extra of ['-wal', '-shm'])
    if (existsSync(`${path}${extra}`)) renameSync(`${path}${extra}`, `${keepAs}${extra}`);
  moveInto(snapshot, path);
  return kept;
}
