import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Inspector, type HeapFigures } from './inspector.js';
import { palisadeTarget } from './palisade-target.js';
import type { BenchClient } from './target.js';

const HELP = `Usage: node bench/dist/churn.js [--connections N] [--rounds R] [--lanes L] [--label NAME] [--settle S] [--server-env K=V ...]

Connection churn: starts a real Palisade server, then R times opens N authenticated TLS WebSocket
connections (the real SDK: challenge, device-key proof, synced) and closes them all, sampling the
server's VmRSS, RssAnon and open fds from /proc after each phase. Writes bench/results/churn-<label>-<date>.json.

  --connections N   connections per round (default 5000)
  --rounds R        rounds (default 3)
  --lanes L         connections opened in parallel (default 50)
  --label NAME      a name for this run in the file name (default "default")
  --settle S        also sample S seconds after closing (default 5: only the 5 s sample)
  --server-env K=V  an environment variable for the server process only (repeatable),
                    e.g. --server-env MALLOC_ARENA_MAX=2
  --launcher        start the server through packages/server/bin/palisade-serve (the npm start
                    path: jemalloc preloaded) instead of node directly
  --inspect         start the server with --inspect=127.0.0.1:0 (bench only), record its V8 heap
                    with every sample, and after each close also force a full GC and sample again
  --snapshots DIR   with --inspect: write heap snapshots at the start and after the last close
                    (start.heapsnapshot, end.heapsnapshot); compare them with heap-diff.js
  -h, --help        this text`;

interface Sample {
  phase: string;
  rssMiB: number;
  rssAnonMiB: number;
  fds: number;
  heap?: HeapFigures;
  /** --inspect: how long the forced full GC took, seen from the bench (an upper bound of its pause). */
  gcMs?: number;
}

const mib = (kb: number) => Math.round((kb / 1024) * 10) / 10;

function sample(pid: number, phase: string): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return {
    phase,
    rssMiB: mib(kb('VmRSS')),
    rssAnonMiB: mib(kb('RssAnon')),
    fds: readdirSync(`/proc/${pid}/fd`).length,
  };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '5000' },
      rounds: { type: 'string', default: '3' },
      lanes: { type: 'string', default: '50' },
      label: { type: 'string', default: 'default' },
      settle: { type: 'string', default: '5' },
      'server-env': { type: 'string', multiple: true, default: [] },
      launcher: { type: 'boolean', default: false },
      inspect: { type: 'boolean', default: false },
      snapshots: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return console.log(HELP);
  const n = Number(values.connections);
  const rounds = Number(values.rounds);
  const lanes = Number(values.lanes);
  if (!(n > 0 && rounds > 0 && lanes > 0))
    throw new Error('--connections, --rounds and --lanes take positive numbers; see --help');
  const serverEnv: Record<string, string> = {};
  for (const kv of values['server-env']) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`--server-env takes K=V, got "${kv}"`);
    serverEnv[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-churn-'));
  if (values.snapshots !== undefined && !values.inspect) throw new Error('--snapshots needs --inspect; see --help');
  const target = await palisadeTarget(dataDir, log, {
    env: serverEnv,
    launcher: values.launcher,
    nodeArgs: values.inspect ? ['--inspect=127.0.0.1:0'] : [],
  });
  const inspector = values.inspect ? await Inspector.connect(target.stderr()) : undefined;
  const samples: Sample[] = [];
  const take = async (phase: string) => {
    const s = sample(target.pid, phase);
    if (inspector) s.heap = await inspector.heap();
    samples.push(s);
    const h = s.heap ? `, V8 heap used ${s.heap.heapUsedMiB} of ${s.heap.heapTotalMiB} MiB` : '';
    log(`  ${phase}: RSS ${s.rssMiB} MiB (anon ${s.rssAnonMiB}), fds ${s.fds}${h}`);
  };
  const snapshot = async (name: string) => {
    if (!inspector || values.snapshots === undefined) return;
    mkdirSync(values.snapshots, { recursive: true });
    await inspector.snapshot(join(values.snapshots, `${name}.heapsnapshot`));
    await settle(5000);
  };
  try {
    await target.conversation(2);
    await settle(2000);
    await snapshot('start');
    await take('start');
    for (let r = 1; r <= rounds; r++) {
      const open: BenchClient[] = [];
      let next = 0;
      const t0 = Date.now();
      await Promise.all(
        Array.from({ length: lanes }, async () => {
          while (next < n) {
            next++;
            open.push(await target.connect(1));
          }
        }),
      );
      const openMs = Date.now() - t0;
      await take(`round ${r}: ${n} open (${openMs} ms)`);
      for (const c of open) c.close();
      const start = samples[0] as Sample;
      // Wait until the server has let go of the sockets, then a little more for timers to run.
      for (let i = 0; i < 600 && sample(target.pid, '').fds > start.fds + 5; i++) await settle(100);
      await settle(5000);
      await take(`round ${r}: closed`);
      const later = Number(values.settle);
      if (later > 5) {
        await settle((later - 5) * 1000);
        await take(`round ${r}: closed +${later} s`);
      }
      if (inspector) {
        const g0 = Date.now();
        await inspector.gc();
        const gcMs = Date.now() - g0;
        await settle(5000);
        await take(`round ${r}: closed, after a forced GC (${gcMs} ms)`);
        (samples.at(-1) as Sample).gcMs = gcMs;
      }
    }
    await snapshot('end');
  } finally {
    inspector?.close();
    await target.stop();
  }
  const start = samples[0] as Sample;
  const end = samples.at(-1) as Sample;
  // The server's heap-reclaim log lines (printed at log level info: --server-env PALISADE_LOG_LEVEL=info).
  const reclaims = target
    .stdout()
    .split('\n')
    .filter((l) => l.includes('collected their garbage'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .map(({ peakConnections, connections, freedMiB, pauseMs }) => ({
      peakConnections,
      connections,
      freedMiB,
      pauseMs,
    }));
  for (const r of reclaims) log(`  heap reclaim: ${JSON.stringify(r)}`);
  const result = {
    kind: 'churn',
    at: new Date().toISOString(),
    node: process.version,
    connections: n,
    rounds,
    lanes,
    serverEnv,
    launcher: values.launcher,
    inspect: values.inspect,
    samples,
    reclaims,
    endOverStart: Math.round((end.rssMiB / start.rssMiB) * 100) / 100,
  };
  const dir = resolve(import.meta.dirname, '../results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `churn-${values.label}-${result.at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`RSS ${start.rssMiB} -> ${end.rssMiB} MiB (x${result.endOverStart}); wrote ${file}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? `${e.message} ${JSON.stringify(e)}` : String(e));
  process.exit(1);
});
