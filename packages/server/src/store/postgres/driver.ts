import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../schema.js';
import type { Secret } from '../../core/index.js';
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
}

/**
 * Connection settings shared by every client of a store: the URL stripped of TLS parameters plus the
 * explicit `ssl` option, so nothing in the URL can weaken the TLS the configuration asked for. The
 * password is not in here: see `postgresClientClass`.
 */
export function postgresClientConfig(opts: { url: string; tls?: PostgresTls }): pg.ClientConfig {
  return { connectionString: withoutSslParams(opts.url), connectionTimeoutMillis: 5000, ssl: postgresSslOptions(opts.url, opts.tls) };
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

/** Creates the schema when missing, then opens a pool whose search_path is that schema. */
export async function openPostgres(opts: PostgresOptions): Promise<Kysely<Database>> {
  const admin = postgresClient(opts);
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA IF NOT EXISTS "${opts.schema}"`);
  } finally {
    await admin.end();
  }
  const pool = new pg.Pool({ ...postgresClientConfig(opts), Client: postgresClientClass(opts.password), max: opts.poolSize, options: `-c search_path="${opts.schema}"`, types });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
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
