import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeClock, SystemClock } from './clock.js';

const HOUR = 3_600_000;

describe('clock: wall steps are seen, durations are not affected', () => {
  afterEach(() => vi.restoreAllMocks());

  it('the system clock notices a forward step of the wall clock (wall minus monotonic jumps) and reports it', () => {
    const clock = new SystemClock();
    const seen: number[] = [];
    clock.onStep((d) => seen.push(d));
    const before = Date.now();
    const real = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => real() + 2 * HOUR); // the wall clock is set 2 h ahead
    expect(clock.steppedForwardSince(before - 1000)).toBeGreaterThan(2 * HOUR - 5000);
    expect(clock.steppedForwardSince(before + 3 * HOUR)).toBe(0); // instants after the step are not compensated
    expect(seen.length).toBe(1);
    expect(seen[0]).toBeGreaterThan(2 * HOUR - 5000);
  });

  it('a backward step is reported but never counted as time gained', () => {
    const clock = new SystemClock();
    const seen: number[] = [];
    clock.onStep((d) => seen.push(d));
    const before = Date.now();
    const real = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => real() - HOUR);
    expect(clock.steppedForwardSince(before - HOUR * 2)).toBe(0);
    expect(seen[0]).toBeLessThan(-HOUR + 5000);
  });

  it('the fake clock: advance moves both readings, stepWall only the wall', () => {
    const c = new FakeClock(1_000_000);
    c.advance(10);
    c.stepWall(-500);
    expect([c.now(), c.monotonic()]).toEqual([999_510, 10]);
    c.stepWall(HOUR);
    expect(c.steppedForwardSince(999_000)).toBe(HOUR);
    expect(c.steppedForwardSince(c.now())).toBe(0);
    expect(() => c.advance(-1)).toThrow(/stepWall/);
  });

  it('the fake clock fires its timers only as it advances, in due order, at their instants; a late interval fires once', () => {
    const c = new FakeClock(1_000_000);
    const fired: string[] = [];
    const stopTick = c.setInterval(() => fired.push(`tick@${c.monotonic()}`), 1_000);
    c.setTimeout(() => fired.push(`once@${c.monotonic()}@${c.now()}`), 1_500);
    const cancelled = c.setTimeout(() => fired.push('cancelled'), 500);
    cancelled();
    c.advance(999);
    expect(fired).toEqual([]);
    c.advance(1);
    expect(fired).toEqual(['tick@1000']);
    c.advance(1_099);
    expect(fired).toEqual(['tick@1000', 'once@1500@1001500', 'tick@2000']);
    expect(c.monotonic()).toBe(2_099);
    c.advance(5_000); // five periods late: one tick, at the latest due instant
    expect(fired.slice(3)).toEqual(['tick@7000']);
    c.stepWall(3_600_000); // setting the wall clock fires nothing
    expect(fired).toHaveLength(4);
    stopTick();
    c.advance(10_000);
    expect(fired).toHaveLength(4);
    expect(c.pendingTimers).toBe(0);
  });
});
