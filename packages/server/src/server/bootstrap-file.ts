import { closeSync, constants, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Core } from './compose.js';

/** Where the first-admin token goes when stderr is not a terminal. */
export const bootstrapTokenPath = (dataDir: string): string => join(resolve(dataDir), 'first-admin-token');

/**
 * Writes the first-admin token to `<dataDir>/first-admin-token` (0600, replacing an older one) and
 * removes it once an account exists or the token expires, and at stop.
 * SECURITY: under systemd or docker stderr is a log stream; the token must never reach it, so only the
 * file's path is printed and logged. The data directory is 0700 and the file 0600.
 */
export function writeBootstrapFile(core: Core, token: string, expiresAt: number): { path: string; stop(): void } {
  const path = bootstrapTokenPath(core.config.dataDir);
  rmSync(path, { force: true });
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    writeSync(fd, `${token}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  core.log.info(
    { file: path, expiresAt: new Date(expiresAt).toISOString() },
    'first-admin enrolment token written to a 0600 file',
  );
  let done = false;
  const remove = () => {
    if (done) return;
    done = true;
    clearInterval(timer);
    rmSync(path, { force: true });
  };
  const check = async () => {
    if (core.auth.clock.now() >= expiresAt) return remove();
    const anyUser = await core.store.db.selectFrom('users').select('id').limit(1).executeTakeFirst();
    if (anyUser) remove();
  };
  const timer = setInterval(() => void check().catch(() => undefined), 1000);
  timer.unref();
  return { path, stop: remove };
}
