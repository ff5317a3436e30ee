import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../core/index.js';

/** Syncs after which the checkpoint thread checkpoints the WAL into the database (PASSIVE: never waits). */
const CHECKPOINT_EVERY_SYNCS = 1000;
/** A quiet spell (no commit) after which the checkpoint thread copies what the WAL holds into the database. */
const IDLE_CHECKPOINT_MS = 250;

/** Slots of the shared counters. */
const REQUESTED = 0;
const STOP = 1;

/**
 * The threads' code (CommonJS, run with `eval`: it has to work from `src/` under the test runner as
 * well as from `dist/`); `workerData.role` picks the part.
 *
 * `sync`: waits on the shared `REQUESTED` counter, reads it, fdatasyncs the WAL, and reports the value
 * it read: every commit counted before that read was written to the WAL before the sync began, so it
 * is on disk when the report arrives. Requests made while a sync runs are all covered by the next one
 * (group commit). A failed sync is reported and ends the thread: after a failed fsync, Linux may have
 * dropped the dirty pages, so no later sync can vouch for them (the store refuses everything until a
 * restart re-reads the files). At STOP it syncs what is still requested, then exits.
 *
 * `checkpoint`: every 50 ms looks at how many syncs were requested; after CHECKPOINT_EVERY_SYNCS of
 * them, or once no commit came for IDLE_CHECKPOINT_MS, it checkpoints the WAL into the database with a connection of
 * its own (PASSIVE: never waits for the writer). A thread of its own, so a checkpoint's writes and
 * database fsync never delay a commit's sync.
 */
