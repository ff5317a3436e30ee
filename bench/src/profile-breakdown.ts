import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const HELP = `node bench/dist/profile-breakdown.js [--json] [--from FUNCTION] [--detail CATEGORY] FILE.cpuprofile...

Sums the self time of a server CPU profile (BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"
npm run bench ...) by where it is spent: TLS, WebSocket framing, JSON, validation (zod), store (SQLite /
PostgreSQL drivers and Kysely), sealing (AES-GCM, KMS), logging, Palisade's own code, garbage
collection, idle. A native or built-in frame (no script) counts towards the nearest caller that has
one, except JSON.parse/stringify and Buffer/base64 work, which have categories of their own.

  --from FUNCTION    start at the first sample with FUNCTION on its stack (skips start-up), e.g. sendMessage
  --detail CATEGORY  list that category's self time by script and function instead
  --json             print the totals (ms) as JSON`;

interface Frame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const RULES: [string, (f: Frame) => boolean][] = [
  ['idle', (f) => f.functionName === '(idle)'],
  ['gc', (f) => f.functionName === '(garbage collector)'],
  ['program', (f) => f.functionName === '(program)'],
  ['json', (f) => !f.url && /^(stringify|parse|JSONStringify|JSONParse)$/.test(f.functionName)],
  ['base64 / buffers', (f) => !f.url && /base64|Base64|toString|byteLength|copy/.test(f.functionName)],
  ['tls', (f) => /node:(_tls|tls)/.test(f.url)],
  ['websocket framing', (f) => /node_modules\/ws\//.test(f.url)],
  ['validation (zod)', (f) => /node_modules\/zod\//.test(f.url)],
  ['store', (f) => /node_modules\/(better-sqlite3|kysely|pg|pg-protocol|pg-pool)\/|\/store\//.test(f.url)],
  ['sealing', (f) => /\/(crypto|keys)\/|node:internal\/crypto/.test(f.url)],
  ['logging', (f) => /node_modules\/(pino|sonic-boom)|log-destination/.test(f.url)],
  ['palisade', (f) => /packages\/(server|protocol)\//.test(f.url)],
  [
    'node: net / streams / timers',
    (f) => /node:(net|internal\/(streams|stream_base|timers|net))|node:events/.test(f.url),
  ],
  ['other node_modules', (f) => /node_modules\//.test(f.url)],
  ['node (other)', (f) => f.url.startsWith('node:')],
];

/** A frame's script and function, for --detail. */
const where = (f: Frame) =>
  `${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/packages\//, '')} ${f.functionName}`;

/**
 * Self time (µs) per category of one profile, from the first sample whose stack holds a function named
 * `from` (the workload's start) when given. With `detail`, per script and function of that category.
 */
export function breakdown(p: Profile, from?: string, detail?: string): Map<string, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const categoryCache = new Map<number, string>();
  const category = (id: number): string => {
    const hit = categoryCache.get(id);
    if (hit) return hit;
    const f = (byId.get(id) as ProfileNode).callFrame;
    let cat = RULES.find(([, test]) => test(f))?.[0];
    if (!cat) {
      // A native or built-in frame: charged to its nearest caller that has a script.
      const up = parent.get(id);
      cat = up === undefined ? 'native (no caller)' : category(up);
    }
    categoryCache.set(id, cat);
    return cat;
  };
  const inStack = (id: number | undefined, name: string): boolean => {
    for (; id !== undefined; id = parent.get(id)) if (byId.get(id)?.callFrame.functionName === name) return true;
    return false;
  };
  const out = new Map<string, number>();
  let started = from === undefined;
  p.samples.forEach((id, i) => {
    started ||= inStack(id, from as string);
    if (!started) return;
    const cat = category(id);
    const key = detail === undefined ? cat : cat === detail ? where((byId.get(id) as ProfileNode).callFrame) : '';
    if (key) out.set(key, (out.get(key) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      from: { type: 'string' },
      detail: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length === 0) {
    console.log(HELP);
    process.exit(values.help ? 0 : 2);
  }
  const total = new Map<string, number>();
  for (const file of positionals)
    for (const [k, v] of breakdown(JSON.parse(readFileSync(file, 'utf8')) as Profile, values.from, values.detail))
      total.set(k, (total.get(k) ?? 0) + v);
  const all = [...total.values()].reduce((a, b) => a + b, 0);
  const busy = all - (total.get('idle') ?? 0);
  const rows = [...total].sort((a, b) => b[1] - a[1]).slice(0, values.detail ? 25 : undefined);
  if (values.json) {
    console.log(JSON.stringify(Object.fromEntries(rows.map(([k, v]) => [k, Math.round(v / 1000)]))));
  } else {
    console.log(`${'category'.padEnd(30)} ${'ms'.padStart(8)} ${'% of all'.padStart(9)} ${'% of busy'.padStart(10)}`);
    for (const [k, v] of rows)
      console.log(
        `${k.padEnd(30)} ${(v / 1000).toFixed(0).padStart(8)} ${((v / all) * 100).toFixed(1).padStart(9)} ${
          k === 'idle' ? ''.padStart(10) : ((v / busy) * 100).toFixed(1).padStart(10)
        }`,
      );
  }
}
