import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { FakeClock } from '../core/index.js';
import type { Sealer } from '../crypto/index.js';
import { auditAad } from '../keys/index.js';
import type { Db, Executor } from '../store/index.js';
import { auditSealer } from '../test-support/audit-chain.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { cachedAuditKey, recordHash } from './chain.js';
import { recordAudit, verifyAuditChain, writeCheckpoint, type AuditProblem } from './index.js';

/** A small deterministic PRNG (mulberry32), so a failing mutation can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rollback extends Error {}

type Kind = 'field' | 'delete' | 'delete_renumber' | 'insert' | 'swap' | 'truncate' | 'truncate_head' | 'rehash';
const KINDS: Kind[] = ['field', 'delete', 'delete_renumber', 'insert', 'swap', 'truncate', 'truncate_head', 'rehash'];
/** What verify may call each mutation (the first bad seq must be exact). */
const ALLOWED: Record<Kind, AuditProblem[]> = {
  field: ['altered'],
  delete: ['missing'],
  delete_renumber: ['missing'],
  insert: ['inserted'],
  swap: ['reordered'],
  truncate: ['truncated'],
  truncate_head: ['truncated'],
  rehash: ['altered', 'bad_checkpoint'],
};
const FIELDS = [
  'at',
  'actor_id',
  'action',
  'target',
  'outcome',
  'drill',
  'uid',
  'address',
  'details',
  'prev_hash',
  'hash',
];

async function fill(db: Db, sealer: Sealer, clock: FakeClock, n: number, cpEvery: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    clock.advance(1000);
    await recordAudit(db, sealer, {
      at: clock.now(),
      actorId: `u${i % 7}`,
      action: ['login.succeeded', 'login.failed', 'role.granted', 'device.revoked'][i % 4] as string,
      target: i % 3 === 0 ? null : `t${i}`,
      address: i % 5 === 0 ? null : `10.0.${i % 250}.${i % 13}`,
      outcome: i % 4 === 1 ? 'failure' : 'success',
      details: { i },
    });
    if (i % cpEvery === 0) await writeCheckpoint(db, sealer, clock.now());
  }
}

const setSeq = (tx: Executor, id: number, seq: number) =>
  tx.updateTable('audit_log').set({ chain_seq: seq }).where('id', '=', id).execute();

