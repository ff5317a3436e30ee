import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { postgresClient } from './postgres/driver.js';
import type { StoreOptions } from './store.js';

/**
 * Checks that the store can be reached, changing nothing: PostgreSQL gets one connection and
 * `SELECT 1`; SQLite's file (or the folder it would be created in) must be writable. Returns a
 * problem in words, or undefined when the store answers.
 */
export async function probeStore(opts: StoreOptions): Promise<string | undefined> {
  const url = opts.url ?? `sqlite:${join(opts.dataDir, 'palisade.db')}`;
  if (url.startsWith('sqlite:')) {
    const path = resolve(url.slice('sqlite:'.length));
    let at = existsSync(path) ? path : dirname(path);
    while (!existsSync(at)) at = dirname(at); // the data directory is created at the first start
    try {
      accessSync(at, constants.R_OK | constants.W_OK);
      return undefined;
    } catch (e) {
      return `cannot write ${at} (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
    }
  }
  const c = postgresClient({
    url,
    ...(opts.password ? { password: opts.password } : {}),
    ...(opts.tls ? { tls: opts.tls } : {}),
  });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return `cannot reach PostgreSQL: ${err.code ? `${err.code}: ` : ''}${err.message || 'no answer'}`;
  } finally {
    await c.end().catch(() => undefined);
  }
}
