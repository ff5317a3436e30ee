import type { Logger } from '../core/index.js';

/** When the heap reclaimer collects; the defaults suit a server that holds thousands of sockets. */
export interface HeapReclaimPolicy {
  /** How often the connection count is read (ms). */
  everyMs: number;
  /** Connections that must have closed since the peak before a collection is worth it. */
  minDrop: number;
  /** And the count must be at most this fraction of the peak (0.5: half of them are gone). */
  maxFractionOfPeak: number;
  /** Two collections are at least this far apart (ms), whatever the churn. */
  minIntervalMs: number;
}

export const DEFAULT_HEAP_RECLAIM: HeapReclaimPolicy = {
  everyMs: 2_000,
  minDrop: 1_000,
  maxFractionOfPeak: 0.5,
  minIntervalMs: 60_000,
};

/** What the reclaimer needs; `gc` is V8's full collection (`globalThis.gc` under `--expose-gc`). */
export interface HeapReclaimDeps {
  connections: () => number;
  gc: () => void;
  /** Monotonic milliseconds. */
  monotonic: () => number;
  heapUsed: () => number;
  log: Pick<Logger, 'info'>;
}

/**
 * Runs one full V8 collection after a large wave of connections has closed and the count has stopped
 * falling. Why: closed sockets leave their JS objects (TLSSocket, WebSocket, parsers, buffers) as
 * garbage in the old generation; nothing retains them (heap snapshots after a forced GC are back at
 * the start), but an idle server allocates too little for V8 to run a major GC, so the heap (and with
 * it RSS) stays at its peak until traffic resumes. A collection costs one stop-the-world pause (tens
 * to a few hundred ms for a heap of a few hundred MB), taken only when at most half the connections
 * are left, at most once a minute; the pause delays, never drops, the frames of those left.
 */
export class HeapReclaimer {
  private peak = 0;
  private previous = 0;
  private lastGcAt = -Infinity;

  constructor(
    private readonly deps: HeapReclaimDeps,
    private readonly policy: HeapReclaimPolicy = DEFAULT_HEAP_RECLAIM,
  ) {}

  /** One reading of the connection count; returns true when it collected. */
  tick(): boolean {
    const n = this.deps.connections();
    // Settled: no longer falling fast (a tenth of minDrop a reading at most); the wave of closes is over.
    const settled = this.previous - n < this.policy.minDrop / 10;
    this.previous = n;
    this.peak = Math.max(this.peak, n);
    const p = this.policy;
    const now = this.deps.monotonic();
    if (!settled || this.peak - n < p.minDrop || n > this.peak * p.maxFractionOfPeak) return false;
    if (now - this.lastGcAt < p.minIntervalMs) return false;
    const before = this.deps.heapUsed();
    this.deps.gc();
    const ms = Math.round(this.deps.monotonic() - now);
    this.deps.log.info(
      {
        peakConnections: this.peak,
        connections: n,
        freedMiB: Math.round((before - this.deps.heapUsed()) / 2 ** 20),
        pauseMs: ms,
      },
      'connections closed in bulk; collected their garbage in the JS heap',
    );
    this.lastGcAt = now;
    this.peak = n;
    return true;
  }
}

/**
 * Starts the reclaimer on an unref'd timer when V8's collector is exposed (`--expose-gc`, which the
 * `palisade-serve` launcher passes); without it, does nothing. Returns the stop function.
 */
export function startHeapReclaim(
  deps: Omit<HeapReclaimDeps, 'gc'>,
  gc: unknown = (globalThis as { gc?: unknown }).gc,
  policy: HeapReclaimPolicy = DEFAULT_HEAP_RECLAIM,
): () => void {
  if (typeof gc !== 'function') return () => undefined;
  const reclaimer = new HeapReclaimer({ ...deps, gc: gc as () => void }, policy);
  const timer = setInterval(() => reclaimer.tick(), policy.everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