/** Applies one mutation; returns the seq verify must name first. */
async function mutate(tx: Executor, sealer: Sealer, kind: Kind, r: () => number, n: number, lastCp: number) {
  const rows = await tx.selectFrom('audit_log').selectAll().orderBy('chain_seq').execute();
  const pick = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const at = (seq: number) => rows[seq - 1] as (typeof rows)[number];
  switch (kind) {
    case 'field': {
      const k = pick(1, n);
      const row = at(k);
      const field = FIELDS[pick(0, FIELDS.length - 1)] as string;
      const other = at(k === 1 ? 2 : k - 1);
      const changed: Record<string, unknown> = {
        at: Number(row.at) + 1,
        actor_id: row.actor_id === 'mallory' ? 'eve' : 'mallory',
        action: row.action === 'audit.read' ? 'audit.exported' : 'audit.read',
        target: row.target === null ? 'x' : null,
        outcome: row.outcome === 'success' ? 'failure' : 'success',
        drill: row.drill === null ? 'drill-1' : null,
        uid: 'forged-uid',
        // Another row's ciphertext: it does not open here (its AAD names the other row).
        address: other.address === row.address ? null : other.address,
        details: other.details,
        prev_hash: 'f'.repeat(64),
        hash: 'e'.repeat(64),
      };
      if (field === 'address' && changed.address === row.address) changed.address = other.details;
      await tx
        .updateTable('audit_log')
        .set({ [field]: changed[field] })
        .where('id', '=', row.id)
        .execute();
      return k;
    }
    case 'delete': {
      const k = pick(1, n - 1);
      await tx.deleteFrom('audit_log').where('id', '=', at(k).id).execute();
      return k;
    }
    case 'delete_renumber': {
      const k = pick(1, n - 1);
      await tx.deleteFrom('audit_log').where('id', '=', at(k).id).execute();
      for (let s = k + 1; s <= n; s++) await setSeq(tx, at(s).id, s - 1);
      await tx
        .updateTable('audit_chain_head')
        .set({ seq: n - 1 })
        .execute();
      return k;
    }
    case 'insert': {
      const k = pick(1, n + 1);
      // An attacker with write access drops the uid's unique index first (verify checks uids itself).
      await sql`DROP INDEX audit_log_uid`.execute(tx);
      for (let s = n; s >= k; s--) await setSeq(tx, at(s).id, s + 1);
      const copy = at(pick(1, n));
      await tx
        .insertInto('audit_log')
        .values({
          uid: copy.uid,
          at: copy.at,
          actor_id: copy.actor_id,
          action: 'role.granted',
          target: copy.target,
          address: copy.address,
          outcome: 'success',
          details: copy.details,
          chain_seq: k,
          prev_hash: k === 1 ? '0'.repeat(64) : at(k - 1).hash,
          hash: 'a'.repeat(64),
          drill: null,
        })
        .execute();
      // A forged record in the middle shifts the rest and moves the head; one at the end lies past the head.
      if (k <= n)
        await tx
          .updateTable('audit_chain_head')
          .set({ seq: n + 1 })
          .execute();
      return k;
    }
    case 'swap': {
      const i = pick(1, n - 1);
      const j = pick(i + 1, n);
      await setSeq(tx, at(i).id, -1);
      await setSeq(tx, at(j).id, i);
      await setSeq(tx, at(i).id, j);
      return i;
    }
    case 'truncate': {
      const k = pick(2, n);
      await tx.deleteFrom('audit_log').where('chain_seq', '>=', k).execute();
      return k;
    }
    case 'truncate_head': {
      // Cut below the last checkpoint and rewrite the head to the new tail: the checkpoint shows it.
      const k = pick(2, lastCp);
      await tx.deleteFrom('audit_log').where('chain_seq', '>=', k).execute();
      await tx
        .updateTable('audit_chain_head')
        .set({ seq: k - 1, hash: at(k - 1).hash as string })
        .execute();
      return k;
    }
    case 'rehash': {
      // The strongest single-row forgery: change a field and recompute that row's hash with the MAC key.
      const k = pick(1, n);
      const row = at(k);
      const key = cachedAuditKey(sealer);
      if (!key) throw new Error('no audit key');
      const id = Number(row.id);
      const hash = recordHash(
        row.prev_hash as string,
        {
          seq: k,
          ref: row.uid ?? `#${id}`,
          at: Number(row.at),
          actorId: 'mallory',
          action: row.action,
          target: row.target,
          outcome: row.outcome,
          drill: row.drill,
          address: row.address === null ? null : await sealer.openText(row.address, auditAad('address', row.uid, id)),
          details: await sealer.openText(row.details, auditAad('details', row.uid, id)),
        },
        key.macKey,
      );
      await tx.updateTable('audit_log').set({ actor_id: 'mallory', hash }).where('id', '=', id).execute();
      return k;
    }
  }
}

withAllStores('audit chain tamper detection', (h) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 5));
  let sealer: Sealer;
  const big = h.kind === 'sqlite';
  const N = big ? 300 : 60;
  const CP = big ? 50 : 20;
  const MUTATIONS = big ? 1000 : 120;

  it(`detects every one of ${MUTATIONS} random mutations and names the first bad record`, async () => {
    const db = h.get().db;
    sealer = await auditSealer(db, clock);
    await fill(db, sealer, clock, N, CP);
    const intact = await verifyAuditChain(db, sealer, { batchSize: 64 });
    expect(intact).toMatchObject({ ok: true, records: N, checkpoints: N / CP });
    // Index drop so a swap can pass through a duplicate seq (an attacker owns the database).
    await sql`DROP INDEX audit_log_chain_seq`.execute(db);
    const r = rng(12);
    const misses: string[] = [];
    const counts: Record<string, number> = {};
    for (let m = 0; m < MUTATIONS; m++) {
      const kind = KINDS[m % KINDS.length] as Kind;
      await db
        .transaction()
        .execute(async (tx) => {
          const want = await mutate(tx, sealer, kind, r, N, N - (N % CP));
          const got = await verifyAuditChain(tx, sealer, { batchSize: 64 });
          const bad = got.firstBad;
          if (got.ok || bad?.seq !== want || !ALLOWED[kind].includes(bad.problem))
            misses.push(`#${m} ${kind}: wanted ${want}, got ${JSON.stringify(bad ?? 'ok')}`);
          counts[kind] = (counts[kind] ?? 0) + 1;
          throw new Rollback();
        })
        .catch((e: unknown) => {
          if (!(e instanceof Rollback)) throw e;
        });
    }
    expect(misses).toEqual([]);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(MUTATIONS);
    expect(await verifyAuditChain(db, sealer)).toMatchObject({ ok: true, records: N });
  }, 240_000);
});
