import { join, resolve } from 'node:path';
import { Migrator, type Kysely, type MigrationResultSet } from 'kysely';
import { migrations, type DialectQuirks } from './migrations/index.js';
import { openPostgres, postgresQuirks } from './postgres/driver.js';
import type { Database } from './schema.js';
import { openSqlite, sqliteQuirks } from './sqlite/driver.js';
import { restorePostgres, snapshotPostgres } from './postgres/snapshot.js';
import { restoreSqlite, snapshotSqlite } from './sqlite/snapshot.js';

/** Where the store lives. */
export interface StoreOptions {
  /** `sqlite:PATH`, `sqlite::memory:` or `postgres://...`; default `sqlite:<dataDir>/palisade.db`. */
  url?: string;
  dataDir: string;
  password?: string;
  schema?: string;
  poolSize?: number;
}

/** An open store: the query builder, which database it is, and lifecycle operations. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: 'sqlite' | 'postgres';
  /** Applies pending migrations; returns their names. Throws if one fails. */
  migrate(): Promise<string[]>;
  close(): Promise<void>;
}

const storeUrl = (opts: StoreOptions) => opts.url ?? `sqlite:${join(opts.dataDir, 'palisade.db')}`;

/** Which database a store URL names. */
export function storeDialect(opts: StoreOptions): 'sqlite' | 'postgres' {
  return storeUrl(opts).startsWith('sqlite:') ? 'sqlite' : 'postgres';
}

/**
 * Writes a consistent snapshot of the store to `dest` while it may be in use: SQLite's online backup,
 * or pg_dump of the store's schema. The file is in clear: the caller encrypts it.
 */
export async function snapshotStore(opts: StoreOptions, dest: string): Promise<'sqlite' | 'postgres'> {
  const url = storeUrl(opts);
  if (url.startsWith('sqlite:')) {
    await snapshotSqlite(resolve(url.slice('sqlite:'.length)), dest);
    return 'sqlite';
  }
  await snapshotPostgres(url, opts.schema ?? 'public', opts.password, dest);
  return 'postgres';
}

/** Puts a snapshot back as the store (the server must be stopped); refuses to overwrite unless `force`. */
export async function restoreStore(opts: StoreOptions, snapshot: string, force: boolean): Promise<void> {
  const url = storeUrl(opts);
  if (url.startsWith('sqlite:')) restoreSqlite(snapshot, resolve(url.slice('sqlite:'.length)), force);
  else await restorePostgres(url, opts.schema ?? 'public', opts.password, snapshot, force);
}

/** Opens the store named by `opts.url`, defaulting to a SQLite file in the data directory. */
export async function openStore(opts: StoreOptions): Promise<Store> {
  const url = storeUrl(opts);
  let db: Kysely<Database>;
  let quirks: DialectQuirks;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    db = openSqlite(path === ':memory:' ? path : resolve(path));
    quirks = sqliteQuirks;
  } else {
    db = await openPostgres({ url, password: opts.password, schema: opts.schema ?? 'public', poolSize: opts.poolSize ?? 10 });
    quirks = postgresQuirks;
  }
  return {
    db,
    dialect: quirks.name,
    async migrate() {
      // On PostgreSQL the migration tables are looked up in the store's own schema: without it Kysely
      // finds another schema's `kysely_migration_lock` (e.g. a concurrent test run) and never makes its own.
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations(quirks) }, ...(quirks.name === 'postgres' ? { migrationTableSchema: opts.schema ?? 'public' } : {}) });
      const result: MigrationResultSet = await migrator.migrateToLatest();
      if (result.error) throw result.error;
      return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    },
    close: () => db.destroy(),
  };
}
