/**
 * Schedules callbacks. Production passes `systemTimers` (Node's timers); tests pass a `FakeClock`,
 * whose timers fire only as the test advances it, so "nothing happened until X" is proved by moving
 * the clock past X instead of waiting on the wall clock.
 */
export interface Timers {
  /** Calls `fn` once, `ms` from now; returns the function that cancels it. Never keeps the process alive. */
  setTimeout(fn: () => void, ms: number): () => void;
  /** Calls `fn` every `ms` from now on; returns the function that stops it. Never keeps the process alive. */
  setInterval(fn: () => void, ms: number): () => void;
}

/** Node's timers, unref'd (a pending timer never holds the process open). */
export const systemTimers: Timers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    t.unref();
    return () => clearInterval(t);
  },
};
