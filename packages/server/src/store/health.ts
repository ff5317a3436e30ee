import { performance } from 'node:perf_hooks';
import type { Logger } from '../core/index.js';
import type { StoreFault } from './errors.js';

/** The store's readiness: reachable in time and able to write, or which of the two failed and why. */
export type StoreHealthReport = { ok: true } | { ok: false; code: StoreFault; reason: string };

/**
 * Whether the store has room again after a write failed for lack of space. SQLite: a read-only look
 * at the file system and the page limit; PostgreSQL (whose disk this process cannot see): undefined.
 */
export type RoomCheck = () => Promise<boolean>;

/** At most one log line per fault kind this often (an outage fails every request). */
const LOG_EVERY_MS = 10_000;

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
  private readonly logged = new Map<StoreFault, { at: number; suppressed: number }>();

  constructor(
    private readonly room: RoomCheck | undefined,
    private readonly log?: Logger,
    /** Monotonic milliseconds (tests pass a fake clock's). */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Called by the driver guard for every store fault. The operator gets the driver's own reason
   * (e.g. SQLITE_FULL, 57P01), throttled; clients get only the stable code.
   */
  onFault(fault: StoreFault, cause?: unknown): void {
    const now = this.now();
    if (fault === 'storage_full') this.fullAt = now;
    const last = this.logged.get(fault);
    if (last && now - last.at < LOG_EVERY_MS) {
      last.suppressed++;
      return;
    }
    const c = (cause ?? {}) as { code?: unknown; message?: unknown };
    const what =
      fault === 'storage_full'
        ? 'the store is out of space; writes are refused with storage_full until space is freed'
        : 'the store is unavailable; requests get unavailable (503) until it answers again';
    this.log?.warn(
      {
        fault,
        driverCode: typeof c.code === 'string' ? c.code : undefined,
        driverMessage: typeof c.message === 'string' ? c.message.slice(0, 200) : undefined,
        suppressedSinceLast: last?.suppressed ?? 0,
      },
      what,
    );
    this.logged.set(fault, { at: now, suppressed: 0 });
  }

  /** True while a disk-full failure is latched (not cleared by a room check yet). */
  get full(): boolean {
    return this.fullAt !== undefined;
  }

  /** Pings the store (`ping` must settle or be abandoned within `timeoutMs`) and checks the latch. */
  async check(ping: () => Promise<unknown>, timeoutMs: number): Promise<StoreHealthReport> {
    if (this.fullAt !== undefined) {
      const roomAgain = this.room ? await this.room().catch(() => false) : this.now() - this.fullAt >= FULL_COOLDOWN_MS;
      if (!roomAgain)
        return {
          ok: false,
          code: 'storage_full',
          reason: 'the store cannot write: its disk (or size limit) is full; free space',
        };
      this.fullAt = undefined;
    }
    try {
      await withTimeout(ping(), timeoutMs);
      return { ok: true };
    } catch (e) {
      const timedOut = e instanceof PingTimeout;
      return {
        ok: false,
        code: 'unavailable',
        reason: timedOut ? `the store did not answer within ${timeoutMs} ms` : 'the store is not reachable',
      };
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
