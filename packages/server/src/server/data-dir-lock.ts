import { closeSync, constants, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

/** The lock file in a data directory: held by the one process that may write to it. */
export const lockPath = (dataDir: string): string => join(resolve(dataDir), 'palisade.lock');

/** What the lock file says about its holder. */
interface Holder {
  pid: number;
  host: string;
  what: string;
  since: string;
}

/** Thrown when another live process holds the data directory. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: Holder,
  ) {
    super(
      `the data directory ${resolve(dataDir)} is in use by ${holder.what} (pid ${holder.pid} on ${holder.host}, since ${holder.since}); ` +
        'only one server (or offline restore / master-secret change) may use a data directory at a time: stop it first, or give this one its own dataDir ' +
        `(if pid ${holder.pid} is no Palisade process, remove ${lockPath(dataDir)})`,
    );
    this.name = 'DataDirLockedError';
  }
}

/** A held data-directory lock; `release` removes the lock file only while it is still ours. */
export interface DataDirLock {
  path: string;
  release(): void;
}

function readHolder(path: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>;
    if (typeof h.pid === 'number' && Number.isInteger(h.pid) && h.pid > 0)
      return {
        pid: h.pid,
        host: String(h.host ?? '?'),
        what: String(h.what ?? 'a Palisade process'),
        since: String(h.since ?? '?'),
      };
  } catch {
    // unreadable or half-written: treated below
  }
  return undefined;
}

/** True while `pid` names a live process (EPERM: it exists, under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Looks at the lock without taking it (for `config check --connect`): the error `acquireDataDirLock`
 * would throw now, or undefined when the directory is free (no lock, or a stale one on this host).
 */
export function dataDirInUse(dataDir: string): DataDirLockedError | undefined {
  const holder = readHolder(lockPath(dataDir));
  if (holder && (holder.host !== hostname() || alive(holder.pid))) return new DataDirLockedError(dataDir, holder);
  return undefined;
}

/**
 * Takes the exclusive lock on a data directory (which must exist): creates `palisade.lock` with
 * O_EXCL holding this pid. A lock left by a process that is gone (same host, pid not alive) is stale
 * and taken over; a live holder makes this throw DataDirLockedError.
 * SECURITY: two servers on one data directory would share the SQLite file and the admin socket, and
 * the second's stop would remove the first's socket (and with it the "server is running" guard of
 * restore); the lock is what keeps offline commands from changing a store a server is using.
 */
export function acquireDataDirLock(dataDir: string, what: string): DataDirLock {
  const path = lockPath(dataDir);
  const me: Holder = { pid: process.pid, host: hostname(), what, since: new Date().toISOString() };
  const body = JSON.stringify(me);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new Error(`cannot create the lock file ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      const holder = readHolder(path);
      // A holder on another host (shared disk) cannot be checked: it is never taken over.
      if (holder && (holder.host !== me.host || alive(holder.pid))) throw new DataDirLockedError(dataDir, holder);
      if (!holder && attempt === 0) continue; // being written right now by its holder: look again
      try {
        unlinkSync(path); // stale: its process is gone
      } catch {
        // another process took it over first; the next attempt sees its lock
      }
      continue;
    }
    try {
      writeSync(fd, body);
    } finally {
      closeSync(fd);
    }
    return {
      path,
      release: () => {
        if (readHolder(path)?.pid !== process.pid) return;
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      },
    };
  }
  throw new Error(`cannot take the lock file ${path}; remove it if no Palisade process uses ${resolve(dataDir)}`);
}
