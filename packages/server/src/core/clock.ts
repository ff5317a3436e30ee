import { performance } from 'node:perf_hooks';
import type { Timers } from './timers.js';

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
  /**
   * Sum of the forward wall-clock steps this process saw after the wall instant `wallMs` (0 when
   * none): a stored instant plus this is what the wall clock would read now had it not been set.
   * Idle timeouts subtract it, so a step forward does not count as idle time.
   */
  steppedForwardSince(wallMs: number): number;
}

/** A wall-clock step: the wall reading just before it, and by how much it moved. */
interface WallStep {
  before: number;
  delta: number;
}

/** Steps kept (each is a rare event; the oldest go first). */
const MAX_STEPS = 64;
/** A change of wall minus monotonic beyond this between two samples is a step, not drift. */
const STEP_THRESHOLD_MS = 2000;
const SAMPLE_EVERY_MS = 1000;

/**
 * The real clock: Date.now for wall time, performance.now for durations, and a watcher (one timer a
 * second, unref'd) that notices when the wall clock is set: wall minus monotonic jumps.
 */
export class SystemClock implements Clock {
  private readonly steps: WallStep[] = [];
  private offset = Date.now() - performance.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(deltaMs: number) => void>();

  now(): number {
    this.watch();
    return Date.now();
  }
  monotonic(): number {
    return performance.now();
  }
  steppedForwardSince(wallMs: number): number {
    this.sample();
    let sum = 0;
    for (const s of this.steps) if (s.delta > 0 && s.before >= wallMs) sum += s.delta;
    return sum;
  }
  /** Calls `fn` with each step seen (ms; negative: set back). Returns the unsubscribe function. */
  onStep(fn: (deltaMs: number) => void): () => void {
    this.watch();
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private watch(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sample(), SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  private sample(): void {
    const wall = Date.now();
    const offset = wall - performance.now();
    const delta = offset - this.offset;
    this.offset = offset;
    if (Math.abs(delta) < STEP_THRESHOLD_MS) return;
    this.steps.push({ before: wall - delta, delta });
    if (this.steps.length > MAX_STEPS) this.steps.shift();
    for (const fn of this.listeners) fn(delta);
  }
}

/** The real clock (one per process). */
export const systemClock: SystemClock = new SystemClock();

/** A timer of the fake clock: due at a monotonic instant; `every` set for an interval. */
interface FakeTimer {
  at: number;
  every: number | undefined;
  fn: () => void;
  live: boolean;
}

/**
 * A clock tests can move by hand. `advance` is real time passing: both readings move, and the timers it
 * schedules as `Timers` fire in due order, each with the clock at its due instant. An interval that
 * fell behind fires once, at its latest due instant (as Node's do after a blocked event loop), so async
 * work it starts reads the time it was due. `stepWall` is the wall clock being set (NTP step, operator,
 * VM resume): only `now()` moves, and no timer fires.
 */
export class FakeClock implements Clock, Timers {
  private mono = 0;
  private readonly steps: WallStep[] = [];
  private timers: FakeTimer[] = [];

  constructor(private ms = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.ms;
  }
  monotonic(): number {
    return this.mono;
  }
  /** Real time passes: wall and monotonic readings move by `ms` (>= 0); timers due by then fire. */
  advance(ms: number): void {
    if (ms < 0) throw new Error('time does not run backwards; use stepWall for a wall-clock step');
    const until = this.mono + ms;
    for (let t = this.nextDue(until); t; t = this.nextDue(until)) {
      const at = dueBy(t, until);
      this.move(at - this.mono);
      if (t.every === undefined) t.live = false;
      else t.at = at + t.every;
      t.fn();
    }
    this.move(until - this.mono);
    this.timers = this.timers.filter((t) => t.live);
  }
  /** The wall clock is set forwards (ms > 0) or backwards (ms < 0); durations are unaffected. */
  stepWall(ms: number): void {
    this.steps.push({ before: this.ms, delta: ms });
    this.ms += ms;
  }
  steppedForwardSince(wallMs: number): number {
    let sum = 0;
    for (const s of this.steps) if (s.delta > 0 && s.before >= wallMs) sum += s.delta;
    return sum;
  }
  setTimeout(fn: () => void, ms: number): () => void {
    return this.schedule(fn, ms, undefined);
  }
  setInterval(fn: () => void, ms: number): () => void {
    return this.schedule(fn, ms, Math.max(1, ms));
  }
  /** Timers scheduled and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.timers.filter((t) => t.live).length;
  }

  private schedule(fn: () => void, ms: number, every: number | undefined): () => void {
    const t: FakeTimer = { at: this.mono + Math.max(0, ms), every, fn, live: true };
    this.timers.push(t);
    return () => void (t.live = false);
  }
  /** The live timer that fires first by `until` (the first scheduled among equals), if any. */
  private nextDue(until: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers)
      if (t.live && t.at <= until && (!best || dueBy(t, until) < dueBy(best, until))) best = t;
    return best;
  }
  private move(ms: number): void {
    this.ms += ms;
    this.mono += ms;
  }
}

/** When a due timer fires by `until`: a timeout at its instant, an interval at its latest due instant. */
function dueBy(t: FakeTimer, until: number): number {
  return t.every === undefined ? t.at : t.at + Math.floor((until - t.at) / t.every) * t.every;
}
