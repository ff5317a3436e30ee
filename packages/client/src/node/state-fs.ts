/**
 * Durable file operations for the file state store: whole-file atomic writes (temp, fsync, rename,
 * fsync the directory) and a one-process lock.
 */
import { chmod, link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StateStoreError } from '../e2ee/state-store.js';
import { random } from './state-crypto.js';

/** Makes `dir` (0700), tightening a looser existing folder. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const mode = (await stat(dir)).mode & 0o777;
  if ((mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/** fsyncs a directory, so the names created, renamed or removed in it survive a power cut. */
export async function syncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Writes a new file (0600, failing if it exists) and fsyncs it. */
export async function writeNew(path: string, data: Uint8Array): Promise<void> {
  const h = await open(path, 'wx', 0o600);
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * Replaces `dir/name` atomically and durably: a reader (or a restart after a crash at any point)
 * finds either the old content or the new, never a mix.
 */
export async function writeAtomic(dir: string, name: string, data: Uint8Array): Promise<void> {
  const tmp = join(dir, `${name}.${random(6).toString('hex')}.tmp`);
  try {
    await writeNew(tmp, data);
    await rename(tmp, join(dir, name));
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDir(dir);
}

/** The file's bytes, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Removes a file if it exists. */
export async function removeIfExists(path: string): Promise<void> {
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `dir/lock` for this process (its pid inside; made by link(2), which fails if the name
 * exists). A lock whose process is gone (a crash) is taken over; a live one is `state_busy`.
 * The lock guards against a second copy of the client, not an attacker (who can remove it).
 * SECURITY: two writers would each rewrite the manifest from their own view and lose the other's
 * records (a lost KeyPackage secret or group epoch), so one process at a time.
 */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const lock = join(dir, 'lock');
  const mine = join(dir, `lock.${process.pid}.${random(6).toString('hex')}.tmp`);
  await writeNew(mine, Buffer.from(String(process.pid)));
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(mine, lock);
        return async () => removeIfExists(lock);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = Number((await readIfExists(lock))?.toString('utf8'));
      if (Number.isInteger(holder) && holder > 0 && alive(holder))
        throw new StateStoreError(
          'state_busy',
          `the state store is open in another process (pid ${holder}; if none is running, remove ${lock})`,
        );
      await removeIfExists(lock); // left by a process that died
    }
    throw new StateStoreError('state_busy', 'the state store lock is contended');
  } finally {
    await removeIfExists(mine);
  }
}
