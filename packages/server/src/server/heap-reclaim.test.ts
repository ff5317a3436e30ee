import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/index.js';
import { DEFAULT_HEAP_RECLAIM, HeapReclaimer, startHeapReclaim } from './heap-reclaim.js';

/** A reclaimer over a connection count the test sets, a fake clock and a collector that counts its runs. */
function setup() {
  const clock = new FakeClock();
  const state = { connections: 0, collections: 0, heap: 500 * 2 ** 20 };
  const lines: { fields: Record<string, unknown>; msg: string }[] = [];
  const reclaimer = new HeapReclaimer({
    connections: () => state.connections,
    monotonic: () => clock.monotonic(),
    heapUsed: () => state.heap,
    gc: () => {
      state.collections++;
      state.heap = 100 * 2 ** 20;
    },
    log: { info: (fields: Record<string, unknown>, msg: string) => void lines.push({ fields, msg }) },
  });
  /** The next reading, `everyMs` later, with `n` connections open. */
  const at = (n: number) => {
    clock.advance(DEFAULT_HEAP_RECLAIM.everyMs);
    state.connections = n;
    return reclaimer.tick();
  };
  return { state, lines, at, clock };
}

describe('heap reclaim after a wave of closed connections', () => {
  it('collects once when 10,000 connections have closed and the count stopped falling, and logs what it freed', () => {
    const { state, lines, at } = setup();
    for (const n of [0, 4000, 10_000, 10_000]) expect(at(n)).toBe(false);
    expect(at(3000)).toBe(false); // still falling fast: the wave is not over
    expect(at(0)).toBe(false);
    expect(at(0)).toBe(true);
    expect(state.collections).toBe(1);
    expect(lines).toEqual([
      {
        fields: { peakConnections: 10_000, connections: 0, freedMiB: 400, pauseMs: 0 },
        msg: 'connections closed in bulk; collected their garbage in the JS heap',
      },
    ]);
    for (let i = 0; i < 30; i++) at(0); // idle afterwards: nothing more to collect
    expect(state.collections).toBe(1);
  });

  it('never collects under steady load or small churn', () => {
    const big = setup();
    for (let i = 0; i < 100; i++) big.at(i % 2 === 0 ? 10_000 : 9_500); // 500 close and reopen each time
    const small = setup();
    for (let i = 0; i < 100; i++) small.at([1200, 400, 400][i % 3] as number); // 800 close, then reconnect
    expect([big.state.collections, small.state.collections]).toEqual([0, 0]);
  });

  it('does not collect while more than half the peak is still connected', () => {
    const { state, at } = setup();
    for (const n of [10_000, 10_000, 6000, 6000, 6000]) at(n);
    expect(state.collections).toBe(0);
    at(5000);
    at(5000);
    expect(state.collections).toBe(1);
  });

  it('waits a minute between two collections, then collects the next wave', () => {
    const { state, at } = setup();
    for (const n of [10_000, 0, 0]) at(n);
    expect(state.collections).toBe(1);
    for (const n of [10_000, 0, 0]) at(n); // a second wave 15 s later: too soon
    expect(state.collections).toBe(1);
    const waits = DEFAULT_HEAP_RECLAIM.minIntervalMs / DEFAULT_HEAP_RECLAIM.everyMs;
    for (let i = 0; i < waits; i++) at(0);
    expect(state.collections).toBe(2); // the peak was kept, so the wave is collected once allowed
  });

  it('runs on a timer only when the collector is exposed (--expose-gc)', async () => {
    const reads = { withGc: 0, without: 0 };
    const start = (key: keyof typeof reads, gc: unknown) =>
      startHeapReclaim(
        { connections: () => reads[key]++, monotonic: () => 0, heapUsed: () => 0, log: { info: () => undefined } },
        gc,
        { ...DEFAULT_HEAP_RECLAIM, everyMs: 1 },
      );
    const stops = [start('withGc', () => undefined), start('without', undefined)];
    try {
      await expect.poll(() => reads.withGc).toBeGreaterThan(3);
      expect(reads.without).toBe(0);
    } finally {
      for (const stop of stops) stop();
    }
  });
});
