import { join, resolve } from 'node:path';
import { Migrator, type Kysely, type MigrationResultSet } from 'kysely';
import { migrations, type DialectQuirks } from './migrations/index.js';
import { existsSync } from 'node:fs';
import { sql } from 'kysely';
import type { Logger, Secret } from '../core/index.js';
import type { StoreHealth, StoreHealthReport } from './health.js';
import { ensurePostgresSchema, openPostgresPool, postgresQuirks, type PostgresOptions } from './postgres/driver.js';
import type { PostgresTls } from './postgres/tls.js';
import type { Database } from './schema.js';
import { openSqlite, sqliteQuirks } from './sqlite/driver.js';
import {
  installPostgres,
  postgresHoldsData,
  preparePostgresRestore,
  snapshotPostgres,
  type PgTarget,
} from './postgres/snapshot.js';
import { checkSqliteSnapshot, installSqlite, snapshotSqlite } from './sqlite/snapshot.js';

/** Where the store lives. */
export interface StoreOptions {
  /** `sqlite:PATH`, `sqlite::memory:` or `postgres://...`; default `sqlite:<dataDir>/palisade.db`. */
  url?: string;
  dataDir: string;
  /** PostgreSQL password, revealed only where a connection or a libpq tool needs it. */
  password?: Secret<string>;
  schema?: string;
  poolSize?: number;
  /** PostgreSQL only: TLS as the configuration decided it. */
  tls?: PostgresTls;
  /** PostgreSQL only: longest a statement may run (default 5 s); migrations have no limit. */
  queryTimeoutMs?: number;
  /** Where store link errors are reported (they never crash the process). */
  log?: Logger;
}

/** An open store: the query builder, which database it is, and lifecycle operations. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: 'sqlite' | 'postgres';
  /** Applies pending migrations; returns their names. Throws if one fails. */
  migrate(): Promise<string[]>;
  /**
   * Readiness: answers a query within `timeoutMs`, and no disk-full failure is latched. Never
   * throws; writes nothing.
   */
  health(timeoutMs: number): Promise<StoreHealthReport>;
  close(): Promise<void>;
}

/** Default statement time limit on PostgreSQL. */
export const DEFAULT_QUERY_TIMEOUT_MS = 5000;

const storeUrl = (opts: StoreOptions) => opts.url ?? `sqlite:${join(opts.dataDir, 'palisade.db')}`;

/** Which database a store URL names. */
export function storeDialect(opts: StoreOptions): 'sqlite' | 'postgres' {
  return storeUrl(opts).startsWith('sqlite:') ? 'sqlite' : 'postgres';
}

const pgTarget = (opts: StoreOptions, url: string): PgTarget => ({
  url,
  schema: opts.schema ?? 'public',
  password: opts.password,
  tls: opts.tls,
});
const sqlitePath = (url: string) => resolve(url.slice('sqlite:'.length));

/**
 * Writes a consistent snapshot of the store to `dest` while it may be in use: SQLite's online backup,
 * or pg_dump of the store's schema. The file is in clear: the caller encrypts it.
 */
export async function snapshotStore(opts: StoreOptions, dest: string): Promise<'sqlite' | 'postgres'> {
  const url = storeUrl(opts);
  if (url.startsWith('sqlite:')) {
    await snapshotSqlite(sqlitePath(url), dest);
    return 'sqlite';
  }
  await snapshotPostgres(pgTarget(opts, url), dest);
  return 'postgres';
}

/** True when the store already holds a database (a SQLite file, or tables in the PostgreSQL schema). */
export async function storeHoldsData(opts: StoreOptions): Promise<boolean> {
  const url = storeUrl(opts);
  return url.startsWith('sqlite:') ? existsSync(sqlitePath(url)) : postgresHoldsData(pgTarget(opts, url));
}

/** A snapshot that has been checked and can be installed as the store. */
export interface PreparedRestore {
  /**
   * Installs the snapshot in one atomic step; a store that was there is kept aside under a name
   * made from `stamp` (returned). The server must be stopped.
   */
  install(stamp: string): Promise<string | undefined>;
}

/**
 * Checks a clear snapshot (SQLite integrity check, or pg_restore reading the dump) and gets it ready
 * to install. Changes nothing in the live store: a snapshot that fails here leaves it as it was.
 */
export async function prepareRestore(opts: StoreOptions, snapshot: string): Promise<PreparedRestore> {
  const url = storeUrl(opts);
  if (url.startsWith('sqlite:')) {
    checkSqliteSnapshot(snapshot);
    const path = sqlitePath(url);
    return { install: (stamp) => new Promise((done) => done(installSqlite(snapshot, path, `${path}.bak-${stamp}`))) };
  }
  const t = pgTarget(opts, url);
  const script = await preparePostgresRestore(t, snapshot);
  return {
    install: (stamp) =>
      installPostgres(t, script, `${t.schema.slice(0, 40)}_bak_${stamp.toLowerCase().replace(/[^a-z0-9]/g, '')}`),
  };
}

/** Opens the store named by `opts.url`, defaulting to a SQLite file in the data directory. */
export async function openStore(opts: StoreOptions): Promise<Store> {
  const url = storeUrl(opts);
  let db: Kysely<Database>;
  let health: StoreHealth;
  let quirks: DialectQuirks;
  let migrationTableSchema: string | undefined;
  /** Runs `fn` on a handle for migrations (PostgreSQL: a pool of its own without statement limit). */
  let withMigrationDb: (fn: (db: Kysely<Database>) => Promise<string[]>) => Promise<string[]>;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    ({ db, health } = openSqlite(path === ':memory:' ? path : resolve(path), opts.log));
    quirks = sqliteQuirks;
    withMigrationDb = (fn) => fn(db);
  } else {
    const pgOpts: PostgresOptions = {
      url,
      password: opts.password,
      schema: opts.schema ?? 'public',
      poolSize: opts.poolSize ?? 10,
      tls: opts.tls,
      queryTimeoutMs: opts.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
      log: opts.log,
    };
    await ensurePostgresSchema(pgOpts);
    ({ db, health } = openPostgresPool(pgOpts));
    quirks = postgresQuirks;
    // Kysely looks for its migration tables in ANY schema unless told which one: with two Palisade
    // schemas in one database (or parallel test suites) it would see the other's table and fail.
    migrationTableSchema = pgOpts.schema;
    withMigrationDb = async (fn) => {
      const m = openPostgresPool({ ...pgOpts, poolSize: 1, queryTimeoutMs: 0 });
      try {
        return await fn(m.db);
      } finally {
        await m.db.destroy();
      }
    };
  }
  return {
    db,
    dialect: quirks.name,
    migrate: () =>
      withMigrationDb(async (mdb) => {
        const migrator = new Migrator({
          db: mdb,
          migrationTableSchema,
          provider: { getMigrations: () => Promise.resolve(migrations(quirks)) },
        });
        const result: MigrationResultSet = await migrator.migrateToLatest();
        if (result.error)
          throw result.error instanceof Error ? result.error : new Error('a migration failed', { cause: result.error });
        return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
      }),
    health: (timeoutMs) => health.check(() => sql`SELECT 1`.execute(db), timeoutMs),
    close: () => db.destroy(),
  };
}
