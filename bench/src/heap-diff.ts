import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const HELP = `Usage: node bench/dist/heap-diff.js BEFORE.heapsnapshot AFTER.heapsnapshot [--top N]

Compares two V8 heap snapshots (e.g. the ones churn.js --inspect --snapshots DIR writes) by
constructor: for each (node type, name) the count and self size in each, sorted by the growth in
self size. A snapshot holds only reachable objects (V8 collects garbage before taking it), so what
grows here is retained, not garbage.

  --top N     rows to print (default 30)
  -h, --help  this text`;

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

interface Group {
  count: number;
  bytes: number;
}

/** Count and self size per "type:name" in one snapshot file. */
function byConstructor(file: string): Map<string, Group> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const out = new Map<string, Group>();
  for (let i = 0; i < s.nodes.length; i += fields.length) {
    const type = types[s.nodes[i + iType] as number] ?? '?';
    // Strings and code are grouped by type only: their "name" is their content.
    const name =
      type === 'object' || type === 'closure' || type === 'native' ? s.strings[s.nodes[i + iName] as number] : '';
    const key = `${type}:${name ?? ''}`;
    const g = out.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += s.nodes[i + iSize] as number;
    out.set(key, g);
  }
  return out;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '30' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) return console.log(HELP);
  const [beforeFile, afterFile] = positionals;
  if (beforeFile === undefined || afterFile === undefined) throw new Error('give two .heapsnapshot files; see --help');
  const before = byConstructor(beforeFile);
  const after = byConstructor(afterFile);
  const total = (m: Map<string, Group>) => [...m.values()].reduce((a, g) => a + g.bytes, 0);
  const mb = (b: number) => (b / 2 ** 20).toFixed(2);
  console.log(`total self size: ${mb(total(before))} MiB -> ${mb(total(after))} MiB`);
  const rows = [...new Set([...before.keys(), ...after.keys()])].map((k) => {
    const b = before.get(k) ?? { count: 0, bytes: 0 };
    const a = after.get(k) ?? { count: 0, bytes: 0 };
    return { k, b, a, d: a.bytes - b.bytes };
  });
  rows.sort((x, y) => Math.abs(y.d) - Math.abs(x.d));
  console.log('delta MiB  count before -> after  type:name');
  for (const r of rows.slice(0, Number(values.top)))
    console.log(`${mb(r.d).padStart(9)}  ${String(r.b.count).padStart(8)} -> ${String(r.a.count).padEnd(8)}  ${r.k}`);
}

try {
  main();
} catch (e: unknown) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
