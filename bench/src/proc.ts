import { readdirSync, readFileSync } from 'node:fs';

/** CPU time a process has used so far, in milliseconds, from /proc. */
export interface CpuTime {
  /**
   * User + system time of all its threads from their schedstat (nanoseconds, so fine enough for a phase
   * of a few hundred milliseconds); threads that ended are not in it (their time is in `ticksMs`).
   */
  ms: number;
  /** utime + stime from /proc/<pid>/stat, dead threads included, in clock ticks (10 ms) turned into ms. */
  ticksMs: number;
}

/** Clock ticks per second of /proc/<pid>/stat (`getconf CLK_TCK`): 100 on Linux for x86 and arm. */
const CLK_TCK = 100;

/** utime + stime in ms from the text of /proc/<pid>/stat. */
export function statCpuMs(stat: string): number {
  // The fields after the command name (which may hold spaces and parentheses): utime is the 14th field.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** The CPU time of process `pid` so far (any process: a node server, the relay, ejabberd's beam). */
export function cpuOf(pid: number): CpuTime {
  const ticksMs = statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  let ns = 0;
  let threads = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      // First field: time spent on the CPU (ns).
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      threads++;
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return { ms: threads > 0 && Number.isFinite(ns) ? ns / 1e6 : ticksMs, ticksMs };
}

/**
 * CPU milliseconds between two readings: the schedstat sum, unless the tick count grew by clearly more
 * (threads ended in between, and took their time with them from the sum).
 */
export function cpuBetween(a: CpuTime, b: CpuTime): number {
  const fine = b.ms - a.ms;
  const coarse = b.ticksMs - a.ticksMs;
  return coarse > fine + 2 * (1000 / CLK_TCK) ? coarse : fine;
}
