import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Database } from '../schema.js';
import type { Logger, Secret } from '../../core/index.js';
import { storeFault } from '../errors.js';
import { GuardedDialect } from '../guard.js';
import { StoreHealth } from '../health.js';
import type { DialectQuirks } from '../migrations/index.js';
import { postgresSslOptions, withoutSslParams, type PostgresTls } from './tls.js';

/** PostgreSQL's quirks for the shared migrations. */
export const postgresQuirks: DialectQuirks = {
  name: 'postgres',
  binaryType: 'bytea',
  autoIdColumn: (c) => c.primaryKey(),
};

/** int8 (bigint) values are millisecond timestamps and sequence numbers: safe as JS numbers. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Options to reach a PostgreSQL store. */
export interface PostgresOptions {
  url: string;
  password?: Secret<string>;
  schema: string;
  poolSize: number;
  /** TLS to the server, as the configuration decided it (absent: no TLS, for tests on loopback). */
  tls?: PostgresTls;
  /**
   * Longest a statement may run (server-side `statement_timeout`); the client gives up one second
   * later (`query_timeout`, for a link that stalls). 0: no limit (migrations).
   */
  queryTimeoutMs?: number;
  /** Where link errors of idle connections are reported (they never crash the process). */
  log?: Logger;
}

/**
 * Connection settings shared by every client of a store: the URL stripped of TLS parameters plus the
 * explicit `ssl` option, so nothing in the URL can weaken the TLS the configuration asked for. The
 * password is not in here: see `postgresClientClass`.
 */
export function postgresClientConfig(opts: { url: string; tls?: PostgresTls }): pg.ClientConfig {
  return {
    connectionString: withoutSslParams(opts.url),
    connectionTimeoutMillis: 5000,
    ssl: postgresSslOptions(opts.url, opts.tls),
    // PGAPPNAME (or application_name in the URL) wins: operators can tell servers apart in pg_stat_activity.
    fallback_application_name: 'palisade',
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/**
 * pg.Client that authenticates with the store password. node-postgres drops a `password` given beside
 * a `connectionString` (the URL's empty password wins), so it is set on each client instead.
 * SECURITY: the password stays in its Secret and is revealed at each new connection only.
 */
export function postgresClientClass(password: Secret<string> | undefined): typeof pg.Client {
  if (!password) return pg.Client;
  const secret = password;
  return class extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      (this as unknown as { password: () => string }).password = () => secret.reveal();
    }
  };
}

/** One client to the store's server, with its TLS and password. */
export function postgresClient(opts: { url: string; password?: Secret<string>; tls?: PostgresTls }): pg.Client {
  const Client = postgresClientClass(opts.password);
  return new Client(postgresClientConfig(opts));
}

/** Creates the schema when missing (several servers may do so at once). */
export async function ensurePostgresSchema(
  opts: Pick<PostgresOptions, 'url' | 'password' | 'tls' | 'schema'>,
): Promise<void> {
  const admin = postgresClient(opts);
  admin.on('error', () => undefined); // reported by the query below
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA IF NOT EXISTS "${opts.schema}"`);
  } catch (e) {
    // Two servers creating one schema at the same moment: one of them meets the unique index.
    if ((e as { code?: string }).code !== '23505') throw e;
  } finally {
    await admin.end();
  }
}

/**
 * Opens a pool whose search_path is the store's schema (create it first with ensurePostgresSchema).
 * SECURITY (availability): every pooled client has an 'error' listener, so a terminated backend, a
 * PostgreSQL restart or a reset link never crashes the process; a client whose link failed or
 * stalled is discarded, not reused; statements and connection attempts have time limits.
 */
export function openPostgresPool(opts: PostgresOptions): { db: Kysely<Database>; health: StoreHealth } {
  const limit = opts.queryTimeoutMs ?? 0;
  const timeouts = limit > 0 ? { statement_timeout: limit, query_timeout: limit + 1000 } : {};
  const pool = new pg.Pool({
    ...postgresClientConfig(opts),
    ...timeouts,
    Client: postgresClientClass(opts.password),
    max: opts.poolSize,
    options: `-c search_path="${opts.schema}"`,
    types,
  });
  let reportedAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  const report = (where: string) => (e: Error) => {
    // Throttled: a PostgreSQL restart ends every pooled connection at once.
    if (performance.now() - reportedAt < 10_000) return void suppressed++;
    reportedAt = performance.now();
    opts.log?.warn(
      {
        driverCode: (e as { code?: string }).code,
        driverMessage: e.message.slice(0, 200),
        suppressedSinceLast: suppressed,
      },
      `store link error (${where}); the connection is discarded and a new one is opened on demand`,
    );
    suppressed = 0;
  };
  pool.on('error', report('idle connection'));
  pool.on('connect', (client) => client.on('error', report('connection')));
  const health = new StoreHealth(undefined, opts.log);
  const dialect = new GuardedDialect(new PostgresDialect({ pool: discardingPool(pool) }), {
    onFault: (fault, cause) => health.onFault(fault, cause),
  });
  return { db: new Kysely<Database>({ dialect }), health };
}

/** Creates the schema when missing, then opens a pool on it (see openPostgresPool). */
export async function openPostgres(opts: PostgresOptions): Promise<Kysely<Database>> {
  await ensurePostgresSchema(opts);
  return openPostgresPool(opts).db;
}

/**
 * The pool as Kysely sees it: a client on which a query met a link fault (terminated, reset, read
 * timeout) is released as broken, so the pool closes it instead of handing it out again with a
 * query still pending on it.
 */
function discardingPool(pool: pg.Pool): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let broken = false;
      const query = ((text: unknown, values?: unknown[]) => {
        if (typeof text !== 'string') return client.query(text as pg.QueryConfig);
        return client.query(text, values).catch((e: unknown) => {
          if (storeFault(e) !== undefined) broken = true;
          throw e;
        });
      }) as unknown as PostgresPoolClient['query'];
      return { query, release: (discard?: boolean) => client.release(broken || discard === true ? true : undefined) };
    },
    end: () => pool.end(),
  };
}

/** Drops a schema and everything in it (test clean-up). */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}

/** True when a PostgreSQL server answers at `url`. */
export async function postgresReachable(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}
