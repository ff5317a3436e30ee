import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketDelta, eldBetween, parseBuckets, quantile, type Buckets } from '../../bench/src/eld.js';
import { relayEventLoopDelay } from '../../bench/src/relay-eld.js';
import { EVENT_LOOP_DELAY_BUCKETS } from '../../packages/server/src/metrics/event-loop.js';

/** The bounds of palisade_event_loop_delay_seconds (seconds). */
const BOUNDS = EVENT_LOOP_DELAY_BUCKETS;

/** Cumulative buckets of exact samples (seconds), as the server counts them. */
const bucketsOf = (samples: number[]): Buckets =>
  [...BOUNDS, Infinity].map((le) => ({ le, count: samples.filter((s) => s <= le).length }));

/** The nearest-rank q-quantile of samples (what the histogram estimates). */
const nearestRank = (samples: number[], q: number) => {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(q * s.length) - 1)]!;
};

const delays = fc.array(fc.double({ min: 0, max: 2, noNaN: true }), { maxLength: 200 });

describe('event-loop delay of a phase from two scrapes of cumulative buckets', () => {
  it('the difference of two scrapes is the histogram of the samples between them', () => {
    fc.assert(
      fc.property(delays, delays, (earlier, phase) => {
        expect(bucketDelta(bucketsOf(earlier), bucketsOf([...earlier, ...phase]))).toEqual(bucketsOf(phase));
      }),
    );
  });

  it('p50 and p99 fall in the bucket that holds the exact quantile of the phase, whatever came before', () => {
    fc.assert(
      fc.property(
        delays,
        delays.filter((d) => d.length > 0),
        fc.constantFrom(0.5, 0.9, 0.99),
        (earlier, phase, q) => {
          const d = bucketDelta(bucketsOf(earlier), bucketsOf([...earlier, ...phase]));
          const est = quantile(d, q);
          const exact = nearestRank(phase, q);
          const i = [...BOUNDS, Infinity].findIndex((le) => exact <= le);
          const lower = i === 0 ? 0 : BOUNDS[i - 1]!;
          const upper = BOUNDS[i] ?? BOUNDS.at(-1)!; // above 1 s: the last finite bound
          expect(est).toBeGreaterThanOrEqual(Math.min(lower, upper));
          expect(est).toBeLessThanOrEqual(upper);
        },
      ),
    );
  });

  it('quantiles do not decrease with q, and the max bucket bounds every sample', () => {
    fc.assert(
      fc.property(
        delays.filter((d) => d.length > 0),
        (phase) => {
          const s = eldBetween(bucketsOf([]), bucketsOf(phase));
          expect(s.samples).toBe(phase.length);
          expect(s.p50Ms!).toBeLessThanOrEqual(s.p99Ms!);
          const max = Math.max(...phase);
          if (max <= 1) {
            expect(s.maxBelowMs! / 1000).toBeGreaterThanOrEqual(max);
            expect(s.p99Ms!).toBeLessThanOrEqual(s.maxBelowMs!);
          } else expect(s.maxBelowMs).toBeNull();
        },
      ),
    );
  });

  it('interpolates inside a bucket as histogram_quantile does', () => {
    // 10 samples in (1 ms, 1.5 ms], 10 in (4 ms, 5 ms]: p50 at the top of the first, p99 at 9.9/10 of the second.
    const b = bucketsOf([...Array<number>(10).fill(0.0012), ...Array<number>(10).fill(0.0045)]);
    expect(quantile(b, 0.5)).toBeCloseTo(0.0015, 9);
    expect(quantile(b, 0.99)).toBeCloseTo(0.004 + 0.001 * 0.98, 9);
    expect(eldBetween(b, b)).toEqual({ samples: 0, p50Ms: null, p99Ms: null, maxBelowMs: null });
  });

  it('reads the buckets from an exposition and refuses scrapes with different bounds', () => {
    const text = [
      '# TYPE palisade_event_loop_delay_seconds histogram',
      'palisade_event_loop_delay_seconds_bucket{le="0.001"} 3',
      'palisade_event_loop_delay_seconds_bucket{le="+Inf"} 4',
      'palisade_event_loop_delay_seconds_sum 0.01',
      'palisade_other_bucket{le="0.001"} 9',
    ].join('\n');
    expect(parseBuckets(text)).toEqual([
      { le: 0.001, count: 3 },
      { le: Infinity, count: 4 },
    ]);
    expect(() => bucketDelta([{ le: 0.002, count: 1 }], [{ le: 0.001, count: 1 }])).toThrow(/different buckets/);
  });

  it("the relay's copy of the series has the server's bounds and counts its own samples", async () => {
    const render = relayEventLoopDelay();
    const first = parseBuckets(render());
    expect(first.map((b) => b.le)).toEqual([...EVENT_LOOP_DELAY_BUCKETS, Infinity]);
    await expect.poll(() => parseBuckets(render()).at(-1)!.count).toBeGreaterThan(first.at(-1)!.count);
  });
});
