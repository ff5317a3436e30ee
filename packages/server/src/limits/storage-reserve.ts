import { AppError, type Clock } from '../core/index.js';

/** Bytes free for the server's writes where its data lives; undefined when unknown. */
export type FreeSpaceProbe = () => Promise<number | undefined>;

/** How often the probe runs at most. */
const PROBE_EVERY_MS = 1000;
/** Disk a stored message costs beyond its payload, as a rough upper bound (row, index, WAL page). */
const OVERHEAD_BYTES = 1024;

/**
 * A free-disk reserve for the store: below it, new messages are refused with `storage_full`, so the
 * disk never fills up under the database (SQLite would then fail every write, including receipts and
 * logins). Nothing already acknowledged is touched: refusals happen before anything is written.
 * The check is synchronous (the send path keeps its order): it uses the last probe, less what was
 * accepted since (counted twice: once in the WAL, once in the database file), and asks for a new
 * probe in the background when the last one is older than a second.
 */
export class StorageReserve {
  private free: number | undefined;
  private probedAt = Number.NEGATIVE_INFINITY;
  private acceptedSince = 0;
  private probing: Promise<void> | undefined;

  constructor(
    private readonly probe: FreeSpaceProbe | undefined,
    private readonly reserveBytes: number,
    private readonly clock: Clock,
  ) {}

  /** Runs the probe now (the server awaits one at start so the first send is checked too). */
  refresh(): Promise<void> {
    if (!this.probe) return Promise.resolve();
    this.probing ??= (async () => {
      const startedAt = this.clock.monotonic();
      try {
        this.free = await this.probe!();
        this.acceptedSince = 0;
      } catch {
        this.free = undefined; // unknown: do not refuse on a failed probe, try again later
      } finally {
        this.probedAt = startedAt;
        this.probing = undefined;
      }
    })();
    return this.probing;
  }

  /** True when the last probe found less free space than the reserve (sends are being refused). */
  low(): boolean {
    if (!this.probe || this.reserveBytes <= 0) return false;
    if (this.clock.monotonic() - this.probedAt >= PROBE_EVERY_MS) void this.refresh();
    return this.free !== undefined && this.free - this.acceptedSince < this.reserveBytes;
  }

  /**
   * Throws `storage_full` when a message of `payloadBytes` would bring the free space below the reserve.
   * SECURITY: called before anything of the message is written or sealed.
   */
  assertRoom(payloadBytes: number): void {
    if (!this.probe || this.reserveBytes <= 0) return;
    if (this.clock.monotonic() - this.probedAt >= PROBE_EVERY_MS) void this.refresh();
    const cost = 2 * payloadBytes + OVERHEAD_BYTES;
    if (this.free !== undefined && this.free - this.acceptedSince - cost < this.reserveBytes) {
      throw new AppError('storage_full', 'the server is low on disk space and accepts no new messages');
    }
    this.acceptedSince += cost;
  }
}
