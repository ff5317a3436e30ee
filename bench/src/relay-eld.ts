import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ELD_SERIES } from './eld.js';

/** The bounds (seconds) and sampling interval (ms) of packages/server/src/metrics/event-loop.ts. */
const BOUNDS = [
  0.0001, 0.0002, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1,
  0.25, 0.5, 1,
];
const RESOLUTION_MS = 2;

/**
 * The relay's copy of Palisade's `palisade_event_loop_delay_seconds` (the bench cannot import the
 * server's internals): the same native monitor, drained into cumulative buckets at each scrape the
 * same way (bisection on the k-th smallest sample). Returns the exposition's renderer.
 */
export function relayEventLoopDelay(): () => string {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  const counts = [...BOUNDS.map(() => 0), 0];
  let sum = 0;
  return () => {
    const n = h.count;
    if (n > 0) {
      const offset = RESOLUTION_MS * 1e6;
      let lo = 0;
      for (const [i, bound] of BOUNDS.entries()) {
        const limit = bound * 1e9 + offset;
        let hi = n;
        while (lo < hi) {
          const mid = Math.ceil((lo + hi) / 2);
          if (h.percentile(Math.min(100, (100 * mid) / n)) <= limit) lo = mid;
          else hi = mid - 1;
        }
        counts[i]! += lo;
      }
      counts[BOUNDS.length]! += n;
      sum += (Math.max(0, h.mean - offset) * n) / 1e9;
      h.reset();
    }
    const lines = BOUNDS.map((le, i) => `${ELD_SERIES}_bucket{le="${le}"} ${counts[i]}`);
    const total = counts[BOUNDS.length];
    lines.push(`${ELD_SERIES}_bucket{le="+Inf"} ${total}`, `${ELD_SERIES}_sum ${sum}`, `${ELD_SERIES}_count ${total}`);
    return `${lines.join('\n')}\n`;
  };
}
