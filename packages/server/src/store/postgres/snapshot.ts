import { spawn } from 'node:child_process';
import pg from 'pg';

function run(cmd: string, args: string[], password: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    // SECURITY: the password goes through the environment, never the command line (ps shows that).
    const p = spawn(cmd, args, { env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => reject(new Error(`${cmd} could not start (${e.message}); install the postgresql-client package`)));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`))));
  });
}

/** A consistent dump of one schema (pg_dump runs in one repeatable-read transaction), custom format. */
export function snapshotPostgres(url: string, schema: string, password: string | undefined, dest: string): Promise<void> {
  return run('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--schema=${schema}`, `--file=${dest}`, url], password);
}

/** Restores a dump into its schema, which must not hold tables yet unless `force` (then it is dropped first). */
export async function restorePostgres(url: string, schema: string, password: string | undefined, dump: string, force: boolean): Promise<void> {
  const c = new pg.Client({ connectionString: url, password, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    const r = await c.query('SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1', [schema]);
    if ((r.rows[0] as { n: number }).n > 0) {
      if (!force) throw new Error(`schema "${schema}" already holds tables; restore into an empty schema, or pass --force to replace it`);
      await c.query(`DROP SCHEMA "${schema.replaceAll('"', '""')}" CASCADE`);
    } else {
      await c.query(`DROP SCHEMA IF EXISTS "${schema.replaceAll('"', '""')}"`);
    }
  } finally {
    await c.end();
  }
  await run('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', `--dbname=${url}`, dump], password);
}
