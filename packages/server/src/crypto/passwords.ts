import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify, type Algorithm } from '@node-rs/argon2';

/** `Algorithm.Argon2id` of @node-rs/argon2 (a const enum, which verbatimModuleSyntax cannot import). */
const ARGON2ID = 2 as Algorithm;
import { AppError } from '../core/index.js';

/** argon2id cost parameters. SECURITY-BASELINE: memory >= 47104 KiB, t >= 1, p = 1. */
export interface PasswordHashParams {
  memoryKiB: number;
  iterations: number;
}

/** Time and timers for the gate (tests pass fake ones). */
export interface GateTimers {
  now(): number;
  /** Runs `fn` after `ms`; returns a function that cancels it. */
  setTimeout(fn: () => void, ms: number): () => void;
}

/** Limits of a work gate. */
export interface GateOptions {
  /** Operations running at once. */
  concurrency: number;
  /** Operations waiting at most; one more is refused at once with `rate_limited`. */
  maxQueue: number;
  /** Longest wait in the queue; past it the caller gets `unavailable` (never an endless wait). */
  deadlineMs: number;
}

/** Counters of a gate, for metrics and tests (how many operations really ran). */
export interface GateStats {
  started: number;
  refused: number;
  expired: number;
  running: number;
  queued: number;
}

interface Waiter {
  resolve: () => void;
  cancel: () => void;
}

const realTimers: GateTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

/**
 * A counting semaphore with a bounded FIFO queue and a queue deadline.
 * SECURITY (S9): argon2 costs ~46 MiB and tens of ms of a libuv thread per call; without a cap, a burst
 * of logins queues unbounded work, exhausts memory and the threadpool (which also serves file and DNS
 * work) and makes every answer slow. Beyond the cap callers get a clean refusal instead of a hang.
 */
export class WorkGate {
  private running = 0;
  private readonly queue: Waiter[] = [];
  private avgMs = 50;
  private readonly counts = { started: 0, refused: 0, expired: 0 };

  constructor(
    private readonly opts: GateOptions,
    private readonly timers: GateTimers = realTimers,
  ) {}

  /** Runs `fn` when a slot is free; refuses with `rate_limited` (queue full) or `unavailable` (deadline). */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    const t0 = this.timers.now();
    this.counts.started++;
    try {
      return await fn();
    } finally {
      this.avgMs = 0.8 * this.avgMs + 0.2 * Math.max(0, this.timers.now() - t0);
      this.release();
    }
  }

  /** Current counters. */
  stats(): GateStats {
    return { ...this.counts, running: this.running, queued: this.queue.length };
  }

  /** A fair estimate of when a slot frees up: the queue ahead, spread over the slots. */
  private retryAfterMs(): number {
    return Math.max(100, Math.ceil((this.avgMs * (this.queue.length + 1)) / this.opts.concurrency));
  }

  private acquire(): Promise<void> {
    if (this.running < this.opts.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    if (this.queue.length >= this.opts.maxQueue) {
      this.counts.refused++;
      return Promise.reject(
        new AppError('rate_limited', 'the server is busy checking passwords; retry after the given delay', {
          retryAfterMs: this.retryAfterMs(),
        }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, cancel: () => undefined };
      w.cancel = this.timers.setTimeout(() => {
        const i = this.queue.indexOf(w);
        if (i < 0) return;
        this.queue.splice(i, 1);
        this.counts.expired++;
        reject(
          new AppError('unavailable', 'the server is busy checking passwords; retry shortly', {
            retryAfterMs: this.retryAfterMs(),
          }),
        );
      }, this.opts.deadlineMs);
      this.queue.push(w);
    });
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) {
      // The slot passes straight to the next waiter: `running` does not change.
      next.cancel();
      next.resolve();
    } else {
      this.running--;
    }
  }
}

/** Default gate limits: max(2, cores) at once, 16 per slot waiting, 5 s of queueing at most. */
export function defaultGateOptions(cores = availableParallelism()): GateOptions {
  const concurrency = Math.max(2, cores);
  return { concurrency, maxQueue: concurrency * 16, deadlineMs: 5000 };
}

// SECURITY (S9): one gate per process, because what it protects (CPU, memory, the libuv threadpool)
// is per process; every argon2 call in the server goes through it, whichever module makes it.
let gate = new WorkGate(defaultGateOptions());

/** Sets the process's argon2 limits (the composition root calls this once, from config). */
export function configurePasswordGate(opts: GateOptions): void {
  gate = new WorkGate(opts);
}

/** Counters of the process's argon2 gate (`started` counts every hash and verify that really ran). */
export function passwordGateStats(): GateStats {
  return gate.stats();
}

/** Hashes a password with argon2id and a fresh 16-byte salt; returns the PHC string. */
export async function hashPassword(password: string, params: PasswordHashParams): Promise<string> {
  return gate.run(() =>
    // @node-rs/argon2: a prebuilt Rust binding (SIMD), run on the libuv pool; same PHC format as before,
    // so hashes stored by the earlier binding still verify.
    argon2Hash(password, {
      algorithm: ARGON2ID,
      memoryCost: params.memoryKiB,
      timeCost: params.iterations,
      parallelism: 1,
      salt: randomBytes(16),
    }),
  );
}

/**
 * Verifies a password against a PHC string; false on mismatch or on a malformed hash. A busy server
 * refuses (`rate_limited` / `unavailable`) rather than answering false.
 */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  return gate.run(async () => {
    try {
      return await argon2Verify(hash, password);
    } catch {
      return false;
    }
  });
}
