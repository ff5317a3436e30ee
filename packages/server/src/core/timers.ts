/**
 * Schedules callbacks. Production passes `systemTimers` (Node's timers); tests pass a `FakeClock`,
 * whose timers fire only as the test advances it, so "nothing happened until X" is proved by moving
 * the clock past X instead of waiting on the wall clock.
 */
export interface Timers {
  /**
   * Calls `fn` once, `ms` from now; returns the function that cancels it. Never keeps the process
   * alive, unless `ref` (for a timer that lives as long as a socket which holds the process anyway).
   */
  setTimeout(fn: () => void, ms: number, opts?: { ref?: boolean }): () => void;
  /** Calls `fn` every `ms` from now on; returns the function that stops it. Never keeps the process alive. */
  setInterval(fn: () => void, ms: number): () => void;
}

/** Node's timers, unref'd (a pending timer never holds the process open). */
export const systemTimers: Timers = {
  setTimeout(fn, ms, opts) {
    const t = setTimeout(fn, ms);
    // Node frees the timer list of a cleared timer at once only when the timer is ref'd; an unref'd
    // one keeps an empty list per distinct duration until that duration has passed.
    if (opts?.ref !== true) t.unref();
    return () => clearTimeout(t);
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    t.unref();
    return () => clearInterval(t);
  },
};
