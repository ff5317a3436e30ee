import { mkdirSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from '../schema.js';
import type { Logger } from '../../core/index.js';
import type { DialectQuirks } from '../migrations/index.js';
import { GuardedDialect } from '../guard.js';
import { StoreHealth } from '../health.js';
import { DurableSqliteDialect } from './durable-driver.js';
import { WalSync } from './wal-sync.js';

/** SQLite's quirks for the shared migrations. */
export const sqliteQuirks: DialectQuirks = {
  name: 'sqlite',
  binaryType: 'blob',
  autoIdColumn: (c) => c.primaryKey().autoIncrement(),
};

/**
 * Opens (creating if needed) a SQLite database file in WAL mode.
 * Kysely's SQLite dialect runs every query and transaction on one connection, so there is one writer.
 * SECURITY: every commit is durable before it resolves (and so before anything is acknowledged): a
 * file database syncs its WAL on a dedicated thread after each commit ({@link WalSync}, group commit,
 * the event loop never waits for the disk); `:memory:` has nothing to sync.
 */
export function openSqlite(path: string, log?: Logger): { db: Kysely<Database>; health: StoreHealth } {
  const inMemory = path === ':memory:';
  if (!inMemory) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const sqlite = new Sqlite(path);
  sqlite.pragma('journal_mode = WAL');
  // SECURITY: NORMAL only because WalSync syncs every commit itself; without it, FULL.
  sqlite.pragma(inMemory ? 'synchronous = FULL' : 'synchronous = NORMAL');
  // Checkpoints run on the sync thread; this high limit only bounds the WAL should that thread stall.
  if (!inMemory) sqlite.pragma(`wal_autocheckpoint = ${FALLBACK_CHECKPOINT_PAGES}`);
  sqlite.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  cacheStatements(sqlite);
  const health = new StoreHealth(inMemory ? undefined : () => hasRoom(sqlite, dirname(path)), log);
  const inner = inMemory
    ? new SqliteDialect({ database: sqlite })
    : new DurableSqliteDialect(sqlite, WalSync.start(path, log));
  const dialect = new GuardedDialect(inner, {
    onFault: (fault, cause) => health.onFault(fault, cause),
    // SQLite may have rolled the transaction back itself (SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY).
    inTransaction: () => sqlite.inTransaction,
  });
  return { db: new Kysely<Database>({ dialect }), health };
}

/** WAL pages after which the connection checkpoints by itself (the sync thread normally does it far sooner). */
const FALLBACK_CHECKPOINT_PAGES = 16_384;
/** Size a WAL file is truncated back to after it was reset. */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** Room that counts as "the store can write again" after a disk-full failure. */
const ROOM_BYTES = 1024 * 1024;

/**
 * Read-only: true when both the file system holding the database and SQLite's own page limit
 * (`max_page_count`) leave at least ROOM_BYTES. Pages on the freelist are reusable and count as room.
 */
async function hasRoom(sqlite: Sqlite.Database, dir: string): Promise<boolean> {
  const fs = await statfs(dir);
  const pageSize = Number(sqlite.pragma('page_size', { simple: true }));
  const pagesLeft =
    Number(sqlite.pragma('max_page_count', { simple: true })) -
    Number(sqlite.pragma('page_count', { simple: true })) +
    Number(sqlite.pragma('freelist_count', { simple: true }));
  return Number(fs.bavail) * Number(fs.bsize) >= ROOM_BYTES && pagesLeft * pageSize >= ROOM_BYTES;
}

/** Most prepared statements kept per database. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely prepares every query afresh; better-sqlite3 statements can be reused. Queries are built
 * from a fixed set of shapes (values are bound parameters), so caching by SQL text is bounded and
 * safe: Kysely runs one statement at a time on this single connection.
 */
function cacheStatements(db: Sqlite.Database): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Sqlite.Statement>();
  db.prepare = ((source: string) => {
    let stmt = cache.get(source);
    if (stmt) {
      cache.delete(source);
    } else {
      stmt = prepare(source);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    }
    cache.set(source, stmt);
    return stmt;
  }) as typeof db.prepare;
}
