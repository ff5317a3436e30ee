import { isAppError } from '../core/index.js';
import { isStoreFault, type Db, type Tx } from '../store/index.js';

interface Item<T> {
  run: (tx: Tx) => Promise<T>;
  /** Work done before the transaction (e.g. sealing), awaited outside it. */
  ready: Promise<unknown> | undefined;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

/** Most writes committed together in one transaction. */
const MAX_BATCH = 256;
/** Sends written per turn of the event loop inside one batch's transaction. */
const WRITE_SLICE = 32;
/** Sends of a committed batch acknowledged (and fanned out) per turn of the event loop. */
const RESOLVE_SLICE = 16;

/**
 * Group commit: writes queued while a transaction is running are committed together in the next one,
 * in arrival order, so one fsync covers many messages. Each item resolves only after its batch has
 * COMMITTED. An item that fails with an AppError (e.g. not a member) fails alone, before it writes;
 * a store fault (`unavailable`, `storage_full`) fails the whole batch at once; any other failure
 * rolls the batch back and its items are retried one transaction each.
 *
 * With `lanes` > 1 (PostgreSQL: a pool of connections), items are spread over that many independent
 * queues by their key (the conversation), so batches of different conversations commit in parallel
 * on different connections while one conversation's writes stay in order in one lane. SQLite has a
 * single writer: one lane.
 */
export class SendQueue {
  private readonly lanes: Lane[];

  /** `onBatch` hears the size of each batch as it starts (for `palisade_send_batch_size`). */
  constructor(db: Db, onBatch: (size: number) => void = () => undefined, lanes = 1) {
    this.lanes = Array.from({ length: Math.max(1, lanes) }, () => new Lane(db, onBatch));
  }

  /**
   * Queues `run` for the next transaction of `key`'s lane. Order of calls with one key is the order of
   * execution, even when `ready` (preparation that may itself use the database) finishes out of
   * order: it is awaited before the transaction opens, never inside it.
   */
  enqueue<T>(run: (tx: Tx) => Promise<T>, ready?: Promise<unknown>, key = ''): Promise<T> {
    return (this.lanes[this.lanes.length === 1 ? 0 : laneOf(key, this.lanes.length)] as Lane).enqueue(run, ready);
  }
}

/** FNV-1a of the key, modulo the lane count. */
function laneOf(key: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % n;
}

class Lane {
  private queue: Item<unknown>[] = [];
  private running = false;

  constructor(
    private readonly db: Db,
    private readonly onBatch: (size: number) => void,
  ) {}

  enqueue<T>(run: (tx: Tx) => Promise<T>, ready?: Promise<unknown>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, ready, resolve, reject } as Item<unknown>);
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        // Let frames already received on sockets join this batch: one event-loop turn, no timer.
        if (this.queue.length < MAX_BATCH) await new Promise((r) => setImmediate(r));
        const batch = this.queue.splice(0, MAX_BATCH);
        await Promise.allSettled(batch.map((i) => i.ready ?? Promise.resolve()));
        this.onBatch(batch.length);
        if (batch.length === 1) await this.single(batch[0] as Item<unknown>);
        else await this.together(batch);
      }
    } finally {
      this.running = false;
    }
  }

  private async single(item: Item<unknown>): Promise<void> {
    try {
      item.resolve(await this.db.transaction().execute((tx) => item.run(tx)));
    } catch (e) {
      item.reject(e);
    }
  }

  private async together(batch: Item<unknown>[]): Promise<void> {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      await this.db.transaction().execute(async (tx) => {
        for (const [i, item] of batch.entries()) {
          // better-sqlite3 runs each statement synchronously: a long batch lets the event loop turn
          // every WRITE_SLICE sends (the connection stays held), so frames keep being read meanwhile.
          if (i > 0 && i % WRITE_SLICE === 0) await new Promise((r) => setImmediate(r));
          try {
            outcomes.push({ ok: true, value: await item.run(tx) });
          } catch (e) {
            // A store fault (link lost, disk full) ends the whole transaction: SQLite may already
            // have rolled it back, and nothing after it may run outside one.
            if (!isAppError(e) || isStoreFault(e)) throw e;
            outcomes.push({ ok: false, error: e });
          }
        }
      });
    } catch (e) {
      // The store itself failed: every item fails fast with the same stable error (retrying each
      // alone would wait for the same dead or stalled store once per item).
      if (isStoreFault(e)) {
        for (const item of batch) item.reject(e);
        return;
      }
      // Rolled back as a whole (e.g. a unique violation): nothing of it is stored; retry one by one.
      for (const item of batch) await this.single(item);
      return;
    }
    // Each resolution acknowledges a send and fans its message out (synchronously, in the microtasks
    // that follow). A batch of 256 sends to a large group is thousands of deliveries: they are let go
    // in slices with a turn of the event loop between, so sockets, timers and other connections are
    // served meanwhile (the event-loop delay stays small). Order is kept: the next slice, and the next
    // batch, start only after the previous slice's continuations ran.
    for (let start = 0; start < batch.length; start += RESOLVE_SLICE) {
      if (start > 0) await new Promise((r) => setImmediate(r));
      for (let i = start; i < Math.min(batch.length, start + RESOLVE_SLICE); i++) {
        const item = batch[i] as Item<unknown>;
        const o = outcomes[i] as (typeof outcomes)[number];
        if (o.ok) item.resolve(o.value);
        else item.reject(o.error);
      }
    }
  }
}

/**
 * Lanes for a store: SQLite has one writer (one lane); PostgreSQL commits batches of different
 * conversations in parallel on up to half of its pool (at most 4), leaving the rest for everything else.
 */
export function sendLanes(dialect: 'sqlite' | 'postgres', poolSize: number): number {
  return dialect === 'sqlite' ? 1 : Math.max(1, Math.min(4, Math.floor(poolSize / 2)));
}
