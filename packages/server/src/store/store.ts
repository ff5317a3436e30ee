import { join, resolve } from 'node:path';
import { Migrator, type Kysely, type MigrationResultSet } from 'kysely';
import { migrations, type DialectQuirks } from './migrations/index.js';
import { openPostgres, postgresQuirks } from './postgres/driver.js';
import type { Database } from './schema.js';
import { openSqlite, sqliteQuirks } from './sqlite/driver.js';

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

/** Opens the store named by `opts.url`, defaulting to a SQLite file in the data directory. */
export async function openStore(opts: StoreOptions): Promise<Store> {
  const url = opts.url ?? `sqlite:${join(opts.dataDir, 'palisade.db')}`;
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
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations(quirks) } });
      const result: MigrationResultSet = await migrator.migrateToLatest();
      if (result.error) throw result.error;
      return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    },
    close: () => db.destroy(),
  };
}
