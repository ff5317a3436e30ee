import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { findEjabberd } from './ejabberd-server.js';
import { ejabberdTarget } from './ejabberd-target.js';
import type { Target } from './target.js';
import { checkScramVectors } from './xmpp-scram.js';

/** The two ejabberd columns of the bench: with the message archive on SQL, and without it. */
const VARIANTS = [
  { name: 'ejabberd-mam', mam: true },
  { name: 'ejabberd', mam: false },
] as const;

/**
 * Runs `measure` (the bench's own workloads) on ejabberd with MAM and without, each on its own fresh
 * server started and stopped here, one after the other. Without ejabberd on this machine, each column
 * is `{ status: 'not installed…' }` and nothing is started.
 */
export async function ejabberdResults(
  measure: (t: Target) => Promise<Record<string, unknown>>,
  progress: (s: string) => void,
): Promise<Record<string, Record<string, unknown>>> {
  const install = findEjabberd();
  if (install.ok) checkScramVectors();
  const out: Record<string, Record<string, unknown>> = {};
  for (const v of VARIANTS) {
    if (!install.ok) {
      progress(`${v.name}: ${install.why}, skipped`);
      out[v.name] = { status: install.why };
      continue;
    }
    progress(`${v.name}: starting ejabberd (${v.mam ? 'MAM on SQLite' : 'no MAM'})`);
    const dir = mkdtempSync(join(tmpdir(), `${v.name}-`));
    const t = await ejabberdTarget(install, dir, v);
    try {
      out[v.name] = await measure(t);
    } finally {
      await t.stop();
    }
    // What the server stored: archive rows (MAM: two per 1:1 message, one per room message).
    const db = new Database(join(dir, 'ejabberd.db'), { readonly: true });
    out[v.name] = {
      ...out[v.name],
      archivedRows: (db.prepare('SELECT count(*) AS n FROM archive').get() as { n: number }).n,
    };
    db.close();
  }
  return out;
}

const FIGURES = [
  'connectAuthMs.p50',
  'connectAuthMs.p99',
  'roundTripMs.p50',
  'roundTripMs.p99',
  'throughput.ackedPerSecond',
  'throughput.deliveredPerSecond',
  'group.lastMemberLatency.p50',
  'group.lastMemberLatency.p99',
  'group.deliveriesPerSecond',
  'memory.bytesPerConnection',
];

/** Palisade over each ejabberd column, figure by figure ("not installed" where ejabberd is absent). */
export function ejabberdRatios(results: Record<string, Record<string, unknown>>): Record<string, number | string> {
  const get = (o: unknown, path: string) =>
    path.split('.').reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], o);
  const r: Record<string, number | string> = {};
  for (const v of VARIANTS) {
    const col = results[v.name];
    for (const f of FIGURES) {
      const key = `${f} (palisade/${v.name})`;
      const p = get(results.palisade, f);
      const e = get(col, f);
      if (typeof col?.status === 'string') r[key] = col.status;
      else if (typeof p === 'number' && typeof e === 'number' && e !== 0) r[key] = Math.round((p / e) * 100) / 100;
    }
  }
  return r;
}
