import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { Secret } from '../../core/index.js';
import { postgresClient } from './driver.js';
import { libpqTlsEnv, withoutSslParams, type PostgresTls } from './tls.js';

/** Where a PostgreSQL store is, for the libpq tools. */
export interface PgTarget {
  url: string;
  schema: string;
  password?: Secret<string>;
  tls?: PostgresTls;
}

function run(cmd: string, args: string[], t: PgTarget, privateDir: string): Promise<void> {
  const tls = libpqTlsEnv(t.tls, privateDir);
  return new Promise<void>((resolve, reject) => {
    // SECURITY: the password goes through the environment, never the command line (ps shows that).
    const env = { ...process.env, ...tls.env, ...(t.password ? { PGPASSWORD: t.password.reveal() } : {}) };
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) =>
      reject(new Error(`${cmd} could not start (${e.message}); install the postgresql-client package`)),
    );
    p.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${cmd} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`)),
    );
  }).finally(tls.cleanup);
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** A consistent dump of one schema (pg_dump runs in one repeatable-read transaction), custom format. */
export function snapshotPostgres(t: PgTarget, dest: string): Promise<void> {
  return run(
    'pg_dump',
    [
      '--format=custom',
      '--no-owner',
      '--no-privileges',
      `--schema=${t.schema}`,
      `--file=${dest}`,
      withoutSslParams(t.url),
    ],
    t,
    dirname(dest),
  );
}

/** True when the store's schema holds tables. */
export async function postgresHoldsData(t: PgTarget): Promise<boolean> {
  const c = postgresClient(t);
  await c.connect();
  try {
    const r = await c.query('SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1', [
      t.schema,
    ]);
    return (r.rows[0] as { n: number }).n > 0;
  } finally {
    await c.end();
  }
}

/** Checks that a file is a dump pg_restore can read, and turns it into the SQL script to replay. */
export async function preparePostgresRestore(t: PgTarget, dump: string): Promise<string> {
  const script = join(dirname(dump), 'restore.sql');
  await run(
    'pg_restore',
    ['--no-owner', '--no-privileges', '--exit-on-error', `--file=${script}`, dump],
    t,
    dirname(dump),
  );
  return script;
}

/**
 * Replaces the store's schema by the dump's, in ONE transaction (psql --single-transaction): the old
 * schema, if any, is renamed to `keepAs` and the dump replayed. SECURITY: if anything fails, PostgreSQL
 * rolls it all back and the live schema is exactly as it was.
 */
export async function installPostgres(t: PgTarget, script: string, keepAs: string): Promise<string | undefined> {
  const kept = await postgresHoldsData(t);
  const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
  // A schema with tables is kept aside; an empty one (made by a server start) is dropped.
  const aside =
    `DO $$ BEGIN IF EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = ${lit(t.schema)}) ` +
    `THEN EXECUTE ${lit(`ALTER SCHEMA ${ident(t.schema)} RENAME TO ${ident(keepAs)}`)}; ` +
    `ELSE EXECUTE ${lit(`DROP SCHEMA IF EXISTS ${ident(t.schema)}`)}; END IF; END $$;`;
  await run(
    'psql',
    ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-c', aside, '-f', script, withoutSslParams(t.url)],
    t,
    dirname(script),
  );
  return kept ? keepAs : undefined;
}
