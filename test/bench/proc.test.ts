import { describe, expect, it } from 'vitest';
import { cpuBetween, cpuOf, statCpuMs } from '../../bench/src/proc.js';

describe('server CPU time from /proc (bench/src/proc.ts)', () => {
  it('reads utime and stime after a command name with spaces and parentheses', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const stat = '4242 (beam.smp (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 30 0 99 0';
    expect(statCpuMs(stat)).toBe(12900);
  });

  it('counts a busy main thread of this process, finer than clock ticks', () => {
    const before = cpuOf(process.pid);
    const end = performance.now() + 60;
    while (performance.now() < end);
    const after = cpuOf(process.pid);
    const ms = cpuBetween(before, after);
    // 60 ms of wall time on the CPU, maybe less if the machine preempted us, never more than wall + other threads.
    expect(ms).toBeGreaterThan(20);
    expect(ms).toBeLessThan(1000);
    expect(after.ms).not.toBe(Math.round(after.ms / 10) * 10); // nanosecond schedstat, not 10 ms ticks
  });

  it('takes the tick count when threads that ended took more time with them than the ticks allow', () => {
    expect(cpuBetween({ ms: 100, ticksMs: 100 }, { ms: 105, ticksMs: 110 })).toBe(5);
    expect(cpuBetween({ ms: 100, ticksMs: 100 }, { ms: 105, ticksMs: 200 })).toBe(100);
  });
});
