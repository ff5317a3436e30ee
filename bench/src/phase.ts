import { eldBetween, scrapeEld, type Buckets, type EldSummary } from './eld.js';
import { cpuBetween, cpuOf, type CpuTime } from './proc.js';
import { now } from './stats.js';
import type { Target } from './target.js';

/** What the server spent on one measured section: its CPU time per operation and its event-loop delay. */
export interface ServerCost {
  /** Operations in the section (connects, round trips, messages, deliveries, logins). */
  ops: number;
  wallMs: number;
  /** CPU time of the server process (all threads) during the section. */
  cpuMs: number;
  serverCpuMsPerOp: number;
  /** The server's event-loop delay during the section; absent for a target without the histogram. */
  eld?: EldSummary;
}

/**
 * Takes a server's CPU time (and event-loop delay, when the target serves the histogram) around a
 * section: a workload calls `begin()` after its set-up and warm-up, `end(ops)` once the last
 * operation is done. It can be used for several sections in turn. The scrapes are outside the CPU
 * window (scrape, then read CPU; read CPU, then scrape), so rendering /metrics is not counted.
 */
export interface Meter {
  begin(): Promise<void>;
  end(ops: number): Promise<ServerCost>;
}

/** A meter for target `t`. */
export function meter(t: Target): Meter {
  let start: { eld: Buckets | undefined; cpu: CpuTime; t0: number } | undefined;
  const scrape = () => (t.metrics ? scrapeEld(t.metrics.url(), t.metrics.ca) : Promise.resolve(undefined));
  return {
    async begin() {
      const eld = await scrape();
      start = { eld, cpu: cpuOf(t.pid), t0: now() };
    },
    async end(ops) {
      const wallMs = now() - (start?.t0 ?? NaN);
      const cpu = cpuOf(t.pid);
      const eld = await scrape();
      if (!start) throw new Error('Meter.end() without begin()');
      const cpuMs = cpuBetween(start.cpu, cpu);
      const round = (x: number) => Math.round(x * 1000) / 1000;
      const cost: ServerCost = {
        ops,
        wallMs: round(wallMs),
        cpuMs: round(cpuMs),
        // Four significant digits: a group delivery costs microseconds.
        serverCpuMsPerOp: Number((cpuMs / ops).toPrecision(4)),
      };
      if (start.eld && eld) cost.eld = eldBetween(start.eld, eld);
      start = undefined;
      return cost;
    },
  };
}

/** One line of the closing table. */
interface Row {
  phase: string;
  target: string;
  figure: string;
  cost: ServerCost;
}
const rows: Row[] = [];

const fmt = (x: number | null | undefined, digits = 2) => (x === null || x === undefined ? '-' : x.toFixed(digits));

/** The figure of a result, for the table: latency percentiles or a rate. */
function figureOf(r: Record<string, unknown>): string {
  if (typeof r.p50 === 'number') return `p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99 as number)} ms`;
  if (typeof r.ackedPerSecond === 'number') return `${r.ackedPerSecond} msg/s acked`;
  if (typeof r.deliveriesPerSecond === 'number') return `${r.deliveriesPerSecond} deliveries/s`;
  return '';
}

/** Adds the table rows of a result: its own `server` cost, and those of its parts (group: the steady rate). */
function record(target: string, name: string, r: unknown): void {
  if (typeof r !== 'object' || r === null) return;
  const o = r as Record<string, unknown>;
  if (o.server) rows.push({ phase: name, target, figure: figureOf(o), cost: o.server as ServerCost });
  for (const [k, v] of Object.entries(o))
    if (k !== 'server' && typeof v === 'object' && v !== null && 'server' in v) record(target, `${name}.${k}`, v);
}

/**
 * Runs one phase of target `t`: `fn` gets a meter for the server and puts a `server` cost (see
 * `Meter`) in what it returns; the phase's figures and costs go into the table `table()` prints.
 */
export async function phase<T>(t: Target, name: string, fn: (m: Meter) => Promise<T>): Promise<T> {
  const r = await fn(meter(t));
  record(t.name, name, r);
  return r;
}

/** The table of every phase so far: figure, server CPU per operation, event-loop delay p50/p99 (and its sample count). */
export function table(): string {
  const head = [
    'phase',
    'target',
    'figure',
    'cpu ms/op',
    'cpu ms',
    'wall ms',
    'eld p50',
    'eld p99',
    'eld max<=',
    'eld n',
  ];
  const body = rows.map((r) => [
    r.phase,
    r.target,
    r.figure,
    r.cost.serverCpuMsPerOp.toPrecision(3),
    fmt(r.cost.cpuMs, 0),
    fmt(r.cost.wallMs, 0),
    fmt(r.cost.eld?.p50Ms),
    fmt(r.cost.eld?.p99Ms),
    fmt(r.cost.eld?.maxBelowMs, 1),
    fmt(r.cost.eld?.samples, 0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}
