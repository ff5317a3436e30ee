/**
 * Sliding windows over event time, O(1) amortised per observation: a ring-buffer deque of entries, each
 * evicted once when it leaves the window, with running sums kept as entries enter and leave.
 */

/** One counted observation. */
export interface WindowEntry {
  at: number;
  weight: number;
  seq: number | null;
  drill: string | undefined;
  /** The distinct value (distinct windows). */
  value?: string;
  success?: boolean;
  address?: string | null;
}

/** Entries one window keeps at most (beyond, the oldest go: counts under-estimate, never over-estimate). */
export const MAX_ENTRIES = 20_000;

/** A growable ring buffer. */
export class Deque<T> {
  private buf: (T | undefined)[] = new Array<T | undefined>(16);
  private head = 0;
  private size = 0;
  /** Entries held. */
  get length(): number {
    return this.size;
  }
  /** Appends at the back. */
  push(v: T): void {
    if (this.size === this.buf.length) {
      const next = new Array<T | undefined>(this.buf.length * 2);
      for (let i = 0; i < this.size; i++) next[i] = this.buf[(this.head + i) % this.buf.length];
      this.buf = next;
      this.head = 0;
    }
    this.buf[(this.head + this.size) % this.buf.length] = v;
    this.size++;
  }
  /** The front entry, if any. */
  peek(): T | undefined {
    return this.size ? this.buf[this.head] : undefined;
  }
  /** Removes the front entry. */
  shift(): T | undefined {
    if (!this.size) return undefined;
    const v = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.size--;
    return v;
  }
  /** The entry at position `i` from the front. */
  at(i: number): T | undefined {
    return i < this.size ? this.buf[(this.head + i) % this.buf.length] : undefined;
  }
}

/** Counts, weights, drill labels and (optionally) distinct values of the entries in one window. */
export class SlidingWindow {
  readonly entries = new Deque<WindowEntry>();
  /** Sum of weights in the window. */
  sum = 0;
  /** Sum of weights of successes. */
  successes = 0;
  /** Entries not from drill traffic. */
  private live = 0;
  /** Per distinct value: entries in the window. */
  readonly values = new Map<string, number>();
  /** Distinct values seen at most `maxPerValue` times. */
  fewValues = 0;
  /** Distinct addresses (for network-keyed windows). */
  readonly addresses = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxPerValue = Infinity,
  ) {}

  /** Adds an entry and drops those older than the window before `e.at`. */
  add(e: WindowEntry): void {
    this.evict(e.at);
    if (this.entries.length >= MAX_ENTRIES) this.drop();
    this.entries.push(e);
    this.sum += e.weight;
    if (e.success) this.successes += e.weight;
    if (e.drill === undefined) this.live++;
    if (e.value !== undefined) {
      const n = (this.values.get(e.value) ?? 0) + 1;
      this.values.set(e.value, n);
      if (n === 1) this.fewValues++;
      else if (n === this.maxPerValue + 1) this.fewValues--;
    }
    if (e.address) this.addresses.set(e.address, (this.addresses.get(e.address) ?? 0) + 1);
  }

  /** Drops entries at or before `now - window`. */
  evict(now: number): void {
    for (let f = this.entries.peek(); f && f.at <= now - this.windowMs; f = this.entries.peek()) this.drop();
  }

  private drop(): void {
    const e = this.entries.shift();
    if (!e) return;
    this.sum -= e.weight;
    if (e.success) this.successes -= e.weight;
    if (e.drill === undefined) this.live--;
    if (e.value !== undefined) {
      const n = (this.values.get(e.value) ?? 1) - 1;
      if (n === 0) {
        this.values.delete(e.value);
        this.fewValues--;
      } else {
        this.values.set(e.value, n);
        if (n === this.maxPerValue) this.fewValues++;
      }
    }
    if (e.address) {
      const n = (this.addresses.get(e.address) ?? 1) - 1;
      if (n === 0) this.addresses.delete(e.address);
      else this.addresses.set(e.address, n);
    }
  }

  /** The drill id when every entry in the window is drill traffic. */
  drill(): string | undefined {
    return this.live === 0 ? this.entries.peek()?.drill : undefined;
  }
  /** When the first entry in the window happened. */
  firstAt(): number {
    return this.entries.peek()?.at ?? 0;
  }
  /** When the last entry happened. */
  lastAt(): number {
    return this.entries.at(this.entries.length - 1)?.at ?? 0;
  }
  /** Up to `max` audit chain positions in the window, oldest first. */
  seqs(max = 50): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.entries.length && out.length < max; i++) {
      const s = this.entries.at(i)?.seq;
      if (s !== null && s !== undefined) out.push(s);
    }
    return out;
  }
}
