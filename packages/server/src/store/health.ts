import { performance } from 'node:perf_hooks';
import type { StoreFault } from './errors.js';

/** The store's readiness: reachable in time and able to write, or which of the two failed and why. */
export type StoreHealthReport = { ok: true } | { ok: false; code: StoreFault; reason: string };

/**
 * Whether the store has room again after a write failed for lack of space. SQLite: a read-only look
 * at the file system and the page limit; PostgreSQL (whose disk this process cannot see): undefined.
 */
export type RoomCheck = () => Promise<boolean>;

/** Without a room check, a disk-full latch is lifted after this long and set again by the next failure. */
const FULL_COOLDOWN_MS = 10_000;

/**
 * Tracks the store's health from what its queries meet. A write that fails with disk full latches
 * "cannot write" until the room check sees space again (or, on PostgreSQL, the cool-down ends), so
 * /readyz reports it even while no write is attempted. The check writes nothing, so it cannot fill
 * anything itself; every later failure latches again.
 */
export class StoreHealth {
  private fullAt: number | undefined;

  constructor(private readonly room: RoomCheck | undefined) {}

  /** Called by the driver guard for every store fault. */
  onFault(fault: StoreFault): void {
    if (fault === 'storage_full') this.fullAt = performance.now();
  }

  /** True while a disk-full failure is latched (not cleared by a room check yet). */
  get full(): boolean {
    return this.fullAt !== undefined;
  }

  /** Pings the store (`ping` must settle or be abandoned within `timeoutMs`) and checks the latch. */
  async check(ping: () => Promise<unknown>, timeoutMs: number): Promise<StoreHealthReport> {
    if (this.fullAt !== undefined) {
      const roomAgain = this.room ? await this.room().catch(() => false) : performance.now() - this.fullAt >= FULL_COOLDOWN_MS;
      if (!roomAgain) return { ok: false, code: 'storage_full', reason: 'the store cannot write: its disk (or size limit) is full; free space' };
      this.fullAt = undefined;
    }
    try {
      await withTimeout(ping(), timeoutMs);
      return { ok: true };
    } catch (e) {
      const timedOut = e instanceof PingTimeout;
      return { ok: false, code: 'unavailable', reason: timedOut ? `the store did not answer within ${timeoutMs} ms` : 'the store is not reachable' };
    }
  }
}

class PingTimeout extends Error {}

/** Settles with `p`, or rejects with PingTimeout after `ms` (the timer never keeps the process alive). */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PingTimeout('timeout')), ms);
    timer.unref();
  });
  p.catch(() => undefined);
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
