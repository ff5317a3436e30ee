import { createHistogram } from 'node:perf_hooks';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDelays, EVENT_LOOP_DELAY_BUCKETS, EVENT_LOOP_RESOLUTION_MS, eventLoopDelayMetric } from './event-loop.js';
import { PrometheusMetrics } from './index.js';

const RES_MS = EVENT_LOOP_RESOLUTION_MS;

describe('addDelays (native histogram to cumulative buckets)', () => {
  it('counts each delay in every bucket at or above it, exactly but for the histogram precision', () => {
    fc.assert(
      fc.property(
        // Delays in ns from 0 to 2 s (past the last bound), as the monitor records them: interval + delay.
        fc.array(fc.integer({ min: 0, max: 2e9 }), { minLength: 1, maxLength: 300 }),
        fc.nat({ max: 5 }),
        (delays, prior) => {
          const h = createHistogram();
          for (const d of delays) h.record(d + RES_MS * 1e6);
          const into = [...EVENT_LOOP_DELAY_BUCKETS.map(() => prior), prior];
          const sum = addDelays(h, RES_MS, EVENT_LOOP_DELAY_BUCKETS, into);
          for (const [i, b] of EVENT_LOOP_DELAY_BUCKETS.entries()) {
            const ns = b * 1e9;
            // The histogram keeps 3 significant digits: a delay within 0.1 % of the bound may fall either side.
            const sure = delays.filter((d) => (d + RES_MS * 1e6) * 1.001 < ns + RES_MS * 1e6).length;
            const maybe = delays.filter((d) => (d + RES_MS * 1e6) * 0.999 <= ns + RES_MS * 1e6).length;
            expect(into[i]! - prior).toBeGreaterThanOrEqual(sure);
            expect(into[i]! - prior).toBeLessThanOrEqual(maybe);
            if (i > 0) expect(into[i]!).toBeGreaterThanOrEqual(into[i - 1]!);
          }
          expect(into.at(-1)! - prior).toBe(delays.length);
          const exact = delays.reduce((a, d) => a + d, 0) / 1e9;
          // The histogram's mean has its precision too, on the delay plus the interval.
          const slack = delays.reduce((a, d) => a + d + RES_MS * 1e6, 0) * 1e-12;
          expect(Math.abs(sum - exact)).toBeLessThanOrEqual(slack);
        },
      ),
    );
  });

  it('adds nothing for an empty histogram', () => {
    const into = [1, 2, 3];
    expect(addDelays(createHistogram(), RES_MS, [0.001, 0.01], into)).toBe(0);
    expect(into).toEqual([1, 2, 3]);
  });
});

describe('palisade_event_loop_delay_seconds', () => {
  it('moves the samples into cumulative buckets at each scrape and resets the source', async () => {
    const h = createHistogram();
    const metric = eventLoopDelayMetric('x', h);
    const bucketsOf = async () =>
      new Map(
        (await metric.get()).values.map((v) => [`${v.metricName}${'le' in v.labels ? v.labels.le : ''}`, v.value]),
      );
    const ms = (d: number) => h.record(Math.round((d + EVENT_LOOP_RESOLUTION_MS) * 1e6));
    [0.05, 0.3, 3, 3, 40].forEach(ms);
    let b = await bucketsOf();
    expect([b.get('x_bucket0.0001'), b.get('x_bucket0.0005'), b.get('x_bucket0.003')]).toEqual([1, 2, 2]);
    expect([b.get('x_bucket0.004'), b.get('x_bucket0.03'), b.get('x_bucket0.05'), b.get('x_bucket+Inf')]).toEqual([
      4, 4, 5, 5,
    ]);
    expect(b.get('x_count')).toBe(5);
    expect(b.get('x_sum')).toBeCloseTo(0.04635, 4);
    expect(h.count).toBe(0);
    ms(2000);
    b = await bucketsOf();
    expect([b.get('x_bucket1'), b.get('x_bucket+Inf'), b.get('x_count')]).toEqual([5, 6, 6]);
  });

  it("is in every server's exposition, fed by the process's monitor", async () => {
    const m = new PrometheusMetrics();
    const count = async () =>
      Number(/^palisade_event_loop_delay_seconds_count (\d+)$/m.exec((await m.render()).body)?.[1] ?? NaN);
    const first = await count();
    await expect.poll(count).toBeGreaterThan(first);
    const text = (await m.render()).body;
    expect(text).toMatch(/^# TYPE palisade_event_loop_delay_seconds histogram$/m);
    expect(text).toMatch(/^palisade_event_loop_delay_seconds_bucket\{le="0.005"\} \d+$/m);
    expect(text).toMatch(/^palisade_event_loop_delay_seconds_bucket\{le="\+Inf"\} \d+$/m);
    expect(text).toMatch(/^palisade_event_loop_delay_seconds_sum [\d.e-]+$/m);
  });
});
