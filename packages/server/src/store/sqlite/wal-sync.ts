import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../core/index.js';

/** Syncs after which the sync thread checkpoints the WAL into the database (PASSIVE: never waits). */
const CHECKPOINT_EVERY_SYNCS = 256;
/** A quiet spell after which the sync thread checkpoints whatever is left in the WAL. */
const IDLE_CHECKPOINT_MS = 1000;

/** Slots of the shared counters. */
const REQUESTED = 0;
const STOP = 1;

/**
 * The sync thread's code (CommonJS, run with `eval`: it has to work from `src/` under the test runner
 * as well as from `dist/`). It waits on the shared `REQUESTED` counter, reads it, fdatasyncs the WAL,
 * and reports the counter value it read: every commit counted before that read was written to the WAL
 * before the sync began, so it is on disk when the report arrives. Requests made while a sync runs are
 * all covered by the next one (group commit). Between syncs it checkpoints with its own connection.
 */
const WORKER_SOURCE = String.raw`
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const Sqlite = require(workerData.sqliteModule);
const shared = new BigInt64Array(workerData.shared);
const walPath = workerData.dbPath + '-wal';
let fd, ino, checkpointer, sinceCheckpoint = 0;
function syncDir() {
  const d = fs.openSync(path.dirname(walPath), 'r');
  try { fs.fsyncSync(d); } finally { fs.closeSync(d); }
}
function walFd() {
  const st = fs.statSync(walPath, { throwIfNoEntry: false });
  if (!st) return undefined;
  if (fd === undefined || st.ino !== ino) {
    if (fd !== undefined) fs.closeSync(fd);
    fd = fs.openSync(walPath, 'r');
    ino = st.ino;
    syncDir(); // a WAL file that is new must also be found after a crash
  }
  return fd;
}
function checkpoint() {
  sinceCheckpoint = 0;
  try {
    checkpointer ??= new Sqlite(workerData.dbPath, { fileMustExist: true });
    checkpointer.pragma('synchronous = FULL');
    checkpointer.pragma('wal_checkpoint(PASSIVE)');
  } catch (e) {
    parentPort.postMessage({ warn: String(e && e.code || e) });
  }
}
let synced = 0n;
for (;;) {
  if (Atomics.load(shared, 1) !== 0n) break;
  const requested = Atomics.load(shared, 0);
  if (requested === synced) {
    if (Atomics.wait(shared, 0, requested, workerData.idleMs) === 'timed-out' && sinceCheckpoint > 0) checkpoint();
    continue;
  }
  try {
    const f = walFd();
    if (f !== undefined) fs.fdatasyncSync(f);
    else { const d = fs.openSync(workerData.dbPath, 'r'); try { fs.fdatasyncSync(d); } finally { fs.closeSync(d); } }
    synced = requested;
    parentPort.postMessage({ synced });
  } catch (e) {
    synced = requested;
    parentPort.postMessage({ failed: synced, code: String(e && e.code || 'EIO'), message: String(e && e.message || e) });
  }
  if (++sinceCheckpoint >= workerData.checkpointEvery) checkpoint();
}
if (fd !== undefined) fs.closeSync(fd);
checkpointer?.close();
`;

interface Waiter {
  target: bigint;
  resolve: () => void;
  reject: (e: Error) => void;
}

type Report = { synced: bigint } | { failed: bigint; code: string; message: string } | { warn: string };

/**
 * Makes SQLite commits durable off the event loop. The connection runs with `synchronous = NORMAL`
 * (COMMIT writes the WAL but does not fsync it) and, after every commit, the caller awaits
 * {@link WalSync.durable}: a dedicated thread fdatasyncs the WAL, one sync for every commit made while
 * the previous one ran (group commit), and checkpoints the WAL into the database with its own
 * connection, so neither the fsync nor the checkpoint's writes ever run on the event loop.
 *
 * SECURITY: a commit counts as done only once `durable()` resolved: the driver awaits it before it
 * releases the connection, so no reader, acknowledgement or delivery sees data a power loss could
 * still take back (the guarantee of `synchronous = FULL`).
 */
export class WalSync {
  private readonly shared = new BigInt64Array(new SharedArrayBuffer(16));
  private requested = 0n;
  private waiters: Waiter[] = [];
  private worker: Worker | undefined;
  private broken: Error | undefined;

  private constructor(
    private readonly dbPath: string,
    private readonly log?: Logger,
  ) {}

  /** Starts the sync thread for the database file at `dbPath` (absolute). */
  static start(dbPath: string, log?: Logger): WalSync {
    const s = new WalSync(dbPath, log);
    s.spawn();
    return s;
  }

  private spawn(): void {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        shared: this.shared.buffer,
        dbPath: this.dbPath,
        sqliteModule: createRequire(import.meta.url).resolve('better-sqlite3'),
        idleMs: IDLE_CHECKPOINT_MS,
        checkpointEvery: CHECKPOINT_EVERY_SYNCS,
      },
      name: 'palisade-wal-sync',
    });
    worker.unref();
    worker.on('message', (m: Report) => this.report(m));
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) => {
      if (this.worker === worker && code !== 0) this.fail(new Error(`the WAL sync thread exited with code ${code}`));
    });
    this.worker = worker;
  }

  /** Resolves once everything committed before the call is on disk; rejects with a SQLite I/O error. */
  durable(): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    const target = ++this.requested;
    // A commit waiting for its sync keeps the process alive (the thread is unref'd while idle: a CLI
    // whose last act is a write would otherwise exit before the write is acknowledged).
    if (this.waiters.length === 0) this.worker?.ref();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ target, resolve, reject });
      Atomics.store(this.shared, REQUESTED, target);
      Atomics.notify(this.shared, REQUESTED);
    });
  }

  private report(m: Report): void {
    if ('warn' in m) {
      this.log?.warn({ code: m.warn }, 'WAL checkpoint failed; it is retried after the next commits');
      return;
    }
    const through = 'synced' in m ? m.synced : m.failed;
    const error =
      'failed' in m
        ? Object.assign(new Error(`fsync of the write-ahead log failed: ${m.message}`), {
            code: m.code === 'ENOSPC' ? 'SQLITE_FULL' : 'SQLITE_IOERR_FSYNC',
          })
        : undefined;
    let i = 0;
    while (i < this.waiters.length && (this.waiters[i] as Waiter).target <= through) {
      const w = this.waiters[i++] as Waiter;
      if (error) w.reject(error);
      else w.resolve();
    }
    this.waiters.splice(0, i);
    if (this.waiters.length === 0) this.worker?.unref();
  }

  private fail(e: Error): void {
    this.broken = Object.assign(new Error(`the WAL sync thread stopped: ${e.message}`), { code: 'SQLITE_IOERR_FSYNC' });
    this.log?.error({ err: e }, 'the WAL sync thread stopped; the store refuses writes until restart');
    for (const w of this.waiters.splice(0)) w.reject(this.broken);
  }

  /** Waits for pending syncs, then stops the thread and closes its connection. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    if (this.waiters.length > 0 && !this.broken) await this.durable().catch(() => undefined);
    this.worker = undefined;
    if (this.broken) {
      await worker.terminate();
      return;
    }
    worker.ref(); // waiting for the thread to end must keep the process alive
    Atomics.store(this.shared, STOP, 1n);
    Atomics.notify(this.shared, REQUESTED);
    await new Promise<void>((done) => {
      worker.once('exit', () => done());
    });
  }
}
