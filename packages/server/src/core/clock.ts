import { performance } from 'node:perf_hooks';

/**
 * Source of time. Production uses the system clock; tests pass a fake one.
 * Two readings, for two different questions:
 * - `now()` is wall time (ms since the epoch): for instants that are stored, shown or shared between
 *   processes (session expiry, audit `at`, message `sentAt`). NTP or an operator may step it.
 * - `monotonic()` only ever moves forward at the rate of real time, from an arbitrary origin: for
 *   durations inside this process (rate-limit refill, growing delays, throttles, probe intervals),
 *   so a wall-clock step neither locks anyone out nor lifts a limit.
 */
export interface Clock {
  /** Milliseconds since the epoch (wall time; may jump). */
  now(): number;
  /** Milliseconds from an arbitrary origin; never goes back, not shared across processes. */
  monotonic(): number;
}

/** The real clock: Date.now for wall time, performance.now for durations. */
export const systemClock: Clock = { now: () => Date.now(), monotonic: () => performance.now() };

/**
 * A clock tests can move by hand. `advance` is real time passing (both readings move);
 * `stepWall` is the wall clock being set (NTP step, operator, VM resume): only `now()` moves.
 */
export class FakeClock implements Clock {
  private mono = 0;

  constructor(private ms = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.ms;
  }
  monotonic(): number {
    return this.mono;
  }
  /** Real time passes: wall and monotonic readings move by `ms` (>= 0). */
  advance(ms: number): void {
    if (ms < 0) throw new Error('time does not run backwards; use stepWall for a wall-clock step');
    this.ms += ms;
    this.mono += ms;
  }
  /** The wall clock is set forwards (ms > 0) or backwards (ms < 0); durations are unaffected. */
  stepWall(ms: number): void {
    this.ms += ms;
  }
}
