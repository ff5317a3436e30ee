import { describe, expect, it } from 'vitest';
import { WorkGate, type GateTimers } from './passwords.js';
import { rejectionOf } from '../test-support/rejection.js';

/** Fake time: timers fire only when the test advances the clock. */
class FakeTimers implements GateTimers {
  private t = 0;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): () => void {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return () => (timer.live = false);
  }
  advance(ms: number): void {
    this.t += ms;
    for (const timer of this.timers.filter((x) => x.live && x.at <= this.t)) {
      timer.live = false;
      timer.fn();
    }
  }
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('S9: argon2 work gate (semaphore with a bounded queue and a deadline)', () => {
  it('S9: runs at most `concurrency` at once, queues the rest in order, and hands slots over', async () => {
    const timers = new FakeTimers();
    const gate = new WorkGate({ concurrency: 2, maxQueue: 4, deadlineMs: 5000 }, timers);
    const jobs = Array.from({ length: 5 }, () => deferred());
    const order: number[] = [];
    const runs = jobs.map((j, i) =>
      gate.run(async () => {
        order.push(i);
        await j.promise;
        return i;
      }),
    );
    await tick();
    expect(order).toEqual([0, 1]);
    expect(gate.stats()).toMatchObject({ running: 2, queued: 3, started: 2 });
    jobs[1]!.resolve();
    await tick();
    expect(order).toEqual([0, 1, 2]);
    for (const j of jobs) j.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
    expect(gate.stats()).toMatchObject({ running: 0, queued: 0, started: 5, refused: 0, expired: 0 });
  });

  it('S9: refuses at once with rate_limited and a retry delay when the queue is full', async () => {
    const timers = new FakeTimers();
    const gate = new WorkGate({ concurrency: 1, maxQueue: 1, deadlineMs: 5000 }, timers);
    const hold = deferred();
    const a = gate.run(() => hold.promise);
    const b = gate.run(() => Promise.resolve('b'));
    const c = await rejectionOf(gate.run(() => Promise.resolve('c')));
    expect(c).toMatchObject({ code: 'rate_limited' });
    expect(c.retryAfterMs).toBeGreaterThan(0);
    hold.resolve();
    await a;
    expect(await b).toBe('b');
    expect(gate.stats()).toMatchObject({ refused: 1, started: 2 });
  });

  it('S9: a waiter past the deadline gets unavailable (never a hang), and its slot is not lost', async () => {
    const timers = new FakeTimers();
    const gate = new WorkGate({ concurrency: 1, maxQueue: 8, deadlineMs: 5000 }, timers);
    const hold = deferred();
    const a = gate.run(() => hold.promise);
    let ran = false;
    const late = rejectionOf(
      gate.run(() => {
        ran = true;
        return Promise.resolve();
      }),
    );
    timers.advance(4999);
    await tick();
    expect(gate.stats().queued).toBe(1);
    timers.advance(1);
    expect(await late).toMatchObject({ code: 'unavailable', retryAfterMs: expect.any(Number) });
    expect(ran).toBe(false);
    expect(gate.stats()).toMatchObject({ queued: 0, expired: 1 });
    hold.resolve();
    await a;
    // The slot came back: new work runs straight away.
    expect(await gate.run(() => Promise.resolve('next'))).toBe('next');
    expect(gate.stats()).toMatchObject({ running: 0, started: 2 });
  });

  it('S9: a failing operation releases its slot', async () => {
    const gate = new WorkGate({ concurrency: 1, maxQueue: 1, deadlineMs: 1000 }, new FakeTimers());
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run(() => Promise.resolve(1))).toBe(1);
  });
});
