/**
 * Robust statistics over a bounded history: a ring of the last N values with exact median, median
 * absolute deviation and quantiles (computed only when a rule asks, O(N log N) with N <= 128).
 */

/** Values a history keeps. */
export const HISTORY = 128;

/** A bounded history of values (hourly volumes, hourly connection counts). */
export interface History {
  /** The values, oldest first after `next` wraps. */
  v: number[];
  /** Where the next value goes once full. */
  next: number;
}

/** An empty history. */
export const emptyHistory = (): History => ({ v: [], next: 0 });

/** Appends a value (the oldest goes once full). */
export function pushHistory(h: History, x: number, cap = HISTORY): void {
  if (h.v.length < cap) h.v.push(x);
  else {
    h.v[h.next] = x;
    h.next = (h.next + 1) % cap;
  }
}

/** The q-quantile (0..1) of the values, 0 when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i] ?? 0;
}

/** Median and median absolute deviation (scaled by 1.4826, a standard deviation for normal data). */
export function robust(values: readonly number[]): { median: number; mad: number } {
  const median = quantile(values, 0.5);
  const mad =
    1.4826 *
    quantile(
      values.map((x) => Math.abs(x - median)),
      0.5,
    );
  return { median, mad };
}

/** Exponentially weighted moving average step. */
export const ewma = (prev: number, x: number, alpha: number): number => prev + alpha * (x - prev);