const WORKER_SOURCE = String.raw`
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const shared = new BigInt64Array(workerData.shared);
const walPath = workerData.dbPath + '-wal';
function syncRole() {
  let fd, ino;
  const syncDir = () => {
    const d = fs.openSync(path.dirname(walPath), 'r');
    try { fs.fsyncSync(d); } finally { fs.closeSync(d); }
  };
  const walFd = () => {
    const st = fs.statSync(walPath, { throwIfNoEntry: false });
    if (!st) return undefined;
    if (fd === undefined || st.ino !== ino) {
      if (fd !== undefined) fs.closeSync(fd);
      fd = fs.openSync(walPath, 'r');
      ino = st.ino;
      syncDir(); // a WAL file that is new must also be found after a crash
    }
    return fd;
  };
  let synced = 0n;
  for (;;) {
    const stopping = Atomics.load(shared, 1) !== 0n;
    const requested = Atomics.load(shared, 0);
    if (requested === synced) {
      if (stopping) break;
      Atomics.wait(shared, 0, requested);
      continue;
    }
    try {
      const f = walFd();
      if (f !== undefined) fs.fdatasyncSync(f);
      else { const d = fs.openSync(workerData.dbPath, 'r'); try { fs.fdatasyncSync(d); } finally { fs.closeSync(d); } }
      synced = requested;
      parentPort.postMessage({ synced });
    } catch (e) {
      parentPort.postMessage({ failed: requested, code: String((e && e.code) || 'EIO'), message: String((e && e.message) || e) });
      break;
    }
  }
  if (fd !== undefined) fs.closeSync(fd);
}
function checkpointRole() {
  const Sqlite = require(workerData.sqliteModule);
  let db, done = 0n, seen = 0n, quiet = 0;
  const checkpoint = () => {
    try {
      db ??= new Sqlite(workerData.dbPath, { fileMustExist: true });
      db.pragma('synchronous = FULL');
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch (e) {
      parentPort.postMessage({ warn: String((e && e.code) || e) });
    }
  };
  while (Atomics.wait(shared, 1, 0n, 50) !== 'not-equal' && Atomics.load(shared, 1) === 0n) {
    const requested = Atomics.load(shared, 0);
    if (requested !== seen) [seen, quiet] = [requested, 0];
    else quiet += 50;
    if (requested - done >= BigInt(workerData.checkpointEvery) || (requested !== done && quiet >= workerData.idleMs)) {
      done = requested;
      checkpoint();
    }
  }
  db?.close();
}
if (workerData.role === 'sync') syncRole(); else checkpointRole();
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
  private checkpointer: Worker | undefined;
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
    const thread = (role: 'sync' | 'checkpoint') =>
      new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          role,
          shared: this.shared.buffer,
          dbPath: this.dbPath,
          sqliteModule: createRequire(import.meta.url).resolve('better-sqlite3'),
          idleMs: IDLE_CHECKPOINT_MS,
          checkpointEvery: CHECKPOINT_EVERY_SYNCS,
        },
        name: `palisade-wal-${role}`,
      });
    const worker = thread('sync');
    worker.unref();
    worker.on('message', (m: Report) => this.report(m));
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.fail(new Error(`the WAL sync thread exited (code ${code})`));
    });
    this.worker = worker;
    const checkpointer = thread('checkpoint');
    checkpointer.unref();
    checkpointer.on('message', (m: Report) => this.report(m));
    // A checkpoint thread that fails leaves the WAL to grow until the connection's own fallback.
    checkpointer.on('error', (e) => this.log?.warn({ err: e }, 'the WAL checkpoint thread stopped'));
    this.checkpointer = checkpointer;
  }

  /**
   * Set once a sync failed or the thread is gone: the store must then refuse every statement until a
   * restart (a failed fsync may have dropped pages that a later one would not write again).
   */
  get failure(): Error | undefined {
    return this.broken;
  }

  /** Resolves once everything committed before the call is on disk; rejects with a SQLite I/O error. */
  durable(): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    if (!this.worker)
      return Promise.reject(Object.assign(new Error('the store is closed'), { code: 'SQLITE_IOERR_FSYNC' }));
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
    if ('failed' in m) {
      this.fail(new Error(`fsync of the write-ahead log failed (${m.code}): ${m.message}`));
      return;
    }
    let i = 0;
    while (i < this.waiters.length && (this.waiters[i] as Waiter).target <= m.synced)
      (this.waiters[i++] as Waiter).resolve();
    this.waiters.splice(0, i);
    if (this.waiters.length === 0) this.worker?.unref();
  }

  private fail(e: Error): void {
    if (this.broken) return;
    // SECURITY: unavailable (never storage_full): the client must not read "not stored" about a commit
    // that may be in the store; nothing is acknowledged, and the store refuses everything from now on.
    this.broken = Object.assign(new Error(`the store cannot make commits durable: ${e.message}`), {
      code: 'SQLITE_IOERR_FSYNC',
    });
    this.log?.error({ err: e }, 'WAL sync failed: the store refuses every statement until the server restarts');
    for (const w of this.waiters.splice(0)) w.reject(this.broken);
  }

  /** Syncs what is pending, then stops both threads; later calls to `durable()` reject. */
  async close(): Promise<void> {
    const { worker, checkpointer } = this;
    if (!worker) return;
    this.worker = undefined;
    this.checkpointer = undefined;
    if (this.broken) {
      await Promise.all([worker.terminate(), checkpointer?.terminate()]);
      return;
    }
    const exited = (w: Worker) => new Promise<void>((done) => w.once('exit', () => done()));
    const ends = [worker, checkpointer].filter((w) => w !== undefined).map((w) => (w.ref(), exited(w)));
    Atomics.store(this.shared, STOP, 1n);
    Atomics.notify(this.shared, REQUESTED);
    Atomics.notify(this.shared, STOP);
    await Promise.all(ends); // the sync thread syncs what is still requested before it exits
    const closed = Object.assign(new Error('the store is closed'), { code: 'SQLITE_IOERR_FSYNC' });
    for (const w of this.waiters.splice(0)) w.reject(this.broken ?? closed);
    this.broken ??= closed;
  }
}
