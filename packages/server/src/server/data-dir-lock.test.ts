import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireDataDirLock, dataDirInUse, DataDirLockedError, lockPath } from './data-dir-lock.js';

const dir = () => mkdtempSync(join(tmpdir(), 'palisade-lock-'));
/** The pid of a process that has exited. */
const deadPid = () =>
  Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());

describe('data directory lock', () => {
  it('is exclusive while held, names its holder, and is gone after release', () => {
    const d = dir();
    const lock = acquireDataDirLock(d, 'palisade serve');
    expect(JSON.parse(readFileSync(lockPath(d), 'utf8'))).toMatchObject({
      pid: process.pid,
      host: hostname(),
      what: 'palisade serve',
    });
    let err: unknown;
    try {
      acquireDataDirLock(d, 'palisade backup restore');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect((err as Error).message).toContain(`is in use by palisade serve (pid ${process.pid} on ${hostname()}`);
    lock.release();
    expect(existsSync(lockPath(d))).toBe(false);
    acquireDataDirLock(d, 'again').release();
  });

  it('takes over the lock of a process that is gone, but never one from another host', () => {
    const d = dir();
    writeFileSync(
      lockPath(d),
      JSON.stringify({ pid: deadPid(), host: hostname(), what: 'palisade serve', since: 'x' }),
    );
    const lock = acquireDataDirLock(d, 'palisade serve');
    expect((JSON.parse(readFileSync(lockPath(d), 'utf8')) as { pid: number }).pid).toBe(process.pid);
    lock.release();
    writeFileSync(
      lockPath(d),
      JSON.stringify({ pid: deadPid(), host: 'some-other-host', what: 'palisade serve', since: 'x' }),
    );
    expect(() => acquireDataDirLock(d, 'palisade serve')).toThrow(
      /in use by palisade serve \(pid \d+ on some-other-host/,
    );
  });

  it('release leaves alone a lock that another process took meanwhile', () => {
    const d = dir();
    const lock = acquireDataDirLock(d, 'palisade serve');
    const other = JSON.stringify({ pid: 1, host: hostname(), what: 'someone else', since: 'x' });
    writeFileSync(lockPath(d), other);
    lock.release();
    expect(readFileSync(lockPath(d), 'utf8')).toBe(other);
  });

  it('dataDirInUse reports a live holder without taking or changing the lock, and nothing for a free or stale one', () => {
    const d = dir();
    expect(dataDirInUse(d)).toBeUndefined();
    const lock = acquireDataDirLock(d, 'palisade serve');
    const before = readFileSync(lockPath(d), 'utf8');
    const inUse = dataDirInUse(d);
    expect(inUse).toBeInstanceOf(DataDirLockedError);
    expect(inUse?.message).toContain(`is in use by palisade serve (pid ${process.pid} on ${hostname()}`);
    expect(readFileSync(lockPath(d), 'utf8')).toBe(before);
    lock.release();
    writeFileSync(
      lockPath(d),
      JSON.stringify({ pid: deadPid(), host: hostname(), what: 'palisade serve', since: 'x' }),
    );
    expect(dataDirInUse(d)).toBeUndefined();
    expect(existsSync(lockPath(d))).toBe(true); // only looked at: the stale lock is left for serve to take over
  });
});
