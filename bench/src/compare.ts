import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { parseArgs } from 'node:util';

const HELP = `npm run bench:compare -- --base DIR [--rounds N] [--only connect,rtt]

Measures this checkout against another, built checkout of Palisade (for example a git worktree of an
earlier commit: git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci && npm run build))
in one run: the two benches run in turns, N rounds, alternating which goes first, each against its
own fresh server and its own bare ws relay (the sealing comparison is left out). Reports the median of the rounds for each side, the
after/before ratio, and each side's ratio to its own relay (the floor measured beside it), and
writes bench/results/compare-<date>.json.

  --base DIR     the other checkout (required; must have bench/dist/run.js built)
  --rounds N     rounds per side (default 3)
  --only LIST    measures to run (default connect,rtt)
  -h, --help     this text`;

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    rounds: { type: 'string' },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help || !values.base) {
  console.log(HELP);
  process.exit(values.help ? 0 : 2);
}
const here = resolve(import.meta.dirname, '../..');
const base = resolve(values.base);
if (!existsSync(join(base, 'bench/dist/run.js'))) {
  console.error(`${base} has no bench/dist/run.js: build it first (cd ${base} && npm run build).`);
  process.exit(2);
}
const rounds = Number(values.rounds ?? 3);
const only = values.only ?? 'connect,rtt';
const progress = (s: string) => process.stderr.write(`${s}\n`);

type Run = { results: Record<string, Record<string, { p50?: number; p99?: number }>> };

/** Runs one checkout's bench and returns the JSON it prints. */
function runBench(root: string): Promise<Run> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [join(root, 'bench/dist/run.js'), '--only', only, '--skip-sealing'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return fail(new Error(`bench in ${root} exited with ${code}`));
      ok(JSON.parse(out.slice(out.indexOf('{'))) as Run);
    });
  });
}

const FIGURES: Record<string, string> = {
  'connectAuth.p50': 'connectAuthMs.p50',
  'connectAuth.p99': 'connectAuthMs.p99',
  'roundTrip.p50': 'roundTripMs.p50',
  'roundTrip.p99': 'roundTripMs.p99',
};
const pick = (r: Record<string, unknown> | undefined, path: string) =>
  path.split('.').reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], r) as number | undefined;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const sides = { before: base, after: here } as const;
const samples: Record<string, Record<string, { palisade: number[]; floor: number[] }>> = { before: {}, after: {} };
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
  for (const side of order) {
    progress(`round ${round + 1}/${rounds}: ${side} (${sides[side]})`);
    const run = await runBench(sides[side]);
    for (const [name, path] of Object.entries(FIGURES)) {
      const p = pick(run.results.palisade, path);
      const f = pick(run.results['ws-relay'], path);
      if (p === undefined || f === undefined) continue;
      const s = (samples[side]![name] ??= { palisade: [], floor: [] });
      s.palisade.push(p);
      s.floor.push(f);
    }
  }
}
const summary: Record<string, unknown> = {};
for (const name of Object.keys(FIGURES)) {
  const b = samples.before![name];
  const a = samples.after![name];
  if (!a || !b) continue;
  const [bm, am] = [median(b.palisade)!, median(a.palisade)!];
  summary[name] = {
    beforeMs: bm,
    afterMs: am,
    'after/before': Math.round((am / bm) * 1000) / 1000,
    'before/floor': Math.round((bm / median(b.floor)!) * 100) / 100,
    'after/floor': Math.round((am / median(a.floor)!) * 100) / 100,
    runs: { before: b.palisade, after: a.palisade },
  };
}
const report = { date: new Date().toISOString(), base, rounds, only, summary };
const dir = resolve(import.meta.dirname, '../results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `compare-${report.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(summary, null, 2));
progress(`written ${file}`);
